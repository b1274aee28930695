# Integration tests of fault injection (issue 7, injector/shim_fault.c):
# tests/integration/faults/faults_test.sh CASE, see its header for the list.
# fsync-retry (tests/tools/) is the explore finding's program: only its
# recordings are tested here.
set(FAULTS_T_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/faults)
add_executable(fault_calls ${FAULTS_T_DIR}/fault_calls.c)
target_link_libraries(fault_calls PRIVATE PkgConfig::URING)
add_executable(fault_prog ${FAULTS_T_DIR}/fault_prog.c)
add_executable(fsync-retry ${CMAKE_SOURCE_DIR}/tests/tools/fsync-retry.c)
target_link_libraries(fsync-retry PRIVATE dl)
set_target_properties(fault_calls fault_prog fsync-retry PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(FAULTS_T_ENV
  "TORN=${TORN_BIN}"
  "BIN=${CMAKE_BINARY_DIR}/tests"
  "TOOLS=${CMAKE_SOURCE_DIR}/tests/tools"
  "WORK=${CMAKE_BINARY_DIR}/tests/faults-work")
if(TORN_SANITIZE)
  list(APPEND FAULTS_T_ENV "SANITIZED=1")
endif()
set(FAULTS_T_CASES points fsync-eio write-enospc short eintr random-seed onetime fork exec
  uring bad-spec no-fault fsync-retry)
foreach(c ${FAULTS_T_CASES})
  add_test(NAME faults/${c} COMMAND sh ${FAULTS_T_DIR}/faults_test.sh ${c})
  set_tests_properties(faults/${c} PROPERTIES ENVIRONMENT "${FAULTS_T_ENV}" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()

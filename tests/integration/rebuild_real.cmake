# The full-persist rebuild (trace_rebuild) of recorded programs equals the
# directory they really left (area: trace reader and rebuild).
add_executable(rebuild-workload ${CMAKE_SOURCE_DIR}/tests/tools/rebuild-workload.c)
target_link_libraries(rebuild-workload PRIVATE dl)
set_target_properties(rebuild-workload PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

if(TORN_SANITIZE)
  # rebuild-workload is sanitized: its runtime must be loaded before the
  # shim.  The system programs of the other cases are not, and must not get
  # it (ASan rejects some of their calls, e.g. dd's aligned_alloc).
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE RR_ASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
foreach(c workload shell sqlite)
  add_test(NAME rebuild/${c}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/rebuild_real.sh ${c} ${TORN_BIN}
            $<TARGET_FILE:rebuild-workload> $<TARGET_FILE:trace-rebuild>
            ${CMAKE_BINARY_DIR}/tests/work/rebuild)
  set(env "TORN_SHIM=${TORN_SHIM}")
  if(TORN_SANITIZE AND c STREQUAL "workload")
    list(APPEND env "LD_PRELOAD=${RR_ASAN}" "ASAN_OPTIONS=detect_leaks=0")
  endif()
  set_tests_properties(rebuild/${c} PROPERTIES ENVIRONMENT "${env}" TIMEOUT 180)
endforeach()

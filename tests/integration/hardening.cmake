# Issue 8's hardening tests (tests/integration/hardening/hardening.sh, see
# its header): hostile traces, resource limits, valgrind, the shim under
# load and under SIGKILL, direct mode on tmpfs and ext4.  The fuzz targets
# are in fuzz.cmake.  Signal handlers, close_range and vfork/posix_spawn
# under the shim are A2's shim/signals, shim/own-fds, shim/vfork and
# shim/exec (shim.cmake).
set(HARD_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/hardening)

add_executable(hard_hostile ${HARD_DIR}/hostile.c)
target_link_libraries(hard_hostile PRIVATE torn-trace)
add_executable(hard_stress ${HARD_DIR}/stress.c)
target_link_libraries(hard_stress PRIVATE Threads::Threads)
add_executable(hard_stress_check ${HARD_DIR}/stress_check.c)
target_link_libraries(hard_stress_check PRIVATE torn-recovery torn-trace)
set_target_properties(hard_hostile hard_stress hard_stress_check PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(HARD_ENV
  "TORN=${TORN_BIN}"
  "TORNKV=${CMAKE_BINARY_DIR}/bin/tornkv"
  "BIN=${CMAKE_BINARY_DIR}/tests"
  "SRC=${CMAKE_SOURCE_DIR}"
  "SHIM=${TORN_SHIM}"
  "WORK=${CMAKE_BINARY_DIR}/tests/hardening-work")
if(TORN_SANITIZE)
  list(APPEND HARD_ENV "SANITIZED=1")
  # The same traces through the sanitized readers, and the load, kill and
  # direct-mode tests through the sanitized shim (torn record preloads the
  # ASan runtime in front of it).  Valgrind cannot run ASan code, and
  # explore's RSS under ASan measures the sanitizer's quarantine.
  set(HARD_CASES hostile limits stress kill direct-tmpfs direct-ext4 sanitized-shim)
else()
  set(HARD_CASES hostile limits valgrind valgrind-load stress kill explore-memory direct-tmpfs
                 direct-ext4)
endif()
foreach(c ${HARD_CASES})
  add_test(NAME hardening/${c} COMMAND sh ${HARD_DIR}/hardening.sh ${c})
  set_tests_properties(hardening/${c} PROPERTIES ENVIRONMENT "${HARD_ENV}" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()

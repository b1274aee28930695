# The libFuzzer targets of fuzz/ (issue 8): built with clang in a project of
# their own (fuzz/CMakeLists.txt) under ${CMAKE_BINARY_DIR}/fuzz, then
#   fuzz/regress        every seed and every committed crash input
#                       (fuzz/regress/TARGET/) replayed once
#   fuzz/TARGET         a short fuzzing run, TORN_FUZZ_TEST_SECONDS each
#                       (default 60, as issue 8 asks)
# Each fuzzing run is one single-threaded process with its own corpus,
# crash and log files, so they run side by side with each other and with
# the rest of the suite under ctest -j; their COST makes ctest start them
# (after fuzz/build) before the short tests, whatever the cost data says on
# a first run.  `make fuzz` runs longer ones (FUZZ_SECONDS).  The fuzz
# targets carry ASan+UBSan themselves, so the sanitized build does not run
# them again.
if(NOT TORN_SANITIZE)
  # TORN_FUZZ_SECONDS (30) was this setting's old name: a build directory
  # configured before must not keep the old length without saying so.
  unset(TORN_FUZZ_SECONDS CACHE)
  set(TORN_FUZZ_TEST_SECONDS 60 CACHE STRING "seconds of each fuzz target in ctest")
  set(FUZZ_B ${CMAKE_BINARY_DIR}/fuzz)
  add_test(NAME fuzz/build COMMAND sh -c
    "${CMAKE_COMMAND} -S ${CMAKE_SOURCE_DIR}/fuzz -B ${FUZZ_B} -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && ${CMAKE_COMMAND} --build ${FUZZ_B} -j2")
  set_tests_properties(fuzz/build PROPERTIES FIXTURES_SETUP torn-fuzz TIMEOUT 600
                       COST 1000)
  add_test(NAME fuzz/regress COMMAND sh ${CMAKE_SOURCE_DIR}/fuzz/run.sh ${FUZZ_B} regress)
  set_tests_properties(fuzz/regress PROPERTIES FIXTURES_REQUIRED torn-fuzz TIMEOUT 300)
  foreach(t trace_decode trace_open stateid scenario fault_spec)
    add_test(NAME fuzz/${t} COMMAND sh ${CMAKE_SOURCE_DIR}/fuzz/run.sh ${FUZZ_B} ${t}
             ${TORN_FUZZ_TEST_SECONDS})
    set_tests_properties(fuzz/${t} PROPERTIES FIXTURES_REQUIRED torn-fuzz
                         TIMEOUT 600 COST 500)
  endforeach()
endif()

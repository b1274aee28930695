# Integration tests of the shim's wrappers (injector/shim*.c): programs
# recorded with `torn record`, their traces checked event by event against
# what the programs say they did (tests/integration/shim/shim_exp.h), their
# results compared with a native run, and the final directory compared with
# the real one and with the trace's rebuild.  Each case is one run of
# tests/integration/shim/shim_test.sh; see its header for the list.

set(SHIM_T_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/shim)

foreach(p shim_calls shim_threads shim_exec shim_ownfd shim_stdout shim_signal
    shim_vfork shim_sigrace)
  add_executable(${p} ${SHIM_T_DIR}/${p}.c)
  target_include_directories(${p} PRIVATE ${SHIM_T_DIR})
  target_link_libraries(${p} PRIVATE torn-trace dl Threads::Threads)
endforeach()
add_executable(shim_check ${SHIM_T_DIR}/shim_check.c)
target_include_directories(shim_check PRIVATE ${SHIM_T_DIR})
target_link_libraries(shim_check PRIVATE torn-recovery torn-trace)
set_target_properties(shim_calls shim_threads shim_exec shim_ownfd shim_stdout shim_signal
  shim_vfork shim_sigrace shim_check
  PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(SHIM_T_ENV
  "TORN=${TORN_BIN}"
  "BIN=${CMAKE_BINARY_DIR}/tests"
  "WORK=${CMAKE_BINARY_DIR}/tests/shim-work")
# In the sanitized build torn record preloads the ASan runtime in front of
# the (sanitized) shim itself: see docs/record.md.

set(SHIM_T_CASES calls-ext4 calls-tmpfs threads stdio-threads signals signal-race exec vfork own-fds stdout sh-pipeline sqlite)
foreach(c ${SHIM_T_CASES})
  add_test(NAME shim/${c} COMMAND sh ${SHIM_T_DIR}/shim_test.sh ${c})
  set_tests_properties(shim/${c} PROPERTIES ENVIRONMENT "${SHIM_T_ENV}" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()

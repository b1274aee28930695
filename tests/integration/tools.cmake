# Small tools the integration tests of every area use.
#   trace-rebuild TRACE OUTDIR [UPTO]: the full-persist rebuild of a trace
#   (trace_rebuild), built into ${CMAKE_BINARY_DIR}/tests.
add_executable(trace-rebuild ${CMAKE_SOURCE_DIR}/tests/tools/trace-rebuild.c)
target_link_libraries(trace-rebuild PRIVATE torn-recovery torn-trace)
set_target_properties(trace-rebuild PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

#   trace-sample OUT [cut N | corrupt]: a hand-built trace with every kind of
#   event, for the tests of torn info and torn dump (trace_cli.cmake).
add_executable(trace-sample ${CMAKE_SOURCE_DIR}/tests/tools/trace-sample.c)
target_link_libraries(trace-sample PRIVATE torn-trace)
set_target_properties(trace-sample PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

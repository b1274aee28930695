# Small tools the integration tests of every area use.
#   trace-rebuild TRACE OUTDIR [UPTO]: the full-persist rebuild of a trace
#   (trace_rebuild), built into ${CMAKE_BINARY_DIR}/tests.
add_executable(trace-rebuild ${CMAKE_SOURCE_DIR}/tests/tools/trace-rebuild.c)
target_link_libraries(trace-rebuild PRIVATE torn-recovery torn-trace)
set_target_properties(trace-rebuild PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

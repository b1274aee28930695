# The record-overhead benchmark (bench/record-overhead.sh, run by `make bench`).
add_executable(bench_record_overhead ${CMAKE_CURRENT_SOURCE_DIR}/record-overhead.c)
set_target_properties(bench_record_overhead PROPERTIES
  OUTPUT_NAME record-overhead RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

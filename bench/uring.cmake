# The io_uring record-overhead benchmark (bench/uring-overhead.sh, run by
# `make bench`; issue 6).
add_executable(bench_uring_overhead ${CMAKE_CURRENT_SOURCE_DIR}/uring-overhead.c)
target_link_libraries(bench_uring_overhead PRIVATE PkgConfig::URING)
set_target_properties(bench_uring_overhead PROPERTIES
  OUTPUT_NAME uring-overhead RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

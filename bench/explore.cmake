# The explore benchmark (bench/explore.sh, run by `make bench`): a minimal
# compiled checker and the helper (workload, bare fork+exec loop, rusage).
add_executable(bench_explore_checker ${CMAKE_CURRENT_SOURCE_DIR}/explore-checker.c)
set_target_properties(bench_explore_checker PROPERTIES
  OUTPUT_NAME explore-checker RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
add_executable(bench_explore ${CMAKE_CURRENT_SOURCE_DIR}/explore-bench.c)
set_target_properties(bench_explore PROPERTIES
  OUTPUT_NAME explore-bench RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

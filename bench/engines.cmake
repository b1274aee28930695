# The engines benchmark (bench/engines.sh, run by `make bench`): puts/s of
# each bundled engine and I/O mode against SQLite (issue 4).
pkg_check_modules(SQLITE3 IMPORTED_TARGET sqlite3)
if(SQLITE3_FOUND)
  add_executable(bench_engines ${CMAKE_CURRENT_SOURCE_DIR}/engines.c)
  target_link_libraries(bench_engines PRIVATE torn-engines PkgConfig::SQLITE3)
  set_target_properties(bench_engines PROPERTIES
    OUTPUT_NAME engines-bench RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()

# The full-persist rebuild (trace_rebuild) of recorded programs equals the
# directory they really left (area: trace reader and rebuild).
add_executable(rebuild-workload ${CMAKE_SOURCE_DIR}/tests/tools/rebuild-workload.c)
target_link_libraries(rebuild-workload PRIVATE dl)
set_target_properties(rebuild-workload PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(REBUILD_REAL_ENV "TORN_SHIM=${TORN_SHIM}")
if(TORN_SANITIZE)
  # Programs under the shim are sanitized too: their runtime goes first.
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE RR_ASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND REBUILD_REAL_ENV "LD_PRELOAD=${RR_ASAN}" "ASAN_OPTIONS=detect_leaks=0")
endif()
foreach(c workload shell sqlite)
  add_test(NAME rebuild/${c}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/rebuild_real.sh ${c} ${TORN_BIN}
            $<TARGET_FILE:rebuild-workload> $<TARGET_FILE:trace-rebuild>
            ${CMAKE_BINARY_DIR}/tests/work/rebuild)
  set_tests_properties(rebuild/${c} PROPERTIES ENVIRONMENT "${REBUILD_REAL_ENV}" TIMEOUT 180)
endforeach()

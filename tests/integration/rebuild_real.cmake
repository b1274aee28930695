# The full-persist rebuild (trace_rebuild) of recorded programs equals the
# directory they really left (area: trace reader and rebuild).
add_executable(rebuild-workload ${CMAKE_SOURCE_DIR}/tests/tools/rebuild-workload.c)
target_link_libraries(rebuild-workload PRIVATE dl)
set_target_properties(rebuild-workload PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# In the sanitized build torn record preloads the ASan runtime in front of
# the (sanitized) shim into every recorded program, system programs included
# (docs/record.md; rebuild_real.sh's dd avoids a call that runtime refuses).
foreach(c workload shell sqlite)
  add_test(NAME rebuild/${c}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/rebuild_real.sh ${c} ${TORN_BIN}
            $<TARGET_FILE:rebuild-workload> $<TARGET_FILE:trace-rebuild>
            ${CMAKE_BINARY_DIR}/tests/work/rebuild)
  set(env "TORN_SHIM=${TORN_SHIM}")
  set_tests_properties(rebuild/${c} PROPERTIES ENVIRONMENT "${env}" TIMEOUT 180)
endforeach()

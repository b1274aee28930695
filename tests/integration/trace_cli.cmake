# torn info, torn dump and trace-rebuild on a hand-built trace (area: trace reader).
add_test(NAME integration/trace_cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/trace_cli.sh ${TORN_BIN}
          $<TARGET_FILE:trace-sample> $<TARGET_FILE:trace-rebuild>
          ${CMAKE_BINARY_DIR}/tests/work/trace_cli)
set_tests_properties(integration/trace_cli PROPERTIES TIMEOUT 120)

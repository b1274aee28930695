# Integration tests of torn run (tests/integration/run/): scenario suites end
# to end, reports, bad files, budgets, the commands of docs/ci.md, and the
# whole bundled suite (scenarios/), so that `make test` runs it.
set(TORN_RUN_CASES quick miss bad budget options readme suite)
foreach(c ${TORN_RUN_CASES})
  add_test(NAME run/${c}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/run/run_test.sh ${c})
  set_tests_properties(run/${c} PROPERTIES TIMEOUT 600
    ENVIRONMENT "TORN=${TORN_BIN};SRC=${CMAKE_SOURCE_DIR};WORK=${CMAKE_BINARY_DIR}/tests/run-work")
endforeach()
add_test(NAME run/ci COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/run/ci.sh)
set_tests_properties(run/ci PROPERTIES TIMEOUT 600
  ENVIRONMENT "TORN=${TORN_BIN};SRC=${CMAKE_SOURCE_DIR};WORK=${CMAKE_BINARY_DIR}/tests/run-work")

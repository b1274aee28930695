# Integration tests of torn run (tests/integration/run/): scenario suites end
# to end, reports, bad files, budgets, the commands of docs/ci.md, the README's
# examples, and the whole bundled suite (scenarios/), so that `make test` runs it.
set(TORN_RUN_CASES quick miss bad budget options readme suite)
set(TORN_RUN_FILTER "")
if(TORN_SANITIZE)
  # Under ASan every checker process (tornkv, tinylog) pays the sanitizer's
  # start-up and leak check, about 50 ms: the bundled suite's 20 000 crash
  # states would take a quarter of an hour.  The sanitized build checks torn
  # run's own code on a slice of the quick suite; the whole suite runs in the
  # normal build.
  set(TORN_RUN_FILTER "-k tinylog -k sqlite -k zz-")
  list(REMOVE_ITEM TORN_RUN_CASES suite)
endif()
set(TORN_RUN_ENV "TORN=${TORN_BIN};SRC=${CMAKE_SOURCE_DIR};WORK=${CMAKE_BINARY_DIR}/tests/run-work;RUN_FILTER=${TORN_RUN_FILTER}")
foreach(c ${TORN_RUN_CASES})
  add_test(NAME run/${c}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/run/run_test.sh ${c})
  set_tests_properties(run/${c} PROPERTIES TIMEOUT 600 ENVIRONMENT "${TORN_RUN_ENV}")
endforeach()
# run/suite runs the whole bundled suite, io_uring scenarios included (the
# shim records io_uring: injector/shim_uring.c).
add_test(NAME run/ci COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/run/ci.sh)
set_tests_properties(run/ci PROPERTIES TIMEOUT 600 ENVIRONMENT "${TORN_RUN_ENV}")

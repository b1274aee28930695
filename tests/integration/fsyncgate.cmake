# The acknowledged-after-failed-fsync finding end to end (issue 7):
# tests/integration/fsyncgate/fsyncgate_test.sh CASE, see its header.
set(FSYNCGATE_ENV
  "TORN=${TORN_BIN}"
  "BIN=${CMAKE_BINARY_DIR}/tests"
  "TOOLS=${CMAKE_SOURCE_DIR}/tests/tools"
  "WORK=${CMAKE_BINARY_DIR}/tests/fsyncgate-work")
foreach(c retry blind fatal scenario)
  add_test(NAME fsyncgate/${c}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/fsyncgate/fsyncgate_test.sh ${c})
  set_tests_properties(fsyncgate/${c} PROPERTIES ENVIRONMENT "${FSYNCGATE_ENV}" TIMEOUT 300)
endforeach()

# Integration tests of torn explore / replay / explain / minimize / merge
# (tests/integration/explore/) and the sqlite3 validation
# (tests/integration/sqlite/).
set(TORN_EXPLORE_CASES finds passes usage jobs shards replay explain minimize hang keep interrupt)
foreach(c ${TORN_EXPLORE_CASES})
  add_test(NAME explore/${c}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/explore/explore_test.sh ${c})
  set_tests_properties(explore/${c} PROPERTIES TIMEOUT 180
    ENVIRONMENT "TORN=${TORN_BIN};TINYLOG=${CMAKE_BINARY_DIR}/bin/tinylog;WORK=${CMAKE_BINARY_DIR}/tests/explore-work")
endforeach()

# Directories reused from state to state: each state equals its replay,
# whatever the previous state's checker did to the directory.
add_test(NAME explore/reuse
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/explore/reuse.sh)
set_tests_properties(explore/reuse PROPERTIES TIMEOUT 180
  ENVIRONMENT "TORN=${TORN_BIN};WORK=${CMAKE_BINARY_DIR}/tests/explore-work")

set(TORN_SQLITE_CONFIGS wal-full delete-extra delete-full off)
foreach(c ${TORN_SQLITE_CONFIGS})
  add_test(NAME sqlite/${c}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/sqlite/sqlite_test.sh ${c})
  set_tests_properties(sqlite/${c} PROPERTIES TIMEOUT 300
    ENVIRONMENT "TORN=${TORN_BIN};CHECK=${CMAKE_CURRENT_SOURCE_DIR}/integration/sqlite/check.sh;WORK=${CMAKE_BINARY_DIR}/tests/sqlite-work")
endforeach()

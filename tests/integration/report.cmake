# Integration tests of torn report (issue 9): included by
# tests/CMakeLists.txt with TORN_BIN set.
#
#   report/sqlite-off   sqlite3 synchronous=OFF: page valid, rendered in
#                       headless Chromium (DOM: timeline, crash points, the
#                       failing states of the selected one, a sector map)
#   report/engine-bug   tornkv wal checksum-header-only, torn writes: same
#   report/escape       markup and non-UTF-8 bytes from the trace escaped
#   report/binned       9,000 events: the timeline is binned, the page small
#   report/usage        bad input: exit 2 with messages
#   report/run          torn run --html DIR: a page per scenario, an index
# Pages, DOM dumps and screenshots stay in ${CMAKE_BINARY_DIR}/tests/report.
set(TORN_REPORT_SH ${CMAKE_CURRENT_SOURCE_DIR}/integration/report/report_test.sh)
set(TORN_REPORT_ART ${CMAKE_BINARY_DIR}/tests/report)
foreach(c sqlite-off engine-bug escape binned usage run)
  add_test(NAME report/${c}
           COMMAND sh ${TORN_REPORT_SH} ${c} ${TORN_BIN} ${TORN_REPORT_ART}
                   ${CMAKE_BINARY_DIR}/bin/tornkv)
  set_tests_properties(report/${c} PROPERTIES TIMEOUT 180)
endforeach()

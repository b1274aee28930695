# Integration tests of the bundled engines (issue 4): included by
# tests/CMakeLists.txt with TORN_BIN and TORN_SHIM set.
#
# - the engines' unit tests (tests/unit/test_{eio,wal,bitcask,btree,lsm}.c)
#   link the engines library;
# - engines/smoke/E/M: workload then check, with marks captured by a small
#   preload stand-in for the shim (markfile.c), plus self-made crashes;
# - engines/torn/E/M and engines/bug/E/B: torn record + torn explore, the
#   correct engine must pass and every seeded bug must be found.
foreach(t test_eio test_wal test_bitcask test_btree test_lsm)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE torn-engines)
  endif()
endforeach()

add_library(tornkv-markfile MODULE ${CMAKE_CURRENT_SOURCE_DIR}/integration/engines/markfile.c)
set_target_properties(tornkv-markfile PROPERTIES PREFIX "" OUTPUT_NAME tornkv-markfile
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(TORNKV_BIN ${CMAKE_BINARY_DIR}/bin/tornkv)
set(TORNKV_MARKFILE ${CMAKE_BINARY_DIR}/tests/tornkv-markfile.so)
set(TORNKV_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/engines)

foreach(engine ${TORNKV_ENGINES})
  foreach(mode buffered direct uring)
    add_test(NAME engines/smoke/${engine}/${mode}
             COMMAND sh ${TORNKV_SCRIPTS}/smoke.sh ${TORNKV_BIN} ${TORNKV_MARKFILE} ${engine} ${mode})
    set_tests_properties(engines/smoke/${engine}/${mode} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endforeach()

# Integration tests of the bundled engines (issue 4): included by
# tests/CMakeLists.txt with TORN_BIN and TORN_SHIM set.
#
#   unit/test_{eio,wal,bitcask,btree,lsm}  link the engines library
#   engines/smoke/E/M    without torn: the workload under each --sync policy,
#                        check; SIGKILL mid-run, check; a broken promise is
#                        reported; bad usage (marks captured by markfile.c)
#   engines/torn/E/M     torn record + torn explore --engine (the in-process
#                        checker) with sync,prefix,torn,reorder:2,random:2000
#                        at 512- and 4096-byte sectors, each with the default
#                        tears and with every tear pattern (issue 4's
#                        acceptance): the correct engine passes
#   engines/torn/btree/uring-inflight16  the same with 16 commits in
#                        flight: the btree's group commit
#   engines/bug/E/B      the same with a seeded bug: at least one state fails,
#                        and torn minimize shrinks it to <= 4 deviations
#   engines/inproc/E     torn explore --engine (in-process checker) gives the
#                        same report as the exec checker on the same trace
#   engines/minimize/E   torn minimize --engine gives the same minimal state
#                        and output as with the exec checker
#   engines/faults/E     without torn: a failed fdatasync / pwrite stops the
#                        workload ("stopped: ...", exit 0, nothing more
#                        acknowledged); short writes and EINTR are handled;
#                        the fsync-retry and short-write bugs misbehave
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
set(TORNKV_FULL sync,prefix,torn,reorder:2,random:2000)

# Workloads small enough for CI, large enough that every engine goes
# through its machinery: wal rotates segments and checkpoints, bitcask
# rotates and merges (hint files), btree splits and merges, lsm flushes
# and compacts.
set(TORNKV_FLAGS_wal     --ops 150 --keys 16 --value-size 300)
set(TORNKV_FLAGS_bitcask --ops 170 --keys 64 --value-size 300)
set(TORNKV_FLAGS_btree   --ops 60 --keys 40 --value-size 300 --mix put:50,delete:30,batch:20)
set(TORNKV_FLAGS_lsm     --ops 150 --keys 64 --value-size 300)

# uring: engines with an asynchronous commit keep commits in flight at
# --sync every (tornkv --inflight); two in flight is the smallest window
# with the pipelined path's crash states (commit N+1 durable, N lost) and
# keeps the state count near one commit at a time (wal at 16: ~10x the
# states; the btree, whose commits group at 16, has its own run below)
set(TORNKV_MODE_FLAGS_uring --inflight 2)

foreach(engine wal bitcask btree lsm)
  foreach(mode buffered direct uring)
    add_test(NAME engines/smoke/${engine}/${mode}
             COMMAND sh ${TORNKV_SCRIPTS}/smoke.sh ${TORNKV_BIN} ${TORNKV_MARKFILE} ${engine} ${mode})
    set_tests_properties(engines/smoke/${engine}/${mode} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
    add_test(NAME engines/torn/${engine}/${mode}
             COMMAND sh ${TORNKV_SCRIPTS}/explore.sh ${TORN_BIN} ${TORNKV_BIN} pass ${TORNKV_FULL}
                     --engine ${engine} --mode ${mode} ${TORNKV_FLAGS_${engine}}
                     ${TORNKV_MODE_FLAGS_${mode}})
    set_tests_properties(engines/torn/${engine}/${mode} PROPERTIES TIMEOUT 300)
    if(TORN_SANITIZE)
      # every check is several times slower there: two of the four runs
      set_tests_properties(engines/torn/${engine}/${mode} PROPERTIES ENVIRONMENT TORNKV_SWEEP=short)
    endif()
  endforeach()
  # uring: the shim records io_uring (injector/shim_uring.c); explore.sh
  # checks the trace has submissions
endforeach()

# the btree's group commit (uring): 16 commits in flight form groups of
# several, which --inflight 2 (one waiting behind each flush) does not
add_test(NAME engines/torn/btree/uring-inflight16
         COMMAND sh ${TORNKV_SCRIPTS}/explore.sh ${TORN_BIN} ${TORNKV_BIN} pass ${TORNKV_FULL}
                 --engine btree --mode uring ${TORNKV_FLAGS_btree} --inflight 16)
set_tests_properties(engines/torn/btree/uring-inflight16 PROPERTIES TIMEOUT 300)

# the other acknowledgement policies: group commits of 5, one sync at the end
foreach(engine wal bitcask btree lsm)
  add_test(NAME engines/torn/${engine}/buffered-batch5
           COMMAND sh ${TORNKV_SCRIPTS}/explore.sh ${TORN_BIN} ${TORNKV_BIN} pass ${TORNKV_FULL}
                   --engine ${engine} --mode buffered ${TORNKV_FLAGS_${engine}} --sync batch:5)
  set_tests_properties(engines/torn/${engine}/buffered-batch5 PROPERTIES TIMEOUT 300)
endforeach()
foreach(engine wal btree)
  add_test(NAME engines/torn/${engine}/direct-none
           COMMAND sh ${TORNKV_SCRIPTS}/explore.sh ${TORN_BIN} ${TORNKV_BIN} pass ${TORNKV_FULL}
                   --engine ${engine} --mode direct ${TORNKV_FLAGS_${engine}} --sync none)
  set_tests_properties(engines/torn/${engine}/direct-none PROPERTIES TIMEOUT 300)
endforeach()

# engine | bug | strategies | workload flags (default: the engine's) | mode
# (default buffered; a few again in direct mode, where commits are padded
# to the direct-I/O block, and in uring mode, which must find the same)
set(TORNKV_BUGS
  "wal|no-dirsync-segment|${TORNKV_FULL}|"
  "wal|tail-no-checksum|${TORNKV_FULL}|"
  "wal|checksum-header-only|${TORNKV_FULL}|"
  "wal|sync-file-range|${TORNKV_FULL}|--ops 40 --keys 16 --value-size 300"
  "wal|ckpt-no-fsync|${TORNKV_FULL}|"
  "bitcask|no-dirsync-create|${TORNKV_FULL}|"
  "bitcask|crc-header-only|${TORNKV_FULL}|"
  "bitcask|hint-unchecked|${TORNKV_FULL}|"
  "bitcask|merge-no-dirsync|${TORNKV_FULL}|"
  "btree|in-place-update|${TORNKV_FULL}|"
  "btree|meta-before-pages|${TORNKV_FULL}|"
  "btree|reuse-freed-early|${TORNKV_FULL}|"
  "btree|no-dirsync-create|${TORNKV_FULL}|"
  "lsm|manifest-before-table|${TORNKV_FULL}|--ops 80 --keys 64 --value-size 300"
  "lsm|manifest-no-fsync|${TORNKV_FULL}|"
  "lsm|wal-delete-early|${TORNKV_FULL}|"
  "lsm|no-dirsync-wal|${TORNKV_FULL}|"
  "wal|tail-no-checksum|${TORNKV_FULL}||direct"
  "bitcask|crc-header-only|${TORNKV_FULL}||direct"
  "btree|in-place-update|${TORNKV_FULL}||direct"
  "lsm|manifest-before-table|${TORNKV_FULL}|--ops 80 --keys 64 --value-size 300|direct"
  "wal|tail-no-checksum|${TORNKV_FULL}||uring"
  "bitcask|crc-header-only|${TORNKV_FULL}||uring"
  "btree|in-place-update|${TORNKV_FULL}||uring"
  "btree|meta-before-pages|${TORNKV_FULL}||uring"
  "btree|reuse-freed-early|${TORNKV_FULL}||uring"
  "lsm|manifest-before-table|${TORNKV_FULL}|--ops 80 --keys 64 --value-size 300|uring")
foreach(spec ${TORNKV_BUGS})
  string(REPLACE "|" ";" parts "${spec}")
  list(GET parts 0 engine)
  list(GET parts 1 bug)
  list(GET parts 2 strategies)
  list(LENGTH parts nparts)
  set(flags ${TORNKV_FLAGS_${engine}})
  set(mode buffered)
  set(name engines/bug/${engine}/${bug})
  if(nparts GREATER 3)
    list(GET parts 3 custom)
    if(custom)
      separate_arguments(flags UNIX_COMMAND "${custom}")
    endif()
  endif()
  if(nparts GREATER 4)
    list(GET parts 4 mode)
    set(name engines/bug/${engine}/${bug}/${mode})
  endif()
  add_test(NAME ${name}
           COMMAND sh ${TORNKV_SCRIPTS}/explore.sh ${TORN_BIN} ${TORNKV_BIN} fail ${strategies}
                   --engine ${engine} --mode ${mode} ${flags} --bug ${bug})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endforeach()

# faults without torn (issue 7): failcall.c fails one fdatasync or pwrite
add_library(tornkv-failcall MODULE ${CMAKE_CURRENT_SOURCE_DIR}/integration/engines/failcall.c)
set_target_properties(tornkv-failcall PROPERTIES PREFIX "" OUTPUT_NAME tornkv-failcall
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_link_libraries(tornkv-failcall PRIVATE ${CMAKE_DL_LIBS})
foreach(engine wal bitcask btree lsm)
  add_test(NAME engines/faults/${engine}
           COMMAND sh ${TORNKV_SCRIPTS}/faults.sh ${TORNKV_BIN} ${TORNKV_MARKFILE}
                   ${CMAKE_BINARY_DIR}/tests/tornkv-failcall.so ${engine})
  set_tests_properties(engines/faults/${engine} PROPERTIES TIMEOUT 120)
endforeach()

add_test(NAME engines/list-bugs COMMAND ${TORNKV_BIN} --list-bugs)
set_tests_properties(engines/list-bugs PROPERTIES
  PASS_REGULAR_EXPRESSION "wal +no-dirsync-segment.*bitcask +merge-no-dirsync.*btree +in-place-update.*lsm +manifest-before-table")

# torn explore --engine (in-process checker) against the exec checker: the
# same outcomes on the same states (a seeded bug, so that some states fail)
set(TORNKV_INPROC_BUG_wal tail-no-checksum)
set(TORNKV_INPROC_BUG_bitcask crc-header-only)
set(TORNKV_INPROC_BUG_btree in-place-update)
set(TORNKV_INPROC_BUG_lsm manifest-no-fsync)
foreach(engine wal bitcask btree lsm)
  add_test(NAME engines/inproc/${engine}
           COMMAND sh ${TORNKV_SCRIPTS}/inproc.sh ${TORN_BIN} ${TORNKV_BIN} ${TORNKV_FULL}
                   --engine ${engine} --mode buffered ${TORNKV_FLAGS_${engine}}
                   --bug ${TORNKV_INPROC_BUG_${engine}})
  set_tests_properties(engines/inproc/${engine} PROPERTIES TIMEOUT 300)
endforeach()

# torn minimize --engine against the exec checker: the same minimal state
# (at most 4 deviations), checker runs and explanation, from the failing
# state with the most deviations
foreach(engine wal bitcask btree lsm)
  add_test(NAME engines/minimize/${engine}
           COMMAND sh ${TORNKV_SCRIPTS}/minimize.sh ${TORN_BIN} ${TORNKV_BIN} ${TORNKV_FULL}
                   --engine ${engine} --mode buffered ${TORNKV_FLAGS_${engine}}
                   --bug ${TORNKV_INPROC_BUG_${engine}})
  set_tests_properties(engines/minimize/${engine} PROPERTIES TIMEOUT 300)
endforeach()

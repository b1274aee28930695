# Integration tests of `torn record`: the recorder (injector/record.c), the
# shim's event sink (injector/shim_ring.c) and marks.  Each case is one run
# of tests/integration/record/record_test.sh; see its header for the list.

set(REC_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/record)

# The program recorded by the tests, and a trace printer built on the codec
# alone (independent of the reader in recovery/).
add_executable(record_rec_marks ${REC_DIR}/rec_marks.c)
target_link_libraries(record_rec_marks PRIVATE dl Threads::Threads)
add_executable(record_trace_walk ${REC_DIR}/trace_walk.c)
target_link_libraries(record_trace_walk PRIVATE torn-trace)
# Statically linked: the shim cannot be preloaded into it.
add_executable(record_static ${REC_DIR}/static.c)
target_compile_options(record_static PRIVATE -fno-sanitize=all)
target_link_options(record_static PRIVATE -static -fno-sanitize=all)
set_target_properties(record_rec_marks record_trace_walk record_static PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(REC_ENV
  "TORN=${TORN_BIN}"
  "TORN_SHIM=${TORN_SHIM}"
  "WALK=${CMAKE_BINARY_DIR}/tests/record_trace_walk"
  "REC_MARKS=${CMAKE_BINARY_DIR}/tests/record_rec_marks"
  "REC_STATIC=${CMAKE_BINARY_DIR}/tests/record_static"
  "WORK=${CMAKE_BINARY_DIR}/tests/record-work")
if(TORN_SANITIZE)
  # torn record preloads the ASan runtime in front of the (sanitized) shim
  # itself (docs/record.md); the no-shim case preloads the shim by hand,
  # after REC_PRELOAD_FIRST.
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE REC_ASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND REC_ENV "REC_PRELOAD_FIRST=${REC_ASAN}")
endif()

set(REC_CASES snapshot usage marks sh-marks marks-file threads kill-program kill-recorder
              recorder-gone no-shim order trace-media sqlite-marks)
foreach(c ${REC_CASES})
  add_test(NAME record/${c} COMMAND sh ${REC_DIR}/record_test.sh ${c})
  set_tests_properties(record/${c} PROPERTIES ENVIRONMENT "${REC_ENV}" TIMEOUT 120)
endforeach()

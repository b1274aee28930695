# Integration tests of io_uring under torn's shim (issue 6,
# injector/shim_uring.c): tests/integration/uring/uring_test.sh CASE with
#   uring/ops   every recorded operation, checked event by event
#   uring/bad   write + fsync in one batch without a link: caught
#   uring/good  the linked version: passes
#   uring/spin  linked, completions reaped without a call the shim sees
# The engines' uring mode is tested in engines.cmake (engines/torn/*/uring,
# engines/bug/*/*/uring).
set(URING_T_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/uring)
add_executable(uring_ops ${URING_T_DIR}/uring_ops.c)
target_link_libraries(uring_ops PRIVATE torn-recovery torn-trace PkgConfig::URING dl)
set_target_properties(uring_ops PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
set(URING_T_ENV "TORN=${TORN_BIN};OPS=${CMAKE_BINARY_DIR}/tests/uring_ops")
# (Sanitized build: torn record preloads the ASan runtime, docs/record.md.)
foreach(c ops bad good spin)
  add_test(NAME uring/${c} COMMAND sh ${URING_T_DIR}/uring_test.sh ${c})
  set_tests_properties(uring/${c} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "${URING_T_ENV}")
endforeach()

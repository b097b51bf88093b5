# scripts/history.sh (make bench-history, make bench-bisect) on repositories
# the test makes: a clone of this checkout's HEAD with a planted regression,
# a commit that does not build and harmless commits, which the history and
# the bisection must tell apart. The figure is callgrind's instructions per
# request, which a busy machine does not move; not under sanitizers (the
# test builds its own commits, and callgrind can't run ASan binaries).
if(FLAGBENCH_SANITIZE STREQUAL "")
  add_test(NAME history COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/history_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(history PROPERTIES LABELS history TIMEOUT 900 SKIP_RETURN_CODE 77)
endif()

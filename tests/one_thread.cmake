# The one-thread check (tests/one_thread.sh) for every back end that declares
# ONE_THREAD in its flagbench_backend() line, and the same counted for every
# back end of KIND loops: with -j 2, two loops, two threads, each running
# transfers.
# Back ends of KIND procs: N single-threaded worker processes, counted
# (argument "procs").
foreach(name ${FLAGBENCH_ONE_THREAD_BACKENDS} ${FLAGBENCH_LOOPS_BACKENDS} ${FLAGBENCH_PROCS_BACKENDS})
  set(loops)
  if(name IN_LIST FLAGBENCH_LOOPS_BACKENDS)
    set(loops 2)
  elseif(name IN_LIST FLAGBENCH_PROCS_BACKENDS)
    set(loops procs)
  endif()
  add_test(NAME one_thread_flags_${name}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/one_thread.sh $<TARGET_FILE:flags_${name}> ${FLAGSERVER}
                   ${loops})
  # RESOURCE_LOCK concurrency: the suites that count requests in flight run
  # one at a time, not beside each other on the same cores.
  set_tests_properties(one_thread_flags_${name} PROPERTIES
                       LABELS "e2e;flags_${name}" TIMEOUT 300 RESOURCE_LOCK concurrency)
endforeach()

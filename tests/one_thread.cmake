# The one-thread check (tests/one_thread.sh CLIENT FLAGSERVER KIND) for every
# back end whose kind (its flagbench_backend() line) is not plain threads:
# one_thread on one thread; loops counted, N loops on N threads each running
# transfers. The script has a case for each kind.
foreach(name ${FLAGBENCH_BACKENDS})
  get_property(kind GLOBAL PROPERTY FLAGBENCH_KIND_${name})
  if(kind STREQUAL "threads")
    continue()
  endif()
  add_test(NAME one_thread_flags_${name}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/one_thread.sh $<TARGET_FILE:flags_${name}> ${FLAGSERVER}
                   ${kind})
  # RESOURCE_LOCK concurrency: the suites that count requests in flight run
  # one at a time, not beside each other on the same cores.
  set_tests_properties(one_thread_flags_${name} PROPERTIES
                       LABELS "e2e;flags_${name}" TIMEOUT 300 RESOURCE_LOCK concurrency)
endforeach()

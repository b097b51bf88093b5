# threadpool: the work queue's unit tests and flags_threadpool end to end.
# Label "threadpool": `make test-tsan` runs these under ThreadSanitizer.
if(CHECK_FOUND)
  add_executable(threadpool_workqueue_test ${CMAKE_CURRENT_LIST_DIR}/threadpool_workqueue_test.c)
  target_link_libraries(threadpool_workqueue_test PRIVATE workqueue PkgConfig::CHECK)
  add_test(NAME threadpool_workqueue COMMAND threadpool_workqueue_test)
  set_tests_properties(threadpool_workqueue PROPERTIES LABELS threadpool TIMEOUT 600)
else()
  message(STATUS "check not found: threadpool_workqueue test not built")
endif()

add_test(NAME threadpool_e2e
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/threadpool_test.sh
          $<TARGET_FILE:flags_threadpool> ${FLAGSERVER})
set_tests_properties(threadpool_e2e PROPERTIES LABELS threadpool TIMEOUT 300)

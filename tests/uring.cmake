# uring: the io_uring reactor's unit tests and flags_uring end to end.
if(CHECK_FOUND)
  add_executable(uring_loop_test ${CMAKE_CURRENT_LIST_DIR}/uring_loop_test.c)
  target_link_libraries(uring_loop_test PRIVATE uringloop PkgConfig::CHECK)
  add_test(NAME uring_loop COMMAND uring_loop_test)
  set_tests_properties(uring_loop PROPERTIES LABELS uring TIMEOUT 120)
else()
  message(STATUS "check not found: uring_loop test not built")
endif()

if(TARGET flagserver)
  add_test(NAME uring_e2e
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/uring_test.sh
            $<TARGET_FILE:flags_uring> ${FLAGSERVER})
  set_tests_properties(uring_e2e PROPERTIES LABELS uring TIMEOUT 300)
endif()

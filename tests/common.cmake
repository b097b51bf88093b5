# Unit tests of common/.
if(CHECK_FOUND)
  add_executable(test_common test_common.c)
  target_link_libraries(test_common PRIVATE flagcommon PkgConfig::CHECK)
  add_test(NAME common_unit COMMAND test_common)
  set_tests_properties(common_unit PROPERTIES LABELS "common")
endif()

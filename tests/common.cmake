# Unit tests of common/.
flagbench_check_test(common_unit SOURCES test_common.c LIBS flagcommon LABELS common)
# docs/DESIGN.md where it quotes common/ (the multi driver's constants, saves
# atomic but not durable).
add_test(NAME common_design_doc COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/design_doc_test.sh
                                        ${PROJECT_SOURCE_DIR})
set_tests_properties(common_design_doc PROPERTIES LABELS common)

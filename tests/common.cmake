# Unit tests of common/.
flagbench_check_test(common_unit SOURCES test_common.c LIBS flagcommon LABELS common)
# The CPU work per flag (common/work.c) on GIFs made by flagserver's encoder.
flagbench_check_test(common_work SOURCES work_test.c LIBS flagcommon flagserver_core LABELS common)
# docs/DESIGN.md where it quotes common/ (the multi driver's constants, saves
# atomic but not durable).
add_test(NAME common_design_doc COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/design_doc_test.sh
                                        ${PROJECT_SOURCE_DIR})
set_tests_properties(common_design_doc PROPERTIES LABELS common)

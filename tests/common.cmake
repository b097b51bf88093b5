# Unit tests of common/.
flagbench_check_test(common_unit SOURCES test_common.c LIBS flagcommon LABELS common)
# The CPU work per flag (common/work.c) on GIFs made by flagserver's encoder.
flagbench_check_test(common_work SOURCES work_test.c LIBS flagcommon flagserver_core LABELS common)

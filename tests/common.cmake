# Unit tests of common/.
flagbench_check_test(common_unit SOURCES test_common.c LIBS flagcommon LABELS common)

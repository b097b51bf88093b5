# The shared end-to-end list, run for every back end in the one list (CMakeLists.txt).
backend_cases(e2e e2e.sh pop20_identical every40_counts errors_leave_nothing delay_lower_bound
              ends_when_done usage_errors dest_unwritable metadata_names repeat_names csv_outputs
              work_checks_images)

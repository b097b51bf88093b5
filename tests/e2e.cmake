# The shared end-to-end list, run for every back end in the one list (CMakeLists.txt).
set(E2E_CASES pop20_identical every40_counts errors_leave_nothing delay_lower_bound
    usage_errors dest_unwritable metadata_names repeat_names csv_outputs)
foreach(name ${FLAGBENCH_BACKENDS})
  set(client flags_${name})
  if(TARGET ${client})
    foreach(case ${E2E_CASES})
      add_test(NAME e2e_${client}_${case}
               COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e.sh $<TARGET_FILE:${client}>
                       ${FLAGSERVER} ${case})
      set_tests_properties(e2e_${client}_${case} PROPERTIES LABELS "e2e;${client}" TIMEOUT 120)
    endforeach()
  endif()
endforeach()

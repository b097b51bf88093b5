# Faults and hostile peers, for every back end in the one list (tests/hardening.sh).
set(HARDENING_CASES truncate reset garbage longheader stall stallbody oversize slow
    redirectloop redirect chunked partial_faults server_dies sigint full_disk)
foreach(name ${FLAGBENCH_BACKENDS})
  set(client flags_${name})
  if(TARGET ${client})
    foreach(case ${HARDENING_CASES})
      add_test(NAME hardening_${client}_${case}
               COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/hardening.sh $<TARGET_FILE:${client}>
                       ${FLAGSERVER} ${case})
      set_tests_properties(hardening_${client}_${case} PROPERTIES
                           LABELS "hardening;${client}" TIMEOUT 120)
    endforeach()
  endif()
endforeach()

# The peers (peers/, scripts/peers.sh): each Python client keeps the C
# clients' contract on a real flagserver, and bench.sh --peers checks, times
# and reports them, failing a peer whose files are wrong. Skipped (77) where
# python3-httpx / python3-aiohttp or the bench tools are not installed. Not
# under sanitizers: nothing here is built, so they would test nothing more.
if(NOT FLAGBENCH_SANITIZE STREQUAL "")
  return()
endif()
file(GLOB PEER_CLIENTS ${PROJECT_SOURCE_DIR}/peers/flags_py_*.py)
foreach(client ${PEER_CLIENTS})
  get_filename_component(name ${client} NAME_WE)
  # e2e:CASE: the C clients' own cases whose contract the Python clients keep.
  foreach(case e2e:pop20_identical e2e:errors_leave_nothing not_found usage_errors repeat_names tls)
    string(REPLACE "e2e:" "" case_name ${case})
    add_test(NAME peers_${name}_${case_name}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/peers_test.sh ${FLAGSERVER} ${case} ${client})
    set_tests_properties(peers_${name}_${case_name} PROPERTIES LABELS peers TIMEOUT 120
                                                              SKIP_RETURN_CODE 77)
  endforeach()
endforeach()
add_test(NAME peers_codes COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/peers_test.sh ${FLAGSERVER} codes -)
set_tests_properties(peers_codes PROPERTIES LABELS peers TIMEOUT 60)
add_test(NAME peers_bench
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/peers_test.sh ${FLAGSERVER} bench ${CMAKE_BINARY_DIR})
set_tests_properties(peers_bench PROPERTIES LABELS "peers;driver" TIMEOUT 300 SKIP_RETURN_CODE 77)
# The peers over HTTPS, and bench.sh's --tls and --tls-compare.
add_test(NAME peers_bench_tls
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/peers_test.sh ${FLAGSERVER} bench_tls ${CMAKE_BINARY_DIR})
set_tests_properties(peers_bench_tls PROPERTIES LABELS "peers;driver" TIMEOUT 300 SKIP_RETURN_CODE 77)

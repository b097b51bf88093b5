# Across two hosts: flagserver and each client in their own network
# namespaces, joined by a veth pair (tests/two_hosts.sh); skips where
# namespaces can't be made.
set(two_hosts_clients "")
foreach(name ${FLAGBENCH_BACKENDS})
  list(APPEND two_hosts_clients $<TARGET_FILE:flags_${name}>)
endforeach()
add_test(NAME two_hosts COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/two_hosts.sh ${FLAGSERVER} ${two_hosts_clients})
set_tests_properties(two_hosts PROPERTIES LABELS e2e TIMEOUT 300 SKIP_RETURN_CODE 77)

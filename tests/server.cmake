# flagserver's tests: the request parser, routing and chaos selection, the GIF
# encoder and images (Check), and the server end to end (bash + curl).
flagbench_check_test(server_http SOURCES server_http_test.c LIBS flagserver_core
                     LABELS server TIMEOUT 300)
flagbench_check_test(server_gif SOURCES server_gif_test.c gif_decode.c LIBS flagserver_core
                     LABELS server TIMEOUT 300)
flagbench_check_test(server_tls SOURCES server_tls_test.c LIBS flagserver_net
                     LABELS "server;tls" TIMEOUT 300)
flagbench_check_test(server_respond SOURCES server_respond_test.c LIBS flagserver_core
                     LABELS server TIMEOUT 300)

add_test(NAME server_e2e
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/server_test.sh ${FLAGSERVER}
                 ${SHARED_DATA}/flags.zip)
# RESOURCE_LOCK concurrency: the suites that count requests in flight run one
# at a time, not beside each other on the same cores.
set_tests_properties(server_e2e PROPERTIES LABELS "server" TIMEOUT 600 RESOURCE_LOCK concurrency)
# The same checks over HTTPS, and then TLS's own.
add_test(NAME server_e2e_tls
         COMMAND env SERVER_TLS=1 bash ${CMAKE_CURRENT_SOURCE_DIR}/server_test.sh ${FLAGSERVER}
                 ${SHARED_DATA}/flags.zip)
set_tests_properties(server_e2e_tls PROPERTIES LABELS "server;tls" TIMEOUT 600
                     RESOURCE_LOCK concurrency)

# The one list of countries, as scripts read it: 194 codes, sorted, unique,
# two capital letters each (what the clients' -a asks for).
add_test(NAME server_list_codes
         COMMAND bash -c [=[set -eo pipefail
                  out=$("$1" --list-codes)
                  [[ $(wc -l <<<"$out") -eq 194 ]] || { echo "not 194 codes"; exit 1; }
                  sort -uc <<<"$out"
                  ! grep -vx '[A-Z][A-Z]' <<<"$out"
                  [[ $(head -n1 <<<"$out") == AD && $(tail -n1 <<<"$out") == ZW ]]]=]
                 list_codes ${FLAGSERVER})
set_tests_properties(server_list_codes PROPERTIES LABELS "server" TIMEOUT 60)

# The shutdown order: the ring torn down before the connections' receive
# buffers are freed (seen with strace).
add_test(NAME server_shutdown_order
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/server_shutdown_test.sh ${FLAGSERVER})
set_tests_properties(server_shutdown_order PROPERTIES LABELS "server" TIMEOUT 60)

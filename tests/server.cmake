# flagserver's tests: the request parser, the GIF encoder and images (Check),
# and the server end to end (bash + curl).
if(CHECK_FOUND)
  add_executable(server_http_test server_http_test.c)
  target_link_libraries(server_http_test PRIVATE flagserver_core PkgConfig::CHECK)
  add_test(NAME server_http COMMAND server_http_test)

  add_executable(server_gif_test server_gif_test.c gif_decode.c)
  target_link_libraries(server_gif_test PRIVATE flagserver_core PkgConfig::CHECK)
  add_test(NAME server_gif COMMAND server_gif_test)

  set_tests_properties(server_http server_gif PROPERTIES LABELS "server" TIMEOUT 300)
endif()

add_test(NAME server_e2e
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/server_test.sh ${FLAGSERVER}
                 ${SHARED_DATA}/flags.zip)
# RESOURCE_LOCK concurrency: the suites that count requests in flight run one
# at a time, not beside each other on the same cores.
set_tests_properties(server_e2e PROPERTIES LABELS "server" TIMEOUT 600 RESOURCE_LOCK concurrency)

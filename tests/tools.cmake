# The measuring tools (tools/): start_floor against a real flagserver in both
# modes, its output format and exit statuses, and fast_start.sh's --help and
# usage error (the script itself is timed in `make bench-compare`, not here).
add_test(NAME tools_start_floor
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/start_floor_test.sh $<TARGET_FILE:start_floor>
                 ${FLAGSERVER})
set_tests_properties(tools_start_floor PROPERTIES LABELS tools TIMEOUT 300)
# coro_cost: every kind measured and printed, usage errors; coro_cost.sh's
# --help (the script itself is timed in `make bench-coro`, not here).
add_test(NAME tools_coro_cost
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/coro_cost_test.sh $<TARGET_FILE:coro_cost>)
set_tests_properties(tools_coro_cost PROPERTIES LABELS "tools;coro" TIMEOUT 120)

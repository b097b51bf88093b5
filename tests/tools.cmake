# The measuring tools (tools/): start_floor against a real flagserver in both
# modes, its output format and exit statuses, and fast_start.sh's --help and
# usage error (the script itself is timed in `make bench-compare`, not here).
add_test(NAME tools_start_floor
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/start_floor_test.sh $<TARGET_FILE:start_floor>
                 ${FLAGSERVER})
set_tests_properties(tools_start_floor PROPERTIES LABELS tools TIMEOUT 300)

# The driver (scripts/): bench-ci's gate passes on the committed baseline and
# fails naming the figure on doctored ones; bench.sh makes its report; the
# scripts pass shellcheck. Not under sanitizers: callgrind can't run ASan
# binaries, and their instruction counts aren't the baseline's.
if(FLAGBENCH_SANITIZE STREQUAL "")
  add_test(NAME driver
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/driver_test.sh ${CMAKE_BINARY_DIR})
  # Alone on the machine: the gate's speedups are timings.
  set_tests_properties(driver PROPERTIES LABELS driver RUN_SERIAL TRUE TIMEOUT 400
                                         SKIP_RETURN_CODE 77)
  find_program(SHELLCHECK shellcheck)
  if(SHELLCHECK)
    # The driver scripts and every test script, the back ends' own too.
    file(GLOB SHELL_SCRIPTS ${PROJECT_SOURCE_DIR}/scripts/*.sh ${PROJECT_SOURCE_DIR}/tests/*.sh
         ${PROJECT_SOURCE_DIR}/*/tests/*.sh)
    add_test(NAME driver_shellcheck COMMAND ${SHELLCHECK} -x ${SHELL_SCRIPTS}
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(driver_shellcheck PROPERTIES LABELS driver)
  endif()
endif()

# The report's phase account on traces made up in the test (no timing).
find_program(PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(PYTHON3 python3)
if(PYTHON3)
  # The report's words and pictures on made-up runs (report_fixture.py):
  # each test fails on the wording or arithmetic issue 21 found wrong.
  foreach(t phases answer figures plots readme)
    add_test(NAME report_${t} COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/report_${t}_test.py)
    set_tests_properties(report_${t} PROPERTIES LABELS driver)
  endforeach()
  # The coroutine section's quotes of the source (flagreport/coro.py).
  add_test(NAME report_coro COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/report_coro_test.py)
  set_tests_properties(report_coro PROPERTIES LABELS "driver;coro")
endif()

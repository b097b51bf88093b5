/* check_run.h — the one suite-and-run tail every Check test shares. */
#ifndef FLAGBENCH_CHECK_RUN_H
#define FLAGBENCH_CHECK_RUN_H

#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#define CHECK_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A test case named name holding tests (a table of START_TEST names) with a
 * timeout in seconds (0 keeps Check's default). The caller may add
 * fixtures and loop tests before running it. */
static inline TCase *check_case(const char *name, double timeout, const TTest *const tests[],
                                size_t n) {
    TCase *tc = tcase_create(name);
    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    return tc;
}

/* Run every test of s; the process exit status says whether all passed. */
static inline int check_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Run the suite suite_name made of the one test case tc. */
static inline int check_run_case(const char *suite_name, TCase *tc) {
    Suite *s = suite_create(suite_name);
    suite_add_tcase(s, tc);
    return check_run(s);
}

#endif

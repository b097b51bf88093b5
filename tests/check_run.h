/* check_run.h — the one main() tail every Check test shares. */
#ifndef FLAGBENCH_CHECK_RUN_H
#define FLAGBENCH_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Run every test of s; the process exit status says whether all passed. */
static inline int check_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

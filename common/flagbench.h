/* flagbench.h — the back-end interface and the run every back end fills.
 *
 * A back end is one table: a name and a download_many that decides *when*
 * each flag's download runs. What a download is (URL, libcurl setup,
 * classification, saving, timing) lives in fetch.h and save.h; the run
 * itself, its clock and the interrupted flag in runstate.h. */
#ifndef FLAGBENCH_H
#define FLAGBENCH_H

#include "runstate.h"

struct backend {
    const char *name;                      /* as in the build's list (backends.txt) */
    int (*download_many)(struct run *run); /* fills run->records; 0, or -errno */
    unsigned default_max_req;              /* -m when not given */
    unsigned max_max_req;                  /* upper bound for -m; 0 = none */
};

/* The whole program: parse argv, run the back end, print the report, write
 * trace and summary. Returns the process exit status (see options.h). */
int flagbench_main(int argc, char **argv, const struct backend *backend);

#endif

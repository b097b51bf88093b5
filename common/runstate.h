/* runstate.h — the run every back end fills, its clock and whether it was
 * interrupted: the state that fetch.c (one download) and flagbench.c (the
 * whole program) both read. It sits below both so that neither calls into
 * the other's module for it (docs/DESIGN.md, the layer picture). */
#ifndef FLAGBENCH_RUNSTATE_H
#define FLAGBENCH_RUNSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "progress.h"
#include "record.h"

struct backend;

struct run {
    const struct options *opt;
    const struct backend *backend;
    const char *prog;       /* the program's name, for messages */
    struct record *records; /* one per request, in order; a back end fills them */
    size_t nrecords;
    unsigned max_req;      /* requests in flight at most: min(-m, limit, nrecords) */
    int64_t t0_ns;         /* CLOCK_MONOTONIC origin of every *_us timestamp */
    unsigned threads_peak; /* threads the back end ran at once, main included */
    int pid;               /* getpid(), once: glibc doesn't cache it */
    size_t fd_limit;       /* descriptors the process may open (soft limit, raised to hard) */
    int dest_fd;           /* --dest opened once (O_PATH), saves name files under it; 0 = by path */
    void *tls_sessions;    /* the CURLSH of TLS sessions all transfers share (tls_sessions.h);
                            * NULL with --no-resume */
    struct progress progress;
};

/* Microseconds since the run began (CLOCK_MONOTONIC). Thread-safe. */
int64_t run_now_us(const struct run *run);

/* The calling thread's CPU time in µs when the run is traced, else -1 (a
 * system call per stamp is paid only by a run that asked for the trace). */
int64_t run_thread_cpu_us(const struct run *run);

/* Fit run->max_req users (workers, transfers) of per_user descriptors each,
 * beside reserved others, under the open-file limit: raise the limit if it
 * can be, else lower run->max_req to what fits (at least 1) and say so once
 * on stderr, naming the users units. Past the limit every socket() fails.
 * Call before any thread starts. Returns run->max_req. */
unsigned run_fit_fd_limit(struct run *run, unsigned per_user, unsigned reserved,
                          const char *units);

/* True once SIGINT or SIGTERM arrived: back ends stop starting new work. */
int run_interrupted(void);

/* Mark the run interrupted: async-signal-safe, the SIGINT/SIGTERM handler's
 * one action. */
void run_interrupt(void);

#endif

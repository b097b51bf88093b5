/* runstate.c — the run's clock, its interrupted flag, and fitting its
 * requests in flight under the descriptor limit. */
#include "runstate.h"
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "fd_limit.h"

/* The one piece of global state besides libcurl's: a signal handler can
 * reach nothing else. Lock-free atomic: safe in a handler, race-free for
 * the threads that poll it. */
static atomic_int interrupted;

void run_interrupt(void) {
    atomic_store_explicit(&interrupted, 1, memory_order_relaxed);
}

int run_interrupted(void) {
    return atomic_load_explicit(&interrupted, memory_order_relaxed);
}

int64_t run_now_us(const struct run *run) {
    return (clock_now_ns() - run->t0_ns) / 1000;
}

int64_t run_thread_cpu_us(const struct run *run) {
    struct timespec ts;
    if (!run->opt->trace || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

unsigned run_fit_fd_limit(struct run *run, unsigned per_user, unsigned reserved,
                          const char *units) {
    unsigned want = run->max_req;
    size_t need = (size_t)want * per_user + reserved;
    if (need > run->fd_limit)
        run->fd_limit = raise_fd_limit(need);
    size_t fit = run->fd_limit > reserved + per_user ? (run->fd_limit - reserved) / per_user : 1;
    if (want > fit) {
        fprintf(stderr,
                "%s: warning: %u %s need about %zu descriptors and the limit (ulimit -n) "
                "is %zu; running with %zu %s\n",
                run->prog ? run->prog : "flagbench", want, units, need, run->fd_limit, fit, units);
        run->max_req = (unsigned)fit;
    }
    return run->max_req;
}

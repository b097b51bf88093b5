/* runstate.c — the run's clock and its interrupted flag. */
#include "runstate.h"
#include "clock.h"

#include <stdatomic.h>
#include <time.h>

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

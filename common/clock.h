/* clock.h — the one monotonic clock the clients, the reactor and flagserver
 * read. Header-only so the server and the reactor need not link common/.
 * CLOCK_MONOTONIC, not the wall clock: deadlines and durations must not jump
 * when NTP or an administrator sets the time. */
#ifndef FLAGBENCH_CLOCK_H
#define FLAGBENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary fixed point (boot). */
static inline int64_t clock_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif

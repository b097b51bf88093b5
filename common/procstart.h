/* procstart.h — when this process started, on the run's clock.
 *
 * The report's phase account begins at the process's start, not at the
 * run's t0: loading libcurl and its libraries and initialising belong to
 * the wall time a user waits for. */
#ifndef FLAGBENCH_PROCSTART_H
#define FLAGBENCH_PROCSTART_H

#include <stdint.h>

/* Nanoseconds from the process's start (its fork) to now, >= 0.
 *
 * The kernel's stamp (/proc/self/stat starttime) counts clock ticks since
 * boot, so it is only good to a tick (10 ms at USER_HZ 100) and it is on
 * CLOCK_BOOTTIME, not CLOCK_MONOTONIC. Within that tick the process's CPU
 * time so far is the better measure — start-up is CPU work (mapping and
 * relocating libraries) unless the process was pre-empted — so the answer
 * is the CPU time, held inside the kernel's tick. */
int64_t process_age_ns(void);

#endif

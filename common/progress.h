/* progress.h — the progress bar (stderr is a terminal, no -v) or one line
 * per flag (-v). Safe to call from many threads at once. */
#ifndef FLAGBENCH_PROGRESS_H
#define FLAGBENCH_PROGRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct record;

struct progress {
    size_t total;
    atomic_size_t done;
    atomic_int_fast64_t next_draw_us; /* redraws are rate-limited */
    bool bar, verbose;
};

void progress_init(struct progress *p, size_t total, bool verbose);
/* One download finished; now_us is the run clock. */
void progress_tick(struct progress *p, const struct record *rec, int64_t now_us);
/* Finish the bar's line. */
void progress_end(struct progress *p);

#endif

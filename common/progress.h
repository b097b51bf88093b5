/* progress.h — the progress bar (stderr is a terminal, no -v) or one line
 * per flag (-v). Safe to call from many threads at once.
 *
 * The bar reads like tqdm's, which the book uses:
 *
 *      14%|#####                              | 29/194 [00:03<00:17, 9.7 flags/s]
 *
 * done/total, then elapsed<left as the rate so far predicts it. */
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
    size_t drawn;                     /* the count on screen; under stderr's lock */
    unsigned columns;                 /* the terminal's width, found once */
    bool bar, verbose;
};

void progress_init(struct progress *p, size_t total, bool verbose);
/* One download finished; now_us is the run clock. */
void progress_tick(struct progress *p, const struct record *rec, int64_t now_us);
/* Finish the bar's line. */
void progress_end(struct progress *p);

/* The bar's line for done of total after elapsed_us, fitted to columns
 * (the bar shrinks, at most 40 wide, and goes when fewer than 10 would
 * fit). "?" for the rate and time left before anything is done. Returns
 * what snprintf returns. */
int progress_format(char *out, size_t n, size_t done, size_t total, int64_t elapsed_us,
                    unsigned columns);

#endif

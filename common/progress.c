/* progress.c — a progress bar on a terminal, or a line per flag with -v. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "record.h"

#define BAR_WIDTH 40
#define REDRAW_US 50000 /* 20 redraws a second at most */

void progress_init(struct progress *p, size_t total, bool verbose) {
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_init(&p->next_draw_us, 0);
    p->verbose = verbose;
    p->bar = !verbose && isatty(STDERR_FILENO);
}

static void draw(const struct progress *p, size_t done) {
    int fill = p->total ? (int)(done * BAR_WIDTH / p->total) : BAR_WIDTH;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill, "########################################",
            BAR_WIDTH - fill, "", done, p->total);
    fflush(stderr);
}

void progress_tick(struct progress *p, const struct record *rec, int64_t now_us) {
    size_t done = atomic_fetch_add(&p->done, 1) + 1;
    if (p->verbose) {
        /* One fprintf per line: stdio's lock keeps lines whole across threads. */
        if (rec->outcome == OUTCOME_ERROR)
            fprintf(stderr, "%s error: %s\n", rec->code, rec->error);
        else
            fprintf(stderr, "%s %s\n", rec->code, rec->outcome == OUTCOME_OK ? "OK" : "not found");
        return;
    }
    if (!p->bar)
        return;
    int_fast64_t next = atomic_load(&p->next_draw_us);
    /* Only the thread that wins the slot draws; the last tick always draws. */
    if ((now_us >= next &&
         atomic_compare_exchange_strong(&p->next_draw_us, &next, now_us + REDRAW_US)) ||
        done == p->total)
        draw(p, done);
}

void progress_end(struct progress *p) {
    if (p->bar && p->total)
        fputc('\n', stderr);
}

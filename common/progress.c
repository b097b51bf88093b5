/* progress.c — a progress bar on a terminal, or a line per flag with -v. */
#include "progress.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "record.h"

#define BAR_MAX         40
#define BAR_MIN         10    /* narrower than this says nothing: no bar */
#define REDRAW_US       50000 /* 20 redraws a second at most */
#define DEFAULT_COLUMNS 80    /* when the terminal won't say */
#define LINE_MAX_BYTES  256

void progress_init(struct progress *p, size_t total, bool verbose) {
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_init(&p->next_draw_us, 0);
    p->drawn = 0;
    p->verbose = verbose;
    p->bar = !verbose && isatty(STDERR_FILENO);
    struct winsize ws;
    p->columns =
        ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : DEFAULT_COLUMNS;
}

/* MM:SS, or H:MM:SS from an hour on, as tqdm writes durations. */
static void clock_text(char *out, size_t n, int64_t s) {
    if (s >= 3600)
        snprintf(out, n, "%lld:%02d:%02d", (long long)(s / 3600), (int)(s / 60 % 60),
                 (int)(s % 60));
    else
        snprintf(out, n, "%02d:%02d", (int)(s / 60), (int)(s % 60));
}

int progress_format(char *out, size_t n, size_t done, size_t total, int64_t elapsed_us,
                    unsigned columns) {
    char elapsed[24], left[24] = "?", rate[24] = "?";
    clock_text(elapsed, sizeof elapsed, elapsed_us / 1000000);
    if (done > 0 && elapsed_us > 0) {
        double per_s = (double)done / ((double)elapsed_us / 1e6);
        snprintf(rate, sizeof rate, per_s >= 1000 ? "%.0f" : per_s >= 1 ? "%.1f" : "%.2g", per_s);
        double left_s = (double)(total > done ? total - done : 0) / per_s;
        if (left_s < 1e9) /* else "?": no clock to show */
            clock_text(left, sizeof left, (int64_t)left_s);
    }
    char tail[160];
    int tail_len = snprintf(tail, sizeof tail, "%zu/%zu [%s<%s, %s flags/s]", done, total, elapsed,
                            left, rate);
    unsigned percent = total ? (unsigned)(done * 100 / total) : 100;
    /* "100%|" + bar + "| " + tail, off the last column (where a terminal
     * wraps, and \r no longer returns to the line's start). */
    int room = (int)columns - 1 - 5 - 2 - tail_len;
    if (room < BAR_MIN)
        return snprintf(out, n, "%3u%% %s", percent, tail);
    int width = room < BAR_MAX ? room : BAR_MAX;
    int fill = total ? (int)(done * (size_t)width / total) : width;
    static const char hashes[BAR_MAX + 1] = "########################################";
    return snprintf(out, n, "%3u%%|%.*s%*s| %s", percent, fill, hashes, width - fill, "", tail);
}

static void draw(struct progress *p, size_t done, int64_t now_us) {
    char line[LINE_MAX_BYTES];
    progress_format(line, sizeof line, done, p->total, now_us, p->columns);
    /* stderr's lock orders the draws: a thread that won an earlier slot but
     * got here late must not overwrite a later count (the last one above all). */
    flockfile(stderr);
    if (done >= p->drawn) {
        p->drawn = done;
        /* \033[K clears what a longer line left behind. */
        fprintf(stderr, "\r%s\033[K", line);
        fflush(stderr);
    }
    funlockfile(stderr);
}

void progress_tick(struct progress *p, const struct record *rec, int64_t now_us) {
    size_t done = atomic_fetch_add(&p->done, 1) + 1;
    if (p->verbose) {
        /* One fprintf per line: stdio's lock keeps lines whole across threads. */
        switch (rec->outcome) {
        case OUTCOME_ERROR:
            fprintf(stderr, "%s error: %s\n", rec->code, rec->error);
            break;
        case OUTCOME_OK:
            fprintf(stderr, "%s OK\n", rec->code);
            break;
        case OUTCOME_NOT_FOUND:
            fprintf(stderr, "%s not found\n", rec->code);
            break;
        case OUTCOME_NONE: /* abandoned at SIGINT: it never finished */
            fprintf(stderr, "%s not run (interrupted)\n", rec->code);
            break;
        }
        return;
    }
    if (!p->bar)
        return;
    int_fast64_t next = atomic_load(&p->next_draw_us);
    /* Only the thread that wins the slot draws; the last tick always draws. */
    if ((now_us >= next &&
         atomic_compare_exchange_strong(&p->next_draw_us, &next, now_us + REDRAW_US)) ||
        done == p->total)
        draw(p, done, now_us);
}

void progress_end(struct progress *p) {
    if (p->bar && p->total)
        fputc('\n', stderr);
}

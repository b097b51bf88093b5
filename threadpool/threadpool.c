/* threadpool.c — flags_threadpool: the book's flags2_threadpool.py.
 *
 * A ThreadPoolExecutor in C: min(-m, flags) worker threads take flag
 * indices from one work queue. Each worker owns one struct transfer, so its
 * libcurl easy handle (and the connection it keeps alive) is reused from
 * flag to flag; fetching, classifying and saving are common/fetch.h's
 * flag_download(). This file only decides *when* each flag runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_limit.h"
#include "fetch.h"
#include "flagbench.h"
#include "workqueue.h"

#define PROG "flags_threadpool"

/* A worker holds up to 4 descriptors at once: its socket, the socket pair
 * libcurl's easy interface keeps for wake-ups, and the file it is saving.
 * Past the limit every socket() fails, so the pool is sized to fit. */
#define FDS_PER_WORKER 4
#define FDS_RESERVED   64 /* stdio, the trace and summary files, libcurl's own */

struct pool {
    struct run *run;
    struct workqueue *wq; /* set before any worker exists */
};

/* Each worker's state: its own transfer, made before the thread starts. */
static int worker_init(void *ctx, unsigned worker, void **state) {
    struct pool *pool = ctx;
    (void)worker;
    struct transfer *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    int err = transfer_init(t, pool->run);
    if (err) {
        free(t);
        return err < 0 ? err : -ENOMEM;
    }
    *state = t;
    return 0;
}

static void worker_cleanup(void *ctx, unsigned worker, void *state) {
    (void)ctx;
    (void)worker;
    transfer_cleanup(state);
    free(state);
}

/* One flag. After SIGINT/SIGTERM no new flag starts: the first worker to
 * notice drops the rest of the queue, and their records stay "not run". */
static void download_one(void *state, void *arg, size_t i) {
    struct pool *pool = arg;
    if (run_interrupted()) {
        workqueue_cancel(pool->wq);
        return;
    }
    flag_download(state, i);
}

static int download_many(struct run *run) {
    run->threads_peak = 1;
    if (run->nrecords == 0)
        return 0;

    /* At most nrecords already; now at most what the descriptors allow. */
    unsigned want = run_fit_fd_limit(run, FDS_PER_WORKER, FDS_RESERVED, "workers");
    presize_fd_table((size_t)want * FDS_PER_WORKER + FDS_RESERVED); /* before any thread */

    struct pool pool = {.run = run};
    const struct workqueue_config cfg = {
        .workers = want,
        .stack_size = run->opt->stack_size,
        .init = worker_init,
        .cleanup = worker_cleanup,
        .ctx = &pool,
        .block_signals = true, /* SIGINT reaches main; workers finish their flag */
    };
    int err = workqueue_new(&pool.wq, &cfg);
    if (err < 0) {
        fprintf(stderr, PROG ": error: can't make the work queue: %s\n", strerror(-err));
        return err;
    }

    /* Like executor.submit() in a loop: every flag is queued at once, and
     * before the workers exist, so each one starts a flag as soon as it
     * runs instead of waiting for the other workers to be created. */
    int64_t now = run_now_us(run);
    for (size_t i = 0; i < run->nrecords; i++)
        run->records[i].queued_us = now;
    err = workqueue_submit_range(pool.wq, download_one, &pool, 0, run->nrecords);
    if (err < 0) {
        fprintf(stderr, PROG ": error: can't queue the flags: %s\n", strerror(-err));
        workqueue_destroy(pool.wq, WQ_CANCEL, NULL);
        return err;
    }

    err = workqueue_start(pool.wq);
    if (err < 0) {
        fprintf(stderr,
                PROG ": error: can't start any of %u worker threads: %s (try a smaller -m or "
                     "--stack-size)\n",
                want, strerror(-err));
        workqueue_destroy(pool.wq, WQ_CANCEL, NULL);
        return err;
    }
    unsigned got = workqueue_workers(pool.wq);
    if (got < want)
        fprintf(stderr, PROG ": warning: started %u of %u worker threads (%s); running with %u\n",
                got, want, strerror(-workqueue_start_error(pool.wq)), got);
    run->threads_peak = got + 1; /* the workers and main */

    workqueue_destroy(pool.wq, run_interrupted() ? WQ_CANCEL : WQ_DRAIN, NULL);
    return 0;
}

static const struct backend threadpool_backend = {
    .name = "threadpool",
    .download_many = download_many,
    .default_max_req = 30, /* default -m, as the book */
    .max_max_req = 0,      /* no upper bound */
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &threadpool_backend);
}

/* workqueue.h — a small, general pthread work queue.
 *
 * A fixed number of worker threads take jobs from one FIFO queue. Each
 * worker owns a state made by an init callback before it starts and freed
 * by a cleanup callback after it ended (a worker can own a CURL easy handle,
 * a buffer, a database connection ...), and every job it runs gets that
 * state. A job is a function and an argument, or a range of indices that
 * the workers share out one index at a time (no allocation per index).
 *
 * Idle workers sleep on a condition variable; nothing busy-waits. Shutdown
 * either drains the queue or cancels what was not started yet; jobs that
 * are running always finish. If the system runs out of threads (EAGAIN) the
 * queue starts with as many workers as it got and says so.
 *
 *     struct workqueue_config cfg = {.workers = 8, .init = my_init, .cleanup = my_cleanup};
 *     struct workqueue *wq;
 *     if (workqueue_create(&wq, &cfg) < 0) ...           // no worker at all
 *     if (workqueue_workers(wq) < cfg.workers) warn ...
 *     workqueue_submit_range(wq, job, ctx, 0, n);          // job(state, ctx, 0..n-1)
 *     workqueue_destroy(wq, WQ_DRAIN, &stats);             // wait, join, clean up
 *
 * To have work start while the workers are still being created, queue it
 * first: workqueue_new, workqueue_submit..., workqueue_start. Each worker
 * then takes a job the moment it runs; creating hundreds of threads takes
 * milliseconds, and with workqueue_create the first job waits for all of them.
 */
#ifndef FLAGBENCH_WORKQUEUE_H
#define FLAGBENCH_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct workqueue;

/* A job: state is the running worker's state, arg what was submitted, index
 * the job's index (0 for a single job submitted with workqueue_submit). */
typedef void (*wq_job_fn)(void *state, void *arg, size_t index);

/* Make worker `worker`'s state (0 <= worker < workers). Runs in the thread
 * that calls workqueue_create, before that worker's thread starts. 0, or a
 * negative errno: the queue then starts no more workers. */
typedef int (*wq_init_fn)(void *ctx, unsigned worker, void **state);

/* Free a worker's state. Runs in the thread that calls workqueue_destroy,
 * after the worker's thread has been joined; once per successful init. */
typedef void (*wq_cleanup_fn)(void *ctx, unsigned worker, void *state);

struct workqueue_config {
    unsigned workers;      /* threads wanted, >= 1 */
    size_t stack_size;     /* bytes per worker thread; 0 = the system default */
    wq_init_fn init;       /* optional: state is NULL without it */
    wq_cleanup_fn cleanup; /* optional */
    void *ctx;             /* passed to init and cleanup */
    bool block_signals;    /* workers block SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                              SIGALRM, SIGUSR1/2 so they reach the thread that waits */
};

enum wq_shutdown {
    WQ_DRAIN,  /* run every job submitted, then stop */
    WQ_CANCEL, /* let running jobs finish, drop the rest */
};

struct workqueue_stats {
    unsigned workers; /* threads started */
    size_t submitted; /* jobs (indices) accepted */
    size_t run;       /* jobs that were run */
    size_t skipped;   /* jobs dropped by a cancel; run + skipped == submitted after destroy */
    int start_error;  /* why fewer workers than wanted started (-errno), or 0 */
};

/* Start the workers: workqueue_new then workqueue_start. Returns 0 when at
 * least one worker started: fewer than cfg->workers may have (see
 * workqueue_workers, workqueue_start_error). Returns -EINVAL for a bad
 * config, or the error that stopped the first worker (-EAGAIN, -ENOMEM, an
 * init's error); *out is then NULL. */
int workqueue_create(struct workqueue **out, const struct workqueue_config *cfg);

/* A queue with no workers yet: jobs can be submitted (and cancelled), and
 * nothing runs them until workqueue_start. 0; -EINVAL for a bad config
 * (*out is then NULL); -ENOMEM. The config is copied. */
int workqueue_new(struct workqueue **out, const struct workqueue_config *cfg);

/* Start the workers of a queue made by workqueue_new, once. Each one takes
 * jobs as soon as it runs, while the rest are still being created. 0 when
 * at least one worker started (fewer than wanted may have, as with
 * workqueue_create). Otherwise the error that stopped the first worker
 * (-EINVAL if already started): the queue is then cancelled, with every
 * job queued counted as skipped, and still needs workqueue_destroy. */
int workqueue_start(struct workqueue *wq);

/* Workers that started, and the error that stopped the rest (0 if none). */
unsigned workqueue_workers(const struct workqueue *wq);
int workqueue_start_error(const struct workqueue *wq);

/* Queue fn(state, arg, 0). 0; -ENOMEM; -ECANCELED after a cancel. */
int workqueue_submit(struct workqueue *wq, wq_job_fn fn, void *arg);

/* Queue fn(state, arg, i) for every i in [first, end), as one entry.
 * 0 (also for an empty range); -EINVAL if end < first; -ENOMEM; -ECANCELED. */
int workqueue_submit_range(struct workqueue *wq, wq_job_fn fn, void *arg, size_t first, size_t end);

/* Drop every job not started yet and refuse new ones. Running jobs finish.
 * Safe from any thread, a job included; not async-signal-safe. */
void workqueue_cancel(struct workqueue *wq);

/* True once workqueue_cancel was called. */
bool workqueue_cancelled(struct workqueue *wq);

/* Block until the queue is empty and no job runs. Must not be called from
 * a job, nor with jobs queued before workqueue_start. */
void workqueue_wait(struct workqueue *wq);

/* Stop: drain or cancel (a queue with no worker always cancels), join every
 * worker, run cleanup for each worker's state, free. stats (may be NULL) gets the final counters.
 * Must not be called from a job. NULL wq is a no-op. */
void workqueue_destroy(struct workqueue *wq, enum wq_shutdown how, struct workqueue_stats *stats);

#endif

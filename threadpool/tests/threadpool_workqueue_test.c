/* threadpool_workqueue_test.c — Check unit tests of threadpool/workqueue.h:
 * every job exactly once, empty queues, cancel, per-worker state, start
 * failures. Run under ThreadSanitizer by `make test-tsan`. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_getattr_np */
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "workqueue.h"
#include "check_run.h"

/* ---- every item exactly once -------------------------------------------- */

struct counters {
    atomic_uint *hits; /* one per item */
    size_t n;
};

static void count_job(void *state, void *arg, size_t index) {
    (void)state;
    struct counters *c = arg;
    ck_assert_uint_lt(index, c->n);
    atomic_fetch_add_explicit(&c->hits[index], 1, memory_order_relaxed);
}

static void counters_init(struct counters *c, size_t n) {
    c->n = n;
    c->hits = calloc(n ? n : 1, sizeof *c->hits);
    ck_assert_ptr_nonnull(c->hits);
}

static void assert_each_once(const struct counters *c, size_t first, size_t end) {
    for (size_t i = first; i < end; i++)
        ck_assert_msg(atomic_load(&c->hits[i]) == 1, "item %zu ran %u times", i,
                      atomic_load(&c->hits[i]));
}

START_TEST(test_each_item_once_many_workers) {
    enum { WORKERS = 64, ITEMS = 100000 };
    struct counters c;
    counters_init(&c, ITEMS);
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = WORKERS}), 0);
    ck_assert_uint_eq(workqueue_workers(wq), WORKERS);
    ck_assert_int_eq(workqueue_start_error(wq), 0);

    /* Half as one range, half as ranges of mixed sizes and single jobs. */
    ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, 0, ITEMS / 2), 0);
    for (size_t i = ITEMS / 2; i < ITEMS;) {
        size_t len = 1 + i % 7;
        if (i + len > ITEMS)
            len = ITEMS - i;
        ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, i, i + len), 0);
        i += len;
    }
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    assert_each_once(&c, 0, ITEMS);
    ck_assert_uint_eq(st.workers, WORKERS);
    ck_assert_uint_eq(st.submitted, ITEMS);
    ck_assert_uint_eq(st.run, ITEMS);
    ck_assert_uint_eq(st.skipped, 0);
    free(c.hits);
}
END_TEST

START_TEST(test_many_more_items_than_workers) {
    /* Single jobs, each its own entry: the ring grows and wraps while the
     * two workers consume it. */
    enum { WORKERS = 2, ITEMS = 50000 };
    struct counters c;
    counters_init(&c, ITEMS);
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = WORKERS}), 0);
    for (size_t i = 0; i < ITEMS; i++)
        ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, i, i + 1), 0);
    workqueue_wait(wq);
    assert_each_once(&c, 0, ITEMS);

    /* The queue is reusable after a wait. */
    struct counters c2;
    counters_init(&c2, 1000);
    ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c2, 0, 1000), 0);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    assert_each_once(&c2, 0, 1000);
    ck_assert_uint_eq(st.submitted, ITEMS + 1000);
    ck_assert_uint_eq(st.run, ITEMS + 1000);
    free(c.hits);
    free(c2.hits);
}
END_TEST

static atomic_int single_runs;

static void single_job(void *state, void *arg, size_t index) {
    (void)state;
    ck_assert_ptr_eq(arg, &single_runs);
    ck_assert_uint_eq(index, 0);
    atomic_fetch_add(&single_runs, 1);
}

START_TEST(test_single_jobs) {
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = 3}), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(workqueue_submit(wq, single_job, &single_runs), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    ck_assert_int_eq(atomic_load(&single_runs), 100);
}
END_TEST

/* ---- zero items, bad arguments -------------------------------------------- */

START_TEST(test_zero_items) {
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = 8}), 0);
    struct counters c;
    counters_init(&c, 0);
    ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, 5, 5), 0); /* empty range */
    ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, 5, 4), -EINVAL);
    ck_assert_int_eq(workqueue_submit_range(wq, NULL, &c, 0, 1), -EINVAL);
    workqueue_wait(wq); /* returns at once */
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.submitted, 0);
    ck_assert_uint_eq(st.run, 0);
    ck_assert_uint_eq(st.skipped, 0);
    free(c.hits);

    /* And a queue that never got any work, cancelled. */
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = 1}), 0);
    workqueue_destroy(wq, WQ_CANCEL, &st);
    ck_assert_uint_eq(st.run + st.skipped, 0);
    workqueue_destroy(NULL, WQ_DRAIN, NULL);
}
END_TEST

START_TEST(test_bad_config) {
    struct workqueue *wq = (struct workqueue *)&wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = 0}), -EINVAL);
    ck_assert_ptr_null(wq);
    ck_assert_int_eq(workqueue_create(&wq, NULL), -EINVAL);
}
END_TEST

/* ---- cancel with work left ------------------------------------------------ */

/* The first `blockers` jobs block until the gate opens, so a known number
 * of jobs is running when the test cancels. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned started, blockers;
    bool open;
    atomic_uint *hits;
    size_t n;
};

static void gate_job(void *state, void *arg, size_t index) {
    (void)state;
    struct gate *g = arg;
    atomic_fetch_add(&g->hits[index], 1);
    pthread_mutex_lock(&g->lock);
    if (g->started++ < g->blockers) {
        pthread_cond_broadcast(&g->cond);
        while (!g->open)
            pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
}

static void gate_init(struct gate *g, unsigned blockers, size_t n) {
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->started = 0;
    g->blockers = blockers;
    g->open = false;
    g->n = n;
    g->hits = calloc(n, sizeof *g->hits);
    ck_assert_ptr_nonnull(g->hits);
}

static void gate_wait_blocked(struct gate *g) {
    pthread_mutex_lock(&g->lock);
    while (g->started < g->blockers)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g) {
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static size_t gate_free(struct gate *g) {
    size_t ran = 0;
    for (size_t i = 0; i < g->n; i++) {
        unsigned h = atomic_load(&g->hits[i]);
        ck_assert_uint_le(h, 1);
        ran += h;
    }
    free(g->hits);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    return ran;
}

/* A queue of `workers` running `items` gate jobs, returned once every worker
 * is blocked inside one. */
static struct workqueue *gated_queue(struct gate *g, unsigned workers, size_t items) {
    gate_init(g, workers, items);
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = workers}), 0);
    ck_assert_int_eq(workqueue_submit_range(wq, gate_job, g, 0, items), 0);
    gate_wait_blocked(g);
    return wq;
}

START_TEST(test_cancel_with_work_left) {
    enum { WORKERS = 4, ITEMS = 1000 };
    struct gate g;
    struct workqueue *wq = gated_queue(&g, WORKERS, ITEMS);

    workqueue_cancel(wq);
    ck_assert(workqueue_cancelled(wq));
    ck_assert_int_eq(workqueue_submit(wq, gate_job, &g), -ECANCELED);
    gate_open(&g);

    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.submitted, ITEMS);
    ck_assert_uint_eq(st.run, WORKERS);
    ck_assert_uint_eq(st.skipped, ITEMS - WORKERS);
    ck_assert_uint_eq(st.run + st.skipped, st.submitted);
    ck_assert_uint_eq(gate_free(&g), WORKERS); /* the skipped items never ran */
}
END_TEST

static void *open_later(void *p) {
    struct workqueue *wq = ((void **)p)[0];
    struct gate *g = ((void **)p)[1];
    /* Open the gate only once destroy has cancelled the queue. */
    while (!workqueue_cancelled(wq))
        sched_yield();
    gate_open(g);
    return NULL;
}

START_TEST(test_destroy_cancel) {
    enum { WORKERS = 8, ITEMS = 10000 };
    struct gate g;
    struct workqueue *wq = gated_queue(&g, WORKERS, ITEMS);

    pthread_t opener;
    void *args[] = {wq, &g};
    ck_assert_int_eq(pthread_create(&opener, NULL, open_later, args), 0);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_CANCEL, &st); /* joins the workers: the gate opens meanwhile */
    pthread_join(opener, NULL);

    ck_assert_uint_eq(st.run, WORKERS);
    ck_assert_uint_eq(st.run + st.skipped, st.submitted);
    ck_assert_uint_eq(st.submitted, ITEMS);
    ck_assert_uint_eq(gate_free(&g), WORKERS);
}
END_TEST

/* A job cancels the queue, as flags_threadpool does after SIGINT. */
struct self_cancel {
    struct workqueue *wq;
    atomic_uint runs;
};

static void self_cancel_job(void *state, void *arg, size_t index) {
    (void)state;
    struct self_cancel *sc = arg;
    atomic_fetch_add(&sc->runs, 1);
    if (index == 10)
        workqueue_cancel(sc->wq);
}

START_TEST(test_cancel_from_job) {
    struct self_cancel sc = {0};
    ck_assert_int_eq(workqueue_create(&sc.wq, &(struct workqueue_config){.workers = 1}), 0);
    ck_assert_int_eq(workqueue_submit_range(sc.wq, self_cancel_job, &sc, 0, 500), 0);
    struct workqueue_stats st;
    workqueue_destroy(sc.wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(atomic_load(&sc.runs), 11); /* 0..10, one worker: FIFO */
    ck_assert_uint_eq(st.run, 11);
    ck_assert_uint_eq(st.skipped, 489);
}
END_TEST

/* ---- per-worker state ----------------------------------------------------- */

enum { STATE_WORKERS = 16 };

struct state_ctx {
    atomic_uint init_calls[STATE_WORKERS];
    atomic_uint cleanup_calls[STATE_WORKERS];
    atomic_size_t jobs_total;
    int fail_at; /* init of this worker fails; -1 = none */
};

struct wstate {
    unsigned worker;
    pthread_t owner; /* the thread that ran the first job */
    bool has_owner;
    size_t jobs; /* plain: only its worker touches it (TSan checks) */
};

static int state_init(void *ctx, unsigned worker, void **state) {
    struct state_ctx *sc = ctx;
    ck_assert_uint_lt(worker, STATE_WORKERS);
    atomic_fetch_add(&sc->init_calls[worker], 1);
    if ((int)worker == sc->fail_at)
        return -ENOMEM;
    struct wstate *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->worker = worker;
    *state = w;
    return 0;
}

static void state_cleanup(void *ctx, unsigned worker, void *state) {
    struct state_ctx *sc = ctx;
    struct wstate *w = state;
    ck_assert_uint_eq(w->worker, worker);
    atomic_fetch_add(&sc->cleanup_calls[worker], 1);
    atomic_fetch_add(&sc->jobs_total, w->jobs);
    free(w);
}

static void state_job(void *state, void *arg, size_t index) {
    (void)arg;
    (void)index;
    struct wstate *w = state;
    ck_assert_ptr_nonnull(w);
    if (!w->has_owner) {
        w->owner = pthread_self();
        w->has_owner = true;
    }
    ck_assert(pthread_equal(w->owner, pthread_self())); /* a state stays with its thread */
    w->jobs++;
}

START_TEST(test_worker_state_once_per_worker) {
    static struct state_ctx sc; /* zeroed */
    sc.fail_at = -1;
    struct workqueue *wq;
    const struct workqueue_config cfg = {
        .workers = STATE_WORKERS, .init = state_init, .cleanup = state_cleanup, .ctx = &sc};
    ck_assert_int_eq(workqueue_create(&wq, &cfg), 0);
    ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 20000), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    for (int i = 0; i < STATE_WORKERS; i++) {
        ck_assert_uint_eq(atomic_load(&sc.init_calls[i]), 1);
        ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[i]), 1);
    }
    ck_assert_uint_eq(atomic_load(&sc.jobs_total), 20000);
}
END_TEST

START_TEST(test_init_failure_runs_with_fewer) {
    static struct state_ctx sc;
    sc.fail_at = 5;
    struct workqueue *wq;
    const struct workqueue_config cfg = {
        .workers = 10, .init = state_init, .cleanup = state_cleanup, .ctx = &sc};
    ck_assert_int_eq(workqueue_create(&wq, &cfg), 0);
    ck_assert_uint_eq(workqueue_workers(wq), 5);
    ck_assert_int_eq(workqueue_start_error(wq), -ENOMEM);
    ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 1000), 0);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.workers, 5);
    ck_assert_uint_eq(st.run, 1000);
    ck_assert_uint_eq(atomic_load(&sc.jobs_total), 1000);
    for (int i = 0; i < STATE_WORKERS; i++) {
        ck_assert_uint_eq(atomic_load(&sc.init_calls[i]), i <= 5 ? 1 : 0);
        ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[i]), i < 5 ? 1 : 0);
    }
}
END_TEST

START_TEST(test_init_failure_first_worker) {
    static struct state_ctx sc;
    sc.fail_at = 0;
    struct workqueue *wq;
    const struct workqueue_config cfg = {
        .workers = 4, .init = state_init, .cleanup = state_cleanup, .ctx = &sc};
    ck_assert_int_eq(workqueue_create(&wq, &cfg), -ENOMEM);
    ck_assert_ptr_null(wq);
    ck_assert_uint_eq(atomic_load(&sc.init_calls[0]), 1);
    ck_assert_uint_eq(atomic_load(&sc.init_calls[1]), 0);
    ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[0]), 0);
}
END_TEST

/* ---- jobs queued before the workers exist (workqueue_new, _start) ----------- */

START_TEST(test_submit_before_start) {
    static struct state_ctx sc;
    sc.fail_at = -1;
    struct workqueue *wq;
    const struct workqueue_config cfg = {
        .workers = STATE_WORKERS, .init = state_init, .cleanup = state_cleanup, .ctx = &sc};
    ck_assert_int_eq(workqueue_new(&wq, &cfg), 0);
    ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 20000), 0);
    ck_assert_uint_eq(atomic_load(&sc.init_calls[0]), 0); /* nothing started yet */
    ck_assert_int_eq(workqueue_start(wq), 0);
    ck_assert_int_eq(workqueue_start(wq), -EINVAL); /* once */
    ck_assert_uint_eq(workqueue_workers(wq), STATE_WORKERS);
    ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 5000), 0);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.submitted, 25000);
    ck_assert_uint_eq(st.run, 25000);
    ck_assert_uint_eq(st.skipped, 0);
    ck_assert_uint_eq(atomic_load(&sc.jobs_total), 25000);
    for (int i = 0; i < STATE_WORKERS; i++)
        ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[i]), 1);
}
END_TEST

START_TEST(test_start_failure_skips_queued) {
    /* No worker starts: what was queued is counted as skipped, and the queue
     * refuses more until it is destroyed. */
    static struct state_ctx sc;
    sc.fail_at = 0;
    struct workqueue *wq;
    const struct workqueue_config cfg = {
        .workers = 4, .init = state_init, .cleanup = state_cleanup, .ctx = &sc};
    ck_assert_int_eq(workqueue_new(&wq, &cfg), 0);
    ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 100), 0);
    ck_assert_int_eq(workqueue_start(wq), -ENOMEM);
    ck_assert_uint_eq(workqueue_workers(wq), 0);
    ck_assert(workqueue_cancelled(wq));
    ck_assert_int_eq(workqueue_submit(wq, state_job, NULL), -ECANCELED);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.run, 0);
    ck_assert_uint_eq(st.skipped, 100);
    ck_assert_int_eq(st.start_error, -ENOMEM);
    ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[0]), 0);
}
END_TEST

START_TEST(test_destroy_never_started) {
    /* Destroyed before start: nothing could run the jobs, so even a drain
     * drops them, and says so in the counters. */
    static struct counters c;
    counters_init(&c, 10);
    struct workqueue *wq;
    ck_assert_int_eq(workqueue_new(&wq, &(struct workqueue_config){.workers = 2}), 0);
    ck_assert_int_eq(workqueue_submit_range(wq, count_job, &c, 0, 10), 0);
    struct workqueue_stats st;
    workqueue_destroy(wq, WQ_DRAIN, &st);
    ck_assert_uint_eq(st.workers, 0);
    ck_assert_uint_eq(st.run, 0);
    ck_assert_uint_eq(st.skipped, 10);
    ck_assert_int_eq(workqueue_new(&wq, &(struct workqueue_config){.workers = 0}), -EINVAL);
    ck_assert_ptr_null(wq);
    free(c.hits);
}
END_TEST

/* ---- threads: stack size, failures, signals ---------------------------------- */

START_TEST(test_thread_start_failure) {
    /* A 64 TiB stack: pthread_create fails (EAGAIN) for the first worker, or,
     * with overcommit, for a later one. Either way no crash, and a clear
     * count of what started. */
    static struct state_ctx sc;
    sc.fail_at = -1;
    struct workqueue *wq;
    const struct workqueue_config cfg = {.workers = 4,
                                         .stack_size = (size_t)1 << 46,
                                         .init = state_init,
                                         .cleanup = state_cleanup,
                                         .ctx = &sc};
    int err = workqueue_create(&wq, &cfg);
    if (err < 0) {
        ck_assert_ptr_null(wq);
        ck_assert_int_eq(err, -EAGAIN);
        /* the state made for the worker that failed to start was freed */
        ck_assert_uint_eq(atomic_load(&sc.init_calls[0]), 1);
        ck_assert_uint_eq(atomic_load(&sc.cleanup_calls[0]), 1);
    } else {
        ck_assert_uint_lt(workqueue_workers(wq), 4);
        ck_assert_int_lt(workqueue_start_error(wq), 0);
        ck_assert_int_eq(workqueue_submit_range(wq, state_job, NULL, 0, 100), 0);
        workqueue_destroy(wq, WQ_DRAIN, NULL);
        ck_assert_uint_eq(atomic_load(&sc.jobs_total), 100);
    }
}
END_TEST

static void stack_job(void *state, void *arg, size_t index) {
    (void)state;
    (void)index;
    pthread_attr_t attr;
    size_t size = 0;
    ck_assert_int_eq(pthread_getattr_np(pthread_self(), &attr), 0);
    ck_assert_int_eq(pthread_attr_getstacksize(&attr, &size), 0);
    pthread_attr_destroy(&attr);
    *(size_t *)arg = size;
}

START_TEST(test_stack_size) {
    size_t got = 0;
    struct workqueue *wq;
    /* 100000 is not a whole number of pages: it is rounded up. */
    ck_assert_int_eq(
        workqueue_create(&wq, &(struct workqueue_config){.workers = 1, .stack_size = 100000}), 0);
    ck_assert_int_eq(workqueue_submit(wq, stack_job, &got), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    ck_assert_uint_ge(got, 100000);
    /* Not the 8 MiB default. (Sanitizer runtimes raise small stacks to their
     * TLS size + 128 KiB, so no tighter bound.) */
    ck_assert_uint_lt(got, 2 << 20);

    /* Below the minimum: raised to it rather than failing. */
    ck_assert_int_eq(
        workqueue_create(&wq, &(struct workqueue_config){.workers = 1, .stack_size = 1}), 0);
    ck_assert_int_eq(workqueue_submit(wq, stack_job, &got), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    ck_assert_uint_ge(got, PTHREAD_STACK_MIN);
}
END_TEST

static void sigmask_job(void *state, void *arg, size_t index) {
    (void)state;
    (void)index;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    *(int *)arg = sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM);
}

START_TEST(test_block_signals) {
    int blocked = -1;
    struct workqueue *wq;
    ck_assert_int_eq(
        workqueue_create(&wq, &(struct workqueue_config){.workers = 2, .block_signals = true}), 0);
    ck_assert_int_eq(workqueue_submit(wq, sigmask_job, &blocked), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    ck_assert_int_eq(blocked, 1);

    sigset_t cur; /* the creator's own mask is back as it was */
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert(!sigismember(&cur, SIGINT));

    ck_assert_int_eq(workqueue_create(&wq, &(struct workqueue_config){.workers = 1}), 0);
    ck_assert_int_eq(workqueue_submit(wq, sigmask_job, &blocked), 0);
    workqueue_destroy(wq, WQ_DRAIN, NULL);
    ck_assert_int_eq(blocked, 0);
}
END_TEST

int main(void) {
    /* 120 s: ThreadSanitizer is slow with 64 threads. */
    const TTest *const tests[] = {test_each_item_once_many_workers,
                                  test_many_more_items_than_workers,
                                  test_single_jobs,
                                  test_zero_items,
                                  test_bad_config,
                                  test_cancel_with_work_left,
                                  test_destroy_cancel,
                                  test_cancel_from_job,
                                  test_worker_state_once_per_worker,
                                  test_init_failure_runs_with_fewer,
                                  test_init_failure_first_worker,
                                  test_submit_before_start,
                                  test_start_failure_skips_queued,
                                  test_destroy_never_started,
                                  test_thread_start_failure,
                                  test_stack_size,
                                  test_block_signals};
    return check_run_case("workqueue", check_case("core", 120, tests, CHECK_COUNT(tests)));
}

/* workqueue.c — see workqueue.h.
 *
 * One mutex guards everything; two condition variables: `work` wakes idle
 * workers (a job was queued, or shutdown), `idle` wakes workqueue_wait (the
 * queue is empty and no job runs). The queue is a ring of entries; an entry
 * is a range of indices, and a single job is a range of one, so submitting
 * n indices costs one entry however large n is. */
#include "workqueue.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

struct wq_entry {
    wq_job_fn fn;
    void *arg;
    size_t next, end; /* indices not started yet: [next, end) */
};

struct wq_worker {
    struct workqueue *wq;
    pthread_t thread;
    void *state;
};

struct workqueue {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or closing */
    pthread_cond_t idle; /* count == 0 && active == 0 */

    struct wq_entry *ring; /* capacity cap (a power of two), count entries from head */
    size_t cap, head, count;

    unsigned active;   /* jobs running */
    unsigned sleeping; /* workers waiting on `work` */
    bool closing;      /* destroy: workers exit once the queue is empty */
    bool cancelled;

    size_t submitted, run, skipped;

    struct workqueue_config cfg; /* kept for workqueue_start */
    bool started;
    struct wq_worker *workers;
    unsigned nworkers;
    int start_error;
    wq_cleanup_fn cleanup;
    void *ctx;
};

/* Drop every queued entry. Caller holds the lock. */
static void cancel_locked(struct workqueue *wq) {
    for (size_t k = 0; k < wq->count; k++) {
        const struct wq_entry *e = &wq->ring[(wq->head + k) & (wq->cap - 1)];
        wq->skipped += e->end - e->next;
    }
    wq->head = 0;
    wq->count = 0;
    wq->cancelled = true;
    if (wq->active == 0)
        pthread_cond_broadcast(&wq->idle);
}

static void *worker_main(void *p) {
    struct wq_worker *w = p;
    struct workqueue *wq = w->wq;

    pthread_mutex_lock(&wq->lock);
    for (;;) {
        while (wq->count == 0 && !wq->closing) {
            wq->sleeping++;
            pthread_cond_wait(&wq->work, &wq->lock);
            wq->sleeping--;
        }
        if (wq->count == 0)
            break; /* closing, and nothing left */

        struct wq_entry *e = &wq->ring[wq->head];
        wq_job_fn fn = e->fn;
        void *arg = e->arg;
        size_t index = e->next++;
        if (e->next == e->end) {
            wq->head = (wq->head + 1) & (wq->cap - 1);
            wq->count--;
        }
        wq->active++;
        pthread_mutex_unlock(&wq->lock);

        fn(w->state, arg, index);

        pthread_mutex_lock(&wq->lock);
        wq->active--;
        wq->run++;
        if (wq->active == 0 && wq->count == 0)
            pthread_cond_broadcast(&wq->idle);
    }
    pthread_mutex_unlock(&wq->lock);
    return NULL;
}

/* Room for one more entry. Caller holds the lock. 0 or -ENOMEM. */
static int grow_locked(struct workqueue *wq) {
    if (wq->count < wq->cap)
        return 0;
    size_t ncap = wq->cap ? wq->cap * 2 : 16;
    if (ncap < wq->cap || ncap > SIZE_MAX / sizeof *wq->ring)
        return -ENOMEM;
    struct wq_entry *ring = malloc(ncap * sizeof *ring);
    if (!ring)
        return -ENOMEM;
    /* Unwrap the ring so head is 0 again. */
    for (size_t k = 0; k < wq->count; k++)
        ring[k] = wq->ring[(wq->head + k) & (wq->cap - 1)];
    free(wq->ring);
    wq->ring = ring;
    wq->cap = ncap;
    wq->head = 0;
    return 0;
}

int workqueue_submit_range(struct workqueue *wq, wq_job_fn fn, void *arg, size_t first,
                           size_t end) {
    if (!wq || !fn || end < first)
        return -EINVAL;
    if (end == first)
        return 0;

    int err = 0;
    pthread_mutex_lock(&wq->lock);
    if (wq->cancelled) {
        err = -ECANCELED;
        goto out;
    }
    err = grow_locked(wq);
    if (err)
        goto out;
    wq->ring[(wq->head + wq->count) & (wq->cap - 1)] =
        (struct wq_entry){.fn = fn, .arg = arg, .next = first, .end = end};
    wq->count++;
    wq->submitted += end - first;
    if (wq->sleeping > 0) {
        if (end - first == 1)
            pthread_cond_signal(&wq->work);
        else
            pthread_cond_broadcast(&wq->work);
    }
out:
    pthread_mutex_unlock(&wq->lock);
    return err;
}

int workqueue_submit(struct workqueue *wq, wq_job_fn fn, void *arg) {
    return workqueue_submit_range(wq, fn, arg, 0, 1);
}

void workqueue_cancel(struct workqueue *wq) {
    pthread_mutex_lock(&wq->lock);
    cancel_locked(wq);
    pthread_mutex_unlock(&wq->lock);
}

bool workqueue_cancelled(struct workqueue *wq) {
    pthread_mutex_lock(&wq->lock);
    bool c = wq->cancelled;
    pthread_mutex_unlock(&wq->lock);
    return c;
}

void workqueue_wait(struct workqueue *wq) {
    pthread_mutex_lock(&wq->lock);
    while (wq->count > 0 || wq->active > 0)
        pthread_cond_wait(&wq->idle, &wq->lock);
    pthread_mutex_unlock(&wq->lock);
}

unsigned workqueue_workers(const struct workqueue *wq) {
    return wq->nworkers; /* set by workqueue_start before it returns, never changed */
}

int workqueue_start_error(const struct workqueue *wq) {
    return wq->start_error;
}

/* The final counters: read once every worker is joined, so without the lock. */
static void stats_final(const struct workqueue *wq, struct workqueue_stats *st) {
    *st = (struct workqueue_stats){
        .workers = wq->nworkers,
        .submitted = wq->submitted,
        .run = wq->run,
        .skipped = wq->skipped,
        .start_error = wq->start_error,
    };
}

/* Clean up the states of the workers (joined already), free everything. */
static void teardown(struct workqueue *wq) {
    if (wq->cleanup)
        for (unsigned i = 0; i < wq->nworkers; i++)
            wq->cleanup(wq->ctx, i, wq->workers[i].state);
    pthread_cond_destroy(&wq->idle);
    pthread_cond_destroy(&wq->work);
    pthread_mutex_destroy(&wq->lock);
    free(wq->workers);
    free(wq->ring);
    free(wq);
}

void workqueue_destroy(struct workqueue *wq, enum wq_shutdown how, struct workqueue_stats *stats) {
    if (!wq)
        return;
    pthread_mutex_lock(&wq->lock);
    if (how == WQ_CANCEL || wq->nworkers == 0) /* no worker: nothing would run them */
        cancel_locked(wq);
    wq->closing = true;
    pthread_cond_broadcast(&wq->work);
    pthread_mutex_unlock(&wq->lock);

    for (unsigned i = 0; i < wq->nworkers; i++)
        pthread_join(wq->workers[i].thread, NULL);
    if (stats)
        stats_final(wq, stats);
    teardown(wq);
}

/* The stack size to ask for: at least the system's minimum, whole pages. */
static size_t stack_bytes(size_t want) {
    long min = sysconf(_SC_THREAD_STACK_MIN);
    long page = sysconf(_SC_PAGESIZE);
    if (min < PTHREAD_STACK_MIN)
        min = PTHREAD_STACK_MIN;
    if (page <= 0)
        page = 4096;
    if (want < (size_t)min)
        want = (size_t)min;
    if (want > SIZE_MAX - (size_t)page)
        return want;
    return (want + (size_t)page - 1) / (size_t)page * (size_t)page;
}

int workqueue_new(struct workqueue **out, const struct workqueue_config *cfg) {
    *out = NULL;
    if (!cfg || cfg->workers == 0)
        return -EINVAL;

    struct workqueue *wq = calloc(1, sizeof *wq);
    if (!wq)
        return -ENOMEM;
    wq->workers = calloc(cfg->workers, sizeof *wq->workers);
    if (!wq->workers) {
        free(wq);
        return -ENOMEM;
    }
    wq->cfg = *cfg;
    wq->cleanup = cfg->cleanup;
    wq->ctx = cfg->ctx;
    pthread_mutex_init(&wq->lock, NULL);
    pthread_cond_init(&wq->work, NULL);
    pthread_cond_init(&wq->idle, NULL);
    *out = wq;
    return 0;
}

int workqueue_start(struct workqueue *wq) {
    const struct workqueue_config *cfg = &wq->cfg;
    if (wq->started)
        return -EINVAL;
    wq->started = true;

    pthread_attr_t attr;
    int err = -pthread_attr_init(&attr);
    if (err)
        goto fail;
    if (cfg->stack_size) {
        err = -pthread_attr_setstacksize(&attr, stack_bytes(cfg->stack_size));
        if (err) {
            pthread_attr_destroy(&attr);
            goto fail;
        }
    }

    /* New threads inherit the creator's signal mask: block while creating. */
    sigset_t block, saved;
    sigemptyset(&block);
    if (cfg->block_signals) {
        static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                   SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2};
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
            sigaddset(&block, sigs[k]);
    }
    pthread_sigmask(SIG_BLOCK, &block, &saved);

    /* Each worker takes jobs as soon as it runs, while the next is created:
     * with jobs queued before this call the first one starts after one
     * thread's creation, not after all of them. */
    for (unsigned i = 0; i < cfg->workers; i++) {
        struct wq_worker *w = &wq->workers[i];
        w->wq = wq;
        if (cfg->init) {
            int e = cfg->init(cfg->ctx, i, &w->state);
            if (e) {
                wq->start_error = e < 0 ? e : -e;
                break;
            }
        }
        int e = pthread_create(&w->thread, &attr, worker_main, w);
        if (e) {
            if (cfg->cleanup)
                cfg->cleanup(cfg->ctx, i, w->state);
            w->state = NULL;
            wq->start_error = -e;
            break;
        }
        wq->nworkers++; /* workers never read it: no lock */
    }

    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    pthread_attr_destroy(&attr);
    if (wq->nworkers > 0)
        return 0;
    err = wq->start_error ? wq->start_error : -EAGAIN;
fail:
    /* No worker will ever run what was queued: drop it, refuse more. */
    if (!wq->start_error)
        wq->start_error = err;
    workqueue_cancel(wq);
    return err;
}

int workqueue_create(struct workqueue **out, const struct workqueue_config *cfg) {
    int err = workqueue_new(out, cfg);
    if (err)
        return err;
    err = workqueue_start(*out);
    if (err) {
        teardown(*out); /* no worker runs */
        *out = NULL;
    }
    return err;
}

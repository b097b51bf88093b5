/* flags_loops — one event loop per core: the shape of nginx's workers and
 * of Tokio's and Seastar's runtimes, for when each flag costs CPU (--work)
 * and one loop on one core can no longer keep up.
 *
 * -j N loops (default: the CPUs this process may run on), each a thread
 * with its own io_uring loop (uring_async/loop.c) and its own libcurl multi
 * handle, driven by common/multi.c exactly as flags_uring drives its one.
 * The loops share one thing: the counter of the next record to start
 * (multi_init_shared), so a loop whose flags finish early takes the next
 * flag rather than idle while another has a backlog. -m is split across
 * the loops (the first m % N get one more), and each saves its flags in its
 * own thread, where it also does their --work. The main thread runs loop 0:
 * N loops are N threads, and -j 1 is flags_uring with its saves in the loop. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "flagbench.h"
#include "loop.h"
#include "loop_multi.h"
#include "multi.h"

struct loop_thread {
    struct run *run;
    atomic_size_t *next; /* the record counter every loop shares */
    unsigned njobs;      /* this loop's share of -m */
    pthread_t tid;
    bool started;
    int rc; /* 0, or the -errno that ended the loop */
};

/* One loop, start to end, on the calling thread: the ring is made here
 * because it serves only the thread that made it (SINGLE_ISSUER). */
static void *loop_main(void *arg) {
    struct loop_thread *lt = arg;
    struct multi_driver m;
    struct loop *loop = NULL;
    int rc = multi_init_shared(&m, lt->run, lt->njobs, lt->next);
    if (rc < 0)
        goto out;
    /* Sockets: one per transfer, plus a few closing or being replaced. */
    rc = loop_new(&loop, m.njobs + m.njobs / 4 + 16, 0);
    if (rc < 0)
        goto out;
    struct multi_reactor reactor;
    rc = loop_multi_attach(loop, &m, &reactor);
    if (rc < 0)
        goto out;
    rc = multi_run(&m, &reactor, NULL); /* NULL: the blocking save, in this loop */
out:
    /* Before the ring: libcurl tells the loop of every socket it closes. */
    multi_cleanup(&m);
    loop_free(loop);
    lt->rc = rc;
    return NULL;
}

static int download_many(struct run *run) {
    unsigned n = run->opt->jobs ? run->opt->jobs : run_default_jobs();
    /* Before any thread: -m capped to the open-file limit, each loop's
     * own descriptors kept aside. */
    multi_fit_fd_limit(run, n);
    if (n > run->max_req)
        n = run->max_req; /* every loop keeps at least one request in flight */
    struct loop_thread *lts = calloc(n, sizeof *lts);
    if (!lts)
        return -ENOMEM;
    atomic_size_t next = 0;
    for (unsigned i = 0; i < n; i++)
        lts[i] = (struct loop_thread){
            .run = run,
            .next = &next,
            .njobs = run->max_req / n + (i < run->max_req % n),
        };
    /* Should a thread fail to start, the loops running take its flags. */
    unsigned running = 1;
    for (unsigned i = 1; i < n; i++) {
        lts[i].started = pthread_create(&lts[i].tid, NULL, loop_main, &lts[i]) == 0;
        running += lts[i].started;
    }
    run->threads_peak = running;
    run->loops = running;
    loop_main(&lts[0]);
    for (unsigned i = 1; i < n; i++)
        if (lts[i].started)
            pthread_join(lts[i].tid, NULL);
    int rc = 0;
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = lts[i].rc;
    free(lts);
    return rc;
}

static const struct backend loops_backend = {
    .name = "loops",
    .download_many = download_many,
    .default_max_req = 30, /* the -m default, split across the loops */
    .max_max_req = 0,      /* no upper bound */
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &loops_backend);
}

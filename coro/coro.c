/* flags_coro — one thread, a coroutine per flag: the shape of the book's
 * flags_asyncio.py in C. download_one reads top to bottom like the
 * sequential code, and waits where the Python has `await`; a semaphore
 * bounds the requests in flight (-m) as asyncio.Semaphore does.
 *
 * The loop under the coroutines is flags_epoll's: common/multi.c's driver
 * on the epoll reactor, with this file as the driver's client. A coroutine
 * begins its request on one of the driver's transfers (multi_start) and
 * sleeps; when libcurl has the flag classified the driver calls
 * on_fetched(), which resumes the coroutine there and then: it saves and
 * records the flag with the common blocking save, in the loop thread, as
 * flags_epoll does, and ends. The switch and the stacks are coroutine.c's.
 *
 * FLAGBENCH_CORO_STACK=BYTES sets the coroutines' stack size (default
 * coroutine.c's); FLAGBENCH_CORO_STACK_STATS=1 paints the stacks and prints
 * the deepest any coroutine went to stderr at the end (it touches every
 * stack page: not for runs whose memory is measured). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine.h"
#include "epoll_multi.h"
#include "flagbench.h"
#include "parse_num.h"

/* What every coroutine shares, as the book's supervisor passes its client
 * and semaphore to each download_one. One run per process. */
static struct multi_driver driver;
static struct coro_sem semaphore;
static struct coro_sched *sched;
static size_t next_flag; /* the next flag to make a coroutine for */
static int spawn_err;    /* a coroutine could not be made: the run stops */

/* A coroutine asleep in fetch(): what on_fetched() hands it. */
struct fetch_wait {
    struct coro *coro;
    size_t i;           /* the flag */
    int rc;             /* multi_start's */
    struct transfer *t; /* classified, from on_fetched */
};

/* Everything that calls into libcurl or deep into libc runs on the loop's
 * stack (coro_call_on_loop), never a coroutine's: a coroutine's stack then
 * holds only the frames below, under a page, and its size owes nothing to
 * libcurl's call depth. */
static void start(void *arg) {
    struct fetch_wait *w = arg;
    w->rc = multi_start(&driver, w->i, w);
}

/* save_flag(): the common blocking save, which records the flag too. */
static void save(void *arg) {
    transfer_save(arg);
}

/* A flag not to save (404, error, abandoned at SIGINT): counted, its body
 * buffer given back. */
static void record(void *arg) {
    transfer_finish(arg);
}

/* await get_flag(): begin the request on a free transfer of the driver's and
 * sleep until the loop has the flag classified. The transfer is ours until
 * we next wait. NULL when there is nothing to record: the request could not
 * start (the driver recorded the error) or SIGINT cancelled it. */
static struct transfer *fetch(size_t i) {
    struct fetch_wait w = {.coro = coro_self(), .i = i};
    /* -EAGAIN: this turn's first requests are out (a batch per turn);
     * -EBUSY: no transfer free (the semaphore should see to that): the next
     * turn, then. Rare: the supervisor makes no more coroutines a turn than
     * may start. */
    for (coro_call_on_loop(start, &w); w.rc == -EAGAIN || w.rc == -EBUSY;
         coro_call_on_loop(start, &w))
        if (coro_yield() < 0)
            return NULL;
    if (w.rc < 0 || coro_suspend() < 0)
        return NULL;
    return w.t;
}

/* One flag, as the book's download_one. */
static void download_one(void *arg) {
    size_t i = (size_t)(uintptr_t)arg;
    if (coro_sem_acquire(&semaphore) < 0) /* async with semaphore: */
        return;
    struct transfer *t = fetch(i); /*     image = await get_flag(...) */
    coro_sem_release(&semaphore);
    if (!t)
        return;
    if (t->rec->stage == STAGE_SAVING) /* downloaded */
        coro_call_on_loop(save, t); /* await asyncio.to_thread(save_flag, ...) */
    else
        coro_call_on_loop(record, t); /* the 404 or the error, counted */
}

/* The driver's client, and the book's supervisor: a coroutine per flag,
 * made as the driver can start their requests — a batch a turn while its
 * first requests go out (multi_starts_left) — and then as many as twice -m
 * alive at once, the second half waiting on the semaphore as the book's
 * do. The book makes every coroutine object at once, but those have no
 * stacks: 10,000 made at once held the first request back by the 60-80 ms
 * their stacks take (a page fault and an mprotect each), and a run of
 * 100,000 flags would need 200,000 maps (a stack and its guard page), past
 * vm.max_map_count. Then each turn runs the coroutines that are ready; a
 * classified flag resumes its coroutine at once (on_fetched). */
static enum multi_client_state on_turn(void *arg) {
    struct run *run = arg;
    size_t most = 2 * (size_t)driver.njobs;
    for (unsigned n = multi_starts_left(&driver);
         n && next_flag < run->nrecords && coro_alive(sched) < most && !spawn_err; n--)
        spawn_err = coro_spawn(sched, download_one, (void *)(uintptr_t)next_flag++);
    bool more_to_make = next_flag < run->nrecords && coro_alive(sched) < most && !spawn_err;
    if (coro_run_ready(sched) || more_to_make)
        return MULTI_CLIENT_READY;
    return coro_alive(sched) ? MULTI_CLIENT_IDLE : MULTI_CLIENT_FINISHED;
}

static void on_fetched(void *arg, struct transfer *t, void *owner) {
    struct fetch_wait *w = owner;
    (void)arg;
    w->t = t;
    coro_resume(w->coro);
}

/* FLAGBENCH_CORO_STACK, or 0 (the default). -EINVAL, said, when unusable. */
static long long stack_size_wanted(void) {
    const char *v = getenv("FLAGBENCH_CORO_STACK");
    unsigned long long n = 0;
    if (v && *v && (parse_uint(v, 1ULL << 30, &n) != 0 || n < 4096)) {
        fprintf(stderr, "flags_coro: FLAGBENCH_CORO_STACK=%s: expected bytes, 4096 to 1 GiB\n", v);
        return -EINVAL;
    }
    return (long long)n;
}

static bool env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* The loop, with on_turn making the coroutines; the semaphore lets -m of
 * them fetch at a time. */
static int download_many(struct run *run) {
    struct epoll_loop *loop = NULL;
    bool stats = env_on("FLAGBENCH_CORO_STACK_STATS");
    long long stack = stack_size_wanted();
    int rc = stack < 0 ? (int)stack : multi_init(&driver, run);
    if (rc < 0 || run->nrecords == 0)
        goto out;
    struct multi_reactor reactor;
    rc = coro_sched_new(&sched, (size_t)stack, stats);
    if (rc == 0)
        rc = epoll_multi_new(&loop, &reactor, &driver);
    if (rc < 0)
        goto out;
    coro_sem_init(&semaphore, driver.njobs);
    const struct multi_client client = {.turn = on_turn, .done = on_fetched, .arg = run};
    driver.client = &client;
    rc = multi_run(&driver, &reactor, NULL);
    if (rc == 0 && spawn_err)
        rc = spawn_err;
    /* SIGINT, or a failure: the coroutines still waiting unwind. */
    coro_cancel_all(sched);
    while (coro_alive(sched))
        coro_run_ready(sched);
    if (stats)
        fprintf(stderr, "coroutine stacks: the deepest touched %zu of %zu bytes\n",
                coro_stack_peak(sched), coro_stack_size(sched));
out:
    /* Before the loop: libcurl tells it of every socket it closes. */
    multi_cleanup(&driver);
    epoll_loop_free(loop);
    if (sched)
        coro_sched_free(sched);
    return rc;
}

static const struct backend coro_backend = {
    .name = "coro", .download_many = download_many, .default_max_req = 30, /* the -m default */
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &coro_backend);
}

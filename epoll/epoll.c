/* flags_epoll — one thread, one epoll set, one libcurl multi handle: the
 * classic reactor, for telling what the event loop buys from what io_uring
 * adds. The transfers are common/multi.c's, as for flags_uring; the loop is
 * epoll_loop.c's; a downloaded flag is saved with the common blocking save
 * (save_atomic) in the loop thread, before its transfer takes the next, so
 * every other transfer waits for it: the cost the report sets beside
 * flags_uring's asynchronous saves.
 *
 * FLAGBENCH_EPOLL_STATS=1 prints the loop's counters to stderr at the end. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoll_multi.h"
#include "flagbench.h"

static void print_stats(const struct epoll_loop *l, size_t nrecords) {
    const struct epoll_loop_stats *s = epoll_loop_get_stats(l);
    double n = nrecords ? (double)nrecords : 1;
    fprintf(stderr,
            "epoll loop: %llu waits (%.3f per request), %llu events, %llu stale, %llu epoll_ctl "
            "(%.2f per request), %llu timer sets, %llu timer expiries, %u sockets at most\n",
            (unsigned long long)s->waits, (double)s->waits / n, (unsigned long long)s->events,
            (unsigned long long)s->stale, (unsigned long long)s->ctls, (double)s->ctls / n,
            (unsigned long long)s->timer_sets, (unsigned long long)s->timeouts, s->sockets_peak);
}

static int download_many(struct run *run) {
    struct multi_driver m;
    struct epoll_loop *loop = NULL;
    int rc = multi_init(&m, run);
    if (rc < 0 || run->nrecords == 0)
        goto out;
    struct multi_reactor reactor;
    rc = epoll_multi_new(&loop, &reactor, &m);
    if (rc < 0)
        goto out;
    rc = multi_run(&m, &reactor, NULL); /* NULL: the blocking save, here */

    const char *stats = getenv("FLAGBENCH_EPOLL_STATS");
    if (stats && *stats && strcmp(stats, "0") != 0)
        print_stats(loop, run->nrecords);
out:
    /* Before the loop: libcurl tells it of every socket it closes. */
    multi_cleanup(&m);
    epoll_loop_free(loop);
    return rc;
}

static const struct backend epoll_backend = {
    .name = "epoll", .download_many = download_many, .default_max_req = 30, /* the -m default */
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &epoll_backend);
}

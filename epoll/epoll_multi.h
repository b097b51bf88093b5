/* epoll_multi.h — the epoll loop as common/multi.c's reactor, written once
 * for the back ends that run the driver on it (flags_epoll, flags_coro).
 * Header-only: the loop itself (epoll_loop.c) knows nothing of the driver. */
#ifndef FLAGBENCH_EPOLL_MULTI_H
#define FLAGBENCH_EPOLL_MULTI_H

#include "epoll_loop.h"
#include "multi.h"

static inline int epoll_multi_run_once(void *loop, int max_wait_ms) {
    return epoll_loop_run_once(loop, max_wait_ms);
}

static inline int epoll_multi_watch(void *loop, int fd, int what) {
    return epoll_loop_watch(loop, fd, what);
}

static inline void epoll_multi_set_timeout(void *loop, long timeout_ms) {
    epoll_loop_set_timeout(loop, timeout_ms);
}

/* A loop for m's transfers, its events handed to m, and *reactor the table
 * multi_run takes. 0, or -errno (*loop NULL). Free the loop after
 * multi_cleanup: libcurl tells it of every socket it closes. */
static inline int epoll_multi_new(struct epoll_loop **loop, struct multi_reactor *reactor,
                                  struct multi_driver *m) {
    *loop = NULL;
    /* Sockets: one per transfer, plus a few closing or being replaced. */
    int rc = epoll_loop_new(loop, m->njobs + m->njobs / 4 + 16);
    if (rc < 0)
        return rc;
    epoll_loop_set_handlers(*loop, multi_socket_event, multi_timeout, m);
    *reactor = (struct multi_reactor){
        .run_once = epoll_multi_run_once,
        .watch = epoll_multi_watch,
        .set_timeout = epoll_multi_set_timeout,
        .loop = *loop,
    };
    return 0;
}

#endif

/* loop_multi.h — the io_uring loop as common/multi.c's reactor: what
 * flags_uring and flags_loops both hand the multi driver, written once.
 * Header-only: loop.c itself knows nothing of the driver. */
#ifndef FLAGBENCH_LOOP_MULTI_H
#define FLAGBENCH_LOOP_MULTI_H

#include "loop.h"
#include "multi.h"

static inline int loop_multi_run_once(void *loop, int max_wait_ms) {
    return loop_run_once(loop, max_wait_ms);
}

static inline unsigned loop_multi_pending(const void *loop) {
    return loop_pending(loop);
}

/* Attach l to m's multi handle — libcurl's events, deadlines and watch
 * failures go to m — and fill *r, the reactor m runs it through (the loop
 * watches libcurl's sockets itself: no watch/set_timeout). 0 or -EINVAL. */
static inline int loop_multi_attach(struct loop *l, struct multi_driver *m,
                                    struct multi_reactor *r) {
    const struct loop_curl_hooks hooks = {
        .on_event = multi_socket_event,
        .on_timeout = multi_timeout,
        .on_watch_error = multi_watch_failed,
        .arg = m,
    };
    *r = (struct multi_reactor){
        .run_once = loop_multi_run_once,
        .pending = loop_multi_pending,
        .loop = l,
    };
    return loop_attach_curl(l, m->multi, &hooks);
}

#endif

/* curl_poll.h — libcurl's socket interest and readiness in poll(2) terms, as
 * both reactors translate them. EPOLLIN, EPOLLOUT, EPOLLERR and EPOLLHUP
 * have poll's values, so the one translation serves both. Header-only, like
 * clock.h. */
#ifndef FLAGBENCH_CURL_POLL_H
#define FLAGBENCH_CURL_POLL_H

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

/* The events to wait for on what libcurl asked (CURL_POLL_IN, _OUT, _INOUT). */
static inline unsigned curl_poll_events(int what) {
    return ((what & CURL_POLL_IN) ? POLLIN : 0u) | ((what & CURL_POLL_OUT) ? POLLOUT : 0u);
}

/* The CURL_CSELECT_* bits for curl_multi_socket_action when the events got
 * were reported on a socket waited on for asked (0: nothing libcurl wants).
 * A hang-up or an error wakes whichever direction was asked for, so libcurl
 * reads the end of the stream or the error. */
static inline int curl_cselect(unsigned asked, unsigned got) {
    int ev = 0;
    if ((asked & POLLIN) && (got & (POLLIN | POLLHUP | POLLERR)))
        ev |= CURL_CSELECT_IN;
    if ((asked & POLLOUT) && (got & (POLLOUT | POLLHUP | POLLERR)))
        ev |= CURL_CSELECT_OUT;
    if (got & POLLERR)
        ev |= CURL_CSELECT_ERR;
    return ev;
}

/* For the tests: with FLAGBENCH_FAIL_WATCH=N in the environment, every Nth
 * request of libcurl to watch a socket (not to stop watching one) fails
 * with ENOSPC before it reaches the kernel, as epoll_ctl does past
 * fs.epoll.max_user_watches, which only root can lower. 0, or -ENOSPC. */
static inline int curl_watch_fault(int what) {
    static long every = -1, count;
    if (every < 0) {
        const char *v = getenv("FLAGBENCH_FAIL_WATCH");
        every = v ? strtol(v, NULL, 10) : 0;
        if (every < 0)
            every = 0;
    }
    if (!every || what == CURL_POLL_REMOVE)
        return 0;
    return ++count % every == 0 ? -ENOSPC : 0;
}

#endif

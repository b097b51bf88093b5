/* reactor_test.h — what the reactors' unit tests (in the one-thread back
 * ends' NAME/tests folders) share: socket pairs to watch, and a record of
 * what the reactor's event callback was handed, in order: each event's
 * descriptor and CURL_CSELECT_* bits. */
#ifndef FLAGBENCH_REACTOR_TEST_H
#define FLAGBENCH_REACTOR_TEST_H

#include <check.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connected, non-blocking pair of local sockets. */
static inline void pair(int fds[2]) {
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

static inline void pair_close(const int fds[2]) {
    close(fds[0]);
    close(fds[1]);
}

#define SEEN_MAX 64

struct seen_events {
    int n;
    int fd[SEEN_MAX];
    int ev[SEEN_MAX];
};

/* An event callback: arg is the struct seen_events (or a struct that
 * begins with one). */
static inline void seen_event(void *arg, int fd, int ev) {
    struct seen_events *s = arg;
    ck_assert_int_lt(s->n, SEEN_MAX);
    s->fd[s->n] = fd;
    s->ev[s->n] = ev;
    s->n++;
}

/* How many of the events were for fd. */
static inline int seen_for(const struct seen_events *s, int fd) {
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->fd[i] == fd;
    return n;
}

#endif

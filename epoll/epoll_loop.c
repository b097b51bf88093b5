/* epoll_loop.c — the epoll + timerfd reactor behind libcurl's multi_socket
 * API (see epoll_loop.h for the shape). */
#include "epoll_loop.h"
#include "clock.h"
#include "curl_poll.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NO_DEADLINE INT64_MAX
#define EVENTS_MAX  4096       /* events one wait returns at most; the rest come next turn */
#define TIMER_TAG   UINT64_MAX /* the timerfd's epoll data: no socket's */

/* What the epoll set holds for one descriptor number. */
struct fd_slot {
    uint32_t gen;    /* of the current registration; moves on at every new one */
    uint32_t events; /* EPOLLIN|EPOLLOUT registered; 0 when not watched */
};

struct epoll_loop {
    int epfd, tfd;
    struct fd_slot *fds; /* indexed by descriptor number */
    size_t nfds;
    unsigned watched;
    struct epoll_event *events;
    unsigned nevents;
    int64_t deadline_ns; /* libcurl's next timeout, CLOCK_MONOTONIC */
    int64_t armed_ns;    /* what the timerfd is armed for */
    epoll_loop_event_fn on_event;
    epoll_loop_timeout_fn on_timeout;
    void *arg;
    struct epoll_loop_stats stats;
};

/* curl_poll.h speaks poll(2)'s bits; epoll's have the same values. */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR &&
                   EPOLLHUP == POLLHUP,
               "epoll's event bits are poll's");

static uint64_t pack(int fd, uint32_t gen) {
    return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Room in the table for descriptor fd. Indices, not pointers: realloc is safe. */
static int fds_reserve(struct epoll_loop *l, int fd) {
    if ((size_t)fd < l->nfds)
        return 0;
    size_t n = l->nfds ? l->nfds : 256;
    while (n <= (size_t)fd)
        n *= 2;
    struct fd_slot *v = realloc(l->fds, n * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = l->nfds; i < n; i++)
        v[i] = (struct fd_slot){0};
    l->fds = v;
    l->nfds = n;
    return 0;
}

static int ctl(struct epoll_loop *l, int op, int fd, uint32_t events, uint32_t gen) {
    struct epoll_event ev = {.events = events, .data.u64 = pack(fd, gen)};
    l->stats.ctls++;
    return epoll_ctl(l->epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

int epoll_loop_watch(struct epoll_loop *l, int fd, int what) {
    if (fd < 0)
        return -EBADF;
    if (what == CURL_POLL_REMOVE) {
        if ((size_t)fd >= l->nfds || !l->fds[fd].events)
            return 0;
        l->fds[fd].events = 0;
        l->watched--;
        /* Already closed (and so out of the set): nothing to undo. */
        int err = ctl(l, EPOLL_CTL_DEL, fd, 0, 0);
        return err == -EBADF || err == -ENOENT ? 0 : err;
    }
    uint32_t want = curl_poll_events(what);
    int err = fds_reserve(l, fd);
    if (err)
        return err;
    struct fd_slot *s = &l->fds[fd];
    if (s->events == want)
        return 0;
    if (s->events) {
        err = ctl(l, EPOLL_CTL_MOD, fd, want, s->gen);
        /* The descriptor was closed and its number reused without a
         * REMOVE: the old registration went with it; register anew. */
        if (err != -ENOENT) {
            if (err == 0)
                s->events = want;
            return err;
        }
        s->events = 0;
        l->watched--;
    }
    s->gen++;
    err = ctl(l, EPOLL_CTL_ADD, fd, want, s->gen);
    if (err)
        return err;
    s->events = want;
    if (++l->watched > l->stats.sockets_peak)
        l->stats.sockets_peak = l->watched;
    return 0;
}

void epoll_loop_set_timeout(struct epoll_loop *l, long timeout_ms) {
    l->deadline_ns = timeout_ms < 0 ? NO_DEADLINE : clock_now_ns() + (int64_t)timeout_ms * 1000000;
}

/* The timerfd follows the deadline: armed (absolute) or disarmed, which
 * also clears a past expiry, so the timerfd is never read. */
static int timer_sync(struct epoll_loop *l) {
    if (l->armed_ns == l->deadline_ns)
        return 0;
    struct itimerspec its = {0};
    if (l->deadline_ns != NO_DEADLINE) {
        its.it_value.tv_sec = l->deadline_ns / 1000000000;
        its.it_value.tv_nsec = l->deadline_ns % 1000000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1; /* zero would disarm it */
    }
    l->stats.timer_sets++;
    if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    l->armed_ns = l->deadline_ns;
    return 0;
}

static void handle_event(struct epoll_loop *l, const struct epoll_event *e) {
    int fd = (int)(uint32_t)e->data.u64;
    uint32_t gen = (uint32_t)(e->data.u64 >> 32);
    const struct fd_slot *s = (size_t)fd < l->nfds ? &l->fds[fd] : NULL;
    if (!s || !s->events || s->gen != gen) {
        l->stats.stale++;
        return;
    }
    int ev = curl_cselect(s->events, e->events);
    if (!ev)
        return;
    l->stats.events++;
    if (l->on_event)
        l->on_event(l->arg, fd, ev);
}

int epoll_loop_run_once(struct epoll_loop *l, int max_wait_ms) {
    int err = timer_sync(l);
    if (err)
        return err;
    int timeout = max_wait_ms < 0 ? -1 : max_wait_ms;
    if (timeout < 0 && l->watched == 0 && l->deadline_ns == NO_DEADLINE)
        timeout = 0; /* nothing can ever wake us: don't sleep forever */
    l->stats.waits++;
    int n = epoll_wait(l->epfd, l->events, (int)l->nevents, timeout);
    if (n < 0) {
        if (errno != EINTR)
            return -errno;
        n = 0;
    }
    /* The timerfd's event is only a wake-up: the clock decides below. */
    for (int i = 0; i < n; i++)
        if (l->events[i].data.u64 != TIMER_TAG)
            handle_event(l, &l->events[i]);
    if (l->deadline_ns != NO_DEADLINE && clock_now_ns() >= l->deadline_ns) {
        l->deadline_ns = NO_DEADLINE; /* the handler may set the next one */
        l->stats.timeouts++;
        if (l->on_timeout)
            l->on_timeout(l->arg);
    }
    return 0;
}

int epoll_loop_new(struct epoll_loop **out, unsigned max_sockets) {
    struct epoll_loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->epfd = l->tfd = -1;
    l->deadline_ns = l->armed_ns = NO_DEADLINE;
    l->nevents = max_sockets + 1 < 64           ? 64
                 : max_sockets + 1 > EVENTS_MAX ? EVENTS_MAX
                                                : max_sockets + 1;
    l->events = calloc(l->nevents, sizeof *l->events);
    int err = l->events ? 0 : -ENOMEM;
    if (!err && (l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        err = -errno;
    if (!err && (l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
        err = -errno;
    if (!err) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) < 0)
            err = -errno;
    }
    if (err) {
        epoll_loop_free(l);
        return err;
    }
    *out = l;
    return 0;
}

void epoll_loop_free(struct epoll_loop *l) {
    if (!l)
        return;
    if (l->tfd >= 0)
        close(l->tfd);
    if (l->epfd >= 0)
        close(l->epfd);
    free(l->fds);
    free(l->events);
    free(l);
}

void epoll_loop_set_handlers(struct epoll_loop *l, epoll_loop_event_fn on_event,
                             epoll_loop_timeout_fn on_timeout, void *arg) {
    l->on_event = on_event;
    l->on_timeout = on_timeout;
    l->arg = arg;
}

unsigned epoll_loop_sockets(const struct epoll_loop *l) {
    return l->watched;
}

const struct epoll_loop_stats *epoll_loop_get_stats(const struct epoll_loop *l) {
    return &l->stats;
}

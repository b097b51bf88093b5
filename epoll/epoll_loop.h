/* epoll_loop.h — the classic reactor for libcurl's multi_socket API: one
 * epoll set for the sockets libcurl names, one timerfd for its deadline
 * (common/multi.c relays libcurl's callbacks and takes the events).
 *
 * libcurl says which sockets it wants watched (CURLMOPT_SOCKETFUNCTION):
 * each becomes an epoll registration, level-triggered as libcurl expects.
 * It says when it next needs a timeout (CURLMOPT_TIMERFUNCTION): the
 * deadline is kept in memory and the timerfd, in the same epoll set, is
 * armed for it (absolute, nanoseconds) at most once per turn, just before
 * the wait — libcurl moves its deadline many times a turn, and a system
 * call each time would be most of the loop's cost. Each turn then waits
 * once (epoll_wait) and calls curl_multi_socket_action() for every ready
 * socket and for the deadline once it has passed. It knows nothing about
 * flags, and of libcurl only its constants.
 *
 * Stale events. One wait returns a batch of events; handling one can make
 * libcurl drop another socket of the batch, close it, and open a new
 * connection on the same descriptor number. Every registration therefore
 * carries a generation, kept per descriptor and moved on at each new
 * registration: an event whose generation is not the descriptor's current
 * one, or for a descriptor no longer watched, is dropped.
 *
 * One thread only: the loop and every callback run on the thread that
 * created it. */
#ifndef FLAGBENCH_EPOLL_LOOP_H
#define FLAGBENCH_EPOLL_LOOP_H

#include <stdint.h>
#include <curl/curl.h> /* CURL_POLL_*, CURL_CSELECT_* */

struct epoll_loop;

struct epoll_loop_stats {
    uint64_t waits;      /* epoll_wait calls */
    uint64_t events;     /* readiness events handed on */
    uint64_t stale;      /* events dropped as stale (removed or reused descriptor) */
    uint64_t ctls;       /* epoll_ctl calls (add, modify, delete) */
    uint64_t timer_sets; /* timerfd_settime calls */
    uint64_t timeouts;   /* deadlines handed on */
    unsigned sockets_peak;
};

/* A loop sized for about max_sockets sockets at once (how many events one
 * wait returns; more are fine). 0, or -errno (epoll_create1's, timerfd's). */
int epoll_loop_new(struct epoll_loop **out, unsigned max_sockets);
void epoll_loop_free(struct epoll_loop *l);

/* One turn: arm the timerfd for the deadline if it moved, wait for
 * readiness, the deadline or max_wait_ms (<0: no cap; 0: don't wait), then
 * hand on every ready socket and, once it has passed, the deadline. A
 * signal ends the wait early (the caller checks its flag). 0, or -errno
 * when the epoll set or the timer fail. */
int epoll_loop_run_once(struct epoll_loop *l, int max_wait_ms);

/* Sockets being watched. */
unsigned epoll_loop_sockets(const struct epoll_loop *l);
const struct epoll_loop_stats *epoll_loop_get_stats(const struct epoll_loop *l);

/* Where events go: multi_socket_event and multi_timeout for libcurl. */
/* Called for each readiness event: fd and CURL_CSELECT_* bits. */
typedef void (*epoll_loop_event_fn)(void *arg, int fd, int ev_bitmask);
/* Called when the deadline has passed (once per deadline). */
typedef void (*epoll_loop_timeout_fn)(void *arg);
void epoll_loop_set_handlers(struct epoll_loop *l, epoll_loop_event_fn on_event,
                             epoll_loop_timeout_fn on_timeout, void *arg);

/* libcurl's socket callback, spelled out: watch fd for what (CURL_POLL_IN,
 * _OUT, _INOUT, _REMOVE). Takes effect at once. 0, or -errno (epoll_ctl's:
 * -EBADF for a closed descriptor; removing one is not an error). */
int epoll_loop_watch(struct epoll_loop *l, int fd, int what);

/* libcurl's timer callback, spelled out: the deadline is timeout_ms from
 * now; -1 removes it. */
void epoll_loop_set_timeout(struct epoll_loop *l, long timeout_ms);

#endif

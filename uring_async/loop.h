/* loop.h — a single-threaded io_uring event loop that drives libcurl's
 * multi_socket API, and runs other io_uring operations (file I/O) beside it.
 *
 * libcurl says which sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and
 * when it next needs a timeout (CURLMOPT_TIMERFUNCTION). The loop turns the
 * first into io_uring poll requests and the second into the deadline of its
 * one wait per iteration, and calls curl_multi_socket_action() for every
 * readiness event and expired deadline. It knows nothing about flags.
 *
 * Every socket libcurl reports gets a context in a slot table; a poll's
 * user_data packs the slot index and a generation that changes whenever the
 * slot is (re)armed or reused. Completions for a socket libcurl has removed,
 * for an interest it has since changed, or for a descriptor number that now
 * belongs to another connection carry a stale generation and are dropped. A
 * slot is recycled only when the last request that names it (cancellations
 * included) has completed.
 *
 * One thread only: the loop and every callback run on the thread that
 * created it. */
#ifndef FLAGBENCH_LOOP_H
#define FLAGBENCH_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <liburing.h>

struct loop;

enum loop_flags {
    /* One multishot poll per interest instead of a one-shot poll re-armed
     * after every event. Multishot polls are edge-triggered; see loop.c. */
    LOOP_MULTISHOT = 1u << 0,
};

/* A generic operation with a completion callback. Embed it in your own
 * struct (no allocation per operation) and keep it alive until done runs.
 * One CQE per operation: no multishot ops, no IOSQE_CQE_SKIP_SUCCESS. */
struct loop_op {
    void (*done)(struct loop_op *op, int res); /* res is the CQE's res */
};

struct loop_stats {
    uint64_t iterations;     /* waits on the ring */
    uint64_t submits;        /* io_uring_enter calls that submitted or waited */
    uint64_t cqes;           /* completions handled */
    uint64_t events;         /* readiness events handed to libcurl */
    uint64_t stale;          /* completions dropped as stale (removed, re-armed or reused socket) */
    uint64_t polls_armed;    /* poll requests submitted */
    uint64_t timeouts;       /* libcurl timer expiries handled */
    uint64_t cancel_retries; /* poll cancels answered -EALREADY and sent again */
    unsigned sockets_peak;
};

/* A loop for up to about max_sockets sockets at once (the slot table grows
 * past it if needed; it sizes the rings). flags: enum loop_flags.
 * 0, or -errno (io_uring_queue_init's). */
int loop_new(struct loop **out, unsigned max_sockets, unsigned flags);
/* Requests still pending in the kernel are cancelled by the ring's exit. */
void loop_free(struct loop *l);

/* Where the loop hands on what it learns for libcurl, for whoever drives
 * the multi handle: each readiness event (fd, CURL_CSELECT_* bits) and the
 * passing of libcurl's deadline, for curl_multi_socket_action; and a socket
 * it could not watch for what (err, -errno), for the transfer easy to be
 * failed; libcurl is told nothing of it (a -1 from the socket callback is
 * fatal to every transfer). */
struct loop_curl_hooks {
    void (*on_event)(void *arg, int fd, int ev_bitmask);
    void (*on_timeout)(void *arg);
    void (*on_watch_error)(void *arg, CURL *easy, int what, int err);
    void *arg;
};

/* Drive multi: installs its SOCKETFUNCTION and TIMERFUNCTION, and hands
 * events, deadlines and watch failures to hooks (copied). 0 or -EINVAL. */
int loop_attach_curl(struct loop *l, CURLM *multi, const struct loop_curl_hooks *hooks);

/* One iteration: submit everything queued, wait for at least one completion,
 * libcurl's deadline or max_wait_ms (<0: no cap), then handle every
 * completion and the expired deadline. A signal ends the wait early (the
 * caller checks its flag). 0, or -errno on a ring failure. */
int loop_run_once(struct loop *l, int max_wait_ms);

/* n SQEs (a linked chain) that will go to the kernel in one submission:
 * flushes the submission queue first when fewer than n are free. Returns
 * the first; the others follow with loop_sqe(). NULL when n is too big. */
struct io_uring_sqe *loop_sqe_chain(struct loop *l, unsigned n);
/* The next SQE (flushing a full queue first). Never NULL in practice. */
struct io_uring_sqe *loop_sqe(struct loop *l);
/* Route the completion of a prepared SQE to op->done. */
void loop_sqe_set_op(struct loop *l, struct io_uring_sqe *sqe, struct loop_op *op);

/* The ring, to register files and the like. */
struct io_uring *loop_ring(struct loop *l);

/* Requests whose final completion has not arrived yet (polls, cancels, ops),
 * plus one while socket changes wait for the next submission. */
unsigned loop_pending(const struct loop *l);
/* Sockets libcurl is watching. */
unsigned loop_sockets(const struct loop *l);
const struct loop_stats *loop_get_stats(const struct loop *l);

/* Below: the socket layer without libcurl, for tests and other drivers. */

/* Called for each readiness event: fd and CURL_CSELECT_* bits. */
typedef void (*loop_event_fn)(void *arg, int fd, int ev_bitmask);
void loop_set_event_fn(struct loop *l, loop_event_fn fn, void *arg);

/* libcurl's socket callback, spelled out: watch fd for what (CURL_POLL_IN,
 * _OUT, _INOUT, _REMOVE). *handle is the socket's context (0 = none yet),
 * kept by the caller between calls (libcurl keeps it via curl_multi_assign).
 * Takes effect at the next submission. 0, or -ENOMEM. (A poll the kernel
 * then refuses reaches libcurl as CURL_CSELECT_ERR, which fails the
 * transfer's read or write.) */
int loop_watch(struct loop *l, int fd, int what, uintptr_t *handle);

/* Packing of a socket request's user_data (exposed for the tests). */
enum loop_ud_tag { LOOP_UD_OP = 0, LOOP_UD_POLL = 1, LOOP_UD_CANCEL = 2 };
uint64_t loop_ud_pack(enum loop_ud_tag tag, uint32_t index, uint32_t gen);
void loop_ud_unpack(uint64_t ud, enum loop_ud_tag *tag, uint32_t *index, uint32_t *gen);

#endif

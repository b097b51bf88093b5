/* multi.h — libcurl's multi interface driven by any event loop: what every
 * single-threaded event-driven back end does the same way, written once.
 *
 * -m N bounds the requests in flight, like the book's semaphore: the driver
 * keeps N transfers, each owning one easy handle that moves from flag to
 * flag (its kept-alive connection stays in the multi's pool). It starts
 * them in batches, reads CURLMSG_DONE, runs the --metadata second request,
 * hands each downloaded flag to the back end's saver, and at SIGINT drops
 * the requests in flight and lets the saves finish.
 *
 * What differs between back ends is behind two small tables:
 *
 *   - a reactor: the event loop. Once per turn it waits for readiness or
 *     libcurl's deadline and hands each on (io_uring polls; epoll_wait and a
 *     timerfd). It learns what libcurl wants to watch through the driver
 *     (watch, set_timeout) and reports back with multi_socket_event() and
 *     multi_timeout(), or attaches itself to the multi handle;
 *   - a saver: how a downloaded flag reaches its file. None (NULL) saves it
 *     with the common blocking save, in the loop thread, before the
 *     transfer takes its next flag; an asynchronous saver takes the body and
 *     reports the end of the save later with multi_save_done().
 *
 * One thread: every function and callback runs on the thread of multi_run. */
#ifndef FLAGBENCH_MULTI_H
#define FLAGBENCH_MULTI_H

#include <stdbool.h>
#include <curl/curl.h>

#include "fetch.h"

struct multi_reactor {
    /* One turn: wait for readiness, the deadline or max_wait_ms (0: don't
     * wait), whichever comes first, and report what happened. A signal may
     * end the wait early. 0, or -errno when the loop is broken. */
    int (*run_once)(void *loop, int max_wait_ms);
    /* Work the loop still owes the kernel that names our memory (requests
     * in flight in a ring): after an interrupt the driver waits for it
     * before returning. NULL when there is none. */
    unsigned (*pending)(const void *loop);
    /* libcurl's socket and timer callbacks, spelled out: watch fd for what
     * (CURL_POLL_IN, _OUT, _INOUT, _REMOVE; 0, or -errno, which fails only
     * that transfer: see multi_watch_failed), and the deadline
     * is timeout_ms from now (-1: none). multi_run installs them on the
     * multi handle. NULL when the loop has attached itself to it. */
    int (*watch)(void *loop, int fd, int what);
    void (*set_timeout)(void *loop, long timeout_ms);
    void *loop;
};

enum multi_save {
    MULTI_SAVE_DONE,    /* finished already: its record_saved() was called */
    MULTI_SAVE_STARTED, /* in progress; the saver calls multi_save_done() at its end */
    MULTI_SAVE_FULL,    /* no save can start now: offered again after multi_save_done() */
};

struct multi_saver {
    /* Save t's downloaded flag (t->rec STAGE_SAVING, t->body, t->country): its
     * record_saved() makes it OK or an error. Unless it
     * answers MULTI_SAVE_FULL, t is free again as soon as it returns and
     * takes its next flag: a save in progress must own the body it writes
     * (take t->body, leaving it empty). */
    enum multi_save (*start)(void *arg, struct transfer *t);
    void *arg;
};

/* Descriptors multi_init keeps aside when it caps the transfers (-m) to
 * the open-file limit: stdio, --dest, the reactor's own (epoll and timer,
 * or the ring), libcurl's wake-up pair, a blocking save's file, the trace
 * and summary at the end, and slack. A saver that holds descriptors of
 * its own fits them in what is left. */
#define MULTI_FDS_RESERVED 32

/* A client: a back end that decides itself when each flag starts and what
 * follows its download (flags_coro: a coroutine per flag, which fetches
 * through the driver and is resumed when its flag is classified). Set
 * m->client before multi_run: the driver's transfers then take no flag on
 * their own; the client begins each with multi_start(), and the driver
 * hands it back to done(), saving nothing itself. */
enum multi_client_state {
    MULTI_CLIENT_IDLE,     /* nothing to run until the network answers */
    MULTI_CLIENT_READY,    /* more to run now: the loop must not wait */
    MULTI_CLIENT_FINISHED, /* every flag done: multi_run returns */
};

struct multi_client {
    /* Once per turn of the loop, before it waits: run what is ready. */
    enum multi_client_state (*turn)(void *arg);
    /* The flag multi_start began for owner needs nothing more from the
     * transfer: downloaded (t->rec->stage STAGE_SAVING: the client saves
     * it, transfer_save) or not (the client calls transfer_finish) — the
     * --metadata request done too. t is the client's until done returns,
     * then free for the next multi_start. */
    void (*done)(void *arg, struct transfer *t, void *owner);
    void *arg;
};

struct multi_job;
struct multi_done;

struct multi_driver {
    struct run *run;
    CURLM *multi; /* attach the reactor to it between multi_init and multi_run */
    const struct multi_reactor *reactor;
    const struct multi_saver *saver; /* NULL: the blocking save in the loop thread */
    struct multi_job *jobs;
    struct multi_done *done; /* messages read, not handled yet: one per job at most */
    unsigned njobs, busy;    /* transfers, and those holding a flag */
    unsigned saving;         /* saves in progress (MULTI_SAVE_STARTED) */
    struct multi_job *wait_head, *wait_tail; /* downloaded, waiting for the saver */
    struct multi_job *failed; /* a socket of theirs could not be watched: fail after the turn */
    CURLMcode curl_error;     /* the first CURLMcode not CURLM_OK: ends the run */
    size_t next;              /* the next record to start (with a client: flags begun) */
    /* With a client: */
    const struct multi_client *client;
    struct multi_job *free_jobs; /* transfers holding no flag */
    unsigned turn_starts;        /* multi_start calls this turn of the loop */
};

/* run->max_req transfers, capped (and run->max_req with them) to what the
 * open-file limit allows, said once on stderr; and a multi handle keeping a
 * connection per transfer alive. 0, or -ENOMEM (call multi_cleanup either
 * way). */
int multi_init(struct multi_driver *m, struct run *run);

/* Download every record of the run, or until SIGINT. 0, or the reactor's
 * -errno. The reactor must stay attached until multi_cleanup. */
int multi_run(struct multi_driver *m, const struct multi_reactor *reactor,
              const struct multi_saver *saver);

/* With a client: begin record i on a free transfer, for owner; done()
 * follows from the loop. 0; -EAGAIN while the first requests go out
 * (a batch per turn: start it at a later turn); -EBUSY when every transfer
 * is busy (more starts than transfers); -ENOMEM when its request could
 * not start: the flag is finished as an error. */
int multi_start(struct multi_driver *m, size_t i, void *owner);
/* How many multi_start calls may begin a request in this turn (UINT_MAX
 * once the first requests are out). */
unsigned multi_starts_left(const struct multi_driver *m);

/* An asynchronous save (MULTI_SAVE_STARTED) ended, after record_saved():
 * flags waiting for the saver are offered to it again. */
void multi_save_done(struct multi_driver *m);

/* What the reactor reports to the driver m (a struct multi_driver *), for
 * libcurl: fd is ready (CURL_CSELECT_* bits), or the deadline has passed.
 * A CURLMcode other than CURLM_OK ends the run (multi_run says it, -EIO). */
void multi_socket_event(void *m, int fd, int ev_bitmask);
void multi_timeout(void *m);

/* A reactor that attached itself to the multi handle reports here, from
 * its socket callback, that it could not watch fd for what (err, -errno),
 * for libcurl's transfer easy; its callback then returns 0, never -1
 * (which libcurl takes as fatal for every transfer). After the turn that
 * transfer is dropped and its flag fails, "cannot watch socket: ...". The
 * driver's own socket callback (reactor->watch) does the same. */
void multi_watch_failed(void *m, CURL *easy, int what, int err);

/* Remove and free the transfers and the multi handle. The reactor is still
 * attached: libcurl tells it of the sockets it closes. */
void multi_cleanup(struct multi_driver *m);

#endif

/* multi.c — the libcurl multi driver shared by the event-loop back ends. */
#include "multi.h"
#include "curl_poll.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WAIT_MS 200  /* a signal between the check and the wait costs at most this */
#define DRAIN_MS    2000 /* after an interrupt, how long saves and the loop may take */
#define START_BATCH 8    /* transfers started per turn of the loop */
/* A transfer holds one socket at a time (libcurl closes a connection it
 * won't keep before opening the next); past the open-file limit every
 * socket() fails, so -m is capped to fit, MULTI_FDS_RESERVED kept aside. */
#define FDS_PER_TRANSFER 1

/* One transfer: an easy handle moving from flag to flag. */
struct multi_job {
    struct transfer t;
    struct multi_driver *m;
    bool busy;                   /* holds a flag: a request in progress, or waiting for the saver */
    bool in_multi;               /* its easy handle is added to the multi handle */
    struct multi_job *next_wait; /* in the queue of transfers waiting for the saver; with a
                                  * client, in the free list */
    int watch_err;               /* -errno: a socket of its request could not be watched */
    struct multi_job *next_failed; /* in the list of those, failed after the turn */
    void *owner;                 /* with a client: who multi_start began it for */
};

struct multi_done {
    CURL *easy;
    CURLcode rc;
};

static void job_next(struct multi_job *j);

/* Every CURLMcode goes through here: anything but CURLM_OK means libcurl's
 * state is not what the driver thinks (a bug, or out of memory). The first
 * is kept, and multi_run ends the run with it. */
static bool mc_ok(struct multi_driver *m, CURLMcode mc) {
    if (mc != CURLM_OK && m->curl_error == CURLM_OK)
        m->curl_error = mc;
    return mc == CURLM_OK;
}

/* Take j's handle out of the multi handle (which drops its request). */
static void multi_remove(struct multi_job *j) {
    mc_ok(j->m, curl_multi_remove_handle(j->m->multi, j->t.easy));
    j->in_multi = false;
}

/* Add j's handle for its flag's next request; if libcurl refuses, the flag
 * is an error with libcurl's reason (the caller finishes it). */
static int multi_add(struct multi_job *j) {
    CURLMcode mc = curl_multi_add_handle(j->m->multi, j->t.easy);
    if (mc != CURLM_OK) {
        transfer_fail(&j->t, curl_multi_strerror(mc));
        return -ENOMEM;
    }
    j->in_multi = true;
    return 0;
}

/* The flag is done (classified, handed to the saver or not): the transfer
 * takes the next. */
static void job_release(struct multi_job *j) {
    j->busy = false;
    j->m->busy--;
    job_next(j);
}

/* j takes record i (m->next already past it). False when its request
 * could not start: the flag is finished as an error. */
static bool job_begin(struct multi_job *j, size_t i) {
    struct multi_driver *m = j->m;
    transfer_begin(&j->t, i);
    /* Near the end, when fewer flags are left than transfers, most
     * connections will never be used again: close them as their flag
     * is done. Left in libcurl's pool, each curl_multi_remove_handle at
     * cleanup walks all of them, quadratic at -m 10000. */
    bool tail = m->run->nrecords - m->next < m->njobs;
    transfer_forbid_reuse(&j->t, tail || m->run->opt->no_reuse);
    j->busy = true;
    m->busy++;
    if (multi_add(j) == 0)
        return true;
    transfer_finish(&j->t); /* multi_add made it an error */
    j->busy = false;
    m->busy--;
    return false;
}

static void job_next(struct multi_job *j) {
    struct multi_driver *m = j->m;
    if (m->client) { /* the client begins flags itself (multi_start) */
        j->next_wait = m->free_jobs;
        m->free_jobs = j;
        return;
    }
    while (m->next < m->run->nrecords && !run_interrupted())
        if (job_begin(j, m->next++))
            return;
}

/* j's flag needs nothing more from the transfer: finished (not found, an
 * error), or, with a client, handed to it (downloaded, or finished). */
static void job_done(struct multi_job *j) {
    struct multi_driver *m = j->m;
    if (m->client)
        m->client->done(m->client->arg, &j->t, j->owner);
    else
        transfer_finish(&j->t);
    job_release(j);
}

/* Offer j's downloaded flag to the saver. False when it is full. */
static bool job_save(struct multi_job *j) {
    struct multi_driver *m = j->m;
    if (!m->saver) {
        transfer_save(&j->t);
        return true;
    }
    switch (m->saver->start(m->saver->arg, &j->t)) {
    case MULTI_SAVE_FULL:
        return false;
    case MULTI_SAVE_STARTED:
        m->saving++;
        return true;
    case MULTI_SAVE_DONE:
        break;
    }
    return true;
}

/* Offer the waiting transfers' flags to the saver, in the order they
 * finished; each one taken frees its transfer for the next flag. */
static void saves_feed(struct multi_driver *m) {
    while (m->wait_head && job_save(m->wait_head)) {
        struct multi_job *j = m->wait_head;
        m->wait_head = j->next_wait;
        if (!m->wait_head)
            m->wait_tail = NULL;
        j->next_wait = NULL;
        job_release(j);
    }
}

void multi_save_done(struct multi_driver *m) {
    m->saving--;
    saves_feed(m);
}

/* j's flag is downloaded: save it now, or queue it behind the others. */
static void save_queue(struct multi_job *j) {
    struct multi_driver *m = j->m;
    if (!m->wait_head && job_save(j)) {
        job_release(j);
        return;
    }
    if (m->wait_tail)
        m->wait_tail->next_wait = j;
    else
        m->wait_head = j;
    m->wait_tail = j;
}

static void on_done(CURL *easy, CURLcode rc) {
    struct transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    struct multi_job *j = t->user;
    multi_remove(j);
    switch (transfer_request_done(t, rc)) {
    case FLAG_REQUEST_AGAIN:
        if (multi_add(j) == 0)
            return;
        break; /* failed: finished as an error */
    case FLAG_SAVE:
        if (j->m->client)
            break; /* the client saves it */
        save_queue(j);
        return;
    case FLAG_DONE:
        break;
    }
    job_done(j);
}

/* Read every message before handling any: curl_multi_remove_handle scans
 * the unread messages, so handling them as they are read costs O(n^2) when
 * many transfers finish in one wakeup. Handling can queue new messages
 * (a re-added handle that fails at once): read again until none. */
static void drain_messages(struct multi_driver *m) {
    for (;;) {
        CURLMsg *msg;
        int left;
        unsigned n = 0;
        while (n < m->njobs && (msg = curl_multi_info_read(m->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                m->done[n++] = (struct multi_done){msg->easy_handle, msg->data.result};
        if (n == 0)
            return;
        for (unsigned i = 0; i < n; i++)
            on_done(m->done[i].easy, m->done[i].rc);
    }
}

static unsigned reactor_pending(const struct multi_driver *m) {
    return m->reactor->pending ? m->reactor->pending(m->reactor->loop) : 0;
}

/* SIGINT: drop every request in flight; saves in progress, and those of
 * flags already downloaded, finish (they are local and short) or clean up
 * after themselves; then wait for the kernel to finish with everything
 * that names our memory. */
static void abandon(struct multi_driver *m) {
    for (unsigned i = 0; i < m->njobs; i++) {
        struct multi_job *j = &m->jobs[i];
        if (j->in_multi) {
            multi_remove(j);
            j->busy = false;
            m->busy--;
        }
        j->watch_err = 0;
        j->next_failed = NULL;
    }
    m->failed = NULL; /* those requests are dropped too */
    int64_t end = run_now_us(m->run) + DRAIN_MS * 1000;
    while ((m->busy || m->saving || reactor_pending(m)) && run_now_us(m->run) < end)
        if (m->reactor->run_once(m->reactor->loop, 50) < 0)
            break;
}

int multi_init(struct multi_driver *m, struct run *run) {
    *m = (struct multi_driver){.run = run};
    m->njobs = run_fit_fd_limit(run, FDS_PER_TRANSFER, MULTI_FDS_RESERVED, "transfers");
    run->threads_peak = 1;
    /* At least one of each, so that a run of no records needs no case. */
    m->jobs = calloc(m->njobs ? m->njobs : 1, sizeof *m->jobs);
    m->done = calloc(m->njobs ? m->njobs : 1, sizeof *m->done);
    m->multi = curl_multi_init();
    if (!m->jobs || !m->done || !m->multi)
        return -ENOMEM;
    /* Keep a connection per transfer alive, and no more. */
    if (!mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)m->njobs)) ||
        !mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)m->njobs)))
        return -EINVAL;
    for (unsigned i = 0; i < m->njobs; i++) {
        struct multi_job *j = &m->jobs[i];
        j->m = m;
        int rc = transfer_init(&j->t, run);
        if (rc < 0)
            return rc;
        j->t.user = j;
    }
    return 0;
}

void multi_socket_event(void *arg, int fd, int ev_bitmask) {
    struct multi_driver *m = arg;
    int running;
    mc_ok(m, curl_multi_socket_action(m->multi, fd, ev_bitmask, &running));
}

void multi_timeout(void *arg) {
    struct multi_driver *m = arg;
    int running;
    mc_ok(m, curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running));
}

void multi_watch_failed(void *arg, CURL *easy, int what, int err) {
    struct multi_driver *m = arg;
    struct transfer *t = NULL;
    if (what == CURL_POLL_REMOVE)
        return; /* the socket is going anyway */
    /* NULL: not one of ours (libcurl closing a connection on its own). */
    if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || !t)
        return;
    struct multi_job *j = t->user;
    if (!j->in_multi || j->watch_err)
        return;
    j->watch_err = err;
    j->next_failed = m->failed;
    m->failed = j;
}

/* After the turn (never inside libcurl's callbacks): each transfer whose
 * socket could not be watched is dropped, and its flag fails with the
 * reason; the transfer takes its next flag, the others go on. */
static void fail_unwatched(struct multi_driver *m) {
    while (m->failed) {
        struct multi_job *j = m->failed;
        m->failed = j->next_failed;
        int err = j->watch_err;
        j->watch_err = 0;
        j->next_failed = NULL;
        if (!j->in_multi)
            continue; /* finished meanwhile */
        multi_remove(j);
        char reason[RECORD_ERROR_MAX];
        snprintf(reason, sizeof reason, "cannot watch socket: %s", strerror(-err));
        transfer_fail(&j->t, reason);
        job_done(j);
    }
}

/* libcurl takes -1 from here as fatal for the whole multi handle (and
 * 7.88 then crashes in curl_multi_socket_action): a socket that cannot be
 * watched fails its own transfer instead, after the turn. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    struct multi_driver *m = userp;
    (void)socketp;
    int err = curl_watch_fault(what);
    if (!err)
        err = m->reactor->watch(m->reactor->loop, fd, what);
    if (err < 0)
        multi_watch_failed(m, easy, what, err);
    return 0;
}

/* The deadline is only recorded: the loop acts on it, never libcurl's own
 * callback. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
    struct multi_driver *m = userp;
    (void)multi;
    m->reactor->set_timeout(m->reactor->loop, timeout_ms);
    return 0;
}

int multi_run(struct multi_driver *m, const struct multi_reactor *reactor,
              const struct multi_saver *saver) {
    m->reactor = reactor;
    m->saver = saver;
    if (reactor->watch &&
        (!mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket)) ||
         !mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m)) ||
         !mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer)) ||
         !mc_ok(m, curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m))))
        return -EINVAL;
    /* Transfers start START_BATCH at a time, one batch per turn of the loop:
     * libcurl connects every new handle in one call, and with thousands at
     * once the first requests would wait for the last connect before being
     * sent. Batches let early requests go out while later ones connect,
     * and the server answer them meanwhile on the other core. Measured at
     * 194 flags, -m 194, 0.1 s delay, on a quiet 2-core machine: median
     * wall of 4 runs, batches of 32 115.3 ms, 64 116.5, 100 119.9, all 194
     * at once 119.9 (though those start within 0.2 ms of each other, and
     * batches of 32 within 9-10 ms); then 30 paired rounds of uring against
     * batches of 32: 4 1.5 ms faster (p = 0.002), 8 2.3 ms (p = 0.0001),
     * 16 1.8 ms (p = 0.03); epoll 0.4 ms (p = 0.15, 20 rounds). At -m 10000
     * 8, 16, 32 and 64 give the same wall. */
    unsigned started = 0;
    if (m->client) /* every transfer free: multi_start hands them out */
        while (started < m->njobs)
            job_next(&m->jobs[started++]);
    for (;;) {
        if (run_interrupted()) {
            abandon(m);
            return 0;
        }
        int wait_ms;
        if (m->client) {
            m->turn_starts = 0;
            enum multi_client_state st = m->client->turn(m->client->arg);
            if (st == MULTI_CLIENT_FINISHED && !m->busy)
                break;
            wait_ms = st == MULTI_CLIENT_READY ? 0 : MAX_WAIT_MS;
        } else {
            for (unsigned b = 0; b < START_BATCH && started < m->njobs; b++)
                job_next(&m->jobs[started++]);
            /* Checked after starting: when the flags ran out before the
             * last transfers started (no delay), those found nothing to
             * do, and waiting now would only wait out MAX_WAIT_MS. */
            if (!m->busy && !m->saving && started == m->njobs)
                break;
            wait_ms = started < m->njobs ? 0 : MAX_WAIT_MS;
        }
        int rc = reactor->run_once(reactor->loop, wait_ms);
        if (rc == 0) {
            fail_unwatched(m);
            drain_messages(m);
        }
        if (rc == 0 && m->curl_error != CURLM_OK) {
            fprintf(stderr, "%s: error: libcurl: %s\n", m->run->prog,
                    curl_multi_strerror(m->curl_error));
            rc = -EIO;
        }
        if (rc < 0) {
            abandon(m);
            return rc;
        }
    }
    return 0;
}

unsigned multi_starts_left(const struct multi_driver *m) {
    /* The first requests go out START_BATCH per turn, as the driver's own
     * do (multi_run says why). */
    if (m->next >= m->njobs)
        return UINT_MAX;
    return m->turn_starts < START_BATCH ? START_BATCH - m->turn_starts : 0;
}

int multi_start(struct multi_driver *m, size_t i, void *owner) {
    if (multi_starts_left(m) == 0)
        return -EAGAIN;
    struct multi_job *j = m->free_jobs;
    if (!j)
        return -EBUSY;
    m->free_jobs = j->next_wait;
    j->next_wait = NULL;
    j->owner = owner;
    m->next++;
    m->turn_starts++;
    if (job_begin(j, i))
        return 0;
    job_next(j); /* its flag is finished as an error: back to the free list */
    return -ENOMEM;
}

void multi_cleanup(struct multi_driver *m) {
    for (unsigned i = 0; m->jobs && i < m->njobs; i++) {
        struct multi_job *j = &m->jobs[i];
        if (j->in_multi)
            multi_remove(j);
        if (j->t.easy)
            transfer_cleanup(&j->t);
    }
    /* Past the run: a failure here can only be said. */
    if (m->multi && !mc_ok(m, curl_multi_cleanup(m->multi)))
        fprintf(stderr, "%s: warning: libcurl: %s\n", m->run->prog,
                curl_multi_strerror(m->curl_error));
    free(m->jobs);
    free(m->done);
    *m = (struct multi_driver){0};
}

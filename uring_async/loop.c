/* loop.c — the io_uring reactor behind libcurl's multi_socket API.
 *
 * Interest to polls. libcurl's socket callback only records what it wants
 * (want) and puts the socket's slot on a dirty list; before each submission
 * the loop reconciles every dirty slot once: the armed poll is cancelled
 * (IORING_OP_POLL_REMOVE by its user_data) when it no longer matches, and a
 * new poll is armed for what is wanted. Several changes in one iteration thus
 * cost one action, and a socket removed and replaced within one iteration
 * never sees the other's poll.
 *
 * One-shot by default: every arm starts with the kernel checking readiness
 * (level-triggered, the semantics libcurl expects), and a request on a
 * kept-alive connection costs one poll SQE and one CQE — libcurl drops the
 * socket when the response is done, and a fired one-shot poll needs no
 * cancel. LOOP_MULTISHOT keeps one poll armed per interest instead
 * (IORING_POLL_ADD_MULTI); it only reports new wake-ups (edge-triggered),
 * which libcurl tolerates because it reads plain sockets until EAGAIN, and
 * it needs a cancel (one SQE, two CQEs) whenever libcurl drops the socket.
 *
 * Stale completions. A poll's user_data packs (tag, slot index, generation);
 * the slot's generation moves on whenever its poll is cancelled or re-armed
 * and when the slot is recycled. A poll completion is delivered only when the
 * slot is live, armed and at that generation — so events for removed
 * sockets, for an interest since changed, and for a descriptor number reused
 * by a new connection are dropped. Each slot counts its requests whose final
 * completion is outstanding (polls, cancels) and returns to the free list
 * only at zero, so an index is never reused while the kernel may still name
 * it. */
#include "loop.h"
#include "clock.h"
#include "curl_poll.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIL         UINT32_MAX
#define NO_DEADLINE INT64_MAX
#define CQE_BATCH   128
#define POLL_ERRORS_MAX                                                                            \
    8 /* consecutive poll failures before a socket is left to libcurl's timers */

struct sock {
    int fd;
    uint32_t gen;     /* names the current poll; moves on at every cancel, arm and reuse */
    uint32_t pending; /* requests naming this slot whose final CQE is outstanding */
    uint32_t next;    /* free-list or dirty-list link */
    uint16_t want;    /* POLLIN|POLLOUT libcurl wants; 0 once removed */
    uint16_t armed;   /* mask of the armed poll at gen; 0 when none */
    uint8_t live;     /* libcurl still knows this socket */
    uint8_t dirty;    /* on the dirty list */
    uint8_t errors;   /* consecutive failed polls */
};

struct loop {
    struct io_uring ring;
    unsigned flags;
    struct sock *socks;
    uint32_t nsocks, free_head, dirty_head, live;
    unsigned pending; /* every request whose final CQE is outstanding */
    int64_t deadline_ns;
    CURLM *multi;
    struct loop_curl_hooks hooks; /* with multi */
    loop_event_fn event_fn;
    void *event_arg;
    struct loop_stats stats;
};

uint64_t loop_ud_pack(enum loop_ud_tag tag, uint32_t index, uint32_t gen) {
    return (uint64_t)gen << 32 | (uint64_t)(index & 0x3fffffffu) << 2 | (uint64_t)tag;
}

void loop_ud_unpack(uint64_t ud, enum loop_ud_tag *tag, uint32_t *index, uint32_t *gen) {
    *tag = (enum loop_ud_tag)(ud & 3);
    *index = (uint32_t)(ud >> 2) & 0x3fffffffu;
    *gen = (uint32_t)(ud >> 32);
}

static unsigned pow2_at_least(unsigned n) {
    unsigned p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Grow the slot table: indices, not pointers, name slots, so realloc is safe. */
static int socks_grow(struct loop *l) {
    uint32_t n = l->nsocks ? l->nsocks * 2 : 64;
    if (n > 0x3fffffffu)
        return -ENOMEM;
    struct sock *v = realloc(l->socks, (size_t)n * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (uint32_t i = n; i-- > l->nsocks;) {
        v[i] = (struct sock){.fd = -1, .next = l->free_head};
        l->free_head = i;
    }
    l->socks = v;
    l->nsocks = n;
    return 0;
}

static int sock_alloc(struct loop *l, int fd, uint32_t *index) {
    if (l->free_head == NIL) {
        int err = socks_grow(l);
        if (err)
            return err;
    }
    uint32_t i = l->free_head;
    struct sock *s = &l->socks[i];
    l->free_head = s->next;
    uint32_t gen = s->gen;
    *s = (struct sock){.fd = fd, .gen = gen, .next = NIL, .live = 1};
    if (++l->live > l->stats.sockets_peak)
        l->stats.sockets_peak = l->live;
    *index = i;
    return 0;
}

static void sock_maybe_free(struct loop *l, uint32_t i) {
    struct sock *s = &l->socks[i];
    if (s->live || s->pending || s->dirty || s->fd < 0)
        return;
    s->gen++; /* anything still naming the old generation is stale */
    s->fd = -1;
    s->next = l->free_head;
    l->free_head = i;
}

static void sock_mark_dirty(struct loop *l, uint32_t i) {
    struct sock *s = &l->socks[i];
    if (s->dirty)
        return;
    s->dirty = 1;
    s->next = l->dirty_head;
    l->dirty_head = i;
}

struct io_uring_sqe *loop_sqe(struct loop *l) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        l->stats.submits++;
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

struct io_uring_sqe *loop_sqe_chain(struct loop *l, unsigned n) {
    if (n == 0 || n > l->ring.sq.ring_entries)
        return NULL;
    if (io_uring_sq_space_left(&l->ring) < n) {
        io_uring_submit(&l->ring);
        l->stats.submits++;
    }
    return loop_sqe(l);
}

void loop_sqe_set_op(struct loop *l, struct io_uring_sqe *sqe, struct loop_op *op) {
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | LOOP_UD_OP);
    l->pending++;
}

/* Make slot i's poll match what libcurl wants: cancel, arm, or free. */
static void sock_reconcile(struct loop *l, uint32_t i) {
    struct sock *s = &l->socks[i];
    s->dirty = 0;
    if (s->armed && s->armed != s->want) {
        struct io_uring_sqe *sqe = loop_sqe(l);
        s = &l->socks[i];
        io_uring_prep_poll_remove(sqe, loop_ud_pack(LOOP_UD_POLL, i, s->gen));
        io_uring_sqe_set_data64(sqe, loop_ud_pack(LOOP_UD_CANCEL, i, s->gen));
        s->armed = 0;
        s->gen++;
        s->pending++;
        l->pending++;
    }
    if (s->live && s->want && !s->armed && s->errors < POLL_ERRORS_MAX) {
        struct io_uring_sqe *sqe = loop_sqe(l);
        s = &l->socks[i];
        s->gen++;
        if (l->flags & LOOP_MULTISHOT)
            io_uring_prep_poll_multishot(sqe, s->fd, s->want);
        else
            io_uring_prep_poll_add(sqe, s->fd, s->want);
        io_uring_sqe_set_data64(sqe, loop_ud_pack(LOOP_UD_POLL, i, s->gen));
        s->armed = s->want;
        s->pending++;
        l->pending++;
        l->stats.polls_armed++;
    }
    sock_maybe_free(l, i);
}

static void flush_dirty(struct loop *l) {
    while (l->dirty_head != NIL) {
        uint32_t i = l->dirty_head;
        l->dirty_head = l->socks[i].next;
        l->socks[i].next = NIL;
        sock_reconcile(l, i);
    }
}

int loop_watch(struct loop *l, int fd, int what, uintptr_t *handle) {
    uint32_t i = NIL;
    if (*handle) {
        uint32_t h = (uint32_t)(*handle - 1);
        if (h < l->nsocks && l->socks[h].live && l->socks[h].fd == fd)
            i = h;
    }
    if (what == CURL_POLL_REMOVE) {
        *handle = 0;
        if (i == NIL)
            return 0;
        l->socks[i].live = 0;
        l->socks[i].want = 0;
        l->live--;
        sock_mark_dirty(l, i);
        return 0;
    }
    if (i == NIL) {
        int err = sock_alloc(l, fd, &i);
        if (err)
            return err;
        *handle = (uintptr_t)i + 1;
    }
    struct sock *s = &l->socks[i];
    s->want = (uint16_t)curl_poll_events(what);
    if (s->want != s->armed)
        sock_mark_dirty(l, i);
    return 0;
}

static void handle_poll(struct loop *l, uint32_t i, uint32_t gen, int res, unsigned cflags) {
    struct sock *s = &l->socks[i];
    bool final = !(cflags & IORING_CQE_F_MORE);
    if (final) {
        s->pending--;
        l->pending--;
    }
    if (!s->live || !s->armed || gen != s->gen) {
        l->stats.stale++;
        if (final)
            sock_maybe_free(l, i);
        return;
    }
    int fd = s->fd, ev = 0;
    unsigned armed = s->armed;
    if (final) {
        s->armed = 0; /* fired (one-shot) or ended (multishot): re-arm while wanted */
        sock_mark_dirty(l, i);
    }
    if (res < 0) {
        s->errors++;
        ev = CURL_CSELECT_ERR;
    } else {
        s->errors = 0;
        ev = curl_cselect(armed, (unsigned)res);
        if (!ev)
            return;
    }
    /* s may move from here on: the callback can grow the slot table. */
    l->stats.events++;
    if (l->event_fn)
        l->event_fn(l->event_arg, fd, ev);
}

static void handle_cqe(struct loop *l, uint64_t ud, int res, unsigned cflags) {
    enum loop_ud_tag tag;
    uint32_t i, gen;
    l->stats.cqes++;
    loop_ud_unpack(ud, &tag, &i, &gen);
    switch (tag) {
    case LOOP_UD_OP: {
        struct loop_op *op = (struct loop_op *)(uintptr_t)ud;
        l->pending--;
        op->done(op, res);
        return;
    }
    case LOOP_UD_CANCEL:
        if (res == -EALREADY && i < l->nsocks) {
            /* The poll was being woken when the cancel came. One-shot, it
             * completes anyway; a multishot poll can survive it (seen with
             * DEFER_TASKRUN), so ask again: the answer is 0 or -ENOENT. */
            struct io_uring_sqe *sqe = loop_sqe(l);
            io_uring_prep_poll_remove(sqe, loop_ud_pack(LOOP_UD_POLL, i, gen));
            io_uring_sqe_set_data64(sqe, ud);
            l->stats.cancel_retries++;
            return;
        }
        if (i < l->nsocks) {
            l->socks[i].pending--;
            l->pending--;
            sock_maybe_free(l, i);
        }
        return;
    case LOOP_UD_POLL:
        if (i < l->nsocks)
            handle_poll(l, i, gen, res, cflags);
        return;
    }
}

/* Never -1 (fatal to every transfer): a socket that cannot be watched is
 * the driver's to fail, through the hooks. */
static int curl_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    struct loop *l = userp;
    uintptr_t h = (uintptr_t)socketp;
    int err = curl_watch_fault(what);
    if (!err)
        err = loop_watch(l, fd, what, &h);
    if (!err && what != CURL_POLL_REMOVE && h != (uintptr_t)socketp &&
        curl_multi_assign(l->multi, fd, (void *)h) != CURLM_OK) {
        /* libcurl could not keep the context: without it the socket's
         * removal would never find its slot, so take it back now. */
        loop_watch(l, fd, CURL_POLL_REMOVE, &h);
        err = -EINVAL;
    }
    if (err && l->hooks.on_watch_error)
        l->hooks.on_watch_error(l->hooks.arg, easy, what, err);
    return 0;
}

/* libcurl's next deadline becomes the bound of the loop's wait; it is never
 * acted on here (no re-entry into libcurl from its own callback). */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
    struct loop *l = userp;
    (void)multi;
    l->deadline_ns = timeout_ms < 0 ? NO_DEADLINE : clock_now_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

int loop_attach_curl(struct loop *l, CURLM *multi, const struct loop_curl_hooks *hooks) {
    l->multi = multi;
    l->hooks = *hooks;
    l->event_fn = hooks->on_event;
    l->event_arg = hooks->arg;
    if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, l) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, l) != CURLM_OK)
        return -EINVAL;
    return 0;
}

void loop_set_event_fn(struct loop *l, loop_event_fn fn, void *arg) {
    l->event_fn = fn;
    l->event_arg = arg;
}

int loop_run_once(struct loop *l, int max_wait_ms) {
    struct io_uring_cqe *cqe;
    flush_dirty(l);

    int64_t wait_ns = -1;
    if (l->deadline_ns != NO_DEADLINE) {
        wait_ns = l->deadline_ns - clock_now_ns();
        if (wait_ns < 0)
            wait_ns = 0;
    }
    if (max_wait_ms >= 0 && (wait_ns < 0 || wait_ns > (int64_t)max_wait_ms * 1000000))
        wait_ns = (int64_t)max_wait_ms * 1000000;
    if (wait_ns < 0 && l->pending == 0)
        wait_ns = 0; /* nothing can ever complete: don't sleep forever */

    int ret;
    l->stats.iterations++;
    l->stats.submits++;
    if (wait_ns < 0) {
        ret = io_uring_submit_and_wait(&l->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = wait_ns / 1000000000,
                                       .tv_nsec = wait_ns % 1000000000};
        ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
    }
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
        return ret;

    /* Copy a batch out and release its CQ slots before running callbacks:
     * they may submit, and inline completions need CQ room. */
    for (;;) {
        struct io_uring_cqe *batch[CQE_BATCH];
        struct {
            uint64_t ud;
            int res;
            unsigned flags;
        } c[CQE_BATCH];
        unsigned n = io_uring_peek_batch_cqe(&l->ring, batch, CQE_BATCH);
        if (n == 0)
            break;
        for (unsigned k = 0; k < n; k++) {
            c[k].ud = batch[k]->user_data;
            c[k].res = batch[k]->res;
            c[k].flags = batch[k]->flags;
        }
        io_uring_cq_advance(&l->ring, n);
        for (unsigned k = 0; k < n; k++)
            handle_cqe(l, c[k].ud, c[k].res, c[k].flags);
    }

    if (l->multi && l->deadline_ns != NO_DEADLINE && clock_now_ns() >= l->deadline_ns) {
        l->deadline_ns = NO_DEADLINE; /* the handler may set the next one */
        l->stats.timeouts++;
        if (l->hooks.on_timeout)
            l->hooks.on_timeout(l->hooks.arg);
    }
    return 0;
}

int loop_new(struct loop **out, unsigned max_sockets, unsigned flags) {
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->flags = flags;
    l->free_head = l->dirty_head = NIL;
    l->deadline_ns = NO_DEADLINE;

    /* Room to arm or cancel every socket's poll in one submission, and a
     * completion queue with room for a few CQEs per socket. */
    unsigned want = max_sockets < 32 ? 64 : max_sockets * 2;
    unsigned sq = pow2_at_least(want > 16384 ? 16384 : want);
    unsigned cq = sq * 4 > 65536 ? 65536 : sq * 4;
    static const unsigned setups[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int ret = -EINVAL;
    for (size_t k = 0; k < sizeof setups / sizeof setups[0]; k++) {
        struct io_uring_params p = {.flags = setups[k] | IORING_SETUP_CQSIZE, .cq_entries = cq};
        ret = io_uring_queue_init_params(sq, &l->ring, &p);
        if (ret != -EINVAL)
            break;
    }
    if (ret < 0) {
        free(l);
        return ret;
    }
    io_uring_register_ring_fd(&l->ring); /* an optimisation; fine if refused */
    do {
        if (socks_grow(l) < 0) {
            loop_free(l);
            return -ENOMEM;
        }
    } while (l->nsocks < max_sockets);
    *out = l;
    return 0;
}

void loop_free(struct loop *l) {
    if (!l)
        return;
    io_uring_queue_exit(&l->ring);
    free(l->socks);
    free(l);
}

struct io_uring *loop_ring(struct loop *l) {
    return &l->ring;
}

unsigned loop_pending(const struct loop *l) {
    return l->pending + (l->dirty_head != NIL); /* a dirty slot may still need a cancel */
}

unsigned loop_sockets(const struct loop *l) {
    return l->live;
}

const struct loop_stats *loop_get_stats(const struct loop *l) {
    return &l->stats;
}

/* server.c — the io_uring event loop and the life of a connection. What a
 * request gets is respond.c's: this file reads requests, waits out delays and
 * sends the replies respond() prepares. Over TLS (tls.h) the loop does the
 * same recvs and sends, of ciphertext: a connection's tls member, when set,
 * is where they go through, and everything else is the same. */
#include "server.h"
#include "clock.h"
#include "http.h"
#include "listen.h"
#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE       16384 /* headers (8 KiB) + a small body + pipelined bytes */
#define MAX_HEADER      8192
#define RING_ENTRIES    4096
#define DRAIN_NS        2000000000ll /* lingering close after an error */
#define ACCEPT_RETRY_NS 50000000ll   /* after accept failed (EMFILE...) */
#define BUSY_SLOTS      64           /* TLS: slots to say 503 in, beyond --max-conns */

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CANCEL, OP_SIGNAL };

#define UD(op, slot) ((uint64_t)(slot) << 8 | (uint64_t)(op))
#define UD_OP(ud)    ((enum op)((ud)&0xff))
#define UD_SLOT(ud)  ((uint32_t)((ud) >> 8))

enum state {
    ST_FREE,
    ST_HANDSHAKE, /* TLS: the handshake is not over */
    ST_READ,      /* waiting for a request */
    ST_DELAY,     /* request received, waiting on its delay timer */
    ST_SEND,      /* sendmsg in flight */
    ST_DRIP,      /* chaos slow: waiting for the next drip */
    ST_STALL,     /* chaos stall/stallbody: never answering, reading to see the close */
    ST_DRAIN,     /* error sent, write side shut, reading until EOF (lingering close) */
    ST_CLOSING,   /* waiting for in-flight operations before close(2) */
};

struct conn {
    int fd;
    uint32_t gen; /* bumped at close: timers of an old connection are stale */
    enum state state;
    bool recv_inflight, send_inflight;
    bool in_lru;
    bool busy;            /* beyond --max-conns: 503 once the handshake is over */
    bool said_goodbye;    /* TLS: close_notify queued */
    bool hang_up;         /* TLS fault cut: close once this send completes */
    struct tls_conn *tls; /* NULL: plain HTTP */
    size_t consumed; /* bytes of rbuf the current request used */
    char *rbuf;      /* RBUF_SIZE, kept while the slot is reused */
    size_t rlen;
    struct msghdr msg; /* what is left to send of rep's iovecs */
    int64_t idle_deadline;
    struct conn *lru_prev, *lru_next;
    struct reply rep; /* the response being prepared or sent */
};

struct timer {
    int64_t when;
    uint32_t slot, gen; /* slot UINT32_MAX: re-arm accept */
};

struct server {
    const struct server_config *cfg;
    struct io_uring ring;
    int lfd, sfd;
    struct conn *conns;
    uint32_t *free_slots;
    size_t nfree;
    unsigned max_conns; /* the cap on connections served */
    unsigned nslots;    /* and room for BUSY_SLOTS more over TLS */
    struct timer *heap;
    size_t nheap, heap_cap;
    struct conn *lru_head, *lru_tail;
    int64_t idle_ns;
    int64_t now; /* of the last wake-up */
    struct responder resp;
    struct tls_ctx *tls; /* NULL: plain HTTP */
    struct signalfd_siginfo siginfo;
    bool stop;
    bool single_accept; /* the kernel has no multishot accept */
};

/* ---- timers: a binary min-heap on deadline ---- */

static int timer_add(struct server *s, int64_t when, uint32_t slot, uint32_t gen) {
    if (s->nheap == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 1024;
        struct timer *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->heap_cap = cap;
    }
    size_t i = s->nheap++;
    while (i > 0 && s->heap[(i - 1) / 2].when > when) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = (struct timer){when, slot, gen};
    return 0;
}

static struct timer timer_pop(struct server *s) {
    struct timer top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && s->heap[c + 1].when < s->heap[c].when)
            c++;
        if (s->heap[c].when >= last.when)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheap)
        s->heap[i] = last;
    return top;
}

/* ---- idle list: connections waiting for a request, oldest first ---- */

static void lru_remove(struct server *s, struct conn *c) {
    if (!c->in_lru)
        return;
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        s->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        s->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
    c->in_lru = false;
}

/* The deadline is set when the wait for a request begins and is not moved
 * by partial data, so a slowloris client cannot hold a connection open. */
static void lru_append(struct server *s, struct conn *c) {
    if (c->in_lru)
        return;
    c->idle_deadline = s->now + s->idle_ns;
    c->lru_prev = s->lru_tail;
    c->lru_next = NULL;
    if (s->lru_tail)
        s->lru_tail->lru_next = c;
    else
        s->lru_head = c;
    s->lru_tail = c;
    c->in_lru = true;
}

/* ---- submissions ---- */

static struct io_uring_sqe *get_sqe(struct server *s) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    return sqe; /* never NULL right after a submit drained the queue */
}

static uint32_t slot_of(struct server *s, struct conn *c) {
    return (uint32_t)(c - s->conns);
}

static void post_accept(struct server *s) {
    struct io_uring_sqe *sqe = get_sqe(s);
    if (s->single_accept)
        io_uring_prep_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_multishot_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, 0));
}

static void post_signal_read(struct server *s) {
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_read(sqe, s->sfd, &s->siginfo, sizeof s->siginfo, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_SIGNAL, 0));
}

static void post_recv(struct server *s, struct conn *c) {
    if (c->recv_inflight)
        return;
    void *buf = c->rbuf + c->rlen;
    size_t len = RBUF_SIZE - c->rlen;
    /* Reading while stalled or draining only watches for the close. */
    if (c->state == ST_STALL || c->state == ST_DRAIN) {
        c->rlen = 0;
        buf = c->rbuf;
        len = RBUF_SIZE;
    } else if (c->tls) { /* ciphertext, into the BIO pair */
        len = tls_room(c->tls, &buf);
    }
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_recv(sqe, c->fd, buf, len, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_RECV, slot_of(s, c)));
    c->recv_inflight = true;
}

/* TLS: send up to cap bytes of the ciphertext waiting in the pair. */
static void post_flush(struct server *s, struct conn *c, size_t cap) {
    void *p;
    size_t n = tls_pending(c->tls, &p);
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_send(sqe, c->fd, p, n < cap ? n : cap, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UD(OP_SEND, slot_of(s, c)));
    c->send_inflight = true;
}

static void send_done(struct server *s, struct conn *c);
static void conn_close(struct server *s, struct conn *c, bool reset);

/* Drop the first n bytes of what msg has left to send. */
static void msg_advance(struct msghdr *msg, size_t n) {
    while (msg->msg_iovlen && n >= msg->msg_iov[0].iov_len) {
        n -= msg->msg_iov[0].iov_len;
        msg->msg_iov++;
        msg->msg_iovlen--;
    }
    if (msg->msg_iovlen) {
        msg->msg_iov[0].iov_base = (char *)msg->msg_iov[0].iov_base + n;
        msg->msg_iov[0].iov_len -= n;
    }
}

/* TLS: encrypt as much of the reply as the pair has room for, behind what
 * is pending there (tickets, say), and send it all; with nothing left at
 * all, the reply is done. A reply the connection closes after takes its
 * close_notify along in the same send. */
static void tls_send_reply(struct server *s, struct conn *c) {
    void *p;
    bool failed;
    msg_advance(&c->msg, tls_encrypt(c->tls, c->msg.msg_iov, c->msg.msg_iovlen, &failed));
    if (failed) {
        conn_close(s, c, false);
        return;
    }
    if (!c->msg.msg_iovlen && !c->said_goodbye &&
        (c->rep.after == AFTER_CLOSE || c->rep.after == AFTER_DRAIN)) {
        c->said_goodbye = true;
        tls_close_notify(c->tls);
    }
    if (!tls_pending(c->tls, &p)) {
        send_done(s, c);
        return;
    }
    post_flush(s, c, SIZE_MAX);
}

static void post_send(struct server *s, struct conn *c) {
    c->state = ST_SEND;
    if (c->tls) {
        tls_send_reply(s, c);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UD(OP_SEND, slot_of(s, c)));
    c->send_inflight = true;
}

/* ---- connection life ---- */

static void conn_release(struct server *s, struct conn *c) {
    if (c->recv_inflight || c->send_inflight)
        return;
    close(c->fd);
    tls_conn_free(c->tls);
    c->tls = NULL;
    c->fd = -1;
    c->gen++;
    c->state = ST_FREE;
    s->free_slots[s->nfree++] = slot_of(s, c);
    if (!c->busy)
        s->resp.st.conns_open--;
}

/* Close now, or as soon as the operations in flight are cancelled. A reset
 * close sets SO_LINGER 0 so close(2) sends RST instead of FIN. */
static void conn_close(struct server *s, struct conn *c, bool reset) {
    if (c->state == ST_CLOSING || c->state == ST_FREE)
        return;
    lru_remove(s, c);
    respond_done(&s->resp, &c->rep);
    /* A handshake that began and never finished: the peer gave up, timed
     * out, or sent what OpenSSL refused. */
    if (c->state == ST_HANDSHAKE && c->tls && tls_started(c->tls))
        s->resp.st.tls_failed++;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    c->state = ST_CLOSING;
    if (c->recv_inflight) {
        struct io_uring_sqe *sqe = get_sqe(s);
        io_uring_prep_cancel64(sqe, UD(OP_RECV, slot_of(s, c)), 0);
        io_uring_sqe_set_data64(sqe, UD(OP_CANCEL, slot_of(s, c)));
    }
    conn_release(s, c);
}

/* ---- responses ---- */

static void set_msg(struct conn *c) {
    c->msg = (struct msghdr){.msg_iov = c->rep.iov, .msg_iovlen = c->rep.niov};
}

static void log_request(struct server *s, struct conn *c) {
    if (s->cfg->verbosity < 2)
        return;
    struct http_request req;
    if (http_parse_request(c->rbuf, c->rlen, MAX_HEADER, &req) == HTTP_COMPLETE)
        fprintf(stderr, "%.*s %.*s %d%s%s\n", (int)req.method_len, req.method_str,
                (int)req.target_len, req.target, c->rep.status, c->rep.chaos ? " chaos=" : "",
                c->rep.chaos ? chaos_name(c->rep.chaos) : "");
    else
        fprintf(stderr, "- - %d\n", c->rep.status);
}

/* Start sending the prepared response (after its delay, if any). */
static void start_send(struct server *s, struct conn *c) {
    if (c->rep.status > 0 && c->rep.status < MAX_STATUS)
        s->resp.st.by_status[c->rep.status]++;
    log_request(s, c);
    set_msg(c);
    if (c->msg.msg_iovlen == 0) { /* chaos stall: nothing, ever */
        c->state = ST_STALL;
        lru_append(s, c);
        post_recv(s, c);
        return;
    }
    post_send(s, c);
}

/* Answer a request we could not parse, then close gracefully. */
static void error_response(struct server *s, struct conn *c, int status) {
    respond_error(&s->resp, status, &c->rep);
    c->consumed = c->rlen;
    lru_remove(s, c);
    start_send(s, c);
}

/* TLS: decrypt what has arrived into rbuf, as far as it has room. false
 * once the peer has closed (close_notify) or sent a bad record. */
static bool tls_fill(struct conn *c) {
    while (c->rlen < RBUF_SIZE) {
        size_t got;
        enum tls_step st = tls_read(c->tls, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, &got);
        if (st == TLS_AGAIN)
            return true;
        if (st != TLS_OK)
            return false;
        c->rlen += got;
    }
    return true;
}

static void process_input(struct server *s, struct conn *c) {
    struct http_request req;
    c->state = ST_READ;
    bool open = !c->tls || tls_fill(c);
    enum http_parse r = http_parse_request(c->rbuf, c->rlen, MAX_HEADER, &req);
    switch (r) {
    case HTTP_INCOMPLETE:
        if (c->rlen == RBUF_SIZE) { /* cannot happen with the parser's limits */
            error_response(s, c, 431);
            return;
        }
        if (!open) {
            conn_close(s, c, false);
            return;
        }
        lru_append(s, c);
        void *p;
        if (c->tls && tls_pending(c->tls, &p) && !tls_output_can_wait(c->tls)) {
            post_flush(s, c, SIZE_MAX); /* TLS 1.2's Finished: the client waits for it */
            return;
        }
        post_recv(s, c);
        return;
    case HTTP_BAD:
        error_response(s, c, 400);
        return;
    case HTTP_TOO_LARGE:
        error_response(s, c, 431);
        return;
    case HTTP_BODY_LARGE:
        error_response(s, c, 413);
        return;
    case HTTP_COMPLETE:
        break;
    }
    lru_remove(s, c);
    c->consumed = req.total;
    respond(&s->resp, &req, &c->rep);
    int64_t delay = c->rep.delay_ns;
    if (delay > 0 && timer_add(s, s->now + delay, slot_of(s, c), c->gen) == 0) {
        c->state = ST_DELAY;
        return;
    }
    start_send(s, c);
}

/* The request that was just answered is over: on to the next one. */
static void next_request(struct server *s, struct conn *c) {
    respond_done(&s->resp, &c->rep);
    memmove(c->rbuf, c->rbuf + c->consumed, c->rlen - c->consumed);
    c->rlen -= c->consumed;
    c->consumed = 0;
    process_input(s, c);
}

/* TLS: an orderly close says so first (close_notify), so a client can
 * tell the end from a cut. true when that is being sent: send_done comes
 * back once it is. */
static bool say_goodbye(struct server *s, struct conn *c) {
    void *p;
    if (!c->tls || c->said_goodbye)
        return false;
    c->said_goodbye = true;
    tls_close_notify(c->tls);
    if (!tls_pending(c->tls, &p))
        return false;
    post_flush(s, c, SIZE_MAX);
    return true;
}

static void send_done(struct server *s, struct conn *c) {
    switch (c->rep.after) {
    case AFTER_NEXT:
        next_request(s, c);
        return;
    case AFTER_CLOSE:
        if (!say_goodbye(s, c))
            conn_close(s, c, false);
        return;
    case AFTER_RESET:
        conn_close(s, c, true);
        return;
    case AFTER_DRAIN:
        /* Closing with unread input would send RST and could destroy the
         * error response in flight; shut the write side and read to EOF. */
        if (say_goodbye(s, c))
            return;
        respond_done(&s->resp, &c->rep);
        shutdown(c->fd, SHUT_WR);
        c->state = ST_DRAIN;
        timer_add(s, s->now + DRAIN_NS, slot_of(s, c), c->gen);
        post_recv(s, c);
        return;
    case AFTER_STALL:
        c->state = ST_STALL;
        lru_append(s, c);
        post_recv(s, c);
        return;
    case AFTER_OVERSIZE:
        if (!respond_oversize_chunk(&s->resp, &c->rep)) {
            conn_close(s, c, false);
            return;
        }
        set_msg(c);
        post_send(s, c);
        return;
    case AFTER_DRIP:
        if (!c->rep.rest_len) {
            next_request(s, c);
            return;
        }
        c->state = ST_DRIP;
        if (timer_add(s, s->now + DRIP_INTERVAL_NS, slot_of(s, c), c->gen))
            conn_close(s, c, false);
        return;
    }
}

static void drip(struct server *s, struct conn *c) {
    respond_drip(&c->rep);
    set_msg(c);
    post_send(s, c);
}

/* ---- completions ---- */

static void on_accept(struct server *s, const struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        /* Multishot ended (an error such as EMFILE): try again shortly
         * rather than spin. Kernels before 5.19 refuse multishot. */
        if (cqe->res == -EINVAL && !s->single_accept) {
            s->single_accept = true;
            post_accept(s);
            return;
        }
        if (cqe->res < 0)
            timer_add(s, s->now + ACCEPT_RETRY_NS, UINT32_MAX, 0);
        else
            post_accept(s);
    }
    if (cqe->res < 0) {
        if (s->cfg->verbosity >= 1)
            fprintf(stderr, "flagserver: accept: %s\n", strerror(-cqe->res));
        return;
    }
    int fd = cqe->res;
    struct stats *st = &s->resp.st;
    st->conns_total++;
    /* Beyond the cap: 503 at once over HTTP; over TLS, after a handshake
     * in one of the spare slots, or (none left) a plain close. */
    bool busy = st->conns_open >= s->max_conns;
    if (busy)
        st->refused++;
    if (busy && (!s->tls || !s->nfree)) {
        struct reply r;
        respond_busy(&r);
        if (!s->tls &&
            send(fd, r.iov[0].iov_base, r.iov[0].iov_len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            /* nothing to do: the client sees the close */
        }
        close(fd);
        return;
    }
    struct conn *c = &s->conns[s->free_slots[--s->nfree]];
    if (!c->rbuf && !(c->rbuf = malloc(RBUF_SIZE))) {
        s->free_slots[s->nfree++] = slot_of(s, c);
        close(fd);
        return;
    }
    c->tls = NULL;
    if (s->tls && !(c->tls = tls_conn_new(s->tls))) {
        s->free_slots[s->nfree++] = slot_of(s, c);
        close(fd);
        return;
    }
    c->fd = fd;
    c->rlen = c->consumed = 0;
    c->recv_inflight = c->send_inflight = false;
    c->said_goodbye = c->hang_up = false;
    c->busy = busy;
    c->rep.in_progress = false;
    c->rep.dyn = NULL;
    if (!busy && ++st->conns_open > st->conns_peak)
        st->conns_peak = st->conns_open;
    c->state = ST_READ;
    if (c->tls)
        c->state = s->cfg->tls.fault == TLS_FAULT_SILENT ? ST_STALL : ST_HANDSHAKE;
    lru_append(s, c);
    post_recv(s, c);
}

/* A receive or send of c completed (inflight is its flag): false when the
 * caller has nothing more to do, because c was closing (released here once
 * nothing of it is in flight) or the operation failed (c closed here). */
static bool io_completed(struct server *s, struct conn *c, bool *inflight, bool failed) {
    *inflight = false;
    if (c->state == ST_CLOSING) {
        conn_release(s, c);
        return false;
    }
    if (failed) {
        conn_close(s, c, false);
        return false;
    }
    return true;
}

/* TLS: the handshake goes as far as what has arrived lets it; what it
 * wrote is sent, and once it is over the request is read. */
static void tls_progress(struct server *s, struct conn *c) {
    enum tls_step st = tls_handshake(c->tls);
    void *p;
    size_t pending = tls_pending(c->tls, &p);
    if (st == TLS_FAILED) {
        if (s->cfg->verbosity >= 2)
            fprintf(stderr, "flagserver: TLS handshake failed: %s\n", tls_last_error());
        c->hang_up = true; /* after the alert, if there is one */
        if (pending)
            post_flush(s, c, SIZE_MAX);
        else
            conn_close(s, c, false);
        return;
    }
    if (st == TLS_AGAIN && pending && s->cfg->tls.fault == TLS_FAULT_CUT) {
        c->hang_up = true;
        post_flush(s, c, pending / 2);
        return;
    }
    if (st == TLS_AGAIN) {
        if (pending)
            post_flush(s, c, SIZE_MAX);
        else
            post_recv(s, c);
        return;
    }
    if (tls_resumed(c->tls))
        s->resp.st.tls_resumed++;
    else
        s->resp.st.tls_full++;
    if (c->busy) {
        respond_busy(&c->rep);
        lru_remove(s, c);
        start_send(s, c);
        return;
    }
    process_input(s, c);
}

static void on_recv(struct server *s, struct conn *c, int res) {
    /* res 0: EOF (a half-close too: nothing is pending) */
    if (!io_completed(s, c, &c->recv_inflight, res <= 0))
        return;
    if (c->state == ST_STALL || c->state == ST_DRAIN) {
        post_recv(s, c);
        return;
    }
    if (!c->tls) {
        c->rlen += (size_t)res;
        process_input(s, c);
        return;
    }
    tls_received(c->tls, (size_t)res);
    if (c->state != ST_HANDSHAKE) {
        process_input(s, c);
    } else if (s->cfg->tls.fault == TLS_FAULT_GARBAGE) {
        /* Answer the ClientHello as a plain HTTP server would. */
        tls_conn_free(c->tls);
        c->tls = NULL;
        error_response(s, c, 400);
    } else {
        tls_progress(s, c);
    }
}

/* TLS: n bytes of ciphertext went out. Send the rest; then go on with what
 * the connection was doing: its handshake, waiting for a request (TLS 1.2's
 * Finished went out first), or its reply. */
static void tls_on_send(struct server *s, struct conn *c, size_t n) {
    void *p;
    tls_sent(c->tls, n);
    if (c->hang_up) {
        conn_close(s, c, false);
        return;
    }
    if (tls_pending(c->tls, &p)) {
        post_flush(s, c, SIZE_MAX);
        return;
    }
    if (c->state == ST_HANDSHAKE)
        tls_progress(s, c);
    else if (c->state == ST_READ)
        post_recv(s, c);
    else if (c->msg.msg_iovlen && !c->said_goodbye)
        tls_send_reply(s, c);
    else
        send_done(s, c);
}

static void on_send(struct server *s, struct conn *c, int res) {
    if (!io_completed(s, c, &c->send_inflight, res < 0))
        return;
    if (c->tls) {
        tls_on_send(s, c, (size_t)res);
        return;
    }
    msg_advance(&c->msg, (size_t)res);
    if (c->msg.msg_iovlen) {
        post_send(s, c);
        return;
    }
    send_done(s, c);
}

static void on_timer(struct server *s, struct timer t) {
    if (t.slot == UINT32_MAX) {
        post_accept(s);
        return;
    }
    struct conn *c = &s->conns[t.slot];
    if (c->gen != t.gen)
        return;
    if (c->state == ST_DELAY)
        start_send(s, c);
    else if (c->state == ST_DRIP)
        drip(s, c);
    else if (c->state == ST_DRAIN)
        conn_close(s, c, false);
}

static void expire(struct server *s) {
    while (s->nheap && s->heap[0].when <= s->now)
        on_timer(s, timer_pop(s));
    while (s->lru_head && s->lru_head->idle_deadline <= s->now)
        conn_close(s, s->lru_head, false);
}

/* ---- setup ---- */

static int ring_init(struct io_uring *ring) {
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int err = -EINVAL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct io_uring_params p = {0};
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = RING_ENTRIES * 8;
        err = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
        if (err != -EINVAL)
            return err;
    }
    return err;
}

static void server_free(struct server *s) {
    /* Stop listening now: the ring's multishot accept holds the socket
     * open until the kernel tears the ring down, after the process has
     * exited, and until then connections to the port were accepted. */
    if (s->lfd >= 0)
        shutdown(s->lfd, SHUT_RDWR);
    /* The ring first: receives in flight name the connections' buffers,
     * and on a kernel without DEFER_TASKRUN one may still complete into
     * its buffer until the ring is gone. */
    if (s->ring.ring_fd > 0)
        io_uring_queue_exit(&s->ring);
    if (s->conns) {
        for (unsigned i = 0; i < s->nslots; i++) {
            if (s->conns[i].state != ST_FREE && s->conns[i].fd >= 0)
                close(s->conns[i].fd);
            tls_conn_free(s->conns[i].tls);
            free(s->conns[i].rbuf);
            free(s->conns[i].rep.dyn);
        }
    }
    free(s->conns);
    free(s->free_slots);
    free(s->heap);
    responder_free(&s->resp);
    tls_ctx_free(s->tls);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->sfd >= 0)
        close(s->sfd);
}

/* Everything before the first wait: memory, signals, the listening socket,
 * the ring, the port file. 0, or -errno (said on stderr where it helps). */
static int server_setup(struct server *s, const struct server_config *cfg) {
    unsigned port = 0;
    sigset_t mask;
    int err;

    s->idle_ns = (int64_t)(cfg->idle_timeout * 1e9);
    unsigned spare = cfg->tls.on ? BUSY_SLOTS : 0;
    s->nslots = fit_max_conns(cfg->max_conns + spare, cfg->verbosity);
    s->max_conns = s->nslots > spare ? s->nslots - spare : s->nslots;
    if ((err = responder_init(&s->resp, cfg, s->max_conns)))
        return err;
    s->conns = calloc(s->nslots, sizeof *s->conns);
    s->free_slots = malloc(s->nslots * sizeof *s->free_slots);
    if (!s->conns || !s->free_slots)
        return -ENOMEM;
    for (unsigned i = 0; i < s->nslots; i++) {
        s->conns[i].fd = -1;
        s->free_slots[i] = s->nslots - 1 - i;
    }
    s->nfree = s->nslots;
    /* The certificate is ready (and written) before the port file appears:
     * whoever waits for one can read the other. */
    if (cfg->tls.on) {
        char why[512];
        if (!(s->tls = tls_ctx_new(&cfg->tls, cfg->bind_addr, why, sizeof why))) {
            fprintf(stderr, "flagserver: TLS: %s\n", why);
            return -EINVAL;
        }
        if (cfg->tls.cert_out && (err = tls_ctx_write_cert(s->tls, cfg->tls.cert_out))) {
            fprintf(stderr, "flagserver: %s: %s\n", cfg->tls.cert_out, strerror(-err));
            return err;
        }
    }

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (s->sfd < 0)
        return -errno;
    s->lfd = listen_socket(cfg->bind_addr, cfg->port, &port);
    if (s->lfd < 0) {
        fprintf(stderr, "flagserver: cannot listen on %s port %u: %s\n", cfg->bind_addr, cfg->port,
                strerror(-s->lfd));
        return s->lfd;
    }
    if ((err = ring_init(&s->ring))) {
        fprintf(stderr, "flagserver: io_uring: %s\n", strerror(-err));
        return err;
    }
    if (cfg->port_file && (err = write_port_file(cfg->port_file, port))) {
        fprintf(stderr, "flagserver: %s: %s\n", cfg->port_file, strerror(-err));
        return err;
    }
    if (cfg->verbosity >= 1)
        fprintf(stderr,
                "flagserver: %zu flags (%s, %.1f MB) on http%s://%s%s%s:%u/flags/ "
                "(delay %g-%g s, error rate %g%s%s)\n",
                cfg->ds->nflags, cfg->source, (double)cfg->ds->total_bytes / 1e6, s->tls ? "s" : "",
                strchr(cfg->bind_addr, ':') ? "[" : "", cfg->bind_addr,
                strchr(cfg->bind_addr, ':') ? "]" : "", port, cfg->delay_min, cfg->delay_max,
                cfg->error_rate, s->tls ? "; " : "", s->tls ? tls_ctx_describe(s->tls) : "");

    s->now = s->resp.now = s->resp.started = clock_now_ns();
    post_accept(s);
    post_signal_read(s);
    return 0;
}

/* The earliest timer or idle deadline, or INT64_MAX when there is none. */
static int64_t next_deadline(const struct server *s) {
    int64_t next = INT64_MAX;
    if (s->nheap)
        next = s->heap[0].when;
    if (s->lru_head && s->lru_head->idle_deadline < next)
        next = s->lru_head->idle_deadline;
    return next;
}

/* One completion: what it was is in its user data. */
static void dispatch(struct server *s, const struct io_uring_cqe *cqe) {
    uint64_t ud = cqe->user_data;
    switch (UD_OP(ud)) {
    case OP_ACCEPT:
        on_accept(s, cqe);
        break;
    case OP_RECV:
        on_recv(s, &s->conns[UD_SLOT(ud)], cqe->res);
        break;
    case OP_SEND:
        on_send(s, &s->conns[UD_SLOT(ud)], cqe->res);
        break;
    case OP_SIGNAL:
        s->stop = true;
        break;
    case OP_CANCEL:
        break;
    }
}

/* Submit, wait for a completion or the next deadline, dispatch every
 * completion, then the timers that are due. 0, or -errno from the ring. */
static int process_events(struct server *s) {
    struct __kernel_timespec ts, *tsp = NULL;
    int64_t next = next_deadline(s);
    if (next != INT64_MAX) {
        int64_t wait = next - clock_now_ns();
        if (wait < 0)
            wait = 0;
        ts.tv_sec = wait / 1000000000ll;
        ts.tv_nsec = wait % 1000000000ll;
        tsp = &ts;
    }
    struct io_uring_cqe *cqe;
    int r = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, tsp, NULL);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) {
        fprintf(stderr, "flagserver: io_uring_enter: %s\n", strerror(-r));
        return r;
    }
    s->now = s->resp.now = clock_now_ns();
    unsigned head, n = 0;
    io_uring_for_each_cqe(&s->ring, head, cqe) {
        n++;
        dispatch(s, cqe);
    }
    io_uring_cq_advance(&s->ring, n);
    expire(s);
    return 0;
}

int server_run(const struct server_config *cfg) {
    struct server srv = {.cfg = cfg, .lfd = -1, .sfd = -1};
    int err = server_setup(&srv, cfg);
    while (!err && !srv.stop)
        err = process_events(&srv);
    if (cfg->verbosity >= 1 && !err)
        fprintf(stderr, "flagserver: shutting down (%" PRIu64 " requests)\n", srv.resp.st.requests);
    server_free(&srv);
    return err;
}

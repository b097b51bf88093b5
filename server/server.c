/* server.c — the io_uring event loop, routing, responses, stats and chaos. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "server.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE        16384 /* headers (8 KiB) + a small body + pipelined bytes */
#define MAX_HEADER       8192
#define HDR_SIZE         640 /* a response's status line and headers */
#define RING_ENTRIES     4096
#define FILLER_SIZE      (100 * 1024) /* longheader line, oversize chunks */
#define OVERSIZE_LIMIT   (64u << 20)
#define OVERSIZE_CHUNK   (64 * 1024)
#define DRIP_BYTES       100
#define DRIP_INTERVAL_NS 100000000ll
#define DRAIN_NS         2000000000ll /* lingering close after an error */
#define MAX_STATUS       600

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CANCEL, OP_SIGNAL };

#define UD(op, slot) ((uint64_t)(slot) << 8 | (uint64_t)(op))
#define UD_OP(ud)    ((enum op)((ud)&0xff))
#define UD_SLOT(ud)  ((uint32_t)((ud) >> 8))

enum state {
    ST_FREE,
    ST_READ,    /* waiting for a request */
    ST_DELAY,   /* request received, waiting on its delay timer */
    ST_SEND,    /* sendmsg in flight */
    ST_DRIP,    /* chaos slow: waiting for the next drip */
    ST_STALL,   /* chaos stall/stallbody: never answering, reading to see the close */
    ST_DRAIN,   /* error sent, write side shut, reading until EOF (lingering close) */
    ST_CLOSING, /* waiting for in-flight operations before close(2) */
};

/* What follows once the current send is complete. */
enum after {
    AFTER_NEXT,
    AFTER_CLOSE,
    AFTER_DRAIN,
    AFTER_RESET,
    AFTER_STALL,
    AFTER_OVERSIZE,
    AFTER_DRIP
};

struct conn {
    int fd;
    uint32_t gen; /* bumped at close: timers of an old connection are stale */
    enum state state;
    enum after after;
    bool recv_inflight, send_inflight;
    bool in_progress; /* counted in stats.in_progress */
    bool in_lru;
    int status; /* of the response being prepared or sent */
    enum chaos_mode chaos;
    size_t consumed; /* bytes of rbuf the current request used */
    char *rbuf;      /* RBUF_SIZE, kept while the slot is reused */
    size_t rlen;
    struct msghdr msg;
    struct iovec iov[5];
    const uint8_t *rest; /* chaos slow: body still to drip */
    size_t rest_len;
    size_t streamed; /* chaos oversize: body bytes so far */
    char *dyn;       /* a malloc'd body (/stats), freed after the send */
    int64_t idle_deadline;
    struct conn *lru_prev, *lru_next;
    char hdr[HDR_SIZE];
    char tail[32]; /* chunk framing */
};

struct timer {
    int64_t when;
    uint32_t slot, gen; /* slot UINT32_MAX: re-arm accept */
};

struct stats {
    uint64_t requests, by_status[MAX_STATUS], conns_total, refused;
    uint64_t conns_open, conns_peak, in_progress, in_progress_peak;
};

struct server {
    const struct server_config *cfg;
    struct io_uring ring;
    int lfd, sfd;
    struct conn *conns;
    uint32_t *free_slots;
    size_t nfree;
    unsigned max_conns;
    struct timer *heap;
    size_t nheap, heap_cap;
    struct conn *lru_head, *lru_tail;
    int64_t idle_ns;
    int64_t now;
    uint64_t rng;
    uint64_t redirects;
    struct stats st;
    struct signalfd_siginfo siginfo;
    bool stop;
    bool single_accept; /* the kernel has no multishot accept */
    char *filler;
    int64_t started;
};

static const char *const chaos_names[CHAOS_COUNT] = {
    "none",      "truncate", "reset", "garbage",  "longheader",   "stall",
    "stallbody", "oversize", "slow",  "redirect", "redirectloop",
};

const char *chaos_name(enum chaos_mode mode) {
    return mode < CHAOS_COUNT ? chaos_names[mode] : "?";
}

int chaos_parse(const char *arg, struct chaos_rule *rule) {
    const char *colon = strchr(arg, ':');
    size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
    rule->fraction = 1.0;
    if (colon) {
        char *end;
        errno = 0;
        double f = strtod(colon + 1, &end);
        if (errno || end == colon + 1 || *end || !(f >= 0 && f <= 1))
            return -EINVAL;
        rule->fraction = f;
    }
    for (int m = CHAOS_NONE + 1; m < CHAOS_COUNT; m++) {
        if (strlen(chaos_names[m]) == n && !strncmp(arg, chaos_names[m], n)) {
            rule->mode = (enum chaos_mode)m;
            return 0;
        }
    }
    return -EINVAL;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* xorshift64*: the seeded source of delays, errors and chaos. */
static double rng_uniform(struct server *s) {
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

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
    /* Reading while stalled or draining only watches for the close. */
    if (c->state == ST_STALL || c->state == ST_DRAIN)
        c->rlen = 0;
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_recv(sqe, c->fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_RECV, slot_of(s, c)));
    c->recv_inflight = true;
}

static void post_send(struct server *s, struct conn *c) {
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UD(OP_SEND, slot_of(s, c)));
    c->send_inflight = true;
    c->state = ST_SEND;
}

/* ---- connection life ---- */

static void request_done(struct server *s, struct conn *c) {
    if (c->in_progress) {
        c->in_progress = false;
        s->st.in_progress--;
    }
    free(c->dyn);
    c->dyn = NULL;
}

static void conn_release(struct server *s, struct conn *c) {
    if (c->recv_inflight || c->send_inflight)
        return;
    close(c->fd);
    c->fd = -1;
    c->gen++;
    c->state = ST_FREE;
    s->free_slots[s->nfree++] = slot_of(s, c);
    s->st.conns_open--;
}

/* Close now, or as soon as the operations in flight are cancelled. A reset
 * close sets SO_LINGER 0 so close(2) sends RST instead of FIN. */
static void conn_close(struct server *s, struct conn *c, bool reset) {
    if (c->state == ST_CLOSING || c->state == ST_FREE)
        return;
    lru_remove(s, c);
    request_done(s, c);
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

static void set_iov(struct conn *c, int n) {
    c->msg = (struct msghdr){.msg_iov = c->iov, .msg_iovlen = (size_t)n};
}

/* Response header fields after the status line, blank line included.
 * length < 0 means chunked. extra: more lines, each ending in CRLF. */
static size_t format_fields(char *buf, size_t cap, const char *type, long long length, bool keep,
                            int minor, const char *extra) {
    char len[48];
    if (length >= 0)
        snprintf(len, sizeof len, "Content-Length: %lld\r\n", length);
    else
        snprintf(len, sizeof len, "Transfer-Encoding: chunked\r\n");
    int n = snprintf(buf, cap, "Server: flagserver\r\nContent-Type: %s\r\n%s%s%s\r\n", type, len,
                     extra ? extra : "",
                     !keep        ? "Connection: close\r\n"
                     : minor == 0 ? "Connection: keep-alive\r\n"
                                  : "");
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* The whole response header in c->hdr; returns its length. */
static size_t format_header(struct conn *c, int status, const char *type, long long length,
                            bool keep, int minor, const char *extra) {
    int n = snprintf(c->hdr, sizeof c->hdr, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    return (size_t)n +
           format_fields(c->hdr + n, sizeof c->hdr - (size_t)n, type, length, keep, minor, extra);
}

/* A short text response (errors, 404, 302). */
static void simple_response(struct conn *c, int status, bool keep, int minor, bool head,
                            const char *extra) {
    static char bodies[MAX_STATUS][48];
    char *body = bodies[status];
    if (!body[0])
        snprintf(body, sizeof bodies[0], "%d %s\n", status, http_reason(status));
    size_t blen = strlen(body);
    size_t h = format_header(c, status, "text/plain", (long long)blen, keep, minor, extra);
    c->iov[0] = (struct iovec){c->hdr, h};
    c->iov[1] = (struct iovec){body, head ? 0 : blen};
    set_iov(c, 2);
    c->status = status;
    c->after = keep ? AFTER_NEXT : AFTER_CLOSE;
}

static void stats_response(struct server *s, struct conn *c, bool head, int minor, bool keep) {
    struct stats *st = &s->st;
    size_t cap = 1024, n = 0;
    char *b = malloc(cap + MAX_STATUS * 24);
    if (!b) {
        simple_response(c, 500, false, minor, head, NULL);
        return;
    }
    n += (size_t)sprintf(b + n, "{\"requests\": %" PRIu64 ", \"by_status\": {", st->requests);
    const char *sep = "";
    for (int i = 0; i < MAX_STATUS; i++) {
        if (st->by_status[i]) {
            n += (size_t)sprintf(b + n, "%s\"%d\": %" PRIu64, sep, i, st->by_status[i]);
            sep = ", ";
        }
    }
    n += (size_t)sprintf(b + n,
                         "}, \"connections_open\": %" PRIu64 ", \"connections_peak\": %" PRIu64
                         ", \"connections_total\": %" PRIu64 ", \"connections_refused\": %" PRIu64
                         ", \"in_progress\": %" PRIu64 ", \"in_progress_peak\": %" PRIu64
                         ", \"max_conns\": %u, \"uptime_s\": %.3f}\n",
                         st->conns_open, st->conns_peak, st->conns_total, st->refused,
                         st->in_progress, st->in_progress_peak, s->max_conns,
                         (double)(s->now - s->started) / 1e9);
    c->dyn = b;
    size_t h = format_header(c, 200, "application/json", (long long)n, keep, minor,
                             "Cache-Control: no-store\r\n");
    c->iov[0] = (struct iovec){c->hdr, h};
    c->iov[1] = (struct iovec){b, head ? 0 : n};
    set_iov(c, 2);
    c->status = 0; /* /stats is not counted */
    c->after = keep ? AFTER_NEXT : AFTER_CLOSE;
}

static void stats_reset(struct server *s) {
    struct stats *st = &s->st;
    st->requests = st->conns_total = st->refused = 0;
    memset(st->by_status, 0, sizeof st->by_status);
    st->conns_peak = st->conns_open;
    st->in_progress_peak = st->in_progress;
}

static enum chaos_mode pick_chaos(struct server *s) {
    const struct server_config *cfg = s->cfg;
    if (!cfg->nchaos)
        return CHAOS_NONE;
    double u = rng_uniform(s), acc = 0;
    for (size_t i = 0; i < cfg->nchaos; i++) {
        acc += cfg->chaos[i].fraction;
        if (u < acc)
            return cfg->chaos[i].mode;
    }
    return CHAOS_NONE;
}

/* The value of r in a query string, or -1. */
static long query_r(const char *q, size_t n) {
    for (size_t i = 0; q && i + 2 <= n; i++) {
        if ((i == 0 || q[i - 1] == '&') && q[i] == 'r' && q[i + 1] == '=') {
            long v = 0;
            for (size_t k = i + 2; k < n && q[k] >= '0' && q[k] <= '9' && v < 1000000000; k++)
                v = v * 10 + (q[k] - '0');
            return v;
        }
    }
    return -1;
}

/* A 200 with a body from the data set, chaos applied. */
static void blob_response(struct server *s, struct conn *c, const struct blob *b, const char *type,
                          bool head, bool keep, int minor, bool image) {
    const struct server_config *cfg = s->cfg;
    enum chaos_mode chaos = head ? CHAOS_NONE : c->chaos;
    bool chunked = (cfg->chunked && image) || chaos == CHAOS_OVERSIZE;
    if (chaos != CHAOS_NONE && chaos != CHAOS_SLOW)
        keep = false;
    if (chaos == CHAOS_LONGHEADER) {
        /* A 100 KiB header line between the status line and the rest. */
        static const char status[] = "HTTP/1.1 200 OK\r\nX-Long: ";
        c->hdr[0] = '\r';
        c->hdr[1] = '\n';
        size_t h = 2 + format_fields(c->hdr + 2, sizeof c->hdr - 2, type, (long long)b->len, false,
                                     minor, NULL);
        c->iov[0] = (struct iovec){(void *)status, sizeof status - 1};
        c->iov[1] = (struct iovec){s->filler, FILLER_SIZE};
        c->iov[2] = (struct iovec){c->hdr, h};
        c->iov[3] = (struct iovec){(void *)b->data, b->len};
        set_iov(c, 4);
        c->status = 200;
        c->after = AFTER_CLOSE;
        return;
    }
    if (chaos == CHAOS_GARBAGE) {
        static const char garbage[] = "HTTP/1.1 2O0 0K\r\nContent-Type image/gif\r\n"
                                      "Content-Length: -17\r\n\x01\x02 garbage\r\n\r\n";
        c->iov[0] = (struct iovec){(void *)garbage, sizeof garbage - 1};
        set_iov(c, 1);
        c->status = 200;
        c->after = AFTER_CLOSE;
        return;
    }
    size_t h = format_header(c, 200, type, chunked ? -1 : (long long)b->len, keep, minor, NULL);
    c->iov[0] = (struct iovec){c->hdr, h};
    c->status = 200;
    c->after = keep ? AFTER_NEXT : AFTER_CLOSE;
    if (head) {
        set_iov(c, 1);
        return;
    }
    switch (chaos) {
    case CHAOS_TRUNCATE:
        c->iov[1] = (struct iovec){(void *)b->data, b->len / 2};
        set_iov(c, 2);
        return;
    case CHAOS_RESET:
        c->iov[1] = (struct iovec){(void *)b->data, b->len / 3};
        set_iov(c, 2);
        c->after = AFTER_RESET;
        return;
    case CHAOS_STALLBODY:
        set_iov(c, 1);
        c->after = AFTER_STALL;
        return;
    case CHAOS_OVERSIZE:
        set_iov(c, 1);
        c->streamed = 0;
        c->after = AFTER_OVERSIZE;
        return;
    case CHAOS_SLOW:
        set_iov(c, 1);
        c->rest = b->data;
        c->rest_len = b->len;
        c->after = AFTER_DRIP;
        return;
    default:
        break;
    }
    if (chunked) {
        int n = snprintf(c->tail, sizeof c->tail, "%zx\r\n", b->len);
        c->iov[1] = (struct iovec){c->tail, (size_t)n};
        c->iov[2] = (struct iovec){(void *)b->data, b->len};
        c->iov[3] = (struct iovec){"\r\n0\r\n\r\n", 7};
        set_iov(c, b->len ? 4 : 2);
        if (!b->len)
            c->iov[1] = (struct iovec){"0\r\n\r\n", 5};
        return;
    }
    c->iov[1] = (struct iovec){(void *)b->data, b->len};
    set_iov(c, 2);
}

static void start_send(struct server *s, struct conn *c);

/* Route one complete request and prepare its response in c. Returns the
 * delay before it is sent, in ns. */
static int64_t handle_request(struct server *s, struct conn *c, const struct http_request *req) {
    const struct server_config *cfg = s->cfg;
    char path[256];
    const char *query;
    size_t qlen;
    bool head = req->method == HTTP_HEAD;
    bool keep = req->keep_alive && !cfg->close;
    int plen = http_decode_path(req->target, req->target_len, path, sizeof path, &query, &qlen);
    c->chaos = CHAOS_NONE;

    if (plen >= 0 && (!strcmp(path, "/stats") || !strcmp(path, "/stats/reset"))) {
        if (!strcmp(path, "/stats/reset") || (query && memmem(query, qlen, "reset=1", 7)))
            stats_reset(s);
        stats_response(s, c, head, req->minor, keep);
        return 0;
    }

    s->st.requests++;
    c->in_progress = true;
    if (++s->st.in_progress > s->st.in_progress_peak)
        s->st.in_progress_peak = s->st.in_progress;

    int64_t delay = 0;
    if (cfg->delay_max > 0) {
        double d = cfg->delay_min + (cfg->delay_max - cfg->delay_min) * rng_uniform(s);
        delay = (int64_t)(d * 1e9);
    }
    if (plen < 0) {
        simple_response(c, 400, false, req->minor, head, NULL);
        return delay;
    }
    if (req->method != HTTP_GET && !head) {
        simple_response(c, 405, keep, req->minor, head, "Allow: GET, HEAD\r\n");
        return delay;
    }
    bool flags = !strncmp(path, "/flags/", 7);
    if (flags && cfg->error_rate > 0 && rng_uniform(s) < cfg->error_rate) {
        simple_response(c, 418, keep, req->minor, head, NULL);
        return delay;
    }
    /* /flags/<cc>/<cc>.gif or /flags/<cc>/metadata.json */
    const struct flag *f = NULL;
    bool image = false;
    if (flags && plen >= 10 && path[9] == '/') {
        char cc[3] = {path[7], path[8], 0};
        const char *file = path + 10;
        f = dataset_find(cfg->ds, cc);
        if (f && file[0] == cc[0] && file[1] == cc[1] && !strcmp(file + 2, ".gif"))
            image = true;
        else if (!(f && !strcmp(file, "metadata.json") && f->meta.data))
            f = NULL;
    }
    if (!f) {
        simple_response(c, 404, keep, req->minor, head, NULL);
        return delay;
    }
    if (!head)
        c->chaos = pick_chaos(s);
    long r = query_r(query, qlen);
    if ((c->chaos == CHAOS_REDIRECT && r < 0) || c->chaos == CHAOS_REDIRECTLOOP) {
        char loc[sizeof path + 48];
        snprintf(loc, sizeof loc, "Location: %s?r=%ld\r\n", path,
                 c->chaos == CHAOS_REDIRECT ? (long)++s->redirects : r + 1);
        simple_response(c, 302, keep, req->minor, head, loc);
        c->chaos = CHAOS_NONE;
        return delay;
    }
    if (c->chaos == CHAOS_REDIRECT)
        c->chaos = CHAOS_NONE;
    if (c->chaos == CHAOS_STALL) {
        c->status = 0;
        c->after = AFTER_STALL;
        set_iov(c, 0);
        return delay;
    }
    if (image)
        blob_response(s, c, &f->gif, "image/gif", head, keep, req->minor, true);
    else
        blob_response(s, c, &f->meta, "application/json", head, keep, req->minor, false);
    return delay;
}

static void log_request(struct server *s, struct conn *c) {
    if (s->cfg->verbosity < 2)
        return;
    struct http_request req;
    if (http_parse_request(c->rbuf, c->rlen, MAX_HEADER, &req) == HTTP_COMPLETE)
        fprintf(stderr, "%.*s %.*s %d%s%s\n", (int)req.method_len, req.method_str,
                (int)req.target_len, req.target, c->status, c->chaos ? " chaos=" : "",
                c->chaos ? chaos_name(c->chaos) : "");
    else
        fprintf(stderr, "- - %d\n", c->status);
}

/* Start sending the prepared response (after its delay, if any). */
static void start_send(struct server *s, struct conn *c) {
    if (c->status > 0 && c->status < MAX_STATUS)
        s->st.by_status[c->status]++;
    log_request(s, c);
    if (c->msg.msg_iovlen == 0) { /* chaos stall: nothing, ever */
        c->state = ST_STALL;
        lru_append(s, c);
        post_recv(s, c);
        return;
    }
    post_send(s, c);
}

static void process_input(struct server *s, struct conn *c);

/* Answer a request we could not parse, then close gracefully. */
static void error_response(struct server *s, struct conn *c, int status) {
    s->st.requests++;
    simple_response(c, status, false, 1, false, NULL);
    c->after = AFTER_DRAIN;
    c->consumed = c->rlen;
    lru_remove(s, c);
    start_send(s, c);
}

static void process_input(struct server *s, struct conn *c) {
    struct http_request req;
    c->state = ST_READ;
    enum http_parse r = http_parse_request(c->rbuf, c->rlen, MAX_HEADER, &req);
    switch (r) {
    case HTTP_INCOMPLETE:
        if (c->rlen == RBUF_SIZE) { /* cannot happen with the parser's limits */
            error_response(s, c, 431);
            return;
        }
        lru_append(s, c);
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
    int64_t delay = handle_request(s, c, &req);
    if (delay > 0 && timer_add(s, s->now + delay, slot_of(s, c), c->gen) == 0) {
        c->state = ST_DELAY;
        return;
    }
    start_send(s, c);
}

/* The request that was just answered is over: on to the next one. */
static void next_request(struct server *s, struct conn *c) {
    request_done(s, c);
    memmove(c->rbuf, c->rbuf + c->consumed, c->rlen - c->consumed);
    c->rlen -= c->consumed;
    c->consumed = 0;
    process_input(s, c);
}

static void send_done(struct server *s, struct conn *c) {
    switch (c->after) {
    case AFTER_NEXT:
        next_request(s, c);
        return;
    case AFTER_CLOSE:
        conn_close(s, c, false);
        return;
    case AFTER_RESET:
        conn_close(s, c, true);
        return;
    case AFTER_DRAIN:
        /* Closing with unread input would send RST and could destroy the
         * error response in flight; shut the write side and read to EOF. */
        request_done(s, c);
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
        if (c->streamed >= OVERSIZE_LIMIT) {
            conn_close(s, c, false);
            return;
        }
        c->streamed += OVERSIZE_CHUNK;
        int n = snprintf(c->tail, sizeof c->tail, "%x\r\n", OVERSIZE_CHUNK);
        c->iov[0] = (struct iovec){c->tail, (size_t)n};
        c->iov[1] = (struct iovec){s->filler, OVERSIZE_CHUNK};
        c->iov[2] = (struct iovec){"\r\n", 2};
        set_iov(c, 3);
        post_send(s, c);
        return;
    case AFTER_DRIP:
        if (!c->rest_len) {
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
    size_t n = c->rest_len < DRIP_BYTES ? c->rest_len : DRIP_BYTES;
    c->iov[0] = (struct iovec){(void *)c->rest, n};
    set_iov(c, 1);
    c->rest += n;
    c->rest_len -= n;
    post_send(s, c);
}

/* ---- completions ---- */

static void on_accept(struct server *s, struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        /* Multishot ended (an error such as EMFILE): try again shortly
         * rather than spin. Kernels before 5.19 refuse multishot. */
        if (cqe->res == -EINVAL && !s->single_accept) {
            s->single_accept = true;
            post_accept(s);
            return;
        }
        if (cqe->res < 0)
            timer_add(s, s->now + 50000000ll, UINT32_MAX, 0);
        else
            post_accept(s);
    }
    if (cqe->res < 0) {
        if (s->cfg->verbosity >= 1)
            fprintf(stderr, "flagserver: accept: %s\n", strerror(-cqe->res));
        return;
    }
    int fd = cqe->res;
    s->st.conns_total++;
    if (!s->nfree) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: flagserver\r\n"
                                   "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                                   "Connection: close\r\n\r\n503 too many connections\n";
        s->st.refused++;
        if (send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
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
    c->fd = fd;
    c->rlen = c->consumed = 0;
    c->recv_inflight = c->send_inflight = c->in_progress = false;
    c->dyn = NULL;
    if (++s->st.conns_open > s->st.conns_peak)
        s->st.conns_peak = s->st.conns_open;
    c->state = ST_READ;
    lru_append(s, c);
    post_recv(s, c);
}

static void on_recv(struct server *s, struct conn *c, int res) {
    c->recv_inflight = false;
    if (c->state == ST_CLOSING) {
        conn_release(s, c);
        return;
    }
    if (res <= 0) { /* EOF (a half-close too: nothing is pending) or error */
        conn_close(s, c, false);
        return;
    }
    if (c->state == ST_STALL || c->state == ST_DRAIN) {
        post_recv(s, c);
        return;
    }
    c->rlen += (size_t)res;
    process_input(s, c);
}

static void on_send(struct server *s, struct conn *c, int res) {
    c->send_inflight = false;
    if (c->state == ST_CLOSING) {
        conn_release(s, c);
        return;
    }
    if (res < 0) {
        conn_close(s, c, false);
        return;
    }
    size_t left = (size_t)res;
    while (c->msg.msg_iovlen && left >= c->msg.msg_iov[0].iov_len) {
        left -= c->msg.msg_iov[0].iov_len;
        c->msg.msg_iov++;
        c->msg.msg_iovlen--;
    }
    if (c->msg.msg_iovlen) {
        c->msg.msg_iov[0].iov_base = (char *)c->msg.msg_iov[0].iov_base + left;
        c->msg.msg_iov[0].iov_len -= left;
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

static int listen_socket(const struct server_config *cfg, unsigned *port) {
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->bind_addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, cfg->bind_addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        len = sizeof *in6;
    } else {
        return -EINVAL;
    }
    int err = 0, one = 1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Accepted sockets inherit it: responses leave without Nagle's wait. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    *port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    return fd;
}

/* Write the port to path atomically: tests wait for the file to appear. */
static int write_port_file(const char *path, unsigned port) {
    char tmp[4096];
    int err = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        err = -errno;
        unlink(tmp);
    }
    return err;
}

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

/* Raise the soft descriptor limit to the hard one; the connection cap
 * follows what we got. */
static unsigned fit_max_conns(unsigned want, int verbosity) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t room = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 16;
    if (rl.rlim_cur != RLIM_INFINITY && want > room) {
        if (verbosity >= 1)
            fprintf(stderr, "flagserver: descriptor limit %llu: at most %llu connections\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)room);
        return (unsigned)room;
    }
    return want;
}

static void server_free(struct server *s) {
    if (s->conns) {
        for (unsigned i = 0; i < s->max_conns; i++) {
            if (s->conns[i].state != ST_FREE && s->conns[i].fd >= 0)
                close(s->conns[i].fd);
            free(s->conns[i].rbuf);
            free(s->conns[i].dyn);
        }
    }
    free(s->conns);
    free(s->free_slots);
    free(s->heap);
    free(s->filler);
    if (s->ring.ring_fd > 0)
        io_uring_queue_exit(&s->ring);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->sfd >= 0)
        close(s->sfd);
}

int server_run(const struct server_config *cfg) {
    struct server srv = {.cfg = cfg, .lfd = -1, .sfd = -1};
    struct server *s = &srv;
    int err = 0;
    unsigned port = 0;
    sigset_t mask;

    s->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    if (!s->rng)
        s->rng = 1;
    s->idle_ns = (int64_t)(cfg->idle_timeout * 1e9);
    s->max_conns = fit_max_conns(cfg->max_conns, cfg->verbosity);
    s->conns = calloc(s->max_conns, sizeof *s->conns);
    s->free_slots = malloc(s->max_conns * sizeof *s->free_slots);
    s->filler = malloc(FILLER_SIZE);
    if (!s->conns || !s->free_slots || !s->filler) {
        err = -ENOMEM;
        goto out;
    }
    memset(s->filler, 'a', FILLER_SIZE);
    for (unsigned i = 0; i < s->max_conns; i++) {
        s->conns[i].fd = -1;
        s->free_slots[i] = s->max_conns - 1 - i;
    }
    s->nfree = s->max_conns;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (s->sfd < 0) {
        err = -errno;
        goto out;
    }
    s->lfd = listen_socket(cfg, &port);
    if (s->lfd < 0) {
        err = s->lfd;
        fprintf(stderr, "flagserver: cannot listen on %s port %u: %s\n", cfg->bind_addr, cfg->port,
                strerror(-err));
        goto out;
    }
    err = ring_init(&s->ring);
    if (err) {
        fprintf(stderr, "flagserver: io_uring: %s\n", strerror(-err));
        goto out;
    }
    if (cfg->port_file && (err = write_port_file(cfg->port_file, port))) {
        fprintf(stderr, "flagserver: %s: %s\n", cfg->port_file, strerror(-err));
        goto out;
    }
    if (cfg->verbosity >= 1)
        fprintf(stderr,
                "flagserver: %zu flags (%s, %.1f MB) on http://%s%s%s:%u/flags/ "
                "(delay %g-%g s, error rate %g)\n",
                cfg->ds->nflags, cfg->source, (double)cfg->ds->total_bytes / 1e6,
                strchr(cfg->bind_addr, ':') ? "[" : "", cfg->bind_addr,
                strchr(cfg->bind_addr, ':') ? "]" : "", port, cfg->delay_min, cfg->delay_max,
                cfg->error_rate);

    s->now = s->started = now_ns();
    post_accept(s);
    post_signal_read(s);
    while (!s->stop) {
        struct __kernel_timespec ts, *tsp = NULL;
        int64_t next = INT64_MAX;
        if (s->nheap)
            next = s->heap[0].when;
        if (s->lru_head && s->lru_head->idle_deadline < next)
            next = s->lru_head->idle_deadline;
        if (next != INT64_MAX) {
            int64_t wait = next - now_ns();
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
            err = r;
            break;
        }
        s->now = now_ns();
        unsigned head, n = 0;
        io_uring_for_each_cqe(&s->ring, head, cqe) {
            n++;
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
        io_uring_cq_advance(&s->ring, n);
        expire(s);
    }
    if (cfg->verbosity >= 1 && !err)
        fprintf(stderr, "flagserver: shutting down (%" PRIu64 " requests)\n", s->st.requests);
out:
    server_free(s);
    return err;
}

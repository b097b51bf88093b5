/* respond.c — routing, responses, /stats and chaos selection; no I/O. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "respond.h"
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int responder_init(struct responder *r, const struct server_config *cfg, unsigned max_conns) {
    *r = (struct responder){.cfg = cfg, .max_conns = max_conns};
    r->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    if (!r->rng)
        r->rng = 1;
    char *filler = malloc(FILLER_SIZE);
    if (!filler)
        return -ENOMEM;
    memset(filler, 'a', FILLER_SIZE);
    r->filler = filler;
    return 0;
}

void responder_free(struct responder *r) {
    free((char *)r->filler);
    r->filler = NULL;
}

/* xorshift64*: the seeded source of delays, errors and chaos. */
static double rng_uniform(struct responder *r) {
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (double)((r->rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/* Response headers are built by hand rather than by snprintf: they are
 * the same few pieces every time, and formatting them through stdio cost
 * about half of the server's instructions per request (callgrind). */
struct out {
    char *p, *end; /* end leaves room for nothing: output is clipped there */
};

static void out_put(struct out *o, const char *s, size_t n) {
    size_t room = (size_t)(o->end - o->p);
    if (n > room)
        n = room;
    memcpy(o->p, s, n);
    o->p += n;
}

static void out_str(struct out *o, const char *s) {
    out_put(o, s, strlen(s));
}

static void out_uint(struct out *o, unsigned long long v) {
    char digits[20];
    size_t n = sizeof digits;
    do
        digits[--n] = (char)('0' + v % 10);
    while (v /= 10);
    out_put(o, digits + n, sizeof digits - n);
}

#define OUT_LIT(o, lit) out_put((o), (lit), sizeof(lit) - 1)

/* Response header fields after the status line, blank line included.
 * length < 0 means chunked. extra: more lines, each ending in CRLF. At
 * most cap - 1 bytes, as snprintf would have written. */
static size_t format_fields(char *buf, size_t cap, const char *type, long long length, bool keep,
                            int minor, const char *extra) {
    struct out o = {buf, buf + cap - 1};
    OUT_LIT(&o, "Server: flagserver\r\nContent-Type: ");
    out_str(&o, type);
    if (length >= 0) {
        OUT_LIT(&o, "\r\nContent-Length: ");
        out_uint(&o, (unsigned long long)length);
        OUT_LIT(&o, "\r\n");
    } else {
        OUT_LIT(&o, "\r\nTransfer-Encoding: chunked\r\n");
    }
    if (extra)
        out_str(&o, extra);
    if (!keep)
        OUT_LIT(&o, "Connection: close\r\n");
    else if (minor == 0)
        OUT_LIT(&o, "Connection: keep-alive\r\n");
    OUT_LIT(&o, "\r\n");
    return (size_t)(o.p - buf);
}

/* The whole response header in rep->hdr; returns its length. */
static size_t format_header(struct reply *rep, int status, const char *type, long long length,
                            bool keep, int minor, const char *extra) {
    struct out o = {rep->hdr, rep->hdr + sizeof rep->hdr - 1};
    OUT_LIT(&o, "HTTP/1.1 ");
    out_uint(&o, (unsigned long long)status);
    OUT_LIT(&o, " ");
    out_str(&o, http_reason(status));
    OUT_LIT(&o, "\r\n");
    size_t n = (size_t)(o.p - rep->hdr);
    return n + format_fields(rep->hdr + n, sizeof rep->hdr - n, type, length, keep, minor, extra);
}

/* A short text response (errors, 404, 302). */
static void simple_response(struct reply *rep, int status, bool keep, int minor, bool head,
                            const char *extra) {
    static char bodies[MAX_STATUS][48];
    char *body = bodies[status];
    if (!body[0])
        snprintf(body, sizeof bodies[0], "%d %s\n", status, http_reason(status));
    size_t blen = strlen(body);
    size_t h = format_header(rep, status, "text/plain", (long long)blen, keep, minor, extra);
    rep->iov[0] = (struct iovec){rep->hdr, h};
    rep->iov[1] = (struct iovec){body, head ? 0 : blen};
    rep->niov = 2;
    rep->status = status;
    rep->after = keep ? AFTER_NEXT : AFTER_CLOSE;
}

static void stats_response(struct responder *r, struct reply *rep, bool head, int minor,
                           bool keep) {
    struct stats *st = &r->st;
    size_t cap = 1024, n = 0;
    char *b = malloc(cap + MAX_STATUS * 24);
    if (!b) {
        simple_response(rep, 500, false, minor, head, NULL);
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
                         ", \"max_conns\": %u, \"uptime_s\": %.3f",
                         st->conns_open, st->conns_peak, st->conns_total, st->refused,
                         st->in_progress, st->in_progress_peak, r->max_conns,
                         (double)(r->now - r->started) / 1e9);
    n += (size_t)sprintf(b + n,
                         ", \"tls_handshakes_full\": %" PRIu64
                         ", \"tls_handshakes_resumed\": %" PRIu64
                         ", \"tls_handshakes_failed\": %" PRIu64 "}\n",
                         st->tls_full, st->tls_resumed, st->tls_failed);
    rep->dyn = b;
    size_t h = format_header(rep, 200, "application/json", (long long)n, keep, minor,
                             "Cache-Control: no-store\r\n");
    rep->iov[0] = (struct iovec){rep->hdr, h};
    rep->iov[1] = (struct iovec){b, head ? 0 : n};
    rep->niov = 2;
    rep->status = 0; /* /stats is not counted */
    rep->after = keep ? AFTER_NEXT : AFTER_CLOSE;
}

static void stats_reset(struct stats *st) {
    st->requests = st->conns_total = st->refused = 0;
    st->tls_full = st->tls_resumed = st->tls_failed = 0;
    memset(st->by_status, 0, sizeof st->by_status);
    st->conns_peak = st->conns_open;
    st->in_progress_peak = st->in_progress;
}

/* One draw decides among the rules: each takes its fraction of [0, 1). */
static enum chaos_mode pick_chaos(struct responder *r) {
    const struct server_config *cfg = r->cfg;
    if (!cfg->nchaos)
        return CHAOS_NONE;
    double u = rng_uniform(r), acc = 0;
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
static void blob_response(struct responder *r, struct reply *rep, const struct blob *b,
                          const char *type, bool head, bool keep, int minor, bool image) {
    enum chaos_mode chaos = head ? CHAOS_NONE : rep->chaos;
    bool chunked = (r->cfg->chunked && image) || chaos == CHAOS_OVERSIZE;
    if (chaos != CHAOS_NONE && chaos != CHAOS_SLOW)
        keep = false;
    rep->status = 200;
    if (chaos == CHAOS_LONGHEADER) {
        /* A 100 KiB header line between the status line and the rest. */
        static const char status[] = "HTTP/1.1 200 OK\r\nX-Long: ";
        rep->hdr[0] = '\r';
        rep->hdr[1] = '\n';
        size_t h = 2 + format_fields(rep->hdr + 2, sizeof rep->hdr - 2, type, (long long)b->len,
                                     false, minor, NULL);
        rep->iov[0] = (struct iovec){(void *)status, sizeof status - 1};
        rep->iov[1] = (struct iovec){(void *)r->filler, FILLER_SIZE};
        rep->iov[2] = (struct iovec){rep->hdr, h};
        rep->iov[3] = (struct iovec){(void *)b->data, b->len};
        rep->niov = 4;
        rep->after = AFTER_CLOSE;
        return;
    }
    if (chaos == CHAOS_GARBAGE) {
        static const char garbage[] = "HTTP/1.1 2O0 0K\r\nContent-Type image/gif\r\n"
                                      "Content-Length: -17\r\n\x01\x02 garbage\r\n\r\n";
        rep->iov[0] = (struct iovec){(void *)garbage, sizeof garbage - 1};
        rep->niov = 1;
        rep->after = AFTER_CLOSE;
        return;
    }
    size_t h = format_header(rep, 200, type, chunked ? -1 : (long long)b->len, keep, minor, NULL);
    rep->iov[0] = (struct iovec){rep->hdr, h};
    rep->niov = 1;
    rep->after = keep ? AFTER_NEXT : AFTER_CLOSE;
    if (head)
        return;
    switch (chaos) {
    case CHAOS_TRUNCATE:
        rep->iov[1] = (struct iovec){(void *)b->data, b->len / 2};
        rep->niov = 2;
        return;
    case CHAOS_RESET:
        rep->iov[1] = (struct iovec){(void *)b->data, b->len / 3};
        rep->niov = 2;
        rep->after = AFTER_RESET;
        return;
    case CHAOS_STALLBODY:
        rep->after = AFTER_STALL;
        return;
    case CHAOS_OVERSIZE:
        rep->streamed = 0;
        rep->after = AFTER_OVERSIZE;
        return;
    case CHAOS_SLOW:
        /* Dripped after the header, in chunks if the header said chunked. */
        rep->rest = b->data;
        rep->rest_len = b->len;
        rep->drip_chunked = chunked;
        rep->after = AFTER_DRIP;
        if (chunked && !b->len) {
            rep->iov[1] = (struct iovec){"0\r\n\r\n", 5};
            rep->niov = 2;
        }
        return;
    default:
        break;
    }
    if (chunked && !b->len) {
        rep->iov[1] = (struct iovec){"0\r\n\r\n", 5};
        rep->niov = 2;
    } else if (chunked) {
        int n = snprintf(rep->tail, sizeof rep->tail, "%zx\r\n", b->len);
        rep->iov[1] = (struct iovec){rep->tail, (size_t)n};
        rep->iov[2] = (struct iovec){(void *)b->data, b->len};
        rep->iov[3] = (struct iovec){"\r\n0\r\n\r\n", 7};
        rep->niov = 4;
    } else {
        rep->iov[1] = (struct iovec){(void *)b->data, b->len};
        rep->niov = 2;
    }
}

/* /flags/<cc>/<cc>.gif or /flags/<cc>/metadata.json: the flag, or NULL. */
static const struct flag *find_flag(const struct dataset *ds, const char *path, int plen,
                                    bool *image) {
    *image = false;
    if (plen < 10 || path[9] != '/')
        return NULL;
    char cc[3] = {path[7], path[8], 0};
    const char *file = path + 10;
    const struct flag *f = dataset_find(ds, cc);
    if (f && file[0] == cc[0] && file[1] == cc[1] && !strcmp(file + 2, ".gif")) {
        *image = true;
        return f;
    }
    return f && !strcmp(file, "metadata.json") && f->meta.data ? f : NULL;
}

void respond(struct responder *r, const struct http_request *req, struct reply *rep) {
    const struct server_config *cfg = r->cfg;
    char path[256];
    const char *query;
    size_t qlen;
    bool head = req->method == HTTP_HEAD;
    bool keep = req->keep_alive && !cfg->close;
    int plen = http_decode_path(req->target, req->target_len, path, sizeof path, &query, &qlen);
    rep->chaos = CHAOS_NONE;
    rep->delay_ns = 0;

    if (plen >= 0 && (!strcmp(path, "/stats") || !strcmp(path, "/stats/reset"))) {
        if (!strcmp(path, "/stats/reset") || (query && memmem(query, qlen, "reset=1", 7)))
            stats_reset(&r->st);
        stats_response(r, rep, head, req->minor, keep);
        return;
    }

    r->st.requests++;
    rep->in_progress = true;
    if (++r->st.in_progress > r->st.in_progress_peak)
        r->st.in_progress_peak = r->st.in_progress;

    if (cfg->delay_max > 0) {
        double d = cfg->delay_min + (cfg->delay_max - cfg->delay_min) * rng_uniform(r);
        rep->delay_ns = (int64_t)(d * 1e9);
    }
    if (plen < 0) {
        simple_response(rep, 400, false, req->minor, head, NULL);
        return;
    }
    if (req->method != HTTP_GET && !head) {
        simple_response(rep, 405, keep, req->minor, head, "Allow: GET, HEAD\r\n");
        return;
    }
    bool flags = !strncmp(path, "/flags/", 7);
    if (flags && cfg->error_rate > 0 && rng_uniform(r) < cfg->error_rate) {
        simple_response(rep, 418, keep, req->minor, head, NULL);
        return;
    }
    bool image;
    const struct flag *f = flags ? find_flag(cfg->ds, path, plen, &image) : NULL;
    if (!f) {
        simple_response(rep, 404, keep, req->minor, head, NULL);
        return;
    }
    if (!head)
        rep->chaos = pick_chaos(r);
    long rq = query_r(query, qlen);
    if ((rep->chaos == CHAOS_REDIRECT && rq < 0) || rep->chaos == CHAOS_REDIRECTLOOP) {
        char loc[sizeof path + 48];
        snprintf(loc, sizeof loc, "Location: %s?r=%ld\r\n", path,
                 rep->chaos == CHAOS_REDIRECT ? (long)++r->redirects : rq + 1);
        simple_response(rep, 302, keep, req->minor, head, loc);
        rep->chaos = CHAOS_NONE;
        return;
    }
    if (rep->chaos == CHAOS_REDIRECT)
        rep->chaos = CHAOS_NONE;
    if (rep->chaos == CHAOS_STALL) {
        rep->status = 0;
        rep->after = AFTER_STALL;
        rep->niov = 0;
        return;
    }
    if (image)
        blob_response(r, rep, &f->gif, "image/gif", head, keep, req->minor, true);
    else
        blob_response(r, rep, &f->meta, "application/json", head, keep, req->minor, false);
}

void respond_error(struct responder *r, int status, struct reply *rep) {
    r->st.requests++;
    rep->chaos = CHAOS_NONE;
    rep->delay_ns = 0;
    simple_response(rep, status, false, 1, false, NULL);
    rep->after = AFTER_DRAIN;
}

void respond_busy(struct reply *rep) {
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: flagserver\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                               "Connection: close\r\n\r\n503 too many connections\n";
    rep->iov[0] = (struct iovec){(void *)busy, sizeof busy - 1};
    rep->niov = 1;
    rep->status = 0; /* counted as connections_refused, not as a request */
    rep->after = AFTER_DRAIN;
    rep->chaos = CHAOS_NONE;
    rep->delay_ns = 0;
}

bool respond_oversize_chunk(struct responder *r, struct reply *rep) {
    if (rep->streamed >= OVERSIZE_LIMIT)
        return false;
    rep->streamed += OVERSIZE_CHUNK;
    int n = snprintf(rep->tail, sizeof rep->tail, "%x\r\n", OVERSIZE_CHUNK);
    rep->iov[0] = (struct iovec){rep->tail, (size_t)n};
    rep->iov[1] = (struct iovec){(void *)r->filler, OVERSIZE_CHUNK};
    rep->iov[2] = (struct iovec){"\r\n", 2};
    rep->niov = 3;
    return true;
}

void respond_drip(struct reply *rep) {
    size_t n = rep->rest_len < DRIP_BYTES ? rep->rest_len : DRIP_BYTES;
    struct iovec data = {(void *)rep->rest, n};
    rep->rest += n;
    rep->rest_len -= n;
    if (!rep->drip_chunked) {
        rep->iov[0] = data;
        rep->niov = 1;
        return;
    }
    int h = snprintf(rep->tail, sizeof rep->tail, "%zx\r\n", n);
    rep->iov[0] = (struct iovec){rep->tail, (size_t)h};
    rep->iov[1] = data;
    rep->iov[2] = rep->rest_len ? (struct iovec){"\r\n", 2} : (struct iovec){"\r\n0\r\n\r\n", 7};
    rep->niov = 3;
}

void respond_done(struct responder *r, struct reply *rep) {
    if (rep->in_progress) {
        rep->in_progress = false;
        r->st.in_progress--;
    }
    free(rep->dyn);
    rep->dyn = NULL;
}

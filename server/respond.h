/* respond.h — what flagserver answers: routing, responses, /stats and chaos.
 *
 * respond() turns one parsed request into a struct reply: the iovecs to
 * send, the status it counts as, what the connection does once it is sent
 * and how long to wait first. It never touches the ring, a socket or a
 * connection, as http.c never does for parsing, so routing and chaos
 * selection are unit-tested without a network (tests/server_respond_test.c).
 * The event loop (server.c) only carries replies out. */
#ifndef FLAGSERVER_RESPOND_H
#define FLAGSERVER_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "http.h"

/* Fault injection for client hardening tests (--chaos MODE[:FRACTION]). */
enum chaos_mode {
    CHAOS_NONE,
    CHAOS_TRUNCATE,     /* Content-Length N, N/2 bytes of body, then close */
    CHAOS_RESET,        /* a third of the body, then RST (SO_LINGER 0) */
    CHAOS_GARBAGE,      /* a malformed status line and headers, then close */
    CHAOS_LONGHEADER,   /* a 100 KiB header line */
    CHAOS_STALL,        /* read the request, never answer */
    CHAOS_STALLBODY,    /* send the headers, never the body */
    CHAOS_OVERSIZE,     /* an endless chunked body (closed after 64 MiB) */
    CHAOS_SLOW,         /* the body 100 bytes every 100 ms */
    CHAOS_REDIRECT,     /* 302 to the same path with ?r=N once, then serve */
    CHAOS_REDIRECTLOOP, /* 302 to the same path with ?r=N+1, forever */
    CHAOS_COUNT
};

#define CHAOS_MAX_RULES 16

struct chaos_rule {
    enum chaos_mode mode;
    double fraction; /* of /flags/ requests, 0..1 */
};

/* Parse "MODE" or "MODE:FRACTION". 0, or -EINVAL. */
int chaos_parse(const char *arg, struct chaos_rule *rule);
const char *chaos_name(enum chaos_mode mode);

#define MAX_STATUS       600
#define HDR_SIZE         640          /* a response's status line and headers */
#define FILLER_SIZE      (100 * 1024) /* the longheader line, oversize chunks */
#define OVERSIZE_LIMIT   (64u << 20)
#define OVERSIZE_CHUNK   (64 * 1024)
#define DRIP_BYTES       100
#define DRIP_INTERVAL_NS 100000000ll

/* What the connection does once the reply is sent. */
enum after {
    AFTER_NEXT,     /* read the next request (keep-alive) */
    AFTER_CLOSE,    /* close */
    AFTER_DRAIN,    /* shut the write side, read to EOF: a lingering close */
    AFTER_RESET,    /* close with RST */
    AFTER_STALL,    /* never send more; wait for the client to give up */
    AFTER_OVERSIZE, /* send respond_oversize_chunk()s until it says stop */
    AFTER_DRIP,     /* send respond_drip()s, one every DRIP_INTERVAL_NS */
};

/* One response. The iovecs may point into hdr and tail, so a reply is
 * filled where it lives and never copied. */
struct reply {
    struct iovec iov[5];
    size_t niov; /* 0: nothing to send (chaos stall) */
    int status;  /* counted in /stats by_status; 0: not counted */
    enum after after;
    enum chaos_mode chaos;
    int64_t delay_ns;    /* before the reply is sent */
    bool in_progress;    /* counted in stats.in_progress until respond_done() */
    const uint8_t *rest; /* chaos slow: body still to drip */
    size_t rest_len;
    bool drip_chunked; /* chaos slow: each drip is a chunk, the last ends the body */
    size_t streamed; /* chaos oversize: body bytes so far */
    char *dyn;       /* a malloc'd body (/stats), freed by respond_done() */
    char hdr[HDR_SIZE];
    char tail[32]; /* chunk framing */
};

/* The counters GET /stats shows. The loop keeps the connection counts,
 * respond() the request counts. */
struct stats {
    uint64_t requests, by_status[MAX_STATUS], conns_total, refused;
    uint64_t conns_open, conns_peak, in_progress, in_progress_peak;
    uint64_t tls_full, tls_resumed, tls_failed; /* handshakes */
};

struct server_config;

/* Everything respond() reads or changes besides the request and the reply. */
struct responder {
    const struct server_config *cfg;
    uint64_t rng;       /* xorshift64* state: delays, errors and chaos */
    uint64_t redirects; /* the N of chaos redirect's ?r=N */
    struct stats st;
    unsigned max_conns;   /* for /stats */
    int64_t now, started; /* ns, for /stats uptime */
    const char *filler;   /* FILLER_SIZE bytes of 'a' */
};

/* Set up r for cfg. 0, or -ENOMEM. */
int responder_init(struct responder *r, const struct server_config *cfg, unsigned max_conns);
void responder_free(struct responder *r);

/* Fill *rep for one complete request, counting it in r->st. */
void respond(struct responder *r, const struct http_request *req, struct reply *rep);

/* Fill *rep for a request that could not be parsed (400, 413, 431): sent
 * at once, then a lingering close. */
void respond_error(struct responder *r, int status, struct reply *rep);

/* Fill *rep with the 503 for a connection beyond --max-conns (not counted
 * as a request), then a lingering close. */
void respond_busy(struct reply *rep);

/* The next chunk of chaos oversize into rep->iov; false once OVERSIZE_LIMIT
 * bytes have gone and the connection should close. */
bool respond_oversize_chunk(struct responder *r, struct reply *rep);

/* The next DRIP_BYTES of chaos slow into rep->iov, framed as a chunk when
 * the reply is chunked (the last one followed by the terminating chunk). */
void respond_drip(struct reply *rep);

/* The reply is over (sent or abandoned): uncount it, free its body. */
void respond_done(struct responder *r, struct reply *rep);

#endif

/* server.h — flagserver's event loop: one thread, one io_uring.
 *
 * Every socket operation (accept, recv, sendmsg, cancel) is an io_uring
 * request, and every timer (per-request delays, slow drips, idle timeouts)
 * is an entry in one heap whose earliest deadline bounds the wait for
 * completions. Nothing ever sleeps, so ten thousand delayed requests cost
 * ten thousand heap entries and nothing else. */
#ifndef FLAGSERVER_SERVER_H
#define FLAGSERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

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

struct server_config {
    const char *bind_addr;       /* numeric IPv4 or IPv6 address */
    unsigned port;               /* 0: any free port */
    const char *port_file;       /* written once listening, or NULL */
    double delay_min, delay_max; /* seconds, uniform per request */
    double error_rate;           /* fraction of /flags/ requests answered 418 */
    uint64_t seed;               /* for delays, errors and chaos */
    int verbosity;               /* 0 -q, 1 startup line, 2 a line per request */
    bool close;                  /* Connection: close on every response */
    bool chunked;                /* images with chunked transfer encoding */
    double idle_timeout;         /* seconds to wait for a complete request */
    unsigned max_conns;          /* connections beyond it get 503 and close */
    struct chaos_rule chaos[CHAOS_MAX_RULES];
    size_t nchaos;
    const struct dataset *ds;
    const char *source; /* "built-in" or the --root directory, for the log */
};

/* Listen, write the port file, serve until SIGINT or SIGTERM. 0 after a
 * clean shutdown, or -errno when the server could not start. */
int server_run(const struct server_config *cfg);

#endif

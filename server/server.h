/* server.h — flagserver's event loop: one thread, one io_uring. What it
 * answers is respond.h's; this loop only carries the replies out.
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
#include "respond.h"
#include "tls.h"

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
    struct tls_options tls; /* tls.on: HTTPS */
    const struct dataset *ds;
    const char *source; /* "built-in" or the --root directory, for the log */
};

/* Listen, write the port file, serve until SIGINT or SIGTERM. 0 after a
 * clean shutdown, or -errno when the server could not start. */
int server_run(const struct server_config *cfg);

#endif

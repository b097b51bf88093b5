/* main.c — flagserver's command line and startup. */
#include "dataset.h"
#include "parse_num.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FLAGBENCH_VERSION
#define FLAGBENCH_VERSION "0"
#endif

static const char usage[] =
    "usage: flagserver [-b ADDR] [-p PORT] [--port-file FILE] [--root DIR]\n"
    "                  [--delay S | --delay-min S --delay-max S] [--error-rate P] [--seed N]\n"
    "                  [--close] [--chunked] [--idle-timeout S] [--max-conns N]\n"
    "                  [--chaos MODE[:FRACTION]]... [-q | -v] [-h] [--version]\n"
    "                  [--tls [--cert FILE --key FILE] [--cert-out FILE] [--no-tickets]\n"
    "                   [--tls-fault MODE] [--tls-cert-mode MODE]]\n"
    "       flagserver --list-codes\n";

static const char help[] =
    "Serve country flags over HTTP/1.1 for the flagbench clients, like the local\n"
    "test server of Fluent Python: /flags/<cc>/<cc>.gif and /flags/<cc>/metadata.json.\n"
    "\n"
    "  -b, --bind ADDR        address to listen on (default 127.0.0.1)\n"
    "  -p, --port PORT        port (default 8000; 0 = any free port)\n"
    "      --port-file FILE   write the port there (atomically) once listening\n"
    "      --root DIR         serve DIR/<cc>/<cc>.gif and DIR/<cc>/metadata.json\n"
    "                         (default: 194 built-in generated flags)\n"
    "      --delay S          delay every response by S seconds\n"
    "      --delay-min S, --delay-max S\n"
    "                         delay each response by a uniform random time\n"
    "      --error-rate P     answer that fraction of /flags/ requests 418\n"
    "      --seed N           seed of the random delays, errors and chaos (default 1)\n"
    "      --close            close the connection after every response\n"
    "      --chunked          send images with chunked transfer encoding\n"
    "      --idle-timeout S   close a connection that has not sent a whole request\n"
    "                         within S seconds (default 30)\n"
    "      --max-conns N      refuse connections beyond N with 503 (default 16384,\n"
    "                         lowered to fit the descriptor limit)\n"
    "      --chaos MODE[:F]   misbehave on a fraction F (default 1) of /flags/ requests;\n"
    "                         repeatable. MODE: truncate reset garbage longheader stall\n"
    "                         stallbody oversize slow redirect redirectloop\n"
    "      --tls              HTTPS (TLS 1.2 and 1.3, ALPN http/1.1, session tickets)\n"
    "                         instead of HTTP; without --cert, a fresh P-256 key and\n"
    "                         self-signed certificate for the bind address (and\n"
    "                         localhost) made at start and never written but by\n"
    "                         --cert-out\n"
    "      --cert FILE, --key FILE\n"
    "                         the certificate (chain, PEM) and its private key\n"
    "      --cert-out FILE    write the certificate there (atomically) before the\n"
    "                         port file, for clients to trust (curl --cacert FILE)\n"
    "      --no-tickets       no session resumption (tickets off, no session cache)\n"
    "      --tls-fault MODE   misbehave on every connection. MODE: silent (read the\n"
    "                         ClientHello, never answer), garbage (answer it with\n"
    "                         plain HTTP, not TLS), cut (send half of the first\n"
    "                         handshake flight, then close)\n"
    "      --tls-cert-mode MODE\n"
    "                         make a certificate clients must refuse: expired (until\n"
    "                         yesterday) or wrong-name (only DNS:wrong-name.invalid)\n"
    "  -q, --quiet            log nothing\n"
    "  -v, --verbose          log every request to stderr\n"
    "      --list-codes       print the 194 country codes (the clients' -a), one a\n"
    "                         line, sorted, and exit\n"
    "  -h, --help             this help\n"
    "      --version          print the version\n"
    "\n"
    "GET /stats shows counters as JSON (TLS handshakes too: tls_handshakes_full,\n"
    "tls_handshakes_resumed, tls_handshakes_failed); POST /stats/reset (or\n"
    "GET /stats?reset=1) resets them. SIGINT or SIGTERM stops the server.\n";

static int bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "flagserver: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

enum {
    OPT_PORT_FILE = 256,
    OPT_ROOT,
    OPT_DELAY,
    OPT_DELAY_MIN,
    OPT_DELAY_MAX,
    OPT_ERROR_RATE,
    OPT_SEED,
    OPT_CLOSE,
    OPT_CHUNKED,
    OPT_IDLE,
    OPT_MAX_CONNS,
    OPT_CHAOS,
    OPT_VERSION,
    OPT_LIST_CODES,
    OPT_TLS,
    OPT_CERT,
    OPT_KEY,
    OPT_CERT_OUT,
    OPT_NO_TICKETS,
    OPT_TLS_FAULT,
    OPT_TLS_CERT_MODE,
};

/* The TLS options that mean nothing without --tls, and whether the
 * certificate's two files come together. NULL, or what is wrong. */
static const char *tls_options_error(const struct tls_options *t, bool more) {
    if (!t->on)
        return more ? "--cert, --key, --cert-out, --no-tickets and --tls-* need --tls" : NULL;
    if (!t->cert_file != !t->key_file)
        return "--cert and --key go together";
    if (t->cert_file && t->cert_mode != TLS_CERT_GOOD)
        return "--tls-cert-mode makes its own certificate: not with --cert";
    return NULL;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"root", required_argument, NULL, OPT_ROOT},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"delay-min", required_argument, NULL, OPT_DELAY_MIN},
        {"delay-max", required_argument, NULL, OPT_DELAY_MAX},
        {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"close", no_argument, NULL, OPT_CLOSE},
        {"chunked", no_argument, NULL, OPT_CHUNKED},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
        {"chaos", required_argument, NULL, OPT_CHAOS},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"list-codes", no_argument, NULL, OPT_LIST_CODES},
        {"tls", no_argument, NULL, OPT_TLS},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"cert-out", required_argument, NULL, OPT_CERT_OUT},
        {"no-tickets", no_argument, NULL, OPT_NO_TICKETS},
        {"tls-fault", required_argument, NULL, OPT_TLS_FAULT},
        {"tls-cert-mode", required_argument, NULL, OPT_TLS_CERT_MODE},
        {0},
    };
    struct server_config cfg = {
        .bind_addr = "127.0.0.1",
        .port = 8000,
        .seed = 1,
        .verbosity = 1,
        .idle_timeout = 30,
        .max_conns = 16384,
        .source = "built-in",
    };
    const char *root = NULL;
    bool have_delay = false, have_min = false, have_max = false, tls_more = false;
    double fractions = 0;
    unsigned long long u;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b:p:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            unsigned char addr[16];
            if (inet_pton(AF_INET, optarg, addr) != 1 && inet_pton(AF_INET6, optarg, addr) != 1)
                return bad_usage("bad address (numeric IPv4 or IPv6): %s", optarg);
            cfg.bind_addr = optarg;
            break;
        }
        case 'p':
            if (parse_uint(optarg, 65535, &u))
                return bad_usage("bad port: %s", optarg);
            cfg.port = (unsigned)u;
            break;
        case OPT_PORT_FILE:
            cfg.port_file = optarg;
            break;
        case OPT_ROOT:
            root = optarg;
            break;
        case OPT_DELAY:
            if (parse_double(optarg, 0, 86400, &cfg.delay_min))
                return bad_usage("bad delay: %s", optarg);
            cfg.delay_max = cfg.delay_min;
            have_delay = true;
            break;
        case OPT_DELAY_MIN:
            if (parse_double(optarg, 0, 86400, &cfg.delay_min))
                return bad_usage("bad delay: %s", optarg);
            have_min = true;
            break;
        case OPT_DELAY_MAX:
            if (parse_double(optarg, 0, 86400, &cfg.delay_max))
                return bad_usage("bad delay: %s", optarg);
            have_max = true;
            break;
        case OPT_ERROR_RATE:
            if (parse_double(optarg, 0, 1, &cfg.error_rate))
                return bad_usage("bad error rate (0 to 1): %s", optarg);
            break;
        case OPT_SEED:
            if (parse_uint(optarg, UINT64_MAX, &u))
                return bad_usage("bad seed: %s", optarg);
            cfg.seed = u;
            break;
        case OPT_CLOSE:
            cfg.close = true;
            break;
        case OPT_CHUNKED:
            cfg.chunked = true;
            break;
        case OPT_IDLE:
            if (parse_double(optarg, 0.001, 86400, &cfg.idle_timeout))
                return bad_usage("bad idle timeout: %s", optarg);
            break;
        case OPT_MAX_CONNS:
            if (parse_uint(optarg, 1u << 24, &u) || u == 0)
                return bad_usage("bad connection cap: %s", optarg);
            cfg.max_conns = (unsigned)u;
            break;
        case OPT_CHAOS:
            if (cfg.nchaos == CHAOS_MAX_RULES)
                return bad_usage("too many --chaos options (%s)", optarg);
            if (chaos_parse(optarg, &cfg.chaos[cfg.nchaos]))
                return bad_usage("bad chaos mode: %s", optarg);
            fractions += cfg.chaos[cfg.nchaos++].fraction;
            if (fractions > 1.0 + 1e-9)
                return bad_usage("chaos fractions add up to more than 1 (%s)", optarg);
            break;
        case OPT_TLS:
            cfg.tls.on = true;
            break;
        case OPT_CERT:
            cfg.tls.cert_file = optarg;
            tls_more = true;
            break;
        case OPT_KEY:
            cfg.tls.key_file = optarg;
            tls_more = true;
            break;
        case OPT_CERT_OUT:
            cfg.tls.cert_out = optarg;
            tls_more = true;
            break;
        case OPT_NO_TICKETS:
            cfg.tls.no_tickets = true;
            tls_more = true;
            break;
        case OPT_TLS_FAULT:
            if (tls_parse_fault(optarg, &cfg.tls.fault))
                return bad_usage("bad TLS fault (silent, garbage, cut): %s", optarg);
            tls_more = true;
            break;
        case OPT_TLS_CERT_MODE:
            if (tls_parse_cert_mode(optarg, &cfg.tls.cert_mode))
                return bad_usage("bad certificate mode (expired, wrong-name): %s", optarg);
            tls_more = true;
            break;
        case 'q':
            cfg.verbosity = 0;
            break;
        case 'v':
            cfg.verbosity = 2;
            break;
        case 'h':
            printf("%s\n%s", usage, help);
            return 0;
        case OPT_VERSION:
            printf("flagserver %s\n", FLAGBENCH_VERSION);
            return 0;
        case OPT_LIST_CODES: /* for scripts: the list lives in one file */
            for (size_t i = 0; i < COUNTRY_COUNT; i++)
                printf("%s\n", countries[i].iso);
            if (fflush(stdout) || ferror(stdout)) {
                fprintf(stderr, "flagserver: --list-codes: cannot write: %s\n", strerror(errno));
                return 1;
            }
            return 0;
        case ':':
            return bad_usage("option needs a value: %s", argv[optind - 1]);
        default:
            return bad_usage("unknown option: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument: %s", argv[optind]);
    if (have_delay && (have_min || have_max))
        return bad_usage("%s", "--delay and --delay-min/--delay-max exclude each other");
    if (have_min && !have_max)
        cfg.delay_max = cfg.delay_min;
    if (cfg.delay_min > cfg.delay_max)
        return bad_usage("%s", "--delay-min is larger than --delay-max");
    const char *tls_error = tls_options_error(&cfg.tls, tls_more);
    if (tls_error)
        return bad_usage("%s", tls_error);

    struct dataset ds;
    int err = root ? dataset_load_root(&ds, root) : dataset_builtin(&ds);
    if (err) {
        fprintf(stderr, "flagserver: %s: %s\n", root ? root : "built-in flags",
                err == -ENOENT && root ? "no <cc>/<cc>.gif found" : strerror(-err));
        return 1;
    }
    cfg.ds = &ds;
    if (root)
        cfg.source = root;
    err = server_run(&cfg);
    dataset_free(&ds);
    return err ? 1 : 0;
}

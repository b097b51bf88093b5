/* start_floor — the kernel's own time to start N transfers, the floor under
 * the "fast start" figures (scripts/fast_start.sh): N TCP connections to
 * flagserver and one request sent on each, with nothing of a client around
 * them (no libcurl, no event loop, no saving). On loopback the server's
 * half of each handshake runs inside the client's connect(), so this is
 * what opening N connections costs one thread, or N threads, on this
 * machine at this moment. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "fd_limit.h"
#include "parse_num.h"

#define PROG           "start_floor"
#define MAX_CONNS      10000
#define STACK_SIZE     (64u << 10) /* a worker here only connects and sends */
#define ANSWER_WAIT_MS 60000

static const char *const codes[] = {
#define COUNTRY(iso, gec, tld, name) iso,
#include "countries.def"
#undef COUNTRY
};
#define NCODES (sizeof codes / sizeof codes[0])

static const char usage_text[] = "usage: " PROG " -s URL [-n N] [--threads] [--rounds R] [-h]\n";

static const char help_text[] =
    "\n"
    "The kernel's share of starting N transfers: opens N TCP connections to the\n"
    "host and port of URL (the clients' --server, e.g. http://127.0.0.1:PORT/flags)\n"
    "and sends on each one request, GET <URL's path>/<cc>/<cc>.gif HTTP/1.1, for\n"
    "the first N country codes (from the first again past 194). Timed:\n"
    "  one thread (default): from the first socket() to the last send(); every\n"
    "      socket non-blocking, all connects first, then each request sent as\n"
    "      soon as poll() reports its socket writable;\n"
    "  --threads: N threads (64 KiB stacks) created one after another, each\n"
    "      socket() + blocking connect() + send(); from just before the first\n"
    "      pthread_create() to the latest send() (each thread reads the clock\n"
    "      after its send).\n"
    "Sockets have TCP_NODELAY, like libcurl's; the descriptor table is grown\n"
    "before the clock starts. After each round, untimed, it waits (up to 60 s)\n"
    "until every answer starts, so the server is done before whatever runs\n"
    "next, reads nothing and closes. Prints one line a round: MODE,N,MS (MODE\n"
    "one_thread or threads, MS the time in milliseconds).\n"
    "\n"
    "options:\n"
    "  -s, --server URL  http://HOST:PORT[/PATH] (required)\n"
    "  -n N              connections (default: 194; 1-10000)\n"
    "      --threads     one thread per connection (default: all on one thread)\n"
    "      --rounds R    rounds, one line each (default: 1; 1-1000)\n"
    "  -h, --help        show this help and exit\n"
    "\n"
    "Exit status: 0 measured, 1 a connection or request failed, 2 usage error.\n";

static struct addrinfo *server;   /* where to connect */
static char request[NCODES][160]; /* one per code, sent in turn */

struct conn {
    int fd;
    int err;          /* errno of the failed step, or 0 */
    const char *step; /* which step failed */
    int64_t sent_ns;  /* the clock after the send (--threads) */
    const char *req;
};

static _Noreturn void usage_error(const char *msg, const char *arg) {
    fprintf(stderr, PROG ": error: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", usage_text);
    exit(2);
}

/* http://HOST:PORT[/PATH] -> server and one request per code. */
static void parse_url(const char *url) {
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        usage_error("--server needs http://HOST:PORT[/PATH], not", url);
    const char *host = url + sizeof scheme - 1, *path = strchr(host, '/');
    const char *port = path ? memrchr(host, ':', (size_t)(path - host)) : strrchr(host, ':');
    size_t hostlen = port ? (size_t)(port - host) : 0, portlen = port ? strcspn(port + 1, "/") : 0;
    char h[256], p[16];
    if (!port || hostlen == 0 || hostlen >= sizeof h || portlen == 0 || portlen >= sizeof p)
        usage_error("--server needs http://HOST:PORT[/PATH], not", url);
    memcpy(h, host, hostlen), h[hostlen] = '\0';
    memcpy(p, port + 1, portlen), p[portlen] = '\0';
    unsigned long long port_num;
    if (parse_uint(p, 65535, &port_num) < 0)
        usage_error("--server needs a port number, http://HOST:PORT[/PATH], not", url);
    if (h[0] == '[' && h[hostlen - 1] == ']') /* [IPv6] */
        memmove(h, h + 1, hostlen - 2), h[hostlen - 2] = '\0';
    const struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int e = getaddrinfo(h, p, &hints, &server);
    if (e) {
        fprintf(stderr, PROG ": error: %s: %s\n", url, gai_strerror(e));
        exit(1);
    }
    int plen = path ? (int)strcspn(path, "?#") : 0;
    if (plen > 0 && path[plen - 1] == '/')
        plen--;
    for (size_t i = 0; i < NCODES; i++) {
        char cc[3] = {(char)(codes[i][0] | 0x20), (char)(codes[i][1] | 0x20), '\0'};
        int len = snprintf(request[i], sizeof request[i],
                           "GET %.*s/%s/%s.gif HTTP/1.1\r\nHost: %.*s\r\nAccept: */*\r\n\r\n", plen,
                           path ? path : "", cc, cc, (int)(hostlen + 1 + portlen), host);
        if (len < 0 || (size_t)len >= sizeof request[i])
            usage_error("--server's path or host is too long:", url);
    }
}

/* Note which step failed and why; -1. */
static int failed(struct conn *c, const char *step, int err) {
    c->step = step;
    c->err = err;
    return -1;
}

static int open_socket(struct conn *c, int flags) {
    c->fd = socket(server->ai_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (c->fd < 0)
        return failed(c, "socket", errno);
    int one = 1; /* libcurl's default: requests are not held back by Nagle */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, server->ai_addr, server->ai_addrlen) < 0 && errno != EINPROGRESS)
        return failed(c, "connect", errno);
    return 0;
}

static int send_request(struct conn *c) {
    size_t len = strlen(c->req);
    ssize_t n = send(c->fd, c->req, len, MSG_NOSIGNAL);
    if (n != (ssize_t)len) /* a fresh socket's buffer takes ~80 bytes whole */
        return failed(c, "send", n < 0 ? errno : EAGAIN);
    return 0;
}

static int64_t one_thread(struct conn *cs, int n, struct pollfd *pfd) {
    int64_t t0 = clock_now_ns();
    for (int i = 0; i < n; i++)
        if (open_socket(&cs[i], SOCK_NONBLOCK) < 0)
            return -1;
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){.fd = cs[i].fd, .events = POLLOUT};
    for (int left = n; left > 0;) {
        if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
            return failed(&cs[0], "poll", errno);
        for (int i = 0; i < n; i++) {
            if (!pfd[i].revents || pfd[i].fd < 0)
                continue;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(cs[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err)
                return failed(&cs[i], "connect", err);
            if (send_request(&cs[i]) < 0)
                return -1;
            pfd[i].fd = -1, left--;
        }
    }
    return clock_now_ns() - t0;
}

static void *connect_and_send(void *arg) {
    struct conn *c = arg;
    if (open_socket(c, 0) == 0 && send_request(c) == 0)
        c->sent_ns = clock_now_ns();
    return NULL;
}

static int64_t threads(struct conn *cs, int n, pthread_t *tid) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    int64_t t0 = clock_now_ns(), last = t0;
    int started = 0, e = 0;
    while (started < n &&
           (e = pthread_create(&tid[started], &attr, connect_and_send, &cs[started])) == 0)
        started++;
    pthread_attr_destroy(&attr);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (e)
        return failed(&cs[0], "pthread_create", e);
    for (int i = 0; i < n; i++) {
        if (cs[i].err)
            return -1;
        if (cs[i].sent_ns > last)
            last = cs[i].sent_ns;
    }
    return last - t0;
}

/* Untimed: with wait, until every answer starts (the server is then done
 * with the request, rather than answering a closed socket while whatever
 * runs next is timed); then close, reading nothing. */
static void finish(struct conn *cs, int n, struct pollfd *pfd, bool wait) {
    int waiting = 0;
    for (int i = 0; i < n; i++) {
        pfd[i] = (struct pollfd){.fd = wait ? cs[i].fd : -1, .events = POLLIN};
        waiting += pfd[i].fd >= 0;
    }
    for (int64_t end = clock_now_ns() + ANSWER_WAIT_MS * 1000000LL; waiting > 0;) {
        int64_t left_ms = (end - clock_now_ns()) / 1000000;
        if (left_ms <= 0 || (poll(pfd, (nfds_t)n, (int)left_ms) < 0 && errno != EINTR))
            break;
        for (int i = 0; i < n; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents)
                pfd[i].fd = -1, waiting--;
    }
    if (waiting > 0)
        fprintf(stderr, PROG ": warning: %d answers had not started after %d s\n", waiting,
                ANSWER_WAIT_MS / 1000);
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
                                             {"threads", no_argument, NULL, 't'},
                                             {"rounds", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *url = NULL;
    unsigned long long n = 194, rounds = 1;
    bool use_threads = false;
    opterr = 0;
    for (int o; (o = getopt_long(argc, argv, ":s:n:h", longopts, NULL)) != -1;) {
        if (o == 's')
            url = optarg;
        else if (o == 'n' && (parse_uint(optarg, MAX_CONNS, &n) < 0 || n == 0))
            usage_error("-n needs 1-10000, not", optarg);
        else if (o == 't')
            use_threads = true;
        else if (o == 'r' && (parse_uint(optarg, 1000, &rounds) < 0 || rounds == 0))
            usage_error("--rounds needs 1-1000, not", optarg);
        else if (o == 'h')
            return fputs(usage_text, stdout), fputs(help_text, stdout), 0;
        else if (o == ':')
            usage_error("an option needs a value:", argv[optind - 1]);
        else if (o == '?')
            usage_error("unknown option", argv[optind - 1]);
    }
    if (optind < argc)
        usage_error("unexpected argument", argv[optind]);
    if (!url)
        usage_error("-s URL is required", NULL);
    parse_url(url);

    /* N sockets need N descriptors; grow the table now, while one thread
     * runs: once threads share it, growing it waits an RCU grace period. */
    raise_fd_limit(n + 16);
    presize_fd_table(n + 16);

    struct conn *cs = calloc(n, sizeof *cs);
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    pthread_t *tid = calloc(n, sizeof *tid);
    if (!cs || !pfd || !tid)
        return fprintf(stderr, PROG ": error: out of memory\n"), 1;
    int rc = 0;
    for (unsigned long long r = 0; r < rounds && rc == 0; r++) {
        for (size_t i = 0; i < n; i++)
            cs[i] = (struct conn){.fd = -1, .req = request[i % NCODES]};
        int64_t ns = use_threads ? threads(cs, (int)n, tid) : one_thread(cs, (int)n, pfd);
        if (ns < 0) {
            for (size_t i = 0; i < n; i++)
                if (cs[i].err) {
                    fprintf(stderr, PROG ": error: %s to %s: %s\n", cs[i].step, url,
                            strerror(cs[i].err));
                    break;
                }
            rc = 1;
        } else {
            printf("%s,%llu,%.3f\n", use_threads ? "threads" : "one_thread", n, ns / 1e6);
            fflush(stdout);
        }
        finish(cs, (int)n, pfd, rc == 0);
    }
    freeaddrinfo(server);
    free(cs), free(pfd), free(tid);
    return rc;
}

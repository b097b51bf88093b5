/* options.c — the shared command line, a superset of the book's flags2_common.py. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "codes.h"
#include "parse_num.h"

#define DEFAULT_DEST       "downloaded/"
#define DEFAULT_TIMEOUT_S  10.0
#define DEFAULT_MAX_SIZE   (4LL << 20)
#define DEFAULT_STACK_SIZE (256u << 10)
#define MAX_REQ_LIMIT      1000000u
#define REPEAT_LIMIT       100000u
#define REQUESTS_LIMIT     1000000u /* a record each: ~170 MB of them at most */
#define SERVER_URL_MAX     1900     /* a flag URL adds at most 22; fetch.c builds them in 2048 */

const char *server_url(const char *word) {
    /* IP literals, not "localhost": a host name would make libcurl start a
     * resolver thread, and a one-thread back end must stay on one thread. */
    if (strcmp(word, "LOCAL") == 0)
        return "http://127.0.0.1:8000/flags";
    if (strcmp(word, "DELAY") == 0)
        return "http://127.0.0.1:8001/flags";
    if (strcmp(word, "ERROR") == 0)
        return "http://127.0.0.1:8002/flags";
    return word;
}

static void usage_line(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s [-h] [--version] [-a | -e] [-l N] [-m N] [-s SERVER] [-d DIR] [-v]\n"
            "       [--timeout S] [--max-size BYTES] [--repeat K] [--metadata] [--no-reuse]\n"
            "       [--cacert FILE] [--no-resume] [--stack-size BYTES] [--trace FILE]\n"
            "       [--summary FILE] [-q] [CC ...]\n",
            prog);
}

static void help(FILE *f, const char *prog, unsigned default_max_req, unsigned max_max_req) {
    char cap[48] = "";
    if (max_max_req)
        snprintf(cap, sizeof cap, "; larger values act as %u", max_max_req);
    usage_line(f, prog);
    fprintf(f,
            "\nDownload country flags over HTTP or HTTPS and report how long it took.\n\n"
            "positional arguments:\n"
            "  CC                  country codes, or one letter for the 26 codes starting\n"
            "                      with it (B = BA..BZ); default: the 20 most populous\n"
            "options:\n"
            "  -a, --all           all %d flags the server has\n"
            "  -e, --every         every code AA..ZZ (676 requests; most get 404)\n"
            "  -l N, --limit N     only the first N codes, after sorting\n"
            "  -m N, --max-req N   most requests in flight (default %u%s)\n"
            "  -s SERVER, --server SERVER\n"
            "                      LOCAL (%s), DELAY (%s),\n"
            "                      ERROR (%s), or a base URL, http:// or\n"
            "                      https:// (default LOCAL)\n"
            "  -d DIR, --dest DIR  where flags are saved, created if missing (default %s)\n"
            "  -v, --verbose       a line per flag instead of the progress bar\n"
            "  -q, --quiet         no final report\n"
            "  --timeout S         give up on a request after S seconds (default %g; 0 = never;\n"
            "                      else at least 0.001: libcurl counts milliseconds)\n"
            "  --max-size BYTES    a larger body is an error (default 4M; K, M, G suffixes)\n"
            "  --repeat K          request every code K times; files cc-1.gif... after the first\n"
            "  --metadata          also fetch metadata.json and name the file after the country\n"
            "  --no-reuse          a new connection for every request\n"
            "  --cacert FILE       over HTTPS, trust the certificates (PEM) in FILE instead of\n"
            "                      the system's store; the server's certificate and name\n"
            "                      are always verified, and a flag they fail is an error\n"
            "  --no-resume         over HTTPS, a full TLS handshake on every connection (by\n"
            "                      default the run's connections resume each other's sessions)\n"
            "  --stack-size BYTES  thread-pool worker stack size (default 256K, at least 64K)\n"
            "  --trace FILE        write every request's record as CSV ('-' = stdout)\n"
            "  --summary FILE      append the run's figures as a CSV row ('-' = stdout)\n"
            "  -h, --help          show this help and exit\n"
            "  --version           show the version and exit\n\n"
            "Exit status: 0 all flags ok or not found, 1 some errors, 2 usage error,\n"
            "3 destination, trace or summary not writable (nothing requested), 4 setup failure,\n"
            "130 interrupted.\n",
            FLAG_CODE_COUNT, default_max_req, cap, server_url("LOCAL"), server_url("DELAY"),
            server_url("ERROR"), DEFAULT_DEST, DEFAULT_TIMEOUT_S);
}

static int usage_error(FILE *err, const char *prog, const char *fmt, ...) {
    va_list ap;
    fprintf(err, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fputc('\n', err);
    usage_line(err, prog);
    return OPT_USAGE;
}

static int out_of_memory(FILE *err, const char *prog) {
    fprintf(err, "%s: error: out of memory\n", prog);
    return OPT_NOMEM;
}

/* Whether url is one libcurl can parse, with an http or https scheme and a
 * host: a malformed one (http://[::1) would otherwise fail every flag.
 * 0; -EPROTONOSUPPORT for another scheme; -EINVAL; -ENOMEM. */
static int check_url(const char *url) {
    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    char *scheme = NULL;
    int rc = 0;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OUT_OF_MEMORY)
        rc = -ENOMEM;
    else if (uc != CURLUE_OK)
        rc = strncmp(url, "http://", 7) && strncmp(url, "https://", 8) ? -EPROTONOSUPPORT : -EINVAL;
    else if ((uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK)
        rc = uc == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = -EPROTONOSUPPORT;
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *s, unsigned long long *out) {
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    }
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (errno || *end || v > (1ULL << 40) >> shift)
        return -EINVAL;
    *out = v << shift;
    return 0;
}

enum {
    OPT_VERSION = 256,
    OPT_TIMEOUT,
    OPT_MAX_SIZE,
    OPT_TRACE,
    OPT_SUMMARY,
    OPT_METADATA,
    OPT_REPEAT,
    OPT_NO_REUSE,
    OPT_STACK_SIZE,
    OPT_CACERT,
    OPT_NO_RESUME,
};

int options_parse(struct options *opt, int argc, char **argv, const char *prog,
                  unsigned default_max_req, unsigned max_max_req, FILE *out, FILE *err) {
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'},
        {"every", no_argument, NULL, 'e'},
        {"limit", required_argument, NULL, 'l'},
        {"max-req", required_argument, NULL, 'm'},
        {"max_req", required_argument, NULL, 'm'},
        {"server", required_argument, NULL, 's'},
        {"dest", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-size", required_argument, NULL, OPT_MAX_SIZE},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"summary", required_argument, NULL, OPT_SUMMARY},
        {"metadata", no_argument, NULL, OPT_METADATA},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"no-reuse", no_argument, NULL, OPT_NO_REUSE},
        {"stack-size", required_argument, NULL, OPT_STACK_SIZE},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"no-resume", no_argument, NULL, OPT_NO_RESUME},
        {NULL, 0, NULL, 0},
    };
    bool all = false, every = false;
    unsigned long long v, limit = 0;
    const char *server = "LOCAL";

    *opt = (struct options){
        .repeat = 1,
        .dest = DEFAULT_DEST,
        .timeout_s = DEFAULT_TIMEOUT_S,
        .max_size = DEFAULT_MAX_SIZE,
        .stack_size = DEFAULT_STACK_SIZE,
    };
    optind = 0; /* reset, so the tests can parse many times */
    opterr = 0; /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":aehl:m:s:d:vq", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = true;
            break;
        case 'e':
            every = true;
            break;
        case 'v':
            opt->verbose = true;
            break;
        case 'q':
            opt->quiet = true;
            break;
        case 'd':
            if (!*optarg)
                return usage_error(err, prog, "--dest must not be empty");
            opt->dest = optarg;
            break;
        case 's':
            server = optarg;
            break;
        case 'l':
            if (parse_uint(optarg, 26 * 26, &limit) || limit == 0)
                return usage_error(err, prog, "-l/--limit needs a number from 1 to 676, not '%s'",
                                   optarg);
            break;
        case 'm':
            if (parse_uint(optarg, MAX_REQ_LIMIT, &v) || v == 0)
                return usage_error(err, prog, "-m/--max-req needs a number from 1 to %u, not '%s'",
                                   MAX_REQ_LIMIT, optarg);
            opt->max_req = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            /* libcurl counts milliseconds and takes 0 for "never": a
             * shorter timeout would silently become none. */
            if (parse_double(optarg, 0, 86400, &opt->timeout_s) ||
                (opt->timeout_s > 0 && opt->timeout_s < 0.001))
                return usage_error(err, prog,
                                   "--timeout needs 0 (never) or seconds from 0.001 to 86400, "
                                   "not '%s'",
                                   optarg);
            break;
        case OPT_MAX_SIZE:
            if (parse_size(optarg, &v) || v == 0)
                return usage_error(err, prog, "--max-size needs a byte count (like 4M), not '%s'",
                                   optarg);
            opt->max_size = (long long)v;
            break;
        case OPT_STACK_SIZE:
            /* libcurl's perform needs about 14 KiB of stack (its printf keeps
             * big arrays there): 64 KiB leaves a wide margin. */
            if (parse_size(optarg, &v) || v < 65536 || v > (1ULL << 30))
                return usage_error(
                    err, prog, "--stack-size needs 64K to 1G bytes (like 256K), not '%s'", optarg);
            opt->stack_size = (size_t)v;
            break;
        case OPT_REPEAT:
            if (parse_uint(optarg, REPEAT_LIMIT, &v) || v == 0)
                return usage_error(err, prog, "--repeat needs a number from 1 to %u, not '%s'",
                                   REPEAT_LIMIT, optarg);
            opt->repeat = (unsigned)v;
            break;
        case OPT_TRACE:
            opt->trace = optarg;
            break;
        case OPT_SUMMARY:
            opt->summary = optarg;
            break;
        case OPT_METADATA:
            opt->metadata = true;
            break;
        case OPT_NO_REUSE:
            opt->no_reuse = true;
            break;
        case OPT_CACERT: {
            /* Checked now: an unreadable file would otherwise fail every
             * flag, one by one, with libcurl's words for it. */
            FILE *f = *optarg ? fopen(optarg, "r") : NULL;
            int e = f ? (fgetc(f), ferror(f) ? errno : 0) : *optarg ? errno : ENOENT;
            if (f)
                fclose(f);
            if (e)
                return usage_error(err, prog, "--cacert '%s' can't be read: %s", optarg,
                                   strerror(e));
            opt->cacert = optarg;
            break;
        }
        case OPT_NO_RESUME:
            opt->no_resume = true;
            break;
        case 'h':
            help(out, prog, default_max_req, max_max_req);
            return OPT_EXIT;
        case OPT_VERSION:
            fprintf(out, "%s (flagbench) %s\n", prog, FLAGBENCH_VERSION);
            return OPT_EXIT;
        case ':':
            return usage_error(err, prog, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(err, prog, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (all && every)
        return usage_error(err, prog, "-a/--all and -e/--every can't be used together");
    if ((all || every) && optind < argc)
        return usage_error(err, prog, "country codes can't be given with -a/--all or -e/--every");

    const char *url = server_url(server);
    opt->site = url == server ? NULL : server;
    if (strlen(url) > SERVER_URL_MAX)
        return usage_error(err, prog, "--server URL is longer than %d characters", SERVER_URL_MAX);
    switch (check_url(url)) {
    case 0:
        break;
    case -ENOMEM:
        return out_of_memory(err, prog);
    case -EPROTONOSUPPORT:
        return usage_error(err, prog,
                           "--server must be LOCAL, DELAY, ERROR or an http(s):// URL, not '%s'",
                           server);
    default:
        return usage_error(err, prog, "--server '%s' is not a valid URL", server);
    }

    const char *bad = NULL;
    int rc = codes_expand(all     ? EXPAND_ALL
                          : every ? EXPAND_EVERY
                                  : EXPAND_ARGS,
                          argv + optind, (size_t)(argc - optind), (size_t)limit, &opt->codes,
                          &opt->ncodes, &bad);
    if (rc == -EINVAL)
        return usage_error(err, prog, "'%s' is not a country code (two letters) or a letter", bad);
    if (rc < 0)
        return out_of_memory(err, prog);
    if (opt->ncodes * opt->repeat > REQUESTS_LIMIT) {
        size_t n = opt->ncodes;
        options_free(opt);
        return usage_error(err, prog, "%zu codes x --repeat %u is over %u requests", n, opt->repeat,
                           REQUESTS_LIMIT);
    }
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    opt->server = strndup(url, len);
    if (!opt->server) {
        options_free(opt);
        return out_of_memory(err, prog);
    }
    return OPT_OK;
}

void options_free(struct options *opt) {
    codes_free(opt->codes, opt->ncodes);
    free(opt->server);
    opt->codes = NULL;
    opt->server = NULL;
    opt->ncodes = 0;
}

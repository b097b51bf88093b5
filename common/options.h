/* options.h — the command line every client shares (docs/DESIGN.md), parsed once. */
#ifndef FLAGBENCH_OPTIONS_H
#define FLAGBENCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every client. */
enum exit_status {
    EXIT_ALL_OK = 0,      /* every flag ok or not found */
    EXIT_SOME_ERRORS = 1, /* at least one flag was an error */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_DEST = 3,        /* destination, trace or summary not writable; nothing requested */
    EXIT_SETUP = 4,       /* out of memory, libcurl or io_uring failed to start */
    EXIT_INTERRUPTED = 130,
};

struct options {
    char **codes; /* sorted, unique, upper case; owned */
    size_t ncodes;
    unsigned repeat;  /* each code is requested this many times (>= 1) */
    unsigned max_req; /* -m; 0 = the back end's default */
    char *server;     /* base URL without trailing slash; owned */
    const char *site; /* LOCAL, DELAY or ERROR when --server named one; NULL for a URL */
    const char *dest; /* destination directory */
    bool verbose;
    double timeout_s;    /* per request, 0 = none */
    long long max_size;  /* largest accepted body, bytes */
    const char *trace;   /* CSV of every record, "-" = stdout, NULL = none */
    const char *summary; /* CSV row appended, "-" = stdout, NULL = none */
    bool metadata;       /* flags3 mode: fetch metadata.json, name file after country */
    bool no_reuse;       /* a new connection per request (CURLOPT_FORBID_REUSE) */
    const char *cacert;  /* --cacert: certificates to trust instead of the system store */
    bool no_resume;      /* no TLS session resumption (full handshake every connection) */
    size_t stack_size;   /* thread-pool worker stack, bytes */
    bool quiet;          /* no final report */
};

enum { OPT_OK = 0, OPT_EXIT = 1, OPT_USAGE = 2, OPT_NOMEM = 3 };

/* Parse argv into *opt. Returns OPT_OK; OPT_EXIT after --help/--version
 * (printed to out); OPT_USAGE after printing one line saying why and the
 * usage line to err; or OPT_NOMEM (exit EXIT_SETUP) after saying so on err.
 * Only OPT_OK leaves anything for options_free. default_max_req and
 * max_max_req (the back end's cap on -m; 0 = none) are shown in --help. */
int options_parse(struct options *opt, int argc, char **argv, const char *prog,
                  unsigned default_max_req, unsigned max_max_req, FILE *out, FILE *err);
void options_free(struct options *opt);

/* The base URL a --server word names: LOCAL, DELAY, ERROR, or itself. */
const char *server_url(const char *word);

#endif

/* flagbench.c — the one main every back end shares. */
#include "flagbench.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "codes.h"
#include "fd_limit.h"
#include "fetch.h"
#include "procstart.h"
#include "save.h"
#include "tls_sessions.h"

static void on_signal(int sig) {
    (void)sig;
    run_interrupt();
}

static struct timeval tv_sub(struct timeval a, struct timeval b) {
    struct timeval d;
    timersub(&a, &b, &d);
    return d;
}

/* The run's own share of the process's resource usage. */
static void rusage_delta(struct rusage *d, const struct rusage *a, const struct rusage *b) {
    *d = *b;
    d->ru_utime = tv_sub(b->ru_utime, a->ru_utime);
    d->ru_stime = tv_sub(b->ru_stime, a->ru_stime);
    d->ru_nvcsw = b->ru_nvcsw - a->ru_nvcsw;
    d->ru_nivcsw = b->ru_nivcsw - a->ru_nivcsw;
}

static unsigned effective_max_req(const struct options *opt, const struct backend *b, size_t n) {
    unsigned m = opt->max_req ? opt->max_req : b->default_max_req;
    if (b->max_max_req && m > b->max_max_req)
        m = b->max_max_req;
    if (m > n)
        m = (unsigned)n;
    return m ? m : 1;
}

static int records_new(struct run *run) {
    const struct options *opt = run->opt;
    size_t n = opt->ncodes * opt->repeat;
    run->records = calloc(n ? n : 1, sizeof *run->records);
    if (!run->records)
        return -ENOMEM;
    run->nrecords = n;
    for (size_t i = 0; i < n; i++) {
        struct record *r = &run->records[i];
        memcpy(r->code, opt->codes[i % opt->ncodes], 3);
        r->repeat = (unsigned)(i / opt->ncodes);
        r->queued_us = 0;
        r->started_us = r->connected_us = r->first_byte_us = r->done_us = r->saved_us = -1;
        r->started_cpu_us = r->done_cpu_us = r->handshake_us = -1;
    }
    return 0;
}

static void print_header(FILE *out, const struct run *run) {
    const struct options *opt = run->opt;
    /* The book's "LOCAL site: http://..."; a URL given as is stands alone. */
    fprintf(out, "%s%ssite: %s\n", opt->site ? opt->site : "", opt->site ? " " : "", opt->server);
    fprintf(out, "Searching for %zu flag%s", run->nrecords, run->nrecords == 1 ? "" : "s");
    if (opt->ncodes > 1)
        fprintf(out, ": from %s to %s", opt->codes[0], opt->codes[opt->ncodes - 1]);
    if (opt->repeat > 1)
        fprintf(out, ", each %u times", opt->repeat);
    fprintf(out, "\n%u concurrent connection%s will be used.\n", run->max_req,
            run->max_req == 1 ? "" : "s");
    fflush(out);
}

int flagbench_main(int argc, char **argv, const struct backend *backend) {
    const char *prog = argc > 0 ? basename(argv[0]) : backend->name;
    struct options opt;
    struct run run = {.opt = &opt, .backend = backend, .prog = prog};
    int status = EXIT_SETUP;

    switch (options_parse(&opt, argc, argv, prog, backend->default_max_req, backend->max_max_req,
                          stdout, stderr)) {
    case OPT_EXIT:
        return EXIT_ALL_OK;
    case OPT_USAGE:
        return EXIT_USAGE;
    case OPT_NOMEM:
        return EXIT_SETUP;
    }
    int rc = dest_prepare(opt.dest);
    if (rc < 0) {
        fprintf(stderr, "%s: error: destination '%s' is not a writable directory: %s\n", prog,
                opt.dest, strerror(-rc));
        options_free(&opt);
        return EXIT_DEST;
    }
    const char *outputs[][2] = {{"trace", opt.trace}, {"summary", opt.summary}};
    for (size_t i = 0; i < 2; i++) {
        if (outputs[i][1] && (rc = output_check(outputs[i][1])) < 0) {
            fprintf(stderr, "%s: error: can't write the %s to '%s': %s\n", prog, outputs[i][0],
                    outputs[i][1], strerror(-rc));
            options_free(&opt);
            return EXIT_DEST;
        }
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: error: libcurl failed to start\n", prog);
        options_free(&opt);
        return EXIT_SETUP;
    }
    if (records_new(&run) < 0) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto out;
    }
    if (!opt.no_resume && !(run.tls_sessions = tls_sessions_new())) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto out;
    }
    run.max_req = effective_max_req(&opt, backend, run.nrecords);
    run.threads_peak = 1;
    run.pid = (int)getpid();
    /* -m 10000 needs 10000 sockets and more: all the hard limit allows. */
    run.fd_limit = raise_fd_limit(0);
    /* Blocking saves go by name under this descriptor (save_atomic_at).
     * Should the open fail (or give 0), they go by path as before. */
    int dest_fd = open(opt.dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
    run.dest_fd = dest_fd > 0 ? dest_fd : 0;
    /* The report goes to stderr when stdout carries a CSV. */
    bool csv_on_stdout = (opt.trace && strcmp(opt.trace, "-") == 0) ||
                         (opt.summary && strcmp(opt.summary, "-") == 0);
    FILE *report = csv_on_stdout ? stderr : stdout;
    if (!opt.quiet)
        print_header(report, &run);

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: waits end early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A file over RLIMIT_FSIZE (a full quota) must fail the save with EFBIG,
     * not kill the process. */
    signal(SIGXFSZ, SIG_IGN);

    progress_init(&run.progress, run.nrecords, opt.verbose);
    struct rusage ru0, ru1, ru;
    getrusage(RUSAGE_SELF, &ru0);
    /* The process's start on the run's clock, for the report's phases. */
    int64_t age_ns = process_age_ns();
    run.t0_ns = clock_now_ns();
    rc = backend->download_many(&run);
    double wall_s = (double)(clock_now_ns() - run.t0_ns) / 1e9;
    getrusage(RUSAGE_SELF, &ru1);
    progress_end(&run.progress);
    rusage_delta(&ru, &ru0, &ru1);

    if (rc < 0)
        fprintf(stderr, "%s: error: the %s back end failed: %s\n", prog, backend->name,
                strerror(-rc));
    struct figures fig = {.backend = backend->name,
                          .max_req = run.max_req,
                          .threads = run.threads_peak,
                          .process_start_us = -age_ns / 1000};
    if (figures_compute(&fig, run.records, run.nrecords, wall_s, &ru) < 0) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto out;
    }
    if (!opt.quiet)
        report_print(report, &fig);
    status = rc < 0 ? EXIT_SETUP : fig.errors ? EXIT_SOME_ERRORS : EXIT_ALL_OK;
    if (opt.trace && (rc = trace_to_path(opt.trace, run.records, run.nrecords, backend->name))) {
        fprintf(stderr, "%s: error: can't write trace '%s': %s\n", prog, opt.trace, strerror(-rc));
        status = EXIT_SOME_ERRORS;
    }
    if (opt.summary && (rc = summary_to_path(opt.summary, &fig))) {
        fprintf(stderr, "%s: error: can't write summary '%s': %s\n", prog, opt.summary,
                strerror(-rc));
        status = EXIT_SOME_ERRORS;
    }
    if (run_interrupted())
        status = EXIT_INTERRUPTED;
out:
    if (run.dest_fd > 0)
        close(run.dest_fd);
    free(run.records);
    tls_sessions_free(run.tls_sessions);
    options_free(&opt);
    bodies_release_all();
    curl_global_cleanup();
    return status;
}

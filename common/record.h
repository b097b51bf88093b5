/* record.h — what every download leaves behind, and the figures a run
 * derives from its records and getrusage (docs/DESIGN.md, "What a run measures"). */
#ifndef FLAGBENCH_RECORD_H
#define FLAGBENCH_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

enum outcome { OUTCOME_NONE = 0, OUTCOME_OK, OUTCOME_NOT_FOUND, OUTCOME_ERROR };

const char *outcome_name(enum outcome o); /* "ok", "not_found", "error", "not_run" */

/* A flag's life, one way only:
 *
 *   WAITING -> IMAGE -> [METADATA ->] SAVING -> FINISHED (ok, or a save error)
 *                  \----------------\-----------> FINISHED (not found, error)
 *
 * The outcome is set only on reaching FINISHED, so a flag is OK only once
 * its file is saved. One that never gets there (abandoned at SIGINT, or
 * its save cut off by the drain's deadline) stays OUTCOME_NONE, "not run",
 * whatever it had downloaded. */
enum stage {
    STAGE_WAITING = 0, /* not started */
    STAGE_IMAGE,       /* the image request in flight */
    STAGE_METADATA,    /* the image in; the metadata.json request in flight (--metadata) */
    STAGE_SAVING,      /* downloaded: waiting for its save, or being saved */
    STAGE_FINISHED,    /* outcome set: saved (ok), not found, or an error */
};

#define RECORD_ERROR_MAX 96

struct record {
    char code[3];
    unsigned repeat;      /* 0 for the first request of a code */
    enum stage stage;
    enum outcome outcome; /* OUTCOME_NONE until FINISHED: never finished (interrupted) */
    int http_status;      /* of the flag's image request; 0 if none */
    size_t bytes;         /* body bytes of the image */
    int thread;           /* kernel thread id that ran it */
    /* microseconds since the run began; -1 where it didn't happen */
    int64_t queued_us, started_us, connected_us, first_byte_us, done_us, saved_us;
    /* The running thread's CPU time (µs) at started_us and done_us, with
     * --trace only: when a thread was busy, between its records. */
    int64_t started_cpu_us, done_cpu_us;
    /* The TLS handshake of the image request's connection (libcurl's
     * app-connect minus connect time), µs; -1 when it made none (HTTP, or a
     * kept-alive connection). */
    int64_t handshake_us;
    char error[RECORD_ERROR_MAX]; /* short reason when outcome is OUTCOME_ERROR */
};

struct figures {
    const char *backend;
    size_t requests, ok, not_found, errors, not_run;
    unsigned max_req;
    double wall_s, user_s, sys_s, cpu_s, cpu_per_wall;
    unsigned inflight_peak;
    double inflight_mean; /* Little's law: sum of request durations / wall */
    unsigned threads;
    long rss_kb, ctx_voluntary, ctx_involuntary;
    double latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms;
    long long bytes;
    int64_t process_start_us; /* when the process started: µs before t0, <= 0 */
};

/* Derive the figures of a finished run. Allocates scratch; returns 0 or -ENOMEM. */
int figures_compute(struct figures *f, const struct record *recs, size_t n, double wall_s,
                    const struct rusage *ru);

/* The book's report plus one line of figures. */
void report_print(FILE *out, const struct figures *f);

/* Every finished record as CSV with a header row. Returns 0 or -errno. */
int trace_write(FILE *out, const struct record *recs, size_t n, const char *backend);

/* Append one CSV row of figures; a header first when out is empty/new. */
int summary_write(FILE *out, const struct figures *f, int with_header);

/* Whether path ("-" = stdout) can be written: its directory exists and is
 * writable, and it is not a directory. Checked before a run so a typo
 * doesn't cost the run. 0, or -errno. */
int output_check(const char *path);

/* Open path for trace ("w") or summary ("a"); "-" is stdout. Writes the
 * whole thing, closes, and reports a failure as -errno. */
int trace_to_path(const char *path, const struct record *recs, size_t n, const char *backend);
int summary_to_path(const char *path, const struct figures *f);

#endif

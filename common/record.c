/* record.c — the figures a run derives from its records, and their CSV. */
#include "record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *outcome_name(enum outcome o) {
    switch (o) {
    case OUTCOME_OK:
        return "ok";
    case OUTCOME_NOT_FOUND:
        return "not_found";
    case OUTCOME_ERROR:
        return "error";
    default:
        return "not_run";
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, in milliseconds. */
static double percentile_ms(const int64_t *sorted, size_t n, double p) {
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1] / 1000.0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool finished(const struct record *r) {
    return r->outcome != OUTCOME_NONE && r->started_us >= 0 && r->done_us >= r->started_us;
}

int figures_compute(struct figures *f, const struct record *recs, size_t n, double wall_s,
                    const struct rusage *ru) {
    int64_t *lat = malloc((n ? n : 1) * sizeof *lat);
    /* In-flight events: a start is +1, an end -1; ends sort before starts at
     * the same instant so back-to-back requests don't count as overlapping. */
    int64_t *ev = malloc((n ? 2 * n : 1) * sizeof *ev);
    int *tids = malloc((n ? n : 1) * sizeof *tids);
    if (!lat || !ev || !tids) {
        free(lat), free(ev), free(tids);
        return -ENOMEM;
    }
    size_t nlat = 0, nev = 0, ntids = 0;
    double busy_us = 0;
    for (size_t i = 0; i < n; i++) {
        const struct record *r = &recs[i];
        switch (r->outcome) {
        case OUTCOME_OK:
            f->ok++;
            break;
        case OUTCOME_NOT_FOUND:
            f->not_found++;
            break;
        case OUTCOME_ERROR:
            f->errors++;
            break;
        default:
            f->not_run++;
            break;
        }
        f->bytes += (long long)r->bytes;
        if (!finished(r))
            continue;
        int64_t d = r->done_us - r->started_us;
        lat[nlat++] = d;
        busy_us += (double)d;
        ev[nev++] = r->started_us * 2 + 1;
        ev[nev++] = r->done_us * 2;
        tids[ntids++] = r->thread;
    }
    f->requests = n;
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    qsort(ev, nev, sizeof *ev, cmp_i64);
    long cur = 0, peak = 0;
    for (size_t i = 0; i < nev; i++) {
        cur += (ev[i] & 1) ? 1 : -1;
        if (cur > peak)
            peak = cur;
    }
    /* Distinct threads that ran requests. */
    qsort(tids, ntids, sizeof *tids, cmp_int);
    unsigned distinct = 0;
    for (size_t i = 0; i < ntids; i++)
        if (i == 0 || tids[i] != tids[i - 1])
            distinct++;

    f->wall_s = wall_s;
    f->user_s = (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6;
    f->sys_s = (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
    f->cpu_s = f->user_s + f->sys_s;
    f->cpu_per_wall = wall_s > 0 ? f->cpu_s / wall_s : 0;
    f->inflight_peak = (unsigned)peak;
    f->inflight_mean = wall_s > 0 ? busy_us / 1e6 / wall_s : 0;
    if (f->threads < distinct)
        f->threads = distinct;
    f->rss_kb = ru->ru_maxrss;
    f->ctx_voluntary = ru->ru_nvcsw;
    f->ctx_involuntary = ru->ru_nivcsw;
    f->latency_p50_ms = percentile_ms(lat, nlat, 50);
    f->latency_p90_ms = percentile_ms(lat, nlat, 90);
    f->latency_p99_ms = percentile_ms(lat, nlat, 99);
    f->latency_max_ms = nlat ? (double)lat[nlat - 1] / 1000.0 : 0;
    free(lat), free(ev), free(tids);
    return 0;
}

void report_print(FILE *out, const struct figures *f) {
    fprintf(out, "--------------------\n");
    fprintf(out, "%3zu flag%s downloaded.\n", f->ok, f->ok == 1 ? "" : "s");
    if (f->not_found)
        fprintf(out, "%3zu not found.\n", f->not_found);
    if (f->errors)
        fprintf(out, "%3zu error%s.\n", f->errors, f->errors == 1 ? "" : "s");
    if (f->not_run)
        fprintf(out, "%3zu not run (interrupted).\n", f->not_run);
    fprintf(out, "Elapsed time: %.2fs\n", f->wall_s);
    fprintf(out,
            "%s: wall %.3f s, CPU %.3f s (%.0f%% of wall), in flight peak %u mean %.1f, "
            "%u thread%s, RSS %.1f MiB, %ld+%ld ctx switches, latency p50 %.1f ms p99 %.1f ms\n",
            f->backend, f->wall_s, f->cpu_s, 100 * f->cpu_per_wall, f->inflight_peak,
            f->inflight_mean, f->threads, f->threads == 1 ? "" : "s", (double)f->rss_kb / 1024.0,
            f->ctx_voluntary, f->ctx_involuntary, f->latency_p50_ms, f->latency_p99_ms);
}

/* A CSV field: quoted only when it must be, quotes doubled. */
static void csv_text(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Append v in decimal and a comma. printf's format parsing was most of the
 * trace's cost: a row is thirteen numbers, and there are 10,000 rows. */
static char *put_int(char *p, long long v) {
    char digits[24];
    int k = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        digits[k++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *p++ = '-';
    while (k)
        *p++ = digits[--k];
    *p++ = ',';
    return p;
}

/* Append len bytes of s and a comma. */
static char *put_str(char *p, const char *s, size_t len) {
    memcpy(p, s, len);
    p[len] = ',';
    return p + len + 1;
}

int trace_write(FILE *out, const struct record *recs, size_t n, const char *backend) {
    fputs("backend,code,repeat,outcome,http_status,bytes,thread,queued_us,started_us,"
          "connected_us,first_byte_us,done_us,saved_us,started_cpu_us,done_cpu_us,handshake_us,"
          "error\n",
          out);
    size_t blen = strnlen(backend, 32);
    for (size_t i = 0; i < n; i++) {
        const struct record *r = &recs[i];
        if (r->outcome == OUTCOME_NONE)
            continue;
        char line[4 * 33 + 12 * 21], *p = line;
        p = put_str(p, backend, blen);
        p = put_str(p, r->code, 2);
        p = put_int(p, r->repeat);
        const char *outcome = outcome_name(r->outcome);
        p = put_str(p, outcome, strlen(outcome));
        p = put_int(p, r->http_status);
        p = put_int(p, (long long)r->bytes);
        p = put_int(p, r->thread);
        p = put_int(p, r->queued_us);
        p = put_int(p, r->started_us);
        p = put_int(p, r->connected_us);
        p = put_int(p, r->first_byte_us);
        p = put_int(p, r->done_us);
        p = put_int(p, r->saved_us);
        p = put_int(p, r->started_cpu_us);
        p = put_int(p, r->done_cpu_us);
        p = put_int(p, r->handshake_us);
        fwrite(line, 1, (size_t)(p - line), out);
        csv_text(out, r->error);
        fputc('\n', out);
    }
    return ferror(out) ? -EIO : 0;
}

int summary_write(FILE *out, const struct figures *f, int with_header) {
    if (with_header)
        fputs("backend,requests,ok,not_found,errors,not_run,max_req,wall_s,user_s,sys_s,cpu_s,"
              "cpu_per_wall,inflight_peak,inflight_mean,threads,rss_kb,ctx_voluntary,"
              "ctx_involuntary,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_max_ms,"
              "bytes,process_start_us\n",
              out);
    fprintf(out,
            "%s,%zu,%zu,%zu,%zu,%zu,%u,%.6f,%.6f,%.6f,%.6f,%.4f,%u,%.3f,%u,%ld,%ld,%ld,%.3f,%.3f,"
            "%.3f,%.3f,%lld,%lld\n",
            f->backend, f->requests, f->ok, f->not_found, f->errors, f->not_run, f->max_req,
            f->wall_s, f->user_s, f->sys_s, f->cpu_s, f->cpu_per_wall, f->inflight_peak,
            f->inflight_mean, f->threads, f->rss_kb, f->ctx_voluntary, f->ctx_involuntary,
            f->latency_p50_ms, f->latency_p90_ms, f->latency_p99_ms, f->latency_max_ms, f->bytes,
            (long long)f->process_start_us);
    return ferror(out) ? -EIO : 0;
}

/* Run write() on the file at path ("-" = stdout) opened with mode. */
static int with_file(const char *path, const char *mode, int (*write)(FILE *, const void *),
                     const void *arg) {
    if (strcmp(path, "-") == 0) {
        int rc = write(stdout, arg);
        return fflush(stdout) ? -errno : rc;
    }
    FILE *f = fopen(path, mode);
    if (!f)
        return -errno;
    int rc = write(f, arg);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int output_check(const char *path) {
    if (strcmp(path, "-") == 0)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return -EISDIR;
        return access(path, W_OK) == 0 ? 0 : -errno;
    }
    if (errno != ENOENT)
        return -errno;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int w = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path)
                  : snprintf(dir, sizeof dir, ".");
    if (w < 0 || (size_t)w >= sizeof dir)
        return -ENAMETOOLONG;
    if (!*dir)
        dir[0] = '/', dir[1] = '\0'; /* "/file" */
    if (stat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
}

struct trace_args {
    const struct record *recs;
    size_t n;
    const char *backend;
};

static int write_trace(FILE *f, const void *arg) {
    const struct trace_args *a = arg;
    return trace_write(f, a->recs, a->n, a->backend);
}

static int write_summary(FILE *f, const void *arg) {
    /* A header only when the file is new or empty, so runs append rows. */
    long pos = ftell(f);
    return summary_write(f, arg, f == stdout || pos <= 0);
}

int trace_to_path(const char *path, const struct record *recs, size_t n, const char *backend) {
    struct trace_args a = {recs, n, backend};
    return with_file(path, "w", write_trace, &a);
}

int summary_to_path(const char *path, const struct figures *f) {
    return with_file(path, "a", write_summary, f);
}

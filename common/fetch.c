/* fetch.c — one flag's download, shared by every back end. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "save.h"

int flag_url(char *out, size_t n, const char *base, const char *cc, const char *file) {
    /* The book's layout: {base}/{cc}/{cc}.gif, lower-case code. */
    char lc[3] = {(char)(cc[0] | 0x20), (char)(cc[1] | 0x20), '\0'};
    int w = file ? snprintf(out, n, "%s/%s/%s", base, lc, file)
                 : snprintf(out, n, "%s/%s/%s.gif", base, lc, lc);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* Copy text into a fixed-size reason, cutting it if it must. */
static void set_reason(char *out, size_t n, const char *text) {
    size_t len = strnlen(text, n - 1);
    memcpy(out, text, len);
    out[len] = '\0';
}

/* Why libcurl refused the server's certificate, from its error text
 * (CURLE_PEER_FAILED_VERIFICATION): OpenSSL's verify result after "SSL
 * certificate problem: " ("certificate has expired", "self-signed
 * certificate"...), or libcurl's own check of the name, which OpenSSL's
 * verify result does not cover. */
static void verify_reason(const char *errbuf, char *reason, size_t n) {
    static const char problem[] = "SSL certificate problem: ";
    const char *text = errbuf && *errbuf ? errbuf : "";
    if (strstr(text, "subject name") || strstr(text, "does not match"))
        snprintf(reason, n, "certificate verify failed: name mismatch");
    else if (strncmp(text, problem, sizeof problem - 1) == 0)
        snprintf(reason, n, "certificate verify failed: %s", text + sizeof problem - 1);
    else
        snprintf(reason, n, "certificate verify failed%s%s", *text ? ": " : "", text);
}

/* Why a handshake failed (CURLE_SSL_CONNECT_ERROR), in words for the two
 * faults a server can make, else OpenSSL's error without libcurl's prefix. */
static void handshake_reason(const char *errbuf, char *reason, size_t n) {
    const char *text = errbuf && *errbuf ? errbuf : "";
    const char *colon = strncmp(text, "OpenSSL", 7) == 0 ? strstr(text, ": ") : NULL;
    if (strstr(text, "SSL_ERROR_SYSCALL") || strstr(text, "unexpected eof"))
        text = "the server closed the connection";
    else if (strstr(text, "wrong version number"))
        text = "the server's reply is not TLS (wrong version number)";
    else if (colon)
        text = colon + 2;
    snprintf(reason, n, "TLS handshake failed%s%s", *text ? ": " : "", text);
}

enum outcome classify(CURLcode rc, long http_status, int os_errno, bool too_big, long long max_size,
                      const char *errbuf, char *reason, size_t n) {
    const char *why = NULL;
    reason[0] = '\0';
    if (too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(reason, n, "body over %lld bytes", max_size);
        return OUTCOME_ERROR;
    }
    switch (rc) {
    case CURLE_OK:
        if (http_status == 200)
            return OUTCOME_OK;
        if (http_status == 404)
            return OUTCOME_NOT_FOUND;
        snprintf(reason, n, "HTTP %ld", http_status);
        return OUTCOME_ERROR;
    case CURLE_OPERATION_TIMEDOUT:
        why = "timeout";
        break;
    case CURLE_COULDNT_CONNECT:
        /* Not always the peer: socket() itself fails when out of descriptors. */
        why = os_errno && os_errno != ECONNREFUSED ? strerror(os_errno) : "connection refused";
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        why = "unknown host";
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        why = "too many redirects";
        break;
    case CURLE_PARTIAL_FILE:
        why = "truncated body";
        break;
    case CURLE_RECV_ERROR:
        why = "connection reset";
        break;
    case CURLE_SEND_ERROR:
        why = "send failed";
        break;
    case CURLE_GOT_NOTHING:
        why = "empty reply";
        break;
    case CURLE_WEIRD_SERVER_REPLY:
        why = "malformed response";
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        why = "interrupted";
        break;
    case CURLE_BAD_CONTENT_ENCODING:
        why = "bad content encoding";
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        /* The book's classification: the flag is an error, its reason says
         * why the certificate was refused. */
        verify_reason(errbuf, reason, n);
        return OUTCOME_ERROR;
    case CURLE_SSL_CONNECT_ERROR:
        handshake_reason(errbuf, reason, n);
        return OUTCOME_ERROR;
    case CURLE_SSL_CACERT_BADFILE:
        /* Nothing to verify with: --cacert (read at start) holds no
         * certificate, or the system has no store (no ca-certificates). */
        why = "certificate verify failed: no CA certificates to trust (--cacert FILE or the "
              "system's store)";
        break;
    case CURLE_OUT_OF_MEMORY: /* also what libcurl says of a header line over 100 KB */
        why = "out of memory (or a header line over 100 KB)";
        break;
    default:
        why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
        break;
    }
    set_reason(reason, n, why);
    return OUTCOME_ERROR;
}

/* --- body buffers, shared by every transfer of the process ---
 *
 * A transfer takes a body buffer when the first byte of a body arrives and
 * gives it back when the flag is finished (saved, or not to be saved). A
 * run therefore holds as many buffers as bodies arriving or waiting to be
 * saved at once, not one per request in flight: at -m 10000 the requests
 * spend their second waiting for the server with no buffer. Freed buffers
 * stay in a LIFO list with their capacity, so the next body lands in pages
 * already touched instead of faulting in fresh ones. */

#define BODY_MIN_CAP 16384 /* most flags fit: one size serves them all */

struct free_body {
    struct free_body *next; /* stored in the free buffer itself */
    size_t cap;
};

static pthread_mutex_t bodies_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_body *bodies_free;

/* A buffer of at least want bytes for b (empty): a free one, else new. */
static int body_take(struct buffer *b, size_t want) {
    size_t cap = want < BODY_MIN_CAP ? BODY_MIN_CAP : want;
    pthread_mutex_lock(&bodies_lock);
    struct free_body *f = bodies_free;
    if (f)
        bodies_free = f->next;
    pthread_mutex_unlock(&bodies_lock);
    if (f && f->cap >= cap) {
        *b = (struct buffer){.data = (char *)f, .cap = f->cap};
        return 0;
    }
    free(f); /* too small for this body: cheaper than copying it by realloc */
    char *p = malloc(cap);
    if (!p)
        return -ENOMEM;
    *b = (struct buffer){.data = p, .cap = cap};
    return 0;
}

void body_give_back(struct buffer *b) {
    if (!b->data)
        return;
    struct free_body *f = (struct free_body *)(void *)b->data;
    f->cap = b->cap;
    pthread_mutex_lock(&bodies_lock);
    f->next = bodies_free;
    bodies_free = f;
    pthread_mutex_unlock(&bodies_lock);
    *b = (struct buffer){0};
}

void bodies_release_all(void) {
    pthread_mutex_lock(&bodies_lock);
    struct free_body *f = bodies_free;
    bodies_free = NULL;
    pthread_mutex_unlock(&bodies_lock);
    while (f) {
        struct free_body *next = f->next;
        free(f);
        f = next;
    }
}

/* Append to the buffer of the request in progress, refusing to grow past
 * --max-size: a body that is too big is stopped while it arrives. The
 * image's buffer is taken at its first bytes, sized from Content-Length
 * when the server sent one, so it is never copied to grow. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
    struct transfer *t = arg;
    struct buffer *b = t->rec->stage == STAGE_IMAGE ? &t->body : &t->meta;
    size_t n = size * nmemb;
    if ((long long)(b->len + n) > t->run->opt->max_size) {
        t->too_big = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (!b->data && t->rec->stage == STAGE_IMAGE) {
        curl_off_t total = -1;
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
        size_t want = total > 0 && total <= t->run->opt->max_size ? (size_t)total : n;
        if (body_take(b, want < n ? n : want) < 0)
            return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : BODY_MIN_CAP;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return n;
}

/* libcurl's socket(), so that a failure keeps its reason: libcurl reports
 * it as CURLE_COULDNT_CONNECT and leaves CURLINFO_OS_ERRNO at 0, which read
 * as "connection refused" when the process was out of descriptors. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr) {
    struct transfer *t = arg;
    (void)purpose;
    curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
    if (fd == CURL_SOCKET_BAD)
        t->socket_errno = errno;
    return fd;
}

/* Lets SIGINT abandon a blocking curl_easy_perform. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return run_interrupted();
}

/* libcurl's receive buffer (CURLOPT_BUFFERSIZE), one per easy handle for
 * the whole of its transfer, waiting included. 16 KiB takes a flag in one
 * or two reads; at thousands in flight those buffers were half the memory
 * (17 of 34 KiB per request at -m 10000). Sized so they take about 32 MiB
 * together, between 2 and 16 KiB. Measured (io_uring back end, 10,088 flags, 1 s
 * delay, saves in the loop): at -m 10000, 2 KiB buffers took 14.7 KiB of
 * RSS per request in flight against 25.6 with 16 KiB, CPU within noise;
 * at -m 64 they cost 8% more CPU (more reads), so few transfers keep
 * 16 KiB. */
static long receive_buffer_size(unsigned max_req) {
    long size = 16384;
    while (size > 2048 && (long long)size * max_req > 32LL << 20)
        size /= 2;
    return size;
}

int transfer_init(struct transfer *t, struct run *run) {
    const struct options *opt = run->opt;
    *t = (struct transfer){.run = run};
    t->easy = curl_easy_init();
    if (!t->easy)
        return -ENOMEM;
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: we have threads */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(opt->timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opt->max_size);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "flagbench/" FLAGBENCH_VERSION);
    /* No proxy from the environment: requests go where --server says, and
     * libcurl skips its per-transfer getenv() look-ups. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, receive_buffer_size(run->max_req));
    /* HTTPS: the peer and its name are always verified (libcurl's default),
     * against --cacert when given, else the system's store. Sessions are
     * resumed across the run's connections through the shared cache; with
     * --no-resume not even a handle's own earlier session is. */
    if (opt->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, opt->cacert);
    /* The CA file alone, no CA directory: Debian's libcurl also searches
     * /etc/ssl/certs by default, and with a directory set libcurl keeps no
     * cache of the loaded store (CURLOPT_CA_CACHE_TIMEOUT), so it parsed the
     * whole CA file again for every connection: 10% of the client's CPU per
     * HTTPS request with a one-certificate --cacert (perf, uring, a new
     * connection per request), far more with the system's bundle. */
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    if (run->tls_sessions)
        curl_easy_setopt(e, CURLOPT_SHARE, run->tls_sessions);
    else
        curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    transfer_forbid_reuse(t, opt->no_reuse);
    return 0;
}

void transfer_forbid_reuse(struct transfer *t, bool forbid) {
    curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, forbid ? 1L : 0L);
    t->reuse_forbidden = forbid;
}

void transfer_cleanup(struct transfer *t) {
    if (t->easy)
        curl_easy_cleanup(t->easy);
    free(t->body.data);
    free(t->meta.data);
    *t = (struct transfer){0};
}

static void set_url(struct transfer *t, const char *file) {
    char url[2048];
    if (flag_url(url, sizeof url, t->run->opt->server, t->rec->code, file) == 0)
        curl_easy_setopt(t->easy, CURLOPT_URL, url);
    t->errbuf[0] = '\0';
    t->too_big = false;
    t->socket_errno = 0;
}

void transfer_begin(struct transfer *t, size_t i) {
    struct record *rec = &t->run->records[i];
    t->rec = rec;
    t->body.len = 0;
    t->meta.len = 0;
    t->country[0] = '\0';
    bool first = t->flags_begun++ == 0;
    /* A transfer stays with one thread: ask the kernel once, not per flag. */
    if (first)
        t->thread = (int)gettid();
    /* A transfer's first request opens a connection without searching the
     * pool for an idle one: that search walks every connection to the
     * host, so 10,000 transfers starting at once made it quadratic. So does
     * a request after one whose connection was closed (reuse forbidden):
     * there is nothing of its own to find, and the walk over 10,000 busy
     * connections took 18% of the CPU of a run at -m 10000. Other requests
     * reuse. */
    curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, first || t->reuse_forbidden ? 1L : 0L);
    rec->stage = STAGE_IMAGE;
    rec->thread = t->thread;
    rec->started_us = run_now_us(t->run);
    rec->started_cpu_us = run_thread_cpu_us(t->run);
    set_url(t, NULL);
}

static int64_t info_us(CURL *e, CURLINFO what) {
    curl_off_t v = 0;
    curl_easy_getinfo(e, what, &v);
    return (int64_t)v;
}

/* The flag FINISHED without a file: outcome o (not found, error), reason. */
static void finish_unsaved(struct transfer *t, enum outcome o, const char *reason) {
    struct record *rec = t->rec;
    rec->outcome = o;
    set_reason(rec->error, sizeof rec->error, reason);
    rec->stage = STAGE_FINISHED;
    rec->done_us = run_now_us(t->run);
    rec->done_cpu_us = run_thread_cpu_us(t->run);
}

void transfer_fail(struct transfer *t, const char *reason) {
    finish_unsaved(t, OUTCOME_ERROR, reason);
}

enum flag_next transfer_request_done(struct transfer *t, CURLcode rc) {
    struct record *rec = t->rec;
    long status = 0;
    char reason[RECORD_ERROR_MAX];
    long os_errno = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_COULDNT_CONNECT) {
        curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (t->socket_errno)
            os_errno = t->socket_errno; /* socket() itself failed: say why */
    }
    enum outcome o = classify(rc, status, (int)os_errno, t->too_big, t->run->opt->max_size,
                              t->errbuf, reason, sizeof reason);
    if (rc == CURLE_ABORTED_BY_CALLBACK && run_interrupted()) {
        /* Abandoned at SIGINT: the flag didn't fail, it was never finished. */
        rec->done_us = -1;
        return FLAG_DONE;
    }
    if (rec->stage == STAGE_IMAGE) {
        rec->http_status = (int)status;
        rec->bytes = t->body.len;
        int64_t connect_us = info_us(t->easy, CURLINFO_CONNECT_TIME_T);
        int64_t app_us = info_us(t->easy, CURLINFO_APPCONNECT_TIME_T);
        rec->connected_us = rec->started_us + connect_us;
        /* App-connect is 0 when no handshake was made (HTTP, a kept-alive
         * connection) or it did not complete. */
        rec->handshake_us = app_us > 0 && app_us >= connect_us ? app_us - connect_us : -1;
        if (status)
            rec->first_byte_us = rec->started_us + info_us(t->easy, CURLINFO_STARTTRANSFER_TIME_T);
        if (o != OUTCOME_OK) {
            finish_unsaved(t, o, reason);
            return FLAG_DONE;
        }
        if (t->run->opt->metadata) {
            rec->stage = STAGE_METADATA;
            curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, t->reuse_forbidden ? 1L : 0L);
            set_url(t, "metadata.json");
            return FLAG_REQUEST_AGAIN;
        }
    } else if (o != OUTCOME_OK) {
        char why[RECORD_ERROR_MAX];
        snprintf(why, sizeof why, "metadata: %.80s", o == OUTCOME_NOT_FOUND ? "HTTP 404" : reason);
        finish_unsaved(t, OUTCOME_ERROR, why);
        return FLAG_DONE;
    } else if (metadata_country(t->meta.data, t->meta.len, t->country, sizeof t->country) != 0) {
        finish_unsaved(t, OUTCOME_ERROR, "metadata: no usable country name");
        return FLAG_DONE;
    }
    /* Downloaded: not OK until its file is saved (record_saved). */
    rec->stage = STAGE_SAVING;
    rec->done_us = run_now_us(t->run);
    rec->done_cpu_us = run_thread_cpu_us(t->run);
    return FLAG_SAVE;
}

void transfer_finish(struct transfer *t) {
    struct run *run = t->run;
    body_give_back(&t->body);
    progress_tick(&run->progress, t->rec, run_now_us(run));
}

void record_saved(struct run *run, struct record *rec, int err) {
    rec->saved_us = run_now_us(run);
    rec->outcome = err ? OUTCOME_ERROR : OUTCOME_OK; /* the one place a flag becomes OK */
    if (err)
        snprintf(rec->error, sizeof rec->error, "save: %s", strerror(-err));
    rec->stage = STAGE_FINISHED;
    progress_tick(&run->progress, rec, run_now_us(run));
}

void transfer_saved(struct transfer *t, int err) {
    body_give_back(&t->body);
    record_saved(t->run, t->rec, err);
}

void flag_download(struct transfer *t, size_t i) {
    transfer_begin(t, i);
    enum flag_next next;
    while ((next = transfer_request_done(t, curl_easy_perform(t->easy))) == FLAG_REQUEST_AGAIN)
        ;
    if (next == FLAG_SAVE)
        transfer_save(t);
    else
        transfer_finish(t);
}

void transfer_save(struct transfer *t) {
    char path[4096];
    const struct run *run = t->run;
    int err = run->dest_fd > 0 ? save_name(path, sizeof path, t->rec, t->country)
                               : save_path(path, sizeof path, run->opt->dest, t->rec, t->country);
    if (err == 0)
        err = save_atomic_at(run->dest_fd > 0 ? run->dest_fd : AT_FDCWD, path, t->body.data,
                             t->body.len);
    transfer_saved(t, err);
}

int metadata_country(const char *json, size_t len, char *out, size_t n) {
    if (!json)
        return -EINVAL;
    /* The body comes from the network: a real parser, so that a "country"
     * nested in another object, or a truncated document, is not taken for
     * the name. jansson refuses \u0000 and lone surrogates by default. */
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *country = json_object_get(root, "country"); /* NULL-safe */
    int rc = -EINVAL;
    if (json_is_string(country) &&
        sanitize_name(out, n, json_string_value(country), json_string_length(country)) > 0)
        rc = 0;
    json_decref(root);
    return rc;
}

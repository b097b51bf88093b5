/* server_respond_test.c — flagserver's routing, /stats, delays and chaos
 * selection: respond() on parsed requests, no socket and no ring. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "http.h"
#include "respond.h"
#include "server.h"
#include "check_run.h"

static struct dataset ds; /* built once, before the tests fork */

static void ds_setup(void) {
    ck_assert_int_eq(dataset_builtin(&ds), 0);
}

static void ds_teardown(void) {
    dataset_free(&ds);
}

static struct server_config config(void) {
    return (struct server_config){.seed = 1, .ds = &ds, .max_conns = 100};
}

/* One responder per test; the config must outlive it. */
static struct responder start(const struct server_config *cfg) {
    struct responder r;
    ck_assert_int_eq(responder_init(&r, cfg, cfg->max_conns), 0);
    return r;
}

/* Parse raw (one whole request) and respond to it. */
static void ask(struct responder *r, const char *raw, struct reply *rep) {
    struct http_request req;
    ck_assert_int_eq(http_parse_request(raw, strlen(raw), 8192, &req), HTTP_COMPLETE);
    memset(rep, 0, sizeof *rep);
    respond(r, &req, rep);
}

static void get(struct responder *r, const char *path, struct reply *rep) {
    char raw[512];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    ask(r, raw, rep);
}

/* The bytes the reply sends, NUL-terminated; malloc'd. */
static char *bytes(const struct reply *rep, size_t *len) {
    size_t n = 0;
    for (size_t i = 0; i < rep->niov; i++)
        n += rep->iov[i].iov_len;
    char *b = malloc(n + 1);
    ck_assert_ptr_nonnull(b);
    n = 0;
    for (size_t i = 0; i < rep->niov; i++) {
        memcpy(b + n, rep->iov[i].iov_base, rep->iov[i].iov_len);
        n += rep->iov[i].iov_len;
    }
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

/* The reply sends exactly a header with want in it followed by body. */
static void assert_sends(const struct reply *rep, const char *want, const struct blob *body) {
    size_t n;
    char *b = bytes(rep, &n);
    ck_assert_msg(strstr(b, want), "no \"%s\" in:\n%s", want, b);
    char *end = strstr(b, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    size_t h = (size_t)(end + 4 - b);
    if (body) {
        ck_assert_uint_eq(n - h, body->len);
        ck_assert(!memcmp(b + h, body->data, body->len));
    }
    free(b);
}

static const struct flag *flag(const char *cc) {
    const struct flag *f = dataset_find(&ds, cc);
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(routes) {
    struct server_config cfg = config();
    struct responder r = start(&cfg);
    struct reply rep;

    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.status, 200);
    ck_assert_int_eq(rep.after, AFTER_NEXT);
    ck_assert_int_eq(rep.chaos, CHAOS_NONE);
    ck_assert_int_eq(rep.delay_ns, 0);
    assert_sends(&rep, "HTTP/1.1 200 OK\r\n", &flag("br")->gif);
    assert_sends(&rep, "Content-Type: image/gif\r\n", NULL);
    ck_assert(rep.in_progress);
    ck_assert_uint_eq(r.st.in_progress, 1);
    respond_done(&r, &rep);
    ck_assert_uint_eq(r.st.in_progress, 0);

    get(&r, "/flags/br/metadata.json", &rep);
    ck_assert_int_eq(rep.status, 200);
    assert_sends(&rep, "Content-Type: application/json\r\n", &flag("br")->meta);
    respond_done(&r, &rep);

    /* percent escapes are decoded before routing */
    get(&r, "/flags/%62r/br.gif", &rep);
    ck_assert_int_eq(rep.status, 200);
    respond_done(&r, &rep);

    static const char *const missing[] = {
        "/flags/zz/zz.gif", "/flags/br/ar.gif", "/flags/br/", "/flags/br", "/",
        "/br/br.gif",       "/flags/br/br.gifx"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        get(&r, missing[i], &rep);
        ck_assert_msg(rep.status == 404, "%s: %d", missing[i], rep.status);
        ck_assert_int_eq(rep.after, AFTER_NEXT);
        assert_sends(&rep, "404 Not Found\n", NULL);
        respond_done(&r, &rep);
    }
    ck_assert_uint_eq(r.st.requests, 3 + sizeof missing / sizeof missing[0]);
    ck_assert_uint_eq(r.st.in_progress_peak, 1);
    responder_free(&r);
}
END_TEST

START_TEST(methods_and_connections) {
    struct server_config cfg = config();
    struct responder r = start(&cfg);
    struct reply rep;

    ask(&r, "HEAD /flags/br/br.gif HTTP/1.1\r\n\r\n", &rep);
    ck_assert_int_eq(rep.status, 200);
    ck_assert_uint_eq(rep.niov, 1); /* the header only, with the body's length */
    char len[48];
    snprintf(len, sizeof len, "Content-Length: %zu\r\n", flag("br")->gif.len);
    assert_sends(&rep, len, NULL);
    respond_done(&r, &rep);

    ask(&r, "DELETE /flags/br/br.gif HTTP/1.1\r\n\r\n", &rep);
    ck_assert_int_eq(rep.status, 405);
    assert_sends(&rep, "Allow: GET, HEAD\r\n", NULL);
    respond_done(&r, &rep);

    ask(&r, "POST /flags/br/br.gif HTTP/1.1\r\nContent-Length: 2\r\n\r\nok", &rep);
    ck_assert_int_eq(rep.status, 405);
    respond_done(&r, &rep);

    /* a path that could leave the tree: 400, and the connection closes */
    get(&r, "/flags/../etc/passwd", &rep);
    ck_assert_int_eq(rep.status, 400);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    assert_sends(&rep, "Connection: close\r\n", NULL);
    respond_done(&r, &rep);

    ask(&r, "GET /flags/br/br.gif HTTP/1.0\r\n\r\n", &rep);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    assert_sends(&rep, "Connection: close\r\n", NULL);
    respond_done(&r, &rep);

    ask(&r, "GET /flags/br/br.gif HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &rep);
    ck_assert_int_eq(rep.after, AFTER_NEXT);
    assert_sends(&rep, "Connection: keep-alive\r\n", NULL);
    respond_done(&r, &rep);
    responder_free(&r);

    cfg.close = true; /* --close */
    r = start(&cfg);
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    assert_sends(&rep, "Connection: close\r\n", NULL);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

START_TEST(chunked_images) {
    struct server_config cfg = config();
    cfg.chunked = true;
    struct responder r = start(&cfg);
    struct reply rep;
    const struct blob *gif = &flag("br")->gif;

    get(&r, "/flags/br/br.gif", &rep);
    size_t n;
    char *b = bytes(&rep, &n);
    ck_assert_ptr_nonnull(strstr(b, "Transfer-Encoding: chunked\r\n"));
    ck_assert_ptr_null(strstr(b, "Content-Length"));
    char frame[32];
    int f = snprintf(frame, sizeof frame, "\r\n\r\n%zx\r\n", gif->len);
    char *body = strstr(b, frame);
    ck_assert_ptr_nonnull(body);
    body += f;
    ck_assert(!memcmp(body, gif->data, gif->len));
    ck_assert_str_eq(body + gif->len, "\r\n0\r\n\r\n");
    free(b);
    respond_done(&r, &rep);

    /* metadata is never chunked */
    get(&r, "/flags/br/metadata.json", &rep);
    assert_sends(&rep, "Content-Length: ", &flag("br")->meta);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

/* The body of a chunked message that ends exactly at n, unframed into out
 * (room for n bytes); its length, or -1 when the framing is broken. */
static long dechunk(const char *p, size_t n, char *out) {
    size_t at = 0, len = 0;
    for (;;) {
        char *end;
        unsigned long size = strtoul(p + at, &end, 16);
        if (end == p + at || (size_t)(end - p) + 2 > n || memcmp(end, "\r\n", 2))
            return -1;
        at = (size_t)(end - p) + 2;
        if (at + size + 2 > n || memcmp(p + at + size, "\r\n", 2))
            return -1;
        memcpy(out + len, p + at, size);
        len += size;
        at += size + 2;
        if (size == 0)
            return at == n ? (long)len : -1;
    }
}

START_TEST(chunked_slow_is_framed) {
    /* --chunked with chaos slow: the dripped body is still chunked, so a
     * client patient enough gets the flag whole. */
    struct server_config cfg = config();
    cfg.chunked = true;
    ck_assert_int_eq(chaos_parse("slow", &cfg.chaos[0]), 0);
    cfg.nchaos = 1;
    struct responder r = start(&cfg);
    struct reply rep;
    const struct blob *gif = &flag("br")->gif;
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_DRIP);
    size_t cap = 2 * gif->len + 4096, n = 0, k;
    char *all = malloc(cap), *body = malloc(cap);
    ck_assert(all && body);
    for (;;) {
        char *b = bytes(&rep, &k);
        ck_assert_uint_le(n + k, cap);
        memcpy(all + n, b, k);
        n += k;
        free(b);
        if (!rep.rest_len)
            break;
        respond_drip(&rep);
    }
    char *start = memmem(all, n, "\r\n\r\n", 4);
    ck_assert_ptr_nonnull(start);
    ck_assert_ptr_nonnull(memmem(all, (size_t)(start - all), "Transfer-Encoding: chunked", 26));
    start += 4;
    long len = dechunk(start, n - (size_t)(start - all), body);
    ck_assert_int_eq(len, (long)gif->len);
    ck_assert(!memcmp(body, gif->data, gif->len));
    free(all);
    free(body);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

START_TEST(stats) {
    struct server_config cfg = config();
    struct responder r = start(&cfg);
    struct reply rep;

    get(&r, "/flags/br/br.gif", &rep);
    respond_done(&r, &rep);
    get(&r, "/nothing", &rep);
    respond_done(&r, &rep);

    get(&r, "/stats", &rep);
    ck_assert_int_eq(rep.status, 0); /* /stats is not counted */
    ck_assert_ptr_nonnull(rep.dyn);
    assert_sends(&rep, "{\"requests\": 2, ", NULL);
    assert_sends(&rep, "\"max_conns\": 100, ", NULL);
    assert_sends(&rep, "Cache-Control: no-store\r\n", NULL);
    respond_done(&r, &rep);
    ck_assert_ptr_null(rep.dyn);
    ck_assert_uint_eq(r.st.requests, 2);

    get(&r, "/stats?reset=1", &rep);
    assert_sends(&rep, "{\"requests\": 0, ", NULL);
    respond_done(&r, &rep);

    get(&r, "/flags/br/br.gif", &rep);
    respond_done(&r, &rep);
    ask(&r, "POST /stats/reset HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &rep);
    assert_sends(&rep, "{\"requests\": 0, ", NULL);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

START_TEST(delays_and_errors) {
    struct server_config cfg = config();
    cfg.delay_min = cfg.delay_max = 0.25;
    struct responder r = start(&cfg);
    struct reply rep;
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.delay_ns, 250000000);
    respond_done(&r, &rep);
    get(&r, "/stats", &rep); /* /stats is never delayed */
    ck_assert_int_eq(rep.delay_ns, 0);
    respond_done(&r, &rep);
    responder_free(&r);

    cfg.delay_min = 0.1;
    cfg.delay_max = 0.2;
    r = start(&cfg);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 200; i++) {
        get(&r, "/flags/br/br.gif", &rep);
        lo = rep.delay_ns < lo ? rep.delay_ns : lo;
        hi = rep.delay_ns > hi ? rep.delay_ns : hi;
        respond_done(&r, &rep);
    }
    ck_assert_int_ge(lo, 100000000);
    ck_assert_int_le(hi, 200000000);
    ck_assert_int_lt(lo, hi);
    responder_free(&r);

    cfg = config();
    cfg.error_rate = 1;
    r = start(&cfg);
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.status, 418);
    ck_assert_int_eq(rep.after, AFTER_NEXT);
    respond_done(&r, &rep);
    get(&r, "/other", &rep); /* only /flags/ requests fail */
    ck_assert_int_eq(rep.status, 404);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

/* n GETs of one flag; how many got each chaos mode. */
static void tally(struct responder *r, int n, int counts[CHAOS_COUNT]) {
    struct reply rep;
    memset(counts, 0, CHAOS_COUNT * sizeof counts[0]);
    for (int i = 0; i < n; i++) {
        get(r, "/flags/fr/fr.gif", &rep);
        counts[rep.chaos]++;
        respond_done(r, &rep);
    }
}

START_TEST(chaos_selection) {
    struct server_config cfg = config();
    ck_assert_int_eq(chaos_parse("truncate:0.25", &cfg.chaos[0]), 0);
    ck_assert_int_eq(chaos_parse("reset:0.25", &cfg.chaos[1]), 0);
    cfg.nchaos = 2;
    struct responder r = start(&cfg);
    int counts[CHAOS_COUNT];
    tally(&r, 4000, counts);
    /* seeded, so the same every run; the bounds are of the binomial (6 sd) */
    ck_assert_msg(counts[CHAOS_TRUNCATE] > 830 && counts[CHAOS_TRUNCATE] < 1170, "truncate %d",
                  counts[CHAOS_TRUNCATE]);
    ck_assert_msg(counts[CHAOS_RESET] > 830 && counts[CHAOS_RESET] < 1170, "reset %d",
                  counts[CHAOS_RESET]);
    ck_assert_int_eq(counts[CHAOS_NONE] + counts[CHAOS_TRUNCATE] + counts[CHAOS_RESET], 4000);
    responder_free(&r);

    /* the same seed, the same choices; another seed, others */
    struct reply a, b;
    struct responder r1 = start(&cfg), r2 = start(&cfg);
    cfg.seed = 2;
    struct responder r3 = start(&cfg);
    int same = 0, differ = 0;
    for (int i = 0; i < 100; i++) {
        get(&r1, "/flags/fr/fr.gif", &a);
        get(&r2, "/flags/fr/fr.gif", &b);
        same += a.chaos == b.chaos;
        respond_done(&r1, &a);
        respond_done(&r2, &b);
        get(&r3, "/flags/fr/fr.gif", &b);
        get(&r1, "/flags/fr/fr.gif", &a);
        differ += a.chaos != b.chaos;
        respond_done(&r3, &b);
        respond_done(&r1, &a);
        get(&r2, "/flags/fr/fr.gif", &b); /* keep r2 in step with r1 */
        respond_done(&r2, &b);
    }
    ck_assert_int_eq(same, 100);
    ck_assert_int_gt(differ, 0);
    responder_free(&r1);
    responder_free(&r2);
    responder_free(&r3);

    /* chaos applies to /flags/ GETs only: never to HEAD or a 404 */
    cfg = config();
    ck_assert_int_eq(chaos_parse("garbage", &cfg.chaos[0]), 0);
    cfg.nchaos = 1;
    r = start(&cfg);
    struct reply rep;
    ask(&r, "HEAD /flags/fr/fr.gif HTTP/1.1\r\n\r\n", &rep);
    ck_assert_int_eq(rep.chaos, CHAOS_NONE);
    respond_done(&r, &rep);
    get(&r, "/flags/zz/zz.gif", &rep);
    ck_assert_int_eq(rep.chaos, CHAOS_NONE);
    ck_assert_int_eq(rep.status, 404);
    respond_done(&r, &rep);
    tally(&r, 10, counts);
    ck_assert_int_eq(counts[CHAOS_GARBAGE], 10);
    responder_free(&r);
}
END_TEST

/* A responder whose every /flags/ GET gets mode. */
static struct responder with_chaos(struct server_config *cfg, const char *mode) {
    *cfg = config();
    ck_assert_int_eq(chaos_parse(mode, &cfg->chaos[0]), 0);
    cfg->nchaos = 1;
    return start(cfg);
}

START_TEST(chaos_replies) {
    struct server_config cfg;
    struct reply rep;
    const struct blob *gif = &flag("br")->gif;
    size_t n;
    char *b;

    struct responder r = with_chaos(&cfg, "truncate");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    b = bytes(&rep, &n);
    ck_assert_uint_eq(n - (size_t)(strstr(b, "\r\n\r\n") + 4 - b), gif->len / 2);
    free(b);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "reset");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_RESET);
    ck_assert_uint_eq(rep.iov[1].iov_len, gif->len / 3);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "garbage");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    assert_sends(&rep, "HTTP/1.1 2O0 0K\r\n", NULL);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "longheader");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_CLOSE);
    b = bytes(&rep, &n);
    ck_assert(!strncmp(b, "HTTP/1.1 200 OK\r\nX-Long: aaaa", 29));
    ck_assert_uint_gt(strcspn(b + 17, "\r"), 100000);
    free(b);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "stall");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_uint_eq(rep.niov, 0);
    ck_assert_int_eq(rep.status, 0);
    ck_assert_int_eq(rep.after, AFTER_STALL);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "stallbody");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_uint_eq(rep.niov, 1);
    ck_assert_int_eq(rep.after, AFTER_STALL);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "oversize");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_OVERSIZE);
    assert_sends(&rep, "Transfer-Encoding: chunked\r\n", NULL);
    size_t chunks = 0;
    while (respond_oversize_chunk(&r, &rep)) {
        ck_assert_uint_eq(rep.iov[1].iov_len, OVERSIZE_CHUNK);
        chunks++;
    }
    ck_assert_uint_eq(chunks, OVERSIZE_LIMIT / OVERSIZE_CHUNK);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "slow");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.after, AFTER_DRIP); /* slow keeps the connection */
    ck_assert_uint_eq(rep.niov, 1);
    size_t dripped = 0, drips = 0;
    while (rep.rest_len) {
        respond_drip(&rep);
        ck_assert(!memcmp(rep.iov[0].iov_base, gif->data + dripped, rep.iov[0].iov_len));
        dripped += rep.iov[0].iov_len;
        drips++;
    }
    ck_assert_uint_eq(dripped, gif->len);
    ck_assert_uint_eq(drips, (gif->len + DRIP_BYTES - 1) / DRIP_BYTES);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

START_TEST(chaos_redirects) {
    struct server_config cfg;
    struct reply rep;
    struct responder r = with_chaos(&cfg, "redirect");
    get(&r, "/flags/br/br.gif", &rep);
    ck_assert_int_eq(rep.status, 302);
    ck_assert_int_eq(rep.chaos, CHAOS_NONE);
    assert_sends(&rep, "Location: /flags/br/br.gif?r=1\r\n", NULL);
    respond_done(&r, &rep);
    get(&r, "/flags/br/br.gif", &rep); /* every redirect has its own N */
    assert_sends(&rep, "Location: /flags/br/br.gif?r=2\r\n", NULL);
    respond_done(&r, &rep);
    get(&r, "/flags/br/br.gif?r=1", &rep); /* followed: served */
    ck_assert_int_eq(rep.status, 200);
    ck_assert_int_eq(rep.after, AFTER_NEXT);
    respond_done(&r, &rep);
    responder_free(&r);

    r = with_chaos(&cfg, "redirectloop");
    get(&r, "/flags/br/br.gif?x=1&r=5", &rep);
    ck_assert_int_eq(rep.status, 302);
    assert_sends(&rep, "Location: /flags/br/br.gif?r=6\r\n", NULL);
    respond_done(&r, &rep);
    get(&r, "/flags/br/br.gif", &rep);
    assert_sends(&rep, "Location: /flags/br/br.gif?r=0\r\n", NULL);
    respond_done(&r, &rep);
    responder_free(&r);
}
END_TEST

START_TEST(unparsable) {
    struct server_config cfg = config();
    struct responder r = start(&cfg);
    struct reply rep = {0};
    respond_error(&r, 431, &rep);
    ck_assert_int_eq(rep.status, 431);
    ck_assert_int_eq(rep.after, AFTER_DRAIN);
    ck_assert(!rep.in_progress);
    assert_sends(&rep, "HTTP/1.1 431 Request Header Fields Too Large\r\n", NULL);
    assert_sends(&rep, "Connection: close\r\n", NULL);
    ck_assert_uint_eq(r.st.requests, 1);
    ck_assert_uint_eq(r.st.in_progress, 0);
    /* Past --max-conns: a 503 that is not a request, then a lingering close. */
    struct reply busy = {0};
    respond_busy(&busy);
    ck_assert_int_eq(busy.status, 0);
    ck_assert_int_eq(busy.after, AFTER_DRAIN);
    assert_sends(&busy, "HTTP/1.1 503 Service Unavailable\r\n", NULL);
    assert_sends(&busy, "503 too many connections\n", NULL);
    ck_assert_uint_eq(r.st.requests, 1);
    responder_free(&r);
}
END_TEST

START_TEST(chaos_options) {
    struct chaos_rule rule;
    ck_assert_int_eq(chaos_parse("slow", &rule), 0);
    ck_assert_int_eq(rule.mode, CHAOS_SLOW);
    ck_assert(rule.fraction == 1.0);
    ck_assert_int_eq(chaos_parse("redirectloop:0.5", &rule), 0);
    ck_assert_int_eq(rule.mode, CHAOS_REDIRECTLOOP);
    ck_assert(rule.fraction == 0.5);
    static const char *const bad[] = {
        "", "none", "slo", "slowx", "slow:", "slow:2", "slow:-0.1", "slow:x", "slow:0.5x", ":0.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(chaos_parse(bad[i], &rule) == -EINVAL, "accepted \"%s\"", bad[i]);
    for (int m = 0; m < CHAOS_COUNT; m++) {
        if (m == CHAOS_NONE)
            continue;
        ck_assert_int_eq(chaos_parse(chaos_name((enum chaos_mode)m), &rule), 0);
        ck_assert_int_eq(rule.mode, m);
    }
}
END_TEST

int main(void) {
    const TTest *const tests[] = {
        routes,          methods_and_connections, chunked_images, chunked_slow_is_framed,  stats,      delays_and_errors,
        chaos_selection, chaos_replies,           chaos_redirects, unparsable, chaos_options};
    TCase *tc = check_case("respond", 60, tests, CHECK_COUNT(tests));
    tcase_add_unchecked_fixture(tc, ds_setup, ds_teardown);
    return check_run_case("server_respond", tc);
}

/* server_http_test.c — flagserver's request parser and path decoder. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "check_run.h"

static enum http_parse parse(const char *s, struct http_request *req) {
    return http_parse_request(s, strlen(s), 8192, req);
}

START_TEST(valid_get) {
    struct http_request req;
    const char *s = "GET /flags/br/br.gif HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
    ck_assert_int_eq(parse(s, &req), HTTP_COMPLETE);
    ck_assert_int_eq(req.method, HTTP_GET);
    ck_assert_uint_eq(req.target_len, strlen("/flags/br/br.gif"));
    ck_assert(!memcmp(req.target, "/flags/br/br.gif", req.target_len));
    ck_assert_int_eq(req.minor, 1);
    ck_assert(req.keep_alive);
    ck_assert_uint_eq(req.header_len, strlen(s));
    ck_assert_uint_eq(req.total, strlen(s));
}
END_TEST

START_TEST(methods_and_versions) {
    struct http_request req;
    ck_assert_int_eq(parse("HEAD / HTTP/1.1\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert_int_eq(req.method, HTTP_HEAD);
    ck_assert_int_eq(parse("DELETE / HTTP/1.1\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert_int_eq(req.method, HTTP_OTHER);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert_int_eq(req.method, HTTP_OTHER);
    ck_assert_int_eq(parse("get / HTTP/1.1\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert_int_eq(req.method, HTTP_OTHER); /* methods are case-sensitive */
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert(!req.keep_alive);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req),
                     HTTP_COMPLETE);
    ck_assert(req.keep_alive);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &req),
                     HTTP_COMPLETE);
    ck_assert(!req.keep_alive);
    /* bare LF line endings are tolerated */
    ck_assert_int_eq(parse("GET / HTTP/1.1\nHost: x\n\n", &req), HTTP_COMPLETE);
    /* a stray CRLF before the request line is skipped */
    ck_assert_int_eq(parse("\r\nGET / HTTP/1.1\r\n\r\n", &req), HTTP_COMPLETE);
    ck_assert_uint_eq(req.header_len, 20);
}
END_TEST

START_TEST(pipelined) {
    struct http_request req;
    const char *s = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /stats/reset HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /c HTTP/1.1\r\n\r\n";
    size_t len = strlen(s), pos = 0;
    const char *want[] = {"/a", "/stats/reset", "/c"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(http_parse_request(s + pos, len - pos, 8192, &req), HTTP_COMPLETE);
        ck_assert_uint_eq(req.target_len, strlen(want[i]));
        ck_assert(!memcmp(req.target, want[i], req.target_len));
        pos += req.total;
    }
    ck_assert_uint_eq(pos, len);
    ck_assert_int_eq(http_parse_request(s + pos, 0, 8192, &req), HTTP_INCOMPLETE);
}
END_TEST

START_TEST(incomplete_every_prefix) {
    struct http_request req;
    const char *s = "GET /flags/br/metadata.json HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 2\r\n\r\nok";
    size_t len = strlen(s);
    for (size_t n = 0; n < len; n++)
        ck_assert_msg(http_parse_request(s, n, 8192, &req) == HTTP_INCOMPLETE, "prefix %zu", n);
    ck_assert_int_eq(http_parse_request(s, len, 8192, &req), HTTP_COMPLETE);
    ck_assert_uint_eq(req.content_length, 2);
}
END_TEST

START_TEST(malformed) {
    static const char *const bad[] = {
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
        "GET / HTTP/1.1\r\nName : v\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\rX: y\r\n\r\n",
        "garbage\r\n\r\n",
        "\x16\x03\x01\x02\x10\x01\xfc\x03\x03\r\n\r\n", /* TLS hello */
    };
    struct http_request req;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i], &req) == HTTP_BAD, "accepted #%zu: %s", i, bad[i]);
    /* a NUL inside the request line */
    ck_assert_int_eq(http_parse_request("GET /\0 HTTP/1.1\r\n\r\n", 19, 8192, &req), HTTP_BAD);
    /* an error shows before the request is complete */
    ck_assert_int_eq(http_parse_request("garbage\r\nHost", 13, 8192, &req), HTTP_BAD);
}
END_TEST

START_TEST(oversized) {
    struct http_request req;
    size_t n = 10000;
    char *s = malloc(n + 64);
    ck_assert_ptr_nonnull(s);
    strcpy(s, "GET / HTTP/1.1\r\nX-Big: ");
    size_t k = strlen(s);
    memset(s + k, 'a', n - k);
    s[n] = 0;
    /* incomplete but already over the limit */
    ck_assert_int_eq(http_parse_request(s, n, 8192, &req), HTTP_TOO_LARGE);
    ck_assert_int_eq(http_parse_request(s, 8192, 8192, &req), HTTP_TOO_LARGE);
    ck_assert_int_eq(http_parse_request(s, 8000, 8192, &req), HTTP_INCOMPLETE);
    strcpy(s + n, "\r\n\r\n");
    ck_assert_int_eq(http_parse_request(s, n + 4, 8192, &req), HTTP_TOO_LARGE);
    ck_assert_int_eq(http_parse_request(s, n + 4, 16384, &req), HTTP_COMPLETE);
    free(s);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", &req),
                     HTTP_BODY_LARGE);
    ck_assert_int_eq(
        parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", &req),
        HTTP_BODY_LARGE);
}
END_TEST

static int decode(const char *t, char *out) {
    const char *q;
    size_t ql;
    return http_decode_path(t, strlen(t), out, 256, &q, &ql);
}

START_TEST(paths) {
    char out[256];
    const char *q;
    size_t ql;
    ck_assert_int_eq(decode("/flags/br/br.gif", out), 16);
    ck_assert_str_eq(out, "/flags/br/br.gif");
    ck_assert_int_eq(decode("/flags/%62r/br.gif", out), 16);
    ck_assert_str_eq(out, "/flags/br/br.gif");
    ck_assert_int_eq(http_decode_path("/stats?reset=1", 14, out, sizeof out, &q, &ql), 6);
    ck_assert_str_eq(out, "/stats");
    ck_assert_uint_eq(ql, 7);
    ck_assert(!memcmp(q, "reset=1", 7));
    ck_assert_int_eq(decode("/", out), 1);
    ck_assert_int_eq(decode("/flags/", out), 7);
    ck_assert_int_eq(decode("/a.b/..c/c..", out), 12);
}
END_TEST

START_TEST(traversal) {
    static const char *const bad[] = {
        "/flags/../../etc/passwd",
        "/flags/%2e%2e/%2e%2e/etc/passwd",
        "/flags/%2E%2E/x",
        "/flags/.%2e/x",
        "/flags/..",
        "/flags/./br/br.gif",
        "/..",
        "/flags//br/br.gif",
        "/flags/br%2f..%2f..%2fetc/passwd",
        "/flags/br/br.gif%00.txt",
        "/flags\\..\\..\\etc\\passwd",
        "/flags/%5c..%5cetc",
        "/flags/%",
        "/flags/%4",
        "/flags/%zz",
        "/flags/%0a",
        "etc/passwd",
        "*",
        "http://example.com/flags/br/br.gif",
        "",
    };
    char out[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(decode(bad[i], out) == -EINVAL, "accepted %s", bad[i]);
    /* too long for the output */
    char small[8];
    ck_assert_int_eq(http_decode_path("/flags/br", 9, small, sizeof small, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(reasons) {
    ck_assert_str_eq(http_reason(418), "I'm a teapot");
    ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(http_reason(299), "");
}
END_TEST

int main(void) {
    const TTest *const tests[] = {valid_get, methods_and_versions,
                                  pipelined, incomplete_every_prefix,
                                  malformed, oversized,
                                  paths,     traversal,
                                  reasons};
    return check_run_case("server_http", check_case("parser", 0, tests, CHECK_COUNT(tests)));
}

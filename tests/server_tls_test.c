/* server_tls_test.c — flagserver's TLS layer (server/tls.c) without a
 * network: a client SSL on memory BIOs talks to a tls_conn, and this test
 * carries the bytes between them as the loop would, through tls_room /
 * tls_received and tls_pending / tls_sent. The certificates are made here,
 * by tls_ctx_new, and written only to a temporary directory. */
#include <check.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls.h"
#include "check_run.h"

static char dir[] = "/tmp/flagbench-tls-test.XXXXXX";

/* A server context for mode, its certificate written to dir/name. */
static struct tls_ctx *server(enum tls_cert_mode mode, bool no_tickets, const char *name) {
    char err[256], path[256];
    struct tls_options o = {.on = true, .cert_mode = mode, .no_tickets = no_tickets};
    struct tls_ctx *t = tls_ctx_new(&o, "127.0.0.1", err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(tls_ctx_write_cert(t, path), 0);
    return t;
}

/* A client that trusts dir/name and checks the name 127.0.0.1. */
static SSL_CTX *client_ctx(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

struct pair {
    SSL *cl;
    BIO *to_client, *from_client; /* the client's rbio and wbio */
    struct tls_conn *sv;
};

static struct pair connect_pair(SSL_CTX *cctx, struct tls_ctx *sctx, SSL_SESSION *resume) {
    struct pair p = {.cl = SSL_new(cctx), .sv = tls_conn_new(sctx)};
    ck_assert_ptr_nonnull(p.cl);
    ck_assert_ptr_nonnull(p.sv);
    p.to_client = BIO_new(BIO_s_mem());
    p.from_client = BIO_new(BIO_s_mem());
    SSL_set_bio(p.cl, p.to_client, p.from_client);
    SSL_set_connect_state(p.cl);
    SSL_set1_host(p.cl, "127.0.0.1");
    SSL_set_alpn_protos(p.cl, (const unsigned char *)"\x02h2\x08http/1.1", 12);
    if (resume)
        SSL_set_session(p.cl, resume);
    return p;
}

static void free_pair(struct pair *p) {
    SSL_free(p->cl);
    tls_conn_free(p->sv);
}

/* Carry the client's bytes to the server, as recvs of at most chunk. */
static void to_server(struct pair *p, size_t chunk) {
    char *data;
    long n = BIO_get_mem_data(p->from_client, &data);
    long done = 0;
    while (done < n) {
        void *room;
        size_t cap = tls_room(p->sv, &room);
        ck_assert_uint_gt(cap, 0);
        size_t k = (size_t)(n - done) < cap ? (size_t)(n - done) : cap;
        k = k < chunk ? k : chunk;
        memcpy(room, data + done, k);
        tls_received(p->sv, k);
        done += (long)k;
    }
    (void)BIO_reset(p->from_client);
}

/* Carry the server's pending bytes to the client, as the loop's sends. */
static size_t to_client(struct pair *p) {
    size_t total = 0, n;
    void *where;
    while ((n = tls_pending(p->sv, &where)) > 0) {
        ck_assert_int_eq(BIO_write(p->to_client, where, (int)n), (int)n);
        tls_sent(p->sv, n);
        total += n;
    }
    return total;
}

/* Both sides' handshakes to the end: the server's step. */
static enum tls_step handshake(struct pair *p, size_t chunk) {
    enum tls_step st = TLS_AGAIN;
    for (int round = 0; round < 10; round++) {
        int r = SSL_do_handshake(p->cl);
        if (r != 1 && SSL_get_error(p->cl, r) != SSL_ERROR_WANT_READ)
            return TLS_FAILED; /* the client refused */
        to_server(p, chunk);
        if (st != TLS_OK) {
            st = tls_handshake(p->sv);
            if (st == TLS_FAILED)
                return st;
        }
        to_client(p);
        if (r == 1 && st == TLS_OK)
            return TLS_OK;
    }
    return st;
}

/* The client's plaintext, read until want bytes came. */
static size_t client_read(struct pair *p, char *buf, size_t want) {
    size_t got = 0, n;
    while (got < want && SSL_read_ex(p->cl, buf + got, want - got, &n))
        got += n;
    return got;
}

START_TEST(parse_names) {
    enum tls_fault f;
    enum tls_cert_mode m;
    ck_assert_int_eq(tls_parse_fault("silent", &f), 0);
    ck_assert_int_eq(f, TLS_FAULT_SILENT);
    ck_assert_int_eq(tls_parse_fault("garbage", &f), 0);
    ck_assert_int_eq(f, TLS_FAULT_GARBAGE);
    ck_assert_int_eq(tls_parse_fault("cut", &f), 0);
    ck_assert_int_eq(f, TLS_FAULT_CUT);
    ck_assert_int_eq(tls_parse_fault("Cut", &f), -EINVAL);
    ck_assert_int_eq(tls_parse_fault("", &f), -EINVAL);
    ck_assert_int_eq(tls_parse_cert_mode("expired", &m), 0);
    ck_assert_int_eq(m, TLS_CERT_EXPIRED);
    ck_assert_int_eq(tls_parse_cert_mode("wrong-name", &m), 0);
    ck_assert_int_eq(m, TLS_CERT_WRONG_NAME);
    ck_assert_int_eq(tls_parse_cert_mode("good", &m), -EINVAL);
}
END_TEST

/* The made certificate: P-256, its names, its dates; written whole. */
START_TEST(made_certificate) {
    struct tls_ctx *t = server(TLS_CERT_GOOD, false, "good.pem");
    char path[256];
    snprintf(path, sizeof path, "%s/good.pem", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    EVP_PKEY *key = X509_get0_pubkey(x);
    char group[32];
    size_t glen;
    ck_assert_int_eq(EVP_PKEY_get_group_name(key, group, sizeof group, &glen), 1);
    ck_assert_str_eq(group, "prime256v1");
    ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
    ck_assert_int_lt(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
    ck_assert_int_gt(X509_cmp_current_time(X509_get0_notAfter(x)), 0);
    X509_free(x);
    ck_assert_ptr_nonnull(strstr(tls_ctx_describe(t), "P-256"));
    tls_ctx_free(t);
}
END_TEST

/* A full handshake in recvs of every size the network might give, ALPN,
 * a request in, a reply out (gathered small pieces, records split), and a
 * close_notify the client sees. */
START_TEST(handshake_request_reply) {
    static const size_t chunks[] = {1, 7, 100, 65536};
    struct tls_ctx *t = server(TLS_CERT_GOOD, false, "hs.pem");
    SSL_CTX *cctx = client_ctx("hs.pem");
    for (size_t k = 0; k < CHECK_COUNT(chunks); k++) {
        struct pair p = connect_pair(cctx, t, NULL);
        ck_assert_int_eq(handshake(&p, chunks[k]), TLS_OK);
        ck_assert(!tls_resumed(p.sv));
        const unsigned char *alpn;
        unsigned alen;
        SSL_get0_alpn_selected(p.cl, &alpn, &alen);
        ck_assert_uint_eq(alen, 8);
        ck_assert_int_eq(memcmp(alpn, "http/1.1", 8), 0);

        static const char req[] = "GET /flags/br/br.gif HTTP/1.1\r\nHost: t\r\n\r\n";
        size_t n;
        ck_assert_int_eq(SSL_write_ex(p.cl, req, sizeof req - 1, &n), 1);
        to_server(&p, chunks[k]);
        char buf[256];
        size_t got = 0, r;
        while (tls_read(p.sv, buf + got, sizeof buf - got, &r) == TLS_OK)
            got += r;
        ck_assert_uint_eq(got, sizeof req - 1);
        ck_assert_int_eq(memcmp(buf, req, got), 0);

        /* A header, a 100 KiB body, a tail: more than the pair holds. */
        static char body[100 * 1024];
        for (size_t i = 0; i < sizeof body; i++)
            body[i] = (char)(i * 7 + k);
        struct iovec iov[] = {{"HEAD", 4}, {"", 0}, {body, sizeof body}, {"TAIL", 4}};
        size_t total = 4 + sizeof body + 4, sent = 0, niov = 4;
        struct iovec *at = iov;
        static char seen[sizeof body + 8];
        size_t seen_len = 0;
        while (sent < total) {
            bool failed;
            size_t took = tls_encrypt(p.sv, at, niov, &failed);
            ck_assert(!failed);
            ck_assert_uint_gt(took, 0);
            sent += took;
            while (niov && took >= at->iov_len) { /* as the loop's msg_advance */
                took -= at->iov_len;
                at++, niov--;
            }
            if (niov) {
                at->iov_base = (char *)at->iov_base + took;
                at->iov_len -= took;
            }
            ck_assert_uint_le(to_client(&p), 32 * 1024 + 1024);
            seen_len += client_read(&p, seen + seen_len, sizeof seen - seen_len);
        }
        ck_assert_uint_eq(seen_len, total);
        ck_assert_int_eq(memcmp(seen, "HEAD", 4), 0);
        ck_assert_int_eq(memcmp(seen + 4, body, sizeof body), 0);
        ck_assert_int_eq(memcmp(seen + 4 + sizeof body, "TAIL", 4), 0);

        tls_close_notify(p.sv);
        to_client(&p);
        ck_assert_int_eq(SSL_read_ex(p.cl, buf, sizeof buf, &n), 0);
        ck_assert_int_eq(SSL_get_error(p.cl, 0), SSL_ERROR_ZERO_RETURN);

        /* And the client's close_notify ends the server's reading. */
        SSL_shutdown(p.cl);
        to_server(&p, 65536);
        ck_assert_int_eq(tls_read(p.sv, buf, sizeof buf, &n), TLS_CLOSED);
        free_pair(&p);
    }
    SSL_CTX_free(cctx);
    tls_ctx_free(t);
}
END_TEST

/* The session of one connection resumes the next (TLS 1.2 and 1.3);
 * with no_tickets it cannot. */
static void resume(bool no_tickets, int version) {
    struct tls_ctx *t = server(TLS_CERT_GOOD, no_tickets, "resume.pem");
    SSL_CTX *cctx = client_ctx("resume.pem");
    SSL_CTX_set_max_proto_version(cctx, version);
    struct pair a = connect_pair(cctx, t, NULL);
    ck_assert_int_eq(handshake(&a, 65536), TLS_OK);
    char buf[16];
    size_t n;
    SSL_read_ex(a.cl, buf, sizeof buf, &n); /* takes TLS 1.3's tickets in */
    SSL_SESSION *sess = SSL_get1_session(a.cl);
    ck_assert_ptr_nonnull(sess);
    struct pair b = connect_pair(cctx, t, sess);
    ck_assert_int_eq(handshake(&b, 65536), TLS_OK);
    ck_assert_int_eq(tls_resumed(b.sv), !no_tickets);
    ck_assert_int_eq(SSL_session_reused(b.cl), !no_tickets);
    SSL_SESSION_free(sess);
    free_pair(&a);
    free_pair(&b);
    SSL_CTX_free(cctx);
    tls_ctx_free(t);
}

START_TEST(resumption) {
    resume(false, TLS1_3_VERSION);
    resume(false, TLS1_2_VERSION);
    resume(true, TLS1_3_VERSION);
    resume(true, TLS1_2_VERSION);
}
END_TEST

/* The certificates a client must refuse: the client's handshake fails with
 * the reason, and the server's fails on the client's alert. */
START_TEST(refused_certificates) {
    static const struct {
        enum tls_cert_mode mode;
        long why;
    } cases[] = {
        {TLS_CERT_EXPIRED, X509_V_ERR_CERT_HAS_EXPIRED},
        {TLS_CERT_WRONG_NAME, X509_V_ERR_IP_ADDRESS_MISMATCH},
    };
    for (size_t i = 0; i < CHECK_COUNT(cases); i++) {
        struct tls_ctx *t = server(cases[i].mode, false, "bad.pem");
        SSL_CTX *cctx = client_ctx("bad.pem");
        struct pair p = connect_pair(cctx, t, NULL);
        SSL_set1_host(p.cl, NULL);
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p.cl), "127.0.0.1");
        ck_assert_int_eq(handshake(&p, 65536), TLS_FAILED);
        ck_assert_int_eq(SSL_get_verify_result(p.cl), cases[i].why);
        to_server(&p, 65536); /* the client's alert */
        ck_assert_int_eq(tls_handshake(p.sv), TLS_FAILED);
        free_pair(&p);
        ERR_clear_error();
        SSL_CTX_free(cctx);
        tls_ctx_free(t);
    }
}
END_TEST

/* Bytes that are not TLS fail the handshake; so does a ClientHello cut
 * short only once more never comes (it waits until then). */
START_TEST(bad_input) {
    struct tls_ctx *t = server(TLS_CERT_GOOD, false, "in.pem");
    struct tls_conn *c = tls_conn_new(t);
    void *room;
    ck_assert(!tls_started(c));
    static const char http[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    ck_assert_uint_ge(tls_room(c, &room), sizeof http);
    memcpy(room, http, sizeof http - 1);
    tls_received(c, sizeof http - 1);
    ck_assert(tls_started(c));
    ck_assert_int_eq(tls_handshake(c), TLS_FAILED);
    ck_assert_str_ne(tls_last_error(), "no OpenSSL error recorded");
    tls_conn_free(c);
    ERR_clear_error();

    SSL_CTX *cctx = client_ctx("in.pem");
    struct pair p = connect_pair(cctx, t, NULL);
    SSL_do_handshake(p.cl);
    char *hello;
    long n = BIO_get_mem_data(p.from_client, &hello);
    ck_assert_uint_ge(tls_room(p.sv, &room), (size_t)n);
    memcpy(room, hello, (size_t)n / 2);
    tls_received(p.sv, (size_t)n / 2);
    ck_assert_int_eq(tls_handshake(p.sv), TLS_AGAIN);
    free_pair(&p);
    SSL_CTX_free(cctx);
    tls_ctx_free(t);
}
END_TEST

/* The certificate is written atomically: a path that cannot be written
 * leaves nothing behind; --cert and --key that do not match are refused. */
START_TEST(files) {
    struct tls_ctx *t = server(TLS_CERT_GOOD, false, "files.pem");
    char sub[256], err[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_ne(tls_ctx_write_cert(t, sub), 0); /* a directory */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", sub, (int)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0); /* its temporary is gone */
    ck_assert_int_eq(rmdir(sub), 0);
    tls_ctx_free(t);

    char cert[256], none[256];
    snprintf(cert, sizeof cert, "%s/files.pem", dir);
    snprintf(none, sizeof none, "%s/none.key", dir);
    struct tls_options o = {.on = true, .cert_file = cert, .key_file = none};
    ck_assert_ptr_null(tls_ctx_new(&o, "127.0.0.1", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "none.key"));
    o.key_file = cert; /* a certificate is not its key */
    ck_assert_ptr_null(tls_ctx_new(&o, "127.0.0.1", err, sizeof err));
    ERR_clear_error();
}
END_TEST

static void make_dir(void) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void) {
    const TTest *const tests[] = {
        parse_names, made_certificate,     handshake_request_reply,
        resumption,  refused_certificates, bad_input,
        files,
    };
    TCase *tc = check_case("tls", 120, tests, CHECK_COUNT(tests));
    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    return check_run_case("server_tls", tc);
}

/* tls.c — flagserver's TLS: the context and one connection on a BIO pair. */
#include "tls.h"
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pair's two buffers. Out holds two full records, so a reply leaves in
 * sends of up to 32 KiB; in holds one, which SSL consumes as it reads. */
#define PAIR_OUT     (32 * 1024)
#define PAIR_IN      (17 * 1024)
#define RECORD_MAX   16384 /* plaintext of one TLS record */
#define RECORD_SLACK 256   /* a record's header, tag and padding, with room */

struct tls_ctx {
    SSL_CTX *ctx;
    X509 *cert;
    char describe[160];
};

struct tls_conn {
    SSL *ssl;
    BIO *net; /* the loop's end of the pair; SSL owns the other */
    bool started;
};

int tls_parse_cert_mode(const char *s, enum tls_cert_mode *mode) {
    if (!strcmp(s, "expired"))
        *mode = TLS_CERT_EXPIRED;
    else if (!strcmp(s, "wrong-name"))
        *mode = TLS_CERT_WRONG_NAME;
    else
        return -EINVAL;
    return 0;
}

int tls_parse_fault(const char *s, enum tls_fault *fault) {
    if (!strcmp(s, "silent"))
        *fault = TLS_FAULT_SILENT;
    else if (!strcmp(s, "garbage"))
        *fault = TLS_FAULT_GARBAGE;
    else if (!strcmp(s, "cut"))
        *fault = TLS_FAULT_CUT;
    else
        return -EINVAL;
    return 0;
}

const char *tls_last_error(void) {
    static char buf[256];
    unsigned long e = ERR_peek_last_error();
    if (!e)
        return "no OpenSSL error recorded";
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

/* ---- the certificate --tls makes ---- */

/* The subjectAltName for bind_addr: the address itself, or both loopback
 * addresses for a wildcard bind, and DNS:localhost. */
static void alt_names(const char *bind_addr, enum tls_cert_mode mode, char *out, size_t n) {
    if (mode == TLS_CERT_WRONG_NAME)
        snprintf(out, n, "DNS:wrong-name.invalid");
    else if (!strcmp(bind_addr, "0.0.0.0") || !strcmp(bind_addr, "::"))
        snprintf(out, n, "IP:127.0.0.1,IP:::1,DNS:localhost");
    else
        snprintf(out, n, "IP:%s,DNS:localhost", bind_addr);
}

static int add_ext(X509 *x, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A self-signed certificate for key, shaped as `openssl req -x509` makes
 * them (its own CA), so every client's --cacert takes it. */
static X509 *make_cert(EVP_PKEY *key, const char *bind_addr, enum tls_cert_mode mode) {
    char san[128];
    long from = -3600, to = 7 * 86400; /* seconds from now */
    if (mode == TLS_CERT_EXPIRED)
        from = -2 * 86400, to = -86400;
    alt_names(bind_addr, mode, san, sizeof san);
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    bool ok = x && serial && X509_set_version(x, 2) && BN_rand(serial, 63, BN_RAND_TOP_ANY, 0) &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
              X509_gmtime_adj(X509_getm_notBefore(x), from) &&
              X509_gmtime_adj(X509_getm_notAfter(x), to) && X509_set_pubkey(x, key) &&
              X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                         (const unsigned char *)"flagserver", -1, -1, 0) &&
              X509_set_issuer_name(x, X509_get_subject_name(x)) &&
              !add_ext(x, NID_basic_constraints, "critical,CA:TRUE") &&
              !add_ext(x, NID_subject_key_identifier, "hash") &&
              !add_ext(x, NID_authority_key_identifier, "keyid:always") &&
              !add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
              !add_ext(x, NID_ext_key_usage, "serverAuth") &&
              !add_ext(x, NID_subject_alt_name, san) && X509_sign(x, key, EVP_sha256());
    BN_free(serial);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int load_files(struct tls_ctx *t, const struct tls_options *o, char *err, size_t errlen) {
    if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
        snprintf(err, errlen, "%s: %s", o->cert_file, tls_last_error());
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "%s: %s", o->key_file, tls_last_error());
        return -1;
    }
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(err, errlen, "%s does not match %s", o->key_file, o->cert_file);
        return -1;
    }
    t->cert = SSL_CTX_get0_certificate(t->ctx);
    X509_up_ref(t->cert);
    snprintf(t->describe, sizeof t->describe, "certificate %s", o->cert_file);
    return 0;
}

static int generate(struct tls_ctx *t, const struct tls_options *o, const char *bind_addr,
                    char *err, size_t errlen) {
    static const char *const modes[] = {"", ", expired", ", for the wrong name"};
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key)
        t->cert = make_cert(key, bind_addr, o->cert_mode);
    bool ok = t->cert && SSL_CTX_use_certificate(t->ctx, t->cert) == 1 &&
              SSL_CTX_use_PrivateKey(t->ctx, key) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
        snprintf(err, errlen, "cannot make a certificate: %s", tls_last_error());
        return -1;
    }
    snprintf(t->describe, sizeof t->describe, "a fresh self-signed P-256 certificate%s",
             modes[o->cert_mode]);
    return 0;
}

/* ALPN: http/1.1 when the client offers it; otherwise no ALPN at all
 * (rather than fail a client that offers only h2). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    static const unsigned char http11[] = "\x08http/1.1";
    (void)ssl, (void)arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, http11, sizeof http11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

struct tls_ctx *tls_ctx_new(const struct tls_options *o, const char *bind_addr, char *err,
                            size_t errlen) {
    struct tls_ctx *t = calloc(1, sizeof *t);
    if (!t || !(t->ctx = SSL_CTX_new(TLS_server_method()))) {
        snprintf(err, errlen, "out of memory");
        tls_ctx_free(t);
        return NULL;
    }
    SSL_CTX *ctx = t->ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* As nginx sets them: no renegotiation, no compression, buffers given
     * back while a connection is idle (thousands of them wait on delays),
     * the chain sent as given rather than built again at every handshake. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    /* Resumption by session tickets only (TLS 1.3's, and 1.2's), which keep
     * no state on the server: nginx's default too. --no-tickets: none. */
    if (o->no_tickets) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
    }
    int r = o->cert_file ? load_files(t, o, err, errlen) : generate(t, o, bind_addr, err, errlen);
    if (r) {
        tls_ctx_free(t);
        return NULL;
    }
    return t;
}

void tls_ctx_free(struct tls_ctx *t) {
    if (!t)
        return;
    X509_free(t->cert);
    SSL_CTX_free(t->ctx);
    free(t);
}

static int fill_cert(FILE *f, const void *arg) {
    return PEM_write_X509(f, (X509 *)arg) == 1 ? 0 : -1;
}

int tls_ctx_write_cert(const struct tls_ctx *t, const char *path) {
    return write_atomically(path, fill_cert, t->cert);
}

const char *tls_ctx_describe(const struct tls_ctx *t) {
    return t->describe;
}

/* ---- one connection ---- */

struct tls_conn *tls_conn_new(struct tls_ctx *t) {
    struct tls_conn *c = calloc(1, sizeof *c);
    BIO *inner = NULL;
    if (!c || !(c->ssl = SSL_new(t->ctx)) ||
        !BIO_new_bio_pair(&inner, PAIR_OUT, &c->net, PAIR_IN)) {
        tls_conn_free(c);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(c->ssl, inner, inner);
    SSL_set_accept_state(c->ssl);
    return c;
}

void tls_conn_free(struct tls_conn *c) {
    if (!c)
        return;
    SSL_free(c->ssl); /* and the inner BIO */
    BIO_free(c->net);
    free(c);
}

size_t tls_room(struct tls_conn *c, void **where) {
    char *p;
    int n = BIO_nwrite0(c->net, &p);
    *where = p;
    return n > 0 ? (size_t)n : 0;
}

void tls_received(struct tls_conn *c, size_t n) {
    char *p;
    BIO_nwrite(c->net, &p, (int)n);
    c->started = true;
}

bool tls_started(const struct tls_conn *c) {
    return c->started;
}

enum tls_step tls_handshake(struct tls_conn *c) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return TLS_OK;
    int e = SSL_get_error(c->ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? TLS_AGAIN : TLS_FAILED;
}

bool tls_output_can_wait(const struct tls_conn *c) {
    return SSL_is_init_finished(c->ssl) && SSL_version(c->ssl) == TLS1_3_VERSION;
}

bool tls_resumed(const struct tls_conn *c) {
    return SSL_session_reused(c->ssl) == 1;
}

enum tls_step tls_read(struct tls_conn *c, char *buf, size_t cap, size_t *got) {
    *got = 0;
    ERR_clear_error();
    if (SSL_read_ex(c->ssl, buf, cap, got))
        return TLS_OK;
    int e = SSL_get_error(c->ssl, 0);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? TLS_AGAIN : TLS_CLOSED;
}

size_t tls_encrypt(struct tls_conn *c, const struct iovec *iov, size_t niov, bool *failed) {
    static char stage[RECORD_MAX]; /* one thread: small pieces gathered here */
    BIO *inner = SSL_get_wbio(c->ssl);
    size_t taken = 0, i = 0, off = 0;
    *failed = false;
    for (;;) {
        while (i < niov && off == iov[i].iov_len)
            i++, off = 0;
        size_t room = BIO_ctrl_get_write_guarantee(inner);
        if (i == niov || room <= RECORD_SLACK)
            return taken;
        size_t want = room - RECORD_SLACK < RECORD_MAX ? room - RECORD_SLACK : RECORD_MAX;
        const char *p = (const char *)iov[i].iov_base + off;
        size_t len = iov[i].iov_len - off;
        if (len >= want || i + 1 == niov) {
            len = len < want ? len : want;
            off += len;
        } else { /* a short piece and more after it: one record, not several */
            len = 0;
            while (i < niov && len < want) {
                size_t n = iov[i].iov_len - off < want - len ? iov[i].iov_len - off : want - len;
                memcpy(stage + len, (const char *)iov[i].iov_base + off, n);
                len += n;
                off += n;
                if (off == iov[i].iov_len)
                    i++, off = 0;
            }
            p = stage;
        }
        size_t written;
        ERR_clear_error();
        if (!SSL_write_ex(c->ssl, p, len, &written) || written != len) {
            *failed = true;
            return taken;
        }
        taken += len;
    }
}

size_t tls_pending(struct tls_conn *c, void **where) {
    char *p;
    int n = BIO_nread0(c->net, &p);
    *where = p;
    return n > 0 ? (size_t)n : 0;
}

void tls_sent(struct tls_conn *c, size_t n) {
    char *p;
    BIO_nread(c->net, &p, (int)n);
}

void tls_close_notify(struct tls_conn *c) {
    if (!SSL_is_init_finished(c->ssl))
        return;
    ERR_clear_error();
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

/* tls.h — flagserver's TLS (OpenSSL): the context — a certificate made at
 * start or read from files, TLS 1.2 and 1.3, ALPN http/1.1, session tickets —
 * and, per connection, an SSL object on a BIO pair.
 *
 * OpenSSL never sees a socket. The io_uring loop (server.c) keeps doing every
 * recv and send itself: ciphertext it receives goes straight into the pair's
 * free space (tls_room, tls_received), SSL turns it into handshake replies or
 * plaintext for the parser (tls_handshake, tls_read), the replies' plaintext
 * is encrypted into the pair (tls_encrypt) and the loop sends the ciphertext
 * from where it lies (tls_pending, tls_sent). Nothing blocks, nothing waits,
 * and it stays one thread. No OpenSSL type appears here, so respond.c and the
 * loop's other parts need none of its headers. */
#ifndef FLAGSERVER_TLS_H
#define FLAGSERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* The certificate --tls makes when it is given none: a good one, or one a
 * client must refuse (for the clients' tests). */
enum tls_cert_mode {
    TLS_CERT_GOOD,
    TLS_CERT_EXPIRED,    /* valid from 2 days ago until yesterday */
    TLS_CERT_WRONG_NAME, /* its only name is wrong-name.invalid */
};

/* A misbehaving TLS server, on every connection (--tls-fault). */
enum tls_fault {
    TLS_FAULT_NONE,
    TLS_FAULT_SILENT,  /* read the ClientHello, never answer */
    TLS_FAULT_GARBAGE, /* answer it with plain-text HTTP (not TLS), then close */
    TLS_FAULT_CUT,     /* send the first half of the first flight, then close */
};

struct tls_options {
    bool on;
    const char *cert_file, *key_file; /* both, or neither: a fresh P-256 one */
    const char *cert_out;             /* write the certificate there, or NULL */
    bool no_tickets;                  /* no session resumption at all */
    enum tls_cert_mode cert_mode;
    enum tls_fault fault;
};

/* "expired", "wrong-name" / "silent", "garbage", "cut". 0, or -EINVAL. */
int tls_parse_cert_mode(const char *s, enum tls_cert_mode *mode);
int tls_parse_fault(const char *s, enum tls_fault *fault);

struct tls_ctx;

/* The server's context for o: the certificate and key from files, or made
 * for bind_addr (an IP SAN for it, and DNS:localhost). NULL with the reason
 * in err. */
struct tls_ctx *tls_ctx_new(const struct tls_options *o, const char *bind_addr, char *err,
                            size_t errlen);
void tls_ctx_free(struct tls_ctx *t);

/* Write the certificate (PEM) to path atomically, as the port file is.
 * 0, or -errno. */
int tls_ctx_write_cert(const struct tls_ctx *t, const char *path);

/* What the certificate is, for the startup line ("generated P-256 ..."). */
const char *tls_ctx_describe(const struct tls_ctx *t);

/* ---- one connection ---- */

struct tls_conn;

/* A server-side connection of t, or NULL (out of memory). */
struct tls_conn *tls_conn_new(struct tls_ctx *t);
void tls_conn_free(struct tls_conn *c);

/* Where received ciphertext may go: the pair's contiguous free space. Its
 * address holds until tls_received or tls_conn_free, as long as nothing
 * else of c is called in between. */
size_t tls_room(struct tls_conn *c, void **where);
/* n bytes of it were received. */
void tls_received(struct tls_conn *c, size_t n);
/* Whether any ciphertext has been received yet. */
bool tls_started(const struct tls_conn *c);

enum tls_step {
    TLS_OK,     /* done: the handshake, or some plaintext read */
    TLS_AGAIN,  /* needs more ciphertext (send what is pending first) */
    TLS_CLOSED, /* the peer closed (close_notify), or a record was bad */
    TLS_FAILED, /* the handshake failed (an alert may be pending) */
};

/* Advance the handshake with what has arrived. */
enum tls_step tls_handshake(struct tls_conn *c);
bool tls_resumed(const struct tls_conn *c);

/* Whether what is pending may wait for the next reply rather than be sent
 * before reading on: after a TLS 1.3 handshake it is tickets or a KeyUpdate,
 * which no client waits for. After TLS 1.2's, the server's Finished, which
 * it does. */
bool tls_output_can_wait(const struct tls_conn *c);

/* Decrypted plaintext into buf (at most cap): TLS_OK with *got > 0,
 * TLS_AGAIN, or TLS_CLOSED. */
enum tls_step tls_read(struct tls_conn *c, char *buf, size_t cap, size_t *got);

/* Encrypt from the start of iov as much as the pair has room for, in
 * records of up to 16 KiB (small pieces gathered into one). The plaintext
 * bytes taken; *failed on an OpenSSL error. */
size_t tls_encrypt(struct tls_conn *c, const struct iovec *iov, size_t niov, bool *failed);

/* Ciphertext waiting to be sent (handshake messages, tickets, records,
 * alerts): its length, 0 when none, and where it lies (contiguous; more may
 * follow once it is sent). Stays put until tls_sent. */
size_t tls_pending(struct tls_conn *c, void **where);
void tls_sent(struct tls_conn *c, size_t n);

/* Queue a close_notify (after a finished handshake only). */
void tls_close_notify(struct tls_conn *c);

/* The reason for the last OpenSSL failure on this thread, for -v. */
const char *tls_last_error(void);

#endif

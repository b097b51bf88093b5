/* uring_loop_test.c — Check unit tests of uring_async/loop.h without
 * libcurl: the user_data packing, readiness events on socketpairs, stale
 * completions dropped after a socket is removed and its descriptor number
 * reused, slots not recycled while the kernel may still name them, interest
 * changes, and generic operations. Each socket test runs with one-shot and
 * with multishot polls. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "check_run.h"
#include "reactor_test.h"

/* Every socket test's fixture (checked: made afresh in each test's process):
 * the loop l, made by start() with the test's flags, recording into seen,
 * and a socket pair sv. A test closes what it needs closed; the rest goes
 * at teardown. */
static struct seen_events seen;
static struct loop *l;
static int sv[2];

static void setup(void) {
    memset(&seen, 0, sizeof seen);
    l = NULL;
    pair(sv);
}

static void teardown(void) {
    loop_free(l);
    pair_close(sv);
}

static void start(unsigned flags) {
    ck_assert_int_eq(loop_new(&l, 8, flags), 0);
    loop_set_event_fn(l, seen_event, &seen);
}

/* Run the loop until events arrive or ~10 s pass: a completion the kernel
 * hands to one of its workers waits for a CPU, which a busy machine may not
 * give for a while; waiting long costs nothing when it comes at once. */
static void run_until_event(struct loop *l, const struct seen_events *seen, int before) {
    for (int i = 0; i < 1000 && seen->n == before; i++)
        ck_assert_int_eq(loop_run_once(l, 10), 0);
}

/* Run until no request is pending (cancellations completed), ~10 s at most. */
static void run_until_idle(struct loop *l, unsigned pending) {
    for (int i = 0; i < 1000 && loop_pending(l) != pending; i++)
        ck_assert_int_eq(loop_run_once(l, 10), 0);
    ck_assert_uint_eq(loop_pending(l), pending);
}

/* Make fd readable (a byte from its peer) and run until the loop reports
 * it: the event after the first `before`. */
static void expect_readable(int fd, int peer, int before) {
    ck_assert_int_eq(write(peer, "x", 1), 1);
    run_until_event(l, &seen, before);
    ck_assert_int_eq(seen.n, before + 1);
    ck_assert_int_eq(seen.fd[before], fd);
}

/* Stop watching fd and run until nothing is pending. */
static void unwatch(int fd, uintptr_t *h) {
    ck_assert_int_eq(loop_watch(l, fd, CURL_POLL_REMOVE, h), 0);
    run_until_idle(l, 0);
}

START_TEST(ud_roundtrip) {
    static const uint32_t idx[] = {0, 1, 12345, 0x3fffffff};
    static const uint32_t gen[] = {0, 1, 0xdeadbeef, UINT32_MAX};
    for (size_t i = 0; i < 4; i++)
        for (size_t g = 0; g < 4; g++)
            for (int t = LOOP_UD_OP; t <= LOOP_UD_CANCEL; t++) {
                enum loop_ud_tag tag;
                uint32_t ri, rg;
                uint64_t ud = loop_ud_pack((enum loop_ud_tag)t, idx[i], gen[g]);
                loop_ud_unpack(ud, &tag, &ri, &rg);
                ck_assert_int_eq(tag, t);
                ck_assert_uint_eq(ri, idx[i]);
                ck_assert_uint_eq(rg, gen[g]);
            }
    /* Different generations of one slot never share a user_data. */
    ck_assert(loop_ud_pack(LOOP_UD_POLL, 7, 1) != loop_ud_pack(LOOP_UD_POLL, 7, 2));
}
END_TEST

START_TEST(readable_event) {
    start((unsigned)_i);
    uintptr_t h = 0;
    ck_assert_int_eq(loop_watch(l, sv[0], CURL_POLL_IN, &h), 0);
    ck_assert_uint_ne(h, 0);
    ck_assert_int_eq(loop_run_once(l, 0), 0); /* arms; nothing to read yet */
    ck_assert_int_eq(seen.n, 0);
    expect_readable(sv[0], sv[1], 0);
    ck_assert_int_eq(seen.ev[0] & CURL_CSELECT_IN, CURL_CSELECT_IN);
    ck_assert_int_eq(seen.ev[0] & CURL_CSELECT_OUT, 0);

    /* Not drained: level-triggered one-shot polls report it again, an
     * edge-triggered multishot poll only on new data. */
    char c;
    ck_assert_int_eq(read(sv[0], &c, 1), 1);
    expect_readable(sv[0], sv[1], 1);

    unwatch(sv[0], &h);
    ck_assert_uint_eq(h, 0);
    ck_assert_uint_eq(loop_sockets(l), 0);
}
END_TEST

/* The heart of it: a completion for a removed socket whose descriptor
 * number now belongs to a new socket must not reach the new one. */
START_TEST(stale_after_fd_reuse) {
    start((unsigned)_i);
    int a[2], b[2];
    pair(a);
    uintptr_t ha = 0, hb = 0;
    ck_assert_int_eq(loop_watch(l, a[0], CURL_POLL_IN, &ha), 0);
    ck_assert_int_eq(loop_run_once(l, 0), 0);
    ck_assert_int_eq(write(a[1], "x", 1), 1); /* the poll on a[0] fires... */

    /* ...but before the loop handles it, the socket is removed and closed,
     * and a new socket gets the same descriptor number. */
    ck_assert_int_eq(loop_watch(l, a[0], CURL_POLL_REMOVE, &ha), 0);
    int old_fd = a[0];
    pair_close(a);
    pair(b);
    ck_assert_int_eq(b[0], old_fd);
    ck_assert_int_eq(loop_watch(l, b[0], CURL_POLL_IN, &hb), 0);

    /* Until the old poll's completion has come (~10 s at most). */
    for (int i = 0; i < 1000 && loop_get_stats(l)->stale < 1; i++)
        ck_assert_int_eq(loop_run_once(l, 10), 0);
    ck_assert_int_eq(seen.n, 0); /* the old readiness was dropped */
    ck_assert_uint_ge(loop_get_stats(l)->stale, 1);
    ck_assert_uint_eq(loop_sockets(l), 1);

    expect_readable(b[0], b[1], 0);

    unwatch(b[0], &hb);
    pair_close(b);
}
END_TEST

/* A removed socket's slot is not handed out while its poll or the poll's
 * cancellation may still complete; afterwards it is reused. */
START_TEST(slot_held_until_last_completion) {
    start((unsigned)_i);
    int a[2], c[2], d[2];
    pair(a);
    pair(c);
    pair(d);
    uintptr_t ha = 0, hc = 0, hd = 0;
    ck_assert_int_eq(loop_watch(l, a[0], CURL_POLL_IN, &ha), 0);
    ck_assert_int_eq(loop_run_once(l, 0), 0); /* a's poll is in the kernel */
    uintptr_t old = ha;
    ck_assert_int_eq(loop_watch(l, a[0], CURL_POLL_REMOVE, &ha), 0);
    ck_assert_int_eq(loop_watch(l, c[0], CURL_POLL_IN, &hc), 0);
    ck_assert_uint_ne(hc, old); /* still pending: not recycled */

    run_until_idle(l, 1); /* a's cancel done; c's poll armed */
    ck_assert_int_eq(loop_watch(l, d[0], CURL_POLL_IN, &hd), 0);
    ck_assert_uint_eq(hd, old); /* now free, and reused */

    /* The new occupant hears its own events only. */
    ck_assert_int_eq(write(a[1], "x", 1), 1);
    ck_assert_int_eq(write(d[1], "x", 1), 1);
    run_until_event(l, &seen, 0);
    ck_assert_int_eq(seen_for(&seen, a[0]), 0);
    ck_assert_int_eq(seen_for(&seen, d[0]), 1);

    ck_assert_int_eq(loop_watch(l, c[0], CURL_POLL_REMOVE, &hc), 0);
    ck_assert_int_eq(loop_watch(l, d[0], CURL_POLL_REMOVE, &hd), 0);
    run_until_idle(l, 0);
    ck_assert_uint_eq(loop_sockets(l), 0);
    for (int i = 0; i < 2; i++)
        close(a[i]), close(c[i]), close(d[i]);
}
END_TEST

/* From IN to OUT: the old poll is replaced, and its completion is stale. */
START_TEST(interest_change) {
    start((unsigned)_i);
    uintptr_t h = 0;
    ck_assert_int_eq(loop_watch(l, sv[0], CURL_POLL_IN, &h), 0);
    ck_assert_int_eq(loop_run_once(l, 0), 0);
    ck_assert_int_eq(seen.n, 0);
    uintptr_t h0 = h;
    ck_assert_int_eq(loop_watch(l, sv[0], CURL_POLL_OUT, &h), 0);
    ck_assert_uint_eq(h, h0);                  /* same socket, same context */
    ck_assert_int_eq(write(sv[1], "x", 1), 1); /* readable: not wanted any more */
    run_until_event(l, &seen, 0);
    ck_assert_int_eq(seen.n, 1);
    ck_assert_int_eq(seen.ev[0] & (CURL_CSELECT_IN | CURL_CSELECT_OUT), CURL_CSELECT_OUT);

    /* Both at once. */
    ck_assert_int_eq(loop_watch(l, sv[0], CURL_POLL_INOUT, &h), 0);
    run_until_event(l, &seen, 1);
    ck_assert_int_ge(seen.n, 2);
    ck_assert_int_eq(seen.ev[1] & (CURL_CSELECT_IN | CURL_CSELECT_OUT),
                     CURL_CSELECT_IN | CURL_CSELECT_OUT);

    unwatch(sv[0], &h);
}
END_TEST

/* Many sockets, all removed while armed: every context comes back. */
START_TEST(many_sockets_removed) {
    start((unsigned)_i);
    enum { N = 200 };
    int socks[N][2];
    uintptr_t h[N] = {0};
    for (int i = 0; i < N; i++) {
        pair(socks[i]);
        ck_assert_int_eq(loop_watch(l, socks[i][0], CURL_POLL_IN, &h[i]), 0);
    }
    ck_assert_int_eq(loop_run_once(l, 0), 0);
    ck_assert_uint_eq(loop_sockets(l), N);
    ck_assert_uint_ge(loop_get_stats(l)->sockets_peak, N);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(loop_watch(l, socks[i][0], CURL_POLL_REMOVE, &h[i]), 0);
    run_until_idle(l, 0);
    ck_assert_uint_eq(loop_sockets(l), 0);
    ck_assert_int_eq(seen.n, 0);
    for (int i = 0; i < N; i++)
        close(socks[i][0]), close(socks[i][1]);
}
END_TEST

struct op_result {
    struct loop_op op;
    int res, calls;
};

static void op_done(struct loop_op *op, int res) {
    struct op_result *r = (struct op_result *)op;
    r->res = res;
    r->calls++;
}

START_TEST(generic_ops_and_chain) {
    start(0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    struct op_result w = {.op.done = op_done}, c = {.op.done = op_done};

    /* write -> close linked: one submission, two callbacks. */
    struct io_uring_sqe *sqe = loop_sqe_chain(l, 2);
    ck_assert_ptr_nonnull(sqe);
    io_uring_prep_write(sqe, p[1], "hello", 5, 0);
    sqe->flags |= IOSQE_IO_LINK;
    loop_sqe_set_op(l, sqe, &w.op);
    sqe = loop_sqe(l);
    io_uring_prep_close(sqe, p[1]);
    loop_sqe_set_op(l, sqe, &c.op);
    ck_assert_uint_eq(loop_pending(l), 2);
    run_until_idle(l, 0);
    ck_assert_int_eq(w.calls, 1);
    ck_assert_int_eq(w.res, 5);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.res, 0);
    char buf[8];
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 5);
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 0); /* the close happened */
    close(p[0]);

    /* A chain longer than the ring is refused. */
    ck_assert_ptr_null(loop_sqe_chain(l, 1u << 20));
}
END_TEST

/* The wait honours its cap even with nothing pending. */
START_TEST(idle_wait_returns) {
    start(0);
    ck_assert_int_eq(loop_run_once(l, 0), 0);
    ck_assert_int_eq(loop_run_once(l, 5), 0);
    ck_assert_int_eq(loop_run_once(l, -1), 0); /* nothing pending: no sleep */
}
END_TEST

int main(void) {
    const TTest *const tests[] = {ud_roundtrip, generic_ops_and_chain, idle_wait_returns};
    TCase *tc = check_case("loop", 30, tests, CHECK_COUNT(tests));
    tcase_add_checked_fixture(tc, setup, teardown);
    /* The socket tests, with one-shot (0) and multishot (1) polls. */
    tcase_add_loop_test(tc, readable_event, 0, 2);
    tcase_add_loop_test(tc, stale_after_fd_reuse, 0, 2);
    tcase_add_loop_test(tc, slot_held_until_last_completion, 0, 2);
    tcase_add_loop_test(tc, interest_change, 0, 2);
    tcase_add_loop_test(tc, many_sockets_removed, 0, 2);
    return check_run_case("uring_loop", tc);
}

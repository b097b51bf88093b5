/* epoll_loop_test.c — Check unit tests of epoll/epoll_loop.h without
 * libcurl: readiness events on socketpairs, interest changes, removal,
 * stale events dropped when a socket of the same batch is removed and its
 * descriptor number reused, a descriptor closed without a removal, errors,
 * and the deadline: handed on once, after it has passed, with the timerfd
 * armed at most once per turn however often the deadline moves. Timings
 * are lower bounds only. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "clock.h"
#include "epoll_loop.h"
#include "reactor_test.h"

struct seen {
    struct seen_events e; /* first: seen_event records into it */
    int timeouts;
    /* For the stale test: on the first event, drop this descriptor and put
     * a fresh socket on its number. */
    struct epoll_loop *l;
    int victim_a, victim_b, replaced_by_peer;
};

static void record_timeout(void *arg) {
    ((struct seen *)arg)->timeouts++;
}

/* Every test's fixture (checked: made afresh in each test's process): a
 * loop l recording into seen, and a socket pair sv. A test closes what it
 * needs closed; the rest goes at teardown. */
static struct seen seen;
static struct epoll_loop *l;
static int sv[2];

static void setup(void) {
    ck_assert_int_eq(epoll_loop_new(&l, 8), 0);
    memset(&seen, 0, sizeof seen);
    seen.victim_a = seen.victim_b = -1;
    epoll_loop_set_handlers(l, seen_event, record_timeout, &seen);
    pair(sv);
}

static void teardown(void) {
    epoll_loop_free(l);
    pair_close(sv);
}

static void put(int fd) {
    ck_assert_int_eq(write(fd, "x", 1), 1);
}

static int64_t now_ms(void) {
    return clock_now_ns() / 1000000;
}

START_TEST(readable) {
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_IN), 0);
    ck_assert_uint_eq(epoll_loop_sockets(l), 1);
    ck_assert_int_eq(epoll_loop_run_once(l, 0), 0);
    ck_assert_int_eq(seen.e.n, 0); /* nothing to read yet */
    put(sv[1]);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 1);
    ck_assert_int_eq(seen.e.fd[0], sv[0]);
    ck_assert_int_eq(seen.e.ev[0], CURL_CSELECT_IN);
    /* Level-triggered: unread data is reported again. */
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 2);
}
END_TEST

START_TEST(interest_changes) {
    put(sv[1]); /* sv[0] is readable and writable */
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_OUT), 0);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 1);
    ck_assert_int_eq(seen.e.ev[0], CURL_CSELECT_OUT);
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_IN), 0);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 2);
    ck_assert_int_eq(seen.e.ev[1], CURL_CSELECT_IN);
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_INOUT), 0);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 3);
    ck_assert_int_eq(seen.e.ev[2], CURL_CSELECT_IN | CURL_CSELECT_OUT);
    /* The same interest again costs no system call. */
    uint64_t ctls = epoll_loop_get_stats(l)->ctls;
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_INOUT), 0);
    ck_assert_uint_eq(epoll_loop_get_stats(l)->ctls, ctls);
    ck_assert_uint_eq(epoll_loop_sockets(l), 1);
}
END_TEST

START_TEST(removed) {
    put(sv[1]);
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_IN), 0);
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_REMOVE), 0);
    ck_assert_uint_eq(epoll_loop_sockets(l), 0);
    ck_assert_int_eq(epoll_loop_run_once(l, 50), 0);
    ck_assert_int_eq(seen.e.n, 0);
    /* Removing again, or a descriptor never watched, is no error. */
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_REMOVE), 0);
    ck_assert_int_eq(epoll_loop_watch(l, 1000, CURL_POLL_REMOVE), 0);
}
END_TEST

/* On the first event, whichever socket it is for: remove the other one,
 * close it, and watch a fresh socket that takes its number. */
static void replace_other(void *arg, int fd, int ev) {
    struct seen *s = arg;
    seen_event(arg, fd, ev);
    if (s->e.n != 1)
        return;
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1); /* handled: not reported again */
    int victim = fd == s->victim_a ? s->victim_b : s->victim_a;
    ck_assert_int_eq(epoll_loop_watch(s->l, victim, CURL_POLL_REMOVE), 0);
    ck_assert_int_eq(close(victim), 0);
    int fresh[2];
    pair(fresh);
    ck_assert_int_eq(fresh[0], victim); /* the lowest free number */
    ck_assert_int_eq(epoll_loop_watch(s->l, fresh[0], CURL_POLL_IN), 0);
    s->replaced_by_peer = fresh[1]; /* fresh[0] is not readable: nothing to report */
}

START_TEST(stale_in_batch) {
    epoll_loop_set_handlers(l, replace_other, record_timeout, &seen);
    int a[2], b[2];
    pair(a);
    pair(b);
    seen.l = l;
    seen.victim_a = a[0];
    seen.victim_b = b[0];
    ck_assert_int_eq(epoll_loop_watch(l, a[0], CURL_POLL_IN), 0);
    ck_assert_int_eq(epoll_loop_watch(l, b[0], CURL_POLL_IN), 0);
    put(a[1]);
    put(b[1]);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    /* Both were ready in one batch; the second belonged to a socket gone
     * before its turn, and its number's new owner has nothing to read. */
    ck_assert_int_eq(seen.e.n, 1);
    ck_assert_uint_eq(epoll_loop_get_stats(l)->stale, 1);
    ck_assert_int_eq(epoll_loop_run_once(l, 20), 0);
    ck_assert_int_eq(seen.e.n, 1);
    int reused = seen.e.fd[0] == a[0] ? b[0] : a[0];
    put(seen.replaced_by_peer); /* now the new socket is readable: reported */
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 2);
    ck_assert_int_eq(seen.e.fd[1], reused);
    close(seen.e.fd[0]); /* the one that fired first; the other was replaced */
    close(reused);
    close(seen.replaced_by_peer);
    close(a[1]);
    close(b[1]);
}
END_TEST

START_TEST(closed_without_remove) {
    int a[2], b[2];
    pair(a);
    ck_assert_int_eq(epoll_loop_watch(l, a[0], CURL_POLL_IN), 0);
    int number = a[0];
    close(a[0]); /* the kernel drops it from the set; the loop still thinks it watched */
    pair(b);
    ck_assert_int_eq(b[0], number);
    ck_assert_int_eq(epoll_loop_watch(l, b[0], CURL_POLL_OUT), 0);
    ck_assert_uint_eq(epoll_loop_sockets(l), 1);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 1);
    ck_assert_int_eq(seen.e.ev[0], CURL_CSELECT_OUT);
    close(a[1]);
    pair_close(b);
}
END_TEST

START_TEST(bad_descriptor) {
    close(sv[0]);
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_IN), -EBADF);
    ck_assert_int_eq(epoll_loop_watch(l, -1, CURL_POLL_IN), -EBADF);
    ck_assert_uint_eq(epoll_loop_sockets(l), 0);
}
END_TEST

START_TEST(hangup_is_readable) {
    ck_assert_int_eq(epoll_loop_watch(l, sv[0], CURL_POLL_IN), 0);
    close(sv[1]);
    ck_assert_int_eq(epoll_loop_run_once(l, 1000), 0);
    ck_assert_int_eq(seen.e.n, 1);
    ck_assert(seen.e.ev[0] & CURL_CSELECT_IN); /* libcurl reads the EOF */
}
END_TEST

START_TEST(deadline) {
    const struct epoll_loop_stats *st = epoll_loop_get_stats(l);
    /* libcurl moves its deadline many times a turn: one arm per turn. */
    for (int i = 0; i < 5; i++)
        epoll_loop_set_timeout(l, 1000 - i * 100L);
    epoll_loop_set_timeout(l, 30);
    int64_t t0 = now_ms();
    for (int i = 0; i < 100 && seen.timeouts == 0; i++)
        ck_assert_int_eq(epoll_loop_run_once(l, -1), 0);
    ck_assert_int_eq(seen.timeouts, 1);
    ck_assert_int_ge(now_ms() - t0, 30);
    ck_assert_uint_eq(st->timer_sets, 1);
    ck_assert_uint_eq(st->waits, 1); /* the timerfd woke the one wait */
    /* Handed on once: no deadline now, so the wait runs to its cap. */
    ck_assert_int_eq(epoll_loop_run_once(l, 20), 0);
    ck_assert_int_eq(seen.timeouts, 1);
    ck_assert_uint_eq(st->timer_sets, 2); /* disarmed */
    /* A deadline of 0: handed on at the next turn, without waiting. */
    epoll_loop_set_timeout(l, 0);
    ck_assert_int_eq(epoll_loop_run_once(l, 10000), 0);
    ck_assert_int_eq(seen.timeouts, 2);
    /* Removed before it passes: never handed on. */
    epoll_loop_set_timeout(l, 10);
    epoll_loop_set_timeout(l, -1);
    ck_assert_int_eq(epoll_loop_run_once(l, 40), 0);
    ck_assert_int_eq(seen.timeouts, 2);
    ck_assert_uint_eq(st->timeouts, 2);
}
END_TEST

START_TEST(nothing_to_wait_for) {
    /* No socket and no deadline: an uncapped wait would never end. */
    ck_assert_int_eq(epoll_loop_run_once(l, -1), 0);
    ck_assert_int_eq(seen.e.n + seen.timeouts, 0);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {
        readable,       interest_changes,   removed,  stale_in_batch,     closed_without_remove,
        bad_descriptor, hangup_is_readable, deadline, nothing_to_wait_for};
    TCase *tc = check_case("loop", 60, tests, CHECK_COUNT(tests));
    tcase_add_checked_fixture(tc, setup, teardown);
    return check_run_case("epoll_loop", tc);
}

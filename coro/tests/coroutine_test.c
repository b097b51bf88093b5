/* coroutine_test.c — Check unit tests of coro/coroutine.h alone, without
 * libcurl or a network: switching (order, locals and floating point kept
 * across switches), many coroutines at once, one that ends early beside
 * others still waiting, a call run on the loop's stack, the semaphore's bound and order, cancellation at
 * SIGINT (every kind of wait unwinds), the stack high-water mark, and an
 * overflow into the guard page: said, and exit CORO_EXIT_OVERFLOW, in a
 * child process. No timings. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "coroutine.h"

static struct coro_sched *s;

static void setup(void) {
    ck_assert_int_eq(coro_sched_new(&s, 0, false), 0);
}

static void teardown(void) {
    ck_assert_uint_eq(coro_alive(s), 0);
    coro_sched_free(s);
}

/* Runs the loop until no coroutine is left, at most max_turns turns. */
static int run_all(int max_turns) {
    int turns = 0;
    while (coro_alive(s) && turns < max_turns) {
        coro_run_ready(s);
        turns++;
    }
    return turns;
}

/* --- switching --------------------------------------------------------- */

static char trace[64];
static size_t ntrace;

struct pinger {
    char name;
    int rounds;
    double sum; /* a floating-point local kept across switches */
};

static void pinger(void *arg) {
    struct pinger *p = arg;
    double x = 0.5;
    long local = p->name * 1000L;
    for (int i = 0; i < p->rounds; i++) {
        trace[ntrace++] = p->name;
        x *= 2;
        ck_assert_int_eq(coro_yield(), 0);
        ck_assert_int_eq(local, p->name * 1000L);
    }
    p->sum = x;
}

START_TEST(switching_interleaves) {
    struct pinger a = {'a', 3, 0}, b = {'b', 3, 0};
    ntrace = 0;
    ck_assert_ptr_null(coro_self());
    ck_assert_int_eq(coro_spawn(s, pinger, &a), 0);
    ck_assert_int_eq(coro_spawn(s, pinger, &b), 0);
    ck_assert_uint_eq(coro_alive(s), 2);
    run_all(10);
    trace[ntrace] = '\0';
    ck_assert_str_eq(trace, "ababab");
    ck_assert(a.sum == 4.0 && b.sum == 4.0);
}
END_TEST

/* --- many, and waking from the loop ------------------------------------ */

#define MANY 10000

static struct coro *waiting[MANY];
static int woke;

static void sleeper(void *arg) {
    size_t i = (size_t)(uintptr_t)arg;
    waiting[i] = coro_self();
    ck_assert_int_eq(coro_suspend(), 0);
    woke++;
}

START_TEST(many_coroutines) {
    woke = 0;
    for (size_t i = 0; i < MANY; i++)
        ck_assert_int_eq(coro_spawn(s, sleeper, (void *)(uintptr_t)i), 0);
    ck_assert(!coro_run_ready(s)); /* all asleep: nothing ready */
    ck_assert_uint_eq(coro_alive(s), MANY);
    /* Half resumed from the loop at once, half woken for the next turn. */
    for (size_t i = 0; i < MANY; i += 2)
        coro_resume(waiting[i]);
    ck_assert_int_eq(woke, MANY / 2);
    for (size_t i = 1; i < MANY; i += 2)
        coro_wake(waiting[i]);
    ck_assert_int_eq(woke, MANY / 2);
    ck_assert(!coro_run_ready(s));
    ck_assert_int_eq(woke, MANY);
}
END_TEST

/* --- one ends early ---------------------------------------------------- */

static int ended_early;

static void quitter(void *arg) {
    (void)arg;
    ended_early++;
}

START_TEST(one_ends_early) {
    woke = ended_early = 0;
    ck_assert_int_eq(coro_spawn(s, sleeper, (void *)0), 0);
    ck_assert_int_eq(coro_spawn(s, quitter, NULL), 0);
    ck_assert_int_eq(coro_spawn(s, sleeper, (void *)1), 0);
    coro_run_ready(s);
    ck_assert_int_eq(ended_early, 1);
    ck_assert_uint_eq(coro_alive(s), 2); /* its stack is gone, the others wait */
    coro_resume(waiting[1]);
    coro_resume(waiting[0]);
    ck_assert_int_eq(woke, 2);
}
END_TEST

/* --- a call on the loop's stack ---------------------------------------- */

static int called_outside;
static char *caller_frame, *callee_frame;
static struct coro *caller;

static void on_loop(void *arg) {
    char here;
    callee_frame = &here;
    if (coro_self() == NULL) /* it runs as the loop */
        called_outside += *(int *)arg;
}

static void calls_out(void *arg) {
    char here;
    caller_frame = &here;
    caller = coro_self();
    int add = 5;
    coro_call_on_loop(on_loop, &add);
    ck_assert_ptr_nonnull(coro_self()); /* and the coroutine goes on */
    ck_assert_int_eq(coro_suspend(), 0);
    coro_call_on_loop(on_loop, arg);
}

START_TEST(call_on_loop_stack) {
    int add = 10;
    called_outside = 0;
    ck_assert_int_eq(coro_spawn(s, calls_out, &add), 0);
    coro_run_ready(s);
    ck_assert_int_eq(called_outside, 5);
    /* Not on the coroutine's stack: farther from the caller's frame than
     * the whole of that stack. */
    size_t apart = (size_t)(callee_frame > caller_frame ? callee_frame - caller_frame
                                                        : caller_frame - callee_frame);
    ck_assert_uint_gt(apart, coro_stack_size(s));
    ck_assert_uint_eq(coro_alive(s), 1);
    coro_wake(caller);
    coro_run_ready(s);
    ck_assert_int_eq(called_outside, 15);
}
END_TEST

/* --- the semaphore ----------------------------------------------------- */

static struct coro_sem sem;
static int holders, holders_peak;
static char order[16];
static size_t norder;

static void holder(void *arg) {
    ck_assert_int_eq(coro_sem_acquire(&sem), 0);
    order[norder++] = (char)(uintptr_t)arg;
    if (++holders > holders_peak)
        holders_peak = holders;
    ck_assert_int_eq(coro_yield(), 0); /* hold it across a turn */
    holders--;
    coro_sem_release(&sem);
}

START_TEST(semaphore_bounds_and_orders) {
    coro_sem_init(&sem, 2);
    holders = holders_peak = 0;
    norder = 0;
    for (char c = 'a'; c <= 'f'; c++)
        ck_assert_int_eq(coro_spawn(s, holder, (void *)(uintptr_t)c), 0);
    run_all(100);
    order[norder] = '\0';
    ck_assert_int_eq(holders_peak, 2);
    ck_assert_str_eq(order, "abcdef");
    ck_assert_uint_eq(sem.count, 2);
}
END_TEST

/* --- cancellation at SIGINT -------------------------------------------- */

static volatile sig_atomic_t interrupted;
static int cancelled_suspend, cancelled_sem, cancelled_yield, cancelled_late;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void waits_forever(void *arg) {
    (void)arg;
    if (coro_suspend() == -ECANCELED)
        cancelled_suspend++;
    /* Every wait after the cancel returns at once. */
    if (coro_suspend() == -ECANCELED && coro_yield() == -ECANCELED)
        cancelled_late++;
}

static void waits_for_sem(void *arg) {
    (void)arg;
    if (coro_sem_acquire(&sem) == -ECANCELED)
        cancelled_sem++;
    else
        coro_suspend(); /* the holder: waits forever */
}

static void yields_forever(void *arg) {
    (void)arg;
    while (coro_yield() == 0)
        ;
    cancelled_yield++;
}

START_TEST(cancel_at_sigint) {
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    interrupted = 0;
    coro_sem_init(&sem, 1);
    cancelled_suspend = cancelled_sem = cancelled_yield = cancelled_late = 0;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(coro_spawn(s, waits_forever, NULL), 0);
    for (int i = 0; i < 4; i++) /* one holds the semaphore, three wait for it */
        ck_assert_int_eq(coro_spawn(s, waits_for_sem, NULL), 0);
    ck_assert_int_eq(coro_spawn(s, yields_forever, NULL), 0);
    /* The loop, as flags_coro's: turns until SIGINT, then cancel and unwind. */
    int turns = 0;
    while (!interrupted) {
        coro_run_ready(s);
        if (++turns == 3)
            raise(SIGINT);
    }
    ck_assert_uint_eq(coro_alive(s), 8);
    coro_cancel_all(s);
    ck_assert_int_le(run_all(10), 2);
    ck_assert_int_eq(cancelled_suspend, 3);
    ck_assert_int_eq(cancelled_late, 3);
    ck_assert_int_eq(cancelled_sem, 3);
    ck_assert_int_eq(cancelled_yield, 1);
    ck_assert(sem.head == NULL && sem.tail == NULL); /* the cancelled left its queue */
}
END_TEST

static void spawned_after(void *arg) {
    (void)arg;
    if (coro_sem_acquire(&sem) == -ECANCELED)
        cancelled_sem++;
}

START_TEST(cancel_before_start) {
    coro_sem_init(&sem, 1);
    cancelled_sem = 0;
    ck_assert_int_eq(coro_spawn(s, spawned_after, NULL), 0);
    coro_cancel_all(s);
    run_all(3);
    ck_assert_int_eq(cancelled_sem, 1);
}
END_TEST

/* --- the stack: high-water mark and overflow ---------------------------- */

static volatile size_t depth_limit;

/* Recursion the compiler cannot flatten: a frame of ~256 bytes per call. */
static size_t dig(size_t n) {
    volatile char frame[256];
    frame[0] = (char)n;
    frame[255] = (char)n;
    if (n >= depth_limit)
        return n;
    return dig(n + 1) + (size_t)frame[0] - (size_t)frame[255];
}

static void digger(void *arg) {
    (void)arg;
    dig(0);
}

START_TEST(stack_peak_measured) {
    struct coro_sched *p;
    ck_assert_int_eq(coro_sched_new(&p, 64 * 1024, true), 0);
    ck_assert_uint_eq(coro_stack_size(p), 64 * 1024);
    depth_limit = 8;
    ck_assert_int_eq(coro_spawn(p, digger, NULL), 0);
    coro_run_ready(p);
    size_t shallow = coro_stack_peak(p);
    depth_limit = 64;
    ck_assert_int_eq(coro_spawn(p, digger, NULL), 0);
    coro_run_ready(p);
    size_t deep = coro_stack_peak(p);
    ck_assert_uint_eq(coro_alive(p), 0);
    coro_sched_free(p);
    ck_assert_uint_gt(shallow, 8 * 256);
    ck_assert_uint_gt(deep, shallow + 56 * 256);
    ck_assert_uint_lt(deep, 64 * 1024);
}
END_TEST

START_TEST(overflow_is_said) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        struct coro_sched *small;
        if (coro_sched_new(&small, 16 * 1024, false) != 0)
            _exit(99);
        depth_limit = SIZE_MAX;
        coro_spawn(small, digger, NULL);
        coro_run_ready(small);
        _exit(98); /* not reached: the overflow ends the process */
    }
    close(fds[1]);
    char msg[512] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof msg - 1 && (n = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == CORO_EXIT_OVERFLOW,
                  "status %#x, stderr: %s", status, msg);
    ck_assert_msg(strstr(msg, "coroutine stack overflow") != NULL, "stderr: %s", msg);
    ck_assert_msg(strchr(msg, '\n') == msg + got - 1, "not one line: %s", msg);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {
        switching_interleaves, many_coroutines,    one_ends_early,      call_on_loop_stack,
        semaphore_bounds_and_orders,
        cancel_at_sigint,      cancel_before_start, stack_peak_measured, overflow_is_said,
    };
    TCase *tc = check_case("coroutine", 60, tests, CHECK_COUNT(tests));
    tcase_add_checked_fixture(tc, setup, teardown);
    return check_run_case("coroutine", tc);
}

/* coro_cost — what a coroutine costs beside a thread and a callback, in one
 * run: one switch (a coroutine through coro/coroutine.h as built; glibc's
 * swapcontext alone; a thread context switch, two threads pinned to one
 * core handing a futex back and forth; a callback dispatch, an indirect
 * call through a table), and making and ending one (a coroutine: its mmap'd
 * stack; a thread: pthread_create and pthread_join). The kinds are measured
 * in rounds, the order rotated each round, so a busy machine weighs on all
 * alike; stdout gets one CSV row per kind and round (round,what,ns), stderr
 * the medians and the ratios. scripts/coro_cost.sh runs it. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "clock.h"
#include "coroutine.h"
#include "parse_num.h"

static unsigned long long iters = 200000; /* switches or dispatches per measure */
static unsigned long long spawns = 2000;  /* coroutines or threads made per measure */
static int cpu = -1;                      /* the core the thread ping-pong runs on */

/* --- a coroutine switch ------------------------------------------------ */

static struct coro *bouncing;

/* Hands control straight back every time it is resumed. */
static void bouncer(void *arg) {
    (void)arg;
    bouncing = coro_self();
    while (coro_suspend() == 0)
        ;
}

/* The loop resumes it, it suspends: two switches per round. */
static double coro_switch_ns(void) {
    struct coro_sched *s;
    if (coro_sched_new(&s, 0, false) < 0 || coro_spawn(s, bouncer, NULL) < 0)
        exit(1);
    coro_run_ready(s); /* runs up to its first suspend */
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < iters; i++)
        coro_resume(bouncing);
    int64_t t1 = clock_now_ns();
    coro_cancel_all(s);
    while (coro_alive(s))
        coro_run_ready(s);
    coro_sched_free(s);
    return (double)(t1 - t0) / (2.0 * (double)iters);
}

/* --- glibc's swapcontext alone ------------------------------------------ */

static ucontext_t uc_loop, uc_co;

static void uc_bouncer(void) {
    for (;;)
        swapcontext(&uc_co, &uc_loop);
}

static double swapcontext_ns(void) {
    static char stack[64 * 1024];
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = sizeof stack;
    uc_co.uc_link = NULL;
    makecontext(&uc_co, uc_bouncer, 0);
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < iters; i++)
        swapcontext(&uc_loop, &uc_co);
    int64_t t1 = clock_now_ns();
    return (double)(t1 - t0) / (2.0 * (double)iters);
}

/* --- a thread context switch --------------------------------------------- */

static _Atomic int turn; /* 1: the partner's turn, 0: the main thread's */

static void futex_wait(_Atomic int *addr, int val) {
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *addr) {
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void pin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *partner(void *arg) {
    (void)arg;
    pin();
    for (unsigned long long i = 0; i < iters; i++) {
        while (atomic_load(&turn) == 0)
            futex_wait(&turn, 0);
        atomic_store(&turn, 0);
        futex_wake(&turn);
    }
    return NULL;
}

/* On one core each hand-over is a context switch: the waiter blocks, the
 * other runs. Two per round, system calls included, as a thread pays them. */
static double thread_switch_ns(void) {
    cpu_set_t before;
    pthread_getaffinity_np(pthread_self(), sizeof before, &before);
    pin();
    atomic_store(&turn, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, partner, NULL) != 0)
        exit(1);
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < iters; i++) {
        atomic_store(&turn, 1);
        futex_wake(&turn);
        while (atomic_load(&turn) == 1)
            futex_wait(&turn, 1);
    }
    int64_t t1 = clock_now_ns();
    pthread_join(th, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof before, &before);
    return (double)(t1 - t0) / (2.0 * (double)iters);
}

/* --- a callback dispatch ------------------------------------------------- */

struct event {
    unsigned long long count;
};

static void on_read(struct event *e) {
    e->count += 1;
}
static void on_write(struct event *e) {
    e->count += 2;
}
static void on_timer(struct event *e) {
    e->count += 3;
}
static void on_done(struct event *e) {
    e->count += 4;
}

/* volatile: every call is loaded and made through the table, as an event
 * loop calls the handler its event names. */
static void (*volatile handlers[4])(struct event *) = {on_read, on_write, on_timer, on_done};

static double callback_ns(void) {
    struct event e = {0};
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < iters; i++)
        handlers[i & 3](&e);
    int64_t t1 = clock_now_ns();
    if (e.count == 0)
        exit(1);
    return (double)(t1 - t0) / (double)iters;
}

/* --- making and ending one ------------------------------------------------ */

static void nothing(void *arg) {
    (void)arg;
}

static double coro_spawn_ns(void) {
    struct coro_sched *s;
    if (coro_sched_new(&s, 0, false) < 0)
        exit(1);
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < spawns; i++) {
        if (coro_spawn(s, nothing, NULL) < 0)
            exit(1);
        coro_run_ready(s);
    }
    int64_t t1 = clock_now_ns();
    coro_sched_free(s);
    return (double)(t1 - t0) / (double)spawns;
}

static void *thread_nothing(void *arg) {
    return arg;
}

static double thread_spawn_ns(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* the thread pool's floor */
    int64_t t0 = clock_now_ns();
    for (unsigned long long i = 0; i < spawns; i++) {
        pthread_t th;
        if (pthread_create(&th, &attr, thread_nothing, NULL) != 0)
            exit(1);
        pthread_join(th, NULL);
    }
    int64_t t1 = clock_now_ns();
    pthread_attr_destroy(&attr);
    return (double)(t1 - t0) / (double)spawns;
}

/* ------------------------------------------------------------------------- */

static const struct kind {
    const char *name;
    double (*measure)(void);
} kinds[] = {
    {"coroutine_switch", coro_switch_ns}, {"swapcontext_switch", swapcontext_ns},
    {"thread_switch", thread_switch_ns},  {"callback_dispatch", callback_ns},
    {"coroutine_spawn", coro_spawn_ns},   {"thread_spawn", thread_spawn_ns},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define USAGE "usage: coro_cost [-n SWITCHES] [-s SPAWNS] [-r ROUNDS] [-c CPU] [-h]\n"

/* A bad command line: one error line and the usage line, exit 2. */
static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "coro_cost: error: %s%s%s\n" USAGE, what, arg ? ", not " : "", arg ? arg : "");
    return 2;
}

static void usage(FILE *f) {
    fprintf(f,
            USAGE "\n"
            "Measures, in ROUNDS rounds with the order rotated each round: one coroutine\n"
            "switch (coro/coroutine.h as built), one glibc swapcontext, one thread context\n"
            "switch (two threads pinned to core CPU handing a futex back and forth), one\n"
            "callback dispatch (an indirect call through a table), and making and ending a\n"
            "coroutine and a thread (64 KiB stack).\n"
            "stdout: CSV round,what,ns (ns per switch, dispatch or spawn); stderr: the\n"
            "medians, and the thread switch over the coroutine switch.\n\n"
            "  -n SWITCHES  switches or dispatches per measurement (default 200000)\n"
            "  -s SPAWNS    coroutines or threads made per measurement (default 2000)\n"
            "  -r ROUNDS    rounds (default 7)\n"
            "  -c CPU       the core for the thread ping-pong (default: the one it starts on)\n"
            "  -h           this help\n"
            "Exit status: 0 done, 1 a measurement could not run, 2 usage.\n");
}

int main(int argc, char **argv) {
    unsigned long long rounds = 7, v;
    int opt;
    opterr = 0; /* usage_error says it */
    while ((opt = getopt(argc, argv, "n:s:r:c:h")) != -1) {
        switch (opt) {
        case 'n':
        case 's':
        case 'r':
        case 'c':
            if (parse_uint(optarg, 1000000000ULL, &v) != 0 || (v == 0 && opt != 'c'))
                return usage_error(opt == 'c' ? "-c needs a core number"
                                              : "-n, -s and -r need a whole number above 0",
                                   optarg);
            if (opt == 'n')
                iters = v;
            else if (opt == 's')
                spawns = v;
            else if (opt == 'r')
                rounds = v;
            else
                cpu = (int)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return usage_error("unknown option (try -h)", NULL);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (cpu < 0)
        cpu = sched_getcpu() < 0 ? 0 : sched_getcpu();
    cpu_set_t allowed;
    if (cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
        !CPU_ISSET(cpu, &allowed))
        return usage_error("-c names a core this process may not run on", NULL);
    double *ns = calloc(NKINDS * rounds, sizeof *ns);
    if (!ns)
        return 1;
    printf("round,what,ns\n");
    for (unsigned long long r = 0; r < rounds; r++)
        for (size_t k = 0; k < NKINDS; k++) {
            size_t i = (k + r) % NKINDS;
            double x = kinds[i].measure();
            ns[i * rounds + r] = x;
            printf("%llu,%s,%.2f\n", r + 1, kinds[i].name, x);
            fflush(stdout);
        }
    double median[NKINDS];
    for (size_t k = 0; k < NKINDS; k++) {
        qsort(ns + k * rounds, rounds, sizeof *ns, cmp_double);
        median[k] = rounds % 2 ? ns[k * rounds + rounds / 2]
                               : (ns[k * rounds + rounds / 2 - 1] + ns[k * rounds + rounds / 2]) / 2;
        fprintf(stderr, "%-20s %10.1f ns (median of %llu)\n", kinds[k].name, median[k], rounds);
    }
    fprintf(stderr, "a thread context switch costs %.1f coroutine switches\n",
            median[2] / median[0]);
    free(ns);
    return 0;
}

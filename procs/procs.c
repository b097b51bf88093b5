/* procs.c — flags_procs: the book's ProcessPoolExecutor.
 *
 * N worker processes, each single-threaded and running one blocking
 * flag_download() at a time, as a ProcessPoolExecutor's workers call the
 * submitted function: so requests in flight = worker processes (docs/
 * DESIGN.md, "flags_procs"). The workers take flag indices from one shared
 * queue (an atomic counter in a MAP_SHARED page) and send each finished
 * record back over one pipe; the parent copies it into the run's records,
 * ticks the progress bar, and writes the report, trace and summary through
 * flagbench_main like every other back end.
 *
 * What a worker's death costs is only its own flag: the page also holds
 * the flag each worker has in hand, so when the parent reaps a worker that
 * was killed (or crashed) before sending it, that flag becomes an error
 * saying so, its hidden temporaries are removed, a replacement is forked,
 * and the others go on. Workers die with the parent (PR_SET_PDEATHSIG), and
 * the parent reaps every one (wait4, whose resource usage it adds to the
 * run's) before it returns. The parent never starts libcurl; each worker
 * does, after the fork, so no library state crosses it. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fetch.h"
#include "flagbench.h"
#include "save.h"
#include "tls_sessions.h"

#define PROG "flags_procs"

/* -m/-j above this act as it: a process per request in flight costs about
 * a megabyte of its own (docs/cores.md), and thousands of them would take
 * the shared machine's memory and process table. */
#define MAX_PROCS 1024

#define IDLE (-1) /* a slot's index when its worker holds no flag */

/* What a worker has in hand, for the parent to name if the worker dies. */
struct slot {
    _Atomic int64_t index;      /* the flag it took, or IDLE */
    _Atomic int64_t started_us; /* when it took it */
    _Atomic long pss_kb;        /* its proportional set size as it ended; 0 if unknown */
};

/* The one MAP_SHARED page (or pages) parent and workers share. */
struct shared {
    atomic_size_t next; /* the queue: the next flag index not yet taken */
    atomic_int stop;    /* the parent's word: take no more flags */
    struct slot slots[];
};

/* One finished flag, worker to parent: under PIPE_BUF, so written whole. */
struct result_msg {
    uint64_t index;
    struct record rec;
};
_Static_assert(sizeof(struct result_msg) <= PIPE_BUF, "a result must be written atomically");

struct worker {
    pid_t pid; /* 0: not running */
};

struct pool {
    struct run *run;
    struct shared *sh;
    size_t sh_size;
    int results[2]; /* the pipe workers write results to */
    struct worker *workers;
    unsigned nworkers; /* the pool's size */
    unsigned alive;    /* forked and not yet reaped */
    unsigned respawns; /* replacements forked so far (at most nworkers) */
    bool *got;         /* per record: its result arrived, or the parent decided it */
    char carry[sizeof(struct result_msg)];
    size_t carry_len; /* the start of a message whose rest is still in the pipe */
    pid_t parent;
    sigset_t run_mask; /* the mask workers run with (the parent's before the pool) */
};

/* ---- the worker ---- */

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* This process's proportional set size (kB): its private pages plus its
 * share of those it shares (libraries, the pages the fork left in common),
 * so the workers' sum is the memory they take together, which the sum of
 * their peak RSS overstates many times (each counts the shared pages
 * whole). 0 if /proc can't say. */
static long pss_kb(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "re");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* A worker process: take flags until the queue is empty or the run is
 * stopped; each one downloaded, saved and sent back. Never returns. */
static _Noreturn void worker_main(struct pool *p, unsigned w) {
    /* If the parent dies, so do we; it may have died before the prctl. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != p->parent)
        _exit(EXIT_SETUP);
    signal(SIGCHLD, SIG_DFL);
    /* SIGINT/SIGTERM (flagbench_main's handler, inherited) interrupt this
     * worker's transfer like any back end's: the flag is abandoned. */
    sigprocmask(SIG_SETMASK, &p->run_mask, NULL);
    close(p->results[0]);

    struct run *run = p->run;
    /* Forked late on a busy machine, a worker may find every flag taken by
     * the workers before it: then it ends without starting libcurl. */
    if (atomic_load(&p->sh->next) >= run->nrecords)
        exit(0);
    run->progress.bar = run->progress.verbose = false; /* the parent shows progress */
    run->pid = (int)getpid();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        exit(EXIT_SETUP);
    /* Its own TLS session cache (the parent made none): a worker's
     * connections, one after another, resume each other's sessions. */
    struct transfer t;
    if ((!run->opt->no_resume && !(run->tls_sessions = tls_sessions_new())) ||
        transfer_init(&t, run) < 0) {
        tls_sessions_free(run->tls_sessions);
        curl_global_cleanup();
        exit(EXIT_SETUP);
    }
    struct slot *slot = &p->sh->slots[w];
    while (!run_interrupted() && !atomic_load(&p->sh->stop)) {
        size_t i = atomic_fetch_add(&p->sh->next, 1);
        if (i >= run->nrecords)
            break;
        atomic_store(&slot->started_us, run_now_us(run));
        atomic_store(&slot->index, (int64_t)i);
        flag_download(&t, i);
        struct result_msg m = {.index = i, .rec = run->records[i]};
        if (write_all(p->results[1], &m, sizeof m) < 0)
            break; /* the parent is gone */
        atomic_store(&slot->index, IDLE);
    }
    atomic_store(&slot->pss_kb, pss_kb()); /* before its buffers are freed */
    transfer_cleanup(&t);
    tls_sessions_free(run->tls_sessions);
    bodies_release_all();
    curl_global_cleanup();
    /* Worker 0 ends through exit(), where the sanitizers check it for leaks
     * (the parent flushed its stdio before forking: nothing is written
     * twice); the others, running the same code, _exit(). Under ASan, some
     * 30 leak checks at once at the end of a run at no delay put 30-320 ms
     * between the last flag and the run's end on the busy machine (2-9 ms
     * without them); elsewhere _exit skips only libraries' exit handlers. */
    if (w == 0)
        exit(0);
    _exit(0);
}

/* Fork worker w. 0, or -errno. */
static int worker_spawn(struct pool *p, unsigned w) {
    atomic_store(&p->sh->slots[w].index, IDLE);
    atomic_store(&p->sh->slots[w].pss_kb, 0);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        worker_main(p, w);
    p->workers[w].pid = pid;
    p->alive++;
    return 0;
}

/* ---- the parent ---- */

/* Record i is decided by the parent: the result of a flag no worker sent. */
static void decide(struct pool *p, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void decide(struct pool *p, size_t i, const char *fmt, ...) {
    struct record *rec = &p->run->records[i];
    rec->outcome = OUTCOME_ERROR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->error, sizeof rec->error, fmt, ap);
    va_end(ap);
    rec->done_us = run_now_us(p->run);
    p->got[i] = true;
    progress_tick(&p->run->progress, rec, rec->done_us);
}

static void take_result(struct pool *p, const struct result_msg *m) {
    struct run *run = p->run;
    if (m->index >= run->nrecords || p->got[m->index])
        return; /* not ours to believe: a worker only sends each flag once */
    struct record *rec = &run->records[m->index];
    int64_t queued = rec->queued_us;
    *rec = m->rec;
    rec->queued_us = queued;
    p->got[m->index] = true;
    progress_tick(&run->progress, rec, run_now_us(run));
}

/* Read every whole result waiting in the pipe. */
static void drain(struct pool *p) {
    char buf[64 * sizeof(struct result_msg)];
    for (;;) {
        memcpy(buf, p->carry, p->carry_len);
        ssize_t k = read(p->results[0], buf + p->carry_len, sizeof buf - p->carry_len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* EAGAIN: all read (the parent holds a write end: no EOF) */
        size_t len = p->carry_len + (size_t)k, off = 0;
        for (; len - off >= sizeof(struct result_msg); off += sizeof(struct result_msg)) {
            struct result_msg m;
            memcpy(&m, buf + off, sizeof m);
            take_result(p, &m);
        }
        p->carry_len = len - off;
        memcpy(p->carry, buf + off, p->carry_len);
    }
}

/* A reaped worker's share of the run's figures: its CPU and context
 * switches (wait4), and its memory as the PSS it reported. */
static void count_worker(struct pool *p, unsigned w, const struct rusage *ru) {
    struct rusage *sum = &p->run->children;
    timeradd(&sum->ru_utime, &ru->ru_utime, &sum->ru_utime);
    timeradd(&sum->ru_stime, &ru->ru_stime, &sum->ru_stime);
    sum->ru_maxrss += atomic_load(&p->sh->slots[w].pss_kb);
    sum->ru_nvcsw += ru->ru_nvcsw;
    sum->ru_nivcsw += ru->ru_nivcsw;
}

/* Why a worker ended, in a flag's error. */
static void death_text(char *out, size_t n, pid_t pid, int status) {
    if (WIFSIGNALED(status))
        snprintf(out, n, "worker process %d killed by SIG%s", (int)pid,
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    else
        snprintf(out, n, "worker process %d exited with status %d", (int)pid, WEXITSTATUS(status));
}

static bool queue_empty(const struct pool *p) {
    return atomic_load(&p->sh->next) >= p->run->nrecords;
}

/* Worker w (pid) ended with status. Its results are all read by now. */
static void worker_ended(struct pool *p, unsigned w, pid_t pid, int status) {
    struct run *run = p->run;
    p->workers[w].pid = 0;
    p->alive--;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    char why[RECORD_ERROR_MAX];
    death_text(why, sizeof why, pid, status);
    /* A save cut short by SIGKILL may leave its hidden temporary. */
    save_remove_temps(run->opt->dest, pid);
    int64_t i = atomic_load(&p->sh->slots[w].index);
    if (i != IDLE && (size_t)i < run->nrecords && !p->got[i]) {
        run->records[i].started_us = atomic_load(&p->sh->slots[w].started_us);
        run->records[i].thread = (int)pid;
        decide(p, (size_t)i, "%s", why);
    } else {
        /* No flag lost, but said: a worker that could not start libcurl,
         * or one the sanitizers failed at its exit, must not pass unseen. */
        fprintf(stderr, PROG ": warning: %s%s\n", why,
                WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP
                    ? " (it could not start libcurl)"
                    : "");
    }
    /* Keep the pool its size while there is work, but a worker that dies at
     * every flag must not be forked forever: at most nworkers replacements. */
    if (!run_interrupted() && !atomic_load(&p->sh->stop) && !queue_empty(p) &&
        p->respawns < p->nworkers) {
        p->respawns++;
        int err = worker_spawn(p, w);
        if (err < 0)
            fprintf(stderr, PROG ": warning: can't fork a replacement worker: %s\n",
                    strerror(-err));
    }
}

/* Reap every worker that has ended. */
static void reap(struct pool *p) {
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, WNOHANG, &ru);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        drain(p); /* what it sent before it ended, before judging its slot */
        for (unsigned w = 0; w < p->nworkers; w++)
            if (p->workers[w].pid == pid) {
                count_worker(p, w, &ru);
                worker_ended(p, w, pid, status);
                break;
            }
    }
}

/* SIGINT/SIGTERM reached the parent (or the terminal's group): no worker
 * takes another flag, and each abandons the one in hand. */
static void stop_workers(struct pool *p) {
    atomic_store(&p->sh->stop, 1);
    for (unsigned w = 0; w < p->nworkers; w++)
        if (p->workers[w].pid > 0)
            kill(p->workers[w].pid, SIGINT);
}

/* SIGINT or SIGTERM waiting while the parent has them blocked. */
static bool stop_pending(void) {
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

static void on_child(int sig) {
    (void)sig; /* only to end ppoll */
}

/* The parent's loop: results as they arrive, workers as they end, until
 * none is left. Signals are blocked but while waiting in ppoll, so none
 * slips between a check and the wait. */
static void supervise(struct pool *p) {
    bool stopping = false;
    while (p->alive > 0) {
        if (run_interrupted() && !stopping) {
            stopping = true;
            stop_workers(p);
        }
        struct pollfd pfd = {.fd = p->results[0], .events = POLLIN};
        if (ppoll(&pfd, 1, NULL, &p->run_mask) > 0)
            drain(p);
        reap(p);
    }
    drain(p);
}

/* The flags no worker sent back: not run after SIGINT, else errors. */
static void settle_unsent(struct pool *p) {
    struct run *run = p->run;
    if (run_interrupted())
        return;
    size_t taken = atomic_load(&p->sh->next);
    for (size_t i = 0; i < run->nrecords; i++)
        if (!p->got[i])
            decide(p, i,
                   i < taken ? "its worker process ended without a result"
                             : "no worker process was left to run it");
}

/* The pool's size: one process per request in flight (see the top). */
static unsigned pool_size(const struct run *run) {
    const struct options *opt = run->opt;
    size_t n = opt->jobs && opt->max_req ? (opt->jobs < opt->max_req ? opt->jobs : opt->max_req)
               : opt->jobs               ? opt->jobs
               : opt->max_req            ? opt->max_req
                                         : run_default_jobs();
    if (n > MAX_PROCS)
        n = MAX_PROCS;
    if (n > run->nrecords)
        n = run->nrecords;
    return n ? (unsigned)n : 1;
}

static void pool_free(struct pool *p) {
    if (p->sh)
        munmap(p->sh, p->sh_size);
    for (int k = 0; k < 2; k++)
        if (p->results[k] >= 0)
            close(p->results[k]);
    free(p->workers);
    free(p->got);
}

static int download_many(struct run *run) {
    run->threads_peak = 1;
    if (run->nrecords == 0)
        return 0;
    unsigned n = pool_size(run);
    run->max_req = n;

    struct pool p = {.run = run, .nworkers = n, .results = {-1, -1}, .parent = getpid()};
    p.sh_size = sizeof *p.sh + (size_t)n * sizeof p.sh->slots[0];
    p.sh = mmap(NULL, p.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p.sh == MAP_FAILED) {
        p.sh = NULL;
        return -errno;
    }
    atomic_init(&p.sh->next, 0);
    atomic_init(&p.sh->stop, 0);
    p.workers = calloc(n, sizeof *p.workers);
    p.got = calloc(run->nrecords, sizeof *p.got);
    int err = 0;
    if (!p.workers || !p.got)
        err = -ENOMEM;
    else if (pipe2(p.results, O_CLOEXEC) < 0)
        err = -errno;
    if (err < 0) {
        pool_free(&p);
        return err;
    }
    /* Only the parent's end waits without blocking. */
    fcntl(p.results[0], F_SETFL, fcntl(p.results[0], F_GETFL) | O_NONBLOCK);

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &p.run_mask);
    struct sigaction sa = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP}, old_chld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &old_chld);
    fflush(NULL); /* nothing buffered for a worker to write again */

    int64_t now = run_now_us(run);
    for (size_t i = 0; i < run->nrecords; i++)
        run->records[i].queued_us = now;
    /* Like ProcessPoolExecutor, a worker is forked only while there is a
     * flag for it: at no delay the first workers may take every flag
     * before the last are forked. Results that arrive meanwhile are taken
     * at once (the progress bar moves while the pool grows). */
    unsigned started = 0;
    for (unsigned w = 0; w < n && !queue_empty(&p) && !stop_pending(); w++) {
        if ((err = worker_spawn(&p, w)) < 0)
            break;
        started++;
        drain(&p);
        reap(&p);
    }
    if (started == 0 && err < 0) {
        fprintf(stderr, PROG ": error: can't fork any of %u worker processes: %s\n", n,
                strerror(-err));
    } else {
        if (started < n && err < 0)
            fprintf(stderr,
                    PROG ": warning: forked %u of %u worker processes (%s); running with %u\n",
                    started, n, strerror(-err), started);
        err = 0;
        supervise(&p);
        settle_unsent(&p);
    }
    run->loops = started;
    run->threads_peak = started + 1; /* each worker is one thread, and the parent */

    sigaction(SIGCHLD, &old_chld, NULL);
    sigprocmask(SIG_SETMASK, &p.run_mask, NULL);
    pool_free(&p);
    return err;
}

static struct backend procs_backend = {
    .name = "procs",
    .download_many = download_many,
    .default_max_req = 0, /* set in main: the CPUs this process may run on */
    .max_max_req = MAX_PROCS,
    .workers_init_curl = true,
};

int main(int argc, char **argv) {
    procs_backend.default_max_req = run_default_jobs();
    return flagbench_main(argc, argv, &procs_backend);
}

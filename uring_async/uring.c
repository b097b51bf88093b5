/* flags_uring — one thread, one io_uring, one libcurl multi handle: the
 * counterpart of the book's flags_asyncio.py.
 *
 * -m N (default 30) bounds the requests in flight, like the book's
 * semaphore: N transfers, each owning one easy handle that moves from flag
 * to flag (its kept-alive connection stays in the multi's pool). A finished
 * image is handed to one of at most SAVES_MAX save contexts, which saves it
 * through the same ring — openat, write, close, renameat as one linked
 * chain on the context's direct descriptor — while its transfer takes the
 * next flag at once: the save takes the transfer's body buffer and gives
 * it back to common/'s shared list when done (body_give_back in fetch.h),
 * so a body holds memory only from its first byte until it is saved. When
 * every save context is busy, a finished
 * transfer waits for one. What a download is lives in common/; this file
 * only decides when things run.
 *
 * Environment variables for benchmarks and tests: FLAGBENCH_URING_STATS=1
 * prints the loop's counters to stderr at the end;
 * FLAGBENCH_URING_MULTISHOT=1 watches sockets with multishot polls instead
 * of one-shot ones (see loop.c for the trade-off); FLAGBENCH_URING_PLAIN_FDS=1
 * saves through ordinary descriptors, the fallback when the kernel refuses a
 * direct-descriptor table. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fetch.h"
#include "loop.h"
#include "save.h"

#define MAX_WAIT_MS    200  /* a signal between the check and the wait costs at most this */
#define DRAIN_MS       2000 /* after an interrupt, how long pending requests may take */
#define START_BATCH    64   /* transfers started per turn of the loop */
#define SAVES_MAX      64   /* saves in flight at most */
#define IOWQ_BOUNDED   2    /* kernel workers for file operations */
#define IOWQ_UNBOUNDED 1    /* and for sockets (unused: sockets are polled) */

struct uring_run;

/* One transfer: an easy handle moving from flag to flag. */
struct job {
    struct transfer t;
    struct uring_run *u;
    bool busy;             /* holds a flag: a request in progress, or waiting for a save */
    bool in_multi;         /* its easy handle is added to the multi handle */
    struct job *next_wait; /* in the queue of transfers waiting for a save context */
};

/* One asynchronous save: openat -> write -> close -> renameat. */
struct save {
    struct uring_run *u;
    struct record *rec; /* the flag being saved; NULL when free */
    struct buffer body; /* the image, taken from its transfer */
    unsigned slot;      /* its direct descriptor's index */
    int fd;             /* the temp file without direct descriptors; -1 */
    int err;            /* the first error of the save */
    unsigned inflight;  /* save requests not completed yet */
    bool opened, closed, renamed, unlinking, write_full;
    size_t written;
    struct loop_op op_open, op_write, op_close, op_rename, op_unlink;
    char *path, *tmp;       /* final and temporary names, allocated once */
    struct save *next_free; /* in the pool of free save contexts */
};

struct done {
    CURL *easy;
    CURLcode rc;
};

struct uring_run {
    struct run *run;
    struct loop *loop;
    CURLM *multi;
    struct job *jobs;
    struct save *saves;
    struct done *done; /* messages read, not handled yet: one per job at most */
    unsigned njobs, busy;
    unsigned nsaves, saving; /* save contexts, and those with a save in flight */
    struct save *free_saves;
    struct job *wait_head, *wait_tail; /* downloaded, waiting for a save context */
    size_t next;                       /* the next record to start */
    size_t path_max;                   /* size of each save's path buffers */
    bool direct;                       /* saves use direct descriptors */
    unsigned long long unique;
};

#define SAVE_OF(op, field) ((struct save *)((char *)(op)-offsetof(struct save, field)))

static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void job_next(struct job *j);
static void save_step(struct save *s);
static void saves_feed(struct uring_run *u);

static int multi_add(struct job *j) {
    CURLMcode mc = curl_multi_add_handle(j->u->multi, j->t.easy);
    if (mc != CURLM_OK) {
        snprintf(j->t.rec->error, sizeof j->t.rec->error, "%s", curl_multi_strerror(mc));
        return -ENOMEM;
    }
    j->in_multi = true;
    return 0;
}

/* The flag is done (classified, handed to a save or not): the transfer
 * takes the next. */
static void job_release(struct job *j) {
    j->busy = false;
    j->u->busy--;
    job_next(j);
}

static void job_next(struct job *j) {
    struct uring_run *u = j->u;
    while (u->next < u->run->nrecords && !run_interrupted()) {
        transfer_begin(&j->t, u->next++);
        /* Near the end, when fewer flags are left than transfers, most
         * connections will never be used again: close them as their flag
         * is done. Left in libcurl's pool, each curl_multi_remove_handle at
         * cleanup walks all of them, quadratic at -m 10000. */
        bool tail = u->run->nrecords - u->next < u->njobs;
        curl_easy_setopt(j->t.easy, CURLOPT_FORBID_REUSE, (long)(tail || u->run->opt->no_reuse));
        j->busy = true;
        u->busy++;
        if (multi_add(j) == 0)
            return;
        j->t.rec->outcome = OUTCOME_ERROR;
        j->t.rec->done_us = run_now_us(u->run);
        transfer_finish(&j->t);
        j->busy = false;
        u->busy--;
    }
}

/* --- the save: openat -> write -> close -> renameat, unlinkat on failure --- */

static void submit_rename(struct save *s, struct io_uring_sqe *sqe);

static void save_fail(struct save *s, int err) {
    if (!s->err)
        s->err = err < 0 ? err : -EIO;
}

static void on_save_cqe(struct save *s) {
    if (--s->inflight == 0)
        save_step(s);
}

static void on_open(struct loop_op *op, int res) {
    struct save *s = SAVE_OF(op, op_open);
    if (res >= 0) {
        s->opened = true;
        if (!s->u->direct)
            s->fd = res;
    } else {
        save_fail(s, res);
    }
    on_save_cqe(s);
}

static void on_write(struct loop_op *op, int res) {
    struct save *s = SAVE_OF(op, op_write);
    if (res > 0)
        s->written += (size_t)res;
    if (res < 0 && res != -ECANCELED)
        save_fail(s, res);
    else if (res == 0 && s->written < s->body.len)
        save_fail(s, -EIO); /* no progress: don't spin */
    else if (res >= 0 && s->written == s->body.len)
        s->write_full = true;
    on_save_cqe(s);
}

static void on_close(struct loop_op *op, int res) {
    struct save *s = SAVE_OF(op, op_close);
    if (res != -ECANCELED) {
        s->closed = true; /* even a failed close releases the descriptor */
        s->fd = -1;
        if (res < 0)
            save_fail(s, res);
    }
    on_save_cqe(s);
}

static void on_rename(struct loop_op *op, int res) {
    struct save *s = SAVE_OF(op, op_rename);
    if (res == 0)
        s->renamed = true;
    else if (res != -ECANCELED)
        save_fail(s, res);
    on_save_cqe(s);
}

static void on_unlink(struct loop_op *op, int res) {
    struct save *s = SAVE_OF(op, op_unlink);
    (void)res; /* nothing more to do if even this fails */
    s->opened = false;
    on_save_cqe(s);
}

static void prep_write(struct save *s, struct io_uring_sqe *sqe) {
    const struct buffer *b = &s->body;
    size_t left = b->len - s->written;
    unsigned n = left > (1u << 30) ? 1u << 30 : (unsigned)left;
    if (s->u->direct) {
        io_uring_prep_write(sqe, (int)s->slot, b->data + s->written, n, s->written);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else {
        io_uring_prep_write(sqe, s->fd, b->data + s->written, n, s->written);
    }
    loop_sqe_set_op(s->u->loop, sqe, &s->op_write);
}

static void prep_close(struct save *s, struct io_uring_sqe *sqe) {
    if (s->u->direct)
        io_uring_prep_close_direct(sqe, s->slot);
    else
        io_uring_prep_close(sqe, s->fd);
    loop_sqe_set_op(s->u->loop, sqe, &s->op_close);
}

/* write (the rest) -> close -> rename, linked: one submission, and a failed
 * or short write cancels what follows it. */
static void submit_tail(struct save *s) {
    struct loop *l = s->u->loop;
    struct io_uring_sqe *sqe = loop_sqe_chain(l, 3);
    prep_write(s, sqe);
    sqe->flags |= IOSQE_IO_LINK;
    sqe = loop_sqe(l);
    prep_close(s, sqe);
    sqe->flags |= IOSQE_IO_LINK;
    submit_rename(s, loop_sqe(l));
    s->inflight = 3;
}

static void submit_rename(struct save *s, struct io_uring_sqe *sqe) {
    io_uring_prep_renameat(sqe, AT_FDCWD, s->tmp, AT_FDCWD, s->path, 0);
    loop_sqe_set_op(s->u->loop, sqe, &s->op_rename);
}

/* The save of s->rec ended with err: the record is done, and s is free
 * again. */
static void save_end(struct save *s, int err) {
    struct uring_run *u = s->u;
    body_give_back(&s->body);
    record_saved(u->run, s->rec, err);
    s->rec = NULL;
    s->next_free = u->free_saves;
    u->free_saves = s;
}

/* Every request of the previous stage has completed (a broken link chain
 * completes its cancelled tail with -ECANCELED): decide the next. */
static void save_step(struct save *s) {
    struct loop *l = s->u->loop;
    struct io_uring_sqe *sqe;
    if (s->unlinking) {
        s->unlinking = false;
    } else if (s->err) {
        if (s->opened && !s->closed) {
            prep_close(s, loop_sqe(l));
            s->inflight = 1;
            return;
        }
        if (s->opened && !s->renamed) {
            /* Created by us and not in place: leave nothing behind. */
            sqe = loop_sqe(l);
            io_uring_prep_unlinkat(sqe, AT_FDCWD, s->tmp, 0);
            loop_sqe_set_op(l, sqe, &s->op_unlink);
            s->unlinking = true;
            s->inflight = 1;
            return;
        }
    } else if (!s->opened) {
        s->err = -ECANCELED; /* cannot happen: an open without error opened */
    } else if (!s->closed && !s->write_full) {
        submit_tail(s); /* after the open (plain descriptors), or after a short write */
        return;
    } else if (!s->closed) {
        sqe = loop_sqe_chain(l, 2);
        prep_close(s, sqe);
        sqe->flags |= IOSQE_IO_LINK;
        submit_rename(s, loop_sqe(l));
        s->inflight = 2;
        return;
    } else if (!s->renamed) {
        submit_rename(s, loop_sqe(l));
        s->inflight = 1;
        return;
    }
    s->u->saving--;
    save_end(s, s->err);
    saves_feed(s->u);
}

/* Hand j's downloaded flag to the free save context s: s takes j's body
 * and gives j its own buffer back, and the save starts. */
static void save_start(struct save *s, struct job *j) {
    struct uring_run *u = s->u;
    struct loop *l = u->loop;
    s->body = j->t.body;
    j->t.body = (struct buffer){0};
    s->rec = j->t.rec;
    int err = save_path(s->path, u->path_max, u->run->opt->dest, s->rec, j->t.country);
    if (!err)
        err = save_temp_path(s->tmp, u->path_max, s->path, u->run->pid, ++u->unique);
    if (err) {
        save_end(s, err);
        return;
    }
    s->err = 0;
    s->written = 0;
    s->opened = s->closed = s->renamed = s->unlinking = s->write_full = false;
    s->fd = -1;
    u->saving++;

    /* O_CLOEXEC: a direct descriptor is in no process table, and the
     * kernel refuses the flag for one. */
    if (u->direct) {
        struct io_uring_sqe *sqe = loop_sqe_chain(l, 4);
        io_uring_prep_openat_direct(sqe, AT_FDCWD, s->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644,
                                    s->slot);
        loop_sqe_set_op(l, sqe, &s->op_open);
        sqe->flags |= IOSQE_IO_LINK;
        submit_tail(s); /* joins the chain: four requests, one submission */
        s->inflight = 4;
    } else {
        struct io_uring_sqe *sqe = loop_sqe(l);
        io_uring_prep_openat(sqe, AT_FDCWD, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        loop_sqe_set_op(l, sqe, &s->op_open);
        s->inflight = 1;
    }
}

/* Give waiting transfers' flags to free save contexts, in the order they
 * finished; each transfer then takes its next flag. */
static void saves_feed(struct uring_run *u) {
    while (u->wait_head && u->free_saves) {
        struct job *j = u->wait_head;
        u->wait_head = j->next_wait;
        if (!u->wait_head)
            u->wait_tail = NULL;
        j->next_wait = NULL;
        struct save *s = u->free_saves;
        u->free_saves = s->next_free;
        s->next_free = NULL;
        save_start(s, j);
        job_release(j);
    }
}

/* j's flag downloaded OK: queue it for a save context. */
static void save_queue(struct job *j) {
    struct uring_run *u = j->u;
    if (u->wait_tail)
        u->wait_tail->next_wait = j;
    else
        u->wait_head = j;
    u->wait_tail = j;
    saves_feed(u);
}

/* --- requests --- */

static void on_done(struct uring_run *u, CURL *easy, CURLcode rc) {
    struct transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    struct job *j = t->user;
    curl_multi_remove_handle(u->multi, easy);
    j->in_multi = false;
    if (transfer_step_done(t, rc)) {
        if (multi_add(j) == 0)
            return;
        t->rec->outcome = OUTCOME_ERROR;
    }
    if (t->rec->outcome == OUTCOME_OK) {
        save_queue(j);
        return;
    }
    transfer_finish(t);
    job_release(j);
}

/* Read every message before handling any: curl_multi_remove_handle scans
 * the unread messages, so handling them as they are read costs O(n^2) when
 * many transfers finish in one wakeup. Handling can queue new messages
 * (a re-added handle that fails at once): read again until none. */
static void drain_messages(struct uring_run *u) {
    for (;;) {
        CURLMsg *msg;
        int left;
        unsigned n = 0;
        while (n < u->njobs && (msg = curl_multi_info_read(u->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                u->done[n++] = (struct done){msg->easy_handle, msg->data.result};
        if (n == 0)
            return;
        for (unsigned i = 0; i < n; i++)
            on_done(u, u->done[i].easy, u->done[i].rc);
    }
}

/* SIGINT: drop every request in flight; saves in progress, and those of
 * flags already downloaded, finish (they are local and short) or clean up
 * after themselves; then wait for the kernel to finish with everything
 * that names our memory. */
static void abandon(struct uring_run *u) {
    for (unsigned i = 0; i < u->njobs; i++) {
        struct job *j = &u->jobs[i];
        if (j->in_multi) {
            curl_multi_remove_handle(u->multi, j->t.easy);
            j->in_multi = false;
            j->busy = false;
            u->busy--;
        }
    }
    int64_t end = run_now_us(u->run) + DRAIN_MS * 1000;
    while ((u->busy || u->saving || loop_pending(u->loop)) && run_now_us(u->run) < end)
        if (loop_run_once(u->loop, 50) < 0)
            break;
}

static void print_stats(const struct uring_run *u) {
    const struct loop_stats *s = loop_get_stats(u->loop);
    double n = u->run->nrecords ? (double)u->run->nrecords : 1;
    fprintf(stderr,
            "uring loop: %llu waits (%.3f per request), %llu enters, %llu CQEs (%.2f per "
            "request), %llu events, %llu polls armed, %llu stale, %llu cancel retries, %llu "
            "timer expiries, %u sockets at most, %s polls, %s saves\n",
            (unsigned long long)s->iterations, (double)s->iterations / n,
            (unsigned long long)s->submits, (unsigned long long)s->cqes, (double)s->cqes / n,
            (unsigned long long)s->events, (unsigned long long)s->polls_armed,
            (unsigned long long)s->stale, (unsigned long long)s->cancel_retries,
            (unsigned long long)s->timeouts, s->sockets_peak,
            env_flag("FLAGBENCH_URING_MULTISHOT") ? "multishot" : "one-shot",
            u->direct ? "direct-descriptor" : "plain-descriptor");
}

static int download_many(struct run *run) {
    struct uring_run u = {.run = run};
    int rc = 0;
    run->threads_peak = 1;
    if (run->nrecords == 0)
        return 0;

    u.njobs = run->max_req;
    u.path_max = strlen(run->opt->dest) + 2 * COUNTRY_NAME_MAX + 96;
    u.nsaves = run->nrecords < SAVES_MAX ? (unsigned)run->nrecords : SAVES_MAX;
    u.jobs = calloc(u.njobs, sizeof *u.jobs);
    u.saves = calloc(u.nsaves, sizeof *u.saves);
    u.done = calloc(u.njobs, sizeof *u.done);
    u.multi = curl_multi_init();
    if (!u.jobs || !u.saves || !u.done || !u.multi) {
        rc = -ENOMEM;
        goto out;
    }
    /* Sockets: one per transfer, plus a few closing or being replaced; and
     * room in the rings for the saves' chains (4 requests each). */
    rc = loop_new(&u.loop, u.njobs + u.njobs / 4 + 16 + u.nsaves,
                  env_flag("FLAGBENCH_URING_MULTISHOT") ? LOOP_MULTISHOT : 0);
    if (rc < 0)
        goto out;
    rc = loop_attach_curl(u.loop, u.multi);
    if (rc < 0)
        goto out;
    /* Keep a connection per transfer alive, and no more. */
    curl_multi_setopt(u.multi, CURLMOPT_MAXCONNECTS, (long)u.njobs);
    curl_multi_setopt(u.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)u.njobs);
    /* One direct descriptor per save context; plain descriptors if refused. */
    u.direct = !env_flag("FLAGBENCH_URING_PLAIN_FDS") &&
               io_uring_register_files_sparse(loop_ring(u.loop), u.nsaves) == 0;
    /* The kernel runs file operations that can block (openat with O_CREAT,
     * renameat, unlinkat) in io-wq workers, iou-wrk-<pid>, threads of this
     * process. Two are as fast as any more (renames in one directory take
     * its lock in turn) and keep the process at one thread of ours plus
     * at most three of the kernel's. */
    unsigned workers[2] = {IOWQ_BOUNDED, IOWQ_UNBOUNDED};
    io_uring_register_iowq_max_workers(loop_ring(u.loop), workers);

    for (unsigned i = u.nsaves; i-- > 0;) {
        struct save *s = &u.saves[i];
        s->u = &u;
        s->slot = i;
        s->fd = -1;
        s->op_open.done = on_open;
        s->op_write.done = on_write;
        s->op_close.done = on_close;
        s->op_rename.done = on_rename;
        s->op_unlink.done = on_unlink;
        s->path = malloc(u.path_max);
        s->tmp = malloc(u.path_max);
        if (!s->path || !s->tmp) {
            rc = -ENOMEM;
            goto out;
        }
        s->next_free = u.free_saves;
        u.free_saves = s;
    }
    for (unsigned i = 0; i < u.njobs; i++) {
        struct job *j = &u.jobs[i];
        j->u = &u;
        if ((rc = transfer_init(&j->t, run)) < 0)
            goto out;
        j->t.user = j;
    }
    /* Transfers start START_BATCH at a time, one batch per turn of the loop:
     * libcurl connects every new handle in one call, and with thousands at
     * once the first requests would wait for the last connect before being
     * sent. Batches let early requests go out while later ones connect. */
    unsigned started = 0;
    while (u.busy || u.saving || started < u.njobs) {
        if (run_interrupted()) {
            abandon(&u);
            break;
        }
        for (unsigned b = 0; b < START_BATCH && started < u.njobs; b++)
            job_next(&u.jobs[started++]);
        rc = loop_run_once(u.loop, started < u.njobs ? 0 : MAX_WAIT_MS);
        if (rc < 0) {
            abandon(&u);
            break;
        }
        drain_messages(&u);
    }

    if (u.loop && env_flag("FLAGBENCH_URING_STATS"))
        print_stats(&u);
out:
    if (u.jobs) {
        for (unsigned i = 0; i < u.njobs; i++) {
            struct job *j = &u.jobs[i];
            if (j->in_multi)
                curl_multi_remove_handle(u.multi, j->t.easy);
            if (j->t.easy)
                transfer_cleanup(&j->t);
        }
    }
    if (u.multi)
        curl_multi_cleanup(u.multi);
    /* After the ring: a save cut short by the drain's deadline names them. */
    loop_free(u.loop);
    for (unsigned i = 0; u.saves && i < u.nsaves; i++) {
        free(u.saves[i].path);
        free(u.saves[i].tmp);
        free(u.saves[i].body.data);
    }
    free(u.jobs);
    free(u.saves);
    free(u.done);
    return rc;
}

static const struct backend uring_backend = {
    .name = "uring",
    .download_many = download_many,
    .default_max_req = 30, /* the -m default */
    .max_max_req = 0,      /* no upper bound */
};

int main(int argc, char **argv) {
    return flagbench_main(argc, argv, &uring_backend);
}

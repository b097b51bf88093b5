/* flags_uring — one thread, one io_uring, one libcurl multi handle: the
 * counterpart of the book's flags_asyncio.py.
 *
 * The transfers, -m and the --metadata request are common/multi.c's, as for
 * every event-loop back end; what is io_uring's is here and in loop.c: the
 * loop (polls for libcurl's sockets) and the saves. A finished image is
 * saved in the loop thread, measured the faster way (save_in_loop); with
 * FLAGBENCH_SAVE=ring it is handed instead to one of at most SAVES_MAX save
 * contexts, which saves it through the same ring — openat, write, close,
 * renameat as one linked chain on the context's direct descriptor — while
 * its transfer takes the next flag at once: the save takes the transfer's
 * body buffer and gives it back to common/'s shared list when done
 * (body_give_back in fetch.h). When every save context is busy, a finished
 * transfer waits for one.
 *
 * Environment variables for benchmarks and tests: FLAGBENCH_SAVE=loop|ring
 * (scripts/save_methods.sh); FLAGBENCH_URING_STATS=1
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

#include "fetch.h"
#include "flagbench.h"
#include "loop.h"
#include "multi.h"
#include "save.h"

#define SAVES_MAX      64  /* saves in flight at most */
#define TEMP_TRIES     100 /* temporary names a save tries, as save_atomic does */
#define IOWQ_BOUNDED   2  /* kernel workers for file operations */
#define IOWQ_UNBOUNDED 1  /* and for sockets (unused: sockets are polled) */

struct uring_run;

/* One asynchronous save: openat -> write -> close -> renameat. */
struct save {
    struct uring_run *u;
    struct record *rec; /* the flag being saved; NULL when free */
    struct buffer body; /* the image, taken from its transfer */
    unsigned slot;      /* its direct descriptor's index */
    int fd;             /* the temp file without direct descriptors; -1 */
    int err;            /* the first error of the save */
    unsigned inflight;  /* save requests not completed yet */
    unsigned tries;     /* temporary names tried: one a dead run left is skipped */
    bool opened, closed, renamed, unlinking, write_full;
    size_t written;
    struct loop_op op_open, op_write, op_close, op_rename, op_unlink;
    char *path, *tmp;       /* final and temporary names, allocated once */
    struct save *next_free; /* in the pool of free save contexts */
};

struct uring_run {
    struct run *run;
    struct loop *loop;
    struct multi_driver multi;
    struct save *saves;
    unsigned nsaves;
    struct save *free_saves;
    size_t path_max; /* size of each save's path buffers */
    bool direct;     /* saves use direct descriptors */
    unsigned long long unique;
};

#define SAVE_OF(op, field) ((struct save *)((char *)(op)-offsetof(struct save, field)))

static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void save_step(struct save *s);
static int save_open(struct save *s);

/* --- the save: openat -> write -> close -> renameat, unlinkat on failure --- */

/* The directory the saves' names are relative to: the run's open --dest,
 * as for blocking saves (save_atomic_at), else the paths are whole. */
static int save_dir(const struct uring_run *u) {
    return u->run->dest_fd > 0 ? u->run->dest_fd : AT_FDCWD;
}

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
    io_uring_prep_renameat(sqe, save_dir(s->u), s->tmp, save_dir(s->u), s->path, 0);
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
    } else if (s->err == -EEXIST && !s->opened && ++s->tries < TEMP_TRIES) {
        /* A temporary by that name exists (left by a killed run whose pid
         * was ours): the next name. */
        int err = save_open(s);
        if (!err)
            return;
        s->err = err;
    } else if (s->err) {
        if (s->opened && !s->closed) {
            prep_close(s, loop_sqe(l));
            s->inflight = 1;
            return;
        }
        if (s->opened && !s->renamed) {
            /* Created by us and not in place: leave nothing behind. */
            sqe = loop_sqe(l);
            io_uring_prep_unlinkat(sqe, save_dir(s->u), s->tmp, 0);
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
    save_end(s, s->err);
    multi_save_done(&s->u->multi);
}

/* Hand t's downloaded flag to the free save context s: s takes t's body
 * and the save starts. False when it ended at once (a path too long). */
static bool save_start(struct save *s, struct transfer *t) {
    struct uring_run *u = s->u;
    s->body = t->body;
    t->body = (struct buffer){0};
    s->rec = t->rec;
    int err = u->run->dest_fd > 0
                  ? save_name(s->path, u->path_max, s->rec, t->country)
                  : save_path(s->path, u->path_max, u->run->opt->dest, s->rec, t->country);
    s->tries = 0;
    if (!err)
        err = save_open(s);
    if (err) {
        save_end(s, err);
        return false;
    }
    return true;
}

/* Start s's save under a fresh temporary name: the open, and with direct
 * descriptors the rest of the chain. 0, or -ENAMETOOLONG (nothing started). */
static int save_open(struct save *s) {
    struct uring_run *u = s->u;
    struct loop *l = u->loop;
    int err = save_temp_path(s->tmp, u->path_max, s->path, u->run->pid, ++u->unique);
    if (err)
        return err;
    s->err = 0;
    s->written = 0;
    s->opened = s->closed = s->renamed = s->unlinking = s->write_full = false;
    s->fd = -1;

    /* O_CLOEXEC: a direct descriptor is in no process table, and the
     * kernel refuses the flag for one. */
    if (u->direct) {
        struct io_uring_sqe *sqe = loop_sqe_chain(l, 4);
        io_uring_prep_openat_direct(sqe, save_dir(u), s->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644,
                                    s->slot);
        loop_sqe_set_op(l, sqe, &s->op_open);
        sqe->flags |= IOSQE_IO_LINK;
        submit_tail(s); /* joins the chain: four requests, one submission */
        s->inflight = 4;
    } else {
        struct io_uring_sqe *sqe = loop_sqe(l);
        io_uring_prep_openat(sqe, save_dir(u), s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                             0644);
        loop_sqe_set_op(l, sqe, &s->op_open);
        s->inflight = 1;
    }
    return 0;
}

/* The multi driver's saver: a free save context takes the flag, or the
 * transfer waits for one. */
static enum multi_save saver_start(void *arg, struct transfer *t) {
    struct uring_run *u = arg;
    struct save *s = u->free_saves;
    if (!s)
        return MULTI_SAVE_FULL;
    u->free_saves = s->next_free;
    s->next_free = NULL;
    return save_start(s, t) ? MULTI_SAVE_STARTED : MULTI_SAVE_DONE;
}

/* The multi driver's reactor: the ring. */
static int reactor_run_once(void *loop, int max_wait_ms) {
    return loop_run_once(loop, max_wait_ms);
}

static unsigned reactor_pending(const void *loop) {
    return loop_pending(loop);
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
            !u->nsaves  ? "loop-thread"
            : u->direct ? "direct-descriptor"
                        : "plain-descriptor");
}

/* Whether flags are saved in the loop thread (the common blocking save:
 * open, write, close, rename) rather than through the ring, and so by io-wq
 * workers. scripts/save_methods.sh measured both, 194 flags at -m 194, 0.1 s
 * delay, on this project's 2-core machine (shared, load 10-20): on tmpfs
 * the ring made a flag wait a median 4.6 ms from response to file and the
 * last one 2.8 ms after the last response, against 0.02 and 0.01 ms in the
 * loop, for 100 against 91 µs of CPU per request (workers woken and
 * switched to), wall the same; on ext4 the two io-wq workers fell behind
 * (median wait 110-122 ms; 1,042-1,076 µs of CPU per request) while the
 * loop saved each flag within a millisecond for 786-896 µs, wall the same
 * (0.30 s). So the loop on every file system; FLAGBENCH_SAVE=ring (or
 * loop) chooses for measurements. 1 = loop, 0 = ring, -EINVAL for another
 * value. */
static int save_in_loop(void) {
    const char *how = getenv("FLAGBENCH_SAVE");
    if (!how || !*how || strcmp(how, "loop") == 0)
        return 1;
    if (strcmp(how, "ring") == 0)
        return 0;
    fprintf(stderr, "flags_uring: error: FLAGBENCH_SAVE is 'loop' or 'ring', not '%s'\n", how);
    return -EINVAL;
}

static int download_many(struct run *run) {
    struct uring_run u = {.run = run};
    int in_loop = save_in_loop();
    if (in_loop < 0)
        return in_loop;
    int rc = multi_init(&u.multi, run);
    if (rc < 0 || run->nrecords == 0)
        goto out;

    unsigned njobs = u.multi.njobs;
    u.path_max = strlen(run->opt->dest) + 2 * COUNTRY_NAME_MAX + 96;
    u.nsaves = in_loop ? 0 : run->nrecords < SAVES_MAX ? (unsigned)run->nrecords : SAVES_MAX;
    u.saves = calloc(u.nsaves ? u.nsaves : 1, sizeof *u.saves);
    if (!u.saves) {
        rc = -ENOMEM;
        goto out;
    }
    /* Sockets: one per transfer, plus a few closing or being replaced; and
     * room in the rings for the saves' chains (4 requests each). */
    rc = loop_new(&u.loop, njobs + njobs / 4 + 16 + u.nsaves,
                  env_flag("FLAGBENCH_URING_MULTISHOT") ? LOOP_MULTISHOT : 0);
    if (rc < 0)
        goto out;
    const struct loop_curl_hooks hooks = {
        .on_event = multi_socket_event,
        .on_timeout = multi_timeout,
        .on_watch_error = multi_watch_failed,
        .arg = &u.multi,
    };
    rc = loop_attach_curl(u.loop, u.multi.multi, &hooks);
    if (rc < 0)
        goto out;
    /* One direct descriptor per save context; plain descriptors if refused. */
    u.direct = u.nsaves && !env_flag("FLAGBENCH_URING_PLAIN_FDS") &&
               io_uring_register_files_sparse(loop_ring(u.loop), u.nsaves) == 0;
    /* The kernel runs file operations that can block (openat with O_CREAT,
     * renameat, unlinkat) in io-wq workers, iou-wrk-<pid>, threads of this
     * process. Two are as fast as any more (renames in one directory take
     * its lock in turn) and keep the process at one thread of ours plus
     * at most three of the kernel's. */
    unsigned workers[2] = {IOWQ_BOUNDED, IOWQ_UNBOUNDED};
    io_uring_register_iowq_max_workers(loop_ring(u.loop), workers);

    /* On plain descriptors each save in flight holds one: as many save
     * contexts are free as the open-file limit leaves beside the transfers'
     * sockets (multi_init fitted those), at least one. */
    unsigned usable = u.nsaves;
    if (!u.direct) {
        size_t held = (size_t)njobs + MULTI_FDS_RESERVED;
        size_t room = run->fd_limit > held ? run->fd_limit - held : 1;
        if (room < usable)
            usable = room ? (unsigned)room : 1;
    }
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
        if (i >= usable)
            continue; /* no descriptor to spare for it */
        s->next_free = u.free_saves;
        u.free_saves = s;
    }
    /* loop.c attached itself to the multi handle above. */
    const struct multi_reactor reactor = {
        .run_once = reactor_run_once,
        .pending = reactor_pending,
        .loop = u.loop,
    };
    const struct multi_saver saver = {.start = saver_start, .arg = &u};
    rc = multi_run(&u.multi, &reactor, in_loop ? NULL : &saver);

    if (env_flag("FLAGBENCH_URING_STATS"))
        print_stats(&u);
out:
    /* Before the ring: libcurl tells the loop of every socket it closes. */
    multi_cleanup(&u.multi);
    /* After the ring: a save cut short by the drain's deadline names them. */
    loop_free(u.loop);
    for (unsigned i = 0; u.saves && i < u.nsaves; i++) {
        free(u.saves[i].path);
        free(u.saves[i].tmp);
        free(u.saves[i].body.data);
    }
    free(u.saves);
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

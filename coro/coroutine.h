/* coroutine.h — stackful coroutines on one thread: what lets flags_coro's
 * download_one read top to bottom, like the book's flags_asyncio.py, with a
 * wait where the asyncio version has `await`.
 *
 * A coroutine is a function running on a small stack of its own (mmap'd,
 * with a guard page under it). It runs until it waits (coro_suspend,
 * coro_yield, coro_sem_acquire), and then the code that resumed it goes on:
 * the scheduler side, which is whatever runs on the thread's own stack (an
 * event loop). Nothing runs in parallel and nothing is preempted, so the
 * coroutines share memory without locks.
 *
 *   - coro_run_ready() runs, once each, the coroutines that are ready (new,
 *     woken, or yielded): call it once per turn of the loop;
 *   - coro_resume(c) runs one waiting coroutine now, from the loop (when the
 *     loop learns that what c waits for has happened);
 *   - coro_cancel_all() makes every wait, now and later, return -ECANCELED:
 *     SIGINT, the coroutines then unwind by returning.
 *
 * The switch is selected at build time (CORO_SWITCH_ASM, the default on
 * x86-64: seven callee-saved registers and the stack pointer; otherwise
 * glibc's swapcontext, which also makes an rt_sigprocmask system call per
 * switch). AddressSanitizer is told of every switch. A coroutine that runs
 * off the bottom of its stack hits the guard page: the process says
 * "coroutine stack overflow" on stderr and exits with CORO_EXIT_OVERFLOW,
 * rather than writing over whatever lies below.
 *
 * One thread: every function here runs on the thread that made the
 * scheduler. */
#ifndef FLAGBENCH_COROUTINE_H
#define FLAGBENCH_COROUTINE_H

#include <stdbool.h>
#include <stddef.h>

#define CORO_EXIT_OVERFLOW 70 /* EX_SOFTWARE: the process's exit status after an overflow */

struct coro;
struct coro_sched;

typedef void coro_fn(void *arg);

/* A scheduler whose coroutines get stacks of stack_size bytes (0: the
 * default, CORO_STACK_DEFAULT; rounded up to pages), plus a guard page.
 * paint: fill each new stack with a pattern so that coro_stack_peak() can
 * tell the deepest any coroutine went (it touches every page: for
 * measuring, not for runs whose memory is measured). 0, or -errno. */
int coro_sched_new(struct coro_sched **out, size_t stack_size, bool paint);
/* Every coroutine must have ended. */
void coro_sched_free(struct coro_sched *s);

/* A new coroutine running fn(arg), ready: it starts at the next
 * coro_run_ready(). 0, or -ENOMEM. May be called from a coroutine. */
int coro_spawn(struct coro_sched *s, coro_fn *fn, void *arg);

/* From the loop: run each coroutine that is ready now until it waits or
 * ends. Coroutines made ready meanwhile (woken, yielded) run at the next
 * call. Returns true when some are ready for it. */
bool coro_run_ready(struct coro_sched *s);

/* From the loop: wake c, which waits in coro_suspend, and run it now until
 * it waits again or ends. */
void coro_resume(struct coro *c);

/* Coroutines that have not ended. */
size_t coro_alive(const struct coro_sched *s);

/* The coroutine running, or NULL on the loop's side. */
struct coro *coro_self(void);

/* From a coroutine: wait until coro_wake(self) or coro_resume(self). 0, or
 * -ECANCELED once coro_cancel_all has been called (at once, without
 * waiting, if it was called before). */
int coro_suspend(void);

/* From a coroutine: let the others and the loop run; this one is ready
 * again at the next coro_run_ready. 0, or -ECANCELED. */
int coro_yield(void);

/* From a coroutine: run fn(arg) on the loop's stack and come back, for a
 * deep call that never waits (a blocking save: path buffers, libc), so a
 * coroutine's stack stays at the page or so its own code touches — its
 * memory while it waits. fn runs as the loop: it must not wait or resume
 * a coroutine. */
void coro_call_on_loop(coro_fn *fn, void *arg);

/* c, waiting in coro_suspend, is ready: it runs at the next coro_run_ready. */
void coro_wake(struct coro *c);

/* Every coroutine's waits return -ECANCELED from now on; those waiting are
 * made ready, to unwind at the next coro_run_ready. */
void coro_cancel_all(struct coro_sched *s);

/* The stack size in use, and (painted stacks only, else 0) the most bytes
 * of it any ended coroutine had touched. */
size_t coro_stack_size(const struct coro_sched *s);
size_t coro_stack_peak(const struct coro_sched *s);

/* A counting semaphore, asyncio.Semaphore's shape: at most `count`
 * holders; acquirers beyond them wait in the order they came. */
struct coro_sem {
    unsigned count;
    struct coro *head, *tail; /* waiting, first in first out */
};

void coro_sem_init(struct coro_sem *sem, unsigned count);
/* From a coroutine: 0 when it holds the semaphore, or -ECANCELED (it does
 * not hold it). */
int coro_sem_acquire(struct coro_sem *sem);
/* The longest waiter (made ready) holds it next. */
void coro_sem_release(struct coro_sem *sem);

#endif

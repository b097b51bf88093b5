/* coroutine.c — stackful coroutines on one thread (see coroutine.h). */
#include "coroutine.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(CORO_SWITCH_ASM) && !defined(CORO_SWITCH_UCONTEXT)
#if defined(__x86_64__)
#define CORO_SWITCH_ASM 1
#else
#define CORO_SWITCH_UCONTEXT 1
#endif
#endif
#if defined(CORO_SWITCH_ASM) && !defined(__x86_64__)
#error "CORO_SWITCH_ASM is written for x86-64 only: build with CORO_SWITCH_UCONTEXT"
#endif
#ifdef CORO_SWITCH_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
/* AddressSanitizer's frames are several times larger (red zones). */
#define CORO_STACK_DEFAULT (128 * 1024)
#else
/* flags_coro's coroutines touch 208 bytes of their stacks: libcurl and the
 * save run on the loop's (FLAGBENCH_CORO_STACK_STATS, docs/coroutines.md).
 * 16 KiB leaves room for code that calls deeper by mistake to show in the
 * measurement before it overflows. Only the pages touched cost memory. */
#define CORO_STACK_DEFAULT (16 * 1024)
#endif

#define PAINT 0xa5 /* what an untouched byte of a painted stack holds */

enum coro_state { CORO_READY, CORO_RUNNING, CORO_WAITING, CORO_CALLING, CORO_DONE };

/* A coroutine lives at the top of its own stack mapping: the page it
 * touches first holds both, and there is nothing else to allocate. */
struct coro {
    struct coro_sched *s;
    coro_fn *fn;
    void *arg;
    enum coro_state state;
    bool cancel_woken;                  /* made ready by coro_cancel_all, not by its event */
    bool sem_granted;                   /* coro_sem_release handed it the semaphore */
    coro_fn *call;                      /* CORO_CALLING: what the loop runs for it */
    void *call_arg;
    struct coro *next_ready;            /* in the scheduler's ready queue */
    struct coro *next_wait, *prev_wait; /* in a semaphore's queue */
    struct coro *next_all, *prev_all;   /* every coroutine alive (for coro_cancel_all) */
    char *map; /* its slot of a chunk: guard page, stack, this struct */
    char *stack_lo, *stack_hi; /* the usable stack, growing down from stack_hi */
#ifdef CORO_SWITCH_ASM
    void *sp; /* saved by coro_switch while it is not running */
#else
    ucontext_t uc;
#endif
#ifdef CORO_ASAN
    void *asan_fake;
#endif
};

/* Stacks are mapped a chunk at a time and kept for reuse until the
 * scheduler goes: an mmap and a munmap per coroutine cost flags_coro 10% of
 * its system calls' time at -m 2000 (strace -c), for memory that is
 * needed again at the next spawn anyway. */
#define CHUNK_SLOTS 64

struct chunk {
    struct chunk *next;
    char *map;
    size_t len;
};

struct coro_sched {
    size_t stack_size, page;
    size_t slot; /* guard page, stack, the struct's page */
    struct chunk *chunks;
    char *fresh, *fresh_end; /* the newest chunk's slots not used yet */
    struct coro *free;       /* ended coroutines' slots, through next_ready */
    bool paint;
    size_t peak;
    size_t alive;
    bool cancelled;
    struct coro *ready_head, *ready_tail;
    struct coro *all;
#ifdef CORO_SWITCH_ASM
    void *loop_sp;
#else
    ucontext_t loop_uc;
#endif
#ifdef CORO_ASAN
    void *loop_fake;
    const void *loop_bottom;
    size_t loop_size;
#endif
};

/* One thread runs the coroutines (the overflow handler reads it too). */
static _Thread_local struct coro *current;

/* --- the switch ------------------------------------------------------ */

#ifdef CORO_SWITCH_ASM
/* void coro_switch(void **save_sp, void *load_sp): push what the System V
 * ABI says a callee keeps (rbp, rbx, r12-r15, MXCSR and the x87 control
 * word), save the stack pointer, load the other, pop the same from it and
 * return on its stack. What a caller keeps the compiler has already saved:
 * this is an ordinary call to it. */
void coro_switch(void **save_sp, void *load_sp);
__asm__(".text\n"
        ".globl coro_switch\n"
        ".type coro_switch,@function\n"
        "coro_switch:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size coro_switch,.-coro_switch\n");
#endif

static void coro_main(void);

/* The first switch to c lands in coro_main. */
static void context_init(struct coro *c) {
#ifdef CORO_SWITCH_ASM
    /* What coro_switch pops, then coro_main's address for its ret, then a
     * null return address, as if coro_main had been called (the stack
     * pointer 8 past a multiple of 16 at its entry, as the ABI says). */
    uint64_t *sp = (uint64_t *)(c->stack_hi - 72);
    memset(sp, 0, 72);
    sp[0] = 0x1f80 | (uint64_t)0x037f << 32; /* MXCSR and x87 control word at their defaults */
    sp[7] = (uint64_t)(uintptr_t)coro_main;
    c->sp = sp;
#else
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = c->stack_lo;
    c->uc.uc_stack.ss_size = (size_t)(c->stack_hi - c->stack_lo);
    c->uc.uc_link = NULL;
    makecontext(&c->uc, coro_main, 0);
#endif
}

/* From the loop into c, until c waits or ends. */
static void switch_in(struct coro_sched *s, struct coro *c) {
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&s->loop_fake, c->stack_lo, (size_t)(c->stack_hi - c->stack_lo));
#endif
#ifdef CORO_SWITCH_ASM
    coro_switch(&s->loop_sp, c->sp);
#else
    swapcontext(&s->loop_uc, &c->uc);
#endif
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(s->loop_fake, NULL, NULL);
#endif
}

/* From c back to the loop; ending: c never runs again. */
static void switch_out(struct coro *c, bool ending) {
    struct coro_sched *s = c->s;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(ending ? NULL : &c->asan_fake, s->loop_bottom, s->loop_size);
#else
    (void)ending;
#endif
#ifdef CORO_SWITCH_ASM
    coro_switch(&c->sp, s->loop_sp);
#else
    swapcontext(&c->uc, &s->loop_uc);
#endif
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(c->asan_fake, NULL, NULL);
#endif
}

static void coro_main(void) {
    struct coro *c = current;
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->s->loop_bottom, &c->s->loop_size);
#endif
    c->fn(c->arg);
    c->state = CORO_DONE;
    switch_out(c, true);
    abort(); /* an ended coroutine is never switched to */
}

/* --- stacks and the overflow check ------------------------------------ */

static char overflow_msg[256];
static size_t overflow_len;
static struct sigaction segv_before;
static bool segv_installed;

/* SIGSEGV, on the alternate stack: a fault in the running coroutine's
 * guard page is an overflow, said and ended here; any other is not ours,
 * and repeats under the handler that was there before. */
static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig, (void)ctx;
    struct coro *c = current;
    const char *a = si->si_addr;
    if (c && a >= c->map && a < c->stack_lo) {
        ssize_t w = write(STDERR_FILENO, overflow_msg, overflow_len);
        (void)w;
        _exit(CORO_EXIT_OVERFLOW);
    }
    sigaction(SIGSEGV, &segv_before, NULL);
}

static int overflow_check_install(size_t stack_size) {
    snprintf(overflow_msg, sizeof overflow_msg,
             "%s: coroutine stack overflow: a coroutine went past its %zu-byte stack into the "
             "guard page\n",
             program_invocation_short_name, stack_size);
    overflow_len = strlen(overflow_msg);
    if (segv_installed)
        return 0;
    /* The handler cannot run on the stack that overflowed. Keep an
     * alternate stack already there (AddressSanitizer makes one). */
    stack_t ss;
    if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
        static char altstack[64 * 1024];
        ss = (stack_t){.ss_sp = altstack, .ss_size = sizeof altstack};
        if (sigaltstack(&ss, NULL) < 0)
            return -errno;
    }
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &segv_before) < 0)
        return -errno;
    segv_installed = true;
    return 0;
}

/* A new chunk of slots, handed out from its start. False when the memory
 * or the maps ran out. */
static bool chunk_add(struct coro_sched *s) {
    struct chunk *ch = malloc(sizeof *ch);
    if (!ch)
        return false;
    ch->len = s->slot * CHUNK_SLOTS;
    ch->map = mmap(NULL, ch->len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (ch->map == MAP_FAILED) {
        free(ch);
        return false;
    }
    ch->next = s->chunks;
    s->chunks = ch;
    s->fresh = ch->map;
    s->fresh_end = ch->map + ch->len;
    return true;
}

/* A slot: an ended coroutine's, or a fresh one, its first page made the
 * guard now (not when the chunk is mapped: a run's first coroutines would
 * wait for 64 mprotects and page faults). */
static struct coro *coro_alloc(struct coro_sched *s) {
    struct coro *c = s->free;
    if (c) {
        s->free = c->next_ready;
    } else {
        if (s->fresh == s->fresh_end && !chunk_add(s))
            return NULL;
        if (mprotect(s->fresh, s->page, PROT_NONE) < 0)
            return NULL;
        char *slot = s->fresh;
        s->fresh += s->slot;
        c = (struct coro *)((uintptr_t)(slot + s->slot - sizeof(struct coro)) & ~(uintptr_t)63);
        c->map = slot;
    }
    char *slot = c->map;
    *c = (struct coro){.s = s, .map = slot, .stack_lo = slot + s->page,
                       .stack_hi = (char *)((uintptr_t)c & ~(uintptr_t)15)};
    if (s->paint)
        memset(c->stack_lo, PAINT, (size_t)(c->stack_hi - c->stack_lo));
    return c;
}

static void coro_free(struct coro *c) {
    struct coro_sched *s = c->s;
    if (s->paint) {
        const char *p = c->stack_lo;
        while (p < c->stack_hi && (unsigned char)*p == PAINT)
            p++;
        size_t used = (size_t)(c->stack_hi - p);
        if (used > s->peak)
            s->peak = used;
    }
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        s->all = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    s->alive--;
    c->next_ready = s->free;
    s->free = c;
}

/* --- the scheduler ---------------------------------------------------- */

int coro_sched_new(struct coro_sched **out, size_t stack_size, bool paint) {
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    if (stack_size == 0)
        stack_size = CORO_STACK_DEFAULT;
    stack_size = (stack_size + (size_t)page - 1) / (size_t)page * (size_t)page;
    struct coro_sched *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->stack_size = stack_size;
    s->page = (size_t)page;
    s->slot = s->page + stack_size + s->page;
    s->paint = paint;
    int err = overflow_check_install(stack_size);
    if (err) {
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

void coro_sched_free(struct coro_sched *s) {
    while (s->chunks) {
        struct chunk *ch = s->chunks;
        s->chunks = ch->next;
        munmap(ch->map, ch->len);
        free(ch);
    }
    free(s);
}

int coro_spawn(struct coro_sched *s, coro_fn *fn, void *arg) {
    struct coro *c = coro_alloc(s);
    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->arg = arg;
    context_init(c);
    c->next_all = s->all;
    if (s->all)
        s->all->prev_all = c;
    s->all = c;
    s->alive++;
    c->state = CORO_WAITING;
    coro_wake(c);
    return 0;
}

static void run(struct coro *c) {
    struct coro_sched *s = c->s;
    for (;;) {
        c->state = CORO_RUNNING;
        current = c;
        switch_in(s, c);
        current = NULL;
        if (c->state != CORO_CALLING)
            break;
        c->call(c->call_arg); /* on this stack, the loop's (coro_call_on_loop) */
    }
    if (c->state == CORO_DONE)
        coro_free(c);
}

bool coro_run_ready(struct coro_sched *s) {
    struct coro *c = s->ready_head;
    s->ready_head = s->ready_tail = NULL;
    while (c) {
        struct coro *next = c->next_ready;
        c->next_ready = NULL;
        run(c);
        c = next;
    }
    return s->ready_head != NULL;
}

void coro_resume(struct coro *c) {
    if (current || c->state != CORO_WAITING)
        abort(); /* only the loop resumes, and only a waiting coroutine */
    run(c);
}

size_t coro_alive(const struct coro_sched *s) {
    return s->alive;
}

struct coro *coro_self(void) {
    return current;
}

void coro_wake(struct coro *c) {
    if (c->state != CORO_WAITING)
        return;
    struct coro_sched *s = c->s;
    c->state = CORO_READY;
    if (s->ready_tail)
        s->ready_tail->next_ready = c;
    else
        s->ready_head = c;
    s->ready_tail = c;
}

int coro_suspend(void) {
    struct coro *c = current;
    if (!c)
        abort(); /* the loop cannot wait: it is what resumes the waiters */
    if (c->s->cancelled)
        return -ECANCELED;
    c->state = CORO_WAITING;
    switch_out(c, false);
    return c->cancel_woken ? -ECANCELED : 0;
}

int coro_yield(void) {
    struct coro *c = current;
    if (!c)
        abort();
    if (c->s->cancelled)
        return -ECANCELED;
    c->state = CORO_WAITING;
    coro_wake(c);
    switch_out(c, false);
    return c->s->cancelled ? -ECANCELED : 0;
}

void coro_call_on_loop(coro_fn *fn, void *arg) {
    struct coro *c = current;
    if (!c)
        abort();
    c->call = fn;
    c->call_arg = arg;
    c->state = CORO_CALLING;
    switch_out(c, false);
}

void coro_cancel_all(struct coro_sched *s) {
    s->cancelled = true;
    for (struct coro *c = s->all; c; c = c->next_all)
        if (c->state == CORO_WAITING) {
            c->cancel_woken = true;
            coro_wake(c);
        }
}

size_t coro_stack_size(const struct coro_sched *s) {
    return s->stack_size; /* at least: the struct's page adds what it leaves */
}

size_t coro_stack_peak(const struct coro_sched *s) {
    return s->peak;
}

/* --- the semaphore ---------------------------------------------------- */

void coro_sem_init(struct coro_sem *sem, unsigned count) {
    *sem = (struct coro_sem){.count = count};
}

static void sem_unlink(struct coro_sem *sem, struct coro *c) {
    if (c->prev_wait)
        c->prev_wait->next_wait = c->next_wait;
    else
        sem->head = c->next_wait;
    if (c->next_wait)
        c->next_wait->prev_wait = c->prev_wait;
    else
        sem->tail = c->prev_wait;
    c->next_wait = c->prev_wait = NULL;
}

int coro_sem_acquire(struct coro_sem *sem) {
    struct coro *c = current;
    if (!c)
        abort();
    if (c->s->cancelled)
        return -ECANCELED;
    if (sem->count > 0 && !sem->head) {
        sem->count--;
        return 0;
    }
    c->sem_granted = false;
    c->prev_wait = sem->tail;
    c->next_wait = NULL;
    if (sem->tail)
        sem->tail->next_wait = c;
    else
        sem->head = c;
    sem->tail = c;
    coro_suspend();
    if (c->sem_granted)
        return 0; /* even if cancelled since: it holds it, and releases it */
    sem_unlink(sem, c);
    return -ECANCELED;
}

void coro_sem_release(struct coro_sem *sem) {
    struct coro *c = sem->head;
    if (!c) {
        sem->count++;
        return;
    }
    sem_unlink(sem, c);
    c->sem_granted = true;
    coro_wake(c);
}

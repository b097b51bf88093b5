/* fd_limit.h — room for many descriptors: the open-file limit raised, and
 * the descriptor table grown before threads share it. Header-only so that
 * tools/ (which links nothing of common/) uses the same two steps. */
#ifndef FLAGBENCH_FD_LIMIT_H
#define FLAGBENCH_FD_LIMIT_H

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

/* Raise the soft open-file limit to the hard one, or to wanted past the
 * hard one where that is allowed. Returns the limit now in force. */
static inline size_t raise_fd_limit(size_t wanted) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_max != RLIM_INFINITY && wanted > rl.rlim_max) {
        /* Past the hard limit only with CAP_SYS_RESOURCE (root, usually). */
        struct rlimit more = {wanted, wanted};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return wanted;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}

/* Grow the descriptor table to `fds` slots while only this thread runs, by
 * duplicating a descriptor to slot fds - 1 and closing it. Once threads
 * share the table the kernel waits an RCU grace period each time it grows
 * it (64, 128, 256 ... slots), and every thread opening a socket meanwhile
 * waits too: at 194 workers that was about half the time the thread pool
 * spent over its one-request floor. Only a speed-up, so failures are
 * ignored. */
static inline void presize_fd_table(size_t fds) {
    if (fds < 2 || fds > INT_MAX)
        return;
    int src = STDERR_FILENO, opened = -1;
    if (fcntl(src, F_GETFD) < 0) /* stderr closed: any descriptor will do */
        src = opened = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return;
    int high = fcntl(src, F_DUPFD_CLOEXEC, (int)fds - 1);
    if (high >= 0)
        close(high);
    if (opened >= 0)
        close(opened);
}

#endif

/* listen.c — what flagserver needs from the system before it serves. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int listen_socket(const char *bind_addr, unsigned port, unsigned *bound) {
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind_addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, bind_addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof *in6;
    } else {
        return -EINVAL;
    }
    int err = 0, one = 1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Accepted sockets inherit it: responses leave without Nagle's wait. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    *bound = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    return fd;
}

int write_atomically(const char *path, int (*fill)(FILE *f, const void *arg), const void *arg) {
    char tmp[4096];
    int err = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    int filled = fill(f, arg);
    if (fclose(f) != 0 || filled < 0 || rename(tmp, path) != 0) {
        err = filled < 0 ? -EIO : -errno;
        unlink(tmp);
    }
    return err;
}

static int fill_port(FILE *f, const void *arg) {
    return fprintf(f, "%u\n", *(const unsigned *)arg);
}

int write_port_file(const char *path, unsigned port) {
    return write_atomically(path, fill_port, &port);
}

/* Raise the soft descriptor limit to the hard one; the connection cap
 * follows what we got. */
unsigned fit_max_conns(unsigned want, int verbosity) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t room = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 16;
    if (rl.rlim_cur != RLIM_INFINITY && want > room) {
        if (verbosity >= 1)
            fprintf(stderr, "flagserver: descriptor limit %llu: at most %llu connections\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)room);
        return (unsigned)room;
    }
    return want;
}

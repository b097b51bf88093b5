/* save.c — naming and atomically saving flags. */
#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"

int dest_prepare(const char *dest) {
    char path[4096];
    size_t len = strlen(dest);
    if (len == 0 || len >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dest, len + 1);
    /* mkdir -p: create each missing component in turn. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -errno;
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(dest, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (access(dest, W_OK | X_OK) != 0)
        return -errno;
    return 0;
}

int save_name(char *out, size_t n, const struct record *rec, const char *country) {
    char name[128];
    if (country && *country) {
        snprintf(name, sizeof name, "%s", country);
    } else {
        name[0] = (char)(rec->code[0] | 0x20); /* lower case: BR -> br.gif */
        name[1] = (char)(rec->code[1] | 0x20);
        name[2] = '\0';
    }
    int w = rec->repeat ? snprintf(out, n, "%s-%u.gif", name, rec->repeat)
                        : snprintf(out, n, "%s.gif", name);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int save_path(char *out, size_t n, const char *dest, const struct record *rec,
              const char *country) {
    char name[160];
    int err = save_name(name, sizeof name, rec, country);
    if (err)
        return err;
    size_t len = strlen(dest);
    const char *sep = len && dest[len - 1] == '/' ? "" : "/";
    int w = snprintf(out, n, "%s%s%s", dest, sep, name);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int save_temp_path(char *out, size_t n, const char *final, int pid, unsigned long long unique) {
    const char *slash = strrchr(final, '/');
    int dirlen = slash ? (int)(slash - final + 1) : 0;
    int w = snprintf(out, n, "%.*s.%s.%d-%llu.tmp", dirlen, final, final + dirlen, pid, unique);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* save_atomic's temporary names: the process id, read once (glibc makes
 * getpid a system call), and a counter the threads share. */
static atomic_int temp_pid;
static atomic_ullong temp_seq;

int save_atomic(const char *path, const void *data, size_t len) {
    return save_atomic_at(AT_FDCWD, path, data, len);
}

int save_atomic_at(int dirfd, const char *path, const void *data, size_t len) {
    char tmp[4200];
    int pid = atomic_load_explicit(&temp_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int)getpid();
        atomic_store_explicit(&temp_pid, pid, memory_order_relaxed);
    }
    /* Created with O_EXCL and the mode a flag has: mkstemp made 0600 and
     * needed an fchmod, one system call in five of a save. A name a dead
     * process with the same id left behind is skipped. */
    int fd = -1;
    for (int tries = 0; fd < 0; tries++) {
        unsigned long long seq = atomic_fetch_add_explicit(&temp_seq, 1, memory_order_relaxed);
        int err = save_temp_path(tmp, sizeof tmp, path, pid, seq);
        if (err)
            return err;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != EEXIST || tries == 100))
            return -errno;
    }
    int rc = 0;
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = k < 0 ? -errno : -EIO;
            break;
        }
        p += k;
        len -= (size_t)k;
    }
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dirfd, tmp, dirfd, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlinkat(dirfd, tmp, 0);
    return rc;
}

static bool name_byte_ok(unsigned char c) {
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("-_.,'()", c) != NULL;
}

size_t sanitize_name(char *out, size_t n, const char *in, size_t len) {
    size_t k = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < len && k + 1 < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\0')
            break;
        if (c == '.' && k == 0)
            continue; /* no hidden files, no "." or ".." */
        out[k++] = name_byte_ok(c) ? (char)c : '_';
    }
    /* Never end inside a UTF-8 sequence: drop a cut-off lead byte and its
     * continuation bytes. */
    size_t end = k;
    while (end > 0 && ((unsigned char)out[end - 1] & 0xC0) == 0x80)
        end--;
    if (end > 0 && (unsigned char)out[end - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)out[end - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (k - (end - 1) < need)
            k = end - 1;
    }
    out[k] = '\0';
    return k;
}

/* save.c — naming and atomically saving flags. */
#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

/* A fresh temporary name beside path. 0, or -ENAMETOOLONG. */
static int temp_name(char *out, size_t n, const char *path) {
    int pid = atomic_load_explicit(&temp_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int)getpid();
        atomic_store_explicit(&temp_pid, pid, memory_order_relaxed);
    }
    unsigned long long seq = atomic_fetch_add_explicit(&temp_seq, 1, memory_order_relaxed);
    return save_temp_path(out, n, path, pid, seq);
}

static int write_all(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* The directory part of path ("." for a bare name). 0, or -ENAMETOOLONG. */
static int dir_of(char *out, size_t size, const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + (slash == path) : 1;
    if (n >= size)
        return -ENAMETOOLONG;
    memcpy(out, slash ? path : ".", n);
    out[n] = '\0';
    return 0;
}

/* Whether linkat(AT_EMPTY_PATH) names a file this process made: since
 * Linux 6.10, and before that with CAP_DAC_READ_SEARCH only. Cleared at its
 * first refusal; the link then goes through /proc/self/fd, 2 µs more a file
 * on ext4 in the system calls alone (31 against 29); end to end, within
 * the noise (4% less CPU, p = 0.27, 10 alternating runs). */
static atomic_bool empty_path_ok = true;

/* Link the file open as fd at name under dirfd. 0, or -1 with errno. */
static int link_fd(int fd, int dirfd, const char *name) {
    if (atomic_load_explicit(&empty_path_ok, memory_order_relaxed)) {
        if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno != ENOENT && errno != EPERM)
            return -1;
        atomic_store_explicit(&empty_path_ok, false, memory_order_relaxed);
    }
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* The file not yet named, written: give it path's name, atomically. A new
 * name is a link; over an existing file, a link under a temporary name
 * renamed over it. 0, 1 when the link is refused (no /proc: the caller
 * saves another way), or -errno. */
static int name_unnamed(int fd, int dirfd, const char *path) {
    if (link_fd(fd, dirfd, path) == 0)
        return 0;
    if (errno == ENOENT || errno == EPERM || errno == EACCES || errno == EXDEV)
        return 1; /* no /proc, or links refused: the directory itself was fine */
    if (errno != EEXIST)
        return -errno;
    char tmp[4200];
    for (int tries = 0;; tries++) {
        int err = temp_name(tmp, sizeof tmp, path);
        if (err)
            return err;
        if (link_fd(fd, dirfd, tmp) == 0)
            break;
        if (errno != EEXIST || tries == 100)
            return -errno;
    }
    if (renameat(dirfd, tmp, dirfd, path) == 0)
        return 0;
    int err = -errno;
    unlinkat(dirfd, tmp, 0);
    return err;
}

/* Write into a file with no name (O_TMPFILE in path's directory), then
 * name it: a write that fails leaves nothing, the file never had a name,
 * and a new flag costs no rename. 1 when the file system or /proc does not
 * allow it (nothing was left), 0, or -errno. */
static int save_unnamed(int dirfd, const char *path, const void *data, size_t len) {
    char dir[4200];
    int err = dir_of(dir, sizeof dir, path);
    if (err)
        return err;
    int fd = openat(dirfd, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ? 1 : -errno;
    int rc = write_all(fd, data, len);
    if (rc == 0)
        rc = name_unnamed(fd, dirfd, path);
    /* A file with no name can only be closed after it is named. A close
     * that fails then (a network file system's failed write-back) is
     * reported, but the name stays: unlinking it would lose, with the new
     * file, the good copy it replaced. */
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Write a temporary beside path, then rename it over path. */
static int save_renamed(int dirfd, const char *path, const void *data, size_t len) {
    char tmp[4200];
    /* Created with O_EXCL and the mode a flag has: mkstemp made 0600 and
     * needed an fchmod, one system call in five of a save. A name a dead
     * process with the same id left behind is skipped. */
    int fd = -1;
    for (int tries = 0; fd < 0; tries++) {
        int err = temp_name(tmp, sizeof tmp, path);
        if (err)
            return err;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != EEXIST || tries == 100))
            return -errno;
    }
    int rc = write_all(fd, data, len);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dirfd, tmp, dirfd, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlinkat(dirfd, tmp, 0);
    return rc;
}

int save_atomic(const char *path, const void *data, size_t len) {
    return save_atomic_at(AT_FDCWD, path, data, len);
}

/* How this process saves, chosen once from the destination's file system
 * by measurement (scripts/save_methods.sh, and the client end to end in
 * alternating runs of 10,088 flags): on ext4 an unnamed file costs 33 µs a
 * file against a rename's 44, and the client 9-17% less CPU (8 and 12
 * runs); on tmpfs it costs 15.5 against 14.6, and the client 2.9% more (16
 * runs). A file system that refuses unnamed files, or a machine without
 * /proc, falls back to renames for good. */
static atomic_int save_how; /* enum save_method */

void save_use_method(enum save_method how) {
    atomic_store_explicit(&empty_path_ok, how != SAVE_UNNAMED_PROC, memory_order_relaxed);
    atomic_store_explicit(&save_how, how == SAVE_UNNAMED_PROC ? SAVE_UNNAMED : how,
                          memory_order_relaxed);
}

static enum save_method choose_how(int dirfd, const char *path) {
    char dir[4200];
    struct statfs fs;
    if (dir_of(dir, sizeof dir, path) != 0)
        return SAVE_RENAMED;
    int fd = openat(dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SAVE_AUTO; /* the save will say why */
    enum save_method how = SAVE_UNNAMED;
    if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
        how = SAVE_RENAMED;
    close(fd);
    atomic_store_explicit(&save_how, how, memory_order_relaxed);
    return how;
}

int save_atomic_at(int dirfd, const char *path, const void *data, size_t len) {
    enum save_method how = atomic_load_explicit(&save_how, memory_order_relaxed);
    if (how == SAVE_AUTO)
        how = choose_how(dirfd, path);
    if (how != SAVE_RENAMED) {
        int rc = save_unnamed(dirfd, path, data, len);
        if (rc <= 0)
            return rc;
        atomic_store_explicit(&save_how, SAVE_RENAMED, memory_order_relaxed);
    }
    return save_renamed(dirfd, path, data, len);
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

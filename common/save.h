/* save.h — where a flag is saved and how: a file with no name yet, or a
 * temporary one, in the destination, named or renamed into place once
 * whole, so a failed flag leaves nothing behind. */
#ifndef FLAGBENCH_SAVE_H
#define FLAGBENCH_SAVE_H

#include <stddef.h>

struct record;

/* Create dest (and parents) if missing and check it is a writable
 * directory. 0, or -errno. */
int dest_prepare(const char *dest);

/* The final path of a flag: dest/br.gif, dest/br-2.gif for the third
 * request of BR (--repeat), dest/<country>.gif with --metadata (country
 * already sanitised; the repeat suffix applies too). 0, or -ENAMETOOLONG. */
int save_path(char *out, size_t n, const char *dest, const struct record *rec, const char *country);

/* The same path's last component alone (br.gif), for saves relative to an
 * open destination (save_atomic_at). 0, or -ENAMETOOLONG. */
int save_name(char *out, size_t n, const struct record *rec, const char *country);

/* The temporary path beside final: dir/.name.<pid>-<unique>.tmp, hidden so
 * a reader of dest never takes it for a flag; pid keeps concurrent runs
 * apart, unique the saves of one run. 0, or -ENAMETOOLONG. */
int save_temp_path(char *out, size_t n, const char *final, int pid, unsigned long long unique);

/* Blocking atomic save: write data to a file with no name in path's
 * directory (O_TMPFILE) and link it as path, or to a temporary beside path
 * and rename it over path, whichever the file system does cheaper (see
 * save_use_method). A file that was at path is replaced at once. On failure
 * nothing is left, with one exception: an unnamed file's close can only
 * come after its naming, and a close that fails then is reported with the
 * file kept in place (the copy it replaced is gone already). 0, or -errno. */
int save_atomic(const char *path, const void *data, size_t len);

/* SAVE_AUTO (the default): the process picks the method at its first save
 * from the destination's file system, rename on tmpfs, unnamed elsewhere,
 * and renames for good if unnamed files are refused. Tests force one;
 * SAVE_UNNAMED_PROC is SAVE_UNNAMED linked as kernels before 6.10 must. */
enum save_method { SAVE_AUTO, SAVE_UNNAMED, SAVE_RENAMED, SAVE_UNNAMED_PROC };
void save_use_method(enum save_method how);

/* The same with path relative to the directory dirfd (AT_FDCWD: as
 * save_atomic). Saving by name under a descriptor of dest opened once
 * spares the kernel walking dest's every component twice per flag (open
 * and rename): 1 of 13 µs of CPU per save on tmpfs, measured. */
int save_atomic_at(int dirfd, const char *path, const void *data, size_t len);

/* Make a name from the network safe for a file: spaces become '_', no
 * path separators, no leading dot, no control characters, at most n-1
 * bytes (never splitting a UTF-8 sequence). Returns the length (0 = nothing
 * usable). */
size_t sanitize_name(char *out, size_t n, const char *in, size_t len);

#endif

#!/usr/bin/env bash
# save_methods.sh — what saving a small file costs, and how long a downloaded
# flag waits before it is saved, for each way of saving it, on each file
# system: the measurement that picks the io_uring back end's save method.
set -euo pipefail
PROG=save_methods
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/save_methods.sh [--build DIR] [--dirs LIST] [--backends LIST]
                               [--methods LIST] [--rounds R] [--delay S]
                               [--files N] [-h]

Two measurements, for every directory of LIST (default: /dev/shm, tmpfs, and
\$TMPDIR or /tmp, the disk; each file system is named in the output):

1. The system calls alone (python3, one process, no network): N files of
   12 KiB (a median flag) saved by
     rename    open(.tmp, O_CREAT|O_EXCL) + write + close + rename
     tmpfile   open(dir, O_TMPFILE) + write + linkat(/proc/self/fd) + close
     plain     open(final, O_CREAT|O_TRUNC) + write + close: not atomic (a
               failed save leaves a partial file), what curl -o does
   CPU (user+sys) and wall time per file, the median of R rounds.

2. The clients end to end: flagserver on a free port of 127.0.0.1 (--delay
   S, default 0.1 s), each back end of LIST runs -a -m 194 (194 flags, all in
   flight) with FLAGBENCH_SAVE set to each method of --methods (default:
   loop,ring; back ends that save only one way ignore it), R rounds in
   alternating order, with --trace and --summary. Per back end, method and
   file system, the medians over the rounds of:
     saved p50/max ms  a flag's wait from its response (done_us) to saved
     tail ms           last flag saved - last response
     CPU µs/request    (user+sys) / requests
   FLAGBENCH_SAVE=loop saves in the loop thread with the blocking save of
   common/save.c (rename on tmpfs, tmpfile elsewhere: the cheaper of the two
   on each, as part 1 measures them), so a flag is saved before the loop goes
   on; ring hands the save to io_uring (openat, write, close, renameat
   linked, run by the kernel's io-wq workers) so the loop goes on at once.

options:
  --build DIR       CMake build directory (default: build)
  --dirs LIST       comma-separated directories to save under (default:
                    /dev/shm,\${TMPDIR:-/tmp}); a fresh directory is made in each
  --backends LIST   back ends to run (default: all but the baseline)
  --methods LIST    values of FLAGBENCH_SAVE (default: loop,ring)
  --rounds R        rounds of each (default: 5)
  --delay S         the server's delay (default: 0.1)
  --files N         files per round of the system-call measurement (default: 2000)
  -h, --help        show this help and exit

Progress goes to stderr; the tables to stdout. Exit status: 0 measured,
1 a run failed, 2 usage error.
EOF
}

BUILD=$ROOT/build DIRS="/dev/shm,${TMPDIR:-/tmp}" BACKEND_LIST='' METHODS=loop,ring ROUNDS=5
DELAY=0.1 FILES=2000
parse_options '--build=BUILD --dirs=DIRS --backends=BACKEND_LIST --methods=METHODS --rounds=ROUNDS
    --delay=DELAY --files=FILES' "$@"
{ is_uint "$ROUNDS" && [[ $ROUNDS -ge 1 ]]; } || die "--rounds needs a number >= 1, not '$ROUNDS'"
{ is_uint "$FILES" && [[ $FILES -ge 1 ]]; } || die "--files needs a number >= 1, not '$FILES'"
is_seconds "$DELAY" || die "--delay needs seconds (like 0.1), not '$DELAY'"
IFS=, read -r -a DIR_LIST <<<"$DIRS"
IFS=, read -r -a METHOD_LIST <<<"$METHODS"
[[ ${#DIR_LIST[@]} -gt 0 ]] || die "--dirs needs at least one directory"
[[ ${#METHOD_LIST[@]} -gt 0 ]] || die "--methods needs at least one method"
for d in "${DIR_LIST[@]}"; do
    [[ -d $d && -w $d ]] || die "--dirs: '$d' is not a writable directory"
done
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
# The baseline (the list's first) saves one flag at a time: nothing to compare.
[[ -n $BACKEND_LIST ]] || BACKENDS=("${BACKENDS[@]:1}")
[[ ${#BACKENDS[@]} -gt 0 ]] || die "no back end to run"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-save.XXXXXX")
SCRATCH=()
cleanup() {
    stop_server
    rm -rf "$WORK" "${SCRATCH[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The file system's type as mount names it (ext4, tmpfs); statfs' name if not.
fs_of() { findmnt -n -f -o FSTYPE --target "$1" 2>/dev/null || stat -f -c %T "$1"; }

# --- 1. the system calls alone ---
echo "## Saving one 12 KiB file: CPU and wall µs per file (median of $ROUNDS rounds of $FILES files)"
echo
echo "| file system | method | CPU µs/file | wall µs/file |"
echo "| --- | --- | --- | --- |"
for d in "${DIR_LIST[@]}"; do
    scratch=$(mktemp -d "$d/flagbench-save.XXXXXX")
    SCRATCH+=("$scratch")
    say "system calls on $(fs_of "$d") ($d)"
    python3 - "$scratch" "$FILES" "$ROUNDS" "$(fs_of "$d")" <<'PY'
import ctypes, os, resource, shutil, statistics, sys, time

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_SYMLINK_FOLLOW = -100, 0x400

where, files, rounds, fs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = os.urandom(12 * 1024)

def by_rename(d, i):
    tmp, final = f"{d}/.f{i}.tmp", f"{d}/f{i}.gif"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    os.write(fd, body)
    os.close(fd)
    os.rename(tmp, final)

def by_tmpfile(d, i):
    fd = os.open(d, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o644)
    os.write(fd, body)
    # os.link() calls link(), which would link the /proc symlink itself.
    if libc.linkat(AT_FDCWD, f"/proc/self/fd/{fd}".encode(), AT_FDCWD,
                   f"{d}/f{i}.gif".encode(), AT_SYMLINK_FOLLOW) != 0:
        raise OSError(ctypes.get_errno(), "linkat")
    os.close(fd)

def plain(d, i):
    fd = os.open(f"{d}/f{i}.gif", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    os.write(fd, body)
    os.close(fd)

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

methods = {"rename": by_rename, "tmpfile": by_tmpfile, "plain (not atomic)": plain}
results = {name: ([], []) for name in methods}
for r in range(rounds):
    # Alternate the order: no method always runs on a warmer cache.
    for name in (list(methods) if r % 2 == 0 else list(reversed(methods))):
        fn = methods[name]
        d = f"{where}/{name.split()[0]}{r}"
        os.mkdir(d)
        c0, w0 = cpu(), time.perf_counter()
        for i in range(files):
            fn(d, i)
        c1, w1 = cpu(), time.perf_counter()
        results[name][0].append((c1 - c0) / files * 1e6)
        results[name][1].append((w1 - w0) / files * 1e6)
        shutil.rmtree(d)
for name, (c, w) in results.items():
    print(f"| {fs} | {name} | {statistics.median(c):.1f} (±{(max(c) - min(c)) / 2:.1f}) "
          f"| {statistics.median(w):.1f} (±{(max(w) - min(w)) / 2:.1f}) |")
PY
done

# --- 2. the clients end to end ---
start_server "$WORK" --delay "$DELAY"
ROWS=$WORK/rows.csv
echo "fs,backend,method,round,saved_p50_ms,saved_max_ms,tail_ms,cpu_us_per_request,wall_s,errors" >"$ROWS"
for d in "${DIR_LIST[@]}"; do
    fs=$(fs_of "$d")
    scratch=$(mktemp -d "$d/flagbench-save.XXXXXX")
    SCRATCH+=("$scratch")
    for ((r = 0; r < ROUNDS; r++)); do
        alternate "$r" "${METHOD_LIST[@]}"
        for b in "${BACKENDS[@]}"; do
            for m in "${ORDER[@]}"; do
                say "$fs: $b, FLAGBENCH_SAVE=$m, round $((r + 1))/$ROUNDS"
                rm -rf "$scratch/dl" "$WORK/trace.csv" "$WORK/sum.csv"
                rc=0
                FLAGBENCH_SAVE=$m "${BIN[$b]}" -a -m 194 -s "$BASE_URL" -d "$scratch/dl" -q \
                    --trace "$WORK/trace.csv" --summary "$WORK/sum.csv" >/dev/null 2>"$WORK/err" || rc=$?
                rm -rf "$scratch/dl"
                [[ $rc -eq 0 && -s $WORK/trace.csv ]] ||
                    fail "$b with FLAGBENCH_SAVE=$m on $fs failed (exit status $rc): $(head -n 1 "$WORK/err")"
                python3 - "$WORK/trace.csv" "$WORK/sum.csv" "$fs,$b,$m,$r" >>"$ROWS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = [r for r in rows if r["outcome"] == "ok" and int(r["saved_us"]) >= 0]
waits = [(int(r["saved_us"]) - int(r["done_us"])) / 1000 for r in ok]
tail = (max(int(r["saved_us"]) for r in ok) - max(int(r["done_us"]) for r in rows)) / 1000
s = list(csv.DictReader(open(sys.argv[2])))[-1]
cpu_us = 1e6 * float(s["cpu_s"]) / int(s["requests"])
print(f"{sys.argv[3]},{statistics.median(waits):.3f},{max(waits):.3f},{tail:.3f},{cpu_us:.1f},"
      f"{float(s['wall_s']):.4f},{s['errors']}")
PY
            done
        done
    done
done
stop_server

echo
echo "## 194 flags, -m 194, ${DELAY} s delay: from response to saved (medians of $ROUNDS rounds; ± half the range)"
echo
echo "| file system | back end | FLAGBENCH_SAVE | saved p50 ms | saved max ms | tail ms | CPU µs/request | wall s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
python3 - "$ROWS" <<'PY'
import csv, statistics, sys
from collections import defaultdict
groups = defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    groups[(r["fs"], r["backend"], r["method"])].append(r)
def fmt(rows, col, digits):
    v = [float(r[col]) for r in rows]
    return f"{statistics.median(v):.{digits}f} (±{(max(v) - min(v)) / 2:.{digits}f})"
for (fs, b, m), rows in groups.items():
    print(f"| {fs} | {b} | {m} | {fmt(rows, 'saved_p50_ms', 2)} | {fmt(rows, 'saved_max_ms', 2)} "
          f"| {fmt(rows, 'tail_ms', 2)} | {fmt(rows, 'cpu_us_per_request', 0)} | {fmt(rows, 'wall_s', 3)} |")
PY
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

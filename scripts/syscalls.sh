#!/usr/bin/env bash
# syscalls.sh — count the system calls each event loop makes per request.
set -euo pipefail
PROG=syscalls
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/syscalls.sh --out FILE [--build DIR] [--backends LIST]
                           [--flags N[,N...]] [--max-req M] [--delay S]
                           [--dest-parent DIR] [-h]

Count the system calls of the back ends that run every transfer on one
thread (backends.txt's third column), each workload once, under
'strace -f -c' against a flagserver of its own on 127.0.0.1, plus one
one-request run per back end for the floor (start-up and exit). strace slows
a process down several times: these runs are never timed, and the counts
are what they measure. Writes FILE as CSV, one row per back end and
workload (columns: results/README.md, "syscalls.csv"), and strace's own
table beside it as FILE's folder/syscalls-<backend>-<workload>.txt.

A system call is an entry into the kernel from the process's own threads.
io_uring's requests (polls, openat, write, renameat) are not: they count
only as the io_uring_enter calls that submit or wait for them, and the
kernel's io_uring workers (iou-wrk-*) are not traced.

options:
  --out FILE        where the CSV goes (required)
  --build DIR       the CMake build directory with the binaries (default: build)
  --backends LIST   count the one-thread back ends among LIST (comma-separated;
                    default: every one-thread back end)
  --flags N[,N...]  workloads, as bench.sh's (default: 194)
  --max-req M       requests in flight (default: the workload's size)
  --delay S         seconds the server waits before each response (default: 0.1)
  --dest-parent DIR where the downloads go, in a fresh temporary directory
                    (default: /dev/shm if it is tmpfs, else \$TMPDIR or /tmp)
  -h, --help        show this help and exit

Progress goes to stderr. Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

BUILD=$ROOT/build OUTFILE='' BACKEND_LIST='' FLAGS=194 MAXREQ='' DELAY=0.1 DESTP=
parse_options '--out=OUTFILE --build=BUILD --backends=BACKEND_LIST --flags=FLAGS --max-req=MAXREQ
    --delay=DELAY --dest-parent=DESTP' "$@"

[[ -n $OUTFILE ]] || die "--out FILE is required (try --help)"
[[ -d $(dirname "$OUTFILE") && -w $(dirname "$OUTFILE") ]] ||
    die "--out '$OUTFILE': its directory is not a writable directory"
is_seconds "$DELAY" || die "--delay needs seconds (like 0.1), not '$DELAY'"
[[ -z $MAXREQ ]] || { is_uint "$MAXREQ" && [[ $MAXREQ -ge 1 ]]; } ||
    die "--max-req needs a number from 1, not '$MAXREQ'"
use_workloads "$FLAGS"
command -v strace >/dev/null || die "strace is not installed (make deps)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
COUNTED=()
for b in "${BACKENDS[@]}"; do
    [[ -z ${ONE_THREAD[$b]:-} ]] || COUNTED+=("$b")
done
[[ ${#COUNTED[@]} -gt 0 ]] || die "no one-thread back end among: ${BACKENDS[*]}"
use_dest_parent "$DESTP"
raise_nofile
make_scratch syscalls downloads
OUTDIR=$(dirname "$OUTFILE")

# calls_of TABLE — strace -c's table as "syscall calls" lines: the rows
# between its two dashed rules (% time, seconds, usecs/call, calls, [errors,]
# syscall).
calls_of() {
    awk '/^-/ { rule++; next } rule == 1 && NF >= 5 { print $NF, $4 }' "$1"
}

# count B WL N TABLE — run back end B on n requests under strace; TABLE gets
# strace's table; sets CALLS, the total.
count() {
    local b=$1 wl=$2 n=$3 table=$4 rc=0
    workload_args "$n"
    rm -rf "${DL:?}/$b"
    strace -f -c -S calls -o "$table" "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "${MAXREQ:-$n}" \
        -s "$BASE_URL" -d "$DL/$b" -q >"$WORK/client.out" 2>"$WORK/client.err" || rc=$?
    [[ $rc -le 1 ]] || fail "$b on $wl under strace: exit $rc: $(head -n 3 "$WORK/client.err")"
    [[ $rc -eq 0 ]] || say "warning: $b had errors on $wl"
    CALLS=$(awk '$NF == "total" { print $4 }' "$table")
    [[ -n $CALLS ]] || fail "strace wrote no total for $b on $wl (see $table)"
}

# beyond_floor FLOOR_TABLE TABLE — the system calls the run made more often
# than the floor, by how many more, most first: "name=count name=count ...".
beyond_floor() {
    awk 'NR == FNR { floor[$1] = $2; next } { d = $2 - floor[$1]; if (d > 0) print d, $1 }' \
        <(calls_of "$1") <(calls_of "$2") | sort -k1,1nr -k2,2 |
        awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'
}

say "counting system calls under strace (untimed): ${COUNTED[*]} on ${WORKLOADS[*]}, delay $DELAY s"
start_server "$WORK" --delay "$DELAY"
declare -A FLOOR
mkdir -p "$WORK/tables"
for b in "${COUNTED[@]}"; do
    count "$b" all1 1 "$WORK/floor-$b.txt"
    FLOOR[$b]=$CALLS
done
{
    echo "backend,workload,requests,max_req,delay_s,syscalls,floor_syscalls,per_request,calls"
    for n in "${WORKLOADS[@]}"; do
        wl=$(workload_name "$n")
        for b in "${COUNTED[@]}"; do
            count "$b" "$wl" "$n" "$WORK/tables/syscalls-$b-$wl.txt"
            calls=$(beyond_floor "$WORK/floor-$b.txt" "$WORK/tables/syscalls-$b-$wl.txt")
            per=$(awk -v c="$CALLS" -v f="${FLOOR[$b]}" -v n="$n" \
                'BEGIN { printf "%.2f", (n > 1 ? (c - f) / (n - 1) : c) }')
            say "  $b on $wl: $CALLS system calls, $per per request"
            echo "$b,$wl,$n,${MAXREQ:-$n},$DELAY,$CALLS,${FLOOR[$b]},$per,$calls"
        done
    done
} >"$WORK/syscalls.csv"
stop_server
# Nothing partial: the files appear only once every count is in.
mv "$WORK"/tables/* "$OUTDIR"/
mv "$WORK/syscalls.csv" "$OUTFILE"
say "wrote $OUTFILE"

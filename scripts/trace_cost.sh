#!/usr/bin/env bash
# trace_cost.sh — what the measuring costs: a one-thread back end with and
# without --trace and --summary, in the regime where it shows most (no
# delay, CPU-bound), runs alternating, medians compared.
set -euo pipefail
PROG=trace_cost
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/trace_cost.sh [--build DIR] [--backend B] [--repeat K] [--max-req N]
                             [--runs R] [--delay S] [--client-cpu C] [--server-cpu C]
                             [--dest-parent DIR] [--out FILE] [-h]

Starts flagserver (--delay S, default none) on a free port of 127.0.0.1
pinned to CPU --server-cpu, then runs R rounds; each round runs, in an order
that rotates from round to round, pinned to CPU --client-cpu:
  none     flags_B -a --repeat K -m N -s URL -d DIR -q
  trace    the same with --trace FILE
  both     the same with --trace FILE --summary FILE
under bash's time (wall, user, sys, to the millisecond). Per-request record keeping is always
on; --trace only writes the records out, --summary the figures. Prints the
median wall and CPU (user+sys) of each variant, the overhead in % against
'none', and the spread of the 'none' runs (what a difference must exceed to
be more than noise).

options:
  --build DIR        CMake build directory (default: build)
  --backend B        a back end of the build's list, build/backends.txt
                     (default: its first that runs on one thread)
  --repeat K         every flag K times (default: 52 -> 10088 requests)
  --max-req N        requests in flight (default: 50)
  --runs R           rounds (default: 9)
  --delay S          server delay in seconds (default: 0)
  --client-cpu C     CPU for the client (default: 0)
  --server-cpu C     CPU for flagserver (default: 1)
  --dest-parent DIR  where the downloads are written: a fresh temporary
                     directory inside DIR (default: /dev/shm if it is tmpfs,
                     else \$TMPDIR or /tmp; pass /tmp to include the disk)
  --out FILE         also write every run as CSV to FILE
  -h, --help         show this help and exit

Exit status: 0 measured, 1 a run failed, 2 usage error.
EOF
}

BUILD=$ROOT/build BACKEND='' REPEAT=52 MAXREQ=50 RUNS=9 DELAY=0 CCPU=0 SCPU=1 OUTCSV='' DESTP=
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) need "$@"; BUILD=$2; shift 2 ;;
    --backend) need "$@"; BACKEND=$2; shift 2 ;;
    --repeat) need "$@"; REPEAT=$2; shift 2 ;;
    --max-req) need "$@"; MAXREQ=$2; shift 2 ;;
    --runs) need "$@"; RUNS=$2; shift 2 ;;
    --delay) need "$@"; DELAY=$2; shift 2 ;;
    --client-cpu) need "$@"; CCPU=$2; shift 2 ;;
    --server-cpu) need "$@"; SCPU=$2; shift 2 ;;
    --out) need "$@"; OUTCSV=$2; shift 2 ;;
    --dest-parent) need "$@"; DESTP=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
done
{ is_uint "$REPEAT" && ((REPEAT >= 1 && REPEAT <= 1000)); } || die "--repeat needs 1-1000"
{ is_uint "$MAXREQ" && ((MAXREQ >= 1 && MAXREQ <= 100000)); } || die "--max-req needs 1-100000"
{ is_uint "$RUNS" && ((RUNS >= 1 && RUNS <= 100)); } || die "--runs needs 1-100"
is_seconds "$DELAY" || die "--delay needs seconds, not '$DELAY'"
check_cpus --client-cpu "$CCPU" --server-cpu "$SCPU"
use_build "$BUILD"
use_dest_parent "$DESTP"
use_backends "$BUILD" "$BACKEND"
if [[ -z $BACKEND ]]; then
    for b in "${ALL_BACKENDS[@]}"; do
        [[ -z ${ONE_THREAD[$b]:-} ]] || { BACKEND=$b; break; }
    done
    [[ -n $BACKEND ]] || fail "no back end in the build runs on one thread; pass --backend"
fi
CLIENT=${BIN[$BACKEND]}
TIMEFORMAT='%3R %3U %3S'

raise_nofile
T=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-tracecost.XXXXXX")
cleanup() {
    stop_server
    rm -rf "$T" "${D:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
D=$(mktemp -d "$DESTP/flagbench-dl.XXXXXX")

start_server "$T" --delay "$DELAY"
taskset -a -p -c "$SCPU" "$SERVER_PID" >/dev/null
NREQ=$((194 * REPEAT))
say "$BACKEND: $NREQ requests, -m $MAXREQ, delay $DELAY s, $RUNS rounds; client on CPU $CCPU, server on CPU $SCPU"

VARIANTS=(none trace both)
: >"$T/runs"
[[ -z $OUTCSV || -s $OUTCSV ]] || echo "variant,round,wall_s,user_s,sys_s,cpu_s" >"$OUTCSV"
for ((r = 0; r < RUNS; r++)); do
    for ((i = 0; i < ${#VARIANTS[@]}; i++)); do
        v=${VARIANTS[(i + r) % ${#VARIANTS[@]}]}
        extra=()
        case $v in
        trace) extra=(--trace "$T/trace.csv") ;;
        both) extra=(--trace "$T/trace.csv" --summary "$T/summary.csv") ;;
        esac
        rm -rf "$D/dl" "$T/trace.csv" "$T/summary.csv"
        rc=0
        # bash's time: wall and the children's rusage to the millisecond.
        { time taskset -c "$CCPU" "$CLIENT" -a --repeat "$REPEAT" -m "$MAXREQ" -s "$BASE_URL" \
            -d "$D/dl" -q "${extra[@]}" >/dev/null 2>"$T/err"; } 2>"$T/time" || rc=$?
        if [[ $rc -ne 0 ]]; then
            head -n 3 "$T/err" >&2
            echo "$PROG: error: $v run exited with status $rc" >&2
            exit 1
        fi
        if [[ $v != none ]]; then
            lines=$(($(wc -l <"$T/trace.csv") - 1))
            [[ $lines -eq $NREQ ]] || say "warning: the trace has $lines rows, not $NREQ"
        fi
        read -r wall user sys <"$T/time"
        line=$(awk -v v="$v" -v r="$r" -v w="$wall" -v u="$user" -v s="$sys" \
            'BEGIN {printf "%s,%d,%.3f,%.3f,%.3f,%.3f", v, r, w, u, s, u + s}')
        echo "$line" >>"$T/runs"
        [[ -z $OUTCSV ]] || echo "$line" >>"$OUTCSV"
    done
    say "round $((r + 1))/$RUNS done"
done

stat_of() { # variant column -> "median min max"
    awk -F, -v n="$1" -v c="$2" '$1 == n {print $c}' "$T/runs" | sort -g |
        awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR]}'
}
echo "# $BACKEND, $NREQ requests, -m $MAXREQ, server delay $DELAY s; $RUNS rounds, order rotating"
echo "# command: $CLIENT -a --repeat $REPEAT -m $MAXREQ -s URL -d DIR -q [--trace F] [--summary F]"
echo "# saved under $DESTP ($(stat -f -c %T "$DESTP")); the trace and summary go to a directory in ${TMPDIR:-/tmp}"
echo "# medians (min-max); overhead = median / median(none) - 1"
read -r wn wlo whi <<<"$(stat_of none 3)"
read -r cn clo chi <<<"$(stat_of none 6)"
printf '%-6s %-22s %-22s %10s %10s\n' variant 'wall_s' 'cpu_s' wall_ovh cpu_ovh
for v in "${VARIANTS[@]}"; do
    read -r w wl wh <<<"$(stat_of "$v" 3)"
    read -r c cl ch <<<"$(stat_of "$v" 6)"
    awk -v v="$v" -v w="$w" -v wl="$wl" -v wh="$wh" -v c="$c" -v cl="$cl" -v ch="$ch" -v wn="$wn" -v cn="$cn" \
        'BEGIN {printf "%-6s %-22s %-22s %+9.1f%% %+9.1f%%\n", v, sprintf("%.3f (%.3f-%.3f)", w, wl, wh), sprintf("%.3f (%.3f-%.3f)", c, cl, ch), 100 * (w / wn - 1), 100 * (c / cn - 1)}'
done
awk -v wn="$wn" -v wlo="$wlo" -v whi="$whi" -v cn="$cn" -v clo="$clo" -v chi="$chi" \
    'BEGIN {printf "noise: the none runs spread %.1f%% in wall and %.1f%% in CPU (max-min over median)\n", 100 * (whi - wlo) / wn, 100 * (chi - clo) / cn}'

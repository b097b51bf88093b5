#!/usr/bin/env bash
# bench_ci.sh — a short benchmark gated against results/baseline.csv.
set -euo pipefail
PROG=bench-ci
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=40          # requests of the timed runs: the first 40 flags
DELAY=0.2     # server delay of the timed runs
REPEATS=5     # timed runs of threadpool and uring (the fastest counts)
CG_N=20       # requests of the instruction counts (no delay)

usage() {
    cat <<EOF
usage: scripts/bench_ci.sh [--build DIR] [--baseline FILE] [--update]
                           [--save FILE] [--from FILE] [--dest-parent DIR] [-h]

A short run (about 20 s) of figures that are stable within one run, compared
with the committed baseline; exits 1 naming each figure that regressed.

Measured, against a flagserver on a free port of 127.0.0.1:
  speedup                   sequential wall ÷ back-end wall, $N flags, -m $N,
                            ${DELAY} s delay (threadpool, uring: the fastest of $REPEATS runs)
  efficiency                ideal wall ($N × ${DELAY} s) ÷ wall, sequential
  inflight_peak, threads    from the client's --summary (same runs; the median)
  instructions_per_request  instructions ÷ requests under valgrind --tool=callgrind,
                            $CG_N flags, no delay, every back end
Each baseline row says how it is checked: at_least (measured >= tolerance ×
baseline), at_most (measured <= tolerance × baseline) or exact. The defaults
--update writes: speedup and inflight_peak at_least 0.7 and 0.9, efficiency
at_least 0.9, threads exact, instructions_per_request at_most 1.15.

options:
  --build DIR      the CMake build directory with the binaries (default: build)
  --baseline FILE  the baseline (default: results/baseline.csv)
  --update         measure and write the baseline instead of checking it
  --save FILE      also write the measured figures (same columns) to FILE
  --from FILE      check figures measured before (by --save) instead of measuring
  --dest-parent DIR
                   where the downloads are written: a fresh temporary
                   directory inside DIR (default: /dev/shm if it is tmpfs,
                   else \$TMPDIR or /tmp; pass /tmp to include the disk)
  -h, --help       show this help and exit

Exit status: 0 no regression, 1 a figure regressed (or a step failed),
2 usage error.
EOF
}

BUILD=$ROOT/build BASELINE=$ROOT/results/baseline.csv UPDATE=0 SAVE='' FROM='' DESTP=
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) need "$@"; BUILD=$2; shift 2 ;;
    --baseline) need "$@"; BASELINE=$2; shift 2 ;;
    --update) UPDATE=1; shift ;;
    --save) need "$@"; SAVE=$2; shift 2 ;;
    --from) need "$@"; FROM=$2; shift 2 ;;
    --dest-parent) need "$@"; DESTP=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
done
[[ -z $FROM || $UPDATE -eq 0 ]] || die "--from and --update can't be used together"
[[ $UPDATE -eq 1 || -f $BASELINE ]] ||
    die "no baseline '$BASELINE' (make one with scripts/bench_ci.sh --update)"

compare() {
    python "$SCRIPTS/report.py" compare "$BASELINE" "$1"
}

if [[ -n $FROM ]]; then
    [[ -f $FROM ]] || die "no measured figures '$FROM'"
    compare "$FROM"
    exit $?
fi

command -v valgrind >/dev/null || die "valgrind is not installed (make deps)"
use_build "$BUILD"
use_backends "$BUILD"
use_dest_parent "$DESTP"

raise_nofile
make_scratch ci downloads

# run LABEL BACKEND ARGS... — one client run appending to $WORK/LABEL.csv
# (the flags go to $DL).
run() {
    local label=$1 b=$2 rc=0
    shift 2
    "${BIN[$b]}" "$@" -s "$BASE_URL" -d "$DL/dl-$b" -q --summary "$WORK/$label.csv" || rc=$?
    [[ $rc -eq 0 ]] || fail "$b exited with status $rc on '$*' (see the client's errors above)"
}

say "timed runs: $N flags, ${DELAY} s delay, -m $N"
start_server "$WORK" --delay "$DELAY"
# The baseline (the list's first) one request at a time, the others repeated.
BASE=${ALL_BACKENDS[0]}
run "timed-$BASE" "$BASE" -a -l "$N"
for ((i = 1; i <= REPEATS; i++)); do
    for b in "${ALL_BACKENDS[@]:1}"; do
        run "timed-$b" "$b" -a -l "$N" -m "$N"
    done
done

say "instruction counts: valgrind --tool=callgrind, $CG_N flags, no delay"
restart_server "$WORK" --delay 0
for b in "${ALL_BACKENDS[@]}"; do
    rc=0
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$b" \
        "${BIN[$b]}" -a -l "$CG_N" -m "$CG_N" -s "$BASE_URL" -d "$DL/cg-$b" -q \
        --summary "$WORK/cg-$b.csv" 2>"$WORK/valgrind-$b.log" || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 5 "$WORK/valgrind-$b.log" >&2
        fail "$b under callgrind exited with status $rc (the end of valgrind's log is above)"
    fi
done
stop_server

MEASURED=$WORK/measured.csv
python "$SCRIPTS/report.py" ci-figures --backends "$(IFS=,; echo "${ALL_BACKENDS[*]}")" \
    "$WORK" "$N" "$DELAY" >"$MEASURED"
[[ -z $SAVE ]] || cp "$MEASURED" "$SAVE"

if [[ $UPDATE -eq 1 ]]; then
    cp "$MEASURED" "$BASELINE"
    say "wrote $BASELINE:"
    column -s, -t <"$BASELINE" >&2 || cat "$BASELINE" >&2
    exit 0
fi
compare "$MEASURED"

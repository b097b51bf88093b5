#!/usr/bin/env bash
# bench_ci.sh — a short benchmark gated against results/baseline.csv.
set -euo pipefail
PROG=bench-ci
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=40          # requests of the timed runs: the first 40 flags
DELAY=0.2     # server delay of the timed runs
REPEATS=5     # timed runs of the back ends but the baseline (the fastest counts)
CG_M=4        # requests in flight of the callgrind runs: the same few at N/2 and N

usage() {
    cat <<EOF
usage: scripts/bench_ci.sh [--build DIR] [--baseline FILE] [--update]
                           [--save FILE] [--from FILE] [--dest-parent DIR]
                           [--backends LIST] [--only timed|instructions]
                           [--no-gate] [-h]

A short run (about 30 s) of figures that hold on any machine of the kind,
compared with the committed baseline. A figure outside its tolerance is
measured once more; it is a regression only when outside both times, and
the message names it, its values, the baseline, the tolerance and the
machine's load over the run. Exits 1 naming each regression.

Measured against a flagserver on a free port of 127.0.0.1, n = $N flags at
${DELAY} s delay, m = $N in flight; the baseline is the first back end of
build/backends.txt, run once, the others $REPEATS times (the fastest counts):
  efficiency                  n × delay ÷ the baseline's wall (ideal 1)
  speedup                     the baseline's wall ÷ the back end's, against
                              the ideal n / ceil(n / m)
  inflight_peak, threads      from the client's --summary (the median),
                              against m; threads exactly, e.g. 1 or m + 1
  instructions_per_request    the baseline's, under valgrind --tool=callgrind,
                              no delay, -m $CG_M: (instructions of an n-request
                              run − those of an n/2-request run) ÷ n/2, so
                              start-up, exit, threads and connections cancel
  instructions_vs_baseline    the same for each other back end ÷ the baseline's
Each baseline row says how it is checked: at_least (measured >= tolerance ×
baseline), at_most (measured <= tolerance × baseline) or exact; its value is
a number or an expression in n and m. --update writes: efficiency 1 and
speedup n / ceil(n / m) at_least 0.9 and 0.6, inflight_peak m at_least 0.9,
threads (1 or m + 1) exact, instructions_per_request at_most 1.15 ×
the measured, instructions_vs_baseline at_most 1.25 × the measured.
results/README.md explains the gate.

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
  --backends LIST  measure only these back ends (comma-separated; the
                   list's first, the baseline, must be among them: every
                   figure is relative to it); only their binaries need to
                   be built
  --only timed|instructions
                   measure only the timed runs' figures, or only the
                   callgrind ones (a baseline checked against them should
                   hold the same figures: others are "not measured")
  --no-gate        measure and --save, without checking against a baseline
                   (scripts/history.sh measures each commit so)
  -h, --help       show this help and exit

Exit status: 0 no regression, 1 a figure regressed (or a step failed),
2 usage error.
EOF
}

BUILD=$ROOT/build BASELINE=$ROOT/results/baseline.csv UPDATE=0 SAVE='' FROM='' DESTP=
BACKEND_LIST='' ONLY='' NO_GATE=0
parse_options '--build=BUILD --baseline=BASELINE --update:UPDATE --save=SAVE --from=FROM
    --dest-parent=DESTP --backends=BACKEND_LIST --only=ONLY --no-gate:NO_GATE' "$@"
[[ -z $FROM || $UPDATE -eq 0 ]] || die "--from and --update can't be used together"
[[ -z $ONLY || $ONLY == timed || $ONLY == instructions ]] ||
    die "--only takes timed or instructions, not '$ONLY'"
[[ $NO_GATE -eq 0 || -n $SAVE ]] || die "--no-gate needs --save FILE (else nothing is kept)"
[[ $NO_GATE -eq 0 || ($UPDATE -eq 0 && -z $FROM) ]] ||
    die "--no-gate measures: it can't be used with --update or --from"
[[ $UPDATE -eq 1 || $NO_GATE -eq 1 || -f $BASELINE ]] ||
    die "no baseline '$BASELINE' (make one with scripts/bench_ci.sh --update)"

# compare ARGS... — report.py's check with this run's n and m.
compare() {
    python "$SCRIPTS/report.py" compare -n "$N" -m "$N" "$BASELINE" "$@"
}

if [[ -n $FROM ]]; then
    [[ -f $FROM ]] || die "no measured figures '$FROM'"
    rc=0
    compare "$FROM" || rc=$?
    exit "$rc"
fi

command -v valgrind >/dev/null || die "valgrind is not installed (make deps)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
[[ ${BACKENDS[0]} == "${ALL_BACKENDS[0]}" ]] ||
    die "--backends must start with the baseline ${ALL_BACKENDS[0]} (every figure is relative to it)"
use_dest_parent "$DESTP"

raise_nofile
make_scratch ci downloads
BASE=${BACKENDS[0]}

# run DIR LABEL BACKEND ARGS... — one client run appending to DIR/LABEL.csv
# (the flags go to $DL).
run() {
    local dir=$1 label=$2 b=$3 rc=0
    shift 3
    "${BIN[$b]}" "$@" -s "$BASE_URL" -d "$DL/dl-$b" -q --summary "$dir/$label.csv" || rc=$?
    [[ $rc -eq 0 ]] || fail "$b exited with status $rc on '$*' (see the client's errors above)"
}

# measure_timed DIR — the timed runs: the baseline (the list's first) one
# request at a time, then the others REPEATS times, interleaved.
measure_timed() {
    local dir=$1 i b
    say "timed runs: $N flags, ${DELAY} s delay, -m $N ($BASE once, the others $REPEATS times)"
    restart_server "$dir" --delay "$DELAY"
    rm -f "$dir"/timed-*.csv
    run "$dir" "timed-$BASE" "$BASE" -a -l "$N"
    for ((i = 1; i <= REPEATS; i++)); do
        for b in "${BACKENDS[@]:1}"; do
            run "$dir" "timed-$b" "$b" -a -l "$N" -m "$N"
        done
    done
    stop_server
}

# measure_instructions DIR — callgrind runs of N/2 and N requests, no delay,
# CG_M in flight, every back end: their difference is the cost of N/2
# requests without start-up, exit, threads and connections (the same CG_M in
# both). With all N in flight a thread pool's count moved ±25% between
# identical runs (threads, connections and their reuse follow scheduling);
# at CG_M it holds within 2%.
measure_instructions() {
    local dir=$1 b k rc
    say "instruction counts: valgrind --tool=callgrind, $((N / 2)) and $N flags, -m $CG_M, no delay"
    restart_server "$dir" --delay 0
    for b in "${BACKENDS[@]}"; do
        for k in $((N / 2)) "$N"; do
            rc=0
            rm -f "$dir/cg-$k-$b.csv"
            valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind-$k.$b" \
                "${BIN[$b]}" -a -l "$k" -m "$CG_M" -s "$BASE_URL" -d "$DL/cg-$b" -q \
                --summary "$dir/cg-$k-$b.csv" 2>"$dir/valgrind-$k-$b.log" || rc=$?
            if [[ $rc -ne 0 ]]; then
                tail -n 5 "$dir/valgrind-$k-$b.log" >&2
                fail "$b under callgrind exited with status $rc (the end of valgrind's log is above)"
            fi
        done
    done
    stop_server
}

# figures DIR — DIR/measured.csv from DIR's runs.
figures() {
    python "$SCRIPTS/report.py" ci-figures --backends "$(IFS=,; echo "${BACKENDS[*]}")" \
        ${ONLY:+--only "$ONLY"} "$1" "$N" "$DELAY" >"$1/measured.csv"
}

TRY1=$WORK/try1
mkdir -p "$TRY1"
record_env start "$TRY1/env.json"
[[ $ONLY == instructions ]] || measure_timed "$TRY1"
[[ $ONLY == timed ]] || measure_instructions "$TRY1"
record_env end "$TRY1/env.json"
figures "$TRY1"
[[ -z $SAVE ]] || cp "$TRY1/measured.csv" "$SAVE"
[[ $NO_GATE -eq 0 ]] || exit 0

if [[ $UPDATE -eq 1 ]]; then
    python "$SCRIPTS/report.py" ci-baseline "$TRY1/measured.csv" "$N" "$N" >"$WORK/baseline.csv"
    cp "$WORK/baseline.csv" "$BASELINE"
    say "wrote $BASELINE:"
    column -s, -t <"$BASELINE" >&2 || cat "$BASELINE" >&2
    exit 0
fi
rc=0
compare "$TRY1/measured.csv" --env "$TRY1/env.json" --failed-out "$WORK/failed" || rc=$?
[[ $rc -eq 1 && -s $WORK/failed ]] || exit "$rc"

# Outside tolerance once: measure what failed again (noise on a busy machine
# is common; a real regression fails twice).
TRY2=$WORK/try2
cp -r "$TRY1" "$TRY2"
record_env start "$TRY2/env.json"
if grep -qv '^instructions' "$WORK/failed"; then measure_timed "$TRY2"; fi
if grep -q '^instructions' "$WORK/failed"; then measure_instructions "$TRY2"; fi
record_env end "$TRY2/env.json"
figures "$TRY2"
compare "$TRY1/measured.csv" "$TRY2/measured.csv" --env "$TRY2/env.json"

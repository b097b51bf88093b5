#!/usr/bin/env bash
# bench.sh — time the back ends side by side and explain the difference.
set -euo pipefail
PROG=bench
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/bench.sh [--build DIR] [--delay S] [--flags N[,N...]] [--runs N]
                        [--max-req M] [--backends LIST] [--max-seconds S]
                        [--dest-parent DIR] [--results DIR] [-h]

Start a flagserver on a free port of 127.0.0.1 with a delay per response,
time the back ends with hyperfine on each workload, interleaved: in rounds,
each back end once a round, the order rotated every round. Then run each once
more with --trace and --summary, and print a table and sentences computed
from the figures: means with 95% confidence intervals, speedups over the
first back end with theirs, and a rank test for each other pair. Everything
goes to RESULTS/<UTC timestamp>/ (RESULTS/latest points to it): env.json
(the machine and its load over the run), rounds/, hyperfine-<workload>-
<backend>.{json,csv,md}, summary.csv, trace-<backend>-<workload>.csv,
report.md and PNG plots. The clients save the flags in a fresh temporary
directory inside --dest-parent, removed at the end. The defaults take about
two minutes.

options:
  --build DIR       the CMake build directory with the binaries (default: build)
  --delay S         seconds the server waits before each response (default: 0.1)
  --flags N[,N...]  workloads: 20 = the book's POP20, 194 = all flags (-a),
                    other N < 194 = the first N (-a -l N), more = the first
                    N/K flags K times (--repeat K); default: 20,194
  --runs N          rounds: timed runs per back end and workload, after 1
                    warm-up (default: 10); see --max-seconds
  --max-req M       most requests in flight for every back end but the
                    baseline (the list's first, one at a time; default: the
                    workload's size, so every request can overlap)
  --backends LIST   comma-separated subset of the back ends (default: all built);
                    speedups divide the first one's wall time
  --max-seconds S   time budget per back end and workload: when warm-up plus
                    runs would take longer at ceil(N/M) x delay each, the warm-up
                    is dropped and the runs cut, to 1 at least (default: 40),
                    so the baseline on 194 flags at 0.1 s runs twice, in the
                    first two rounds
  --dest-parent DIR where the downloads are written: a fresh temporary
                    directory inside DIR (default: /dev/shm if it is tmpfs,
                    else \$TMPDIR or /tmp; pass /tmp to include the disk)
  --results DIR     where the timestamped run directory goes (default: results/)
  -h, --help        show this help and exit

Progress goes to stderr; the table and the sentences go to stdout.
Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

BUILD=$ROOT/build DELAY=0.1 FLAGS=20,194 RUNS=10 MAXREQ='' BACKEND_LIST=''
MAX_SECONDS=40 RESULTS=$ROOT/results DESTP=
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) need "$@"; BUILD=$2; shift 2 ;;
    --delay) need "$@"; DELAY=$2; shift 2 ;;
    --flags) need "$@"; FLAGS=$2; shift 2 ;;
    --runs) need "$@"; RUNS=$2; shift 2 ;;
    --max-req) need "$@"; MAXREQ=$2; shift 2 ;;
    --backends) need "$@"; BACKEND_LIST=$2; shift 2 ;;
    --max-seconds) need "$@"; MAX_SECONDS=$2; shift 2 ;;
    --results) need "$@"; RESULTS=$2; shift 2 ;;
    --dest-parent) need "$@"; DESTP=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
done

is_seconds "$DELAY" || die "--delay needs seconds (like 0.1), not '$DELAY'"
{ is_uint "$RUNS" && [[ $RUNS -ge 1 ]]; } || die "--runs needs a number from 1, not '$RUNS'"
[[ -z $MAXREQ ]] || { is_uint "$MAXREQ" && [[ $MAXREQ -ge 1 ]]; } ||
    die "--max-req needs a number from 1, not '$MAXREQ'"
is_seconds "$MAX_SECONDS" || die "--max-seconds needs seconds, not '$MAX_SECONDS'"
IFS=, read -r -a WORKLOADS <<<"$FLAGS"
[[ ${#WORKLOADS[@]} -gt 0 ]] || die "--flags needs at least one workload"
for n in "${WORKLOADS[@]}"; do
    { is_uint "$n" && [[ $n -ge 1 ]]; } || die "--flags needs request counts like 20,194, not '$FLAGS'"
    workload_args "$n"
done
command -v hyperfine >/dev/null || die "hyperfine is not installed (make deps)"
command -v gnuplot >/dev/null || die "gnuplot is not installed (make deps: gnuplot-nox)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
use_dest_parent "$DESTP"
DEST_FS=$(stat -f -c %T "$DESTP" 2>/dev/null || echo unknown)

raise_nofile
new_results_dir "$RESULTS"
OUT=$RESULTS_DIR
make_scratch bench downloads

# m for a back end on a workload of n requests: the baseline (the list's
# first) makes one request at a time.
BASE=${ALL_BACKENDS[0]}
max_req_for() {
    if [[ $1 == "$BASE" ]]; then echo 1; else echo "${MAXREQ:-$2}"; fi
}
# Seconds one run takes at least: ceil(n/m) rounds of the delay.
estimate() { awk -v n="$1" -v m="$2" -v d="$DELAY" 'BEGIN { printf "%.3f", int((n + m - 1) / m) * d }'; }

# Plan: warm-ups and runs per back end and workload, and the total estimate.
declare -A WARMUP NRUNS
total=0
for n in "${WORKLOADS[@]}"; do
    for b in "${BACKENDS[@]}"; do
        est=$(estimate "$n" "$(max_req_for "$b" "$n")")
        read -r w r < <(awk -v e="$est" -v runs="$RUNS" -v cap="$MAX_SECONDS" 'BEGIN {
            w = 1; r = runs
            if (e > 0 && (w + r) * e > cap) { w = 0; r = int(cap / e); if (r < 1) r = 1; if (r > runs) r = runs }
            print w, r }')
        WARMUP[$n,$b]=$w NRUNS[$n,$b]=$r
        total=$(awk -v t="$total" -v e="$est" -v w="$w" -v r="$r" 'BEGIN { print t + (w + r + 1) * e }')
    done
done

say "results in ${OUT#"$ROOT"/}; workloads ${WORKLOADS[*]}; delay ${DELAY} s; back ends ${BACKENDS[*]}"
say "flags saved under $DL ($DEST_FS)"
say "waiting alone will take about $(printf '%.0f' "$total") s (ceil(N/m) x delay per run)"
start_server "$OUT" --delay "$DELAY"
say "flagserver on 127.0.0.1:$SERVER_PORT (pid $SERVER_PID)"

{
    echo "workload,requests,backend,max_req,delay_s,warmup,runs,dest_parent,dest_fs"
    for n in "${WORKLOADS[@]}"; do
        for b in "${BACKENDS[@]}"; do
            echo "$(workload_name "$n"),$n,$b,$(max_req_for "$b" "$n"),$DELAY,${WARMUP[$n,$b]},${NRUNS[$n,$b]},\"${DESTP//\"/}\",$DEST_FS"
        done
    done
} >"$OUT/plan.csv"

# The timed set of a workload: (label, command) pairs, timed together in
# rounds. The back ends come first; other clients may be appended (their
# label must not be a back end's). timed_add LABEL WARMUP RUNS COMMAND...
TIMED_LABELS=() TIMED_CMDS=()
declare -A TIMED_WARMUP TIMED_RUNS
timed_add() {
    local label=$1 w=$2 r=$3
    shift 3
    TIMED_LABELS+=("$label")
    TIMED_CMDS+=("$(printf '%q ' "$@")")
    TIMED_WARMUP[$label]=$w TIMED_RUNS[$label]=$r
}
backend_args() { # backend_args B N — the back end's words after its binary
    local m
    m=$(max_req_for "$1" "$2")
    CLIENT_ARGS=("${WORKLOAD_ARGS[@]}")
    [[ $1 == "$BASE" ]] || CLIENT_ARGS+=(-m "$m")
    CLIENT_ARGS+=(-s "$BASE_URL" -d "$DL/$1" -q)
}

# time_rounds WL — every command of the timed set once per round, in an
# order rotated each round, so that drift and a slow first place hit them all
# alike and runs of one round can be compared side by side; a command takes
# part in the first RUNS rounds only. One hyperfine session a round, kept as
# rounds/WL-round<k>.json (report.py merge-rounds gathers them per command).
time_rounds() {
    local wl=$1 count=${#TIMED_LABELS[@]} rounds=0 k i j label
    for label in "${TIMED_LABELS[@]}"; do
        ((TIMED_RUNS[$label] > rounds)) && rounds=${TIMED_RUNS[$label]}
    done
    for ((i = 0; i < count; i++)); do
        label=${TIMED_LABELS[i]}
        [[ ${TIMED_WARMUP[$label]} -eq 1 ]] || continue
        eval "${TIMED_CMDS[i]}" >/dev/null 2>&1 || true
    done
    mkdir -p "$OUT/rounds"
    for ((k = 1; k <= rounds; k++)); do
        local args=() order=()
        for ((j = 0; j < count; j++)); do
            i=$(((j + k - 1) % count))
            label=${TIMED_LABELS[i]}
            ((TIMED_RUNS[$label] >= k)) || continue
            args+=(--command-name "$label" "${TIMED_CMDS[i]% }")
            order+=("$label")
        done
        say "  $wl round $k/$rounds: ${order[*]}"
        hyperfine --shell=none --ignore-failure --runs 1 --style none \
            --export-json "$OUT/rounds/$wl-round$k.json" "${args[@]}" >>"$OUT/hyperfine.log" 2>&1 ||
            fail "hyperfine failed in round $k of $wl (see hyperfine.log)"
    done
}

record_env start "$OUT/env.json"
step=0 steps=$((${#WORKLOADS[@]} * 2))
for n in "${WORKLOADS[@]}"; do
    wl=$(workload_name "$n")
    workload_args "$n"
    TIMED_LABELS=() TIMED_CMDS=()
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" "$n"
        timed_add "$b" "${WARMUP[$n,$b]}" "${NRUNS[$n,$b]}" "${BIN[$b]}" "${CLIENT_ARGS[@]}"
    done
    step=$((step + 1))
    plan=''
    for b in "${TIMED_LABELS[@]}"; do plan+=" $b ${TIMED_WARMUP[$b]}+${TIMED_RUNS[$b]}"; done
    say "[$step/$steps] hyperfine on $wl ($n requests), interleaved in rounds (warm-up+runs):$plan"
    time_rounds "$wl"
    step=$((step + 1))
    say "[$step/$steps] traced runs on $wl: ${BACKENDS[*]}"
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" "$n"
        rc=0
        "${BIN[$b]}" "${CLIENT_ARGS[@]}" \
            --trace "$OUT/trace-$b-$wl.csv" --summary "$OUT/summary-$b-$wl.csv" || rc=$?
        [[ $rc -le 1 ]] || fail "$b failed on $wl (exit status $rc)"
        [[ $rc -eq 0 ]] || say "warning: $b had errors on $wl (see trace-$b-$wl.csv)"
    done
done
stop_server
record_env end "$OUT/env.json"

# summary.csv: every traced run's row, one header.
first=1
for n in "${WORKLOADS[@]}"; do
    for b in "${BACKENDS[@]}"; do
        f=$OUT/summary-$b-$(workload_name "$n").csv
        if [[ $first -eq 1 ]]; then cat "$f"; first=0; else tail -n +2 "$f"; fi
        rm -f "$f"
    done
done >"$OUT/summary.csv"

say "writing the report and the plots"
python "$SCRIPTS/report.py" merge-rounds "$OUT"
python "$SCRIPTS/report.py" bench "$OUT"
say "done: $OUT/report.md (and $RESULTS/latest)"

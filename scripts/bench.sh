#!/usr/bin/env bash
# bench.sh — time the back ends side by side and explain the difference.
set -euo pipefail
PROG=bench
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/peers.sh
source "$SCRIPTS/peers.sh"

FLOOR_RUNS=5 NODELAY_ROUNDS=5 TRACED_TRIES=3
usage() {
    cat <<EOF
usage: scripts/bench.sh [--build DIR] [--delay S] [--flags N[,N...]] [--runs N]
                        [--max-req M] [--backends LIST] [--max-seconds S]
                        [--dest-parent DIR] [--results DIR] [--peers]
                        [--tls | --tls-compare] [-h]

Start a flagserver on a free port of 127.0.0.1 with a delay per response,
time the back ends with hyperfine on each workload, interleaved: in rounds,
each back end once a round, the order rotated every round. Then run each once
more with --trace and --summary, and print a table and sentences computed
from the figures: means with 95% confidence intervals, speedups over the
first back end with theirs, and a rank test for each other pair. Everything
goes to RESULTS/<UTC timestamp>/ (RESULTS/latest points to it): command.txt
(this command line), env.json (the machine and its load over the run),
rounds/, hyperfine-<workload>-<backend>.{json,csv,md}, summary.csv,
trace-<backend>-<workload>.csv, report.md and PNG plots. The traced runs are timed from outside as well
(process-walls.csv); one whose wall falls outside its timed runs' range is
run again (up to $TRACED_TRIES tries when it is under 2 s; the report flags
one still outside), and two small sets of runs give the report its floor
and its counterexample: each back end on one request $FLOOR_RUNS times
(floor-<backend>.csv: a run's start and exit) and on the largest workload
$NODELAY_ROUNDS times against a server with no delay (nodelay-<backend>.csv).
The clients save the flags in a fresh temporary directory inside
--dest-parent, removed at the end. The defaults take about two minutes.

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
  --peers           also time the clients people use instead (peers/: Python
                    one at a time, ThreadPoolExecutor, asyncio; curl --parallel,
                    aria2c, wget2) on the same server, flags and -m; each is
                    checked against a C client's files first, and a peer that
                    fails is reported, not timed (peers.csv; its runs are in
                    the rounds with the back ends)
  --tls             everything over HTTPS: every flagserver runs with --tls
                    (a P-256 certificate it makes for 127.0.0.1, written to
                    the scratch folder with --cert-out) and every client and
                    peer verifies it (--cacert); the report adds the busy-thread
                    sentences (tls-plan.csv)
  --tls-compare     HTTP and HTTPS side by side: a second flagserver, --tls,
                    with the same delay, and each back end timed against both
                    in the same rounds (label tls-<backend>) and traced on
                    both (trace-tls-<backend>-<workload>.csv,
                    summary-tls-<backend>-<workload>.csv); the report's
                    section "What TLS does to each model" sets each model's
                    speedup over HTTP beside its speedup over HTTPS, with the
                    TLS handshake in the phase account and whether each
                    one-thread back end's thread was the bottleneck. The floor,
                    no-delay runs, system calls and peers stay on HTTP
  -h, --help        show this help and exit

Progress goes to stderr; the table and the sentences go to stdout.
Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

# How this run was asked for, kept in command.txt (make readme-figures quotes it).
COMMAND_LINE="scripts/bench.sh${*:+ $*}"
BUILD=$ROOT/build DELAY=0.1 FLAGS=20,194 RUNS=10 MAXREQ='' BACKEND_LIST=''
MAX_SECONDS=40 RESULTS=$ROOT/results DESTP='' PEERS=0 TLS=0 TLS_COMPARE=0
parse_options '--build=BUILD --delay=DELAY --flags=FLAGS --runs=RUNS --max-req=MAXREQ
    --backends=BACKEND_LIST --max-seconds=MAX_SECONDS --results=RESULTS
    --dest-parent=DESTP --peers:PEERS --tls:TLS --tls-compare:TLS_COMPARE' "$@"
[[ $TLS -eq 0 || $TLS_COMPARE -eq 0 ]] || die "--tls and --tls-compare can't be used together"
# --tls: every start_server below makes an HTTPS server (lib.sh).
[[ $TLS -eq 0 ]] || SERVER_TLS=1

is_seconds "$DELAY" || die "--delay needs seconds (like 0.1), not '$DELAY'"
{ is_uint "$RUNS" && [[ $RUNS -ge 1 ]]; } || die "--runs needs a number from 1, not '$RUNS'"
[[ -z $MAXREQ ]] || { is_uint "$MAXREQ" && [[ $MAXREQ -ge 1 ]]; } ||
    die "--max-req needs a number from 1, not '$MAXREQ'"
is_seconds "$MAX_SECONDS" || die "--max-seconds needs seconds, not '$MAX_SECONDS'"
use_workloads "$FLAGS"
command -v hyperfine >/dev/null || die "hyperfine is not installed (make deps)"
command -v gnuplot >/dev/null || die "gnuplot is not installed (make deps: gnuplot-nox)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
[[ $PEERS -eq 0 ]] || peers_check_setup
use_dest_parent "$DESTP"
DEST_FS=$(stat -f -c %T "$DESTP" 2>/dev/null || echo unknown)

raise_nofile
new_results_dir "$RESULTS"
OUT=$RESULTS_DIR
echo "$COMMAND_LINE" >"$OUT/command.txt"
make_scratch bench downloads

# m for a back end on a workload of n requests: the baseline (the list's
# first) makes one request at a time.
BASE=${ALL_BACKENDS[0]}
max_req_for() {
    if [[ $1 == "$BASE" ]]; then echo 1; else echo "${MAXREQ:-$2}"; fi
}
# Seconds one run takes at least: ceil(n/m) rounds of the delay.
estimate() { awk -v n="$1" -v m="$2" -v d="$DELAY" 'BEGIN { printf "%.3f", int((n + m - 1) / m) * d }'; }

# budget EST — BUDGET_W warm-ups and BUDGET_R runs for a command of EST
# seconds a run: 1 and --runs, cut to fit --max-seconds (1 run at least).
budget() {
    read -r BUDGET_W BUDGET_R < <(awk -v e="$1" -v runs="$RUNS" -v cap="$MAX_SECONDS" 'BEGIN {
        w = 1; r = runs
        if (e > 0 && (w + r) * e > cap) { w = 0; r = int(cap / e); if (r < 1) r = 1; if (r > runs) r = runs }
        print w, r }')
}

# Plan: warm-ups and runs per back end and workload, and the total estimate.
declare -A WARMUP NRUNS
total=0
for n in "${WORKLOADS[@]}"; do
    for b in "${BACKENDS[@]}"; do
        est=$(estimate "$n" "$(max_req_for "$b" "$n")")
        budget "$est"
        w=$BUDGET_W r=$BUDGET_R
        WARMUP[$n,$b]=$w NRUNS[$n,$b]=$r
        total=$(awk -v t="$total" -v e="$est" -v w="$w" -v r="$r" -v k=$((TLS_COMPARE + 1)) 'BEGIN { print t + k * (w + r + 1) * e }')
    done
done

say "results in ${OUT#"$ROOT"/}; workloads ${WORKLOADS[*]}; delay ${DELAY} s; back ends ${BACKENDS[*]}"
say "flags saved under $DL ($DEST_FS)"
say "waiting alone will take about $(printf '%.0f' "$total") s (ceil(N/m) x delay per run)"
TLS_BASE_URL='' TLS_CACERT_ARGS=()
if [[ $TLS_COMPARE -eq 1 ]]; then
    # The HTTPS server first, set aside to run beside the HTTP one.
    SERVER_TLS=1 start_server "$WORK" --delay "$DELAY"
    TLS_BASE_URL=$BASE_URL TLS_CACERT_ARGS=("${CACERT_ARGS[@]}")
    say "flagserver --tls on 127.0.0.1:$SERVER_PORT (pid $SERVER_PID)"
    set_server_aside
fi
start_server "$OUT" --delay "$DELAY"
say "flagserver$([[ $TLS -eq 0 ]] || echo " --tls") on 127.0.0.1:$SERVER_PORT (pid $SERVER_PID)"

{
    echo "workload,requests,backend,max_req,delay_s,warmup,runs,dest_parent,dest_fs,book"
    for n in "${WORKLOADS[@]}"; do
        for b in "${BACKENDS[@]}"; do
            echo "$(workload_name "$n"),$n,$b,$(max_req_for "$b" "$n"),$DELAY,${WARMUP[$n,$b]},${NRUNS[$n,$b]},\"${DESTP//\"/}\",$DEST_FS,${BOOK[$b]}"
        done
    done
} >"$OUT/plan.csv"
# Which label ran over which scheme, for the report's TLS section.
if [[ $TLS -eq 1 || $TLS_COMPARE -eq 1 ]]; then
    echo "workload,requests,backend,label,scheme" >"$OUT/tls-plan.csv"
    for n in "${WORKLOADS[@]}"; do
        for b in "${BACKENDS[@]}"; do
            if [[ $TLS -eq 1 ]]; then
                echo "$(workload_name "$n"),$n,$b,$b,https"
            else
                echo "$(workload_name "$n"),$n,$b,$b,http"
                echo "$(workload_name "$n"),$n,$b,tls-$b,https"
            fi
        done
    done >>"$OUT/tls-plan.csv"
fi

# The timed set of a workload: (label, command) pairs, timed together in
# rounds. The back ends come first; other clients may be appended (their
# label must not be a back end's). timed_add LABEL WARMUP RUNS COMMAND...
# TIMED_PREPARE[LABEL]: a command run untimed before each of its runs.
TIMED_LABELS=() TIMED_CMDS=()
declare -A TIMED_WARMUP TIMED_RUNS TIMED_PREPARE=()
timed_add() {
    local label=$1 w=$2 r=$3
    shift 3
    TIMED_LABELS+=("$label")
    TIMED_CMDS+=("$(printf '%q ' "$@")")
    TIMED_WARMUP[$label]=$w TIMED_RUNS[$label]=$r
}
backend_args() { # backend_args B N [tls] — the back end's words after its binary
    local m
    m=$(max_req_for "$1" "$2")
    CLIENT_ARGS=("${WORKLOAD_ARGS[@]}")
    [[ $1 == "$BASE" ]] || CLIENT_ARGS+=(-m "$m")
    if [[ ${3:-} == tls ]]; then # --tls-compare's HTTPS side
        CLIENT_ARGS+=(-s "$TLS_BASE_URL" "${TLS_CACERT_ARGS[@]}" -d "$DL/tls-$1" -q)
    else
        CLIENT_ARGS+=(-s "$BASE_URL" "${CACERT_ARGS[@]}" -d "$DL/$1" -q)
    fi
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
        local args=() order=() prep=()
        for ((j = 0; j < count; j++)); do
            i=$(((j + k - 1) % count))
            label=${TIMED_LABELS[i]}
            ((TIMED_RUNS[$label] >= k)) || continue
            args+=(--command-name "$label" "${TIMED_CMDS[i]% }")
            order+=("$label")
            # hyperfine takes one --prepare for all or one per command.
            [[ ${#TIMED_PREPARE[@]} -eq 0 ]] || prep+=(--prepare "${TIMED_PREPARE[$label]:-true}")
        done
        say "  $wl round $k/$rounds: ${order[*]}"
        hyperfine --shell=none --ignore-failure --runs 1 --style none \
            --export-json "$OUT/rounds/$wl-round$k.json" "${prep[@]}" "${args[@]}" >>"$OUT/hyperfine.log" 2>&1 ||
            fail "hyperfine failed in round $k of $wl (see hyperfine.log)"
    done
}

# timed_client KIND WORKLOAD BACKEND ROUND CMD...: run a client and append its
# whole-process wall time, measured outside it, and exit status to
# process-walls.csv (the phase account's total; results/README.md). Returns
# the client's exit status.
timed_client() {
    local kind=$1 wl=$2 b=$3 round=$4 rc=0
    shift 4
    process_wall "$@" || rc=$?
    echo "$kind,$wl,$b,$round,$PROCESS_WALL_S,$rc" >>"$OUT/process-walls.csv"
    return "$rc"
}
echo "kind,workload,backend,round,process_wall_s,exit_status" >"$OUT/process-walls.csv"

record_env start "$OUT/env.json"
step=0 steps=$((${#WORKLOADS[@]} * 2 + 2))
for n in "${WORKLOADS[@]}"; do
    wl=$(workload_name "$n")
    workload_args "$n"
    TIMED_LABELS=() TIMED_CMDS=()
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" "$n"
        timed_add "$b" "${WARMUP[$n,$b]}" "${NRUNS[$n,$b]}" "${BIN[$b]}" "${CLIENT_ARGS[@]}"
        if [[ $TLS_COMPARE -eq 1 ]]; then
            backend_args "$b" "$n" tls
            timed_add "tls-$b" "${WARMUP[$n,$b]}" "${NRUNS[$n,$b]}" "${BIN[$b]}" "${CLIENT_ARGS[@]}"
        fi
    done
    [[ $PEERS -eq 0 ]] || peers_add "$wl" "$n" "${MAXREQ:-$n}" "$DL" "$OUT"
    step=$((step + 1))
    plan=''
    for b in "${TIMED_LABELS[@]}"; do plan+=" $b ${TIMED_WARMUP[$b]}+${TIMED_RUNS[$b]}"; done
    say "[$step/$steps] hyperfine on $wl ($n requests), interleaved in rounds (warm-up+runs):$plan"
    time_rounds "$wl"
    python "$SCRIPTS/report.py" merge-rounds "$OUT"
    step=$((step + 1))
    say "[$step/$steps] traced runs on $wl: ${BACKENDS[*]}"
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" "$n"
        # A traced run whose wall falls outside its timed runs' range tells
        # of another run than the speedup: try again (up to TRACED_TRIES
        # when a run is short); the report flags the last if it is still out.
        for ((try = 1; try <= TRACED_TRIES; try++)); do
            rc=0
            rm -f "$OUT/summary-$b-$wl.csv"
            timed_client traced "$wl" "$b" "$try" "${BIN[$b]}" "${CLIENT_ARGS[@]}" \
                --trace "$OUT/trace-$b-$wl.csv" --summary "$OUT/summary-$b-$wl.csv" || rc=$?
            [[ $rc -le 1 ]] || fail "$b failed on $wl (exit status $rc)"
            why=$(python "$SCRIPTS/report.py" in-range "$OUT" "$wl" "$b" "$PROCESS_WALL_S") && break
            awk -v w="$PROCESS_WALL_S" 'BEGIN { exit !(w < 2) }' || break
            ((try == TRACED_TRIES)) || say "  $b's traced run $why: again"
        done
        [[ $rc -eq 0 ]] || say "warning: $b had errors on $wl (see trace-$b-$wl.csv)"
        [[ $TLS_COMPARE -eq 1 ]] || continue
        backend_args "$b" "$n" tls
        rc=0
        timed_client traced-tls "$wl" "$b" 1 "${BIN[$b]}" "${CLIENT_ARGS[@]}" \
            --trace "$OUT/trace-tls-$b-$wl.csv" --summary "$OUT/summary-tls-$b-$wl.csv" || rc=$?
        [[ $rc -le 1 ]] || fail "$b over HTTPS failed on $wl (exit status $rc)"
        [[ $rc -eq 0 ]] || say "warning: $b had errors over HTTPS on $wl (see trace-tls-$b-$wl.csv)"
    done
done
stop_aside_servers

# The floor: one request, so a run's start and exit can be told from its
# requests (the report's ideal and the phases' exit); the back ends take
# turns so the machine's load falls on all alike.
step=$((step + 1))
say "[$step/$steps] floor: $FLOOR_RUNS rounds of one request per back end"
workload_args 1
for ((round = 1; round <= FLOOR_RUNS; round++)); do
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" 1
        timed_client floor all1 "$b" "$round" "${BIN[$b]}" "${CLIENT_ARGS[@]}" \
            --summary "$OUT/floor-$b.csv" || fail "$b failed its one-request run"
    done
done
stop_server

# The counterexample: with no server delay there is nothing to overlap.
nmax=$(printf '%s\n' "${WORKLOADS[@]}" | sort -n | tail -n 1)
workload_args "$nmax"
step=$((step + 1))
say "[$step/$steps] no delay: $NODELAY_ROUNDS rounds of $(workload_name "$nmax") per back end, server without delay"
start_server "$OUT" --delay 0
for ((round = 1; round <= NODELAY_ROUNDS; round++)); do
    for b in "${BACKENDS[@]}"; do
        backend_args "$b" "$nmax"
        timed_client nodelay "$(workload_name "$nmax")" "$b" "$round" "${BIN[$b]}" \
            "${CLIENT_ARGS[@]}" --summary "$OUT/nodelay-$b.csv" || fail "$b failed with no delay"
    done
done
stop_server
record_env end "$OUT/env.json"

# System calls per request of the one-thread back ends, counted under strace
# in runs of their own after the timed ones (scripts/syscalls.sh).
for b in "${BACKENDS[@]}"; do
    [[ -n ${ONE_THREAD[$b]:-} ]] || continue
    if [[ $TLS -eq 1 ]]; then
        say "no system call counts: syscalls.sh runs over HTTP only"
        break
    fi
    say "counting system calls per request (untimed, under strace)"
    "$SCRIPTS/syscalls.sh" --build "$BUILD" --backends "$(IFS=,; echo "${BACKENDS[*]}")" \
        --flags "$FLAGS" --delay "$DELAY" ${MAXREQ:+--max-req "$MAXREQ"} --dest-parent "$DESTP" \
        --out "$OUT/syscalls.csv" || say "warning: no system call counts (see above)"
    break
done

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

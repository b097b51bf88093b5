#!/usr/bin/env bash
# coro_cost.sh — what a coroutine costs beside a thread and a callback:
# one switch, memory and CPU per request at thousands in flight, and the
# wall at 194 flags, then report.py's coroutine section.
set -euo pipefail
PROG=coro_cost
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/coro_cost.sh [--build DIR] [--switch-rounds R] [--runs N]
                            [--in-flight N] [--rounds R] [--delay S]
                            [--dest-parent DIR] [--results DIR] [-h]

Measures, in one run, what the coroutine back end's model costs beside the
thread pool's (a thread per request in flight) and the event loop's
callbacks (epoll), and writes RESULTS/<UTC timestamp>-coro/ (RESULTS/latest
points to it):
  switch.csv    tools/coro_cost: one coroutine switch, one glibc
                swapcontext, one thread context switch (two threads on one
                core, a futex handed back and forth), one callback dispatch
                (an indirect call through a table), and making and ending a
                coroutine and a thread; R rounds, the order rotated
  inflight.csv  the --summary rows of the back ends that stand for the three
                models (the build's list: each ONE_THREAD back end whose
                name is coro or epoll, and threadpool) at N requests with
                -m N, so all N are in flight at once, from a server with
                --delay S; R rounds, the order alternated; RSS per request
                in flight = peak RSS / in-flight peak, CPU per request
  bench/        scripts/bench.sh on 194 flags at 0.1 s delay, the same
                three, --runs N interleaved rounds: wall times and the rank
                test of each pair (bench/latest/report.md)
  report.md     report.py coro: the figures, the targets (coro's wall not
                significantly slower than epoll's; memory per request in
                flight at most 1.5x epoll's and CPU per request at most
                1.2x; a coroutine switch at most 1/10 of a thread's), and
                the same download in three shapes (sequential, callback,
                coroutine) quoted from the source
  env.json      the machine and its load over the run
Takes about four minutes with the defaults. Progress goes to stderr.

options:
  --build DIR          CMake build directory with the binaries (default: build)
  --switch-rounds R    rounds of tools/coro_cost (default: 7)
  --runs N             bench.sh rounds at 194 flags (default: 20)
  --in-flight N        requests in flight for memory and CPU (default: 10000)
  --rounds R           rounds at N in flight (default: 5)
  --delay S            the server's delay at N in flight (default: 1)
  --dest-parent DIR    where the flags are saved (default: /dev/shm if it is
                       tmpfs, else \$TMPDIR or /tmp)
  --results DIR        parent of the run directory (default: results/)
  -h, --help           show this help and exit
Exit status: 0 done, 1 a step failed, 2 usage.
EOF
}

BUILD=$ROOT/build SWITCH_ROUNDS=7 RUNS=20 NFLIGHT=10000 ROUNDS=5 DELAY=1 DESTP='' RESULTS=$ROOT/results
parse_options '--build=BUILD --switch-rounds=SWITCH_ROUNDS --runs=RUNS --in-flight=NFLIGHT
    --rounds=ROUNDS --delay=DELAY --dest-parent=DESTP --results=RESULTS' "$@"
for v in SWITCH_ROUNDS RUNS NFLIGHT ROUNDS; do
    { is_uint "${!v}" && [[ ${!v} -ge 1 ]]; } || die "${v,,} needs a whole number >= 1, not '${!v}'"
done
((NFLIGHT <= 100000)) || die "--in-flight is at most 100000, not $NFLIGHT"
is_seconds "$DELAY" || die "--delay needs seconds (like 1), not '$DELAY'"
use_build "$BUILD"
use_dest_parent "$DESTP"
use_backends "$BUILD"
COST=$BUILD/tools/coro_cost
[[ -x $COST ]] || fail "$COST is not built (run 'make build')"

# The three models, from the one list: the coroutine and callback back ends
# are the one-thread ones named so; the thread per request is the pool.
MODELS=()
for b in "${ALL_BACKENDS[@]}"; do
    case $b in
    coro | epoll) [[ -n ${ONE_THREAD[$b]:-} ]] && MODELS+=("$b") ;;
    threadpool) MODELS+=("$b") ;;
    esac
done
[[ ${#MODELS[@]} -eq 3 ]] || fail "the build's list lacks coro, epoll or threadpool (${ALL_BACKENDS[*]})"

raise_nofile
new_results_dir "$RESULTS" coro
OUT=$RESULTS_DIR
make_scratch coro downloads
record_env start "$OUT/env.json"
say "results in $OUT"

say "switches: tools/coro_cost, $SWITCH_ROUNDS rounds"
"$COST" -r "$SWITCH_ROUNDS" >"$OUT/switch.csv" 2>"$WORK/cost.err" ||
    fail "tools/coro_cost failed: $(head -n 3 "$WORK/cost.err")"
sed 's/^/  /' "$WORK/cost.err" >&2

say "$NFLIGHT in flight (-m $NFLIGHT, $DELAY s delay): ${MODELS[*]}, $ROUNDS rounds"
start_server "$WORK" --delay "$DELAY" --max-conns $((2 * NFLIGHT + 100))
workload_args "$NFLIGHT"
HEADER=
for ((r = 0; r < ROUNDS; r++)); do
    alternate "$r" "${MODELS[@]}"
    for b in "${ORDER[@]}"; do
        extra=()
        [[ -n ${ONE_THREAD[$b]:-} ]] || extra=(--stack-size 64K) # the thread pool's floor, as scale.sh
        say "round $((r + 1))/$ROUNDS: $b"
        rm -rf "$DL/dl" "$WORK/row.csv"
        rc=0
        "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "$NFLIGHT" "${extra[@]}" -s "$BASE_URL" -d "$DL/dl" -q \
            --summary "$WORK/row.csv" >"$WORK/out" 2>"$WORK/err" || rc=$?
        rm -rf "$DL/dl"
        if [[ ! -s $WORK/row.csv ]]; then
            say "warning: $b at $NFLIGHT in flight left no summary (exit status $rc): $(head -n 1 "$WORK/err")"
            continue
        fi
        if [[ -z $HEADER ]]; then
            HEADER=$(head -n 1 "$WORK/row.csv")
            echo "round,exit_status,$HEADER" >"$OUT/inflight.csv"
        fi
        echo "$((r + 1)),$rc,$(tail -n 1 "$WORK/row.csv")" >>"$OUT/inflight.csv"
        sleep 1 # the server closes the last run's sockets
    done
done
stop_server
[[ -n $HEADER ]] || fail "no run at $NFLIGHT in flight left a summary"

say "194 flags, 0.1 s delay: scripts/bench.sh, $RUNS rounds"
models=$(
    IFS=,
    echo "${MODELS[*]}"
)
"$SCRIPTS/bench.sh" --build "$BUILD" --delay 0.1 --flags 194 --runs "$RUNS" --backends "$models" \
    --dest-parent "$DESTP" --results "$OUT/bench" >"$OUT/bench.txt" ||
    fail "bench.sh failed (see $OUT/bench.txt)"
record_env end "$OUT/env.json"

python "$SCRIPTS/report.py" coro "$OUT" --source "$ROOT"
say "report: $OUT/report.md"

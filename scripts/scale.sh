#!/usr/bin/env bash
# scale.sh — 100, 1000 and 10000 requests in flight: what each back end pays
# for concurrency in threads, memory, context switches and CPU.
set -euo pipefail
PROG=scale
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/scale.sh [--build DIR] [--delay S] [--max-req LIST]
                        [--backends LIST] [--timeout S] [--results DIR] [-h]

For each m in the list, run the back ends once on m requests with -m m (all
in flight at once, one round of the delay: ideal wall = delay) against a
flagserver on a free port of 127.0.0.1, and write their --summary rows to
RESULTS/<UTC timestamp>/scale.csv and a table to report.md. A back end that
fails at a size (say, no memory for 10000 threads) is recorded with its exit
status in failed.csv and the run goes on.

options:
  --build DIR       the CMake build directory with the binaries (default: build)
  --delay S         server delay in seconds (default: 1)
  --max-req LIST    requests in flight (default: 100,1000,10000)
  --backends LIST   comma-separated subset of sequential,threadpool,uring
                    (default: threadpool,uring; sequential takes m x delay)
  --timeout S       the clients' per-request timeout (default: 60)
  --results DIR     where the timestamped run directory goes (default: results/)
  -h, --help        show this help and exit

Raises the open-file limit to its hard limit. Progress goes to stderr.
Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

BUILD=$ROOT/build DELAY=1 MAXREQS=100,1000,10000 BACKEND_LIST=threadpool,uring TIMEOUT=60
RESULTS=$ROOT/results
need() { [[ $# -ge 2 && -n $2 ]] || die "option '$1' needs a value"; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) need "$@"; BUILD=$2; shift 2 ;;
    --delay) need "$@"; DELAY=$2; shift 2 ;;
    --max-req) need "$@"; MAXREQS=$2; shift 2 ;;
    --backends) need "$@"; BACKEND_LIST=$2; shift 2 ;;
    --timeout) need "$@"; TIMEOUT=$2; shift 2 ;;
    --results) need "$@"; RESULTS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
done
is_seconds "$DELAY" || die "--delay needs seconds (like 1), not '$DELAY'"
is_seconds "$TIMEOUT" || die "--timeout needs seconds, not '$TIMEOUT'"
IFS=, read -r -a ML <<<"$MAXREQS"
[[ ${#ML[@]} -gt 0 ]] || die "--max-req needs at least one number"
for m in "${ML[@]}"; do
    { is_uint "$m" && [[ $m -ge 1 && $m -le 1000000 ]]; } ||
        die "--max-req needs numbers from 1 to 1000000, not '$MAXREQS'"
    workload_args "$m"
done
parse_backends "$BACKEND_LIST"
[[ -d $BUILD ]] || die "build directory '$BUILD' does not exist (run 'make build')"
BUILD=$(cd "$BUILD" && pwd)
declare -A BIN
for b in "${BACKENDS[@]}"; do BIN[$b]=$(backend_bin "$BUILD" "$b"); done

raise_nofile
nofile=$(ulimit -n)
new_results_dir "$RESULTS"
OUT=$RESULTS_DIR
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-scale.XXXXXX")
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "results in $OUT; delay ${DELAY} s; open-file limit $nofile"
start_server "$BUILD" "$OUT" --delay "$DELAY"
CSV=$OUT/scale.csv
for m in "${ML[@]}"; do
    workload_args "$m"
    for b in "${BACKENDS[@]}"; do
        if [[ $b != sequential && $m -gt $((nofile - 64)) ]]; then
            say "warning: -m $m needs more than the open-file limit ($nofile) allows"
        fi
        say "$b: $m requests, -m $m (ideal ${DELAY} s)"
        rm -f "$WORK/row.csv"
        rc=0
        "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "$m" -s "$BASE_URL" -d "$WORK/dl" -q \
            --timeout "$TIMEOUT" --summary "$WORK/row.csv" 2>"$WORK/err" || rc=$?
        if [[ ! -s $WORK/row.csv ]]; then
            say "warning: $b failed at -m $m (exit status $rc): $(head -n 1 "$WORK/err")"
            [[ -s $OUT/failed.csv ]] || echo "backend,max_req,exit_status,error" >"$OUT/failed.csv"
            printf '%s,%s,%s,"%s"\n' "$b" "$m" "$rc" "$(head -n 1 "$WORK/err" | tr -d '"')" \
                >>"$OUT/failed.csv"
            continue
        fi
        [[ $rc -eq 0 ]] || say "warning: $b had errors at -m $m (exit status $rc)"
        [[ -s $CSV ]] || echo "max_req_asked,exit_status,$(head -n 1 "$WORK/row.csv")" >"$CSV"
        echo "$m,$rc,$(tail -n 1 "$WORK/row.csv")" >>"$CSV"
        rm -rf "${WORK:?}/dl"
    done
done
stop_server
[[ -s $CSV ]] || die "no back end finished a run"
python "$SCRIPTS/report.py" scale "$OUT"
say "done: $OUT/report.md (and $RESULTS/latest)"

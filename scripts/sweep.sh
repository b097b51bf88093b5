#!/usr/bin/env bash
# sweep.sh — the back ends across server delays, requests in flight and
# request counts, into one CSV, plotted against the ideal ceil(N/m) x delay.
set -euo pipefail
PROG=sweep
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/sweep.sh [--build DIR] [--delays LIST] [--max-req LIST]
                        [--requests LIST] [--backends LIST] [--runs K]
                        [--max-run S] [--wide] [--dest-parent DIR]
                        [--results DIR] [-h]

For every server delay, request count N and max in flight m, run each back
end (the baseline, the build's first back end, once per delay and N: it makes
one request at a time) and append its --summary row to
RESULTS/<UTC timestamp>/sweep.csv; then plot speedup over the baseline vs
concurrency (speedup.png) and wall time vs delay (wall-vs-delay.png), each
with the ideal ceil(N/m) x delay beside the measured, into report.md.
env.json records the machine and its load over the runs (as make bench's).

options:
  --build DIR        the CMake build directory with the binaries (default: build)
  --delays LIST      server delays in seconds (default: 0,0.01,0.1,0.5)
  --max-req LIST     requests in flight m (default: 1,4,16,64,194); m > N is
                     replaced by N
  --requests LIST    request counts N (default: 20,194); up to 194 = the first
                     N flags, more = the first N/K flags K times (--repeat K)
  --backends LIST    comma-separated subset of the back ends (default: all
                     built); without the baseline, speedups divide N x delay
  --runs K           runs per point, each a row of sweep.csv (default: 1);
                     the plots use the fastest
  --max-run S        skip points whose ideal ceil(N/m) x delay exceeds S seconds
                     (default: 20); the skipped are listed
  --wide             the big grid: --requests 20,194,1940,9700
                     --max-req 1,4,16,64,194,1000,4000 --max-run 60
                     (options after --wide override it)
  --dest-parent DIR  where the downloads are written: a fresh temporary
                     directory inside DIR (default: /dev/shm if it is tmpfs,
                     else $TMPDIR or /tmp; pass /tmp to include the disk)
  --results DIR      where the timestamped run directory goes (default: results/)
  -h, --help         show this help and exit

A run that fails (say, the thread pool can't start 4000 threads) is listed
in failed.csv and the sweep goes on. The default grid takes about 4 minutes
(--wide: about 15). Progress goes to stderr.
Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

BUILD=$ROOT/build DELAYS=0,0.01,0.1,0.5 MAXREQS=1,4,16,64,194 REQUESTS=20,194
BACKEND_LIST='' RUNS=1 MAX_RUN=20 RESULTS=$ROOT/results DESTP=
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) need "$@"; BUILD=$2; shift 2 ;;
    --delays) need "$@"; DELAYS=$2; shift 2 ;;
    --max-req) need "$@"; MAXREQS=$2; shift 2 ;;
    --requests) need "$@"; REQUESTS=$2; shift 2 ;;
    --backends) need "$@"; BACKEND_LIST=$2; shift 2 ;;
    --runs) need "$@"; RUNS=$2; shift 2 ;;
    --max-run) need "$@"; MAX_RUN=$2; shift 2 ;;
    --wide) REQUESTS=20,194,1940,9700 MAXREQS=1,4,16,64,194,1000,4000 MAX_RUN=60; shift ;;
    --dest-parent) need "$@"; DESTP=$2; shift 2 ;;
    --results) need "$@"; RESULTS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
done

IFS=, read -r -a DLIST <<<"$DELAYS"
IFS=, read -r -a ML <<<"$MAXREQS"
IFS=, read -r -a NL <<<"$REQUESTS"
[[ ${#DLIST[@]} -gt 0 && ${#ML[@]} -gt 0 && ${#NL[@]} -gt 0 ]] || die "empty --delays, --max-req or --requests"
for d in "${DLIST[@]}"; do is_seconds "$d" || die "--delays needs seconds like 0,0.1, not '$DELAYS'"; done
for m in "${ML[@]}"; do
    { is_uint "$m" && [[ $m -ge 1 ]]; } || die "--max-req needs numbers from 1, not '$MAXREQS'"
done
for n in "${NL[@]}"; do
    { is_uint "$n" && [[ $n -ge 1 ]]; } || die "--requests needs numbers from 1, not '$REQUESTS'"
    workload_args "$n"
done
{ is_uint "$RUNS" && [[ $RUNS -ge 1 ]]; } || die "--runs needs a number from 1, not '$RUNS'"
is_seconds "$MAX_RUN" || die "--max-run needs seconds, not '$MAX_RUN'"
command -v gnuplot >/dev/null || die "gnuplot is not installed (make deps: gnuplot-nox)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
use_dest_parent "$DESTP"

# The points: delay n backend m, with m clamped to n and deduplicated; the
# baseline (the list's first) makes one request at a time.
BASE=${ALL_BACKENDS[0]}
ideal() { awk -v n="$1" -v m="$2" -v d="$3" 'BEGIN { printf "%.6f", int((n + m - 1) / m) * d }'; }
over() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
points=() skipped=() total=0
for d in "${DLIST[@]}"; do
    for n in "${NL[@]}"; do
        for b in "${BACKENDS[@]}"; do
            if [[ $b == "$BASE" ]]; then
                ms=(1)
            else
                declare -A seen=()
                ms=()
                for m in "${ML[@]}"; do
                    ((m > n)) && m=$n
                    [[ -n ${seen[$m]:-} ]] || ms+=("$m")
                    seen[$m]=1
                done
                unset seen
            fi
            for m in "${ms[@]}"; do
                est=$(ideal "$n" "$m" "$d")
                if over "$est" "$MAX_RUN"; then
                    skipped+=("$d,$n,$b,$m,$est")
                else
                    points+=("$d $n $b $m")
                    total=$(awk -v t="$total" -v e="$est" -v k="$RUNS" 'BEGIN { print t + k * e }')
                fi
            done
        done
    done
done
[[ ${#points[@]} -gt 0 ]] || die "every point is over --max-run $MAX_RUN s"

raise_nofile
new_results_dir "$RESULTS"
OUT=$RESULTS_DIR
make_scratch sweep downloads
{
    echo "delay_s,requests,backend,max_req,ideal_wall_s"
    for s in "${skipped[@]}"; do echo "$s"; done
} >"$OUT/skipped.csv"
say "results in $OUT"
say "${#points[@]} points x $RUNS run(s), ${#skipped[@]} skipped as over ${MAX_RUN} s (skipped.csv); waiting alone takes about $(printf '%.0f' "$total") s"

CSV=$OUT/sweep.csv
step=0 cur_delay=''
record_env start "$OUT/env.json"
for p in "${points[@]}"; do
    read -r d n b m <<<"$p"
    if [[ $d != "$cur_delay" ]]; then
        restart_server "$OUT" --delay "$d"
        cur_delay=$d
    fi
    step=$((step + 1))
    workload_args "$n"
    est=$(ideal "$n" "$m" "$d")
    say "[$step/${#points[@]}] delay ${d} s, $n requests, $b -m $m (ideal $(awk -v e="$est" 'BEGIN { printf "%g", e }') s)"
    for ((k = 1; k <= RUNS; k++)); do
        rm -f "$WORK/row.csv"
        rc=0
        "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "$m" -s "$BASE_URL" -d "$DL/$b" -q \
            --summary "$WORK/row.csv" || rc=$?
        if [[ $rc -gt 1 || ! -s $WORK/row.csv ]]; then
            # Say, no memory for thousands of threads: note it and go on.
            say "warning: $b failed at delay $d, $n requests, -m $m (exit status $rc); see failed.csv"
            [[ -s $OUT/failed.csv ]] || echo "delay_s,requests,backend,max_req,exit_status" >"$OUT/failed.csv"
            echo "$d,$n,$b,$m,$rc" >>"$OUT/failed.csv"
            break
        fi
        [[ $rc -eq 0 ]] || say "warning: $b had errors at delay $d, $n requests, -m $m"
        if [[ ! -s $CSV ]]; then
            echo "delay_s,max_req_asked,ideal_wall_s,run,$(head -n 1 "$WORK/row.csv")" >"$CSV"
        fi
        echo "$d,$m,$est,$k,$(tail -n 1 "$WORK/row.csv")" >>"$CSV"
    done
    # The downloaded files of a big N are not needed; keep the disk small.
    rm -rf "${DL:?}/$b"
done
stop_server
record_env end "$OUT/env.json"

say "writing the plots"
python "$SCRIPTS/report.py" sweep "$OUT"
say "done: $OUT/report.md (and $RESULTS/latest)"

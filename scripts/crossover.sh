#!/usr/bin/env bash
# crossover.sh — when one thread is not enough: every back end at one delay
# and one count in flight, across the CPU each flag costs (--work), and the
# crossover the model predicts beside the one measured (docs/cores.md).
set -euo pipefail
PROG=crossover
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/crossover.sh [--build DIR] [--delay S] [--flags N] [--points LIST]
                            [--rounds R] [--modes LIST] [--backends LIST]
                            [--no-peers] [--nice N] [--dest-parent DIR]
                            [--results DIR] [-h]

N flags, all N in flight (-m N), against a flagserver that holds every
response DELAY seconds, for every back end of the build's list that can hold
N in flight (one that caps -m lower, like the sequential baseline, is left
out and named), and the Python peers: ThreadPoolExecutor (py-executor),
asyncio (py-asyncio) and asyncio with the work on a ProcessPoolExecutor
(py-procpool). Each flag costs CPU c: the clients' --work, K decodes of the
GIF and a colour histogram, done where each client handles the body.

First a calibration on a server without delay: the µs of CPU one unit of
work costs here, for the C clients (giflib) and the Python ones (Pillow).
Then c runs over POINTS x DELAY / N: one loop saturates where N x c reaches
the delay (POINT 1), and POINT 4 is the issue's CPU-bound point (N x c = 4
delays). Rounds interleave: in every round each point runs every client
once, in an order reversed every other round.

Fairness on a small machine (MODES): 'shared' runs the server and the
clients on every CPU, and records the server's CPU during each run (from
/proc/PID/stat); 'apart' pins the server to CPU 0 and the clients to the
others (taskset), -j and the process pools following (their default is the
CPUs they may run on). On 2 CPUs 'apart' leaves the clients one CPU.

Then report.py crossover writes report.md and crossover.png: wall against
CPU per flag, a line per client, the predicted lines (one loop:
max(delay, N x c) + its floor; k cores: max(delay, N x c / k) + floor, the
floor a client's own wall at c = 0 less the delay), and where each client
using several cores starts beating one loop, measured and predicted.

options:
  --build DIR        the CMake build directory with the binaries (default: build)
  --delay S          the server's delay (default: 0.1)
  --flags N          flags, all in flight at once (default: 194)
  --points LIST      CPU per flag in units of DELAY / N (default: 0,0.25,0.5,1,2,3,4)
  --rounds R         interleaved rounds (default: 6; the report's paired tests
                     need 6)
  --modes LIST       shared, apart or both (default: shared,apart; apart needs
                     2 CPUs or more)
  --backends LIST    comma-separated subset of the C back ends (default: all)
  --no-peers         leave the Python peers out
  --nice N           run the whole measurement in a session of its own whose
                     scheduling group has this niceness, and the server and
                     clients at it too (-20 to 19; default: as started). The
                     kernel shares the CPUs between sessions first
                     (sched_autogroup), so a process's niceness alone does not
                     lift it above other users' work; a negative N (as root)
                     gives the measurement the CPUs while it runs. The report
                     says which was used
  --dest-parent DIR  where the downloads are written: a fresh temporary
                     directory inside DIR (default: /dev/shm if it is tmpfs)
  --results DIR      where the timestamped run directory goes (default: results/)
  -h, --help         show this help and exit

HTTPS: where the clients take --cacert and flagserver --tls, the C clients
also run over HTTPS at c = 0 in every round of the shared mode: the TLS
handshake is CPU per flag that no --work sets (https.csv); the report puts
the CPU it added beside the crossovers.

Files in RESULTS/<UTC timestamp>-crossover/: calibration.csv, crossover.csv
(one row a run), capacity.csv, https.csv, nice.txt, tls.txt, env.json, report.md, counterexample.md,
crossover-<mode>.png (results/README.md).
With the defaults a run takes about 10 minutes; progress goes to stderr.
Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

BUILD=$ROOT/build DELAY=0.1 FLAGS=194 POINTS=0,0.25,0.5,1,2,3,4 ROUNDS=6 MODES=shared,apart
BACKEND_LIST='' NO_PEERS='' RESULTS=$ROOT/results DESTP='' NICE=''
parse_options "--build=BUILD --delay=DELAY --flags=FLAGS --points=POINTS --rounds=ROUNDS
    --modes=MODES --backends=BACKEND_LIST --no-peers:NO_PEERS --nice=NICE --dest-parent=DESTP
    --results=RESULTS" "$@"

{ is_seconds "$DELAY" && awk -v d="$DELAY" 'BEGIN { exit !(d > 0) }'; } ||
    die "--delay needs seconds above 0, not '$DELAY'"
{ is_uint "$FLAGS" && ((FLAGS >= 1 && FLAGS <= 194)); } || die "--flags needs 1 to 194, not '$FLAGS'"
{ is_uint "$ROUNDS" && ((ROUNDS >= 1)); } || die "--rounds needs a number from 1, not '$ROUNDS'"
IFS=, read -r -a PTS <<<"$POINTS"
((${#PTS[@]} > 0)) || die "--points needs at least one point"
for p in "${PTS[@]}"; do is_seconds "$p" || die "--points needs numbers like 0,0.5,1, not '$POINTS'"; done
PRIO=()
if [[ -n $NICE ]]; then
    { [[ $NICE =~ ^-?[0-9]+$ ]] && ((NICE >= -20 && NICE <= 19)); } || die "--nice needs -20 to 19, not '$NICE'"
    nice -n "$NICE" true 2>/dev/null || die "--nice $NICE: not allowed here (a negative one needs root)"
    PRIO=(nice -n "$NICE")
    # A session of its own, whose autogroup gets the niceness: between
    # sessions the kernel shares the CPUs by their groups' niceness.
    if [[ -z ${FLAGBENCH_CROSSOVER_SESSION:-} && -w /proc/self/autogroup ]]; then
        FLAGBENCH_CROSSOVER_SESSION=1 exec setsid --wait "$0" "$@"
    fi
    if [[ -n ${FLAGBENCH_CROSSOVER_SESSION:-} ]]; then
        echo "$NICE" >/proc/self/autogroup 2>/dev/null ||
            say "warning: could not set this session's group niceness; --nice applies to the processes only"
    fi
fi
NCPU=$(nproc)
IFS=, read -r -a MODE_LIST <<<"$MODES"
for m in "${MODE_LIST[@]}"; do
    case $m in
    shared) ;;
    apart) ((NCPU >= 2)) || die "--modes apart needs 2 CPUs or more; this machine has $NCPU" ;;
    *) die "--modes takes shared and apart, not '$m'" ;;
    esac
done
[[ -z $NO_PEERS ]] && [[ ! -x /usr/bin/python3 ]] && die "python3 is not installed (make deps), or pass --no-peers"
command -v gnuplot >/dev/null || die "gnuplot is not installed (make deps: gnuplot-nox)"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
use_build "$BUILD"
use_backends "$BUILD" "$BACKEND_LIST"
use_dest_parent "$DESTP"
workload_args "$FLAGS"

# The C clients that can hold FLAGS in flight: --help names a cap on -m.
CLIENTS=() LEFT_OUT=() BASE=''
for b in "${BACKENDS[@]}"; do
    cap=$("${BIN[$b]}" --help | sed -n 's/.*larger values act as \([0-9]*\).*/\1/p')
    if [[ -n $cap ]] && ((cap < FLAGS)); then
        LEFT_OUT+=("$b")
        continue
    fi
    CLIENTS+=("$b")
    [[ -n $BASE || ${KIND[$b]} != one_thread ]] || BASE=$b
done
[[ -n $BASE ]] || die "no back end of kind one_thread among: ${CLIENTS[*]} (the one loop to compare with)"
PEER_NAMES=()
if [[ -z $NO_PEERS ]]; then
    for p in executor asyncio procpool; do
        /usr/bin/python3 -c 'import httpx, PIL' 2>/dev/null ||
            die "the Python peers need python3-httpx and python3-pil (make deps), or pass --no-peers"
        PEER_NAMES+=("py-$p")
    done
fi
# What each client is: kind (for the prediction) and the command.
declare -A WHAT=()
for b in "${CLIENTS[@]}"; do WHAT[$b]=${KIND[$b]}; done
WHAT[py-executor]=python_threads WHAT[py-asyncio]=python_loop WHAT[py-procpool]=python_procs
ITEMS=("${CLIENTS[@]}" "${PEER_NAMES[@]}")

raise_nofile
new_results_dir "$RESULTS" crossover
OUT=$RESULTS_DIR
make_scratch crossover downloads
say "results in $OUT"
((${#LEFT_OUT[@]} == 0)) || say "left out (they cap -m below $FLAGS): ${LEFT_OUT[*]}"
record_env start "$OUT/env.json"
TICK=$(getconf CLK_TCK)

# server_cpu_s — the server's user+system CPU so far, in seconds.
server_cpu_s() {
    awk -v t="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$SERVER_PID/stat"
}

# run_client ITEM K PIN...: one run of ITEM with --work K under PIN (a
# taskset prefix, or nothing). Sets WALL (s, inside the client), WORK_US
# (CPU per flag in the work), CPU (client s; C only), THREADS, LOOPS,
# OK and ERRORS, SRV (server CPU s during it).
run_client() {
    local item=$1 k=$2
    shift 2
    local s0 s1 dest=$DL/$item out=$WORK/out
    rm -rf "$dest" "$WORK/row.csv"
    s0=$(server_cpu_s)
    if [[ $item == py-* ]]; then
        "$@" /usr/bin/python3 "$ROOT/peers/flags_${item/-/_}.py" "${WORKLOAD_ARGS[@]}" -m "$FLAGS" \
            -s "$BASE_URL" -d "$dest" --work "$k" >"$out" 2>"$WORK/err" || true
        WALL=$(sed -n 's/^Elapsed time: \([0-9.]*\)s$/\1/p' "$out")
        WORK_US=$(sed -n 's/^work: .* \([0-9]*\) µs of CPU per flag.*/\1/p' "$out")
        OK=$(sed -n 's/^ *\([0-9]*\) flags\{0,1\} downloaded\.$/\1/p' "$out")
        ERRORS=$(sed -n 's/^ *\([0-9]*\) errors\{0,1\}\.$/\1/p' "$out")
        CPU='' THREADS='' LOOPS=''
    else
        "$@" "${BIN[$item]}" "${WORKLOAD_ARGS[@]}" "${CACERT_ARGS[@]}" -m "$FLAGS" -s "$BASE_URL" -d "$dest" -q \
            --work "$k" --summary "$WORK/row.csv" >"$out" 2>"$WORK/err" || true
        [[ -s $WORK/row.csv ]] || { WALL=''; return; }
        WALL=$(csv_field "$WORK/row.csv" 1 wall_s) CPU=$(csv_field "$WORK/row.csv" 1 cpu_s)
        WORK_US=$(csv_field "$WORK/row.csv" 1 work_cpu_us) OK=$(csv_field "$WORK/row.csv" 1 ok)
        ERRORS=$(csv_field "$WORK/row.csv" 1 errors) THREADS=$(csv_field "$WORK/row.csv" 1 threads)
        LOOPS=$(csv_field "$WORK/row.csv" 1 loops)
    fi
    s1=$(server_cpu_s)
    SRV=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }')
}

# The calibration: µs of CPU per unit of work here, at a unit count that
# makes the per-flag fixed cost small; the median of three runs, each the
# mean over FLAGS flags.
start_server "$WORK"
calibrate() {
    local item=$1 v=()
    for _ in 1 2 3; do
        run_client "$item" 4
        [[ -n $WORK_US && ${OK:-0} -gt 0 ]] || fail "calibration: $item did no work: $(head -3 "$WORK/err")"
        v+=("$WORK_US")
    done
    printf '%s\n' "${v[@]}" | median_min_max | awk '{ printf "%.2f", $1 / 4 }'
}
UNIT_US=$(calibrate "$BASE")
echo "client,unit_us,units_measured" >"$OUT/calibration.csv"
echo "$BASE,$UNIT_US,4" >>"$OUT/calibration.csv"
say "calibration: one unit of --work is $UNIT_US µs of CPU for the C clients ($BASE)"
# How much CPU the machine gives a client here: with no delay and 4 units a
# flag, the one loop's CPU over its wall, and that of each back end of kind
# loops on every client CPU. On a machine shared with other work (or whose
# host holds its CPUs back) a thread gets less than a core, and more
# threads less than that many cores: the ceiling for any client's speedup.
echo "client,threads_asked,cpu_per_wall" >"$OUT/capacity.csv"
PROBED=() declare -A SHARES=()
for item in "${CLIENTS[@]}"; do
    [[ $item == "$BASE" || ${KIND[$item]} == loops ]] && PROBED+=("$item")
done
for r in 0 1 2; do # interleaved: a busy moment hits them alike
    alternate "$r" "${PROBED[@]}"
    for item in "${ORDER[@]}"; do
        run_client "$item" 4
        SHARES[$item]+=" $(awk -v c="$CPU" -v w="$WALL" 'BEGIN { printf "%.3f", (w > 0 ? c / w : 0) }')"
    done
done
for item in "${PROBED[@]}"; do
    # shellcheck disable=SC2086
    share=$(printf '%s\n' ${SHARES[$item]} | median_min_max | awk '{ print $1 }')
    threads=1
    [[ $item == "$BASE" ]] || threads=$NCPU
    echo "$item,$threads,$share" >>"$OUT/capacity.csv"
    say "capacity: $item on $threads thread(s) used $share CPUs per second of wall"
done
PY_UNIT_US=''
if ((${#PEER_NAMES[@]})); then
    PY_UNIT_US=$(calibrate py-asyncio)
    echo "py-asyncio,$PY_UNIT_US,4" >>"$OUT/calibration.csv"
    say "calibration: one unit is $PY_UNIT_US µs of CPU for the Python peers (Pillow)"
fi

# HTTPS as a point of its own: the TLS handshake is CPU per flag that no
# --work sets. Where the clients take --cacert and flagserver --tls (issue
# 17), the C clients run over HTTPS at c = 0 in every round of the shared
# mode (https.csv); the report sets the CPU per flag it added against the
# crossovers. Elsewhere tls.txt says why there is none.
HTTPS=''
if "${BIN[$BASE]}" --help | grep -q -- '--cacert' && "$FLAGSERVER" --help | grep -q -- '--tls'; then
    HTTPS=1
    echo "HTTPS measured: the C clients at c = 0 over HTTPS in every round of the shared mode (https.csv)" >"$OUT/tls.txt"
    echo "round,client,kind,wall_s,cpu_s,server_cpu_s,ok,errors" >"$OUT/https.csv"
else
    echo "HTTPS not measured: this build's clients have no --cacert or flagserver no --tls (issue 17 not merged)" >"$OUT/tls.txt"
fi
echo "${NICE:-0}" >"$OUT/nice.txt"

CSV=$OUT/crossover.csv
echo "mode,client_cpus,round,point,c_target_us,work,client,kind,wall_s,cpu_s,work_cpu_us,server_cpu_s,ok,errors,threads,loops" >"$CSV"
total=$((${#MODE_LIST[@]} * ROUNDS * ${#PTS[@]} * ${#ITEMS[@]})) step=0
for mode in "${MODE_LIST[@]}"; do
    if [[ $mode == apart ]]; then
        SERVER_PREFIX=("${PRIO[@]}" taskset -c 0)
        PIN=("${PRIO[@]}" taskset -c "1-$((NCPU - 1))")
        CPUS=$((NCPU - 1))
    else
        SERVER_PREFIX=("${PRIO[@]}")
        PIN=("${PRIO[@]}")
        CPUS=$NCPU
    fi
    restart_server "$WORK" --delay "$DELAY"
    say "mode $mode: server ${SERVER_PREFIX[*]:-on every CPU}, clients ${PIN[*]:-on every CPU} ($CPUS CPUs)"
    for ((r = 1; r <= ROUNDS; r++)); do
        alternate "$((r - 1))" "${ITEMS[@]}"
        order=("${ORDER[@]}")
        for p in "${PTS[@]}"; do
            c=$(awk -v p="$p" -v d="$DELAY" -v n="$FLAGS" 'BEGIN { printf "%.1f", p * d / n * 1e6 }')
            for item in "${order[@]}"; do
                step=$((step + 1))
                unit=$UNIT_US
                [[ $item != py-* ]] || unit=$PY_UNIT_US
                k=$(awk -v c="$c" -v u="$unit" 'BEGIN { printf "%.3f", c / u }')
                say "[$step/$total] $mode round $r, c = $c µs (--work $k): $item"
                run_client "$item" "$k" "${PIN[@]}"
                if [[ -z $WALL ]]; then
                    say "warning: $item failed ($(head -1 "$WORK/err")); left out of this point"
                    continue
                fi
                echo "$mode,$CPUS,$r,$p,$c,$k,$item,${WHAT[$item]},$WALL,$CPU,${WORK_US:-0},$SRV,$OK,${ERRORS:-0},$THREADS,$LOOPS" >>"$CSV"
            done
        done
    done
    [[ -n $HTTPS && $mode == shared ]] || continue
    SERVER_TLS=1 restart_server "$WORK" --delay "$DELAY"
    for ((r = 1; r <= ROUNDS; r++)); do
        alternate "$((r - 1))" "${CLIENTS[@]}"
        for item in "${ORDER[@]}"; do
            say "HTTPS round $r: $item"
            run_client "$item" 0 "${PIN[@]}"
            [[ -n $WALL ]] || { say "warning: $item failed over HTTPS ($(head -1 "$WORK/err"))"; continue; }
            echo "$r,$item,${WHAT[$item]},$WALL,$CPU,$SRV,$OK,${ERRORS:-0}" >>"$OUT/https.csv"
        done
    done
    SERVER_TLS=0 restart_server "$WORK" --delay "$DELAY"
done
stop_server
SERVER_PREFIX=()
record_env end "$OUT/env.json"

say "writing the report"
python "$SCRIPTS/report.py" crossover "$OUT" --delay "$DELAY" --flags "$FLAGS" --baseline "$BASE" \
    ${LEFT_OUT[0]:+--left-out "$(IFS=,; echo "${LEFT_OUT[*]}")"}
say "done: $OUT/report.md (and $RESULTS/latest)"

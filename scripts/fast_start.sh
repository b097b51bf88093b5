#!/usr/bin/env bash
# fast_start.sh — issue 12 §3, a fast start: at 194 flags, all in flight,
# how long after the first the last transfer started, and how far the run
# went over its ideal + floor; beside the kernel's own time to open the
# same connections (tools/start_floor), measured in the same rounds.
set -euo pipefail
PROG=fast_start
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/fast_start.sh [--build DIR] [--backends LIST] [--rounds R] [--delay S]
                             [--dest-parent DIR] [--out FILE] [-h]

Starts flagserver --delay S on a free port of 127.0.0.1, then runs R rounds;
each round runs, in an order that reverses from round to round:
  fast    flags_B -a -m 194 -s URL -d DIR -q --summary S             (each B)
  traced  the same with --trace T: the starts, untimed (writing the
          trace at exit would add to the process's wall)
  floor   flags_B -a -l 1 -s URL -d DIR -q --summary S               (each B)
  kernel  start_floor -s URL -n 194, and the same with --threads
and prints, per back end, medians (min-max) over the rounds of:
  wall      the fast run's summary wall_s (its t0 to the end of the downloads)
  process   the fast run's whole process, timed from outside
  ideal+fl  the ideal plus the floor, as scripts/flagreport/phases.py
            defines them: one server delay (194 requests, 194 in flight)
            plus a one-request run's start (process start to t0, the
            median of -process_start_us) and exit (its process wall - its
            wall_s - its start, median)
  over      process - (ideal+fl), against the issue's target: 15 ms for a
            back end that runs on one thread (build/backends.txt), 30 ms
            otherwise
  spread    the traced run's latest started_us - its earliest, target 5 ms
  connect   its median connected_us - started_us (connections opened)
  kernel    start_floor's time for the back end's model (one thread, or a
            thread per connection): socket, connect and send of 194
            requests with nothing else around them
and a closing line per back end: its spread as a multiple of the kernel's
own time to open 194 connections in the back end's model. Progress goes to stderr.

options:
  --build DIR        CMake build directory (default: build)
  --backends LIST    back ends to measure, comma-separated (default: all in
                     the build's list but the first, the one-at-a-time baseline)
  --rounds R         rounds (default: 7)
  --delay S          server delay in seconds (default: 0.1)
  --dest-parent DIR  where the downloads are written: a fresh temporary
                     directory inside DIR (default: /dev/shm if it is tmpfs,
                     else \$TMPDIR or /tmp)
  --out FILE         also write every run as CSV to FILE
  -h, --help         show this help and exit

Exit status: 0 measured, 1 a run failed, 2 usage error.
EOF
}

BUILD=$ROOT/build BACKEND_LIST='' ROUNDS=7 DELAY=0.1 OUTCSV='' DESTP=
parse_options '--build=BUILD --backends=BACKEND_LIST --rounds=ROUNDS --delay=DELAY
    --dest-parent=DESTP --out=OUTCSV' "$@"
{ is_uint "$ROUNDS" && ((ROUNDS >= 1 && ROUNDS <= 100)); } || die "--rounds needs 1-100"
is_seconds "$DELAY" || die "--delay needs seconds, not '$DELAY'"
use_build "$BUILD"
use_dest_parent "$DESTP"
use_backends "$BUILD" "$BACKEND_LIST"
if [[ -z $BACKEND_LIST ]]; then
    BACKENDS=("${ALL_BACKENDS[@]:1}")
    [[ ${#BACKENDS[@]} -gt 0 ]] || fail "the build's list has only its baseline; pass --backends"
fi
START_FLOOR=$BUILD/tools/start_floor
[[ -x $START_FLOOR ]] || fail "$START_FLOOR is not built (run 'make build', or pass --build DIR)"
NREQ=194
# The CSV of every run; kernel rows name the model, not a back end.
HEADER=kind,name,round,wall_ms,process_ms,start_ms,spread_ms,connect_ms
if [[ -n $OUTCSV ]]; then
    echo "$HEADER" 2>/dev/null >"$OUTCSV" || die "--out: can't write '$OUTCSV'"
fi

raise_nofile
make_scratch faststart downloads
start_server "$WORK" --delay "$DELAY"
say "server at $BASE_URL, delay $DELAY s; ${BACKENDS[*]}: $NREQ flags, -m $NREQ, $ROUNDS rounds"
record_env start "$WORK/env.json"

echo "$HEADER" >"$WORK/runs.csv"

# timed NAME CMD... — runs CMD, its output in WORK/out, its errors in
# WORK/err; PROC_MS: its whole process's wall in ms (as bench.sh times it).
timed() {
    local name=$1 rc=0
    shift
    rm -rf "$DL/dl"
    process_wall "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        head -n 3 "$WORK/err" >&2
        fail "$name exited with status $rc: $*"
    fi
    PROC_MS=$(awk -v s="$PROCESS_WALL_S" 'BEGIN { printf "%.3f", s * 1e3 }')
}

# summary_ms FILE — "WALL_MS START_MS" from a summary: wall_s, and
# -process_start_us (the process's start before t0).
summary_ms() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { printf "%.3f %.3f\n", $c["wall_s"] * 1e3, -$c["process_start_us"] / 1e3 }' "$1"
}

# trace_ms FILE — "SPREAD_MS CONNECT_MS": the last start after the first,
# and the median connection time of the requests that opened one.
trace_ms() {
    awk -F, -v connects="$WORK/connects" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["started_us"] >= 0 {
            s = $c["started_us"]; if (n == 0 || s < lo) lo = s; if (n == 0 || s > hi) hi = s; n++
            d = $c["connected_us"] - s; if ($c["connected_us"] >= 0 && d > 0) print d > connects
        }
        END { printf "%.3f\n", (hi - lo) / 1e3 }' "$1"
    median_min_max <"$WORK/connects" | awk '{ printf "%.3f\n", $1 / 1e3 }'
}

ITEMS=()
for b in "${BACKENDS[@]}"; do ITEMS+=("fast:$b" "traced:$b" "floor:$b"); done
ITEMS+=(kernel:one_thread kernel:threads)
for ((r = 0; r < ROUNDS; r++)); do
    alternate "$r" "${ITEMS[@]}"
    for item in "${ORDER[@]}"; do
        kind=${item%%:*} name=${item#*:}
        case $kind in
        fast)
            rm -f "$WORK/summary.csv"
            timed "$name" "${BIN[$name]}" -a -m "$NREQ" -s "$BASE_URL" -d "$DL/dl" -q \
                --summary "$WORK/summary.csv"
            read -r wall start <<<"$(summary_ms "$WORK/summary.csv")"
            line="$kind,$name,$r,$wall,$PROC_MS,$start,,"
            say "round $((r + 1))/$ROUNDS $name: wall $wall ms, process $PROC_MS ms"
            ;;
        traced)
            rm -f "$WORK/trace.csv" "$WORK/summary.csv"
            timed "$name" "${BIN[$name]}" -a -m "$NREQ" -s "$BASE_URL" -d "$DL/dl" -q \
                --trace "$WORK/trace.csv" --summary "$WORK/summary.csv"
            read -r wall start <<<"$(summary_ms "$WORK/summary.csv")"
            { read -r spread && read -r connect; } <<<"$(trace_ms "$WORK/trace.csv")"
            line="$kind,$name,$r,$wall,$PROC_MS,$start,$spread,$connect"
            say "round $((r + 1))/$ROUNDS $name, traced: spread $spread ms"
            ;;
        floor)
            rm -f "$WORK/summary.csv"
            timed "$name" "${BIN[$name]}" -a -l 1 -s "$BASE_URL" -d "$DL/dl" -q \
                --summary "$WORK/summary.csv"
            read -r wall start <<<"$(summary_ms "$WORK/summary.csv")"
            line="$kind,$name,$r,$wall,$PROC_MS,$start,,"
            ;;
        kernel)
            mode=()
            [[ $name == one_thread ]] || mode=(--threads)
            timed start_floor "$START_FLOOR" -s "$BASE_URL" -n "$NREQ" "${mode[@]}"
            ms=$(awk -F, -v m="$name" '$1 == m { print $3 }' "$WORK/out")
            [[ -n $ms ]] || fail "start_floor printed no $name line: $(head -c 200 "$WORK/out")"
            line="$kind,$name,$r,$ms,,,,"
            say "round $((r + 1))/$ROUNDS kernel, $name: $ms ms"
            ;;
        esac
        echo "$line" >>"$WORK/runs.csv"
        [[ -z $OUTCSV ]] || echo "$line" >>"$OUTCSV"
    done
done
stop_server
record_env end "$WORK/env.json"

MODELS=()
for b in "${BACKENDS[@]}"; do
    if [[ -n ${ONE_THREAD[$b]:-} ]]; then MODELS+=("$b=one_thread"); else MODELS+=("$b=threads"); fi
done
echo "# fast start: $NREQ flags, -m $NREQ, server delay $DELAY s, saved under $DESTP ($(stat -f -c %T "$DESTP")); $ROUNDS round(s), order reversing every other round"
echo "# fast:  flags_B -a -m $NREQ -s URL -d DIR -q --summary S (traced: the same with --trace T, for spread and connect);  floor: flags_B -a -l 1 -s URL -d DIR -q --summary S"
echo "# kernel: start_floor -s URL -n $NREQ [--threads]"
python - "$WORK/runs.csv" "$WORK/env.json" "$DELAY" "$NREQ" "$SCRIPTS" "${MODELS[@]}" <<'EOF'
"""The table: medians (min-max) per back end, the floor as phases.py has it."""
import csv, json, sys
from statistics import median

runs_csv, env_json, delay, nreq, scripts = sys.argv[1:6]
sys.path.insert(0, scripts)
from flagreport import phases  # noqa: E402  the one definition of ideal + floor

delay, nreq = float(delay), int(nreq)
models = dict(m.split("=", 1) for m in sys.argv[6:])
rows = list(csv.DictReader(open(runs_csv)))
TARGET_OVER = {"one_thread": 15.0, "threads": 30.0}
TARGET_SPREAD = 5.0


def col(kind, name, key):
    return [float(r[key]) for r in rows if r["kind"] == kind and r["name"] == name and r[key]]


def mmm(xs, d=1):
    return f"{median(xs):.{d}f} ({min(xs):.{d}f}-{max(xs):.{d}f})" if xs else "-"


def verdict(x, target):
    return "met" if x <= target else "not met"


load = json.load(open(env_json)).get("load", {})
before, after = load.get("loadavg_before", ["?"])[0], load.get("loadavg_after", ["?"])[0]
print(f"# load: 1-min average {before:.2f} before, {after:.2f} after; other processes "
      f"{load.get('others_pct', '?')}% of the CPU, steal {load.get('steal_pct', '?')}%"
      + ("  (busy: figures are noisy)" if load.get("busy") else ""))
print(f"# ideal+fl = {delay * 1e3:g} ms (one delay) + a one-request run's start and exit; "
      "over = process - ideal+fl; all in ms")
kernel = {m: col("kernel", m, "wall_ms") for m in ("one_thread", "threads")}
fmt = "{:<11} {:<19} {:<19} {:<9} {:<19} {:>6}  {:<19} {:>6}  {:<8} {}"
print(fmt.format("backend", "wall", "process", "ideal+fl", "over", "target", "spread", "target",
                 "connect", "kernel (model)"))
closing = []
for b, model in models.items():
    # phases.py works in seconds; every figure here is in ms, and its
    # definitions are sums and differences, so they hold in ms too.
    fl = phases.floor_from(col("floor", b, "process_ms"), col("floor", b, "wall_ms"),
                           col("floor", b, "start_ms"))
    ideal = phases.ideal_wall(nreq, nreq, delay * 1e3, fl)
    over = [p - ideal for p in col("fast", b, "process_ms")]
    spread = col("traced", b, "spread_ms")
    print(fmt.format(b, mmm(col("fast", b, "wall_ms")), mmm(col("fast", b, "process_ms")),
                     f"{ideal:.1f}", mmm(over), f"{TARGET_OVER[model]:g}", mmm(spread),
                     f"{TARGET_SPREAD:g}", mmm(col("traced", b, "connect_ms"), 2).split()[0],
                     f"{model} {mmm(kernel[model])}"))
    own = median(kernel[model])
    how = "on one thread" if model == "one_thread" else f"on {nreq} threads"
    closing.append(f"{b}: over {median(over):.1f} ms (target {TARGET_OVER[model]:g}: "
                   f"{verdict(median(over), TARGET_OVER[model])}); spread {median(spread):.1f} ms "
                   f"(target {TARGET_SPREAD:g}: {verdict(median(spread), TARGET_SPREAD)}) = "
                   f"{median(spread) / own:.1f}× the kernel's own time to open {nreq} connections "
                   f"{how} ({own:.1f} ms)")
print("\n".join(closing))
EOF

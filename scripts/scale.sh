#!/usr/bin/env bash
# scale.sh — 100, 1000 and 10000 requests in flight at once: what each back
# end pays for its concurrency in wall time, memory, CPU and threads, and
# where the thread model breaks.
set -euo pipefail
PROG=scale
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/scale.sh [--build DIR] [--delay S] [--sizes LIST] [--with-baseline]
                        [--stack-size BYTES] [--timeout S] [--ref-max-req M]
                        [--ref-rounds R]
                        [--dest-parent DIR]
                        [--results DIR] [-h]

Starts one flagserver (--delay S) on a free port of 127.0.0.1 and, for each
N in LIST, runs each back end once on exactly N requests with -m N, so all N
are in flight at once and the ideal wall time is one delay. The thread pool
runs with --stack-size BYTES. Writes to RESULTS/<UTC timestamp>-scale/
(RESULTS/latest points to it):
  scale.csv        one --summary row per run, with N, exit status and status
  table.md         wall, peak RSS, RSS per in-flight request (and marginal),
                   CPU per request, threads, and the CPU ratio to the
                   reference (also printed on stdout)
  reference.csv    the reference runs' --summary rows (--ref-max-req), each
                   after a column 'connections': kept or fresh
  wall.png, rss.png, cpu_per_request.png, rss_per_inflight.png
                   gnuplot plots against N (a run with errors: a cross)
  limits.txt       the limits that decide how many threads and sockets fit
  env.json         the machine and its load over the runs (as make bench's)
The table's 'listen overflows' column is the kernel's TcpExtListenOverflows
counter (nstat) over the run: connections the server's accept queue dropped,
each one a SYN retransmitted after 1 s or more (system-wide: other traffic on
the machine counts too).
Before the thread pool runs at some N the limits on threads, memory maps and
file descriptors are checked and a predicted failure is printed and recorded;
it runs anyway, and a run that fails (no summary: it could not start its
threads) or ends with errors is recorded with the client's message in
failed.csv and the table; the script goes on.

options:
  --build DIR         CMake build directory with the binaries (default: build)
  --delay S           the server's delay per request in seconds (default: 1)
  --sizes LIST        requests in flight (default: 100,1000,10000)
  --with-baseline     also run the baseline (the build's first back end, one
                      request at a time), at N=100 only: it takes
                      N x delay seconds (100 s), so it is skipped by default
  --stack-size BYTES  thread-pool stack size (default: 64K, the floor)
  --timeout S         the clients' per-request timeout (default: 120)
  --ref-max-req M     the reference for CPU per request (default: 64): after
                      the sizes, each back end runs the largest N's requests
                      again with -m M from a server with no delay, with its
                      connections kept alive and with --no-reuse (a new
                      connection per request, as at N in flight), and the
                      table ends with CPU per request at the largest N over
                      the first (the target is at most 1.3x), split into
                      what a connection per request costs (fresh over kept)
                      and what holding N at once costs beyond it (N over
                      fresh)
  --ref-rounds R      alternating kept/fresh reference runs per back end;
                      the medians are used (default: 3)
  --dest-parent DIR   the flags are saved in a temporary directory inside DIR
                      (default: /dev/shm if it is tmpfs, else \$TMPDIR or /tmp;
                      pass /tmp to include the disk)
  --results DIR       parent of the run directory (default: results/)
  -h, --help          show this help and exit

Raises the open-file limit (and, as root, its hard limit) to what N needs.
Progress goes to stderr. Exit status: 0 done, 1 no run finished, 2 usage.
EOF
}

BUILD=$ROOT/build DELAY=1 SIZES=100,1000,10000 WITH_SEQ=0 STACK=64K TIMEOUT=120 REF_M=64 REF_ROUNDS=3
RESULTS=$ROOT/results DESTP=
parse_options '--build=BUILD --delay=DELAY --sizes=SIZES --max-req=SIZES --with-baseline:WITH_SEQ
    --stack-size=STACK --ref-max-req=REF_M --ref-rounds=REF_ROUNDS --timeout=TIMEOUT --results=RESULTS
    --dest-parent=DESTP' "$@"
is_seconds "$DELAY" || die "--delay needs seconds (like 1), not '$DELAY'"
is_seconds "$TIMEOUT" || die "--timeout needs seconds, not '$TIMEOUT'"
{ is_uint "$REF_M" && [[ $REF_M -ge 1 ]]; } || die "--ref-max-req needs a number of requests, not '$REF_M'"
{ is_uint "$REF_ROUNDS" && [[ $REF_ROUNDS -ge 1 ]]; } || die "--ref-rounds needs a number >= 1, not '$REF_ROUNDS'"
[[ $STACK =~ ^[0-9]+[KkMm]?$ ]] || die "--stack-size needs bytes (like 64K), not '$STACK'"
IFS=, read -r -a NS <<<"$SIZES"
[[ ${#NS[@]} -gt 0 ]] || die "--sizes needs at least one number"
NMAX=0
for n in "${NS[@]}"; do
    { is_uint "$n" && [[ $n -ge 1 && $n -le 100000 ]]; } ||
        die "--sizes needs numbers from 1 to 100000, not '$SIZES'"
    ((n > NMAX)) && NMAX=$n
done
use_build "$BUILD"
use_dest_parent "$DESTP"
command -v gnuplot >/dev/null || die "gnuplot is missing (apt-get install gnuplot-nox)"
use_backends "$BUILD"
# The baseline (the list's first) takes N x delay: only with --with-baseline.
BASE=${ALL_BACKENDS[0]}
[[ $WITH_SEQ -eq 1 ]] || BACKENDS=("${BACKENDS[@]:1}")

# File descriptors: a thread-pool worker holds its socket, libcurl's wakeup
# socket pair and the file it saves (4); the server holds N more. As root
# the hard limit can go up to fs.nr_open.
want_fd=$((6 * NMAX + 1024))
if [[ $(ulimit -Hn) != unlimited && $(ulimit -Hn) -lt $want_fd ]]; then
    ulimit -Hn "$want_fd" 2>/dev/null || true
fi
raise_nofile
NOFILE=$(ulimit -n)

new_results_dir "$RESULTS" scale
OUT=$RESULTS_DIR
make_scratch scale downloads

# The limits that decide whether N threads can start: kernel tasks, memory
# maps (a stack and its guard page are two per thread), user processes.
THREADS_MAX=$(cat /proc/sys/kernel/threads-max 2>/dev/null || echo 0)
MAP_MAX=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
PID_MAX=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 0)
NPROC=$(ulimit -u)
{
    echo "kernel.threads-max $THREADS_MAX"
    echo "kernel.pid_max $PID_MAX"
    echo "vm.max_map_count $MAP_MAX"
    echo "ulimit -u $NPROC"
    echo "ulimit -n $NOFILE (wanted $want_fd)"
    echo "net.core.somaxconn $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo '?')"
    echo "net.ipv4.tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog 2>/dev/null || echo '?')"
    echo "net.ipv4.ip_local_port_range $(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo '?')"
    echo "nproc $(nproc) kernel $(uname -r)"
} >"$OUT/limits.txt"
say "results in $OUT; delay $DELAY s; sizes ${NS[*]}; back ends ${BACKENDS[*]}"
say "limits: threads-max $THREADS_MAX, max_map_count $MAP_MAX, ulimit -u $NPROC, ulimit -n $NOFILE"

# Why N threads cannot start here, or nothing.
thread_limit_reason() {
    local n=$1 tasks
    tasks=$(ps -eLf 2>/dev/null | wc -l) || tasks=0
    if ((THREADS_MAX > 0 && n + tasks + 64 > THREADS_MAX)); then
        echo "kernel.threads-max is $THREADS_MAX and $tasks tasks already run: no room for $n threads"
    elif ((PID_MAX > 0 && n + tasks + 64 > PID_MAX)); then
        echo "kernel.pid_max is $PID_MAX and $tasks tasks already run: no ids for $n threads"
    elif [[ $NPROC != unlimited ]] && ((n + 64 > NPROC)); then
        echo "ulimit -u is $NPROC: fewer than $n threads per user"
    elif ((MAP_MAX > 0 && 2 * n + 1024 > MAP_MAX)); then
        echo "vm.max_map_count is $MAP_MAX: $n stacks with guard pages need $((2 * n)) maps"
    elif [[ $NOFILE != unlimited ]] && ((4 * n + 64 > NOFILE)); then
        echo "ulimit -n is $NOFILE: $n workers need about $((4 * n)) descriptors"
    fi
}

# The kernel's count of connections dropped because an accept queue was full.
listen_overflows() {
    if command -v nstat >/dev/null; then
        nstat -az TcpExtListenOverflows 2>/dev/null | awk '$1 == "TcpExtListenOverflows" {v = $2} END {print v + 0}'
    else
        echo 0
    fi
}

record_env start "$OUT/env.json"
start_server "$WORK" --delay "$DELAY" --max-conns $((2 * NMAX + 100))
CSV=$OUT/scale.csv
HEADER=
record_failure() { # backend n exit_status reason
    printf '%s,%s,%s,"%s"\n' "$1" "$2" "$3" "${4//\"/}" >>"$OUT/failed.csv"
    say "$1 at N=$2: NOT RUN/FAILED (exit status $3): $4"
}
echo "backend,n,exit_status,reason" >"$OUT/failed.csv"

for n in "${NS[@]}"; do
    workload_args "$n"
    for b in "${BACKENDS[@]}"; do
        extra=()
        if [[ $b == "$BASE" && $n -gt 100 ]]; then
            record_failure "$b" "$n" - "skipped: the baseline takes N x delay = $n x $DELAY s"
            continue
        fi
        if [[ $b != "$BASE" && -z ${ONE_THREAD[$b]:-} ]]; then # a thread per request
            # Run it anyway: the point is to see how it breaks. The client
            # reports a thread it cannot start or a descriptor it cannot open.
            reason=$(thread_limit_reason "$n")
            if [[ -n $reason ]]; then
                say "warning: $b at N=$n will likely fail: $reason"
                echo "$b,$n,predicted,\"$reason\"" >>"$OUT/failed.csv"
            fi
            extra=(--stack-size "$STACK")
        fi
        say "$b: $n requests, -m $n (ideal ${DELAY} s)"
        ovf0=$(listen_overflows)
        rm -rf "$DL/dl" "$WORK/row.csv"
        rc=0
        "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "$n" "${extra[@]}" -s "$BASE_URL" -d "$DL/dl" -q \
            --timeout "$TIMEOUT" --summary "$WORK/row.csv" --trace "$WORK/trace.csv" \
            >"$WORK/out" 2>"$WORK/err" || rc=$?
        rm -rf "$DL/dl"
        ovf=$(($(listen_overflows) - ovf0))
        if [[ ! -s $WORK/row.csv ]]; then
            msg=$(grep -m 1 -i 'error' "$WORK/err" || head -n 1 "$WORK/err" || true)
            ((rc > 128)) && msg="killed by signal $((rc - 128)) ${msg}"
            record_failure "$b" "$n" "$rc" "${msg:-exited without a summary}"
            continue
        fi
        status=ok
        if [[ $rc -ne 0 ]]; then
            # The three commonest error texts of the trace, with counts.
            status="errors: $(awk -F, 'NR > 1 && $4 == "error" {print $NF}' "$WORK/trace.csv" 2>/dev/null |
                sort | uniq -c | sort -rn | head -n 3 | awk '{c = $1; $1 = ""; printf "%s x%s; ", $0, c}' |
                tr ',"' '  ' || true)"
            status=${status:0:200}
            say "warning: $b had errors at N=$n (exit status $rc)"
            printf '%s,%s,%s,"%s"\n' "$b" "$n" "$rc" "${status//\"/}" >>"$OUT/failed.csv"
        fi
        if [[ -z $HEADER ]]; then
            HEADER=$(head -n 1 "$WORK/row.csv")
            echo "n,exit_status,status,listen_overflows,$HEADER" >"$CSV"
        fi
        printf '%s,%s,"%s",%s,%s\n' "$n" "$rc" "$status" "$ovf" "$(tail -n 1 "$WORK/row.csv")" >>"$CSV"
        # Let the server close the previous run's sockets before the next.
        sleep 1
    done
done
curl -s --noproxy '*' --max-time 5 "$BASE_URL/../stats" >"$OUT/server_stats.json" || true

# The references for CPU per request: the same requests, saved to the same
# file system, with -m REF_M from a server with no delay, in REF_ROUNDS
# alternating pairs: connections kept alive and reused (the reference the
# target names), and a new connection for every request (--no-reuse), as
# each of NMAX requests in flight must have. Their ratio is what a
# connection per request costs; NMAX over the second is what holding NMAX
# at once costs beyond that. Measured in this run, so it holds on any machine.
REF_CSV=$OUT/reference.csv
restart_server "$WORK" --delay 0 --max-conns $((2 * REF_M + 100))
workload_args "$NMAX"
for b in "${BACKENDS[@]}"; do
    grep -q "^$NMAX,0,.*,$b," "$CSV" 2>/dev/null || continue # no clean run at NMAX to compare
    for ((r = 1; r <= REF_ROUNDS; r++)); do
        for conns in kept fresh; do
            reuse=()
            [[ $conns == fresh ]] && reuse=(--no-reuse)
            say "$b: reference $r/$REF_ROUNDS, $NMAX requests, -m $REF_M, no delay, connections $conns"
            rm -rf "$DL/dl" "$WORK/row.csv"
            "${BIN[$b]}" "${WORKLOAD_ARGS[@]}" -m "$REF_M" "${reuse[@]}" -s "$BASE_URL" -d "$DL/dl" -q \
                --timeout "$TIMEOUT" --summary "$WORK/row.csv" >"$WORK/out" 2>"$WORK/err" ||
                say "warning: $b reference run ended with exit status $? (see the row)"
            rm -rf "$DL/dl"
            [[ -s $WORK/row.csv ]] || continue
            [[ -s $REF_CSV ]] || echo "connections,$(head -n 1 "$WORK/row.csv")" >"$REF_CSV"
            echo "$conns,$(tail -n 1 "$WORK/row.csv")" >>"$REF_CSV"
        done
    done
done
stop_server
record_env end "$OUT/env.json"
[[ -s $CSV ]] || {
    echo "$PROG: error: no back end finished a run (see $OUT/failed.csv)" >&2
    exit 1
}

# cpu_us FILE COLUMN VALUE BACKEND: CPU µs per request of BACKEND's rows of
# FILE whose COLUMN is VALUE, one a line (columns by name; the scale CSV's
# quoted status field holds no commas).
cpu_us() {
    awk -F, -v k="$2" -v v="$3" -v b="$4" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c[k] == v && $c["backend"] == b { print 1e6 * $c["cpu_s"] / $c["requests"] }' "$1"
}

# The table and the data files for gnuplot, from the CSV by column name.
awk -F, -v out="$OUT" '
function unq(s) { gsub(/"/, "", s); return s }
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    # The status field is quoted and holds no commas.
    n = $col["n"]; b = $col["backend"]; req = $col["requests"]
    wall = $col["wall_s"]; rss = $col["rss_kb"]; cpu = $col["cpu_s"]
    peak = $col["inflight_peak"]; thr = $col["threads"]
    okc = $col["ok"]; err = $col["errors"] + $col["not_run"]
    perinf = (peak > 0) ? rss / peak : 0
    cpureq = (req > 0) ? 1e6 * cpu / req : 0
    # What one more request in flight costs: against the smallest N of the model.
    if (!(b in n0)) { n0[b] = n; rss0[b] = rss }
    marg = (n > n0[b]) ? sprintf("%.1f", (rss - rss0[b]) / (n - n0[b])) : "-"
    printf "| %s | %d | %d/%d | %.2f | %.1f | %.1f | %s | %.0f | %d | %d | %.0f | %d | %s |\n",
        b, n, okc, req, wall, rss / 1024, perinf, marg, cpureq, thr, peak, $col["ctx_voluntary"] + $col["ctx_involuntary"], $col["listen_overflows"], unq($col["status"]) >> (out "/table.md")
    # A run with errors did not do the work: plotted apart, as a failure.
    dat = (okc + $col["not_found"] < req) ? "/" b ".failed.dat" : "/" b ".dat"
    printf "%s %s %s %s %s\n", n, wall, rss / 1024, cpureq, perinf >> (out dat)
}' "$CSV"
{
    echo "# flagbench scale: N requests in flight at once, server delay $DELAY s"
    echo
    echo "Flags saved under $DESTP ($(df -PT "$DESTP" | awk 'NR == 2 {print $2}')). RSS per in-flight = peak RSS / in-flight peak; marginal = (RSS - RSS at the smallest N) / (N - smallest N)."
    echo
    echo "| model | N | ok/requests | wall s | peak RSS MiB | RSS KiB per in-flight | marginal KiB per in-flight | CPU µs per request | threads | in flight peak | ctx switches | listen overflows | status |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    cat "$OUT/table.md" 2>/dev/null || true
    if [[ $(wc -l <"$OUT/failed.csv") -gt 1 ]]; then
        echo
        echo "Not run, failed, or predicted to fail (limits):"
        echo
        tail -n +2 "$OUT/failed.csv" | sed 's/^/- /'
    fi
    if [[ -s $REF_CSV ]]; then
        echo
        echo "CPU per request at N=$NMAX ($DELAY s delay) over CPU per request at -m $REF_M (no delay), the same $NMAX requests and file system, this run; the references are medians of $REF_ROUNDS alternating runs each (target: at most 1.3x over connections kept alive):"
        echo
        for b in "${BACKENDS[@]}"; do
            big=$(cpu_us "$CSV" n "$NMAX" "$b" | median_min_max | cut -d' ' -f1)
            kept=$(cpu_us "$REF_CSV" connections kept "$b" | median_min_max | cut -d' ' -f1)
            fresh=$(cpu_us "$REF_CSV" connections fresh "$b" | median_min_max | cut -d' ' -f1)
            awk -v b="$b" -v big="$big" -v kept="$kept" -v fresh="$fresh" -v m="$REF_M" -v n="$NMAX" 'BEGIN {
                if (big > 0 && kept > 0 && fresh > 0)
                    printf "- %s: %.0f / %.0f µs = **%.2fx** = %.2fx for a new connection per request (%.0f µs at -m %s with --no-reuse) x %.2fx for holding %d at once\n", b, big, kept, big / kept, fresh / kept, fresh, m, big / fresh, n
            }'
        done
        echo
        echo "At N=$NMAX every request in flight needs a connection of its own (HTTP/1.1 answers one request at a time per connection), so the first factor is the floor of the ratio for any client; on loopback the kernel runs the server's half of each handshake and close in the client's system calls, and that is charged to the client."
    fi
    echo
    echo "Ideal wall time: $DELAY s. Limits: $(paste -sd ';' "$OUT/limits.txt")"
} >"$OUT/report.md"
rm -f "$OUT/table.md"
mv "$OUT/report.md" "$OUT/table.md"

plot() { # file ylabel column title
    local f=$1 ylabel=$2 colno=$3 title=$4 plots=() b
    for b in "${BACKENDS[@]}"; do
        [[ -s $OUT/$b.dat ]] && plots+=("'$OUT/$b.dat' using 1:$colno with linespoints lw 2 title '$b'")
        [[ -s $OUT/$b.failed.dat ]] &&
            plots+=("'$OUT/$b.failed.dat' using 1:$colno with points pt 2 ps 3 lw 2 title '$b: FAILED run (errors)'")
    done
    [[ ${#plots[@]} -gt 0 ]] || return 0
    local IFS=,
    gnuplot <<EOF || say "warning: gnuplot failed for $f"
set terminal pngcairo size 900,500 noenhanced
set output '$OUT/$f'
set title '$title'
set xlabel 'requests in flight (N)'
set ylabel '$ylabel'
set logscale x 10
set logscale y 10
set grid
set key outside right
plot ${plots[*]}
EOF
}
plot wall.png 'wall time (s)' 2 "wall time vs N (delay $DELAY s: ideal $DELAY s)"
plot rss.png 'peak RSS (MiB)' 3 'peak RSS vs N'
plot cpu_per_request.png 'CPU per request (µs)' 4 'CPU (user+sys) per request vs N'
plot rss_per_inflight.png 'peak RSS per in-flight request (KiB)' 5 'RSS per in-flight request vs N'

cat "$OUT/table.md"
say "done: $OUT (table.md, scale.csv, *.png)"

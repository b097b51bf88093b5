#!/usr/bin/env bash
# The one-thread check, for every back end that declares ONE_THREAD
# (CMakeLists.txt's flagbench_backend): one_thread.sh CLIENT FLAGSERVER.
# All 194 flags with -m 194 against a server that holds every response
# DELAY seconds: the client runs on one thread (sampled from /proc while it
# runs, and in its summary), has all 194 in flight at once (its summary and
# the server's count agree), and takes a few delays, not 194 of them.
# one_thread.sh CLIENT FLAGSERVER KIND: KIND (backends.txt's) says what to
# count. one_thread: the above. loops: the same with -j 2, counted: 2 threads
# (2 loops), and each of them ran transfers (the trace's thread column).
# procs: -m 194 is 194 worker processes, counted: the client itself runs one
# thread, /proc saw 194 children at once, and each of them (the trace's
# thread column: a worker's one thread is its pid) ran one transfer.
# The delay is long so that starting 194 requests takes a small part of it
# however busy the machine is; the wall bound is a multiple of the delay.
set -euo pipefail
client=$1 FLAGSERVER=$2 kind=${3:-one_thread}
case $kind in
one_thread) LOOPS='' PROCS='' threads=1 ;;
loops) LOOPS=2 PROCS='' threads=2 ;;
procs) LOOPS='' PROCS=194 threads=1 ;;
*) echo "one_thread: error: no check for back ends of kind '$kind'" >&2; exit 2 ;;
esac
DELAY=${ONE_THREAD_DELAY:-2}
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work

if [[ -n $PROCS ]]; then
    # A process pool starts its requests by forking a worker for each, which
    # a busy machine (or a sanitizer's costly fork) can stretch past the
    # delay: one run measures when the last worker began its first flag,
    # and the checked run's delay is 4 times that where that is longer.
    start_server "$WORK" --delay "$DELAY"
    "$client" -s "$BASE_URL" -d "$WORK/calibrate" -q -a -m "$PROCS" --trace "$WORK/calibrate.csv" \
        >/dev/null 2>"$WORK/calibrate.err" || fail "calibration: $(head -3 "$WORK/calibrate.err")"
    spawn_us=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { p = $c["thread"]; s = $c["started_us"]; if (!(p in f) || s < f[p]) f[p] = s }
        END { for (p in f) if (f[p] > m) m = f[p]; print m + 0 }' "$WORK/calibrate.csv")
    DELAY=$(awk -v d="$DELAY" -v s="$spawn_us" 'BEGIN { x = 4 * s / 1e6; print (x > d ? x : d) }')
    stop_server
    rm -rf "$WORK/calibrate"
fi
start_server "$WORK" --delay "$DELAY"
reset_stats
"$client" -s "$BASE_URL" -d "$WORK/dest" -q --summary "$WORK/one.csv" -a -m 194 \
    ${LOOPS:+-j "$LOOPS"} --trace "$WORK/one-trace.csv" >"$WORK/one.out" 2>"$WORK/one.err" &
pid=$!
sample_threads "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || fail "exit $rc: $(head -3 "$WORK/one.err")"
((SAMPLES >= 1)) || fail "the client was never seen in /proc"
((MOST_OURS == threads)) ||
    fail "/proc saw $MOST_OURS threads besides the kernel's I/O workers, not $threads"
summary_threads=$threads
[[ -z $PROCS ]] || summary_threads=$((PROCS + 1)) # the workers and the parent
for want in ok:194 "threads:$summary_threads" inflight_peak:194 ${LOOPS:+"loops:$LOOPS"} \
    ${PROCS:+"loops:$PROCS"}; do
    got=$(csv_field "$WORK/one.csv" 1 "${want%%:*}")
    [[ $got == "${want#*:}" ]] || fail "summary ${want%%:*} is $got, expected ${want#*:}"
done
peak=$(stats_field in_progress_peak)
[[ $peak -eq 194 ]] || fail "the server saw $peak requests at once, not 194"
[[ $(count_files "$WORK/dest") -eq 194 ]] || fail "$(count_files "$WORK/dest") files, not 194"
if [[ -n $LOOPS ]]; then
    # Each loop holds its share of -m for a whole delay: every one of them
    # must have run transfers.
    ran=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { t[$c["thread"]] = 1 } END { print length(t) }' "$WORK/one-trace.csv")
    ((ran == LOOPS)) || fail "$ran threads ran transfers, not $LOOPS"
fi
if [[ -n $PROCS ]]; then
    ((MOST_CHILDREN == PROCS)) || fail "/proc saw $MOST_CHILDREN worker processes at once, not $PROCS"
    # Every transfer ran on a worker's one thread (its pid), one per worker.
    ran=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { t[$c["thread"]] = 1 } END { print length(t) }' "$WORK/one-trace.csv")
    ((ran == PROCS)) || fail "$ran processes ran transfers, not $PROCS"
    while IFS= read -r tid; do
        [[ -n ${CHILDREN_SEEN[$tid]:-} ]] || fail "thread $tid ran a transfer but was no worker process"
    done < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["thread"] }' \
        "$WORK/one-trace.csv" | sort -u)
fi
wall=$(csv_field "$WORK/one.csv" 1 wall_s)
float_lt "$wall" "$(awk -v d="$DELAY" 'BEGIN { print 4 * d }')" ||
    fail "194 flags at $DELAY s took $wall s, over 4 delays (one at a time: $(awk -v d="$DELAY" 'BEGIN { print 194 * d }') s)"
[[ -z $PROCS ]] || threads="$PROCS one-thread worker processes and 1"
echo "ok: $threads thread(s) ($SAMPLES samples, at most $MOST_KERNEL kernel I/O workers), 194 in flight, wall $wall s of a $DELAY s delay"

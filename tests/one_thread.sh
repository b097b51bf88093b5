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
# The delay is long so that starting 194 requests takes a small part of it
# however busy the machine is; the wall bound is a multiple of the delay.
set -euo pipefail
client=$1 FLAGSERVER=$2 kind=${3:-one_thread}
case $kind in
one_thread) LOOPS='' threads=1 ;;
loops) LOOPS=2 threads=2 ;;
*) echo "one_thread: error: no check for back ends of kind '$kind'" >&2; exit 2 ;;
esac
DELAY=${ONE_THREAD_DELAY:-2}
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work

start_server "$WORK" --delay "$DELAY"
reset_stats
"$client" -s "$BASE_URL" -d "$WORK/dest" -q --summary "$WORK/one.csv" -a -m 194 \
    ${LOOPS:+-j "$LOOPS" --trace "$WORK/one-trace.csv"} >"$WORK/one.out" 2>"$WORK/one.err" &
pid=$!
sample_threads "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || fail "exit $rc: $(head -3 "$WORK/one.err")"
((SAMPLES >= 1)) || fail "the client was never seen in /proc"
((MOST_OURS == threads)) ||
    fail "/proc saw $MOST_OURS threads besides the kernel's I/O workers, not $threads"
for want in ok:194 "threads:$threads" inflight_peak:194 ${LOOPS:+"loops:$LOOPS"}; do
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
wall=$(csv_field "$WORK/one.csv" 1 wall_s)
float_lt "$wall" "$(awk -v d="$DELAY" 'BEGIN { print 4 * d }')" ||
    fail "194 flags at $DELAY s took $wall s, over 4 delays (one at a time: $(awk -v d="$DELAY" 'BEGIN { print 194 * d }') s)"
echo "ok: $threads thread(s) ($SAMPLES samples, at most $MOST_KERNEL kernel I/O workers), 194 in flight, wall $wall s of a $DELAY s delay"

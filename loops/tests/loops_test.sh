#!/usr/bin/env bash
# flags_loops end to end: loops_test.sh CLIENT FLAGSERVER. -j N loops share
# one queue of flags: every loop takes flags while any are left, -m is
# split across them (never more loops than requests in flight), -j counts
# are checked, and the loops do --work in their own threads. Labelled tsan:
# `make test-tsan` runs it under ThreadSanitizer.
set -euo pipefail
client=$1 FLAGSERVER=$2
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../../tests/lib.sh"
setup_work

start_server "$WORK" --delay 0.02
# run J M ARGS...: the client with -j J -m M, its summary and trace in
# $WORK/s-J-M.csv and $WORK/t-J-M.csv; fails unless every flag is saved.
run() {
    local j=$1 m=$2
    shift 2
    rm -rf "$WORK/dest"
    "$client" -s "$BASE_URL" -d "$WORK/dest" -q -j "$j" -m "$m" --summary "$WORK/s-$j-$m.csv" \
        --trace "$WORK/t-$j-$m.csv" "$@" >"$WORK/out" 2>"$WORK/err" ||
        fail "-j $j -m $m $*: exit $?: $(head -3 "$WORK/err")"
}
# per_thread FILE: how many flags each thread of the trace ran, sorted.
per_thread() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { n[$c["thread"]]++ }
        END { for (t in n) print n[t] }' "$1" | sort -n | tr '\n' ' '
}

# Two loops of one transfer each, 40 flags of 20 ms: the queue is shared,
# so each loop runs flags as its transfer frees up, about half each.
run 2 2 -a -l 40
[[ $(csv_field "$WORK/s-2-2.csv" 1 loops) -eq 2 ]] || fail "-j 2: not 2 loops"
read -r -a counts <<<"$(per_thread "$WORK/t-2-2.csv")"
((${#counts[@]} == 2 && counts[0] >= 10)) ||
    fail "flags per loop: ${counts[*]} (a loop idled while the other had a backlog)"

# More loops than requests in flight: one loop per request, no idle loop.
run 4 3 -a -l 12
[[ $(csv_field "$WORK/s-4-3.csv" 1 loops) -eq 3 ]] || fail "-j 4 -m 3: not 3 loops"
[[ $(csv_field "$WORK/s-4-3.csv" 1 inflight_peak) -le 3 ]] || fail "-m 3: more in flight"

# Three loops with --work: each decodes in its own thread, all flags saved.
run 3 30 -a -l 30 --work 0.5
[[ $(count_files "$WORK/dest") -eq 30 ]] || fail "-j 3 --work: $(count_files "$WORK/dest") files"
[[ $(csv_field "$WORK/s-3-30.csv" 1 threads) -eq 3 ]] || fail "-j 3: not 3 threads"
float_lt 0 "$(csv_field "$WORK/s-3-30.csv" 1 work_cpu_us)" || fail "-j 3: no work counted"

# Sockets that cannot be watched, from both loops at once (the fault
# counter is shared by the threads): those flags fail with the reason, the
# others are saved.
rm -rf "$WORK/dest"
rc=0
FLAGBENCH_FAIL_WATCH=5 "$client" -s "$BASE_URL" -d "$WORK/dest" -q -j 2 -m 20 -a \
    --summary "$WORK/s-fault.csv" >"$WORK/out" 2>"$WORK/err" || rc=$?
((rc <= 1)) || fail "watch faults: exit $rc: $(head -3 "$WORK/err")"
ok=$(csv_field "$WORK/s-fault.csv" 1 ok) errors=$(csv_field "$WORK/s-fault.csv" 1 errors)
((ok + errors == 194 && ok > 0 && errors > 0)) || fail "watch faults: $ok ok, $errors errors"
[[ $(count_files "$WORK/dest") -eq $ok ]] || fail "watch faults: files for $ok ok flags"

# -j 0 and -j junk are usage errors; nothing is requested.
for bad in 0 x; do
    rc=0
    "$client" -s "$BASE_URL" -d "$WORK/dest" -j "$bad" >"$WORK/out" 2>"$WORK/err" || rc=$?
    ((rc == 2)) || fail "-j $bad: exit $rc, not 2"
    grep -q -- '-j/--jobs needs a number' "$WORK/err" || fail "-j $bad: $(cat "$WORK/err")"
done
echo "ok: loops share the queue (${counts[*]}), -m splits, --work in every loop"

#!/usr/bin/env bash
# flags_uring end to end: uring_test.sh FLAGS_URING FLAGSERVER
#
# A real flagserver on 127.0.0.1 and the real client:
#   kernel_workers  194 flags at once: at most 3 kernel io_uring workers
#                (sampled from /proc while it runs); the one-thread check is
#                the shared tests/one_thread.sh
#   exactly_m    -m 10: the server sees exactly 10 requests at once, at most,
#                on about 10 connections
#   fd_reuse     --close server and --no-reuse client, 676 requests, -m 50:
#                descriptor numbers recycled while completions are pending;
#                counts and files exact
#   save_fails   renames that fail: errors with a reason, no temporary left
#   stale_temp   a temporary a dead run left under this run's name: skipped
#   chaos        resets and truncations: every flag accounted for, no
#                temporary file left
# Orders of magnitude only: timings are benchmarks' business.
set -euo pipefail
client=$1 FLAGSERVER=$2
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../../tests/lib.sh"
setup_work

# run NAME ARGS...: the client with a summary in $WORK/NAME.csv, the server's
# counters reset first; sets RC.
run() {
    local name=$1
    shift
    reset_stats
    set +e
    "$client" -s "$BASE_URL" -d "$WORK/dest-$name" -q --summary "$WORK/$name.csv" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    set -e
}

# expect NAME COLUMN VALUE: a summary field.
expect() {
    local got
    got=$(csv_field "$WORK/$1.csv" 1 "$2")
    [[ $got == "$3" ]] || fail "$1: $2 is $got, expected $3"
}

# no_temps NAME: no hidden temporary file in the destination.
no_temps() {
    local left
    left=$(find "$WORK/dest-$1" -name '.*' | head -3)
    [[ -z $left ]] || fail "$1: temporary files left: $left"
}

# ---- kernel_workers --------------------------------------------------------
# The blocking file operations of the saves run on the kernel's io_uring
# workers (iou-wrk-PID); flags_uring caps them at 3. (That it runs on one
# thread of its own is the shared check, tests/one_thread.sh.)
start_server "$WORK" --delay 0.5
reset_stats
"$client" -s "$BASE_URL" -d "$WORK/dest-kw" -q -a -m 194 >"$WORK/kw.out" 2>"$WORK/kw.err" &
pid=$!
sample_threads "$pid"
wait "$pid" || fail "kernel_workers: exit $?: $(head -3 "$WORK/kw.err")"
((SAMPLES >= 1)) || fail "kernel_workers: the client was never seen in /proc"
((MOST_KERNEL <= 3)) || fail "kernel_workers: $MOST_KERNEL io_uring workers, capped at 3"
stop_server

# ---- exactly_m -------------------------------------------------------------
# A delay long beside the time it takes to start 10 requests, on any machine:
# 40 flags, 4 rounds.
start_server "$WORK" --delay 0.5
run m10 -a -l 40 -m 10
[[ $RC -eq 0 ]] || fail "m10: exit $RC"
expect m10 ok 40
expect m10 max_req 10
[[ $(stats_field in_progress_peak) -eq 10 ]] || fail "m10: server saw $(stats_field in_progress_peak) at once"
# Keep-alive: about 10 connections carry the 40 requests (a few more when a
# connection is not yet free for re-use as the next transfer starts).
conns=$(stats_field connections_total)
((conns <= 20)) || fail "m10: $conns connections for 40 requests, 10 at a time"
stop_server

start_server "$WORK" --delay 0.05

# ---- fd_reuse --------------------------------------------------------------
run noreuse -e -m 50 --no-reuse
[[ $RC -eq 0 ]] || fail "noreuse: exit $RC: $(head -3 "$WORK/noreuse.err")"
expect noreuse requests 676
expect noreuse ok 194
expect noreuse not_found 482
expect noreuse errors 0
[[ $(count_files "$WORK/dest-noreuse") -eq 194 ]] || fail "noreuse: files"
(($(stats_field connections_total) >= 676)) || fail "noreuse: connections were reused"
stop_server

start_server "$WORK" --close
run close -e -m 50
[[ $RC -eq 0 ]] || fail "close: exit $RC: $(head -3 "$WORK/close.err")"
expect close ok 194
expect close not_found 482
expect close errors 0
[[ $(count_files "$WORK/dest-close") -eq 194 ]] || fail "close: files"
# Every flag byte-identical to the server's.
for cc in ad br cn zw; do
    curl -sf "$BASE_URL/$cc/$cc.gif" -o "$WORK/ref.gif" || fail "curl $cc"
    cmp -s "$WORK/ref.gif" "$WORK/dest-close/$cc.gif" || fail "close: $cc.gif differs"
done
# The same with multishot polls (stale completions then come from every
# cancelled poll), and with saves through the ring (FLAGBENCH_SAVE=ring), on
# direct and on plain descriptors (the fallback path).
FLAGBENCH_URING_MULTISHOT=1 run close_ms -e -m 50
[[ $RC -eq 0 ]] || fail "close_ms: exit $RC: $(head -3 "$WORK/close_ms.err")"
expect close_ms ok 194
expect close_ms not_found 482
for fds in 0 1; do
    name=close_ring$fds
    FLAGBENCH_SAVE=ring FLAGBENCH_URING_PLAIN_FDS=$fds run "$name" -e -m 50
    [[ $RC -eq 0 ]] || fail "$name: exit $RC: $(head -3 "$WORK/$name.err")"
    expect "$name" ok 194
    [[ $(count_files "$WORK/dest-$name") -eq 194 ]] || fail "$name: files"
    cmp -s "$WORK/ref.gif" "$WORK/dest-$name/zw.gif" || fail "$name: zw.gif differs"
done
# With --metadata: two requests per flag, files named after countries.
run meta -a -m 50 --metadata
[[ $RC -eq 0 ]] || fail "meta: exit $RC: $(head -3 "$WORK/meta.err")"
expect meta ok 194
[[ -f "$WORK/dest-meta/Brazil.gif" ]] || fail "meta: no Brazil.gif"

# ---- save_fails ------------------------------------------------------------
# A directory where br.gif and cn.gif should go: their renames fail, the
# flags are errors, and no temporary file is left, saved in the loop or
# through the ring with either kind of descriptor.
for how in loop:0 ring:0 ring:1; do
    name=savefail_${how/:/}
    mkdir -p "$WORK/dest-$name/br.gif" "$WORK/dest-$name/cn.gif"
    FLAGBENCH_SAVE=${how%:*} FLAGBENCH_URING_PLAIN_FDS=${how#*:} run "$name" BR CN US -v
    [[ $RC -eq 1 ]] || fail "$name: exit $RC, expected 1"
    expect "$name" ok 1
    expect "$name" errors 2
    grep -q '^BR error: save: Is a directory' "$WORK/$name.err" || fail "$name: no reason"
    [[ -s "$WORK/dest-$name/us.gif" ]] || fail "$name: us.gif missing"
    no_temps "$name"
done

# ---- stale_temp ------------------------------------------------------------
# A temporary a killed run left behind under the name this run's first save
# will try (same pid: the subshell execs the client): the save takes the
# next name, the flag is saved, and the stranger's file is left alone.
for how in loop:0 ring:0 ring:1; do
    name=staletemp_${how/:/}
    d=$WORK/dest-$name
    mkdir -p "$d"
    (
        echo stale >"$d/.br.gif.$BASHPID-1.tmp"
        FLAGBENCH_SAVE=${how%:*} FLAGBENCH_URING_PLAIN_FDS=${how#*:} exec "$client" \
            -s "$BASE_URL" -d "$d" -q -v BR >"$WORK/$name.out" 2>"$WORK/$name.err"
    ) || fail "$name: exit $?: $(cat "$WORK/$name.err")"
    [[ -s "$d/br.gif" ]] || fail "$name: br.gif missing"
    [[ $(cat "$d"/.br.gif.*-1.tmp) == stale ]] || fail "$name: the stale temporary was touched"
    [[ $(count_files "$d") -eq 2 ]] || fail "$name: $(ls -A "$d")"
done
stop_server

# ---- chaos -----------------------------------------------------------------
start_server "$WORK" --chaos reset:0.2 --chaos truncate:0.2
run chaos -a -m 40 --timeout 5
[[ $RC -eq 1 ]] || fail "chaos: exit $RC, expected 1"
ok=$(csv_field "$WORK/chaos.csv" 1 ok)
errors=$(csv_field "$WORK/chaos.csv" 1 errors)
((ok + errors == 194 && errors > 0)) || fail "chaos: $ok ok + $errors errors"
[[ $(count_files "$WORK/dest-chaos") -eq $ok ]] || fail "chaos: files != ok"
no_temps chaos
stop_server

# SIGINT is in the hardening list (tests/hardening.sh), for every back end.
echo "uring_test: all passed"

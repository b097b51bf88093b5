#!/usr/bin/env bash
# flags_procs end to end: procs_test.sh FLAGS_PROCS FLAGSERVER CASE.
# What a process pool adds to the shared lists (tests/e2e.sh, hardening.sh,
# one_thread.sh): its size, a worker killed mid-flag, SIGINT sent as a
# terminal sends it, the parent killed, and never a zombie or orphan left.
#   pool_size      -m, -j and their default (the CPUs it may run on) name the
#                  worker processes, one request in flight each
#   killed_worker  kill -9 of a worker holding a flag: that flag is an error
#                  saying so, the worker is reaped at once, a replacement
#                  takes the rest, nothing partial is left
#   sigint_group   SIGINT to the whole process group: exit 130, the flags in
#                  hand not run, no temporary files, no worker left
#   parent_killed  kill -9 of the parent: every worker dies with it
# Counts and states only: timings are benchmarks' business.
set -euo pipefail
client=$1 FLAGSERVER=$2 case=$3
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../../tests/lib.sh"
setup_work
dest=$WORK/dest

# children PID: the worker processes of PID now, one a line.
children() {
    local kids=()
    { read -r -a kids <"/proc/$1/task/$1/children"; } 2>/dev/null || :
    printf '%s\n' "${kids[@]}"
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS (a
# bound for an event, not a measurement); status 1 if it never did.
wait_until() {
    local limit=$1 start=$SECONDS tick
    shift
    exec {tick}<> <(:)
    until "$@"; do
        if ((SECONDS - start >= limit)); then
            exec {tick}<&-
            return 1
        fi
        read -r -t 0.01 -u "$tick" _ || true
    done
    exec {tick}<&-
}

in_progress_is() { [[ $(stats_field in_progress) -eq $1 ]]; }
gone() { [[ ! -e /proc/$1 ]]; }
all_gone() {
    local p
    for p in "$@"; do gone "$p" || return 1; done
}

# no_temporaries: nothing hidden (a save's temporary) in the destination.
no_temporaries() {
    [[ -z $(find "$dest" -mindepth 1 -name '.*' 2>/dev/null) ]] ||
        fail "temporaries left: $(find "$dest" -name '.*')"
}

case $case in
pool_size)
    start_server "$WORK" --delay 0.05
    # NAME:ARGS:WANT: with ARGS the pool has WANT worker processes. The
    # run's summary is $WORK/NAME.csv; an empty stderr is checked.
    for spec in "m3:-m 3:3" "j5:-j 5:5" "jm:-j 2 -m 5:2" "mj:-m 2 -j 5:2" "m1:-m 1:1"; do
        IFS=: read -r name args want <<<"$spec"
        RC=0
        # shellcheck disable=SC2086
        "$client" -s "$BASE_URL" -d "$dest" -q --summary "$WORK/$name.csv" -a -l 12 $args \
            2>"$WORK/$name.err" || RC=$?
        [[ $RC -eq 0 ]] || fail "$args: exit $RC: $(cat "$WORK/$name.err")"
        # Every worker ended well (under the sanitizers: clean at its exit).
        [[ ! -s $WORK/$name.err ]] || fail "$args: $(head -5 "$WORK/$name.err")"
        for field in loops max_req; do
            got=$(csv_field "$WORK/$name.csv" 1 $field)
            [[ $got -eq $want ]] || fail "$args: $field $got, expected $want"
        done
        peak=$(csv_field "$WORK/$name.csv" 1 inflight_peak)
        ((peak <= want)) || fail "$args: $peak in flight, over $want processes"
        [[ $(csv_field "$WORK/$name.csv" 1 threads) -eq $((want + 1)) ]] ||
            fail "$args: threads $(csv_field "$WORK/$name.csv" 1 threads), expected $want + 1"
    done
    # Neither given: the CPUs the process may run on, as under taskset.
    set +e
    taskset -c 0 "$client" -s "$BASE_URL" -d "$dest" -q --summary "$WORK/cpu1.csv" -a -l 12 \
        2>"$WORK/cpu1.err"
    RC=$?
    set -e
    [[ $RC -eq 0 ]] || fail "taskset -c 0: exit $RC: $(cat "$WORK/cpu1.err")"
    [[ $(csv_field "$WORK/cpu1.csv" 1 loops) -eq 1 ]] ||
        fail "on one CPU the pool has $(csv_field "$WORK/cpu1.csv" 1 loops) processes, not 1"
    "$client" --help | grep -q -- '--jobs' || fail "--help lacks -j/--jobs"
    ;;
killed_worker)
    # 8 flags, 4 workers, each response held 1 s: once the server holds 4
    # requests every worker has a flag in hand, and one of them is killed.
    start_server "$WORK" --delay 1
    "$client" -s "$BASE_URL" -d "$dest" -v -a -l 8 -m 4 --summary "$WORK/s.csv" \
        --trace "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    wait_until 60 in_progress_is 4 || fail "the server never held 4 requests"
    victim=$(children "$pid" | head -1)
    [[ -n $victim ]] || fail "no worker process to kill"
    kill -9 "$victim"
    # Reaped while the run goes on: no zombie, even for a moment longer
    # than it takes the parent to hear of it.
    wait_until 60 gone "$victim" || fail "worker $victim is still in /proc: $(cat /proc/"$victim"/stat)"
    kill -0 "$pid" 2>/dev/null || fail "the run ended before its killed worker was reaped"
    RC=0
    wait "$pid" || RC=$?
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1: $(tail -3 "$WORK/err")"
    [[ $(csv_field "$WORK/s.csv" 1 ok) -eq 7 ]] || fail "ok $(csv_field "$WORK/s.csv" 1 ok), expected 7"
    [[ $(csv_field "$WORK/s.csv" 1 errors) -eq 1 ]] || fail "errors: $(grep error "$WORK/err")"
    grep -qE "^[A-Z]{2} error: worker process $victim killed by SIGKILL$" "$WORK/err" ||
        fail "no reason naming the worker: $(grep error "$WORK/err")"
    [[ $(count_files "$dest") -eq 7 ]] || fail "$(count_files "$dest") files for 7 ok flags"
    no_temporaries
    ;;
sigint_group)
    # As a terminal's ^C: SIGINT to the parent and every worker at once.
    start_server "$WORK" --delay 0.5
    setsid "$client" -s "$BASE_URL" -d "$dest" -a -m 4 --summary "$WORK/s.csv" \
        >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    wait_for_files "$pid" "$dest" 1 || fail "the client ended before saving a flag"
    mapfile -t workers < <(children "$pid")
    ((${#workers[@]} > 0)) || fail "no worker processes seen"
    kill -INT -- "-$pid"
    RC=0
    wait "$pid" || RC=$?
    [[ $RC -eq 130 ]] || fail "exit $RC, expected 130: $(tail -3 "$WORK/err")"
    grep -q 'not run (interrupted)' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    not_run=$(csv_field "$WORK/s.csv" 1 not_run)
    errors=$(csv_field "$WORK/s.csv" 1 errors)
    ((ok > 0 && not_run > 0 && errors == 0)) || fail "$ok ok, $not_run not run, $errors errors"
    [[ $(count_files "$dest") -eq $ok ]] || fail "$(count_files "$dest") files for $ok ok flags"
    no_temporaries
    # The parent reaped them all before it ended: none is left.
    all_gone "${workers[@]}" || fail "workers left after the run: $(ps -o pid,stat,cmd -p "$(IFS=,; echo "${workers[*]}")")"
    ;;
parent_killed)
    # The parent killed outright: PR_SET_PDEATHSIG takes the workers too.
    # Each response held far longer than the wait for them to go, so that
    # a worker left alive would still be waiting for its flag.
    start_server "$WORK" --delay 100
    "$client" -s "$BASE_URL" -d "$dest" -q -a -l 8 -m 4 --timeout 200 >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    wait_until 60 in_progress_is 4 || fail "the server never held 4 requests"
    mapfile -t workers < <(children "$pid")
    ((${#workers[@]} == 4)) || fail "${#workers[@]} worker processes, not 4"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    wait_until 30 all_gone "${workers[@]}" ||
        fail "orphaned workers outlived their parent: $(ps -o pid,ppid,stat,cmd -p "$(IFS=,; echo "${workers[*]}")")"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "ok: $case"

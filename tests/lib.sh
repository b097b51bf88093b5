# shellcheck shell=bash
# The tests' layer on scripts/lib.sh (the one set of helpers; start_server,
# stop_server, make_scratch and fail come from there): a real flagserver on
# 127.0.0.1 and the helpers only tests use. Callers set FLAGSERVER.
PROG=${PROG:-$(basename "$0" .sh)}
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# skip_without TOOL... — exit 77 (ctest's skip) when a TOOL is not installed.
skip_without() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
    done
}

# check NAME COMMAND... — run COMMAND: "ok   NAME" or "FAIL NAME" (and
# FAILED=1), and the test goes on; it ends with exit "$FAILED".
FAILED=0
# shellcheck disable=SC2034 # FAILED is read by the tests that source this file
check() {
    local name=$1
    shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; FAILED=1; fi
}

# setup_work: a scratch folder WORK, removed on exit with the server stopped.
setup_work() {
    make_scratch "$PROG"
}

# expect_usage_errors ARGS... — each ARGS (words in one string) is a bad
# command line for the caller's run_client: exit 2, one error line, the
# usage.
expect_usage_errors() {
    local args
    for args in "$@"; do
        # shellcheck disable=SC2086
        run_client $args
        [[ $RC -eq 2 ]] || fail "'$args' exited $RC, expected 2"
        [[ $(grep -c ': error: ' "$WORK/err") -eq 1 ]] || fail "'$args': $(cat "$WORK/err")"
        grep -q '^usage: ' "$WORK/err" || fail "'$args': no usage line"
    done
}

# expect_flag_errors N REASON_REGEX DEST: the caller's run (RC, its report in
# $WORK/out, its -v lines in $WORK/err, saving into DEST) made all N flags
# errors whose reason matches REASON_REGEX, exited 1 and saved nothing.
expect_flag_errors() {
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1: $(tail -3 "$WORK/err")"
    grep -q "^ *$1 errors\?\.$" "$WORK/out" || fail "report: $(cat "$WORK/out")"
    local n
    n=$(grep -cE "^[A-Z]{2} error: ($2)" "$WORK/err" || true)
    [[ $n -eq $1 ]] || fail "$n of $1 errors match '$2': $(grep error "$WORK/err" | head -3)"
    [[ ! -e $3 || $(count_files "$3") -eq 0 ]] || fail "left behind: $(ls -A "$3")"
}

# count_files DIR: entries in DIR, hidden ones too.
count_files() {
    find "$1" -mindepth 1 | wc -l
}

# stats_field NAME: a number from the server's /stats JSON.
stats_field() {
    curl -sf "${CACERT_ARGS[@]}" "$SERVER_URL/stats" | grep -o "\"$1\" *: *[0-9]*" | grep -o '[0-9]*$'
}

# reset_stats: the server's counters back to zero.
reset_stats() {
    curl -sf "${CACERT_ARGS[@]}" "$SERVER_URL/stats?reset=1" >/dev/null || fail "GET /stats?reset=1"
}

# sample_threads PID: while PID lives, count its threads every 10 ms or so;
# sets SAMPLES and the most seen at once of ours (MOST_OURS) and of the
# kernel's I/O workers (MOST_KERNEL: iou-wrk-*, which run blocking file
# operations on the process's behalf). A worker is told by the kernel's
# PF_IO_WORKER flag (0x10 in /proc/.../stat's flags), set before it first
# runs, not by its name, which it takes only once running. Also the most
# child processes seen at once (MOST_CHILDREN) and every child's pid
# (CHILDREN_SEEN: pid -> 1), for a process pool. Shell builtins
# only: a sampler that forks competes with what it measures, and its rate
# would depend on how fast this machine forks.
sample_threads() {
    local pid=$1 stat ours kernel task tick kids kid
    local -a fields
    SAMPLES=0 MOST_OURS=0 MOST_KERNEL=0 MOST_CHILDREN=0
    declare -gA CHILDREN_SEEN=()
    # A pipe nobody writes: read -t on it sleeps without starting a process.
    exec {tick}<> <(:)
    while kill -0 "$pid" 2>/dev/null; do
        ours=0 kernel=0
        # One pass over the task list, so that a worker coming or going
        # between two reads cannot be taken for one of ours.
        for task in /proc/"$pid"/task/*/stat; do
            { read -r stat <"$task"; } 2>/dev/null || continue
            # After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags.
            read -r -a fields <<<"${stat##*) }"
            if ((fields[6] & 0x10)); then kernel=$((kernel + 1)); else ours=$((ours + 1)); fi
        done
        kids=() # the file ends with no newline: read fills kids and fails
        { read -r -a kids <"/proc/$pid/task/$pid/children"; } 2>/dev/null || :
        ((${#kids[@]} > MOST_CHILDREN)) && MOST_CHILDREN=${#kids[@]}
        # shellcheck disable=SC2034 # read by the callers
        for kid in "${kids[@]}"; do CHILDREN_SEEN[$kid]=1; done
        if ((ours > 0)); then
            SAMPLES=$((SAMPLES + 1))
            ((ours > MOST_OURS)) && MOST_OURS=$ours
            ((kernel > MOST_KERNEL)) && MOST_KERNEL=$kernel
        fi
        read -r -t 0.01 -u "$tick" _ || true
    done
    exec {tick}<&-
}

# float_lt A B: A < B for decimal numbers.
float_lt() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

# wait_for_files PID DIR N: wait while PID lives until DIR holds N saved
# files (not hidden: the clients write a file with no name, or a hidden
# temporary, and then name it);
# status 1 if PID ended first. In place of a sleep, whose right length would
# depend on the machine.
wait_for_files() {
    local pid=$1 dir=$2 n=$3 tick f count
    exec {tick}<> <(:)
    while kill -0 "$pid" 2>/dev/null; do
        count=0
        for f in "$dir"/*; do
            [[ -e $f ]] && count=$((count + 1))
        done
        if ((count >= n)); then
            exec {tick}<&-
            return 0
        fi
        read -r -t 0.01 -u "$tick" _ || true
    done
    exec {tick}<&-
    return 1
}

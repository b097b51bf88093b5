#!/usr/bin/env bash
# flags_threadpool end to end: threadpool_test.sh FLAGS_THREADPOOL FLAGSERVER
#
# A real flagserver on 127.0.0.1 that holds every response 0.2 s, and the
# real client. The server's /stats counts the requests in progress at once,
# so it sees the pool's concurrency from the outside:
#   -m 1              exactly one at a time, as slow as sequential
#   -m 20, 40 flags   at most 20 at once, and 20 unless the client's trace
#                     shows this machine took over half the delay to start
#                     them; a third of the -m 1 run's time at most; 21
#                     threads (20 workers + main)
#   -m 1000           1000 worker threads on 64 KiB stacks work
# Orders of magnitude only: timings are benchmarks' business.
set -euo pipefail
client=$1 FLAGSERVER=$2
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../../tests/lib.sh"
setup_work

DELAY=0.2
start_server "$WORK" --delay "$DELAY"

# run NAME ARGS...: reset the server's counters, run the client with a
# summary in $WORK/NAME.csv and a trace in $WORK/NAME.trace.csv.
run() {
    local name=$1
    shift
    reset_stats
    set +e
    "$client" -s "$BASE_URL" -d "$WORK/dest-$name" -q --summary "$WORK/$name.csv" \
        --trace "$WORK/$name.trace.csv" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    set -e
}

# run_vmem NAME KB STATUS ARGS... — run with at most KB KiB of address
# space (the limit stays in a subshell); the exit status must be STATUS.
run_vmem() {
    local name=$1 kb=$2 want=$3
    shift 3
    # shellcheck disable=SC2030,SC2031 # ulimit only in the subshell
    (
        ulimit -v "$kb"
        run "$name" "$@"
        [[ $RC -eq $want ]] || fail "$name: exit $RC, expected $want: $(cat "$WORK/$name.err")"
    )
}

# expect_ok NAME N: exit 0, N flags ok, every trace row queued before started.
expect_ok() {
    [[ $RC -eq 0 ]] || fail "$1: exit $RC: $(head -5 "$WORK/$1.err")"
    local ok
    ok=$(csv_field "$WORK/$1.csv" 1 ok)
    [[ $ok -eq $2 ]] || fail "$1: $ok flags ok, expected $2"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
             $h["queued_us"] < 0 || $h["started_us"] < $h["queued_us"] { bad++ }
             END { exit bad > 0 }' "$WORK/$1.trace.csv" ||
        fail "$1: a record started before it was queued, or was never queued"
}

# distinct_threads NAME: kernel threads that ran requests, from the trace.
distinct_threads() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "thread") c = i; next }
             { t[$c] = 1 } END { print length(t) }' "$WORK/$1.trace.csv"
}

# start_spread NAME K: microseconds between the first and the K-th request
# the client started, from its trace.
start_spread() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "started_us") c = i; next }
             { print $c }' "$WORK/$1.trace.csv" | sort -n |
        awk -v k="$2" 'NR == 1 { first = $1 } NR == k { print $1 - first }'
}

echo "== -m 1 behaves like sequential"
run m1 -a -l 40 -m 1
expect_ok m1 40
peak=$(stats_field in_progress_peak)
[[ $peak -eq 1 ]] || fail "-m 1: server saw $peak requests at once"
threads=$(csv_field "$WORK/m1.csv" 1 threads)
[[ $threads -eq 2 ]] || fail "-m 1: threads $threads, expected 2"
seq_wall=$(csv_field "$WORK/m1.csv" 1 wall_s)
float_lt "$seq_wall" "$(awk -v d="$DELAY" 'BEGIN { print 40 * d }')" &&
    fail "-m 1: wall $seq_wall s, faster than 40 x $DELAY s"
echo "   in_progress_peak $peak, threads $threads, wall $seq_wall s"

echo "== -m 20, 40 flags, $DELAY s each"
run m20 -a -l 40 -m 20
expect_ok m20 40
peak=$(stats_field in_progress_peak)
[[ $peak -le 20 ]] || fail "-m 20: server saw $peak requests at once"
# All 20 at once, unless this machine took longer than the delay to start
# them (the client's trace says how long it took).
spread=$(start_spread m20 20)
if [[ $peak -lt 20 ]]; then
    awk -v s="$spread" -v d="$DELAY" 'BEGIN { exit !(s >= d * 1e6 / 2) }' ||
        fail "-m 20: server saw only $peak requests at once, though the 20 started within $spread us"
    echo "   (peak $peak: starting 20 requests took $spread us here, against a $DELAY s delay)"
fi
threads=$(csv_field "$WORK/m20.csv" 1 threads)
[[ $threads -eq 21 ]] || fail "-m 20: threads $threads, expected 21 (20 workers + main)"
inflight=$(csv_field "$WORK/m20.csv" 1 inflight_peak)
[[ $inflight -le 20 && $inflight -ge $peak ]] || fail "-m 20: inflight_peak $inflight (server peak $peak)"
[[ $(distinct_threads m20) -le 20 ]] || fail "-m 20: more than 20 threads ran requests"
# Far faster than one at a time, as measured by the -m 1 run just before.
wall=$(csv_field "$WORK/m20.csv" 1 wall_s)
float_lt "$wall" "$(awk -v s="$seq_wall" 'BEGIN { print s / 3 }')" ||
    fail "-m 20: wall $wall s, not well under the -m 1 run's $seq_wall s"
echo "   in_progress_peak $peak, inflight_peak $inflight, threads $threads, wall $wall s"

echo "== -m 1000 on 64 KiB stacks (194 flags x 6 = 1164 requests)"
# --timeout well above the default 10 s: 1000 threads start slowly under
# ThreadSanitizer or on a busy machine, and that is not what is tested here.
run m1000 -a --repeat 6 -m 1000 --stack-size 65536 --timeout 300
expect_ok m1000 1164
threads=$(csv_field "$WORK/m1000.csv" 1 threads)
[[ $threads -eq 1001 ]] || fail "-m 1000: threads $threads, expected 1001"
[[ $(count_files "$WORK/dest-m1000") -eq 1164 ]] || fail "-m 1000: files missing"
echo "   in_progress_peak $(stats_field in_progress_peak), threads $threads," \
    "wall $(csv_field "$WORK/m1000.csv" 1 wall_s) s"

echo "== --stack-size below what libcurl needs is a usage error"
set +e
"$client" -s "$BASE_URL" -d "$WORK/dest-small" -a -l 40 --stack-size 16384 >/dev/null 2>"$WORK/small.err"
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "--stack-size 16384: exit $rc, expected 2"
grep -q -- '--stack-size needs 64K' "$WORK/small.err" || fail "$(cat "$WORK/small.err")"

# Out of threads: address space for 2 stacks of 1 GiB, not for 10. The
# sanitizer runtimes need far more address space than the limit: skip.
# (Not `ldd | grep -q`: with pipefail, grep quitting early fails the pipe.)
if [[ $(ldd "$client") == *lib[at]san* ]]; then
    echo "== thread start failures: skipped (sanitizer build)"
else
    echo "== fewer threads than asked: a warning, and the run goes on"
    run_vmem fewer 3000000 0 -a -l 40 -m 10 --stack-size 1G
    grep -q '^flags_threadpool: warning: started [1-9] of 10 worker threads' "$WORK/fewer.err" ||
        fail "fewer: no warning: $(cat "$WORK/fewer.err")"
    [[ $(wc -l <"$WORK/fewer.err") -eq 1 ]] || fail "fewer: more than one line: $(cat "$WORK/fewer.err")"
    [[ $(csv_field "$WORK/fewer.csv" 1 ok) -eq 40 ]] || fail "fewer: not every flag ok"
    threads=$(csv_field "$WORK/fewer.csv" 1 threads)
    [[ $threads -ge 2 && $threads -le 10 ]] || fail "fewer: threads $threads"

    echo "== no thread at all: a clear error, exit 4"
    run_vmem none 800000 4 -a -l 40 -m 10 --stack-size 1G
    grep -q "^flags_threadpool: error: can't start any of 10 worker threads" "$WORK/none.err" ||
        fail "none: $(cat "$WORK/none.err")"
    [[ $(count_files "$WORK/dest-none") -eq 0 ]] || fail "none: files saved"
fi

# SIGINT is in the hardening list (tests/hardening.sh), for every back end.
echo "PASS"

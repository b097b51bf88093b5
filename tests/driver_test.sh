#!/usr/bin/env bash
# driver_test.sh BUILD — the driver end to end (tests/driver.cmake):
#  1. bench_ci.sh passes against the committed results/baseline.csv;
#  2. it fails, naming the figure, against baselines doctored to claim a
#     faster uring, another thread count and fewer instructions per request:
#     the same verdict a back end made slower (or changed) would get;
#  3. bench.sh makes a small report with its table, CSVs and plots;
#  4. usage errors exit 2 with one line.
set -euo pipefail
build=$(cd "${1:?usage: driver_test.sh BUILD}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in hyperfine gnuplot valgrind; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/driver-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
check() { # check NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failed=1; fi
}

# 1. The real baseline passes (measures once, saves the figures).
rc=0
"$root/scripts/bench_ci.sh" --build "$build" --save "$tmp/measured.csv" >"$tmp/ci.out" 2>&1 || rc=$?
cat "$tmp/ci.out"
check "bench_ci passes on the committed baseline" test "$rc" -eq 0

# 2. Doctored baselines: scale one figure; the gate must fail and name it.
doctor() { # doctor FIGURE BACKEND AWK-EXPR-OF-v OUT
    awk -F, -v OFS=, -v f="$1" -v b="$2" "NR > 1 && \$1 == f && \$2 == b { v = \$3; \$3 = $3 } { print }" \
        "$tmp/measured.csv" >"$4"
}
expect_fail() { # expect_fail BASELINE TEXT
    local rc=0
    "$root/scripts/bench_ci.sh" --from "$tmp/measured.csv" --baseline "$1" >"$tmp/out" 2>"$tmp/err" || rc=$?
    check "doctored $(basename "$1" .csv): exit 1" test "$rc" -eq 1
    check "doctored $(basename "$1" .csv): names '$2'" grep -q "regression: $2" "$tmp/err"
    sed 's/^/    /' "$tmp/err"
}
doctor speedup uring "v * 2" "$tmp/uring-speedup.csv"
expect_fail "$tmp/uring-speedup.csv" "uring speedup"
doctor threads threadpool "v + 1" "$tmp/threadpool-threads.csv"
expect_fail "$tmp/threadpool-threads.csv" "threadpool threads"
doctor instructions_per_request sequential "int(v / 2)" "$tmp/seq-instructions.csv"
expect_fail "$tmp/seq-instructions.csv" "sequential instructions_per_request"
rc=0
"$root/scripts/bench_ci.sh" --from "$tmp/measured.csv" --baseline "$tmp/measured.csv" >/dev/null 2>&1 || rc=$?
check "measured figures pass against themselves" test "$rc" -eq 0

# 3. A small bench: its report, CSVs and plots.
rc=0
"$root/scripts/bench.sh" --build "$build" --delay 0.01 --flags 5 --runs 2 \
    --results "$tmp/results" >"$tmp/bench.out" 2>"$tmp/bench.err" || rc=$?
check "bench.sh exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || tail -20 "$tmp/bench.err"
cat "$tmp/bench.out"
run=$tmp/results/latest
check "bench.sh prints the table" grep -q '^uring ' "$tmp/bench.out"
check "bench.sh prints a computed sentence" grep -q 'sequential spent [0-9]*% of its' "$tmp/bench.out"
for f in summary.csv trace-sequential-all5.csv trace-uring-all5.csv hyperfine-all5-threadpool.json \
    hyperfine-all5-uring.csv hyperfine-all5-sequential.md report.md timeline-uring-all5.png \
    timeline-all5.png wall-cpu-all5.png; do
    check "bench.sh wrote $f" test -s "$run/$f"
done
nbackends=$(grep -c . "$build/backends.txt")
check "summary.csv has a header and a row per back end" \
    test "$(wc -l <"$run/summary.csv")" -eq $((nbackends + 1))

# 4. Usage errors.
for args in "--bogus" "--delay x" "--flags 20,x" "--backends seq"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    "$root/scripts/bench.sh" --build "$build" $args >/dev/null 2>"$tmp/err" || rc=$?
    check "bench.sh $args: exit 2, one line" test "$rc" -eq 2 -a "$(wc -l <"$tmp/err")" -eq 1
done
rc=0
"$root/scripts/bench_ci.sh" --build "$build" --baseline "$tmp/none.csv" >/dev/null 2>"$tmp/err" || rc=$?
check "bench_ci.sh without a baseline: exit 2" test "$rc" -eq 2
exit "$failed"

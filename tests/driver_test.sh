#!/usr/bin/env bash
# driver_test.sh BUILD — the driver end to end (tests/driver.cmake):
#  1. bench_ci.sh measures its figures and gives a verdict (exit 0 or 1:
#     whether this machine meets the committed baseline is `make bench-ci`'s
#     business, not a test's; a busy machine must not fail the suite);
#  2. it fails, naming the figure, against baselines doctored to claim a
#     faster back end, another thread count and fewer instructions per
#     request: the same verdict a back end made slower (or changed) would get;
#  3. bench.sh makes a small report with its table, CSVs and plots, for
#     every back end in the build's list;
#  4. scale.sh runs a small size and splits its CPU ratio into a connection
#     per request and holding N at once, for every back end but the
#     baseline (which it skips past N=100);
#  5. usage errors exit 2 with one line.
# Back ends are named only by the build's list (BUILD/backends.txt) and the
# measured figures.
set -euo pipefail
build=$(cd "${1:?usage: driver_test.sh BUILD}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
source "$root/tests/lib.sh"
skip_without hyperfine gnuplot valgrind
tmp=$(mktemp -d "${TMPDIR:-/tmp}/driver-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mapfile -t backends < <(cut -f1 "$build/backends.txt")
baseline=${backends[0]}

# 1. A real measurement and a verdict on the committed baseline.
rc=0
"$root/scripts/bench_ci.sh" --build "$build" --save "$tmp/measured.csv" >"$tmp/ci.out" 2>&1 || rc=$?
cat "$tmp/ci.out"
check "bench_ci measures and decides (exit $rc)" test "$rc" -le 1
check "bench_ci saved its figures" test -s "$tmp/measured.csv"

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
# with_figure FIGURE [SKIP]: a back end the measured figures have FIGURE for
# (the last one; the first but SKIP when SKIP is given).
with_figure() {
    awk -F, -v f="$1" -v skip="${2:-}" 'NR > 1 && $1 == f && $2 != skip { b = $2 } END { print b }' \
        "$tmp/measured.csv"
}
b=$(with_figure speedup "$baseline")
doctor speedup "$b" "v * 2" "$tmp/$b-speedup.csv"
expect_fail "$tmp/$b-speedup.csv" "$b speedup"
b=$(with_figure threads "$baseline")
doctor threads "$b" "v + 1" "$tmp/$b-threads.csv"
expect_fail "$tmp/$b-threads.csv" "$b threads"
doctor instructions_per_request "$baseline" "int(v / 2)" "$tmp/$baseline-instructions.csv"
expect_fail "$tmp/$baseline-instructions.csv" "$baseline instructions_per_request"
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
for b in "${backends[@]}"; do
    check "bench.sh's table has $b" grep -q "^$b " "$tmp/bench.out"
done
check "bench.sh prints the answer first" grep -q "^# How can one thread be" <(head -n 1 "$tmp/bench.out")
check "bench.sh prints a computed sentence" grep -q "$baseline made one request at a time: of its traced" "$tmp/bench.out"
check "bench.sh prints the phase account" grep -q "^$baseline .*(configured: 5 × 0.01 s)" "$tmp/bench.out"
files=(command.txt summary.csv report.md answer-all5.png timeline-all5.png phases-all5.png process-walls.csv)
for b in "${backends[@]}"; do
    files+=("trace-$b-all5.csv" "hyperfine-all5-$b.json" "hyperfine-all5-$b.csv" "hyperfine-all5-$b.md"
        "timeline-$b-all5.png")
done
for f in "${files[@]}"; do
    check "bench.sh wrote $f" test -s "$run/$f"
done
check "summary.csv has a header and a row per back end" \
    test "$(wc -l <"$run/summary.csv")" -eq $((${#backends[@]} + 1))

# 4. scale.sh, small: the table and the CPU ratio's two factors.
rc=0
"$root/scripts/scale.sh" --build "$build" --sizes 8 --delay 0.05 --ref-max-req 4 --ref-rounds 1 \
    --results "$tmp/scale" >"$tmp/scale.out" 2>"$tmp/scale.err" || rc=$?
check "scale.sh exits 0" test "$rc" -eq 0
for b in "${backends[@]:1}"; do
    check "scale.sh's table has $b" grep -q "^| $b | 8 | 8/8 |" "$tmp/scale.out"
    check "scale.sh splits $b's CPU ratio" \
        grep -Eq "^- $b: .* for a new connection per request .* for holding 8 at once" "$tmp/scale.out"
done
check "scale.sh wrote reference.csv with kept and fresh rows" \
    test "$(grep -c '^kept,' "$tmp/scale/latest/reference.csv")" -eq $((${#backends[@]} - 1)) -a \
    "$(grep -c '^fresh,' "$tmp/scale/latest/reference.csv")" -eq $((${#backends[@]} - 1))

# 5. Usage errors.
for args in "--bogus" "--delay x" "--flags 20,x" "--backends seq"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    "$root/scripts/bench.sh" --build "$build" $args >/dev/null 2>"$tmp/err" || rc=$?
    check "bench.sh $args: exit 2, one line" test "$rc" -eq 2 -a "$(wc -l <"$tmp/err")" -eq 1
done
rc=0
"$root/scripts/scale.sh" --build "$build" --ref-rounds 0 >/dev/null 2>"$tmp/err" || rc=$?
check "scale.sh --ref-rounds 0: exit 2, one line" test "$rc" -eq 2 -a "$(wc -l <"$tmp/err")" -eq 1
rc=0
"$root/scripts/bench_ci.sh" --build "$build" --baseline "$tmp/none.csv" >/dev/null 2>"$tmp/err" || rc=$?
check "bench_ci.sh without a baseline: exit 2" test "$rc" -eq 2
exit "$FAILED"

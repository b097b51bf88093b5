#!/usr/bin/env bash
# history_test.sh BUILD — scripts/history.sh on repositories made here
# (tests/history.cmake):
#  1. a throwaway clone of this project (its HEAD, whatever the depth of its
#     history), with on one branch, after a comment-only commit, a commit
#     that does not build and one that mends it, then a planted regression
#     (a busy loop at the start of every transfer: instructions per request
#     about 2.5 times) and two harmless commits after it; on another branch
#     only harmless commits, and one whose client's --help lacks --summary
#     (which bench-ci gives it) and its revert;
#  2. the history of the planted branch names the planted commit, and no
#     other, and reports the broken commit as skipped; the history of the
#     harmless branch says "no change beyond noise", names none and reports
#     the commit lacking an option as skipped;
#  3. the bisection from the branch point to the commit after the planted
#     one names the planted commit as the first bad one (skipping the broken
#     commit, where the halving lands first), and to the harmless branch's
#     tip none;
#  4. history.csv, the plot and the usage errors.
# Measured: instructions per request of the baseline back end only (the
# first of BUILD/backends.txt), the figure callgrind counts; two rounds.
set -euo pipefail
build=$(cd "${1:?usage: history_test.sh BUILD}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
source "$root/tests/lib.sh"
skip_without git valgrind
git -C "$root" rev-parse --verify -q HEAD >/dev/null || { echo "SKIP: $root is not a git checkout"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/history-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
baseline=$(cut -f1 "$build/backends.txt" | head -n 1)

# 1. The repository: a clone of HEAD, commits made with a fixed identity.
repo=$tmp/repo
git clone -q "$root" "$repo"
export GIT_AUTHOR_NAME=history-test GIT_AUTHOR_EMAIL=history-test@localhost
export GIT_COMMITTER_NAME=history-test GIT_COMMITTER_EMAIL=history-test@localhost
g() { git -C "$repo" "$@"; }
commit() { # commit MESSAGE — everything changed, committed; prints the short hash
    g commit -q -a -m "$1"
    g rev-parse --short HEAD
}
g checkout -q -b base-point
base=$(g rev-parse --short HEAD)
echo "/* history test: a comment only */" >>"$repo/common/fetch.c"
h1=$(commit "harmless: a comment in fetch.c")
g checkout -q -b planted
echo "this line is not C" >>"$repo/common/codes.c"
broken=$(commit "broken: codes.c does not compile")
g revert --no-edit HEAD >/dev/null
mended=$(g rev-parse --short HEAD)
sed -i 's/^void transfer_begin(struct transfer \*t, size_t i) {$/&\n    for (volatile unsigned spin = 0; spin < 20000; spin++) {} \/* planted *\//' \
    "$repo/common/fetch.c"
grep -q 'planted' "$repo/common/fetch.c" || { echo "FAIL can't plant: no transfer_begin in common/fetch.c"; exit 1; }
planted=$(commit "planted: a busy loop at the start of every transfer")
echo "A line for the history test." >>"$repo/README.md"
h5=$(commit "harmless: a line in README.md")
echo "/* history test: another comment */" >>"$repo/common/save.c"
h6=$(commit "harmless: a comment in save.c")
g checkout -q -b harmless "$h1"
echo "/* history test: a comment only */" >>"$repo/common/record.c"
c2=$(commit "harmless: a comment in record.c")
# A client whose --help no longer shows --summary, which bench-ci needs.
sed -i 's/--summary FILE/--summery FILE/g' "$repo/common/options.c"
grep -q -- '--summery' "$repo/common/options.c" || { echo "FAIL can't hide --summary in common/options.c"; exit 1; }
lacking=$(commit "lacking: --help without --summary")
g revert --no-edit HEAD >/dev/null
restored=$(g rev-parse --short HEAD)
echo "Another line for the history test." >>"$repo/README.md"
c3=$(commit "harmless: a line in README.md")
echo "planted branch: $base $h1 $broken(broken) $mended $planted(planted) $h5 $h6;" \
    "harmless: $base $h1 $c2 $lacking(lacking) $restored $c3"

common=(--repo "$repo" --cache "$tmp/cache" --backends "$baseline" --only instructions)
run_history() { # run_history OUT ARGS...
    local out=$1 rc=0
    shift
    "$root/scripts/history.sh" "${common[@]}" --history "$tmp/history.csv" --results "$tmp/results" \
        --rounds 2 "$@" >"$out" 2>"$out.err" || rc=$?
    cat "$out"
    return "$rc"
}

# 2. History: the planted commit, and only it; then nothing.
rc=0
run_history "$tmp/planted.out" --revs "$base..planted" || rc=$?
check "history of the planted branch exits 0 (got $rc)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || tail -n 20 "$tmp/planted.out.err"
check "history names the planted commit $planted first" \
    grep -q "^history: first change: $planted $baseline instructions_per_request" "$tmp/planted.out"
check "history names no other commit" test "$(grep -c '^history: \(first change\|also\):' "$tmp/planted.out")" -eq 1
check "history reports the broken commit $broken as skipped" \
    grep -q "skipped $broken .*does not build" "$tmp/planted.out"
run=$(cd "$tmp/results/latest" && pwd)
check "history draws the figure's plot" test -s "$run/history-instructions_per_request-$baseline.png"
check "history.csv has a row per measured commit (6)" test "$(grep -c instructions_per_request "$tmp/history.csv")" -eq 6
check "history.csv's rows are the measured commits" \
    test "$(cut -c1-7 "$tmp/history.csv" | sort | paste -sd' ')" == \
    "$(printf '%s\n' "${base:0:7}" "${h1:0:7}" "${mended:0:7}" "${planted:0:7}" "${h5:0:7}" "${h6:0:7}" commit, | sort | paste -sd' ')"
rc=0
run_history "$tmp/harmless.out" --revs "$base..harmless" || rc=$?
check "history of the harmless branch exits 0 (got $rc)" test "$rc" -eq 0
check "history of the harmless branch: no change beyond noise" \
    grep -q '^history: no change beyond noise over 5 commits' "$tmp/harmless.out"
check "history reports $lacking, whose client lacks --summary, as skipped" \
    grep -q "skipped $lacking .*lacks --summary" "$tmp/harmless.out"
check "history of the harmless branch names no commit" \
    test "$(grep -c '^history: \(first change\|also\):' "$tmp/harmless.out")" -eq 0
check "history.csv grew by 5 rows" test "$(grep -c instructions_per_request "$tmp/history.csv")" -eq 11

# 3. Bisect with the gate: the planted commit (from the commit after it:
# the halving then lands on the broken commit first, which is skipped);
# then none.
rc=0
"$root/scripts/history.sh" "${common[@]}" --good "$base" --bad "$h5" >"$tmp/bisect.out" 2>"$tmp/bisect.err" || rc=$?
cat "$tmp/bisect.out"
check "bisect of the planted branch exits 0 (got $rc)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || tail -n 20 "$tmp/bisect.err"
check "bisect names the planted commit $planted" grep -q "^bench-bisect: first bad commit: $planted " "$tmp/bisect.out"
check "bisect quotes the gate's regression" grep -q "regression: $baseline instructions_per_request" "$tmp/bisect.out"
check "bisect skips the broken commit $broken" grep -q "^bench-bisect: skipped $broken: does not build" "$tmp/bisect.out"
rc=0
"$root/scripts/history.sh" "${common[@]}" --good "$base" --bad harmless >"$tmp/bisect2.out" 2>"$tmp/bisect2.err" || rc=$?
cat "$tmp/bisect2.out"
check "bisect of the harmless branch exits 0 (got $rc)" test "$rc" -eq 0
check "bisect of the harmless branch names no commit" grep -q '^bench-bisect: no bad commit' "$tmp/bisect2.out"
check "bisect of the harmless branch names no first bad commit" \
    test "$(grep -c 'first bad commit' "$tmp/bisect2.out")" -eq 0

# 4. Usage errors: exit 2 with one line.
usage_error() { # usage_error ARGS...
    local rc=0
    "$root/scripts/history.sh" "$@" >"$tmp/usage.out" 2>&1 || rc=$?
    check "usage error '$*': exit 2 (got $rc)" test "$rc" -eq 2
    check "usage error '$*': one line" test "$(wc -l <"$tmp/usage.out")" -eq 1
}
usage_error --repo "$repo" --cache "$tmp/cache" --revs "$base"
usage_error --repo "$repo" --cache "$tmp/cache" --revs "nosuchcommit..HEAD"
usage_error --repo "$repo" --cache "$tmp/cache" --revs "$planted..$base"
usage_error --repo "$repo" --cache "$tmp/cache" --good "$base"
usage_error --repo "$tmp/nowhere" --cache "$tmp/cache"
usage_error --rounds 0
exit "$FAILED"

#!/usr/bin/env bash
# crossover_test.sh BUILD: make bench-crossover's script end to end on a
# small grid (20 flags, two points, one round, the C clients only): it
# calibrates, runs every client that can hold 20 in flight at each point,
# and writes the report with its targets and plot; bad options exit 2.
set -euo pipefail
build=$1
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work
script=$(dirname "$0")/../scripts/crossover.sh

for bad in "--points x" "--modes sideways" "--rounds 0" "--flags 500"; do
    rc=0
    # shellcheck disable=SC2086
    "$script" --build "$build" $bad >"$WORK/out" 2>&1 || rc=$?
    ((rc == 2)) || fail "'$bad': exit $rc, expected 2: $(cat "$WORK/out")"
done
"$script" --help | grep -q -- '--points LIST' || fail "--help lacks --points"

"$script" --build "$build" --flags 20 --delay 0.05 --points 0,4 --rounds 1 --modes shared \
    --no-peers --results "$WORK/res" >"$WORK/out" 2>"$WORK/err" || fail "exit $?: $(tail -5 "$WORK/err")"
dir=$WORK/res/latest
clients=$(awk -F'\t' '$3 != "" { n++ } END { print n }' "$build/backends.txt")
left=$(grep -c 'left out' "$WORK/err" || true)
rows=$(($(wc -l <"$dir/crossover.csv") - 1))
# Every client of the list but those left out, at two points.
((rows == 2 * (clients - left))) || fail "$rows rows for $clients clients ($left left out)"
grep -q "^Calibration: one unit of \`--work\`" "$dir/report.md" || fail "no calibration line"
grep -q '^## Targets' "$dir/report.md" || fail "no targets"
[[ -s $dir/crossover-shared.png ]] || fail "no plot"
awk -F, 'NR > 1 && $13 != 20 { bad = 1 } END { exit bad }' "$dir/crossover.csv" ||
    fail "a run did not download every flag"
echo "ok: $rows runs, report and plot"

#!/usr/bin/env bash
# coro_cost_test.sh CORO_COST (tests/tools.cmake): tools/coro_cost measures
# every kind in every round and prints one CSV row each (round,what,ns, ns a
# positive number), the medians on stderr; a bad command line exits 2 with
# one error line and the usage line. coro_cost.sh's --help and a bad option.
# No timing is asserted: this machine's speed is not the test's business.
set -euo pipefail
coro_cost=$1
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work

"$coro_cost" -n 2000 -s 20 -r 2 >"$WORK/out" 2>"$WORK/err" || fail "exit $?: $(head -3 "$WORK/err")"
[[ $(head -n 1 "$WORK/out") == round,what,ns ]] || fail "no CSV header: $(head -n 1 "$WORK/out")"
kinds="coroutine_switch swapcontext_switch thread_switch callback_dispatch coroutine_spawn thread_spawn"
for k in $kinds; do
    for r in 1 2; do
        grep -qE "^$r,$k,[0-9]+\.[0-9]{2}$" "$WORK/out" || fail "no row for $k in round $r: $(cat "$WORK/out")"
    done
    grep -qE "^$k +[0-9.]+ ns \(median of 2\)$" "$WORK/err" || fail "no median for $k: $(cat "$WORK/err")"
done
[[ $(wc -l <"$WORK/out") -eq 13 ]] || fail "not 12 rows and a header: $(cat "$WORK/out")"
awk -F, 'NR > 1 && $3 <= 0 { bad = 1 } END { exit bad }' "$WORK/out" || fail "a time not above 0: $(cat "$WORK/out")"
grep -q '^a thread context switch costs [0-9.]* coroutine switches$' "$WORK/err" || fail "no ratio: $(cat "$WORK/err")"

for args in "--bogus" "-n 0" "-r x" "-s" "-c 100000" "extra"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    "$coro_cost" $args >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 2 ]] || fail "'$args' exited $rc, expected 2"
    [[ $(grep -c '^coro_cost: error: ' "$WORK/err") -eq 1 && ! -s $WORK/out ]] || fail "'$args': $(cat "$WORK/err")"
    grep -q '^usage: ' "$WORK/err" || fail "'$args': no usage line"
done
"$coro_cost" -h | grep -q -- '-r ROUNDS' || fail "-h lacks -r"

script=$ROOT/scripts/coro_cost.sh
"$script" --help | grep -q -- '--in-flight' || fail "coro_cost.sh --help lacks --in-flight"
rc=0
"$script" --bogus >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "coro_cost.sh --bogus: exit $rc: $(cat "$WORK/err")"
rc=0
"$script" --rounds 0 >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "coro_cost.sh --rounds 0: exit $rc: $(cat "$WORK/err")"
echo "ok: coro_cost's rows and medians, its usage errors; coro_cost.sh --help and usage errors"

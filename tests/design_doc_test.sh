#!/usr/bin/env bash
# docs/DESIGN.md kept true to the code where it quotes it: design_doc_test.sh
# SOURCE_DIR. The multi driver's batch, wait cap and drain deadline as
# common/multi.c defines them; and saves said to be atomic but not durable
# while no save path calls fsync.
set -euo pipefail
src=$1
design=$src/docs/DESIGN.md
fail() {
    echo "design_doc_test: $*" >&2
    exit 1
}
define() { # define NAME: the value of #define NAME in common/multi.c
    awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' "$src/common/multi.c"
}
batch=$(define START_BATCH) wait_ms=$(define MAX_WAIT_MS) drain_ms=$(define DRAIN_MS)
[[ -n $batch && -n $wait_ms && -n $drain_ms ]] || fail "multi.c's constants not found"
grep -q "starts up to $batch more transfers (\`START_BATCH\`" "$design" ||
    fail "DESIGN.md does not say a turn starts up to $batch transfers (START_BATCH)"
grep -q "at\s*most $wait_ms ms" <(tr '\n' ' ' <"$design") || fail "DESIGN.md lacks the $wait_ms ms wait cap"
grep -q "up to $((drain_ms / 1000)) s to finish" "$design" || fail "DESIGN.md lacks the ${drain_ms} ms drain"
grep -q 'atomic, not durable' "$design" || fail "DESIGN.md does not say saves are not durable"
if grep -rl --include='*.c' 'fsync *(' "$src" --exclude-dir='build*'; then
    fail "a save calls fsync, and DESIGN.md says none does"
fi
echo "ok: DESIGN.md quotes multi.c's constants; saves atomic, not durable"

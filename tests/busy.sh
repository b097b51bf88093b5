#!/usr/bin/env bash
# busy.sh COMMAND...: run COMMAND while every core is kept busy by a CPU hog
# (one busy loop per core, at the same priority as the tests), the way a
# shared machine is; `make test-busy` runs the whole suite so. The hogs stop
# when COMMAND ends, however it ends; its exit status is busy.sh's.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: tests/busy.sh COMMAND..." >&2; exit 2; }
hogs=()
stop_hogs() {
    local pid
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
n=$(nproc)
for ((i = 0; i < n; i++)); do
    bash -c 'while :; do :; done' &
    hogs+=($!)
done
echo "busy.sh: $n CPU hogs (pids ${hogs[*]}) while: $*" >&2
"$@"

#!/usr/bin/env bash
# Across two hosts: two_hosts.sh FLAGSERVER CLIENT...
# flagserver in one network namespace, each client in another, joined by a
# veth pair (198.18.0.0/30, the benchmarking range): the server binds the
# address of its side (-b), a client reaches it by URL (-s), and the server
# cannot be reached on an address it was not bound to. Needs root, iproute2
# and util-linux (unshare, nsenter); where namespaces can't be made it says
# why and skips (exit 77).
set -euo pipefail
FLAGSERVER=${1:?usage: two_hosts.sh FLAGSERVER CLIENT...}
shift
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

skip() {
    echo "SKIP: $*"
    exit 77
}
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
for tool in unshare nsenter; do
    command -v "$tool" >/dev/null || skip "$tool (util-linux) is not installed"
done
[[ $(id -u) -eq 0 ]] || skip "making network namespaces needs root"

SRV_ADDR=198.18.0.1 CLI_ADDR=198.18.0.2
setup_work
# Each host is a network namespace held by a process that only waits: no
# named namespace (ip netns add), so nothing is mounted, and the namespaces
# and their veth pair go when the holders are killed.
holders=()
cleanup_hosts() {
    stop_server
    local pid
    for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${holders[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'cleanup_hosts; scratch_cleanup' EXIT

# new_host: a namespace with its loopback up; its holder's pid in HOST.
new_host() {
    unshare --net sleep 100000 2>"$WORK/unshare.err" &
    holders+=($!)
    HOST=$!
    local i
    # The holder is in its own namespace once its namespace differs from ours.
    for ((i = 0; i < 1000; i++)); do
        kill -0 "$HOST" 2>/dev/null || skip "unshare --net: $(head -1 "$WORK/unshare.err")"
        [[ $(readlink "/proc/$HOST/ns/net") != "$(readlink /proc/self/ns/net)" ]] && break
        sleep 0.01
    done
    [[ $(readlink "/proc/$HOST/ns/net") != "$(readlink /proc/self/ns/net)" ]] ||
        fail "unshare --net did not give its process a namespace of its own in 10 s"
    nsenter -t "$HOST" -n ip link set lo up
}
new_host
SRV=$HOST
new_host
CLI=$HOST
ip link add fb-srv netns "$SRV" type veth peer name fb-cli netns "$CLI" 2>"$WORK/ip.err" ||
    skip "no veth pair: $(head -1 "$WORK/ip.err")"
nsenter -t "$SRV" -n ip addr add "$SRV_ADDR/30" dev fb-srv
nsenter -t "$CLI" -n ip addr add "$CLI_ADDR/30" dev fb-cli
nsenter -t "$SRV" -n ip link set fb-srv up
nsenter -t "$CLI" -n ip link set fb-cli up

SERVER_PREFIX=(nsenter -t "$SRV" -n) SERVER_ADDR=$SRV_ADDR
start_server "$WORK"
in_cli() { nsenter -t "$CLI" -n "$@"; }

# Each client fetches all 194 flags from the other host.
for client in "$@"; do
    name=$(basename "$client")
    rc=0
    in_cli "$client" -s "$BASE_URL" -d "$WORK/dest-$name" -a -q --summary "$WORK/$name.csv" \
        2>"$WORK/$name.err" || rc=$?
    [[ $rc -eq 0 ]] || fail "$name from $CLI_ADDR: exit $rc: $(head -3 "$WORK/$name.err")"
    [[ $(csv_field "$WORK/$name.csv" 1 ok) -eq 194 ]] || fail "$name: $(csv_field "$WORK/$name.csv" 1 ok) flags ok"
    [[ $(count_files "$WORK/dest-$name") -eq 194 ]] || fail "$name: files missing"
    echo "ok: $name fetched 194 flags from $BASE_URL"
done
in_cli curl -sf -o "$WORK/ref.gif" "$BASE_URL/br/br.gif" || fail "curl from $CLI_ADDR"
for client in "$@"; do
    cmp -s "$WORK/ref.gif" "$WORK/dest-$(basename "$client")/br.gif" ||
        fail "$(basename "$client"): br.gif differs from the server's"
done

# -b is honoured: on its own host, the server does not answer on 127.0.0.1.
rc=0
"${SERVER_PREFIX[@]}" curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$SERVER_PORT/stats" || rc=$?
[[ $rc -eq 7 ]] || fail "the server bound to $SRV_ADDR answered on 127.0.0.1 (curl exit $rc)"
# And the client's side has no server: a refused connection is an error per flag.
rc=0
in_cli "$1" -s "http://$CLI_ADDR:$SERVER_PORT/flags" -d "$WORK/dest-none" -q BR 2>/dev/null || rc=$?
[[ $rc -eq 1 ]] || fail "a client pointed at its own host: exit $rc, expected 1"
echo "ok: -b and -s across two network namespaces"

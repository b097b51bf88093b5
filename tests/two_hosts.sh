#!/usr/bin/env bash
# Across two hosts: two_hosts.sh FLAGSERVER CLIENT...
# flagserver in one network namespace, each client in another, joined by a
# veth pair (198.18.0.0/30, the benchmarking range): the server binds the
# address of its side (-b), a client reaches it by URL (-s), and the server
# cannot be reached on an address it was not bound to. Needs root and
# iproute2; where namespaces can't be made it says why and skips (exit 77).
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
[[ $(id -u) -eq 0 ]] || skip "making network namespaces needs root"

NS_SRV=flagbench-srv-$$ NS_CLI=flagbench-cli-$$
SRV_ADDR=198.18.0.1 CLI_ADDR=198.18.0.2
setup_work
made=()
# The namespaces go after the server has stopped (make_scratch's EXIT trap).
cleanup_ns() {
    stop_server
    local ns
    for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap 'cleanup_ns; scratch_cleanup' EXIT

for ns in "$NS_SRV" "$NS_CLI"; do
    ip netns add "$ns" 2>"$WORK/ip.err" || skip "ip netns add: $(head -1 "$WORK/ip.err")"
    made+=("$ns")
    ip -n "$ns" link set lo up
done
ip link add fb-srv-$$ netns "$NS_SRV" type veth peer name fb-cli-$$ netns "$NS_CLI" 2>"$WORK/ip.err" ||
    skip "no veth pair: $(head -1 "$WORK/ip.err")"
ip -n "$NS_SRV" addr add "$SRV_ADDR/30" dev "fb-srv-$$"
ip -n "$NS_CLI" addr add "$CLI_ADDR/30" dev "fb-cli-$$"
ip -n "$NS_SRV" link set "fb-srv-$$" up
ip -n "$NS_CLI" link set "fb-cli-$$" up

SERVER_PREFIX=(ip netns exec "$NS_SRV") SERVER_ADDR=$SRV_ADDR
start_server "$WORK"
in_cli() { ip netns exec "$NS_CLI" "$@"; }

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

#!/usr/bin/env bash
# flagserver's shutdown order: server_shutdown_test.sh FLAGSERVER
#
# An idle keep-alive connection has a receive in flight in the ring, into its
# buffer. At SIGTERM the ring must be torn down (its requests cancelled)
# before that buffer is freed: a kernel without DEFER_TASKRUN may still
# complete the receive into it. The connection's descriptor is closed and its
# buffer freed together, so strace sees the order: the ring's descriptor
# closed first, then the connections'.
set -euo pipefail
FLAGSERVER=$1
PROG=server_shutdown_test
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work

# The server under strace, its pid from the shell it replaces. LeakSanitizer
# cannot run under ptrace (an AddressSanitizer build): the other server tests
# look for leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
# shellcheck disable=SC2016 # expanded by that shell
strace -f -qq -o "$WORK/trace" -e trace=close sh -c 'echo $$ >"$1"; exec "$2" -b 127.0.0.1 -p 0 --port-file "$3" -q' \
    sh "$WORK/pid" "$FLAGSERVER" "$WORK/port" 2>"$WORK/strace.err" &
tracer=$!
until [[ -s $WORK/port ]]; do
    kill -0 "$tracer" 2>/dev/null || fail "flagserver under strace ended: $(cat "$WORK/strace.err")"
    sleep 0.05
done
pid=$(cat "$WORK/pid") port=$(tr -dc 0-9 <"$WORK/port")

# Two idle keep-alive connections, each answered once, so each has its next
# receive posted.
for fd in 3 4; do
    eval "exec $fd<>/dev/tcp/127.0.0.1/$port"
    printf 'GET /stats HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd"
    read -r line <&"$fd"
    [[ $line == "HTTP/1.1 200 OK"* ]] || fail "answer: $line"
done
ring='' conns=()
for f in /proc/"$pid"/fd/*; do
    target=$(readlink "$f" || true)
    case $target in
    'anon_inode:[io_uring]') ring=${f##*/} ;;
    socket:*) conns+=("${f##*/}") ;;
    esac
done
[[ -n $ring ]] || fail "no io_uring descriptor in /proc/$pid/fd"
# The sockets but the listener (the lowest: it is opened before any accept).
mapfile -t conns < <(printf '%s\n' "${conns[@]}" | sort -n | tail -n +2)
((${#conns[@]} == 2)) || fail "expected 2 connections, found ${conns[*]:-none}"

kill -TERM "$pid"
wait "$tracer" || fail "flagserver exited $? after SIGTERM"
exec 3>&- 4>&-
# strace pads the pid to a width.
ring_at=$(grep -nE "^$pid +close\($ring\)" "$WORK/trace" | tail -1 | cut -d: -f1 || true)
[[ -n $ring_at ]] || fail "the ring was never closed: $(tail -5 "$WORK/trace")"
for c in "${conns[@]}"; do
    at=$(grep -nE "^$pid +close\($c\)" "$WORK/trace" | tail -1 | cut -d: -f1 || true)
    [[ -n $at ]] || fail "connection $c never closed"
    ((at > ring_at)) || fail "connection $c (its buffer) closed before the ring: $(tail -8 "$WORK/trace")"
done
echo "ok: the ring torn down before the connections and their buffers"

#!/usr/bin/env bash
# start_floor_test.sh START_FLOOR FLAGSERVER (tests/tools.cmake): start_floor
# opens 20 connections to a real flagserver on one thread and on 20 threads,
# prints a MODE,N,MS line a round and exits 0, every request reaches the
# server as a valid one; a bad command line exits 2 with one error line, a
# refused connection exits 1. fast_start.sh's --help and a bad option. No
# timing is asserted: this machine's speed is not the test's business.
set -euo pipefail
start_floor=$1 FLAGSERVER=$2
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work

start_server "$WORK" --delay 0.05
reset_stats
for mode in one_thread threads; do
    args=()
    [[ $mode == one_thread ]] || args=(--threads)
    rc=0
    "$start_floor" -s "$BASE_URL" -n 20 --rounds 2 "${args[@]}" >"$WORK/out" 2>"$WORK/err" || rc=$?
    ((rc == 0)) || fail "$mode: exit $rc: $(head -3 "$WORK/err")"
    [[ ! -s $WORK/err ]] || fail "$mode: wrote to stderr: $(head -3 "$WORK/err")"
    [[ $(wc -l <"$WORK/out") -eq 2 ]] || fail "$mode: not one line a round: $(cat "$WORK/out")"
    bad=$(grep -cvE "^$mode,20,[0-9]+\.[0-9]{3}$" "$WORK/out" || true)
    [[ $bad -eq 0 ]] || fail "$mode: lines not '$mode,20,MS': $(cat "$WORK/out")"
done
# 2 modes x 2 rounds x 20 requests, every one a valid request for a flag.
[[ $(stats_field requests) -eq 80 ]] || fail "the server saw $(stats_field requests) requests, not 80"
curl -sf "$SERVER_URL/stats" | grep -q '"by_status": {"200": 80}' ||
    fail "not every request was answered 200: $(curl -sf "$SERVER_URL/stats")"

# Usage errors: exit 2, one error line and the usage.
for args in "--bogus" "-n 0 -s $BASE_URL" "-n x -s $BASE_URL" "--rounds 0 -s $BASE_URL" \
    "-s ftp://127.0.0.1/" "-s http://127.0.0.1/flags" "" "-s $BASE_URL extra"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    "$start_floor" $args >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 2 ]] || fail "'$args' exited $rc, expected 2"
    [[ $(grep -c ': error: ' "$WORK/err") -eq 1 ]] || fail "'$args': $(cat "$WORK/err")"
    grep -q '^usage: ' "$WORK/err" || fail "'$args': no usage line"
done
"$start_floor" --help | grep -q -- '--threads' || fail "--help lacks --threads"

# Nobody listens on the stopped server's port: a failed connect, exit 1.
port_url=$BASE_URL
stop_server
for args in "" --threads; do
    rc=0
    # shellcheck disable=SC2086
    "$start_floor" -s "$port_url" -n 5 $args >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "refused ($args): exit $rc, expected 1"
    [[ $(wc -l <"$WORK/err") -eq 1 && ! -s $WORK/out ]] || fail "refused ($args): $(cat "$WORK/err")"
done

fast_start=$ROOT/scripts/fast_start.sh
"$fast_start" --help | grep -q -- '--rounds' || fail "fast_start.sh --help lacks --rounds"
rc=0
"$fast_start" --bogus >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "fast_start.sh --bogus: exit $rc: $(cat "$WORK/err")"
echo "ok: start_floor in both modes, its usage errors and a refused connection; fast_start.sh --help"

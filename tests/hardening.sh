#!/usr/bin/env bash
# Faults and hostile peers: hardening.sh CLIENT FLAGSERVER CASE.
# Each fault is injected by a real flagserver (--chaos); the client must end
# within its --timeout, count each faulty flag as an error with its reason,
# finish the rest, and leave no partial or temporary file behind.
set -euo pipefail
client=$1 FLAGSERVER=$2 case=$3
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work
dest=$WORK/dest

run_client() { # sets RC and ELAPSED (s); output in $WORK/out, $WORK/err
    local t0 t1
    t0=$(date +%s.%N)
    set +e
    "$client" -s "$BASE_URL" "${CACERT_ARGS[@]}" -d "$dest" -v "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    set -e
    t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

# expect_faults N REASON_REGEX MAX_SECONDS: all N flags errors with that reason,
# within MAX_SECONDS: twice --timeout T where nothing waits for it, 2 x N x T
# where each flag times out (a client that runs one at a time waits for each in turn).
expect_faults() {
    expect_flag_errors "$1" "$2" "$dest"
    awk -v e="$ELAPSED" -v m="$3" 'BEGIN { exit !(e <= m) }' || fail "took ${ELAPSED}s > $3 s"
}

# expect_clean N: all N flags saved and identical to what the server serves.
expect_clean() {
    [[ $RC -eq 0 ]] || fail "exit $RC: $(grep error "$WORK/err" | head -3)"
    grep -q "^ *$1 flags downloaded\.$" "$WORK/out" || fail "report: $(cat "$WORK/out")"
    [[ $(count_files "$dest") -eq $1 ]] || fail "files: $(find "$dest" -mindepth 1 | head)"
}

codes=(AR BR CN DE FR)
case $case in
truncate)
    start_server "$WORK" --chaos truncate
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "truncated body|connection reset" 10
    ;;
reset)
    start_server "$WORK" --chaos reset
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "connection reset|truncated body|empty reply" 10
    ;;
garbage)
    start_server "$WORK" --chaos garbage
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "malformed response|Unsupported response code|HTTP [0-9]+" 10
    ;;
longheader)
    start_server "$WORK" --chaos longheader
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "malformed response|out of memory .or a header line over 100 KB." 10
    ;;
stall)
    start_server "$WORK" --chaos stall
    run_client --timeout 1 "${codes[@]}"
    expect_faults 5 "timeout" 10
    ;;
stallbody)
    start_server "$WORK" --chaos stallbody
    run_client --timeout 1 "${codes[@]}"
    expect_faults 5 "timeout" 10
    ;;
oversize)
    start_server "$WORK" --chaos oversize
    run_client --timeout 5 --max-size 100K "${codes[@]}"
    expect_faults 5 "body over 102400 bytes" 10
    ;;
slow)
    start_server "$WORK" --chaos slow
    run_client --timeout 1 "${codes[@]}"
    expect_faults 5 "timeout" 10
    ;;
redirectloop)
    start_server "$WORK" --chaos redirectloop
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "too many redirects" 10
    ;;
redirect)
    # One redirect per flag is followed; the files are the real ones.
    start_server "$WORK" --chaos redirect
    run_client "${codes[@]}"
    expect_clean 5
    ;;
chunked)
    start_server "$WORK" --chunked
    run_client -a -l 30
    expect_clean 30
    curl -sf "$BASE_URL/br/br.gif" -o "$WORK/ref.gif"
    cmp -s "$WORK/ref.gif" "$dest/br.gif" || fail "chunked br.gif differs"
    ;;
partial_faults)
    # A third of the requests truncated: the rest complete and are intact.
    start_server "$WORK" --chaos truncate:0.33 --seed 7
    run_client --timeout 5 -a -m 8 --summary "$WORK/s.csv"
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    errors=$(csv_field "$WORK/s.csv" 1 errors)
    [[ $((ok + errors)) -eq 194 && $errors -gt 20 && $ok -gt 20 ]] || fail "ok $ok errors $errors"
    [[ $(count_files "$dest") -eq $ok ]] || fail "$(count_files "$dest") files for $ok ok flags"
    # Every saved flag is whole: compare with a server without faults.
    stop_server
    start_server "$WORK"
    for f in "$dest"/*.gif; do
        cc=$(basename "$f" .gif)
        curl -sf "$BASE_URL/$cc/$cc.gif" -o "$WORK/ref.gif" || fail "curl $cc"
        cmp -s "$WORK/ref.gif" "$f" || fail "$cc.gif is not what the server serves"
    done
    ;;
server_dies)
    # The server goes away mid-run: the rest are errors, nothing partial.
    # Killed once the first two flags are saved, whatever the machine's speed.
    start_server "$WORK" --delay 0.2
    "$client" -s "$BASE_URL" -d "$dest" -v --timeout 3 -a -m 2 --summary "$WORK/s.csv" \
        >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    wait_for_files "$pid" "$dest" 2 || fail "the client ended before saving 2 flags"
    kill "$SERVER_PID"
    RC=0
    wait "$pid" || RC=$?
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    errors=$(csv_field "$WORK/s.csv" 1 errors)
    [[ $((ok + errors)) -eq 194 && $ok -ge 2 && $errors -gt 100 ]] || fail "ok $ok errors $errors"
    grep -qE "error: (connection refused|connection reset|empty reply)" "$WORK/err" ||
        fail "no refusal: $(grep error "$WORK/err" | head -3)"
    [[ $(count_files "$dest") -eq $ok ]] || fail "$(count_files "$dest") files for $ok ok flags"
    ;;
sigint)
    # SIGINT mid-run: report what finished, exit 130, no temporary files.
    # Interrupted once the first flag is saved, whatever the machine's speed.
    start_server "$WORK" --delay 0.5
    # -v: a flag abandoned in flight is said to be interrupted, never "not
    # found" (the server has every flag of -a).
    "$client" -s "$BASE_URL" -d "$dest" -v -a -m 4 --summary "$WORK/s.csv" >"$WORK/out" \
        2>"$WORK/err" &
    pid=$!
    wait_for_files "$pid" "$dest" 1 || fail "the client ended before saving a flag"
    kill -INT "$pid"
    t0=$(date +%s%N)
    set +e
    wait "$pid"
    RC=$?
    set -e
    ms=$((($(date +%s%N) - t0) / 1000000))
    [[ $RC -eq 130 ]] || fail "exit $RC, expected 130"
    # Stopping drops what is in flight: well within a few delays.
    [[ $ms -lt 3000 ]] || fail "took $ms ms to stop, over 6 delays"
    grep -q 'not run (interrupted)' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    not_run=$(csv_field "$WORK/s.csv" 1 not_run)
    ((ok > 0 && not_run > 0)) || fail "$ok ok, $not_run not run"
    [[ $(count_files "$dest") -eq $ok ]] || fail "left: $(find "$dest" -name '.*')"
    if grep -q 'not found' "$WORK/err"; then fail "-v: $(grep 'not found' "$WORK/err" | head -3)"; fi
    [[ $(grep -c ' OK$' "$WORK/err") -eq $ok ]] || fail "-v: $(grep -c ' OK$' "$WORK/err") OK lines for $ok ok"
    ;;
watch_fails)
    # A socket the reactor cannot watch (FLAGBENCH_FAIL_WATCH=5: every 5th
    # watch fails with ENOSPC, as epoll_ctl past fs.epoll.max_user_watches):
    # that flag fails with the reason, the others go on, nothing crashes.
    # Back ends that watch no sockets themselves get every flag.
    start_server "$WORK"
    FLAGBENCH_FAIL_WATCH=5 run_client --timeout 10 -a -m 20 --summary "$WORK/s.csv"
    [[ $RC -le 1 ]] || fail "exit $RC: $(tail -3 "$WORK/err")"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    errors=$(csv_field "$WORK/s.csv" 1 errors)
    ((ok + errors == 194)) || fail "$ok ok + $errors errors"
    [[ $(count_files "$dest") -eq $ok ]] || fail "$(count_files "$dest") files for $ok ok flags"
    if grep -E '^[A-Z]{2} error: ' "$WORK/err" | grep -v 'error: cannot watch socket: No space left on device$'; then
        fail "another reason"
    fi
    # One thread with many transfers is an event loop over libcurl's sockets.
    if (($(csv_field "$WORK/s.csv" 1 threads) == 1 && $(csv_field "$WORK/s.csv" 1 max_req) > 1)); then
        ((errors > 0 && ok > 0)) || fail "an event loop: $ok ok, $errors errors"
    fi
    ;;
sigint_metadata)
    # SIGINT while flags whose images are in wait for their metadata.json
    # (--metadata): none of them is saved, so none is OK. Interrupted once
    # the server has seen more requests than the client runs at once: by
    # then one at least is a metadata request, with the delay still to run.
    start_server "$WORK" --delay 2
    reset_stats
    "$client" -s "$BASE_URL" -d "$dest" -v -a -l 10 -m 10 --metadata --summary "$WORK/s.csv" \
        --trace "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    exec {tick}<> <(:)
    until [[ -s $WORK/out ]] && grep -q 'concurrent connection' "$WORK/out"; do
        kill -0 "$pid" 2>/dev/null || fail "the client ended early: $(cat "$WORK/err")"
        read -r -t 0.01 -u "$tick" _ || true
    done
    m=$(grep -o '^[0-9]* concurrent' "$WORK/out" | grep -o '^[0-9]*')
    until (($(stats_field requests) > m)); do
        kill -0 "$pid" 2>/dev/null || fail "the client ended before a metadata request"
        read -r -t 0.01 -u "$tick" _ || true
    done
    kill -INT "$pid"
    RC=0
    wait "$pid" || RC=$?
    [[ $RC -eq 130 ]] || fail "exit $RC, expected 130: $(tail -3 "$WORK/err")"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    not_run=$(csv_field "$WORK/s.csv" 1 not_run)
    files=$(count_files "$dest")
    [[ $ok -eq $files ]] || fail "$ok flags ok, $files files: $(cat "$WORK/out")"
    ((not_run > 0)) || fail "nothing interrupted: $ok ok, $not_run not run"
    [[ $(grep -c ' OK$' "$WORK/err") -eq $ok ]] || fail "-v: $(grep -c ' OK$' "$WORK/err") OK lines for $ok ok"
    # The trace: every ok flag has its save stamped.
    if awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                $c["outcome"] == "ok" && $c["saved_us"] < 0 { bad = 1 } END { exit !bad }' "$WORK/t.csv"; then
        fail "an ok flag without a save in the trace"
    fi
    ;;
full_disk)
    # RLIMIT_FSIZE of 8 KiB stands in for a full disk: bigger flags fail to
    # save, with no partial file; smaller ones are saved.
    start_server "$WORK"
    (
        ulimit -f 8
        run_client -a --summary "$WORK/s.csv"
        echo "$RC" >"$WORK/rc"
    )
    RC=$(cat "$WORK/rc")
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
    grep -qE "error: save: File too large" "$WORK/err" || fail "$(grep error "$WORK/err" | head -3)"
    ok=$(csv_field "$WORK/s.csv" 1 ok)
    [[ $ok -gt 0 ]] || fail "no small flag saved"
    [[ $(count_files "$dest") -eq $ok ]] || fail "$(count_files "$dest") files for $ok ok flags"
    if find "$dest" -size +8k | grep -q .; then fail "a file over the limit exists"; fi
    ;;
fd_exhausted)
    # Out of descriptors, socket() fails with EMFILE: the reason says so,
    # never "connection refused" (the server is up). Each limit from the
    # fewest a back end can start with: the first that gets a flag line
    # fails its socket, later ones its save or nothing.
    start_server "$WORK"
    said=0
    for n in $(seq 4 24); do
        # The limit set after the redirections, which bash needs descriptors for.
        RC=0
        (
            ulimit -n "$n"
            exec "$client" -s "$BASE_URL" -d "$dest" -v BR
        ) >"$WORK/out" 2>"$WORK/err" || RC=$?
        ((RC == 127)) && continue # too few for the loader to open the libraries
        [[ $RC -le 4 ]] || fail "ulimit -n $n: exit $RC: $(tail -3 "$WORK/err")"
        if grep -q 'connection refused' "$WORK/err"; then
            fail "ulimit -n $n: $(grep error "$WORK/err")"
        fi
        grep -q '^BR error: Too many open files$' "$WORK/err" && said=$((said + 1))
    done
    ((said > 0)) || fail "no limit made socket() fail with its reason: $(cat "$WORK/err")"
    ;;
fd_cap)
    # -m past what the descriptor limit allows: the event loops, as the
    # thread pool, run as many transfers as fit, say so once, and lose no
    # flag to a socket they could not open.
    start_server "$WORK"
    RC=0
    (
        ulimit -n 80
        exec "$client" -s "$BASE_URL" -d "$dest" -v -a -m 150 --summary "$WORK/s.csv"
    ) >"$WORK/out" 2>"$WORK/err" || RC=$?
    expect_clean 194
    [[ $(grep -c 'warning' "$WORK/err") -le 1 ]] || fail "$(grep warning "$WORK/err")"
    m=$(csv_field "$WORK/s.csv" 1 max_req)
    if ((m > 1)); then
        grep -q "warning: .*limit (ulimit -n) is 80; running with $m " "$WORK/err" ||
            fail "-m $m, no warning: $(head -3 "$WORK/err")"
    fi
    ;;
tls_silent)
    # HTTPS, and the server never answers the ClientHello.
    SERVER_TLS=1 SERVER_NO_PING=1 start_server "$WORK" --tls-fault silent
    run_client --timeout 1 "${codes[@]}"
    expect_faults 5 "timeout" 10
    ;;
tls_garbage)
    # HTTPS, and the server answers the ClientHello with bytes that are not TLS.
    SERVER_TLS=1 SERVER_NO_PING=1 start_server "$WORK" --tls-fault garbage
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "TLS handshake failed" 10
    ;;
tls_close)
    # HTTPS, and the server closes the connection in the middle of the handshake.
    SERVER_TLS=1 SERVER_NO_PING=1 start_server "$WORK" --tls-fault cut
    run_client --timeout 5 "${codes[@]}"
    expect_faults 5 "TLS handshake failed|connection reset|empty reply" 10
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "ok: $case"

#!/usr/bin/env bash
# The clients over HTTPS, for every back end in the one list: tls.sh CLIENT
# FLAGSERVER CASE. A real flagserver --tls on 127.0.0.1, with the
# certificate it makes at start (never one from the repository).
set -euo pipefail
client=$1 FLAGSERVER=$2 case=$3
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work
dest=$WORK/dest
SERVER_TLS=1

run_client() { # run_client ARGS...: sets RC, output in $WORK/out, $WORK/err
    set +e
    "$client" -s "$BASE_URL" -d "$dest" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    set -e
}

# expect_refused N REASON: every one of N flags an error whose reason
# matches REASON (in -v output and in the trace), exit 1, no file.
expect_refused() {
    expect_flag_errors "$1" "certificate verify failed: ($2)\$" "$dest"
    local n
    n=$(grep -cE ",error,.*,\"?certificate verify failed: ($2)\"?\$" "$WORK/trace.csv" || true)
    [[ $n -eq $1 ]] || fail "$n of $1 trace rows say '$2': $(tail -2 "$WORK/trace.csv")"
}

# handshakes COLUMN: the trace's handshake_us values, one a line.
handshakes() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "handshake_us") c = i; next }
             { print $c }' "$WORK/trace.csv"
}

case $case in
identical)
    # All 194 flags over HTTPS, byte-identical to what curl gets from the
    # same server; the counts and exit status of -e as over HTTP.
    start_server "$WORK"
    run_client "${CACERT_ARGS[@]}" -a --trace "$WORK/trace.csv"
    [[ $RC -eq 0 ]] || fail "exit $RC: $(head -3 "$WORK/err")"
    grep -q '^ *194 flags downloaded\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    [[ $(count_files "$dest") -eq 194 ]] || fail "expected 194 files: $(count_files "$dest")"
    # One curl for all of them: the same bytes, fetched apart from the client.
    mkdir "$WORK/ref"
    args=()
    for f in "$dest"/*.gif; do
        cc=$(basename "$f" .gif)
        args+=("$BASE_URL/$cc/$cc.gif" -o "$WORK/ref/$cc.gif")
    done
    curl -sf "${CACERT_ARGS[@]}" "${args[@]}" || fail "curl of the reference flags failed"
    diff -r "$WORK/ref" "$dest" >/dev/null || fail "files differ from the server's: $(diff -rq "$WORK/ref" "$dest" | head -3)"
    # The handshake time of every request that opened a connection: > 0,
    # at least one (the first), and -1 on kept-alive connections only.
    [[ $(handshakes | awk '$1 > 0' | wc -l) -ge 1 ]] || fail "no handshake time in the trace"
    [[ $(handshakes | awk '$1 != -1 && $1 <= 0' | wc -l) -eq 0 ]] || fail "handshake_us <= 0 and not -1"
    rm -rf "$dest"
    run_client "${CACERT_ARGS[@]}" -e -l 40 --summary "$WORK/s.csv"
    [[ $RC -eq 0 ]] || fail "-e -l 40: exit $RC"
    [[ $(csv_field "$WORK/s.csv" 1 ok) -eq 21 ]] || fail "summary ok: $(cat "$WORK/s.csv")"
    [[ $(csv_field "$WORK/s.csv" 1 not_found) -eq 19 ]] || fail "summary not_found"
    [[ $(count_files "$dest") -eq 21 ]] || fail "expected 21 files"
    # A --cacert with no certificate in it refuses every flag; one that
    # can't be read is a usage error, before any request.
    : >"$WORK/empty.pem"
    rm -rf "$dest"
    run_client --cacert "$WORK/empty.pem" -v BR
    expect_flag_errors 1 "certificate verify failed: " "$dest"
    # A --cacert that can't be read is a usage error, before any request.
    run_client --cacert "$WORK/missing.pem" BR
    [[ $RC -eq 2 ]] || fail "--cacert missing: exit $RC, expected 2"
    grep -q "error: --cacert '.*missing.pem' can't be read" "$WORK/err" || fail "$(cat "$WORK/err")"
    # Over HTTP a request makes no handshake: -1.
    SERVER_TLS=0 restart_server "$WORK"
    run_client -l 3 --trace "$WORK/trace.csv"
    [[ $RC -eq 0 ]] || fail "HTTP: exit $RC"
    [[ $(handshakes | sort -u) == -1 ]] || fail "HTTP handshake_us: $(handshakes | sort -u | tr '\n' ' ')"
    ;;
untrusted)
    # Without --cacert the server's own certificate is not in the system
    # store: every flag refused, with the reason.
    start_server "$WORK"
    run_client -v -l 5 --trace "$WORK/trace.csv"
    expect_refused 5 "self-signed certificate|unable to get local issuer certificate|no CA certificates.*"
    ;;
expired)
    # No first request: it would be refused too.
    SERVER_NO_PING=1 start_server "$WORK" --tls-cert-mode expired
    run_client -v -l 5 "${CACERT_ARGS[@]}" --trace "$WORK/trace.csv"
    expect_refused 5 "certificate has expired"
    ;;
wrongname)
    SERVER_NO_PING=1 start_server "$WORK" --tls-cert-mode wrong-name
    run_client -v -l 5 "${CACERT_ARGS[@]}" --trace "$WORK/trace.csv"
    expect_refused 5 "name mismatch"
    ;;
resume)
    # A new connection per request: after the first handshakes, the run's
    # connections resume sessions (the server counts them), and with
    # --no-resume none does.
    start_server "$WORK"
    reset_stats
    run_client "${CACERT_ARGS[@]}" -l 12 -m 2 --no-reuse
    [[ $RC -eq 0 ]] || fail "exit $RC: $(head -3 "$WORK/err")"
    full=$(stats_field tls_handshakes_full) resumed=$(stats_field tls_handshakes_resumed)
    [[ -n $full && -n $resumed ]] || fail "/stats has no tls_handshakes_full/_resumed: $(curl -s "${CACERT_ARGS[@]}" "$SERVER_URL/stats")"
    ((full + resumed >= 12 && resumed >= 1)) || fail "12 connections: $full full, $resumed resumed handshakes"
    reset_stats
    rm -rf "$dest"
    run_client "${CACERT_ARGS[@]}" -l 12 -m 2 --no-reuse --no-resume
    [[ $RC -eq 0 ]] || fail "--no-resume: exit $RC"
    full=$(stats_field tls_handshakes_full) resumed=$(stats_field tls_handshakes_resumed)
    ((full >= 12 && resumed == 0)) || fail "--no-resume: $full full, $resumed resumed handshakes"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "ok: $case"

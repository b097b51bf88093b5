#!/usr/bin/env bash
# End-to-end tests of flagserver: a real server on 127.0.0.1 on a free port,
# talked to with curl, bash's /dev/tcp and small python3 clients.
# SERVER_TLS=1: every check over HTTPS (flagserver --tls, the certificate it
# makes trusted by curl, openssl s_client and python's ssl), then the checks
# of TLS itself: handshakes, resumption, faults, certificates.
#
# usage: [SERVER_TLS=1] server_test.sh FLAGSERVER [FLAGS_ZIP]
set -euo pipefail

FLAGSERVER=${1:?usage: server_test.sh FLAGSERVER [FLAGS_ZIP]}
FLAGS_ZIP=${2:-}

PROG=server_test
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
# The python3 snippets read answers with tests/http_read.py.
export PYTHONPATH=$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}
setup_work
TMP=$WORK
FAILS=0

say() { printf '%s\n' "$*"; }
flunk() { # a failed check: counted, and the run goes on
    say "FAIL: $*"
    FAILS=$((FAILS + 1))
}
pass() { say "ok: $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass "$what"; else flunk "$what"; fi
}

TLS=0
[[ $SERVER_TLS == 1 ]] && TLS=1

# serve ARGS...: flagserver on a free port; BASE is its root URL, PORT its
# port. Over TLS, curl (CURL_CA_BUNDLE) and http_read.connect trust its
# certificate.
serve() {
    start_server "$WORK" "$@"
    BASE=$SERVER_URL PORT=$SERVER_PORT
    if ((TLS)); then
        export CURL_CA_BUNDLE=$SERVER_CACERT FLAGBENCH_TEST_CA=$SERVER_CACERT
    fi
}

# halt: SIGTERM, and it must exit 0.
halt() {
    stop_server
    [[ $SERVER_STATUS == 0 ]] || flunk "flagserver exited $SERVER_STATUS after SIGTERM"
}

# by_status CODE: responses with that status since the last reset.
by_status() {
    curl -s "$BASE/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["by_status"].get(sys.argv[1], 0))' "$1"
}

# status URL [CURL ARGS...]: the HTTP status curl saw.
status() {
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true
}

# raw REQUEST: send bytes over /dev/tcp (TLS: openssl s_client), print the
# first response line.
raw() {
    local line
    if ((TLS)); then
        line=$(printf '%b' "$1" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
            -CAfile "$SERVER_CACERT" 2>/dev/null | head -n 1) || true
        printf '%s\n' "${line%$'\r'}"
        return
    fi
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%b' "$1" >&3
    IFS= read -r -t 10 line <&3 || true
    exec 3<&- 3>&-
    printf '%s\n' "${line%$'\r'}"
}

# curl_exit ARGS...: curl's exit status.
curl_exit() {
    local rc=0
    curl -s -o /dev/null "$@" || rc=$?
    echo "$rc"
}

# wait_stat NAME VALUE [CURL ARGS...]: until /stats shows NAME = VALUE, up
# to 10 s (what a client did on a connection it has closed, the server sees
# in its own time); sets STAT to the last value seen.
wait_stat() {
    local name=$1 want=$2 i
    shift 2
    for ((i = 0; i < 100; i++)); do
        STAT=$(curl -sf "$@" "$BASE/stats" | grep -o "\"$name\" *: *[0-9]*" | grep -o '[0-9]*$')
        [[ $STAT == "$want" ]] && return 0
        sleep 0.1
    done
    return 1
}

in_list() { # in_list VALUE A B ...
    local v=$1 x
    shift
    for x in "$@"; do [[ $v == "$x" ]] && return 0; done
    return 1
}

# ---------------------------------------------------------------------------
say "== options"
rc=0
"$FLAGSERVER" --bogus 2>"$TMP/err" || rc=$?
check "unknown option exits 2" test "$rc" = 2
check "usage on stderr" grep -q '^usage: flagserver' "$TMP/err"
for bad in "-p 70000" "--error-rate 2" "--delay -1" "--chaos nope" "--chaos slow:3" \
    "--delay-min 2 --delay-max 1" "--max-conns 0" "-p" "--cert x.pem" "--no-tickets" \
    "--cert-out c.pem" "--tls --cert x.pem" "--tls --key x.key" "--tls --tls-fault nope" \
    "--tls --tls-cert-mode nope" "--tls --cert a --key b --tls-cert-mode expired"; do
    rc=0
    # shellcheck disable=SC2086  # the options are split on purpose
    "$FLAGSERVER" $bad 2>/dev/null || rc=$?
    check "bad option '$bad' exits 2" test "$rc" = 2
done
check "--help exits 0" "$FLAGSERVER" --help >/dev/null
check "--version" bash -c "'$FLAGSERVER' --version | grep -q '^flagserver '"

# ---------------------------------------------------------------------------
say "== built-in flags"
serve
hdrs=$TMP/hdrs
curl -s -D "$hdrs" -o "$TMP/br.gif" "$BASE/flags/br/br.gif"
check "GET gif is 200" grep -q '^HTTP/1.1 200' "$hdrs"
check "Content-Type image/gif" grep -qi '^Content-Type: image/gif' "$hdrs"
len=$(grep -i '^Content-Length:' "$hdrs" | tr -dc 0-9)
check "Content-Length matches the body" test "$len" = "$(wc -c <"$TMP/br.gif")"
check "body is a GIF89a" test "$(head -c 6 "$TMP/br.gif")" = GIF89a
check "image is 1-40 KB" test "$len" -gt 1000 -a "$len" -lt 40000
curl -s -o "$TMP/br2.gif" "$BASE/flags/br/br.gif"
check "same bytes twice" cmp -s "$TMP/br.gif" "$TMP/br2.gif"
curl -s -I -o "$TMP/head" "$BASE/flags/br/br.gif"
check "HEAD has the same Content-Length" grep -qi "^Content-Length: $len" "$TMP/head"
meta=$(curl -s "$BASE/flags/br/metadata.json")
check "metadata.json" test "$meta" = '{"tld_cc": ".br", "iso_cc": "BR", "country": "Brazil", "gec_cc": "BR"}'
check "metadata Content-Type" bash -c "curl -sI '$BASE/flags/br/metadata.json' | grep -qi '^Content-Type: application/json'"
check "metadata of GB" bash -c "curl -s '$BASE/flags/gb/metadata.json' | grep -q '\"tld_cc\": \".uk\".*United Kingdom'"
n=0
for cc in ad cn in us id pk ng bd ru jp mx ph vn et eg de ir tr cd fr zw; do
    [[ $(status "$BASE/flags/$cc/$cc.gif") == 200 ]] && n=$((n + 1))
done
check "the book's 20 + AD, ZW are served" test "$n" = 21
for path in /flags/zz/zz.gif /flags/br/us.gif /flags/BR/BR.gif /flags/br/ /flags/br \
    /nope / /flags/br/br.gif.bak /flags/br/metadata.jsonx /flags/b/b.gif; do
    check "404 for $path" test "$(status "$BASE$path" --path-as-is)" = 404
done
check "405 for POST to a flag" test "$(status "$BASE/flags/br/br.gif" -X POST)" = 405

say "== malformed requests"
check "400 for garbage" test "$(raw 'garbage\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
check "400 for a bad version" test "$(raw 'GET / HTTP/9.9\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
check "400 for a header without colon" test "$(raw 'GET / HTTP/1.1\r\nHost x\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
big=$(head -c 9000 /dev/zero | tr '\0' a)
check "431 for a 9 KB header" test "$(status "$BASE/flags/br/br.gif" -H "X-Big: $big")" = 431
check "HTTP/1.0 works" test "$(raw 'GET /flags/br/metadata.json HTTP/1.0\r\n\r\n')" = "HTTP/1.1 200 OK"

say "== path traversal"
for path in /flags/../../etc/passwd /flags/%2e%2e/%2e%2e/etc/passwd /flags/br/..%2f..%2f..%2fetc/passwd \
    /../../../../etc/passwd /flags/%2E%2E/%2E%2E/%2E%2E/etc/passwd /flags/br/br.gif%00 \
    '/flags/..\..\etc\passwd' //etc/passwd; do
    code=$(curl -s --path-as-is -o "$TMP/trav" -w '%{http_code}' "$BASE$path" || true)
    check "traversal $path gets 400/404 ($code)" in_list "$code" 400 404
    check "traversal $path gives no file" bash -c "! grep -q 'root:' '$TMP/trav'"
done
code=$(raw 'GET ../../etc/passwd HTTP/1.1\r\n\r\n')
check "relative target refused" test "$code" = "HTTP/1.1 400 Bad Request"

say "== /stats"
reset_stats
curl -s -o /dev/null "$BASE/flags/br/br.gif"
curl -s -o /dev/null "$BASE/flags/zz/zz.gif"
curl -s "$BASE/stats" >"$TMP/stats.json"
check "stats is JSON with every field" python3 - "$TMP/stats.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("requests", "by_status", "connections_open", "connections_peak", "in_progress",
          "in_progress_peak", "connections_total"):
    assert k in d, k
assert d["requests"] == 2, d
assert d["by_status"] == {"200": 1, "404": 1}, d
assert d["in_progress"] == 0, d
assert d["connections_open"] == 1, d
EOF
curl -s "$BASE/stats?reset=1" >/dev/null
check "GET /stats?reset=1 resets" test "$(stats_field requests)" = 0
curl -s -o /dev/null "$BASE/flags/br/br.gif"
curl -s -X POST "$BASE/stats/reset" >/dev/null
check "POST /stats/reset resets" test "$(stats_field requests)" = 0

say "== keep-alive, pipelining, half-close"
reset_stats
curl -sv -o /dev/null -o /dev/null "$BASE/flags/br/br.gif" "$BASE/flags/br/metadata.json" 2>"$TMP/v"
check "curl re-uses the connection" grep -q 'Re-using existing connection' "$TMP/v"
check "two requests, one connection (+1 for /stats)" test "$(stats_field connections_total)" = 2
check "pipelined requests answered in order" python3 - "$PORT" <<'EOF'
import socket, sys
from http_read import connect, half_close, read_until
s = connect(int(sys.argv[1]))
s.sendall(b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n"
          b"GET /flags/zz/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n"
          b"GET /flags/us/metadata.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
data = read_until(s)
parts = data.split(b"HTTP/1.1 ")[1:]
assert [p[:3] for p in parts] == [b"200", b"404", b"200"], data
assert b'"BR"' in parts[0] and b'"US"' in parts[2], data
EOF
check "half-closed client gets its answer" python3 - "$PORT" <<'EOF'
import socket, sys
from http_read import connect, half_close, read_until
s = connect(int(sys.argv[1]))
s.sendall(b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n")
half_close(s)
data = read_until(s, timeout=10)
assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'"gec_cc": "BR"}'), data
EOF
halt

say "== --close and --chunked"
serve --close --chunked
curl -sv -o "$TMP/a.gif" -o /dev/null "$BASE/flags/br/br.gif" "$BASE/flags/br/metadata.json" 2>"$TMP/v"
check "--close: no re-use" bash -c "! grep -q 'Re-using existing connection' '$TMP/v'"
check "--close: Connection: close" grep -qi '^< Connection: close' "$TMP/v"
check "--chunked: chunked image" grep -qi '^< Transfer-Encoding: chunked' "$TMP/v"
check "--chunked: same bytes" cmp -s "$TMP/a.gif" "$TMP/br.gif"
check "--chunked: metadata has a length" test "$(curl -s -D - -o /dev/null "$BASE/flags/br/metadata.json" | grep -ci '^Content-Length')" = 1
halt

say "== --root"
if [[ -n $FLAGS_ZIP && -f $FLAGS_ZIP ]] && command -v unzip >/dev/null; then
    mkdir -p "$TMP/zip"
    unzip -q "$FLAGS_ZIP" -d "$TMP/zip"
    root=$TMP/zip/flags
    [[ -d $root ]] || root=$TMP/zip
    serve --root "$root"
    curl -s -o "$TMP/r.gif" "$BASE/flags/br/br.gif"
    check "--root serves the file" cmp -s "$TMP/r.gif" "$root/br/br.gif"
    check "--root serves metadata.json" test "$(curl -s "$BASE/flags/br/metadata.json")" = "$(cat "$root/br/metadata.json")"
    check "--root 404" test "$(status "$BASE/flags/zz/zz.gif")" = 404
    code=$(curl -s --path-as-is -o "$TMP/trav" -w '%{http_code}' "$BASE/flags/../../../../../etc/passwd" || true)
    check "--root traversal refused ($code)" in_list "$code" 400 404
    halt
    rc=0
    "$FLAGSERVER" -q -p 0 --root "$TMP/nonexistent" 2>/dev/null || rc=$?
    check "--root of a missing directory exits 1" test "$rc" = 1
else
    say "skip: --root (no unzip or no $FLAGS_ZIP)"
fi

say "== delays"
# One process opens 50 connections, then sends the 50 requests and reads the
# answers: how fast this machine starts processes doesn't matter, and the
# client says how long sending took (the span in which the requests arrive).
DELAY=0.5
serve --delay "$DELAY"
reset_stats
python3 - "$PORT" 50 >"$TMP/delays" <<'PY'
import socket, sys, time
from http_read import connect, read_until
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = [connect(port) for _ in range(n)]
t0 = time.monotonic()
for s in socks:
    s.sendall(b"GET /flags/br/br.gif HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
sent = time.monotonic() - t0
ok = 0
for s in socks:
    ok += read_until(s, timeout=60).startswith(b"HTTP/1.1 200")
    s.close()
print(ok, round(sent * 1000), round((time.monotonic() - t0) * 1000))
PY
read -r ok sent_ms ms <"$TMP/delays"
check "50 delayed requests all 200 ($ok)" test "$ok" = 50
delay_ms=$(awk -v d="$DELAY" 'BEGIN { print d * 1000 }')
check "each waited at least the delay: ${ms} ms" test "$ms" -ge "$delay_ms"
check "50 x $DELAY s overlap: ${ms} ms, under 10 delays" test "$ms" -lt $((10 * delay_ms))
peak=$(stats_field in_progress_peak)
# All 50 were in progress at once, unless sending them took this machine
# over half the delay.
if ((sent_ms < delay_ms / 2)); then
    check "in_progress_peak is 50 ($peak; sent in $sent_ms ms)" test "$peak" = 50
else
    check "in_progress_peak > 1 ($peak; sending took $sent_ms ms here)" test "$peak" -gt 1
fi
check "in_progress back to 0" test "$(stats_field in_progress)" = 0
check "many connections at once" python3 - "$PORT" <<'EOF'
import resource, socket, sys
from http_read import connect, read_until
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
n = 2000
if hard != resource.RLIM_INFINITY and hard < n + 100:
    n = max(100, hard - 100)
want = n + 100 if hard == resource.RLIM_INFINITY else min(hard, n + 100)
if soft != resource.RLIM_INFINITY and soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
port = int(sys.argv[1])
socks = [connect(port) for _ in range(n)]
for s in socks:
    s.sendall(b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n")
ok = 0
for s in socks:
    ok += read_until(s, b"}").startswith(b"HTTP/1.1 200")
    s.close()
assert ok == n, (ok, n)
EOF
halt

serve --delay 3
check "a delayed flag really waits" test "$(curl_exit -m 1 "$BASE/flags/br/br.gif")" = 28
check "/stats is not delayed" curl -s -m 2 -o /dev/null "$BASE/stats"
halt

serve --delay-min 0.05 --delay-max 0.1 --seed 7
t0=$(date +%s%N)
curl -s -o /dev/null "$BASE/flags/br/br.gif"
ms=$((($(date +%s%N) - t0) / 1000000))
check "--delay-min/--delay-max: ${ms} ms >= 50" test "$ms" -ge 50
halt

say "== errors"
serve --error-rate 1
check "--error-rate 1 gives 418" test "$(status "$BASE/flags/br/br.gif")" = 418
check "/stats is never 418" test "$(status "$BASE/stats")" = 200
check "418 counted" test "$(by_status 418)" = 1
halt
serve --error-rate 0.5 --seed 3
n418=0
for ((i = 0; i < 40; i++)); do
    [[ $(status "$BASE/flags/br/metadata.json") == 418 ]] && n418=$((n418 + 1))
done
check "--error-rate 0.5: some but not all of 40 ($n418)" test "$n418" -gt 5 -a "$n418" -lt 35
halt

say "== idle timeout and connection cap"
serve --idle-timeout 1
check "idle and slowloris connections are closed" python3 - "$PORT" <<'EOF'
import socket, sys, time
from http_read import connect
port = int(sys.argv[1])
idle = connect(port)
slow = connect(port)
t0 = time.time()
for ch in b"GET /flags/br/metadata.json HTTP/1.1\r\n":
    try:
        slow.send(bytes([ch]))
    except OSError:
        break
    time.sleep(0.1)
    if time.time() - t0 > 4:
        break
for s in (idle, slow):
    s.settimeout(10)
    try:
        assert s.recv(100) == b"", "not closed"
    except ConnectionResetError:
        pass  # closed while we were still sending
assert time.time() - t0 < 10  # 10 idle timeouts
EOF
halt
# The cap: three connections the server has answered on (so it holds them,
# whatever the machine's speed: no sleep), then a fourth.
serve --max-conns 3
check "connections beyond --max-conns get 503" python3 - "$PORT" <<'EOF'
import socket, sys, time
from http_read import connect, read_until
port = int(sys.argv[1])


def held_connection():
    """A connection the server has answered 200 on. A 503 means it has not
    yet seen an earlier client (start_server's probe) go: try again."""
    t0 = time.monotonic()
    while True:
        h = connect(port)
        h.sendall(b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until(h, b"}")
        if data.startswith(b"HTTP/1.1 200"):
            return h
        assert data.startswith(b"HTTP/1.1 503") and time.monotonic() - t0 < 60, data
        h.close()
        time.sleep(0.05)


held = [held_connection() for _ in range(3)]
s = connect(port)
data = read_until(s, timeout=10)
assert data.startswith(b"HTTP/1.1 503"), data
EOF
halt

say "== chaos"
chaos() { # chaos MODE EXPECTED-EXIT-CODES... -- CURL ARGS
    local mode=$1
    shift
    local want=()
    while [[ $1 != -- ]]; do
        want+=("$1")
        shift
    done
    shift
    serve --chaos "$mode" --idle-timeout 5
    local rc
    rc=$(curl_exit -m 3 "$@" "$BASE/flags/br/br.gif")
    check "chaos $mode: curl exits ${want[*]} ($rc)" in_list "$rc" "${want[@]}"
    check "chaos $mode: /stats unaffected" test "$(status "$BASE/stats")" = 200
    halt
}
chaos truncate 18 --
chaos reset 18 52 56 --
chaos garbage 1 8 --
chaos longheader 8 27 56 100 --
chaos stall 28 --
chaos stallbody 28 --
chaos slow 28 --
chaos redirectloop 47 -- -L --max-redirs 5
chaos redirect 0 -- -L

serve --chaos redirect
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$BASE/flags/br/br.gif")
check "redirect: 302 to ?r=N ($code)" bash -c "[[ '$code' == '302 '*'/flags/br/br.gif?r='[0-9]* ]]"
curl -s -L -o "$TMP/red.gif" "$BASE/flags/br/br.gif"
check "redirect: then the flag" cmp -s "$TMP/red.gif" "$TMP/br.gif"
halt

serve --chaos oversize
out=$(curl -s -m 60 -o /dev/null -w '%{http_code} %{size_download}' "$BASE/flags/br/br.gif" || true)
size=${out#* }
check "oversize: endless chunked body (${size} bytes)" test "$size" -gt 1000000
halt

serve --chaos slow
# 2 s is 20 of its 100 ms steps: at least one step however slow curl starts,
# and never more than the rate allows (2000 bytes, with room for rounding).
out=$(curl -s -m 2 -o /dev/null -w '%{size_download}' "$BASE/flags/br/br.gif" || true)
check "slow: about 100 bytes per 100 ms ($out in 2 s)" test "$out" -ge 100 -a "$out" -le 3000
halt

serve --chaos truncate:0
check "chaos fraction 0 never fires" test "$(curl_exit "$BASE/flags/br/br.gif")" = 0
halt

serve --chaos truncate:0.5 --chaos reset:0.25 --seed 11
bad=0
for ((i = 0; i < 40; i++)); do
    [[ $(curl_exit -m 3 "$BASE/flags/br/br.gif") != 0 ]] && bad=$((bad + 1))
done
check "chaos fractions: 75% of 40 fail ($bad)" test "$bad" -gt 15 -a "$bad" -lt 40
halt

serve
kill -INT "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
check "SIGINT exits 0" test "$rc" = 0

# Once it has exited, its port refuses at once. The kernel tears down an
# exited process's io_uring later, and a listening socket that only the
# ring still held went on accepting: about half of such runs, so 5 of them.
accepted=0
for ((i = 0; i < 5; i++)); do
    serve --delay 0.05
    curl -s -o /dev/null "$BASE/flags/br/br.gif" || true
    halt
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then accepted=$((accepted + 1)); fi
done
check "a stopped server's port refuses connections ($accepted of 5 accepted)" test "$accepted" = 0

# ---------------------------------------------------------------------------
# TLS itself (SERVER_TLS=1 only): what the checks above cannot see.
if ((TLS)); then

say "== TLS: options and certificate files"
rc=0
"$FLAGSERVER" -q -p 0 --tls --cert "$TMP/none.pem" --key "$TMP/none.key" 2>"$TMP/err" || rc=$?
check "a missing certificate file exits 1 ($rc)" test "$rc" = 1
check "and says which file" grep -q 'none.pem' "$TMP/err"
mkdir -p "$TMP/outdir"
rc=0
"$FLAGSERVER" -q -p 0 --tls --cert-out "$TMP/outdir" 2>"$TMP/err" || rc=$?
check "--cert-out that cannot be written exits 1 ($rc)" test "$rc" = 1
check "and leaves no temporary" test -z "$(ls -A "$TMP/outdir")"
# A key and certificate made by openssl, as a user would bring them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/own.key" -out "$TMP/own.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.key" 2>/dev/null
rc=0
"$FLAGSERVER" -q -p 0 --tls --cert "$TMP/own.pem" --key "$TMP/other.key" 2>"$TMP/err" || rc=$?
check "a key that does not match the certificate exits 1 ($rc)" test "$rc" = 1
serve --cert "$TMP/own.pem" --key "$TMP/own.key"
check "--cert/--key: curl --cacert trusts it" test "$(status "$BASE/flags/br/br.gif" --cacert "$TMP/own.pem")" = 200
check "--cert-out writes that certificate" cmp -s "$TMP/own.pem" "$SERVER_CACERT"
halt

say "== TLS: handshakes"
serve
openssl x509 -in "$SERVER_CACERT" -noout -text >"$TMP/cert.txt"
check "the made certificate is P-256" grep -q 'ASN1 OID: prime256v1' "$TMP/cert.txt"
check "for 127.0.0.1 and localhost" grep -q 'IP Address:127.0.0.1, DNS:localhost' "$TMP/cert.txt"
check "valid now" bash -c "openssl x509 -in '$SERVER_CACERT' -noout -checkend 3600 >/dev/null"
check "curl by the name localhost" test "$(status "https://localhost:$PORT/flags/br/br.gif")" = 200
for v in 1.2 1.3; do
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SERVER_CACERT" -verify_return_error \
        "-tls${v/./_}" -alpn http/1.1 </dev/null >"$TMP/sc" 2>&1 || true
    check "openssl s_client TLS $v: verified" grep -q 'Verify return code: 0 (ok)' "$TMP/sc"
    check "openssl s_client TLS $v: TLSv$v" grep -q "New, TLSv$v" "$TMP/sc"
    check "openssl s_client TLS $v: ALPN http/1.1" grep -q 'ALPN protocol: http/1.1' "$TMP/sc"
done
check "python's ssl: TLS 1.2 and 1.3, ALPN http/1.1, a flag" python3 - "$PORT" "$SERVER_CACERT" <<'PY'
import socket, ssl, sys
from http_read import read_until
port, ca = int(sys.argv[1]), sys.argv[2]
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    assert s.version() == version.name.replace("v1_", "v1."), s.version()
    assert s.selected_alpn_protocol() == "http/1.1", s.selected_alpn_protocol()
    s.sendall(b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = read_until(s)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'"gec_cc": "BR"}'), data
PY
check "h2-only ALPN is served without ALPN" python3 - "$PORT" "$SERVER_CACERT" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
assert s.selected_alpn_protocol() is None
PY
halt

say "== TLS: 194 flags, byte for byte as over HTTP"
mapfile -t codes < <("$FLAGSERVER" --list-codes | tr '[:upper:]' '[:lower:]')
fetch_all() { # fetch_all DIR: the 194 GIFs through one curl, kept alive
    mkdir -p "$1"
    local cc
    for cc in "${codes[@]}"; do
        printf 'url = "%s/flags/%s/%s.gif"\noutput = "%s/%s.gif"\n' "$BASE" "$cc" "$cc" "$1" "$cc"
    done >"$TMP/curl.cfg"
    curl -sf -K "$TMP/curl.cfg"
}
SERVER_TLS=0
serve
fetch_all "$TMP/http"
halt
SERVER_TLS=1
serve
fetch_all "$TMP/https"
check "194 flags over HTTPS ($(find "$TMP/https" -type f | wc -l))" test "$(find "$TMP/https" -type f | wc -l)" = 194
check "the same bytes as over HTTP" diff -rq "$TMP/http" "$TMP/https"
check "one handshake for them all (kept alive; +1 start, +1 /stats)" test "$(stats_field tls_handshakes_full)" = 3

say "== TLS: session resumption"
reset_stats
curl -s -H 'Connection: close' -o /dev/null -o /dev/null "$BASE/flags/br/br.gif" "$BASE/flags/us/us.gif"
check "curl's second connection is resumed" test "$(stats_field tls_handshakes_resumed)" = 1
for v in 1_2 1_3; do
    rm -f "$TMP/sess"
    printf 'GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' |
        openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SERVER_CACERT" "-tls$v" -ign_eof \
            -sess_out "$TMP/sess" >"$TMP/sc1" 2>&1 || true
    printf 'GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' |
        openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$SERVER_CACERT" "-tls$v" -ign_eof \
            -sess_in "$TMP/sess" >"$TMP/sc2" 2>&1 || true
    check "s_client TLS ${v/_/.}: a new session, then" grep -q '^New, ' "$TMP/sc1"
    check "s_client TLS ${v/_/.}: resumed with -sess_in" grep -q '^Reused, ' "$TMP/sc2"
    check "s_client TLS ${v/_/.}: /stats counts it" grep -q '"tls_handshakes_resumed": [1-9]' "$TMP/sc2"
done
halt
serve --no-tickets
reset_stats
curl -s -H 'Connection: close' -o /dev/null -o /dev/null "$BASE/flags/br/br.gif" "$BASE/flags/us/us.gif"
check "--no-tickets: full handshakes (2, and this /stats)" test "$(stats_field tls_handshakes_full)" = 3
check "--no-tickets: no resumption" test "$(stats_field tls_handshakes_resumed)" = 0
halt

say "== TLS: faults"
tls_fault() { # tls_fault MODE CURL-EXIT PYTHON-ERRORS (a regex of class names)
    SERVER_NO_PING=1 serve --tls-fault "$1" --idle-timeout 3
    local rc t0=$SECONDS
    rc=$(curl_exit -m 1 "$BASE/flags/br/br.gif")
    check "--tls-fault $1: curl exits $2 ($rc)" test "$rc" = "$2"
    check "--tls-fault $1: python's ssl fails: $3" python3 - "$PORT" "$3" <<'PY'
import re, sys
from http_read import connect
try:
    connect(int(sys.argv[1]), timeout=10)
except OSError as e:
    assert re.fullmatch(sys.argv[2], type(e).__name__), repr(e)
else:
    raise AssertionError("handshake succeeded")
PY
    check "--tls-fault $1: no hang ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 15
    halt
}
# silent: curl ends at its -m (before the server's idle timeout), python
# when the server's idle timeout closes. An EOF in the handshake is
# SSLEOFError or, with Debian's python3, SSLZeroReturnError.
eof='SSLEOFError|SSLZeroReturnError'
tls_fault silent 28 "$eof"
tls_fault garbage 35 SSLError
tls_fault cut 35 "$eof"

say "== TLS: certificates clients must refuse"
SERVER_NO_PING=1 serve --tls-cert-mode expired
rc=0
curl -sS -o "$TMP/x.gif" "$BASE/flags/br/br.gif" 2>"$TMP/err" || rc=$?
check "expired: curl --cacert refuses it ($rc)" test "$rc" = 60
check "expired: and says so" grep -q 'expired' "$TMP/err"
check "expired: no file" test ! -e "$TMP/x.gif"
wait_stat tls_handshakes_failed 1 -k || true
check "expired: the server counts a failed handshake ($STAT)" test "$STAT" = 1
check "expired: otherwise it serves (curl -k)" test "$(status "$BASE/flags/br/br.gif" -k)" = 200
halt
SERVER_NO_PING=1 serve --tls-cert-mode wrong-name
rc=0
curl -sS -o "$TMP/x.gif" "$BASE/flags/br/br.gif" 2>"$TMP/err" || rc=$?
check "wrong name: curl --cacert refuses it ($rc)" test "$rc" = 60
check "wrong name: and says so" grep -q 'subject name' "$TMP/err"
check "wrong name: python's ssl too" python3 - "$PORT" <<'PY'
import ssl, sys
from http_read import connect
try:
    connect(int(sys.argv[1]))
except ssl.SSLCertVerificationError as e:
    assert "mismatch" in str(e), e
else:
    raise AssertionError("verified")
PY
halt

say "== TLS: bad clients change nothing for the others"
serve
reset_stats
check "random bytes, a cut ClientHello, plain HTTP: others go on" python3 - "$PORT" <<'PY'
import os, socket, ssl, sys
from http_read import connect, read_until
port = int(sys.argv[1])
get = b"GET /flags/br/metadata.json HTTP/1.1\r\nHost: t\r\n\r\n"
kept = connect(port)
kept.sendall(get)
assert read_until(kept, b"}").startswith(b"HTTP/1.1 200")

# A real ClientHello, from a client on memory BIOs.
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ssl.create_default_context().wrap_bio(inc, out, server_hostname="127.0.0.1")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
assert hello[0] == 0x16 and len(hello) > 100, hello[:8]


def closed_by_server(payload):
    raw = socket.create_connection(("127.0.0.1", port))
    raw.sendall(payload)
    raw.settimeout(10)
    try:
        while raw.recv(4096):
            pass
    except ConnectionResetError:
        pass  # closed with our bytes unread: as good


closed_by_server(os.urandom(4096))
closed_by_server(b"GET /flags/br/br.gif HTTP/1.1\r\nHost: t\r\n\r\n")
cut = socket.create_connection(("127.0.0.1", port))
cut.sendall(hello[: len(hello) // 2])
cut.close()
stuck = socket.create_connection(("127.0.0.1", port))  # half a hello, held open
stuck.sendall(hello[: len(hello) // 2])

kept.sendall(get)
assert read_until(kept, b"}").startswith(b"HTTP/1.1 200"), "kept-alive client broken"
fresh = connect(port)
fresh.sendall(get)
assert read_until(fresh, b"}").startswith(b"HTTP/1.1 200"), "new client broken"
PY
wait_stat tls_handshakes_failed 4 || true
check "4 failed handshakes counted: random, HTTP, cut, held ($STAT)" test "$STAT" = 4
halt
fi

if ((FAILS)); then
    say "$FAILS check(s) failed"
    exit 1
fi
say "all flagserver checks passed"

#!/usr/bin/env bash
# vs_nginx.sh — is flagserver ever the bottleneck? Requests per second of
# flagserver (no delay) against nginx with one worker, both on one core,
# serving the same flag files, measured by wrk on another core in one run;
# over HTTP or HTTPS (--tls), kept alive or a new connection per request.
set -euo pipefail
PROG=vs_nginx
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/vs_nginx.sh [--build DIR] [--zip FILE] [--duration S] [--connections N]
                           [--one-url] [--rounds K] [--server-cpu C] [--wrk-cpu C]
                           [--tls [--no-tickets]] [--close] [--out FILE] [-h]

Unzips the book's flags (FILE, default ../shared/data/flags.zip next to the
repository, else /work/shared/data/flags.zip) into a temporary directory,
serves it with 'flagserver --root' and with nginx (worker_processes 1, config,
pid and logs in that temporary directory, a free port of 127.0.0.1), each
pinned to CPU C with taskset, and runs
  taskset -c WRK_CPU wrk -t1 -cN -dS -s rotate.lua URL
against each (a Lua script that walks through the 194 /flags/<cc>/<cc>.gif
URLs; --one-url: always /flags/br/br.gif). A 2 s warm-up precedes each
measurement. The pair is measured K times (--rounds), in alternating order
so that neither server always goes first; each round gives one ratio
flagserver/nginx. Prints the median requests/s of each, the median of the
per-round ratios with their range (>= 1: flagserver is at least as fast),
and /proc/loadavg before and after, since a busy machine skews both.
Each measurement also reads the server's CPU time (/proc/PID/stat: flagserver,
or nginx's master and workers) and wrk's (bash time): requests per server
CPU-second, their per-round ratio, and wrk's share of its core. When wrk
uses 90% or more of its core, wrk sets the pace and requests/s measure it
more than the servers; requests per server CPU-second still compare them.

--tls: both servers speak HTTPS with the same fresh P-256 key and
self-signed certificate (made with openssl in the temporary directory,
never kept): flagserver --tls --cert --key, nginx 'listen ssl' with its
defaults (session tickets on, no session cache) but for ssl_protocols
TLSv1.2 TLSv1.3 (nginx 1.22 offers only TLS 1.2 by default), and wrk
requests https:// URLs. --close: every request says 'Connection: close'
(wrk -H), so each is a new connection, and over TLS a new handshake; wrk
keeps the TLS session of its connection's last handshake and offers it on
the next, so those handshakes are resumed (flagserver's /stats counts them,
and the summary says how many were) unless --no-tickets turns resumption
off on both servers, when every one is a full handshake.

options:
  --build DIR        CMake build directory with server/flagserver (default: build)
  --zip FILE         the flags archive (flags/<cc>/<cc>.gif inside)
  --duration S       seconds of each wrk measurement (default: 10)
  --connections N    wrk connections (default: 100)
  --one-url          request one URL instead of rotating through all 194
  --rounds K         measurements of each server (default: 5)
  --server-cpu C     the CPU both servers are pinned to (default: 0)
  --wrk-cpu C        the CPU wrk is pinned to (default: 1)
  --tls              HTTPS on both servers (the same certificate), wrk over https
  --no-tickets       with --tls: no session resumption on either server
  --close            a new connection per request (Connection: close)
  --out FILE         also append a CSV row per measurement to FILE
  -h, --help         show this help and exit

Needs nginx (nginx-light), wrk and, for --tls, openssl from Debian
(apt-get install nginx-light wrk openssl).
Exit status: 0 measured, 1 a server or wrk failed, 2 usage error.
EOF
}

BUILD=$ROOT/build ZIP='' DURATION=10 CONNS=100 ONE_URL=0 ROUNDS=5 SCPU=0 WCPU=1 OUTCSV=''
TLS=0 NO_TICKETS=0 CLOSE=0
parse_options '--build=BUILD --zip=ZIP --duration=DURATION --connections=CONNS --one-url:ONE_URL
    --rounds=ROUNDS --server-cpu=SCPU --wrk-cpu=WCPU --out=OUTCSV --tls:TLS --no-tickets:NO_TICKETS
    --close:CLOSE' "$@"
((TLS || !NO_TICKETS)) || die "--no-tickets needs --tls"
{ is_uint "$DURATION" && ((DURATION >= 1 && DURATION <= 3600)); } || die "--duration needs whole seconds (1-3600)"
{ is_uint "$CONNS" && ((CONNS >= 1 && CONNS <= 10000)); } || die "--connections needs 1-10000"
{ is_uint "$ROUNDS" && ((ROUNDS >= 1 && ROUNDS <= 20)); } || die "--rounds needs 1-20"
check_cpus --server-cpu "$SCPU" --wrk-cpu "$WCPU"
if [[ -z $ZIP ]]; then
    for z in "$ROOT/../shared/data/flags.zip" /work/shared/data/flags.zip; do
        [[ -f $z ]] && ZIP=$z && break
    done
fi
[[ -n $ZIP && -f $ZIP ]] || die "flags.zip not found (pass --zip FILE)"
use_build "$BUILD"
[[ -x $FLAGSERVER ]] || die "$FLAGSERVER is not built (run 'make build')"
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n $NGINX ]] || die "nginx is missing (apt-get install nginx-light)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v unzip >/dev/null || die "unzip is missing (apt-get install unzip)"
((!TLS)) || command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
[[ $SCPU -ne $WCPU ]] || say "warning: server and wrk share CPU $SCPU"

raise_nofile
T=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-vsnginx.XXXXXX")
NGINX_PID='' FS_PID=''
stop_pid() {
    local p=$1
    [[ -n $p ]] || return 0
    kill "$p" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() {
    stop_pid "$FS_PID"
    stop_pid "$NGINX_PID"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

unzip -q "$ZIP" -d "$T/data"
# Started as root, nginx's worker runs as an unprivileged user: it must be
# able to read the files (mktemp makes the directory 0700).
chmod a+rx "$T"
chmod -R a+rX "$T/data"
DOCROOT=$T/data/flags
[[ -f $DOCROOT/br/br.gif ]] || die "$ZIP does not hold flags/<cc>/<cc>.gif"

# Over TLS: one key and certificate for both servers, made now, kept in $T.
SCHEME=http FS_TLS=() NGINX_LISTEN='' NGINX_TLS='' CURL_TLS=() WRK_ARGS=()
if ((TLS)); then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=vs_nginx \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null ||
        die "openssl could not make a key and certificate"
    chmod a+r "$T/key.pem" "$T/cert.pem"
    SCHEME=https NGINX_LISTEN=' ssl' CURL_TLS=(--cacert "$T/cert.pem")
    FS_TLS=(--tls --cert "$T/cert.pem" --key "$T/key.pem")
    # nginx 1.22 (Debian 12) offers only TLS 1.2 unless told: the same
    # protocols as flagserver (nginx's own default since 1.23.4).
    NGINX_TLS="ssl_certificate $T/cert.pem; ssl_certificate_key $T/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
    if ((NO_TICKETS)); then
        FS_TLS+=(--no-tickets)
        NGINX_TLS+=" ssl_session_tickets off; ssl_session_cache off;"
    fi
fi
MODE_TAG=$SCHEME MODE=$SCHEME
if ((TLS && NO_TICKETS)); then
    MODE_TAG+=-notickets MODE+=" without resumption"
fi
if ((CLOSE)); then
    WRK_ARGS=(-H "Connection: close")
    MODE_TAG+=-close MODE+=", a new connection per request"
else
    MODE+=", kept alive"
fi
say "mode: $MODE"
mapfile -t CODES < <(find "$DOCROOT" -mindepth 2 -maxdepth 2 -name '*.gif' -printf '%f\n' | sed 's/\.gif$//' | sort)
say "${#CODES[@]} flags from $ZIP, $(du -sk "$DOCROOT" | cut -f1) KiB"

# wrk's request rotation: one Lua state per wrk thread walks the list.
{
    echo "local paths = {"
    if [[ $ONE_URL -eq 1 ]]; then
        echo '"/flags/br/br.gif",'
    else
        for c in "${CODES[@]}"; do echo "\"/flags/$c/$c.gif\","; done
    fi
    echo "}"
    cat <<'EOF'
local i = 0
request = function()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
EOF
} >"$T/rotate.lua"

free_port() {
    python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_url() { # pid url
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s --noproxy '*' "${CURL_TLS[@]}" -o /dev/null --max-time 1 -f "$2" && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_nginx() {
    local port tries
    mkdir -p "$T/nginx/tmp"
    for ((tries = 0; tries < 5; tries++)); do
        port=$(free_port)
        cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    types { image/gif gif; application/json json; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=1000 inactive=60s;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$port$NGINX_LISTEN;
        $NGINX_TLS
        location /flags/ { alias $DOCROOT/; }
    }
}
EOF
        taskset -c "$SCPU" "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" \
            >>"$T/nginx/stderr" 2>&1 &
        NGINX_PID=$!
        if wait_url "$NGINX_PID" "$SCHEME://127.0.0.1:$port/flags/br/br.gif"; then
            NGINX_URL=$SCHEME://127.0.0.1:$port
            return 0
        fi
        stop_pid "$NGINX_PID"
        NGINX_PID=
    done
    tail -n 5 "$T/nginx/stderr" "$T/nginx/error.log" >&2 || true
    echo "$PROG: error: nginx did not start" >&2
    exit 1
}

start_flagserver() {
    local pf=$T/fs.port
    taskset -c "$SCPU" "$FLAGSERVER" -p 0 --port-file "$pf" -q --root "$DOCROOT" "${FS_TLS[@]}" \
        --max-conns $((CONNS + 100)) >>"$T/fs.log" 2>&1 &
    FS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $pf ]] && break
        sleep 0.1
    done
    [[ -s $pf ]] || { cat "$T/fs.log" >&2; echo "$PROG: error: flagserver did not start" >&2; exit 1; }
    FS_URL=$SCHEME://127.0.0.1:$(tr -dc 0-9 <"$pf")
    wait_url "$FS_PID" "$FS_URL/flags/br/br.gif" || { echo "$PROG: error: flagserver does not answer" >&2; exit 1; }
}

start_flagserver
start_nginx
# Same bytes from both.
cmp -s <(curl -s --noproxy '*' "${CURL_TLS[@]}" "$FS_URL/flags/br/br.gif") \
    <(curl -s --noproxy '*' "${CURL_TLS[@]}" "$NGINX_URL/flags/br/br.gif") ||
    say "warning: flagserver and nginx serve different bytes for br.gif"
say "flagserver pid $FS_PID at $FS_URL, nginx pid $NGINX_PID at $NGINX_URL, both on CPU $SCPU; wrk on CPU $WCPU"

# cpu_ticks PID... — user + system clock ticks of those processes so far.
cpu_ticks() {
    local pid sum=0 f
    for pid in "$@"; do
        # Fields 14 and 15 after the command name, which may hold spaces.
        f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a f <<<"$f"
        sum=$((sum + f[11] + f[12]))
    done
    echo "$sum"
}
TICKS=$(getconf CLK_TCK)

# measure NAME URL PID... -> appends "name rps" to $T/rps, "name served/cpu
# wrk-share" to $T/cpu. The PIDs are the server's processes: its CPU time
# over the measurement says whether it, or wrk, was the bottleneck.
measure() {
    local name=$1 url=$2 out c0 c1 wrk_cpu
    shift 2
    taskset -c "$WCPU" wrk -t1 -c"$CONNS" -d2s "${WRK_ARGS[@]}" -s "$T/rotate.lua" "$url" >/dev/null 2>&1 || true
    c0=$(cpu_ticks "$@")
    local TIMEFORMAT='%U %S %R'
    { time taskset -c "$WCPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "${WRK_ARGS[@]}" --latency -s "$T/rotate.lua" "$url" \
        >"$T/wrk.out" 2>&1; } 2>"$T/wrk.time" || {
        cat "$T/wrk.out" >&2
        echo "$PROG: error: wrk failed against $name" >&2
        exit 1
    }
    c1=$(cpu_ticks "$@")
    out=$(<"$T/wrk.out")
    echo "$out" >"$T/wrk-$name-$(wc -l <"$T/rps" 2>/dev/null || echo 0).txt"
    local rps non2xx errs p50 p99 tput
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    tput=$(awk '/^Transfer\/sec:/ {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
    errs=$(awk '/Socket errors:/ {print}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    [[ -n $rps ]] || { echo "$out" >&2; echo "$PROG: error: no Requests/sec from wrk" >&2; exit 1; }
    # Requests served per CPU-second of the server, and wrk's share of its core.
    read -r served wrk_cpu < <(awk -v t0="$c0" -v t1="$c1" -v hz="$TICKS" '
        /requests in/ { n = $1 }
        FILENAME ~ /time$/ { cpu = $1 + $2; wall = $3 }
        END { printf "%.0f %.3f\n", (t1 > t0 ? n * hz / (t1 - t0) : 0), (wall > 0 ? cpu / wall : 0) }
    ' "$T/wrk.out" "$T/wrk.time")
    say "$name: $rps requests/s, $tput/s, latency p50 $p50 p99 $p99${non2xx:+, NON-2xx $non2xx}${errs:+, $errs}; $served requests per server CPU-second; wrk used ${wrk_cpu} of its core"
    echo "$name $rps" >>"$T/rps"
    echo "$name $served $wrk_cpu" >>"$T/cpu"
    RPS[$name]=$rps
    if [[ -n $OUTCSV ]]; then
        [[ -s $OUTCSV ]] || echo "server,requests_per_s,transfer_per_s,latency_p50,latency_p99,non_2xx,connections,duration_s,urls,requests_per_server_cpu_s,mode" >"$OUTCSV"
        echo "$name,$rps,$tput,$p50,$p99,${non2xx:-0},$CONNS,$DURATION,$([[ $ONE_URL -eq 1 ]] && echo 1 || echo ${#CODES[@]}),$served,$MODE_TAG" >>"$OUTCSV"
    fi
}

: >"$T/rps"
: >"$T/ratios"
: >"$T/cpu_ratios"
: >"$T/cpu"
declare -A RPS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < ROUNDS; r++)); do
    say "round $((r + 1))/$ROUNDS"
    alternate "$r" flagserver nginx
    for name in "${ORDER[@]}"; do
        if [[ $name == flagserver ]]; then
            measure flagserver "$FS_URL" "$FS_PID"
        else
            # shellcheck disable=SC2046 # one word per worker pid
            measure nginx "$NGINX_URL" "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true)
        fi
    done
    awk -v a="${RPS[flagserver]}" -v b="${RPS[nginx]}" 'BEGIN {printf "%.4f\n", a / b}' >>"$T/ratios"
    awk '{ s[$1] = $2 } END { if (s["nginx"] > 0) printf "%.4f\n", s["flagserver"] / s["nginx"] }' \
        <(tail -n 2 "$T/cpu") >>"$T/cpu_ratios"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
median_of() { awk -v n="$1" '$1 == n {print $2}' "$T/rps" | median_min_max | cut -d" " -f1; }
fs=$(median_of flagserver)
ng=$(median_of nginx)
read -r ratio rmin rmax < <(median_min_max <"$T/ratios")
echo "mode: $MODE"
echo "command: taskset -c $WCPU wrk -t1 -c$CONNS -d${DURATION}s${WRK_ARGS[*]:+ -H 'Connection: close'} -s rotate.lua URL ($([[ $ONE_URL -eq 1 ]] && echo '/flags/br/br.gif' || echo "${#CODES[@]} flag URLs in turn")); servers on CPU $SCPU, rounds $ROUNDS in alternating order"
echo "load average (1, 5, 15 min): $LOAD_BEFORE before, $LOAD_AFTER after"
echo "flagserver --root: $fs requests/s (median)"
echo "nginx (1 worker):  $ng requests/s (median)"
awk -v m="$ratio" -v lo="$rmin" -v hi="$rmax" -v k="$ROUNDS" \
    'BEGIN {printf "ratio flagserver/nginx: %.2f (median of %d rounds, range %.2f-%.2f)\n", m, k, lo, hi}'
cpu_of() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$T/cpu" | median_min_max | cut -d" " -f1; }
echo "requests per server CPU-second (median): flagserver $(cpu_of flagserver 2), nginx $(cpu_of nginx 2)"
read -r cratio cmin cmax < <(median_min_max <"$T/cpu_ratios")
awk -v m="$cratio" -v lo="$cmin" -v hi="$cmax" -v k="$ROUNDS" \
    'BEGIN {printf "ratio flagserver/nginx in requests per server CPU-second: %.2f (median of %d rounds, range %.2f-%.2f)\n", m, k, lo, hi}'
wrk_share=$(awk '{print $3}' "$T/cpu" | median_min_max | cut -d" " -f1)
awk -v w="$wrk_share" 'BEGIN {
    printf "wrk used %.0f%% of its core (median)", 100 * w
    if (w >= 0.9) print ": wrk, not the server, set the pace, so requests/s compare the client; requests per server CPU-second compare the servers"
    else print ""
}'
if ((TLS)); then
    # What the handshakes were, from flagserver's side (the whole run).
    curl -s --noproxy '*' "${CURL_TLS[@]}" "$FS_URL/stats" | python -c '
import json, sys
d = json.load(sys.stdin)
full, resumed = d["tls_handshakes_full"], d["tls_handshakes_resumed"]
print("flagserver handshakes over the run: %d full, %d resumed (%.0f%%), %d failed"
      % (full, resumed, 100 * resumed / max(1, full + resumed), d["tls_handshakes_failed"]))'
fi

#!/usr/bin/env bash
# vs_curl.sh — client speed with no delay (the CPU-bound regime): each back
# end against curl's own parallel mode, which runs on the same libcurl, on the
# same server, fetching the same ~10,000 real-sized flags. The figure of
# merit is requests per CPU-second (user + sys) of the client process.
# With --tls, the same over HTTPS with a new connection per request (the
# handshake-bound case), with session resumption on and off, and what a
# resumed handshake costs the client against a full one.
set -euo pipefail
PROG=vs_curl
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/vs_curl.sh [--build DIR] [--zip FILE] [--repeat K] [--max-req N]
                          [--rounds R] [--backends LIST] [--client-cpu C]
                          [--server-cpu C] [--strace] [--tls] [--dest-parent DIR]
                          [--out FILE] [-h]

Starts flagserver (no delay) on a free port of 127.0.0.1 serving the book's
flags (--root on FILE unzipped; default ../shared/data/flags.zip next to the
repository, else /work/shared/data/flags.zip; without it the built-in flags),
pinned to CPU --server-cpu. Then, R times in alternating order, runs with the
client pinned to CPU --client-cpu:
  flags_<backend> -a --repeat K -m N -s URL -d DIR -q     (194 x K requests)
  curl -s --parallel --parallel-max N -K CONFIG            (the same URLs;
                                                            url = / output =)
each under bash's time, and prints the median wall time, CPU (user+sys),
requests per CPU-second and requests per second of each, and each back end's
ratio to curl in both (>= 1: at least as frugal, or as fast).
With --strace, one more run of each back end that runs on one thread and of
curl under 'strace -c -f' counts system calls per request (slow; the timed
runs are not traced). io_uring submissions are not system calls: a back end
on io_uring counts its io_uring_enter calls and what libcurl calls directly,
and the kernel's io-wq workers are not traced.

With --tls: flagserver runs with --tls (a P-256 certificate it makes, trusted
with --cacert) and, beside it, a second flagserver over HTTP. Every client
opens a new connection per request, in three modes:
  NAME              HTTPS, TLS sessions resumed across the run's connections
                    (clients: --no-reuse; curl: -H 'Connection: close', its
                    own session cache, as it ships)
  NAME:no-resume    HTTPS, a full handshake every time (clients --no-resume;
                    curl --no-sessionid)
  NAME:http         HTTP, the same requests and connections without TLS
and the curl commands add --parallel-immediate and --cacert. Prints the same
table and each back end's ratio to curl with resumption on and off, then, for
each client, the CPU of a full and of a resumed handshake: per request, the
no-resume run's CPU less the HTTP run's is a full handshake; the resumed run's
CPU less the HTTP run's and less the full handshakes it still made (flagserver's
/stats counts resumed handshakes per run) is spread over the resumed ones.
--repeat defaults to 10 (1,940 requests) with --tls.

options:
  --build DIR        CMake build directory (default: build)
  --zip FILE         the flags archive (flags/<cc>/<cc>.gif inside)
  --repeat K         every flag K times (default: 52 -> 10088 requests)
  --max-req N        requests in flight, clients and curl (default: 50)
  --rounds R         timed runs of each (default: 3; the median is reported)
  --backends LIST    back ends besides curl (default: all built)
  --client-cpu C     CPU for the clients (default: 0)
  --server-cpu C     CPU for flagserver (default: 1)
  --strace           also count system calls per request (the one-thread
                     back ends and curl; not with --tls)
  --tls              over HTTPS, a new connection per request (above)
  --dest-parent DIR  where the downloads are written: a fresh temporary
                     directory inside DIR (default: /dev/shm if it is tmpfs,
                     else \$TMPDIR or /tmp; pass /tmp to include the disk)
  --out FILE         also write every run as CSV to FILE
  -h, --help         show this help and exit

Exit status: 0 measured, 1 a run failed, 2 usage error.
EOF
}

BUILD=$ROOT/build ZIP='' REPEAT='' MAXREQ=50 ROUNDS=3 BACKEND_LIST=''
CCPU=0 SCPU=1 STRACE=0 OUTCSV='' DESTP='' TLS=0
parse_options '--build=BUILD --zip=ZIP --repeat=REPEAT --max-req=MAXREQ --rounds=ROUNDS
    --backends=BACKEND_LIST --client-cpu=CCPU --server-cpu=SCPU --strace:STRACE
    --out=OUTCSV --dest-parent=DESTP --tls:TLS' "$@"
[[ -n $REPEAT ]] || REPEAT=$((TLS ? 10 : 52))
[[ $TLS -eq 0 || $STRACE -eq 0 ]] || die "--strace can't be used with --tls"
{ is_uint "$REPEAT" && ((REPEAT >= 1 && REPEAT <= 1000)); } || die "--repeat needs 1-1000"
{ is_uint "$MAXREQ" && ((MAXREQ >= 1 && MAXREQ <= 300)); } || die "--max-req needs 1-300 (curl's --parallel-max limit)"
{ is_uint "$ROUNDS" && ((ROUNDS >= 1 && ROUNDS <= 20)); } || die "--rounds needs 1-20"
check_cpus --client-cpu "$CCPU" --server-cpu "$SCPU"
use_build "$BUILD"
use_dest_parent "$DESTP"
use_backends "$BUILD" "$BACKEND_LIST"
TIMEFORMAT='%3R %3U %3S'
command -v curl >/dev/null || die "curl is missing"
[[ $STRACE -eq 0 ]] || command -v strace >/dev/null || die "strace is missing (apt-get install strace)"
if [[ -z $ZIP ]]; then
    for z in "$ROOT/../shared/data/flags.zip" /work/shared/data/flags.zip; do
        [[ -f $z ]] && ZIP=$z && break
    done
fi

raise_nofile
T=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-vscurl.XXXXXX")
cleanup() {
    stop_server
    rm -rf "$T" "${D:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
D=$(mktemp -d "$DESTP/flagbench-dl.XXXXXX")

ROOTARGS=()
if [[ -n $ZIP && -f $ZIP ]] && command -v unzip >/dev/null; then
    unzip -q "$ZIP" -d "$T/data"
    ROOTARGS=(--root "$T/data/flags")
    say "serving $ZIP (--root)"
else
    say "warning: no flags.zip; serving flagserver's built-in flags"
fi
# start_server runs flagserver; pin it (and what it starts) afterwards.
# With --tls, the HTTPS server is the one measured and timed against; the
# HTTP one beside it serves the :http runs.
HTTP_BASE_URL=''
if [[ $TLS -eq 1 ]]; then
    start_server "$T" "${ROOTARGS[@]}"
    taskset -a -p -c "$SCPU" "$SERVER_PID" >/dev/null
    HTTP_BASE_URL=$BASE_URL
    set_server_aside
    SERVER_TLS=1
fi
start_server "$T" "${ROOTARGS[@]}"
taskset -a -p -c "$SCPU" "$SERVER_PID" >/dev/null

# The codes of -a, sorted as the clients request them: flagserver holds the
# one list (common/countries.def).
mapfile -t CODES < <("$FLAGSERVER" --list-codes)
[[ ${#CODES[@]} -gt 0 ]] || fail "$FLAGSERVER --list-codes printed no codes"
NREQ=$((${#CODES[@]} * REPEAT))

# curl's config: the same URLs in the same order as the clients (every code,
# then again), each to its own file.
for ((k = 1; k <= REPEAT; k++)); do
    for c in "${CODES[@]}"; do
        lc=${c,,}
        printf 'url = "%s/%s/%s.gif"\noutput = "%s/curl/%s-%d.gif"\n' "$BASE_URL" "$lc" "$lc" "$D" "$lc" "$k"
    done
done >"$T/curl.cfg"
[[ -z $HTTP_BASE_URL ]] || sed "s|$BASE_URL/|$HTTP_BASE_URL/|" "$T/curl.cfg" >"$T/curl-http.cfg"

# client_cmd NAME — CMD: the command of a run of NAME (a back end or curl,
# with --tls a mode suffix: :no-resume, :http).
client_cmd() {
    local client=${1%%:*} mode='' cfg=$T/curl.cfg url=$BASE_URL
    [[ $1 != *:* ]] || mode=${1#*:}
    local -a extra=()
    if [[ $TLS -eq 1 ]]; then
        if [[ $client == curl ]]; then
            extra=(--parallel-immediate -H 'Connection: close')
        else
            extra=(--no-reuse)
        fi
        case $mode in
        http) cfg=$T/curl-http.cfg url=$HTTP_BASE_URL ;;
        no-resume)
            extra+=("${CACERT_ARGS[@]}")
            if [[ $client == curl ]]; then extra+=(--no-sessionid); else extra+=(--no-resume); fi ;;
        *) extra+=("${CACERT_ARGS[@]}") ;;
        esac
    fi
    if [[ $client == curl ]]; then
        CMD=(curl -s --noproxy '*' --parallel --parallel-max "$MAXREQ" "${extra[@]}" -K "$cfg")
    else
        CMD=("${BIN[$client]}" -a --repeat "$REPEAT" -m "$MAXREQ" -s "$url" "${extra[@]}" -d "$D/dl" -q)
    fi
}

# The HTTPS server's handshake counters (flagserver's /stats): reset before
# a run, read after it. RESUMED: its resumed handshakes ('' when unknown).
stats_reset() { [[ $TLS -eq 0 ]] || curl -sf "${CACERT_ARGS[@]}" "$SERVER_URL/stats?reset=1" >/dev/null || true; }
stats_resumed() {
    RESUMED=''
    [[ $TLS -eq 1 ]] || return 0
    RESUMED=$(curl -sf "${CACERT_ARGS[@]}" "$SERVER_URL/stats" | grep -o '"tls_handshakes_resumed" *: *[0-9]*' | grep -o '[0-9]*$' || true)
}

# run NAME -> sets WALL USER SYS; the command runs pinned under /usr/bin/time.
# Every run saves into a directory of its own, and none is deleted before the
# end: on ext4 a file created soon after thousands were deleted costs up to
# 30x more CPU (the inode allocator skips inodes deleted in the last minute,
# reading each one: perf puts 80% of the CPU in find_inode_bit and
# recently_deleted), and it would fall on whichever run came next.
RUN_NO=0
run() {
    local name=$1 rc=0
    RUN_NO=$((RUN_NO + 1))
    rm -f "$D/dl" "$D/curl"
    mkdir -p "$D/run-$RUN_NO"
    ln -s "run-$RUN_NO" "$D/curl" # curl's config names $D/curl
    ln -s "run-$RUN_NO" "$D/dl"
    client_cmd "$name"
    stats_reset
    # bash's time: wall and the children's rusage to the millisecond.
    { time taskset -c "$CCPU" "${CMD[@]}" >"$T/out" 2>"$T/err"; } 2>"$T/time" || rc=$?
    stats_resumed
    if [[ $rc -ne 0 ]]; then
        head -n 3 "$T/err" >&2
        echo "$PROG: error: $name exited with status $rc" >&2
        exit 1
    fi
    local files
    files=$(find "$D/run-$RUN_NO" -name '*.gif' | wc -l)
    [[ $files -eq $NREQ ]] || say "warning: $name saved $files files of $NREQ"
    read -r WALL USER SYS <"$T/time"
}

if [[ $NREQ -ne 10088 ]]; then
    say "$NREQ requests per run"
fi
say "server pid $SERVER_PID on CPU $SCPU at $BASE_URL; clients on CPU $CCPU; $NREQ requests, $MAXREQ in flight, $ROUNDS rounds"
CLIENTS=("${BACKENDS[@]}" curl)
NAMES=("${CLIENTS[@]}")
if [[ $TLS -eq 1 ]]; then
    for c in "${CLIENTS[@]}"; do NAMES+=("$c:no-resume" "$c:http"); done
fi
: >"$T/runs"
[[ -z $OUTCSV || -s $OUTCSV ]] || echo "client,round,requests,max_req,wall_s,user_s,sys_s,cpu_s,req_per_cpu_s,req_per_s,resumed" >"$OUTCSV"
for ((r = 0; r < ROUNDS; r++)); do
    alternate "$r" "${NAMES[@]}"
    for name in "${ORDER[@]}"; do
        run "$name"
        line=$(awk -v n="$name" -v r="$r" -v q="$NREQ" -v m="$MAXREQ" -v w="$WALL" -v u="$USER" -v s="$SYS" -v k="$RESUMED" \
            'BEGIN {c = u + s; if (c <= 0) c = 0.005; printf "%s,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.0f,%.0f,%s", n, r, q, m, w, u, s, u + s, q / c, (w > 0 ? q / w : 0), k}')
        say "round $((r + 1)) $name: wall $WALL s, user $USER s, sys $SYS s"
        echo "$line" >>"$T/runs"
        [[ -z $OUTCSV ]] || echo "$line" >>"$OUTCSV"
    done
done

median_of() { # name column
    awk -F, -v n="$1" -v c="$2" '$1 == n {print $c}' "$T/runs" | median_min_max | cut -d" " -f1
}
echo "# $NREQ requests of real-sized flags, $MAXREQ in flight, no delay; medians of $ROUNDS runs$([[ $TLS -eq 0 ]] || echo "; HTTPS, a new connection per request")"
echo "# clients on CPU $CCPU (taskset), flagserver on CPU $SCPU; CPU = user + sys of the client (bash time: getrusage of children)"
echo "# clients: flags_<backend> -a --repeat $REPEAT -m $MAXREQ -s URL -d DIR -q"
echo "# saved under $DESTP ($(stat -f -c %T "$DESTP"))"
echo "# curl:    curl -s --parallel --parallel-max $MAXREQ -K config   ($NREQ 'url =' / 'output =' pairs)"
if [[ $TLS -eq 1 ]]; then
    echo "# --tls:   clients add --no-reuse --cacert C [--no-resume]; curl adds --parallel-immediate -H 'Connection: close' --cacert C [--no-sessionid]; :http = the same over HTTP"
    echo "# load:    $(cat /proc/loadavg)"
fi
printf '%-11s %8s %8s %8s %8s %14s %10s\n' client wall_s user_s sys_s cpu_s req_per_cpu_s req_per_s
for name in "${NAMES[@]}"; do
    printf '%-11s %8s %8s %8s %8s %14s %10s\n' "$name" "$(median_of "$name" 5)" "$(median_of "$name" 6)" \
        "$(median_of "$name" 7)" "$(median_of "$name" 8)" "$(median_of "$name" 9)" "$(median_of "$name" 10)"
done
# Each back end against curl (the issue's target for the fastest: at least
# 2.0x in requests per CPU-second on tmpfs; over HTTPS, 1.1x).
suffixes=('')
[[ $TLS -eq 0 ]] || suffixes+=(:no-resume)
for suffix in "${suffixes[@]}"; do
    for name in "${BACKENDS[@]}"; do
        awk -v n="$name$suffix" -v a="$(median_of "$name$suffix" 9)" -v b="$(median_of "curl$suffix" 9)" \
            -v c="$(median_of "$name$suffix" 10)" -v d="$(median_of "curl$suffix" 10)" \
            'BEGIN {printf "ratio %s/curl: %.2f in requests per CPU-second, %.2f in requests per second\n", n, a / b, c / d}'
    done
done
# What a handshake costs each client's CPU, full and resumed (see --help).
if [[ $TLS -eq 1 ]]; then
    for name in "${CLIENTS[@]}"; do
        awk -v n="$name" -v q="$NREQ" -v res="$(median_of "$name" 8)" -v full="$(median_of "$name:no-resume" 8)" \
            -v http="$(median_of "$name:http" 8)" -v k="$(median_of "$name" 11)" 'BEGIN {
            f = (full - http) / q
            if (k == "" || k <= 0) { printf "handshake %s: full %.0f us of CPU; resumed: unknown (no resumed handshakes counted)\n", n, f * 1e6; exit }
            r = (res - http - (q - k) * f) / k
            printf "handshake %s: full %.0f us, resumed %.0f us of client CPU (%.2fx; %d of %d connections resumed)\n", n, f * 1e6, r * 1e6, (f > 0 ? r / f : 0), k, q }'
    done
fi

if [[ $STRACE -eq 1 ]]; then
    traced=()
    for b in "${BACKENDS[@]}"; do [[ -z ${ONE_THREAD[$b]:-} ]] || traced+=("$b"); done
    for name in "${traced[@]}" curl; do
        rm -rf "$D/dl" "$D/curl"
        mkdir -p "$D/curl"
        if [[ $name == curl ]]; then
            cmd=(curl -s --noproxy '*' --parallel --parallel-max "$MAXREQ" -K "$T/curl.cfg")
        else
            cmd=("${BIN[$name]}" -a --repeat "$REPEAT" -m "$MAXREQ" -s "$BASE_URL" -d "$D/dl" -q)
        fi
        say "strace -c -f: $name"
        strace -c -f -o "$T/strace-$name" "${cmd[@]}" >/dev/null 2>"$T/err" ||
            say "warning: $name under strace exited non-zero: $(head -n 1 "$T/err")"
        calls=$(awk '$NF == "total" {print $4}' "$T/strace-$name")
        awk -v n="$name" -v c="$calls" -v q="$NREQ" 'BEGIN {printf "syscalls %s: %d calls, %.1f per request\n", n, c, c / q}'
        echo "top system calls of $name (calls):"
        # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall.
        awk 'NR > 2 && $NF != "total" && $1 !~ /^-/ && NF >= 5 {print $4, $NF}' "$T/strace-$name" |
            sort -rn | head -n 8 | awk -v q="$NREQ" '{printf "  %-18s %8d  %.2f/request\n", $2, $1, $1 / q}'
    done
fi

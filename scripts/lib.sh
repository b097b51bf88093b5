# shellcheck shell=bash
# Variables set here are used by the scripts that source this file.
# shellcheck disable=SC2034
# lib.sh — helpers shared by the driver scripts (bench.sh, sweep.sh, scale.sh,
# bench_ci.sh, trace_cost.sh, vs_curl.sh, vs_nginx.sh). Sourced, not run.
# Every caller sets PROG before sourcing.

# The repository root: the parent of this scripts/ folder.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$ROOT/scripts

# Nothing leaves 127.0.0.1: no proxy for the clients (libcurl reads these) or curl.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'

# die: a usage error (exit 2); fail: a step that failed (exit 1).
die() {
    echo "${PROG:-driver}: error: $*" >&2
    exit 2
}

fail() {
    echo "${PROG:-driver}: error: $*" >&2
    exit 1
}

# Progress goes to stderr, so stdout stays for the answer.
say() {
    printf '%s [%s] %s\n' "${PROG:-driver}" "$(date +%H:%M:%S)" "$*" >&2
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_seconds() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]]; }

# The back ends come from the build's one list: CMakeLists.txt writes
# BUILD/backends.txt, a name and a binary per line, the baseline first.
# use_backends BUILD [LIST] — sets BACKENDS (LIST, comma-separated, checked
# against the list; empty = all, in the list's order), ALL_BACKENDS and BIN
# (name -> absolute binary path). Scripts never name a back end themselves.
declare -A BIN=()
BACKENDS=() ALL_BACKENDS=()
use_backends() {
    local list=$1/backends.txt name bin b
    [[ -r $list ]] || fail "$list is missing (run 'make build', or pass --build DIR)"
    while IFS=$'\t' read -r name bin; do
        [[ -n $name ]] || continue
        [[ -x $bin ]] || fail "$bin is not built (run 'make build', or pass --build DIR)"
        ALL_BACKENDS+=("$name")
        BIN[$name]=$bin
    done <"$list"
    if [[ -z ${2:-} ]]; then
        BACKENDS=("${ALL_BACKENDS[@]}")
        return
    fi
    IFS=, read -r -a BACKENDS <<<"$2"
    [[ ${#BACKENDS[@]} -gt 0 ]] || die "--backends needs at least one back end"
    for b in "${BACKENDS[@]}"; do
        [[ -n ${BIN[$b]:-} ]] || die "unknown back end '$b' (${ALL_BACKENDS[*]})"
    done
}

# More file descriptors: thousands of sockets in flight need them.
raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited ]]; then
        ulimit -n 65536 2>/dev/null || true
    else
        ulimit -n "$hard" 2>/dev/null || true
    fi
}

# The workload's client arguments for n requests: 20 = the book's POP20 (no
# codes given), 194 = all (-a), fewer = the first n (-a -l n), more = the
# first n/k flags k times (-a -l n/k --repeat k, the smallest such k).
workload_args() {
    local n=$1 k
    if [[ $n -eq 20 ]]; then
        WORKLOAD_ARGS=()
    elif [[ $n -eq 194 ]]; then
        WORKLOAD_ARGS=(-a)
    elif [[ $n -lt 194 ]]; then
        WORKLOAD_ARGS=(-a -l "$n")
    elif [[ $n -gt 19400000 ]]; then
        die "at most 19400000 requests (194 flags x --repeat 100000), not $n"
    else
        for ((k = (n + 193) / 194; n % k != 0; k++)); do :; done
        if [[ $((n / k)) -eq 194 ]]; then
            WORKLOAD_ARGS=(-a --repeat "$k")
        else
            WORKLOAD_ARGS=(-a -l $((n / k)) --repeat "$k")
        fi
    fi
}

workload_name() {
    if [[ $1 -eq 20 ]]; then echo pop20; else echo "all$1"; fi
}

# Server lifecycle. start_server BUILD DIR ARGS... starts flagserver on a
# free port of 127.0.0.1, logging to DIR/server.log, and sets SERVER_PID,
# SERVER_PORT and BASE_URL. The caller's EXIT trap must call stop_server.
SERVER_PID=
start_server() {
    local build=$1 dir=$2
    shift 2
    local bin=$build/server/flagserver
    [[ -x $bin ]] || fail "$bin is not built (run 'make build', or pass --build DIR)"
    local portfile=$dir/server.port
    rm -f "$portfile"
    "$bin" -p 0 --port-file "$portfile" -q "$@" >>"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ -s $portfile ]]; then
            SERVER_PORT=$(tr -dc 0-9 <"$portfile")
            [[ -n $SERVER_PORT ]] && break
        fi
        kill -0 "$SERVER_PID" 2>/dev/null ||
            fail "flagserver exited at start (see $dir/server.log)"
        sleep 0.1
    done
    [[ -n ${SERVER_PORT:-} ]] || fail "flagserver did not write its port in 10 s (see $dir/server.log)"
    BASE_URL=http://127.0.0.1:$SERVER_PORT/flags
    # Wait until it answers, so the first timed run doesn't pay for start-up.
    for ((i = 0; i < 50; i++)); do
        curl -s --noproxy "*" -o /dev/null --max-time 2 "$BASE_URL/br/br.gif" && return 0
        sleep 0.1
    done
    fail "flagserver on port $SERVER_PORT does not answer (see $dir/server.log)"
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

# restart_server BUILD DIR ARGS... — a new server (say, another delay).
restart_server() {
    stop_server
    start_server "$@"
}

# Where the clients save their downloads. The file system, not the client,
# decides what saving thousands of files costs (ext4 here: 110-320 us of
# system time a file, varying with load; tmpfs: 12-17 us), so the default is
# tmpfs. dest_parent_default prints /dev/shm if it is a writable tmpfs, else
# $TMPDIR or /tmp.
dest_parent_default() {
    if [[ -d /dev/shm && -w /dev/shm ]] && [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
        echo /dev/shm
    else
        echo "${TMPDIR:-/tmp}"
    fi
}

# check_dest_parent DIR — DIR (from --dest-parent) must be a writable directory.
check_dest_parent() {
    [[ -d $1 && -w $1 ]] || die "--dest-parent '$1' is not a writable directory"
}

# A new results/<UTC timestamp>/ directory; results/latest points to it.
new_results_dir() {
    local base=$1 ts
    ts=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$base"
    local dir=$base/$ts n=1
    while ! mkdir "$dir" 2>/dev/null; do
        dir=$base/$ts-$n
        n=$((n + 1))
    done
    ln -sfn "$(basename "$dir")" "$base/latest"
    RESULTS_DIR=$dir
}

# The python interpreter for the report: Debian's own when present.
python() {
    if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 "$@"; else python3 "$@"; fi
}

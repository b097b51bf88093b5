# shellcheck shell=bash
# Variables set here are used by the scripts that source this file.
# shellcheck disable=SC2034
# lib.sh — the one set of shell helpers, shared by the driver scripts
# (scripts/*.sh) and the tests (tests/lib.sh adds the test-only ones on top).
# Sourced, not run. Every caller sets PROG before sourcing.

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

# need "$@" — in an option loop: the option in $1 has a value in $2.
need() { [[ $# -ge 2 && -n $2 ]] || die "option '$1' needs a value"; }

# parse_options SPEC "$@" — the option loop every driver shares, from a table
# rather than a case arm an option. SPEC lists, separated by white space,
# OPTION=VAR (the option takes a value: VAR gets it) and OPTION:VAR (a switch:
# VAR becomes 1). -h/--help runs the caller's usage and exits 0; an unknown
# word, or a value option without its value, is a usage error (exit 2).
parse_options() {
    local -a spec
    local word
    read -r -d '' -a spec <<<"$1" || true
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in -h | --help) usage; exit 0 ;; esac
        for word in "${spec[@]}"; do
            if [[ $word == "$1="* ]]; then
                need "$@"
                printf -v "${word#*=}" '%s' "$2"
                shift 2
                continue 2
            elif [[ $word == "$1:"* ]]; then
                printf -v "${word#*:}" 1
                shift
                continue 2
            fi
        done
        die "unknown option '$1' (try --help)"
    done
}

# csv_field FILE ROW COLUMN: a field of a CSV file by header name (row 1 =
# first data row). Fields used here never hold commas.
csv_field() {
    awk -F, -v row="$2" -v col="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        NR == row + 1 { print $c }' "$1"
}

# median_min_max — of the numbers on stdin, one a line: "MEDIAN MIN MAX".
median_min_max() {
    sort -g | awk '{a[NR] = $1}
        END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR]}'
}

# process_wall CMD... — run CMD; PROCESS_WALL_S: its whole process's wall
# time in seconds, measured from outside it. Returns CMD's exit status.
process_wall() {
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    "$@" || rc=$?
    t1=$EPOCHREALTIME
    PROCESS_WALL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    return "$rc"
}

# alternate ROUND ITEM... — ORDER: the items as given in even rounds and
# reversed in odd ones, so that neither side of a comparison always runs
# first (a machine warming up or tiring would otherwise favour one).
alternate() {
    local round=$1 i
    shift
    ORDER=("$@")
    if ((round % 2 == 1)); then
        ORDER=()
        for ((i = $#; i >= 1; i--)); do ORDER+=("${!i}"); done
    fi
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_seconds() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]]; }

# The back ends come from the build's one list: CMakeLists.txt writes
# BUILD/backends.txt, a name, a binary, a kind (one_thread, threads, loops:
# -j N event loops) and the book's script it stands for ("-": none) per
# line, the baseline first.
# use_backends BUILD [LIST] — sets BACKENDS (LIST, comma-separated, checked
# against the list; empty = all, in the list's order), ALL_BACKENDS, BIN
# (name -> absolute binary path), KIND (name -> its kind), ONE_THREAD (name
# -> 1 for the back ends that run every transfer on one thread) and BOOK
# (name -> the book's script, or "-"). Scripts never name a back end
# themselves.
declare -A BIN=() ONE_THREAD=() KIND=() BOOK=()
BACKENDS=() ALL_BACKENDS=()
use_backends() {
    local list=$1/backends.txt name bin threads book b
    [[ -r $list ]] || fail "$list is missing (run 'make build', or pass --build DIR)"
    while IFS=$'\t' read -r name bin threads book; do
        KIND[$name]=$threads
        [[ -n $name ]] || continue
        ALL_BACKENDS+=("$name")
        BIN[$name]=$bin
        [[ $threads != one_thread ]] || ONE_THREAD[$name]=1
        BOOK[$name]=${book:--}
    done <"$list"
    if [[ -z ${2:-} ]]; then
        BACKENDS=("${ALL_BACKENDS[@]}")
    else
        IFS=, read -r -a BACKENDS <<<"$2"
        [[ ${#BACKENDS[@]} -gt 0 ]] || die "--backends needs at least one back end"
        for b in "${BACKENDS[@]}"; do
            [[ -n ${BIN[$b]:-} ]] || die "unknown back end '$b' (${ALL_BACKENDS[*]})"
        done
    fi
    # Only the back ends asked for need to be built (a history build makes
    # just those).
    for b in "${BACKENDS[@]}"; do
        [[ -x ${BIN[$b]} ]] || fail "${BIN[$b]} is not built (run 'make build', or pass --build DIR)"
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

# use_workloads LIST — WORKLOADS: the request counts of --flags LIST
# (comma-separated), each checked by making its client arguments.
use_workloads() {
    local n
    IFS=, read -r -a WORKLOADS <<<"$1"
    [[ ${#WORKLOADS[@]} -gt 0 ]] || die "--flags needs at least one workload"
    for n in "${WORKLOADS[@]}"; do
        { is_uint "$n" && [[ $n -ge 1 ]]; } || die "--flags needs request counts like 20,194, not '$1'"
        workload_args "$n"
    done
}

workload_name() {
    if [[ $1 -eq 20 ]]; then echo pop20; else echo "all$1"; fi
}

# use_build DIR — the CMake build directory: BUILD becomes its absolute path
# and FLAGSERVER the server in it.
use_build() {
    [[ -d $1 ]] || die "build directory '$1' does not exist (run 'make build')"
    BUILD=$(cd "$1" && pwd)
    FLAGSERVER=$BUILD/server/flagserver
}

# Server lifecycle: one contract for scripts and tests.
# start_server DIR ARGS... starts $FLAGSERVER (use_build sets it; tests set it
# themselves) on a free port of $SERVER_ADDR with ARGS, logging to
# DIR/server.log, and sets SERVER_PID, SERVER_PORT, SERVER_URL (its root) and
# BASE_URL (SERVER_URL/flags, the clients' --server). The caller's EXIT trap
# must call stop_server (make_scratch's does).
# The server encodes its 194 GIFs before it listens, which takes seconds
# under sanitizers or on a busy machine: wait as long as it lives, up to
# FLAGBENCH_START_TIMEOUT seconds (default 300), never a fixed number of polls.
# SERVER_ADDR (default 127.0.0.1) is the address it binds, and SERVER_PREFIX
# an array of words the server and the first request run under (a test puts
# `ip netns exec NS` there).
# SERVER_TLS=1: the server speaks HTTPS with a certificate it makes for the
# address (--tls --cert-out DIR/server.crt); SERVER_URL and BASE_URL are
# https://, SERVER_CACERT names that certificate, and CACERT_ARGS holds
# (--cacert FILE), for the clients and curl to trust it ((), over HTTP). The
# certificate goes into WORK (make_scratch) when set, else DIR.
SERVER_PID='' SERVER_STATUS='' SERVER_LOG=''
SERVER_ADDR=127.0.0.1
SERVER_PREFIX=()
SERVER_TLS=${SERVER_TLS:-0} SERVER_CACERT=''
CACERT_ARGS=()
start_server() {
    local dir=$1
    shift
    [[ -x ${FLAGSERVER:-} ]] || fail "${FLAGSERVER:-flagserver} is not built (run 'make build', or pass --build DIR)"
    local portfile=$dir/server.port scheme=http
    local -a tls=()
    rm -f "$portfile"
    SERVER_PORT='' SERVER_LOG=$dir/server.log SERVER_CACERT='' CACERT_ARGS=()
    if [[ $SERVER_TLS == 1 ]]; then
        # In the scratch folder when there is one: a certificate never
        # lands in results/ (the repository's).
        scheme=https SERVER_CACERT=${WORK:-$dir}/server.crt
        rm -f "$SERVER_CACERT"
        tls=(--tls --cert-out "$SERVER_CACERT")
        CACERT_ARGS=(--cacert "$SERVER_CACERT")
    fi
    "${SERVER_PREFIX[@]}" "$FLAGSERVER" -b "$SERVER_ADDR" -p 0 --port-file "$portfile" -q "${tls[@]}" "$@" \
        >>"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    local limit=${FLAGBENCH_START_TIMEOUT:-300} start=$SECONDS
    until [[ -s $portfile ]]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=
            tail -n 5 "$dir/server.log" >&2
            fail "flagserver $* exited at start (log: $dir/server.log)"
        fi
        ((SECONDS - start < limit)) ||
            fail "flagserver did not listen within $limit s (log: $dir/server.log)"
        sleep 0.05
    done
    # The port file is written atomically (rename) once the server listens.
    SERVER_PORT=$(tr -dc 0-9 <"$portfile")
    [[ -n $SERVER_PORT ]] || fail "flagserver wrote no port to $portfile"
    [[ $SERVER_TLS != 1 || -s $SERVER_CACERT ]] || fail "flagserver --tls wrote no certificate to $SERVER_CACERT"
    SERVER_URL=$scheme://$SERVER_ADDR:$SERVER_PORT
    BASE_URL=$SERVER_URL/flags
    # One request before anything is timed; /stats is never delayed, failed
    # by chaos or counted. SERVER_NO_PING=1: none (a server whose every
    # handshake fails, --tls-fault, would not answer it).
    [[ ${SERVER_NO_PING:-0} == 1 ]] || "${SERVER_PREFIX[@]}" curl -s "${CACERT_ARGS[@]}" -o /dev/null --max-time 60 "$SERVER_URL/stats" ||
        fail "flagserver on port $SERVER_PORT does not answer (log: $dir/server.log)"
}

# stop_server — SIGTERM, and wait; SERVER_STATUS is its exit status (0 when
# it stopped cleanly). Never fails, so it is safe in an EXIT trap.
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        SERVER_STATUS=0
        wait "$SERVER_PID" 2>/dev/null || SERVER_STATUS=$?
        SERVER_PID=
    fi
}

# set_server_aside — the server start_server started keeps running beside
# the next one (bench.sh's HTTPS server next to its HTTP one): it is no
# longer SERVER_PID, and stop_aside_servers (or the scratch folder's
# cleanup) stops it.
SERVER_ASIDE=()
set_server_aside() {
    SERVER_ASIDE+=("$SERVER_PID")
    SERVER_PID=
}

stop_aside_servers() {
    local pid
    for pid in "${SERVER_ASIDE[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_ASIDE=()
}

# restart_server DIR ARGS... — a new server (say, another delay).
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

# use_dest_parent [DIR] — DESTP: DIR (from --dest-parent) or the default
# above, checked.
use_dest_parent() {
    DESTP=${1:-$(dest_parent_default)}
    check_dest_parent "$DESTP"
}

# make_scratch NAME [downloads] — WORK, a scratch folder under $TMPDIR, and
# with "downloads" DL, where the clients save, under DESTP (use_dest_parent
# first). On exit the server stops and both go; INT and TERM exit 130.
make_scratch() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/flagbench-$1.XXXXXX")
    DL=
    trap scratch_cleanup EXIT
    trap 'exit 130' INT TERM
    if [[ ${2:-} == downloads ]]; then
        DL=$(mktemp -d "$DESTP/flagbench-$1-dl.XXXXXX")
    fi
}

# On a failure the server's last words (a sanitizer's report, say) are shown.
scratch_cleanup() {
    local rc=$?
    stop_server
    stop_aside_servers
    if ((rc != 0)) && [[ -s ${SERVER_LOG:-} ]]; then
        echo "$PROG: flagserver's log ($SERVER_LOG) ends:" >&2
        tail -n 20 "$SERVER_LOG" >&2
    fi
    rm -rf "$WORK" ${DL:+"$DL"}
}

# check_cpus OPTION CPU... — pinning with taskset: each CPU (given by
# OPTION, e.g. --client-cpu 1) is a number below nproc.
check_cpus() {
    command -v taskset >/dev/null || die "taskset is missing (util-linux)"
    local ncpu
    ncpu=$(nproc)
    while [[ $# -ge 2 ]]; do
        is_uint "$2" || die "$1 needs a CPU number, not '$2'"
        (($2 < ncpu)) || die "$1 $2: this machine has CPUs 0-$((ncpu - 1))"
        shift 2
    done
}

# new_results_dir BASE [SUFFIX] — a new BASE/<UTC timestamp>[-SUFFIX]/ in
# RESULTS_DIR; BASE/latest points to it.
new_results_dir() {
    local base=$1 ts
    ts=$(date -u +%Y%m%dT%H%M%SZ)${2:+-$2}
    { mkdir -p "$base" 2>/dev/null && [[ -w $base ]]; } || fail "can't write results to '$base'"
    local dir=$base/$ts n=1
    while ! mkdir "$dir" 2>/dev/null; do
        ((n < 100)) || fail "can't make a run folder in '$base'"
        dir=$base/$ts-$n
        n=$((n + 1))
    done
    ln -sfn "$(basename "$dir")" "$base/latest"
    RESULTS_DIR=$dir
}

# record_env start|end FILE — where the run ran and how busy the machine was
# over it (scripts/record_env.py, env.json): start before the first timed
# run, end after the last (and after stop_server, whose CPU is ours).
record_env() {
    python "$SCRIPTS/record_env.py" "$1" "$2" --pid $$ ${BUILD:+--build "$BUILD"} \
        ${DESTP:+--dest-parent "$DESTP"} || fail "can't record the environment in $2"
}

# The python interpreter for the report: Debian's own when present.
python() {
    if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 "$@"; else python3 "$@"; fi
}

# shellcheck shell=bash
# Helpers for the end-to-end tests: a real flagserver on 127.0.0.1.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start_server FLAGSERVER [ARGS...]: starts it on a free port; sets
# SERVER_PID, PORT and BASE (the clients' --server URL).
start_server() {
    local bin=$1
    shift
    local portfile
    portfile=$(mktemp -u "${WORK:-/tmp}/port.XXXXXX")
    "$bin" -b 127.0.0.1 -p 0 --port-file "$portfile" -q "$@" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        [[ -s $portfile ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "flagserver exited at start"
        sleep 0.05
    done
    [[ -s $portfile ]] || fail "flagserver did not write its port file"
    PORT=$(cat "$portfile")
    # shellcheck disable=SC2034 # used by the scripts that source this
    BASE="http://127.0.0.1:$PORT/flags"
}

stop_server() {
    if [[ -n ${SERVER_PID:-} ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

# A scratch directory removed on exit, with the server stopped.
setup_work() {
    WORK=$(mktemp -d /tmp/flagbench-e2e.XXXXXX)
    trap 'stop_server; rm -rf "$WORK"' EXIT
}

# csv_field FILE ROW COLUMN: a field of a CSV file by header name (row 1 =
# first data row). Fields used here never hold commas.
csv_field() {
    awk -F, -v row="$2" -v col="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        NR == row + 1 { print $c }' "$1"
}

# count_files DIR: entries in DIR, hidden ones too.
count_files() {
    find "$1" -mindepth 1 | wc -l
}

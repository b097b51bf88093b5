# shellcheck shell=bash
# Variables set here are used by bench.sh, which sources this file.
# shellcheck disable=SC2034
# peers.sh — the clients people use instead of flagbench's, timed on the same
# flagserver, flags, delay and requests in flight as the back ends
# (bench.sh --peers; make bench-peers). Sourced by bench.sh after lib.sh.
#
# The peers: the Python clients in peers/ (the book's three shapes, with httpx,
# and the asyncio one again with aiohttp), and the tools a user would pick:
# curl --parallel with a config file, aria2c -j with an input file, wget2
# --max-threads with a URL list. Each gets the same URLs in the same order as
# the C clients (peers/flagpeer.py prints them from the one list of codes).
#
# Before anything is timed, each peer runs once under GNU time (wall, CPU, peak
# RSS) into an empty folder, and its files are compared byte for byte with
# those of a C client's run on the same server: a peer that did not download
# every flag, or left anything else behind, is recorded as failed and not
# timed. Every row goes to OUT/peers.csv (see results/README.md). Over HTTPS
# (bench.sh --tls) each peer verifies flagserver's certificate: curl --cacert,
# aria2c and wget2 --ca-certificate, the Python clients --cacert (an
# ssl.SSLContext given to httpx's verify= and aiohttp's connector).

PEERS_DIR=$ROOT/peers
PEER_LABELS=(py-serial py-executor py-asyncio py-aiohttp curl aria2c wget2)
# curl's --parallel-max takes at most 300.
PEER_CURL_MAX=300

# peer_kind LABEL — python (the book's shapes) or tool.
peer_kind() { if [[ $1 == py-* ]]; then echo python; else echo tool; fi; }

# peer_model LABEL — how the peer overlaps its requests, in words.
peer_model() {
    case $1 in
    py-serial) echo "one at a time, httpx" ;;
    py-executor) echo "ThreadPoolExecutor, httpx" ;;
    py-asyncio) echo "asyncio, httpx" ;;
    py-aiohttp) echo "asyncio, aiohttp" ;;
    curl) echo "curl --parallel (libcurl multi)" ;;
    aria2c) echo "aria2c -j (event loop)" ;;
    wget2) echo "wget2 --max-threads (threads)" ;;
    esac
}

# peer_missing LABEL — what the peer needs and is not installed (empty: all there).
peer_missing() {
    case $1 in
    py-aiohttp) /usr/bin/python3 -c 'import aiohttp' 2>/dev/null || echo "python3-aiohttp" ;;
    py-*) /usr/bin/python3 -c 'import httpx' 2>/dev/null || echo "python3-httpx" ;;
    aria2c) command -v aria2c >/dev/null || echo aria2 ;;
    *) command -v "$1" >/dev/null || echo "$1" ;;
    esac
}

# peer_version LABEL — the version that ran, for the table's notes.
peer_version() {
    case $1 in
    py-aiohttp) /usr/bin/python3 -c 'import sys, aiohttp; print(f"Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}")' 2>/dev/null ;;
    py-*) /usr/bin/python3 -c 'import sys, httpx; print(f"Python {sys.version.split()[0]}, httpx {httpx.__version__}")' 2>/dev/null ;;
    curl) curl --version | awk 'NR == 1 {print $1, $2}' ;;
    aria2c) aria2c --version | awk 'NR == 1 {print $1, $3}' ;;
    wget2) wget2 --version | awk 'NR == 1 {print "wget2", $3}' ;;
    esac
}

# peer_start LABEL — sets START_WALL and START_CPU: one run under GNU time of
# the peer doing nothing (--help for the Python clients, which import their
# HTTP library first; --version for the tools): the floor of every run.
peer_start() {
    local cmd
    case $1 in
    py-*) cmd=("$PEERS_DIR/flags_${1/-/_}.py" --help) ;;
    *) cmd=("$1" --version) ;;
    esac
    START_WALL='' START_CPU=''
    /usr/bin/time -f '%e %U %S' -o "$WORK_TIME" "${cmd[@]}" >/dev/null 2>&1 || return 0
    read -r START_WALL START_CPU < <(awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$WORK_TIME")
}

# peers_check_setup — GNU time measures the check runs; without it, stop
# early. The reference files come from the last back end of the list
# (use_backends first), run at the peers' -m.
peers_check_setup() {
    REFERENCE_BIN=${BIN[${BACKENDS[-1]}]}
    [[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is not installed (make deps; Debian package 'time')"
    [[ -x /usr/bin/python3 ]] || die "python3 is not installed (make deps)"
    local label miss=()
    for label in "${PEER_LABELS[@]}"; do
        [[ -z $(peer_missing "$label") ]] || miss+=("$label")
    done
    [[ ${#miss[@]} -eq 0 ]] ||
        say "warning: not installed, reported as failed: ${miss[*]} (make bench-peers installs them)"
}

# peer_command LABEL M URL DEST LISTS — sets CMD (an array) for one run.
# LISTS is the prefix of the workload's input files (.curl, .aria2, .urls).
peer_command() {
    local label=$1 m=$2 url=$3 dest=$4 lists=$5
    # Over HTTPS (start_server's CACERT_ARGS) every peer verifies the
    # server's certificate against the one flagserver made.
    local -a ca=()
    case $label in
    py-* | curl) ca=("${CACERT_ARGS[@]}") ;;
    *) [[ -z $SERVER_CACERT ]] || ca=(--ca-certificate="$SERVER_CACERT") ;;
    esac
    case $label in
    py-*)
        CMD=("$PEERS_DIR/flags_${label/-/_}.py" "${WORKLOAD_ARGS[@]}" -m "$m" -s "$url" -d "$dest" -q "${ca[@]}") ;;
    curl)
        CMD=(curl --no-progress-meter --fail --create-dirs --noproxy '*' --parallel --parallel-immediate
            --parallel-max "$m" "${ca[@]}" -K "$lists.curl") ;;
    aria2c)
        CMD=(aria2c --no-conf -q -j "$m" -i "$lists.aria2" -d "$dest" --allow-overwrite=true
            --auto-file-renaming=false "${ca[@]}") ;;
    wget2)
        CMD=(wget2 -q --no-proxy --max-threads "$m" -i "$lists.urls" -P "$dest" "${ca[@]}") ;;
    esac
}

# peers_add WL N M DL OUT — for the workload WL of N requests with M in
# flight on $BASE_URL (WORKLOAD_ARGS set): write the tools' input files,
# download the reference with REFERENCE_BIN, run and check every peer once,
# append its row to OUT/peers.csv, and add every peer that passed to bench.sh's
# timed set (timed_add, with bench.sh's budget for its ceil(N/m) x delay) with
# a TIMED_PREPARE that empties its folder before each timed run, so a rerun
# writes what a first run does.
peers_add() {
    local wl=$1 n=$2 m=$3 dl=$4 out=$5
    local lists=$dl/peers-$wl ref=$dl/peers-$wl-reference csv=$out/peers.csv
    local label pm dest status reason wall user sys rss rc limit est
    WORK_TIME=$dl/peers-$wl.start
    [[ -s $csv ]] || echo "workload,requests,peer,kind,model,version,max_req,status,reason,check_wall_s,check_user_s,check_sys_s,check_max_rss_kib,start_wall_s,start_cpu_s,command" >"$csv"

    # The downloads, once: URL<TAB>file name per line, as the C clients order them.
    /usr/bin/python3 "$PEERS_DIR/flagpeer.py" "${WORKLOAD_ARGS[@]}" -s "$BASE_URL" >"$lists.plan" ||
        fail "peers/flagpeer.py could not list the downloads of $wl"
    [[ $(wc -l <"$lists.plan") -eq $n ]] || fail "peers/flagpeer.py listed $(wc -l <"$lists.plan") downloads for $wl, not $n"
    awk -F'\t' -v d="$dl/peer-curl" '{printf "url = \"%s\"\noutput = \"%s/%s\"\n", $1, d, $2}' "$lists.plan" >"$lists.curl"
    awk -F'\t' '{printf "%s\n  out=%s\n", $1, $2}' "$lists.plan" >"$lists.aria2"
    cut -f1 "$lists.plan" >"$lists.urls"

    # The reference: what a C client saves from the same server.
    say "peers on $wl: the reference download ($(basename "$REFERENCE_BIN") -m $m)"
    rm -rf "$ref"
    "$REFERENCE_BIN" "${WORKLOAD_ARGS[@]}" -m "$m" -s "$BASE_URL" "${CACERT_ARGS[@]}" -d "$ref" -q ||
        fail "the reference download for the peers failed on $wl (exit status $?)"
    [[ $(find "$ref" -type f | wc -l) -eq $n ]] || fail "the reference download for the peers has not $n files"

    # A run takes ceil(n/m) x delay at least; a check run that takes 10 times
    # that and a minute more is stuck.
    limit=$(awk -v n="$n" -v m="$m" -v d="$DELAY" 'BEGIN { printf "%.0f", 60 + 10 * int((n + m - 1) / m) * d }')
    for label in "${PEER_LABELS[@]}"; do
        pm=$m
        [[ $label != py-serial ]] || pm=1
        [[ $label != curl ]] || ((pm <= PEER_CURL_MAX)) || pm=$PEER_CURL_MAX
        dest=$dl/peer-$label
        rm -rf "$dest"
        mkdir -p "$dest"
        peer_command "$label" "$pm" "$BASE_URL" "$dest" "$lists"
        status=ok reason='' wall='' user='' sys='' rss=''
        if [[ -n $(peer_missing "$label") ]]; then
            status=failed reason="not installed: $(peer_missing "$label")"
        elif [[ $label == wget2 ]] && grep -q -- '-[0-9]*\.gif$' "$lists.plan"; then
            # --repeat saves cc-1.gif...; wget2 names files after the URL only.
            status=failed reason="wget2 can't name repeated downloads (--repeat)"
        else
            say "peers on $wl: check run of $label (-m $pm)"
            rc=0
            timeout --kill-after=5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$lists.time" \
                "${CMD[@]}" >"$lists.out" 2>&1 || rc=$?
            if [[ $rc -ne 0 ]]; then
                status=failed reason="exit status $rc: $(grep -v '^Command exited' "$lists.out" | head -n 1 | tr -d '\r' | cut -c1-120)"
                [[ $rc -ne 124 ]] || reason="no end after $limit s"
            elif ! diff -rq "$ref" "$dest" >"$lists.diff" 2>&1; then
                status=failed reason="files differ from the C client's: $(head -n 1 "$lists.diff" | cut -c1-120)"
            fi
            [[ $rc -ne 0 ]] || read -r wall user sys rss <"$lists.time"
        fi
        START_WALL='' START_CPU=''
        [[ $status != ok ]] || peer_start "$label"
        if [[ $status == ok ]]; then
            est=$(estimate "$n" "$pm")
            budget "$est"
            timed_add "$label" "$BUDGET_W" "$BUDGET_R" "${CMD[@]}"
            # shellcheck disable=SC2004  # TIMED_PREPARE is bench.sh's associative array
            TIMED_PREPARE[$label]="rm -rf $(printf '%q' "$dest")"
        else
            say "warning: peer $label failed on $wl, not timed: $reason"
        fi
        printf '%s,%s,%s,%s,"%s","%s",%s,%s,"%s",%s,%s,%s,%s,%s,%s,"%s"\n' "$wl" "$n" "$label" \
            "$(peer_kind "$label")" "$(peer_model "$label")" "$(peer_version "$label")" "$pm" "$status" \
            "${reason//\"/\'}" "$wall" "$user" "$sys" "$rss" "$START_WALL" "$START_CPU" "$(printf '%s ' "${CMD[@]}" | sed 's/ $//; s/"/'\''/g')" >>"$csv"
    done
}

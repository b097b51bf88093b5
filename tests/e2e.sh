#!/usr/bin/env bash
# The end-to-end list every back end runs: e2e.sh CLIENT FLAGSERVER CASE.
# A real flagserver on 127.0.0.1 and the real client binary.
set -euo pipefail
client=$1 FLAGSERVER=$2 case=$3
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
setup_work
dest=$WORK/dest

run_client() { # run_client ARGS...: sets RC, output in $WORK/out, $WORK/err
    set +e
    "$client" -s "$BASE_URL" -d "$dest" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    set -e
}

case $case in
pop20_identical)
    # The 20 POP20 flags saved byte-identical to what the server serves.
    start_server "$WORK"
    run_client
    [[ $RC -eq 0 ]] || fail "exit $RC: $(cat "$WORK/err")"
    grep -q '^ 20 flags downloaded\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    grep -q '^Elapsed time: [0-9.]*s$' "$WORK/out" || fail "no elapsed time"
    [[ $(count_files "$dest") -eq 20 ]] || fail "expected 20 files: $(ls -A "$dest")"
    for cc in CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR; do
        lc=${cc,,}
        curl -sf "$BASE_URL/$lc/$lc.gif" -o "$WORK/ref.gif" || fail "curl $cc"
        cmp -s "$WORK/ref.gif" "$dest/$lc.gif" || fail "$lc.gif differs from the server's"
    done
    ;;
every40_counts)
    # AA..BN: 21 codes the server has, 19 it hasn't.
    start_server "$WORK"
    run_client -e -l 40 --summary "$WORK/s.csv"
    [[ $RC -eq 0 ]] || fail "exit $RC"
    grep -q '^ 21 flags downloaded\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    grep -q '^ 19 not found\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    [[ $(csv_field "$WORK/s.csv" 1 requests) -eq 40 ]] || fail "summary requests"
    [[ $(csv_field "$WORK/s.csv" 1 ok) -eq 21 ]] || fail "summary ok"
    [[ $(csv_field "$WORK/s.csv" 1 not_found) -eq 19 ]] || fail "summary not_found"
    [[ $(count_files "$dest") -eq 21 ]] || fail "expected 21 files"
    ;;
errors_leave_nothing)
    # Every flag a 418: all errors, exit 1, nothing in the destination.
    start_server "$WORK" --error-rate 1
    run_client -a -l 30 -v
    [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
    grep -q '^ 30 errors\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    grep -q 'error: HTTP 418' "$WORK/err" || fail "no per-flag reason: $(head -3 "$WORK/err")"
    [[ $(count_files "$dest") -eq 0 ]] || fail "destination not empty: $(ls -A "$dest")"
    ;;
delay_lower_bound)
    # 20 flags, 0.05 s each, m at a time: never faster than ceil(20/m) * 0.05.
    start_server "$WORK" --delay 0.05
    run_client --summary "$WORK/s.csv"
    [[ $RC -eq 0 ]] || fail "exit $RC"
    m=$(csv_field "$WORK/s.csv" 1 max_req)
    wall=$(csv_field "$WORK/s.csv" 1 wall_s)
    awk -v w="$wall" -v m="$m" 'BEGIN { b = int((20 + m - 1) / m) * 0.05; exit !(w >= b) }' ||
        fail "wall $wall s with m=$m is below the delay's bound"
    ;;
ends_when_done)
    # No delay and every flag in flight at once: the flags can run out before
    # the last transfers start, and the run must end with its last flag, not
    # wait out a timeout. The gap from the last flag's end to the run's end
    # is measured by the run itself; a busy machine may stretch it once, a
    # stall stretches it every time.
    start_server "$WORK"
    stalls=0 gaps=
    for try in 1 2 3; do
        rm -rf "$dest"
        run_client -a -m 194 -q --summary "$WORK/s$try.csv" --trace "$WORK/t$try.csv"
        [[ $RC -eq 0 ]] || fail "exit $RC: $(cat "$WORK/err")"
        wall=$(csv_field "$WORK/s$try.csv" 1 wall_s)
        gap=$(awk -F, -v wall="$wall" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            { e = $c["saved_us"] > $c["done_us"] ? $c["saved_us"] : $c["done_us"]; if (e > last) last = e }
            END { printf "%.0f", wall * 1e3 - last / 1e3 }' "$WORK/t$try.csv")
        gaps+=" ${gap}"
        ((gap < 100)) || stalls=$((stalls + 1))
    done
    [[ $stalls -lt 3 ]] || fail "each run went on after its last flag (ms):$gaps"
    ;;
usage_errors)
    # No server needed: bad command lines exit 2 with one reason and the usage.
    BASE_URL=http://127.0.0.1:9/flags
    expect_usage_errors "-m 0" "-a -e" "--bogus" "-l x" "BRA" "--timeout -1" "--timeout 0.0004" "-s ftp://x" \
        "-s http://[::1"
    "$client" --help | grep -q -- '--max-req' || fail "--help lacks --max-req"
    "$client" --version | grep -q flagbench || fail "--version"
    ;;
dest_unwritable)
    # A destination that can't be made: exit 3 before any request.
    start_server "$WORK"
    touch "$WORK/file"
    dest=$WORK/file/sub
    run_client
    [[ $RC -eq 3 ]] || fail "exit $RC, expected 3"
    grep -q "destination '.*' is not a writable directory" "$WORK/err" || fail "$(cat "$WORK/err")"
    # So is a trace or summary that can't be written, found before the run.
    dest=$WORK/dest
    run_client --trace "$WORK/missing/t.csv"
    [[ $RC -eq 3 ]] || fail "--trace in a missing directory: exit $RC, expected 3"
    grep -q "can't write the trace to '.*missing/t.csv'" "$WORK/err" || fail "$(cat "$WORK/err")"
    run_client --summary "$WORK"
    [[ $RC -eq 3 ]] || fail "--summary naming a directory: exit $RC, expected 3"
    served=$(curl -s "$SERVER_URL/stats" | grep -o '"requests": *[0-9]*' | grep -o '[0-9]*$')
    [[ ${served:-0} -eq 0 ]] || fail "$served requests were made"
    ;;
metadata_names)
    # flags3 mode: files named after the country from metadata.json.
    start_server "$WORK"
    run_client --metadata BR NZ
    [[ $RC -eq 0 ]] || fail "exit $RC: $(cat "$WORK/err")"
    [[ -f $dest/Brazil.gif && -f $dest/New_Zealand.gif ]] || fail "files: $(ls -A "$dest")"
    curl -sf "$BASE_URL/br/br.gif" -o "$WORK/ref.gif"
    cmp -s "$WORK/ref.gif" "$dest/Brazil.gif" || fail "Brazil.gif differs"
    ;;
repeat_names)
    start_server "$WORK"
    run_client --repeat 3 BR AR --trace "$WORK/t.csv"
    [[ $RC -eq 0 ]] || fail "exit $RC"
    for f in br br-1 br-2 ar ar-1 ar-2; do
        [[ -f $dest/$f.gif ]] || fail "no $f.gif: $(ls -A "$dest")"
    done
    [[ $(count_files "$dest") -eq 6 ]] || fail "extra files: $(ls -A "$dest")"
    [[ $(wc -l <"$WORK/t.csv") -eq 7 ]] || fail "trace rows"
    ;;
csv_outputs)
    start_server "$WORK"
    run_client --trace "$WORK/t.csv" --summary "$WORK/s.csv"
    [[ $RC -eq 0 ]] || fail "first run: exit $RC: $(cat "$WORK/err")"
    run_client -q --summary "$WORK/s.csv"
    [[ $RC -eq 0 ]] || fail "-q run: exit $RC: $(cat "$WORK/err")"
    [[ ! -s $WORK/out ]] || fail "-q printed: $(cat "$WORK/out")"
    head -1 "$WORK/t.csv" | grep -q '^backend,code,repeat,outcome,http_status,bytes,thread,' ||
        fail "trace header"
    [[ $(wc -l <"$WORK/t.csv") -eq 21 ]] || fail "trace rows"
    [[ $(grep -c '^backend,' "$WORK/s.csv") -eq 1 ]] || fail "summary headers"
    [[ $(wc -l <"$WORK/s.csv") -eq 3 ]] || fail "summary rows"
    # Every trace row is ordered: started <= first byte <= done <= saved.
    awk -F, 'NR > 1 && !($9 <= $11 && $11 <= $12 && $12 <= $13) { bad = 1 } END { exit bad }' \
        "$WORK/t.csv" || fail "timestamps out of order"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "ok: $case"

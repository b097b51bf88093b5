#!/usr/bin/env bash
# peers_test.sh FLAGSERVER CASE ARG (tests/peers.cmake), on a real flagserver:
#   CASE in not_found usage_errors repeat_names, ARG = a Python client of
#        peers/: it keeps the C clients' contract; CASE = e2e:NAME runs the
#        C clients' own end-to-end case NAME (tests/e2e.sh) on it;
#   CASE = codes: peers/flagpeer.py's -a is the flagserver's list;
#   CASE = bench, ARG = the build: bench.sh --peers checks, times and reports
#        the peers, and a peer whose files are wrong is failed, not timed;
#   CASE = tls, ARG = a Python client: over HTTPS it verifies flagserver's
#        certificate (--cacert) and refuses it without;
#   CASE = bench_tls, ARG = the build: bench.sh --tls --peers passes every
#        installed peer over HTTPS, verifying; bench.sh --tls-compare reports
#        HTTP and HTTPS side by side.
set -euo pipefail
FLAGSERVER=$1 case=$2 arg=$3
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
setup_work
dest=$WORK/dest

if [[ $case != bench* && $case != codes ]]; then
    client=$arg
    lib=httpx
    [[ $client != *aiohttp* ]] || lib=aiohttp
    /usr/bin/python3 -c "import $lib" 2>/dev/null || skip "python3-$lib is not installed (make deps)"
    [[ $case != e2e:* ]] || exec "$(dirname "$0")/e2e.sh" "$client" "$FLAGSERVER" "${case#e2e:}"
fi

run_client() { # run_client ARGS...: sets RC, output in $WORK/out, $WORK/err
    set +e
    "$client" -s "$BASE_URL" -d "$dest" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    set -e
}

served() { curl -s "$SERVER_URL/stats" | grep -o '"requests": *[0-9]*' | grep -o '[0-9]*$'; }

case $case in
not_found)
    # A code the server hasn't is not an error (the book's rule): exit 0.
    start_server "$WORK"
    run_client -v BR ZZ
    [[ $RC -eq 0 ]] || fail "exit $RC: $(cat "$WORK/err")"
    grep -q '^  1 flag downloaded\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    grep -q '^  1 not found\.$' "$WORK/out" || fail "report: $(cat "$WORK/out")"
    grep -q '^ZZ not found$' "$WORK/err" || fail "-v: $(cat "$WORK/err")"
    [[ $(ls -A "$dest") == br.gif ]] || fail "files: $(ls -A "$dest")"
    ;;
usage_errors)
    # Bad command lines exit 2 with one reason; an unwritable destination
    # exits 3 before any request.
    start_server "$WORK"
    expect_usage_errors "-m 0" "--bogus" "-l x" "BRA" "-a BR" "--timeout -1" "-s ftp://x" \
        "--repeat 0"
    "$client" --help | grep -q -- '--max-req' || fail "--help lacks --max-req"
    touch "$WORK/file"
    dest=$WORK/file/sub
    run_client
    [[ $RC -eq 3 ]] || fail "unwritable destination: exit $RC, expected 3"
    [[ $(grep -c 'error: ' "$WORK/err") -eq 1 ]] || fail "$(cat "$WORK/err")"
    [[ $(served) -eq 0 ]] || fail "$(served) requests were made"
    ;;
repeat_names)
    start_server "$WORK"
    run_client --repeat 3 BR AR -q
    [[ $RC -eq 0 ]] || fail "exit $RC: $(cat "$WORK/err")"
    [[ ! -s $WORK/out ]] || fail "-q printed: $(cat "$WORK/out")"
    for f in br br-1 br-2 ar ar-1 ar-2; do
        [[ -f $dest/$f.gif ]] || fail "no $f.gif: $(ls -A "$dest")"
    done
    [[ $(count_files "$dest") -eq 6 ]] || fail "extra files: $(ls -A "$dest")"
    ;;
tls)
    SERVER_TLS=1 start_server "$WORK"
    run_client "${CACERT_ARGS[@]}" -l 5
    [[ $RC -eq 0 ]] || fail "exit $RC: $(tail -3 "$WORK/err")"
    for f in "$dest"/*.gif; do
        cc=$(basename "$f" .gif)
        curl -sf "${CACERT_ARGS[@]}" "$BASE_URL/$cc/$cc.gif" -o "$WORK/ref.gif" || fail "curl $cc"
        cmp -s "$WORK/ref.gif" "$f" || fail "$cc.gif differs from the server's"
    done
    [[ $(count_files "$dest") -eq 5 ]] || fail "files: $(ls -A "$dest")"
    rm -rf "$dest"
    run_client -v -l 2
    [[ $RC -eq 1 ]] || fail "without --cacert: exit $RC, expected 1"
    [[ $(grep -c 'error: .*CERTIFICATE_VERIFY_FAILED\|certificate verify failed' "$WORK/err") -eq 2 ]] ||
        fail "without --cacert: $(tail -3 "$WORK/err")"
    [[ ! -e $dest || $(count_files "$dest") -eq 0 ]] || fail "left: $(ls -A "$dest")"
    ;;
bench_tls)
    build=$arg
    for tool in hyperfine gnuplot /usr/bin/time; do
        command -v "$tool" >/dev/null || skip "$tool is not installed (make deps)"
    done
    rc=0
    "$ROOT/scripts/bench.sh" --build "$build" --delay 0.01 --flags 5 --runs 1 --tls --peers \
        --results "$WORK/results" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 0 ]] || fail "bench.sh --tls --peers exited $rc: $(tail -5 "$WORK/err")"
    run=$WORK/results/latest
    for p in py-serial py-executor py-asyncio py-aiohttp curl aria2c wget2; do
        grep -qE "^all5,5,$p,.*,(ok,|failed,\"not installed)" "$run/peers.csv" ||
            fail "$p over HTTPS: $(grep ",$p," "$run/peers.csv")"
    done
    grep -q -- '--cacert\|--ca-certificate' "$run/peers.csv" || fail "no peer verified the certificate"
    if grep -rl 'BEGIN CERTIFICATE' "$run" | grep -q .; then fail "a certificate was left in the results"; fi
    rc=0
    "$ROOT/scripts/bench.sh" --build "$build" --delay 0.01 --flags 5 --runs 2 --tls-compare \
        --results "$WORK/results" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 0 ]] || fail "bench.sh --tls-compare exited $rc: $(tail -5 "$WORK/err")"
    run=$WORK/results/latest
    grep -q '^## What TLS does to each model' "$run/report.md" || fail "no TLS section in report.md"
    grep -q 'HTTPS speedup' "$run/report.md" || fail "no HTTPS speedups: $(grep -A8 'What TLS' "$run/report.md")"
    grep -q 'in TLS handshakes' "$run/report.md" || fail "no handshake in the phase account"
    grep -qE "one thread was (not )?the bottleneck" "$run/report.md" || fail "no busy-thread sentence"
    ;;
codes)
    # peers/flagpeer.py's -a is the flagserver's 194 codes, in the same order.
    "$ROOT/peers/flagpeer.py" -a -s http://127.0.0.1:9/flags | cut -f2 | sed 's/\.gif$//' >"$WORK/peer"
    "$FLAGSERVER" --list-codes | tr '[:upper:]' '[:lower:]' >"$WORK/server"
    [[ $(wc -l <"$WORK/server") -eq 194 ]] || fail "flagserver --list-codes: $(wc -l <"$WORK/server") codes"
    diff "$WORK/server" "$WORK/peer" >"$WORK/diff" || fail "codes differ: $(head -3 "$WORK/diff")"
    ;;
bench)
    build=$arg
    for tool in hyperfine gnuplot /usr/bin/time; do
        command -v "$tool" >/dev/null || skip "$tool is not installed (make deps)"
    done
    # A wget2 that saves nothing and says all went well: the check must fail
    # it, and it must not be timed. The other peers are the real ones.
    mkdir -p "$WORK/bin"
    cat >"$WORK/bin/wget2" <<'FAKE'
#!/bin/sh
[ "$1" = --version ] && echo "GNU Wget2 0-fake"
exit 0
FAKE
    chmod +x "$WORK/bin/wget2"
    rc=0
    PATH=$WORK/bin:$PATH "$ROOT/scripts/bench.sh" --build "$build" --delay 0.01 --flags 5 --runs 2 \
        --peers --results "$WORK/results" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [[ $rc -eq 0 ]] || fail "bench.sh --peers exited $rc: $(tail -5 "$WORK/err")"
    run=$WORK/results/latest
    [[ -s $run/peers.csv ]] || fail "no peers.csv"
    [[ $(grep -c '^all5,' "$run/peers.csv") -eq 7 ]] || fail "peers.csv rows: $(cat "$run/peers.csv")"
    grep -q '^all5,5,wget2,tool,.*,failed,"files differ' "$run/peers.csv" ||
        fail "the fake wget2 was not failed: $(grep wget2 "$run/peers.csv")"
    grep -q 'peer wget2 failed on all5, not timed' "$WORK/err" || fail "no warning for wget2"
    for p in py-serial py-executor py-asyncio py-aiohttp curl aria2c; do
        if grep -q "^all5,5,$p,.*,ok," "$run/peers.csv"; then
            [[ -s $run/hyperfine-all5-$p.json ]] || fail "$p passed but was not timed"
        else
            # Only a peer that is not installed may fail here.
            grep -q "^all5,5,$p,.*,failed,\"not installed" "$run/peers.csv" ||
                fail "$p failed: $(grep ",$p," "$run/peers.csv")"
        fi
    done
    [[ ! -e $run/hyperfine-all5-wget2.json ]] || fail "the failed wget2 was timed"
    grep -q '^peers on all5: ' "$WORK/out" || fail "no peers table: $(cat "$WORK/out")"
    grep -q '^wget2 .* failed' "$WORK/out" || fail "the table doesn't list wget2 as failed"
    grep -q '^## The clients people use instead' "$run/report.md" || fail "no peers section in report.md"
    grep -q 'wget2 failed its check and was not timed: files differ' "$run/report.md" || fail "no sentence for wget2"
    [[ -s $run/peers-all5.png ]] || fail "no peers-all5.png"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "ok: $case"

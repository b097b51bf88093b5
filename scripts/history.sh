#!/usr/bin/env bash
# history.sh — bench-ci's figures across commits, and the commit a figure
# moved at; or, with --good and --bad, a bisection with the gate as the test.
set -euo pipefail
PROG=history
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/history.sh [--repo DIR] [--revs A..B] [--rounds K] [--history FILE]
                          [--results DIR] [common options]
       scripts/history.sh --good REV --bad REV [--repo DIR] [common options]
common options: [--cache DIR] [--backends LIST] [--only timed|instructions]
                [--dest-parent DIR] [--jobs N] [-h]

History (the first form): measures bench-ci's figures (scripts/bench_ci.sh
--help) at commit A and every commit after it on B's first-parent line, in
K rounds that visit every commit (in reverse order every other round, so a
machine getting busier hits all commits alike). It appends a row per commit
and figure to results/history.csv (the median of the rounds and their
range), draws a plot per figure across the commits and prints the verdict:
the first commit at which a figure moved beyond its noise (a change-point
test: Mann-Whitney over the rounds before and after each commit, and a step
larger than 4 x the rounds' spread within a commit and than the figure's
smallest step: scripts/flagreport/history.py), as a line naming the commit's
short hash, the figure, its value before and after, and the noise; or "no
change beyond noise". Writes results/<UTC timestamp>-history/: commits.tsv,
measured/, env.json, verdict.txt, history-<figure>-<backend>.{dat,png}.

Bisect (--good and --bad): measures GOOD's figures and makes them the
baseline (bench_ci.sh --update, with the gate's tolerances), then runs the
gate (bench_ci.sh, which measures a figure outside tolerance once more) on
commits between GOOD and BAD, halving the range like 'git bisect run'
(without touching the repository's checkout), and ends on the first bad
commit, with the gate's lines for it. When BAD passes, says so and names no
commit.

Every commit is built once into the cache: a git worktree of it
(CACHE/<commit>/src, registered in the repository's worktree list) and a
CMake build of flagserver and the back ends' clients (CACHE/<commit>/build);
a commit's result (built, or why not) is kept in CACHE/<commit>/status. The
figures are measured by this checkout's bench_ci.sh on each commit's binaries:
only the binaries differ. A commit that does not build, or whose binaries lack
an option bench_ci.sh gives them, is reported as skipped, and the rest go on.

options:
  --repo DIR       the git repository (default: this checkout)
  --revs A..B      the commits (default: the last 10 of main, or of HEAD
                   when there is no main)
  --rounds K       rounds of measurement (default 3)
  --good REV, --bad REV
                   bisect between these: GOOD passes, BAD is to be explained
  --cache DIR      the builds (default: build-history/ in this checkout)
  --history FILE   the history to append to (default: results/history.csv)
  --results DIR    where the run folder goes (default: results/)
  --backends LIST  only these back ends, the baseline first (bench_ci.sh
                   --backends; the default is every back end of each
                   commit's list)
  --only timed|instructions
                   only the timed figures, or only the callgrind ones
  --dest-parent DIR
                   where the clients save (bench_ci.sh --dest-parent)
  --jobs N         parallel compile jobs (default: the number of CPUs)
  -h, --help       show this help and exit

Exit status: 0 done (a change found or not; bisect: a first bad commit
named, or BAD passes), 1 a step failed (fewer than two commits measurable,
GOOD does not build or fails to measure), 2 usage error.
EOF
}

REPO=$ROOT REVS='' ROUNDS=3 GOOD='' BAD='' CACHE=$ROOT/build-history HISTORY=$ROOT/results/history.csv
RESULTS=$ROOT/results BACKEND_LIST='' ONLY='' DESTP='' JOBS=$(nproc 2>/dev/null || echo 2)
parse_options '--repo=REPO --revs=REVS --rounds=ROUNDS --good=GOOD --bad=BAD --cache=CACHE
    --history=HISTORY --results=RESULTS --backends=BACKEND_LIST --only=ONLY --dest-parent=DESTP
    --jobs=JOBS' "$@"
{ is_uint "$ROUNDS" && ((ROUNDS >= 1)); } || die "--rounds needs a whole number of rounds, not '$ROUNDS'"
{ is_uint "$JOBS" && ((JOBS >= 1)); } || die "--jobs needs a number, not '$JOBS'"
[[ -z $ONLY || $ONLY == timed || $ONLY == instructions ]] ||
    die "--only takes timed or instructions, not '$ONLY'"
[[ -z $GOOD && -z $BAD ]] || [[ -n $GOOD && -n $BAD ]] || die "--good and --bad go together"
[[ -z $GOOD || -z $REVS ]] || die "--revs is for the history; bisect takes --good and --bad"
[[ -z $DESTP ]] || check_dest_parent "$DESTP"
command -v git >/dev/null || die "git is not installed (make deps)"
command -v valgrind >/dev/null || die "valgrind is not installed (make deps)"
REPO=$(git -C "$REPO" rev-parse --show-toplevel 2>/dev/null) || die "--repo '$REPO' is not a git repository"
{ mkdir -p "$CACHE" 2>/dev/null && [[ -w $CACHE ]]; } || die "can't write the cache '$CACHE'"
CACHE=$(cd "$CACHE" && pwd)

# commit REV — the full hash of REV in the repository, or a usage error.
commit() {
    git -C "$REPO" rev-parse --verify -q "$1^{commit}" || die "'$1' is not a commit of $REPO"
}

# describe HASH — "short<TAB>date<TAB>subject" (the subject without tabs).
describe() {
    git -C "$REPO" log -1 --format='%h%x09%cI%x09%s' "$1" | tr -d '\r' | awk -F'\t' -v OFS='\t' \
        '{ s = $3; for (i = 4; i <= NF; i++) s = s " " $i; print $1, $2, s }'
}

# The options bench_ci.sh gives the clients and the server: a commit whose
# --help lacks one is skipped.
CLIENT_OPTIONS=(--all --limit --max-req --server --dest --quiet --summary)
SERVER_OPTIONS=(--bind --port --port-file --delay --quiet)

# lacks BINARY OPTION... — the first OPTION that BINARY's --help doesn't show.
lacks() {
    local bin=$1 help o
    shift
    help=$(timeout 30 "$bin" --help 2>&1) || true
    for o in "$@"; do
        grep -q -- "$o\b" <<<"$help" || { echo "$o"; return; }
    done
}

# ensure_built HASH — STATUS: "ok" with BUILT (the build directory), or why
# the commit can't be measured. The worktree and the build are made once; a
# build that was cut short (no status file) is made again.
ensure_built() {
    local h=$1 entry=$CACHE/$1 src=$CACHE/$1/src build=$CACHE/$1/build log=$CACHE/$1/build.log
    local -a targets=(flagserver)
    local name bin _ b missing
    local -a wanted
    BUILT=$build
    # A status without its build (removed by hand) is made again.
    [[ ! -f $entry/status || -f $build/CMakeCache.txt ]] || [[ $(<"$entry/status") != ok ]] ||
        rm -f "$entry/status"
    if [[ -f $entry/status ]]; then
        STATUS=$(<"$entry/status")
        [[ $STATUS == ok ]] || return 0
    else
        rm -rf "$build"
        mkdir -p "$entry"
        if [[ ! -f $src/CMakeLists.txt ]]; then
            rm -rf "$src"
            git -C "$REPO" worktree prune
            git -C "$REPO" worktree add -q --detach -f "$src" "$h" >"$log" 2>&1 ||
                fail "can't make a worktree of $h in $src (see $log)"
        fi
        if ! cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >>"$log" 2>&1; then
            echo "does not configure (cmake; see $log)" >"$entry/status"
        elif [[ ! -f $build/backends.txt ]]; then
            echo "has no list of back ends (build/backends.txt), which bench_ci.sh reads" >"$entry/status"
        else
            echo ok >"$entry/status"
        fi
        STATUS=$(<"$entry/status")
        [[ $STATUS == ok ]] || return 0
    fi
    # The targets: the server and the clients asked for (all by default);
    # building what is already built is quick, so later runs may ask for more.
    while IFS=$'\t' read -r name bin _; do
        [[ -n $name ]] || continue
        if [[ -z $BACKEND_LIST || ,$BACKEND_LIST, == *",$name,"* ]]; then targets+=("flags_$name"); fi
    done <"$build/backends.txt"
    if [[ -n $BACKEND_LIST ]]; then
        IFS=, read -r -a wanted <<<"$BACKEND_LIST"
        for b in "${wanted[@]}"; do
            [[ " ${targets[*]} " == *" flags_$b "* ]] || { STATUS="has no back end '$b'"; return 0; }
        done
    fi
    if ! cmake --build "$build" --target "${targets[@]}" -j "$JOBS" >>"$log" 2>&1; then
        echo "does not build ($(grep -m1 -E 'error|Error' "$log" | sed "s|$src/||" | cut -c1-100); see $log)" \
            >"$entry/status"
        STATUS=$(<"$entry/status")
        return 0
    fi
    # Every binary must take what bench_ci.sh gives it.
    missing=$(lacks "$build/server/flagserver" "${SERVER_OPTIONS[@]}")
    [[ -z $missing ]] || { STATUS="its flagserver lacks $missing, which bench_ci.sh needs"; return 0; }
    while IFS=$'\t' read -r name bin _; do
        [[ " ${targets[*]} " == *" flags_$name "* ]] || continue
        missing=$(lacks "$bin" "${CLIENT_OPTIONS[@]}")
        [[ -z $missing ]] || { STATUS="its flags_$name lacks $missing, which bench_ci.sh needs"; return 0; }
    done <"$build/backends.txt"
}

# build_all HASH... — every commit built (or its reason), with progress;
# STATUSES[hash] holds the outcome.
declare -A STATUSES=()
build_all() {
    local i=0 h
    for h in "$@"; do
        i=$((i + 1))
        say "build $i/$#: $(git -C "$REPO" log -1 --format='%h %s' "$h" | cut -c1-70)"
        ensure_built "$h"
        STATUSES[$h]=$STATUS
        [[ $STATUS == ok ]] || say "  skipped: $STATUS"
    done
}

# bench_ci ARGS... — this checkout's bench_ci.sh with the common options.
bench_ci() {
    "$SCRIPTS/bench_ci.sh" ${BACKEND_LIST:+--backends "$BACKEND_LIST"} ${ONLY:+--only "$ONLY"} \
        ${DESTP:+--dest-parent "$DESTP"} "$@"
}

# The lock: one history or bisect at a time builds into a cache.
exec {lock_fd}>"$CACHE/.lock"
if ! flock -n "$lock_fd"; then
    say "waiting for another history.sh using $CACHE"
    flock "$lock_fd"
fi

# ---------------------------------------------------------------- bisect

# gate HASH LOG — the gate on HASH's binaries against GOOD's figures:
# VERDICT good, bad, or skip (with REASON).
gate() {
    local h=$1 log=$2 rc=0
    ensure_built "$h"
    if [[ $STATUS != ok ]]; then
        VERDICT=skip REASON=$STATUS
        return
    fi
    bench_ci --build "$BUILT" --baseline "$WORK/baseline.csv" >"$log" 2>&1 || rc=$?
    if ((rc == 0)); then
        VERDICT=good
    elif ((rc == 1)) && grep -q '^bench-ci: regression:' "$log"; then
        VERDICT=bad
    else
        VERDICT=skip REASON="the gate could not measure it (exit $rc: $(grep -m1 'error:' "$log" | cut -c1-120))"
    fi
}

run_bisect() {
    local good bad
    good=$(commit "$GOOD")
    bad=$(commit "$BAD")
    git -C "$REPO" merge-base --is-ancestor "$good" "$bad" || die "--good $GOOD is not an ancestor of --bad $BAD"
    local -a list
    mapfile -t list < <(git -C "$REPO" rev-list --first-parent --reverse "$good..$bad")
    ((${#list[@]} >= 1)) || die "--good and --bad are the same commit"
    make_scratch bisect
    say "bisect: $(describe "$good" | cut -f1) (good) .. $(describe "$bad" | cut -f1) (bad): ${#list[@]} commits"
    ensure_built "$good"
    [[ $STATUS == ok ]] || fail "GOOD $GOOD can't be measured: $STATUS"
    say "measuring GOOD's figures as the baseline"
    local rc=0
    bench_ci --build "$BUILT" --update --baseline "$WORK/baseline.csv" >"$WORK/good.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        tail -n 5 "$WORK/good.log" >&2
        fail "measuring GOOD $GOOD failed (exit $rc)"
    fi
    # BAD first: when it passes there is nothing to find.
    local -A verdict=() reason=()
    local n=${#list[@]}
    local lo=-1 hi=$((n - 1)) steps=0
    say "gate on BAD $(describe "$bad" | cut -f1)"
    gate "$bad" "$WORK/gate-$bad.log"
    if [[ $VERDICT == good ]]; then
        echo "bench-bisect: no bad commit: BAD $(describe "$bad" | cut -f1) passes the gate against GOOD $(describe "$good" | cut -f1)'s figures"
        sed -n 's/^  /  /p' "$WORK/gate-$bad.log"
        return 0
    fi
    [[ $VERDICT == bad ]] || fail "BAD $BAD can't be measured: $REASON"
    verdict[$((n - 1))]=bad
    # Halve (lo: the last known good, GOOD being -1; hi: the first known
    # bad); a skipped commit gives way to the nearest untested one inside.
    local mid k d
    while ((hi - lo > 1)); do
        mid=-1
        for ((d = 0; d < hi - lo; d++)); do
            for k in $(((lo + hi) / 2 - d)) $(((lo + hi) / 2 + d)); do
                if ((k > lo && k < hi)) && [[ -z ${verdict[$k]:-} ]]; then mid=$k; break 2; fi
            done
        done
        ((mid >= 0)) || break
        steps=$((steps + 1))
        say "step $steps: gate on $(describe "${list[$mid]}" | cut -f1,3 | tr '\t' ' ' | cut -c1-70) ($((hi - lo - 1)) left to tell)"
        gate "${list[$mid]}" "$WORK/gate-${list[$mid]}.log"
        verdict[$mid]=$VERDICT
        case $VERDICT in
        good) lo=$mid ;;
        bad) hi=$mid ;;
        skip)
            reason[$mid]=$REASON
            say "  skipped: $REASON"
            ;;
        esac
        [[ $VERDICT == skip ]] || say "  $VERDICT"
    done
    local first=${list[$hi]} line
    for ((k = 0; k < n; k++)); do
        [[ ${verdict[$k]:-} != skip ]] ||
            echo "bench-bisect: skipped $(describe "${list[$k]}" | cut -f1): ${reason[$k]}"
    done
    if ((hi - lo > 1)); then
        line="one of $(for ((k = lo + 1; k <= hi; k++)); do describe "${list[$k]}" | cut -f1; done | paste -sd' ')"
        echo "bench-bisect: the first bad commit is $line (the ones before $(describe "$first" | cut -f1) were skipped)"
    else
        echo "bench-bisect: first bad commit: $(describe "$first" | cut -f1,3 | tr '\t' ' ') (after $steps steps)"
    fi
    grep '^bench-ci: regression:' "$WORK/gate-$first.log" | sed 's/^bench-ci: /  /'
}

# ---------------------------------------------------------------- history

# default_revs — the last 10 commits of main (or HEAD), fewer when the
# history is shorter.
default_revs() {
    local tip=main depth
    git -C "$REPO" rev-parse --verify -q 'main^{commit}' >/dev/null || tip=HEAD
    depth=$(git -C "$REPO" rev-list --first-parent --count "$tip")
    ((depth >= 2)) || die "$tip has a single commit: nothing to compare (pass --revs)"
    echo "$tip~$((depth < 10 ? depth - 1 : 9))..$tip"
}

run_history() {
    [[ -n $REVS ]] || REVS=$(default_revs)
    [[ $REVS == *..* && $REVS != *...* ]] || die "--revs takes A..B, not '$REVS'"
    local a b
    a=$(commit "${REVS%%..*}")
    b=$(commit "${REVS#*..}")
    git -C "$REPO" merge-base --is-ancestor "$a" "$b" || die "--revs: ${REVS%%..*} is not an ancestor of ${REVS#*..}"
    local -a list
    mapfile -t list < <(echo "$a"; git -C "$REPO" rev-list --first-parent --reverse "$a..$b")
    ((${#list[@]} >= 2)) || die "--revs $REVS holds a single commit: nothing to compare"
    make_scratch history
    say "history of ${#list[@]} commits ($REVS in $REPO)"
    build_all "${list[@]}"
    local -a ok=()
    local h
    for h in "${list[@]}"; do [[ ${STATUSES[$h]} != ok ]] || ok+=("$h"); done
    ((${#ok[@]} >= 2)) || fail "fewer than two commits can be measured"
    new_results_dir "$RESULTS" history
    local out=$RESULTS_DIR
    mkdir -p "$out/measured"
    say "measuring ${#ok[@]} commits in $ROUNDS rounds into $out"
    # The rounds: every commit once a round, the order reversed every other
    # round. A commit whose measurement fails is skipped from then on.
    local r i rc t0=$SECONDS nth=0 total=$((ROUNDS * ${#ok[@]}))
    BUILD=$CACHE/${ok[-1]}/build # whose compiler env.json names
    record_env start "$out/env.json"
    for ((r = 1; r <= ROUNDS; r++)); do
        alternate "$r" "${ok[@]}"
        i=0
        for h in "${ORDER[@]}"; do
            i=$((i + 1))
            [[ ${STATUSES[$h]} == ok ]] || continue
            say "round $r/$ROUNDS, commit $i/${#ok[@]}: $(describe "$h" | cut -f1,3 | tr '\t' ' ' | cut -c1-60)$(
                ((nth > 0)) && echo " ($((SECONDS - t0)) s so far, about $(((SECONDS - t0) * (total - nth) / nth)) s left)")"
            nth=$((nth + 1))
            rc=0
            bench_ci --build "$CACHE/$h/build" --no-gate --save "$out/measured/$h-r$r.csv" \
                >"$WORK/bench-ci.log" 2>&1 || rc=$?
            if ((rc != 0)); then
                STATUSES[$h]="its measurement failed (bench_ci.sh exit $rc: $(grep -m1 'error:' "$WORK/bench-ci.log" | cut -c1-120))"
                rm -f "$out/measured/$h-r"*.csv
                say "  skipped: ${STATUSES[$h]}"
            fi
        done
    done
    record_env end "$out/env.json"
    local short date subject
    for h in "${list[@]}"; do
        IFS=$'\t' read -r short date subject < <(describe "$h")
        printf '%s\t%s\t%s\t%s\t%s\n' "$h" "$short" "$date" "${STATUSES[$h]}" "$subject"
    done >"$out/commits.tsv"
    python "$SCRIPTS/report.py" history "$out" --history "$HISTORY"
}

if [[ -n $GOOD ]]; then run_bisect; else run_history; fi

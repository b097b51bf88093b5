# shellcheck shell=bash
# The tests' layer on scripts/lib.sh (the one set of helpers; start_server,
# stop_server, make_scratch and fail come from there): a real flagserver on
# 127.0.0.1 and the helpers only tests use. Callers set FLAGSERVER.
PROG=${PROG:-$(basename "$0" .sh)}
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# setup_work: a scratch folder WORK, removed on exit with the server stopped.
setup_work() {
    make_scratch "$PROG"
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

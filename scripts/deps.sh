#!/usr/bin/env bash
# Install the Debian packages named as arguments that are not installed yet.
# A quick no-op when everything is present. Uses apt-get as root, else sudo.
set -euo pipefail
case ${1:-} in
-h | --help)
    echo "usage: scripts/deps.sh PKG...: install the Debian packages not installed yet"
    echo "(apt-get as root, else through sudo; exit 1 when neither can). make deps"
    echo "names the project's packages (the Makefile's DEB_PACKAGES, PEER_PACKAGES)."
    exit 0
    ;;
esac

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "deps: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

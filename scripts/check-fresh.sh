#!/usr/bin/env bash
# Checks that the README's two commands work on a fresh machine: removes the
# system packages the test suite installs for itself (libclang-dev and the
# libclang it brings, valgrind, strace, golang-go, pypy3, pkg-config; the
# libclang-cpp library that fooled the old check of issue 12 is kept), clones
# HEAD into a temporary directory and runs the README's first two commands
# there, in order. Run it by hand before closing an issue that changes
# set-up (as root, on a machine of the project's kind; it takes ~15 minutes
# and leaves the packages installed again by the suite itself).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-fresh.sh: run as root" >&2; exit 2; }

export DEBIAN_FRONTEND=noninteractive
remove=(libclang-dev 'libclang1-*' valgrind strace golang-go 'golang-1.*-go' pypy3 pkg-config abigail-tools)
echo "== removing: ${remove[*]}"
apt-get remove -y -qq "${remove[@]}" >/dev/null 2>&1 || true
if ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || command -v valgrind >/dev/null; then
    echo "check-fresh.sh: could not remove the packages" >&2; exit 2
fi
ls /usr/lib/llvm-*/lib/libclang-cpp*.so* >/dev/null 2>&1 && echo "   (libclang-cpp kept: the issue 12 trap)"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# mktemp makes it 0700; the access-control tests run programs of the clone
# as a second uid (setpriv 65534), which must be able to reach them, as in
# any ordinary checkout location.
chmod 755 "$dir"
git clone -q . "$dir/libmba"
cd "$dir/libmba"
# The README's first fenced block holds the two commands, one per line.
mapfile -t cmds < <(awk '/^```sh/{f=1; next} /^```/{if (f) exit} f' README.md | sed 's/ *#.*//; /^$/d')
[ ${#cmds[@]} -eq 2 ] || { echo "check-fresh.sh: expected two commands in the README" >&2; exit 2; }
for c in "${cmds[@]}"; do
    echo "== $c"
    start=$(date +%s)
    bash -c "$c"
    echo "== ok in $(( $(date +%s) - start )) s: $c"
done
echo "check-fresh.sh: both README commands passed on a machine without the suite's packages"

#!/bin/sh
# Runs every example (built by `make`) and checks its output: raw_offset,
# records and matrix must print exactly expected/NAME.txt; writer and
# reader run together on a fresh shm:// name and the reader must print every
# reading and the end marker. Prints "ok     NAME" or "FAILED NAME" per
# program; exits 1 if any failed. Run by `make check`.
#
# Environment: RUN, a command prefix for every program (e.g. valgrind ...);
# EXPECTED, the directory of expected outputs (default expected/).
cd "$(dirname "$0")" || exit 1
here=$PWD
expected=${EXPECTED:-$here/expected}
tmp=$(mktemp -d) || exit 1
name=mba-check-$$
trap 'rm -rf "$tmp"; rm -f "/dev/shm/$name" /dev/shm/."$name".*' EXIT
failed=0
ok() { echo "ok     $1"; }
bad() { echo "FAILED $1"; sed 's/^/    | /' "$2"; failed=1; }

# Run in an empty directory: the programs create their files relative to it.
for p in raw_offset records matrix; do
    if (cd "$tmp" && $RUN "$here/$p") >"$tmp/$p.out" 2>"$tmp/$p.err" &&
        diff -u "$expected/$p.txt" "$tmp/$p.out" >"$tmp/$p.diff" 2>&1; then
        ok "$p"
    else
        cat "$tmp/$p.diff" >>"$tmp/$p.err" 2>/dev/null
        bad "$p" "$tmp/$p.err"
    fi
done

# writer + reader: the reader waits for the name, prints each reading as it
# arrives and removes the name after the end marker.
$RUN ./reader "shm://$name" >"$tmp/reader.out" 2>&1 &
reader=$!
$RUN ./writer "shm://$name" 5 >"$tmp/writer.out" 2>&1
ws=$?
wait "$reader"
rs=$?
cat "$tmp/writer.out" >>"$tmp/reader.out"
good=$((ws == 0 && rs == 0))
for i in 1 2 3 4 5; do
    grep -q "^reader: got reading $i: " "$tmp/reader.out" || good=0
done
grep -q "^reader: end marker after 5 readings; removing shm://$name" "$tmp/reader.out" || good=0
grep -q "^writer: done: 5 readings and an end marker" "$tmp/reader.out" || good=0
[ -e "/dev/shm/$name" ] && good=0
if [ "$good" = 1 ]; then ok "writer+reader"; else bad "writer+reader" "$tmp/reader.out"; fi
exit "$failed"

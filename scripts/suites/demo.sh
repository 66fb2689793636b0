#!/bin/bash
# Runs the README's first command, `bash examples-c/demo.sh` (with 5
# readings), and checks its output: the C writer's readings are printed by
# the Python and the Go reader, each one, with the same values, in order;
# `mba info` shows the array (6 rows: 5 readings and the end marker);
# the array is removed at the end. Then again with no Go (GO pointing
# nowhere): the demo still runs and says how to get Go.
# Needs: python3, golang-go, gcc, make, cargo.
set -uo pipefail
. "$(dirname "$0")/common.bash"
suite_init demo
# The demo finds its library itself (target/release): leave MBA_LIBRARY to it.
unset MBA_LIBRARY
export GOCACHE="${GOCACHE:-$WORK/go-cache}" GOPATH="${GOPATH:-$WORK/gopath}"
N=5

# readings WHO: "SEQ SENSOR CELSIUS" per reading that WHO printed, in order.
readings() {
    case $1 in
        writer) sed -n 's/^writer: appended reading \([0-9]*\) of [0-9]* (sensor \([0-9]*\), \([0-9.-]*\) C)$/\1 \2 \3/p' "$WORK/out" ;;
        *) sed -n "s/^$1: *got reading \([0-9]*\): sensor \([0-9]*\), \([0-9.-]*\) C (.*)\$/\1 \2 \3/p" "$WORK/out" ;;
    esac
}

start=$SECONDS
timeout 600 bash examples-c/demo.sh $N >"$WORK/out" 2>&1
rc=$?
took=$((SECONDS - start))
echo "  (demo: status $rc, $took s)"
if [ $rc -eq 0 ]; then ok "the demo runs (status 0, $took s)"; else bad "the demo runs (status $rc)" "$WORK/out" 40; fi
readings writer >"$WORK/writer"
if [ "$(wc -l <"$WORK/writer")" -eq $N ] && [ "$(cut -d' ' -f1 "$WORK/writer" | tr '\n' ' ')" = "$(seq -s ' ' 1 $N) " ]; then
    ok "the C writer appends $N readings"
else bad "the C writer appends $N readings" "$WORK/out" 40; fi
for r in python go; do
    readings $r >"$WORK/$r"
    if cmp -s "$WORK/writer" "$WORK/$r" && grep -q "^$r: *end marker after $N readings" "$WORK/out"; then
        ok "the $r reader prints every reading, as written, in order, and stops at the end marker"
    else
        diff "$WORK/writer" "$WORK/$r" | sed 's/^/  diff: /'
        bad "the $r reader prints every reading, as written, in order, and stops at the end marker" "$WORK/out" 40
    fi
done
name=$(sed -n 's/^writer: created \(shm:[^,]*\),.*/\1/p' "$WORK/out")
if grep -q "^== target/release/mba info $name ==" "$WORK/out" && grep -Eq '^len +'$((N + 1))'$' "$WORK/out" &&
    grep -Eq '^type +record32$' "$WORK/out"; then
    ok "mba info shows the array: $((N + 1)) records of 32 bytes"
else bad "mba info shows the array" "$WORK/out" 40; fi
if [ -n "$name" ] && [ ! -e "/dev/shm/${name#shm://}" ]; then
    ok "the array is removed at the end"
else bad "the array is removed at the end ($name)" "$WORK/out" 40; fi

GO=/nonexistent/go timeout 300 bash examples-c/demo.sh 2 >"$WORK/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "apt-get install golang-go" "$WORK/out" && ! grep -q "^go: " "$WORK/out" &&
    [ "$(readings python | wc -l)" -eq 2 ]; then
    ok "without Go: the demo runs with the Python reader and says how to get Go"
else bad "without Go: the demo runs with the Python reader and says how to get Go (status $rc)" "$WORK/out" 40; fi

finish

#!/usr/bin/env bash
# Compatibility across versions (issue 15): libmba 0.1.3 (commit 8403e2e)
# and this tree on one live array.
#  1. builds 0.1.3's library from git history into target/compat-0.1.3
#     (cached: rebuilt only when missing);
#  2. builds ffi-tests/compat/compat.c twice, against each library and
#     its own mba.h;
#  3. runs an old and a new writer appending to one shm array at the same
#     time (in both creation orders), each checking every row it sees,
#     then a check of the whole array by each version; then two new
#     writers (which sleep on the lock word, FORMAT.md 4.4) and an old
#     one (which only spins and never wakes them) on one array;
#  4. runs abidiff between the two libraries: the expected 0.x changes are
#     reported, not failed on; a tool error fails. The release libraries
#     carry no debug info, so abidiff compares their symbols (removed,
#     added, versions), not their types; the types are checked by
#     ffi-tests/tests/header.rs (bindgen against the Rust definitions).
# Last line: `N passed, N failed`.
set -uo pipefail
ROOT=${MBA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
OLD_REV=8403e2e
OLD=$ROOT/target/compat-0.1.3
NEW_LIB=${MBA_LIBRARY:-$ROOT/target/release/libmba.so}
NEW_DIR=$(dirname "$NEW_LIB")
pass=0
fail=0
ok() { echo "ok     $1"; pass=$((pass + 1)); }
bad() { echo "FAILED $1"; fail=$((fail + 1)); }

if [ ! -f "$OLD/lib/libmba.so" ]; then
    echo "== building libmba 0.1.3 ($OLD_REV) into $OLD"
    if ! git cat-file -e "$OLD_REV^{commit}" 2>/dev/null; then
        echo "compat: commit $OLD_REV is not in this clone's history" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    rm -rf "$OLD"
    mkdir -p "$OLD/src" "$OLD/lib"
    git archive "$OLD_REV" | tar -x -C "$OLD/src"
    if ! (cd "$OLD/src" && CARGO_TARGET_DIR="$OLD/target" cargo build --release --quiet --lib -p mba); then
        echo "0 passed, 1 failed"
        exit 1
    fi
    cp "$OLD/target/release/libmba.so" "$OLD/lib/"
    ln -sf libmba.so "$OLD/lib/libmba.so.0"
    cp -r "$OLD/src/include" "$OLD/include"
    rm -rf "$OLD/target" "$OLD/src"
fi
ln -sf libmba.so "$NEW_DIR/libmba.so.0"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build() { # NAME INCLUDE LIBDIR
    cc -O2 -Wall -Werror -o "$work/$1" ffi-tests/compat/compat.c -I "$2" -L "$3" \
        -Wl,-rpath,"$3" -lmba
}
if build old "$OLD/include" "$OLD/lib" && build new "$ROOT/include" "$NEW_DIR"; then
    ok "compat.c builds against 0.1.3 and against this tree"
else
    bad "compat.c builds against 0.1.3 and against this tree"
fi
# Each build loads its own library.
# (ldd's output is captured first: under pipefail, `ldd | grep -q` fails
# whenever grep exits on its match before ldd has written everything.)
old_deps=$(ldd "$work/old" 2>&1)
new_deps=$(ldd "$work/new" 2>&1)
if [[ $old_deps == *"$OLD/lib/libmba.so.0 "* && $new_deps == *"$NEW_DIR/libmba.so.0 "* ]]; then
    ok "each build loads its own libmba.so.0"
else
    printf '%s\n%s\n' "$old_deps" "$new_deps" | sed 's/^/   | /'
    bad "each build loads its own libmba.so.0"
fi

N=300000
for order in old-first new-first; do
    name=shm://mba-compat-$$-$order
    if [ $order = old-first ]; then a=old b=new; else a=new b=old; fi
    "$work/$a" write "$name" 1 $N >"$work/$a.out" 2>&1 &
    pa=$!
    "$work/$b" write "$name" 2 $N >"$work/$b.out" 2>&1 &
    pb=$!
    ra=0 rb=0
    wait $pa || ra=$?
    wait $pb || rb=$?
    if [ $ra = 0 ] && [ $rb = 0 ] && "$work/old" check "$name" $N >"$work/c1" 2>&1 &&
        "$work/new" check "$name" $N >"$work/c2" 2>&1; then
        ok "0.1.3 and this tree append $N rows each to one live array ($order): every row once, in order"
        cat "$work/$a.out" "$work/$b.out" "$work/c1" "$work/c2" | sed 's/^/   | /'
    else
        cat "$work/$a.out" "$work/$b.out" "$work/c1" "$work/c2" 2>/dev/null | sed 's/^/   | /'
        bad "0.1.3 and this tree append to one live array ($order)"
    fi
    rm -f "/dev/shm/${name#shm://}"
done

# Sleeping writers (FORMAT.md 4.4, compat bit LOCK_SLEEP): two writers of
# this tree sleep on the lock word and wake each other; the 0.1.3 writer
# only spins and never wakes them, so their bounded sleeps must carry
# them. Every row once, in order, from all three.
name=shm://mba-compat-$$-sleepers
start=$SECONDS
pids=()
"$work/new" write "$name" 1 $N >"$work/s1.out" 2>&1 &
pids+=($!)
"$work/old" write "$name" 2 $N >"$work/s2.out" 2>&1 &
pids+=($!)
"$work/new" write "$name" 3 $N >"$work/s3.out" 2>&1 &
pids+=($!)
rs=0
for p in "${pids[@]}"; do wait "$p" || rs=1; done
if [ $rs = 0 ] && "$work/old" check "$name" $N 3 >"$work/c1" 2>&1 &&
    "$work/new" check "$name" $N 3 >"$work/c2" 2>&1; then
    ok "two sleeping writers of this tree and a spinning 0.1.3 writer append $N rows each to one array: every row once, in order ($((SECONDS - start)) s)"
    cat "$work/s1.out" "$work/s2.out" "$work/s3.out" "$work/c1" "$work/c2" | sed 's/^/   | /'
else
    cat "$work/s1.out" "$work/s2.out" "$work/s3.out" "$work/c1" "$work/c2" 2>/dev/null | sed 's/^/   | /'
    bad "two sleeping writers of this tree and a 0.1.3 writer on one array"
fi
rm -f "/dev/shm/${name#shm://}"

if command -v abidiff >/dev/null; then
    rc=0
    abidiff "$OLD/lib/libmba.so" "$NEW_LIB" >"$work/abi" 2>&1 || rc=$?
    sed 's/^/   | /' "$work/abi" | head -n 40
    # abidiff's exit status is a bit field: 1 tool error, 2 usage error,
    # 4 ABI change, 8 incompatible change. 0.x may change the ABI.
    if [ $((rc & 3)) -eq 0 ]; then
        ok "abidiff 0.1.3 -> this tree ran (exit $rc: $([ $((rc & 12)) -eq 0 ] && echo 'no ABI change' || echo 'ABI changes, expected while 0.x'))"
    else
        bad "abidiff failed to run (exit $rc)"
    fi
else
    bad "abidiff is missing (Debian package abigail-tools)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

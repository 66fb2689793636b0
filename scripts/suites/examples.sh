#!/usr/bin/env bash
# The C examples (examples-c/): built with every warning an error against
# the build tree (MBA_LIBRARY), each run with its output checked
# (examples-c/check.sh: raw_offset, records and matrix print exactly
# examples-c/expected/*.txt; writer and reader run together on a fresh
# shm:// name), then all again under valgrind memcheck (0 errors, 0
# definite or indirect leaks), then built and checked once more from a copy
# of examples-c against `make install PREFIX=<tmp>` found through
# pkg-config only. Two self-tests prove the checks can fail: a wrong
# expected output, and a leak planted in a copy of matrix.c.
# One case per program and pass. Last line: `N passed, N failed`.
# Needs: gcc, make, valgrind, pkg-config.
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
root=$PWD
lib=${MBA_LIBRARY:-$root/target/release/libmba.so}
libdir=$(dirname "$lib")
[ -e "$libdir/libmba.so.0" ] || ln -sf libmba.so "$libdir/libmba.so.0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MBA_RESERVE=256M # valgrind refuses the default 64 GiB reservation
cflags="-O2 -g -Wall -Wextra -pedantic -std=c11 -Werror"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
pass=0 fail=0
result() { # name status log
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok     $1"
    else
        fail=$((fail + 1)); echo "FAILED $1"; sed 's/^/    | /' "$3" | tail -n 40
    fi
}
# checks LABEL LOG: one case per "ok"/"FAILED" line of check.sh; all four
# checks (raw_offset, records, matrix, writer+reader) must be reported.
checks() {
    local label=$1 log=$2 n=0 line
    while read -r line; do
        case $line in
            "ok     "*) result "$label: ${line#ok     }" 0 /dev/null; n=$((n + 1)) ;;
            "FAILED "*) result "$label: ${line#FAILED }" 1 "$log"; n=$((n + 1)) ;;
        esac
    done <"$log"
    [ "$n" -eq 4 ] || result "$label: all four checks reported ($n)" 1 "$log"
}

# 1. Build tree.
make -s -C examples-c clean >/dev/null
make -C examples-c all MBA_LIB="$libdir" MBA_INCLUDE="$root/include" CFLAGS="$cflags" \
    >"$tmp/build.log" 2>&1
result "build against the build tree (-Werror)" $? "$tmp/build.log"
make -s -C examples-c check MBA_LIB="$libdir" MBA_INCLUDE="$root/include" >"$tmp/check.log" 2>&1
checks "output" "$tmp/check.log"
make -s -C examples-c check MBA_LIB="$libdir" MBA_INCLUDE="$root/include" RUN="$vg" \
    >"$tmp/vg.log" 2>&1
checks "valgrind" "$tmp/vg.log"

# 2. Self-tests: a wrong expected value and a planted leak must fail.
mkdir -p "$tmp/wrong"
cp examples-c/expected/*.txt "$tmp/wrong/"
sed -i 's/sum 500000.0/sum 500001.0/' "$tmp/wrong/raw_offset.txt"
EXPECTED="$tmp/wrong" sh examples-c/check.sh >"$tmp/wrong.log" 2>&1
st=$?
grep -q "^FAILED raw_offset" "$tmp/wrong.log" && grep -q "^ok     records" "$tmp/wrong.log" &&
    [ "$st" -ne 0 ]
result "self-test: a wrong expected output fails the check" $? "$tmp/wrong.log"
sed 's/^    free(batch);$//' examples-c/matrix.c >"$tmp/leaky.c"
if cmp -s examples-c/matrix.c "$tmp/leaky.c"; then
    echo "free(batch) not found in matrix.c" >"$tmp/leak.log"; false
else
    gcc $cflags -I"$root/include" "$tmp/leaky.c" -o "$tmp/leaky" -L"$libdir" \
        -Wl,-rpath,"$libdir" -lmba >"$tmp/leak.log" 2>&1 &&
        { $vg "$tmp/leaky" >>"$tmp/leak.log" 2>&1; [ $? -eq 99 ]; }
fi
result "self-test: valgrind fails a leaking matrix.c" $? "$tmp/leak.log"

# 3. An installed copy, found through pkg-config only: a copy of examples-c
# outside the repository (so ../target and ../include do not exist).
# `-o all`: install what the suite's build made, without a cargo run (whose
# package selection can differ from --workspace and rebuild); plain
# `make install` when an artifact is missing.
if if [ -e target/release/mba ] && [ -e target/release/libmba.a ]; then
    make -s -o all install PREFIX="$tmp/prefix"
else
    make -s install PREFIX="$tmp/prefix"
fi >"$tmp/install.log" 2>&1; then
    cp -r examples-c "$tmp/ex"
    make -s -C "$tmp/ex" clean >/dev/null
    (
        export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
        make -C "$tmp/ex" all CFLAGS="$cflags" &&
            grep -q -- "-I$tmp/prefix/include" <(make -C "$tmp/ex" -n -B matrix) &&
            ! ldd "$tmp/ex/matrix" | grep -q "$libdir" &&
            ldd "$tmp/ex/matrix" | grep -q "$tmp/prefix/lib/libmba.so.0"
    ) >"$tmp/pc.log" 2>&1
    result "build through pkg-config against the installed copy" $? "$tmp/pc.log"
    PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" make -s -C "$tmp/ex" check >"$tmp/pccheck.log" 2>&1
    checks "installed" "$tmp/pccheck.log"
else
    result "make install PREFIX=<tmp>" 1 "$tmp/install.log"
fi
make -s -C examples-c clean >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

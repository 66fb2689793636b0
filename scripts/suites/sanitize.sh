#!/usr/bin/env bash
# The standalone C tests (ffi-tests/c/api_{meta,open,data,sync,bad,arrow}.c, as
# ffi-tests/tests/{api,arrow}.rs run them) and the examples-c writer/reader demo,
# against the release libmba.so (MBA_LIBRARY):
#   1. built with gcc -fsanitize=address,undefined: no report (any report
#      aborts the program: abort_on_error, halt_on_error);
#   2. built plainly and run under valgrind memcheck: no error and no
#      definite leak (--error-exitcode=99). Valgrind refuses libmba's default
#      64 GiB address reservation, so MBA_RESERVE is set small there.
# Suppressions of tool false positives, if ever needed, go in
# scripts/suites/sanitize.supp (commented). One case per program and tool.
# Last line: `N passed, N failed`.
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
root=$PWD
lib=${MBA_LIBRARY:-$root/target/release/libmba.so}
libdir=$(dirname "$lib")
[ -e "$libdir/libmba.so.0" ] || ln -sf libmba.so "$libdir/libmba.so.0"
out=$root/target/sanitize
rm -rf "$out"; mkdir -p "$out"
supp=()
[ -f scripts/suites/sanitize.supp ] && supp=(--suppressions="$root/scripts/suites/sanitize.supp")
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
flags=(-std=c11 -Wall -Wextra -Werror -pedantic -D_GNU_SOURCE -g -O1
       -I"$root/include" -I"$root/ffi-tests/c")
link=(-L"$libdir" -Wl,-rpath,"$libdir" -lmba -lpthread)
san=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
pass=0 fail=0
result() {  # name status log
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok     $1"
    else
        fail=$((fail + 1)); echo "FAILED $1 (exit $2, log $3)"; tail -n 30 "$3"
    fi
}
build() {  # exe extra-flags... -- sources...
    local exe=$1; shift
    local extra=()
    while [ "$1" != -- ]; do extra+=("$1"); shift; done; shift
    gcc "${flags[@]}" "${extra[@]}" "$@" -o "$exe" "${link[@]}"
}
# run_one NAME TOOL CMD...: the C test programs take a scratch dir and a
# /dev/shm name prefix; shared-memory leftovers are removed afterwards.
run_one() {
    local name=$1 tool=$2; shift 2
    local dir=$out/$name-$tool.d prefix=mba-san-$name-$tool-$$ log=$out/$name-$tool.log
    mkdir -p "$dir"
    "$@" "$dir" "$prefix" >"$log" 2>&1
    local st=$?
    rm -f /dev/shm/"$prefix"* /dev/shm/."$prefix"*
    result "$name ($tool)" "$st" "$log"
}
# --child-silent-after-fork: api_* children forked from a multi-threaded
# test (fork without exec) inherit heap blocks owned by threads that do not
# exist in the child; they are checked under ASan, not here.
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --child-silent-after-fork=yes "${supp[@]}")
# api_open (100,000 checks) and api_sync (threads, waits) take 4-6 minutes
# under valgrind on 2 shared cores: they run under ASan+UBSan only.
slow=" api_open api_sync "
tests=(api_meta api_open api_data api_sync api_bad api_arrow)
for t in "${tests[@]}"; do
    build "$out/$t-asan" "${san[@]}" -- "ffi-tests/c/$t.c" || { result "$t (build)" 1 /dev/null; continue; }
    build "$out/$t" -- "ffi-tests/c/$t.c" || { result "$t (build)" 1 /dev/null; continue; }
    MBA_TEST_ASAN=1 run_one "$t" asan "$out/$t-asan"
    [[ $slow == *" $t "* ]] || MBA_RESERVE=256M run_one "$t" valgrind "${vg[@]}" "$out/$t"
done
# examples-c: the reader follows the writer's array from another process.
demo() {  # tool reader-cmd... -- writer-cmd...
    local tool=$1; shift
    local r=() w=()
    while [ "$1" != -- ]; do r+=("$1"); shift; done; shift; w=("$@")
    local name=shm://mba-san-demo-$tool-$$ log=$out/demo-$tool.log
    "${r[@]}" "$name" >"$log.reader" 2>&1 & local rp=$!
    "${w[@]}" "$name" 5 >"$log" 2>&1; local ws=$?
    wait "$rp"; local rs=$?
    cat "$log.reader" >>"$log"
    rm -f "/dev/shm/mba-san-demo-$tool-$$"
    grep -q 'reading' "$log" || ws=${ws/#0/1}
    result "examples-c writer+reader ($tool)" $((ws | rs)) "$log"
}
for p in writer reader; do
    build "$out/$p-asan" "${san[@]}" -- "examples-c/$p.c" && build "$out/$p" -- "examples-c/$p.c" \
        || result "examples-c $p (build)" 1 /dev/null
done
demo asan "$out/reader-asan" -- "$out/writer-asan"
MBA_RESERVE=256M demo valgrind "${vg[@]}" "$out/reader" -- "${vg[@]}" "$out/writer"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

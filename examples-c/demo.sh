#!/usr/bin/env bash
# The libmba demo: builds everything, then a C writer (examples-c/writer.c)
# appends a reading every 100 ms to a named array in /dev/shm while a
# Python reader (demo/reader.py) and a Go reader (demo/go-reader, when Go is
# installed) print each one as it arrives: three processes, three
# languages, one array, no copies and no polling (readers sleep in
# mba_wait). Then `mba info` shows the array's header, and `mba rm`
# removes it.
#
#   bash examples-c/demo.sh [COUNT]      (default 10 readings)
#
# Environment: GO (the go command, default go), CARGO (default cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COUNT=${1:-10}
GO=${GO:-go}
CARGO=${CARGO:-cargo}

if ! command -v "$CARGO" >/dev/null 2>&1; then
    echo "demo.sh: cargo is missing; install Rust from https://rustup.rs" >&2
    exit 1
fi
if ! command -v cc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing a C compiler and make (apt-get) =="
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq gcc libc6-dev make >/dev/null
    else
        echo "demo.sh: needs a C compiler (cc) and make" >&2
        exit 1
    fi
fi

echo "== building: cargo build --release --workspace (a minute or two the first time) =="
"$CARGO" build --release --workspace --quiet
ln -sf libmba.so target/release/libmba.so.0
make -s --no-print-directory -C examples-c writer MBA_LIB="$ROOT/target/release" # the fresh build, not an installed libmba
mkdir -p target/demo
export MBA_LIBRARY="$ROOT/target/release/libmba.so"
readers=()
if command -v python3 >/dev/null 2>&1; then
    readers+=(python)
else
    echo "(no python3: the Python reader is left out)"
fi
if command -v "$GO" >/dev/null 2>&1; then
    (cd demo/go-reader &&
        CGO_ENABLED=1 CGO_CFLAGS="-I$ROOT/include" \
        CGO_LDFLAGS="-L$ROOT/target/release -Wl,-rpath,$ROOT/target/release" \
        GOFLAGS=-mod=mod GOPROXY=off "$GO" build -o "$ROOT/target/demo/go-reader" .)
    readers+=(go)
else
    echo "(Go is not installed: the Go reader is left out; to see it too:"
    echo " apt-get install golang-go   (Debian/Ubuntu; Go >= 1.19), then run this again)"
fi

name="shm://mba-demo-$$"
trap 'rm -f "/dev/shm/mba-demo-$$"' EXIT
echo
case "${readers[*]}" in
    "python go") who="a Python and a Go reader follow it" ;;
    "") who="no reader" ;;
    *) who="a ${readers[0]} reader follows it" ;;
esac
echo "== a C writer appends to $name; $who =="
pids=()
for r in "${readers[@]}"; do
    case $r in
        python) python3 demo/reader.py "$name" & ;;
        go) target/demo/go-reader "$name" & ;;
    esac
    pids+=($!)
done
# The readers wait for the name to appear; let them start up first.
[ ${#pids[@]} -gt 0 ] && sleep 0.3
examples-c/writer "$name" "$COUNT"
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
echo
echo "== target/release/mba info $name =="
target/release/mba info "$name"
target/release/mba rm "$name"
echo
echo "Done (the array is removed). Sources: examples-c/writer.c, demo/reader.py,"
echo "demo/go-reader/main.go; the C API is include/mba.h, the Go package go/,"
echo "the Python package examples-python/, the CLI cli/ (target/release/mba --help)."
exit $status

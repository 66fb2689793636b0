#!/usr/bin/env bash
# The libmba demo: builds the library, then runs examples-c/writer and
# examples-c/reader as two processes sharing one array in /dev/shm. The
# writer appends a reading every 100 ms; the reader prints each one as it
# arrives (woken by mba_wait, no polling, no copying) and removes the array
# at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
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

echo "== building libmba: cargo build --release =="
cargo build --release
echo
echo "== building examples-c and running a writer and a reader together =="
make -s --no-print-directory -C examples-c demo
echo
echo "Done. The sources are examples-c/writer.c and examples-c/reader.c; the"
echo "API is documented in include/mba.h."

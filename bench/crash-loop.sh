#!/usr/bin/env bash
# The long crash loop: SIGKILLs writers (C, Rust and the FORMAT.md-only raw
# writer; appends, mba_lock batches, extends) at random instants, some aimed
# at growths, 1,000 times by default, verifying the array after each round.
# The test suite runs the same loop with 250 kills.
#
#   bash bench/crash-loop.sh          # 1000 kills
#   bash bench/crash-loop.sh 5000     # more
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-1000}
cargo build --release -p mba
ln -sf libmba.so target/release/libmba.so.0
MBA_KILLS=$kills cargo test --release -p mba-ffi-tests --test multiprocess -- \
    --exact crash_loop --nocapture

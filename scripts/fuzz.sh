#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60) and
# prints each target's executions (from libFuzzer's final stats). Installs
# cargo-fuzz if missing. The machine has only stable Rust: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly flags (-Zsanitizer=address ...).
# New corpus entries go to target/fuzz-corpus/<target> (the committed seeds
# in fuzz/corpus/<target> are only read); a crash leaves its input in
# target/fuzz-artifacts/<target>/. Last line: `N passed, N failed`.
# Usage: bash scripts/fuzz.sh [SECONDS]
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/..}"
secs=${1:-60}
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || { echo "0 passed, 1 failed"; exit 1; }
fi
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz build --fuzz-dir fuzz -O 2>&1 | tail -n 3; then
    echo "0 passed, 1 failed"; exit 1
fi
bin=fuzz/target/x86_64-unknown-linux-gnu/release
pass=0 fail=0
for t in $(cargo fuzz list --fuzz-dir fuzz); do
    work=target/fuzz-corpus/$t art=target/fuzz-artifacts/$t/
    mkdir -p "$work" "$art"
    log=target/fuzz-$t.log
    "$bin/$t" "$work" "fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1
    st=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    units=$(find "$work" -type f | wc -l)
    if [ "$st" -eq 0 ] && [ -n "$execs" ]; then
        pass=$((pass + 1)); verdict=ok
    else
        fail=$((fail + 1)); verdict="FAILED (exit $st, log $log)"
        grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$log" | head -n 20
    fi
    echo "fuzz $t: ${execs:-0} executions in ${secs} s (${rate:-0} exec/s), work corpus $units units: $verdict"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

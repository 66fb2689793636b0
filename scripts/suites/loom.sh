#!/usr/bin/env bash
# loom model of the cross-process protocol (src/protocol/loom_tests.rs):
# the library's own lock, publish, growth and wait code, instantiated with
# loom's atomics, explored over every interleaving with at most
# LOOM_MAX_PREEMPTIONS preemptions (default 3). Each model runs as its own
# process, so a loom deadlock (which aborts the test binary) fails that
# model alone. Built with RUSTFLAGS="--cfg loom" in a target directory of
# its own (target/loom) so the normal build's cache is not invalidated.
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
export RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3}
cargo=(cargo test --release --lib --quiet)
if ! "${cargo[@]}" --no-run 2>&1 | tail -20; then
    echo "loom build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
# Every model but the ignored ones (a known limit kept as a demonstration).
mapfile -t tests < <(comm -23 \
    <("${cargo[@]}" loom_ -- --list 2>/dev/null | sed -n 's/: test$//p' | sort) \
    <("${cargo[@]}" loom_ -- --list --ignored 2>/dev/null | sed -n 's/: test$//p' | sort))
if [ ${#tests[@]} -eq 0 ]; then
    echo "no loom models found"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0 failed=0
for t in "${tests[@]}"; do
    start=$SECONDS
    if out=$("${cargo[@]}" "$t" -- --exact --nocapture 2>&1); then
        passed=$((passed + 1))
        echo "ok     $t ($(grep -o '[0-9]* executions' <<<"$out" | tail -1), $((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        echo "FAILED $t"
        grep -E 'panicked|deadlock|Causality|assert' <<<"$out" | head -5
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

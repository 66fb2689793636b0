#!/usr/bin/env bash
# The benchmark harness as a smoke test: `bash bench/run.sh --quick` runs
# every benchmark briefly (it asserts no timing) into a temporary directory,
# never into the committed bench/results/. Checks that it finished, that
# every figure produced its RESULT line (a figure that breaks shows here),
# that RESULTS.md has its sections and a table, that the plots are PNGs
# under 200 KB, and that nothing was left behind (its tmpfs mount, shm
# names, the committed results). Needs matplotlib: run.sh installs it into
# target/bench-venv the first time (from the package index).
# Last line: `N passed, N failed`.
set -uo pipefail
ROOT=${MBA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
pass=0
fail=0
ok() { echo "ok     $1"; pass=$((pass + 1)); }
bad() { echo "FAILED $1"; fail=$((fail + 1)); }
out=$(mktemp -d "${TMPDIR:-/tmp}/mba-bench-suite.XXXXXX")
trap 'rm -rf "$out"' EXIT
work=$ROOT/target/bench-quick
before=$(git status --porcelain -- bench/results 2>/dev/null)
# shm names of the benchmarks whose creator (its pid is in the name) is
# dead: leaks (other helpers' live benchmarks may share /dev/shm)
leaked() {
    local f pid
    for f in /dev/shm/mba-fig-* /dev/shm/mba-bench-* /dev/shm/bench-peers-*; do
        [ -e "$f" ] || continue
        pid=$(basename "$f" | grep -o -E '[0-9]+' | head -1)
        [ -n "$pid" ] && [ -d "/proc/$pid" ] && continue
        basename "$f"
    done | sort
}
shm_before=$(leaked)

t0=$(date +%s)
if MBA_LIBRARY=${MBA_LIBRARY:-} timeout 300 bash bench/run.sh --quick --out "$out" >"$out/log" 2>&1; then
    ok "bench/run.sh --quick exits 0 ($(($(date +%s) - t0)) s)"
else
    bad "bench/run.sh --quick exits 0 (status $?); its log:"
    tail -40 "$out/log"
fi

raw=$work/raw.txt
# one RESULT key per figure of every benchmark program
keys="floor_append_ns floor_lock_append_ns mba_append_ns mba_lock_append_ns mba_extend1024_ns
mba_append_4proc_ns floor_lock_4proc_ns recovery_waiting_p50_us holder_death_p50_us recovery_kernel_waiter_p50_us
recovery_fresh_p50_us ofd_lock_roundtrip_ns wake_p50_us futex_wake_p50_us handoff_c_items_per_s
handoff_c_sleep_items_per_s oneway_mba_p50_us oneway_mba_p999_us oneway_floor_p50_us
contend_mba_1proc_ns contend_mba_8proc_ns contend_floor_futex_2proc_ns contend_floor_cas_4proc_ns
wake1_mba_p50_us wake16_mba_p99_us wake4_futex_p50_us wake16_futex_p50_us
bulk_write_mba_ext4_gbps bulk_write_floor_ext4_gbps bulk_read_mba_ext4_gbps bulk_read_memcpy_ext4_gbps
growth_append_ext4_us growth_fallocate_ext4_us growth_ptr_moved_ext4 growth_reserve_ext4_us growth_fallocate_written_ext4_us
oneway_mbamlock_p999_us oneway_floorarray_p999_us oneway_mba_faults_producer oneway_mba_page_start_p50_us
pipe_mp_items_per_s pipe_os_items_per_s handoff_ctypes_items_per_s
py_append_mba_ns py_append_array.array_ns py_extend_mba_ns py_extend_array.array_ns
py_get_mba_ns py_set_mba_ns py_attach_mba_1M_us py_attach_floor_1M_us
py_handoff_mba_items_per_s py_handoff_os.pipe_items_per_s py_handoff_multiprocessing.Pipe_items_per_s
arrow_zero_copy_1e3 arrow_copy_1e3 arrow_zero_copy_1e5 arrow_copy_1e5"
if [ "$(id -u)" = 0 ]; then  # the tmpfs figures need a mount
    keys="$keys pss4_mba_mib pss4_mmap_mib pss4_private_mib bulk_write_mba_tmpfs_gbps
bulk_write_floor_tmpfs_gbps growth_append_tmpfs_us growth_ptr_moved_tmpfs"
fi
for k in $keys; do
    if [ -f "$raw" ] && grep -q "^RESULT $k " "$raw"; then
        ok "figure $k"
    else
        bad "figure $k: no RESULT line"
    fi
done
for k in growth_ptr_moved_ext4 growth_ptr_moved_tmpfs; do
    if [ -f "$raw" ] && grep -q "^RESULT $k " "$raw"; then
        if grep "^RESULT $k " "$raw" | awk '$3 != 0 { bad = 1 } END { exit bad }'; then
            ok "$k: the data pointer did not move across growth"
        else
            bad "$k: the data pointer moved across growth"
        fi
    fi
done

md=$out/RESULTS.md
if [ -f "$md" ]; then
    ok "RESULTS.md written into the --out directory"
    for s in "## Machine" "## Headline" "## All figures" "## Plots" "commit:" "kernel" "load average"; do
        if grep -q -- "$s" "$md"; then ok "RESULTS.md has '$s'"; else bad "RESULTS.md has '$s'"; fi
    done
    rows=$(grep -c '^| .* | .* | .* | .* |' "$md" || true)
    if [ "$rows" -ge 40 ]; then ok "RESULTS.md table has $rows rows"; else bad "RESULTS.md table has $rows rows (< 40)"; fi
    if grep -E -q '\| (met|\*\*missed\*\*|inconclusive) \|' "$md"; then
        ok "RESULTS.md has verdicts"
    else
        bad "RESULTS.md has verdicts"
    fi
else
    bad "RESULTS.md written into the --out directory"
fi
for png in latency-cdf scaling attach-vs-size bandwidth; do
    f=$out/$png.png
    if [ -f "$f" ] && [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
        && [ "$(stat -c %s "$f")" -lt 204800 ]; then
        ok "plot $png.png (PNG, $(stat -c %s "$f") bytes)"
    else
        bad "plot $png.png (missing, not a PNG or >= 200 KB)"
    fi
done

if [ "$(git status --porcelain -- bench/results 2>/dev/null)" = "$before" ]; then
    ok "the committed bench/results/ is untouched"
else
    bad "the committed bench/results/ was changed"
fi
if mountpoint -q "$work/tmpfs" 2>/dev/null; then
    bad "run.sh left its tmpfs mounted"
    umount "$work/tmpfs"
else
    ok "run.sh unmounted its tmpfs"
fi
new_leaks=$(comm -13 <(echo "$shm_before") <(leaked) | grep . || true)
if [ -z "$new_leaks" ]; then
    ok "no shm names left behind"
else
    bad "shm names left behind: $(echo "$new_leaks" | head -5 | tr '\n' ' ')"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

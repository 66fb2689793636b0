#!/usr/bin/env bash
# libmba benchmarks: every figure beside its floor, measured in the same run,
# figure and floor interleaved, repeated; writes RESULTS.md (the machine,
# the commit, the table with medians and min-max, verdicts) and PNG plots.
# See bench/README.md.
#
#   bash bench/run.sh                  # a few minutes; bench/results/
#   bash bench/run.sh --quick          # every benchmark briefly (< 60 s):
#                                      # a smoke test, asserts no timing
#   bash bench/run.sh --out DIR        # RESULTS.md and plots into DIR
#
# Environment: MBA_LIBRARY=/path/libmba.so uses that library (no cargo
# build); MBA_BENCH_REPS (default 3, --quick 1); MBA_BENCH_N C hand-off
# items (default 1M; the Python pipes send 200k). Python peers and matplotlib go into target/bench-venv
# (created once). Big files go to target/ (ext4: checked, else a loop
# image) and to a tmpfs the script mounts and unmounts (root); never to
# the real /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0
outdir=$root/bench/results
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --out) outdir=$2; shift ;;
    *) echo "usage: bash bench/run.sh [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
work=$root/target/bench
[ $quick = 1 ] && work=$root/target/bench-quick
rm -rf "$work"
mkdir -p "$work/samples" "$work/ext" "$work/py"
export MBA_BENCH_SAMPLES=$work/samples
if [ $quick = 1 ]; then
    export MBA_BENCH_QUICK=1
    reps=${MBA_BENCH_REPS:-1} n=${MBA_BENCH_N:-20000} pyn=5000 big=64M grow=8M
else
    export MBA_BENCH_QUICK=0
    reps=${MBA_BENCH_REPS:-3} n=${MBA_BENCH_N:-1000000} pyn=200000 big=1G grow=64M
fi
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- build
if [ -n "${MBA_LIBRARY:-}" ]; then
    libdir=$(cd "$(dirname "$MBA_LIBRARY")" && pwd)
else
    echo "== building libmba (release)" >&2
    cargo build --release -p mba >&2
    libdir=$root/target/release
fi
ln -sf libmba.so "$libdir/libmba.so.0"
export MBA_LIBRARY=$libdir/libmba.so
for prog in bench figures arrow_export; do
    cc -O2 -std=c11 -Wall -Wextra -D_GNU_SOURCE -Iinclude "bench/$prog.c" \
        -o "$work/$prog" -L"$libdir" -lmba -Wl,-rpath,"$libdir"
done

# ----------------------------------------------------------- Python venv
venv=$root/target/bench-venv
if ! "$venv/bin/python" -c "import matplotlib, numpy" 2>/dev/null; then
    echo "== creating $venv (matplotlib, numpy)" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check matplotlib numpy >&2
fi
# The peers that build from source are installed by full runs only (--quick
# uses them when present and reports them as skipped otherwise).
if [ $quick = 0 ]; then
    for peer in mmap_backed_array:mmap-backed-array SharedArray:SharedArray; do
        "$venv/bin/python" -c "import ${peer%%:*}" 2>/dev/null && continue
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "${peer#*:}" >&2 \
            || echo "note: the peer ${peer#*:} could not be installed (reported as skipped)" >&2
    done
fi
py=$venv/bin/python
# the package as users get it, from this tree (reinstalled when it changed)
pkgsum=$(find examples-python -type f ! -path '*/__pycache__/*' ! -path '*/build/*' \
    ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 cat | cksum)
if [ "$(cat "$venv/.mba-installed" 2>/dev/null)" != "$pkgsum" ]; then
    "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./examples-python >&2
    echo "$pkgsum" >"$venv/.mba-installed"
fi

# ------------------------------------------------- filesystems for big files
ext=$work/ext
mnt=$work/tmpfs
loopimg=
cleanup() {
    mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
    if [ -n "$loopimg" ]; then
        mountpoint -q "$ext" 2>/dev/null && umount "$ext"
        rm -f "$loopimg"
    fi
    return 0
}
trap cleanup EXIT
fstype=$(stat -f -c %T "$ext")
if [ "$fstype" != "ext2/ext3" ]; then
    # not ext4-backed: a sparse loop image formatted ext4
    loopimg=$work/ext4.img
    truncate -s 2600M "$loopimg"
    if mkfs.ext4 -q -F "$loopimg" && mount -o loop "$loopimg" "$ext"; then
        fstype=ext4-loop
    else
        echo "note: no ext4 available (target/ is $fstype); the ext4 figures are skipped" >&2
        ext=
    fi
else
    fstype=ext4
fi
mkdir -p "$mnt"
# big + the array header; bulk writes one file at a time
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$([ $quick = 1 ] && echo 160m || echo 1100m) tmpfs "$mnt"; then
    tmpfs_ok=1
else
    echo "note: cannot mount a tmpfs (not root?): the tmpfs figures are skipped" >&2
    tmpfs_ok=0
fi

raw=$work/raw.txt
: >"$raw"
stamp() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(stamp)" 'BEGIN { printf "   (%.1f s)\n", b - a }' >&2; }
B() { local t; t=$(stamp); echo "== bench $*" >&2; timeout 300 "$work/bench" "$@" | tee -a "$raw" >&2; took "$t"; }
F() { local t; t=$(stamp); echo "== figures $*" >&2; timeout 300 "$work/figures" "$@" | tee -a "$raw" >&2; took "$t"; }
# pair FIGURE FLOOR: runs both, the floor first on odd repetitions
pair() {
    if [ $((rep % 2)) = 1 ]; then eval "$2"; eval "$1"; else eval "$1"; eval "$2"; fi
}

for rep in $(seq 1 "$reps"); do
    echo "==== repetition $rep of $reps" >&2
    echo "REP $rep" >>"$raw"
    pair "B append" "B floor; B floorlock"
    pair "B contend4" "B floorlock4"
    pair "B recovery" "B ofd"
    pair "B wake" "B futexfloor"
    B handoff "$n"
    pair "F oneway mba" "F oneway floor"
    pair "F oneway mbamlock" "F oneway floorarray"
    for p in 1 2 4 8; do
        pair "F contend $p" "F contendfloor $p futex; F contendfloor $p cas"
    done
    for w in 1 4 16; do
        pair "F wakeN $w" "F futexN $w"
    done
    [ -n "$ext" ] && F bulk ext4 "$ext" "$big" $([ $((rep % 2)) = 1 ] && echo rev)
    if [ $tmpfs_ok = 1 ]; then
        F bulk tmpfs "$mnt" "$big" $([ $((rep % 2)) = 1 ] || echo rev)
        F pssprep "$mnt" "$big"
        # private copies: 4 x the array, the same every time: once
        pair "F pss mba $mnt" "F pss mmap $mnt$([ "$rep" = 1 ] && echo "; F pss private $mnt")"
        rm -f "$mnt/pss.mba"
        F growth tmpfs "$mnt" "$grow" $([ $((rep % 2)) = 1 ] && echo rev)
    fi
    [ -n "$ext" ] && F growth ext4 "$ext" "$grow" $([ $((rep % 2)) = 1 ] && echo rev)
    echo "== Python: the package beside its peers" >&2
    t=$(stamp)
    timeout 600 "$py" bench/bench_peers.py --dir "$work/py" $([ $quick = 1 ] && echo --quick) \
        | tee -a "$raw" >&2
    took "$t"
    # Arrow export of a whole u32 array, zero-copy and copied (issue 19)
    t=$(stamp)
    echo "== arrow_export" >&2
    timeout 300 "$work/arrow_export" $([ $quick = 1 ] && echo 1e5 || echo 1e7) | tee -a "$raw" >&2
    took "$t"
    t=$(stamp)
    timeout 300 "$py" bench/py_pipe.py "$pyn" "$MBA_LIBRARY" "$work/bench" | tee -a "$raw" >&2
    took "$t"
done

# bench_python.py: the binding's own figures (its own table), once, in its
# short form (the long one takes ~5 minutes here), in the full run only
# (bench_peers.py covers the same operations in --quick)
pyout=
if [ $quick = 0 ]; then
    pyout=$work/bench_python.txt
    echo "== bench/bench_python.py --quick --max-size 64M" >&2
    timeout 900 "$py" bench/bench_python.py --quick --max-size 64M >"$pyout" 2>&1 \
        || echo "bench_python.py failed ($?)" >>"$pyout"
    cat "$pyout" >&2
fi
cleanup

echo "== report" >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src bench include 2>/dev/null || commit="$commit (+ uncommitted changes)"
"$py" bench/report.py --raw "$raw" --samples "$work/samples" --out "$outdir" \
    --python-log "$pyout" --commit "$commit" --quick "$quick" --reps "$reps" \
    --load-before "$load_before" --seconds $(($(date +%s) - start)) \
    --big "$big" --grow "$grow" --ext "$fstype"
echo "== wrote $outdir/RESULTS.md" >&2

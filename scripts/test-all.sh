#!/usr/bin/env bash
# The whole libmba test suite: Rust unit and integration tests, the C ABI
# tests, the multi-process tests, the Python binding's pytest suite (with and
# without its extension module) and every scripts/suites/*.sh.
# Installs what it needs (Debian, as root) and is idempotent. Every suite
# runs even when another fails; the output ends with one summary and a final
# line `N passed, N failed`; the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
logs=target/logs
mkdir -p "$logs"

# --- system packages -------------------------------------------------------
# The full list, checked per package with dpkg-query AND by what each tool
# actually needs (a file or command), so a package marked installed whose
# files are gone (or hidden, see scripts/check-fresh.sh) is reinstalled.
PKGS=(gcc libc6-dev make strace libclang-dev python3-venv valgrind golang-go
      pypy3 e2fsprogs util-linux mount pkg-config abigail-tools binutils)
libclang_ok() {  # bindgen's own lookup: libclang.so (not libclang-cpp)
    local f
    for f in /usr/lib/llvm-*/lib/libclang.so /usr/lib/llvm-*/lib/libclang-[0-9]*.so.[0-9]*; do
        [ -e "$f" ] && return 0
    done
    return 1
}
works() {  # does what package $1 provides actually work here?
    case $1 in
        gcc) command -v gcc >/dev/null ;;
        libc6-dev) [ -e /usr/include/stdio.h ] ;;
        make) command -v make >/dev/null ;;
        strace) command -v strace >/dev/null ;;
        libclang-dev) libclang_ok ;;
        python3-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ;;
        valgrind) command -v valgrind >/dev/null ;;
        golang-go) command -v go >/dev/null || [ -x /usr/lib/go/bin/go ] ;;
        pypy3) command -v pypy3 >/dev/null ;;
        e2fsprogs) command -v mkfs.ext4 >/dev/null ;;
        util-linux) command -v unshare >/dev/null && command -v setpriv >/dev/null ;;
        mount) command -v mount >/dev/null ;;
        pkg-config) command -v pkg-config >/dev/null ;;
        abigail-tools) command -v abidiff >/dev/null ;;
        binutils) command -v readelf >/dev/null && command -v nm >/dev/null ;;
        *) return 0 ;;
    esac
}
missing=() broken=()
for p in "${PKGS[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$p")
    elif ! works "$p"; then
        broken+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ] || [ ${#broken[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "installing: ${missing[*]:-} reinstalling: ${broken[*]:-}"
    apt-get update -qq
    [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq "${missing[@]}" >/dev/null
    [ ${#broken[@]} -eq 0 ] || apt-get install -y -qq --reinstall "${broken[@]}" >/dev/null
fi

# --- summary bookkeeping ----------------------------------------------------
names=() passes=() fails=() states=() secs=()
mark=$SECONDS  # each record() is timed from the previous one (or from here)
record() {  # name exit-status passed failed
    local st=ok
    if [ "$2" -ne 0 ] || [ "$4" -gt 0 ]; then st=FAILED; fi
    names+=("$1") passes+=("$3") fails+=("$4") states+=("$st (exit $2)")
    secs+=("$((SECONDS - mark))"); mark=$SECONDS
}

# --- Rust and C -------------------------------------------------------------
cargo build --release --workspace 2>&1 | tee "$logs/build.log"
build=${PIPESTATUS[0]}
ln -sf libmba.so target/release/libmba.so.0
record "cargo build" "$build" 0 "$([ "$build" -eq 0 ] && echo 0 || echo 1)"

cargo test --release --workspace --no-fail-fast 2>&1 | tee "$logs/cargo-test.log"
st=${PIPESTATUS[0]}
p=$(grep -oE 'test result: .* ([0-9]+) passed' "$logs/cargo-test.log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
f=$(grep -oE 'test result: .*; ([0-9]+) failed' "$logs/cargo-test.log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
[ "$st" -eq 0 ] || [ "$f" -gt 0 ] || f=1  # a build or harness error counts as one failure
record "cargo test" "$st" "$p" "$f"

# --- Python -----------------------------------------------------------------
venv=target/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# pytest and numpy; setuptools-rust builds the package (its libmba and the
# extension module mba._ext); pyarrow, polars, duckdb and dask are the
# consumers test_arrow*.py checks the Arrow export against; mypy checks the
# package's type stubs (test_typing.py).
"$venv/bin/python" -m pip install -q --disable-pip-version-check pytest numpy \
    "setuptools>=61" setuptools-rust wheel pyarrow polars duckdb "dask[distributed]" mypy
# SharedArray is the oracle of test_sharedarray.py (it builds a C extension;
# where it cannot, that test is skipped and says why).
"$venv/bin/python" -c 'import SharedArray' 2>/dev/null ||
    "$venv/bin/python" -m pip install -q --disable-pip-version-check SharedArray ||
    echo "note: SharedArray could not be installed; test_sharedarray.py compares with numpy only"
# Its own cargo target directory (shared with scripts/suites/wheel.sh): the
# wheel's build must not overwrite target/release/libmba.so under test.
if ! CARGO_TARGET_DIR="$root/target/wheel" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    --force-reinstall --no-deps --no-build-isolation ./examples-python; then
    record "pip install ./examples-python" 1 0 1
fi
lib="$root/target/release/libmba.so"
pycounts() {  # log -> "passed failed" from pytest's summary line
    local line; line=$(grep -E '[0-9]+ (passed|failed|error)' "$1" | tail -n 1)
    local p f e
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+'); f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    e=$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+')
    echo "${p:-0} $(( ${f:-0} + ${e:-0} ))"
}
# Once with the ctypes path alone (as on a Python without the extension
# module, see examples-python/mba/_bridge.py), then as users run it.
echo "pytest with MBA_PY_EXT=0 (the ctypes path alone):"
MBA_PY_EXT=0 MBA_LIBRARY="$lib" "$venv/bin/python" -m pytest -q examples-python/tests 2>&1 | tee "$logs/pytest-nobridge.log"
st=${PIPESTATUS[0]}; read -r p f < <(pycounts "$logs/pytest-nobridge.log")
[ "$st" -eq 0 ] || [ "$f" -gt 0 ] || f=1
record "pytest (MBA_PY_EXT=0)" "$st" "$p" "$f"
echo "pytest with the extension module:"
MBA_LIBRARY="$lib" "$venv/bin/python" -m pytest -q examples-python/tests 2>&1 | tee "$logs/pytest.log"
st=${PIPESTATUS[0]}; read -r p f < <(pycounts "$logs/pytest.log")
[ "$st" -eq 0 ] || [ "$f" -gt 0 ] || f=1
record "pytest (extension)" "$st" "$p" "$f"

# --- suite scripts (scripts/suites/*.sh, see scripts/suites/README) ---------
for s in $(ls scripts/suites/*.sh 2>/dev/null | LC_ALL=C sort); do
    n=$(basename "$s" .sh)
    echo "suite $n:"
    MBA_ROOT="$root" MBA_LIBRARY="$lib" MBA_PYTHON="$root/$venv/bin/python" \
        bash "$s" 2>&1 | tee "$logs/suite-$n.log"
    st=${PIPESTATUS[0]}
    last=$(tail -n 1 "$logs/suite-$n.log")
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        p=0 f=1; echo "suite $n: last line is not 'N passed, N failed'" >&2
    fi
    [ "$st" -eq 0 ] || [ "$f" -gt 0 ] || f=1
    record "suite $n" "$st" "$p" "$f"
done

# --- summary ------------------------------------------------------------------
echo
echo "==== summary (logs in $logs/) ===="
tp=0 tf=0 bad=0
for i in "${!names[@]}"; do
    printf '%-28s %6s passed %4s failed %5ss  %s\n' "${names[$i]}" "${passes[$i]}" "${fails[$i]}" "${secs[$i]}" "${states[$i]}"
    tp=$((tp + passes[i])); tf=$((tf + fails[i]))
    [[ ${states[$i]} == ok* ]] || bad=1
done
echo "$tp passed, $tf failed"
[ "$bad" -eq 0 ] && [ "$tf" -eq 0 ]

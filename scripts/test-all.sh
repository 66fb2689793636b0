#!/usr/bin/env bash
# The whole libmba test suite: Rust unit and integration tests, the C ABI
# tests (C programs built against the real libmba.so, bindgen and header
# checks), the multi-process tests, and the Python binding's pytest suite.
# Installs what it needs (Debian, as root) and is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- system packages -------------------------------------------------------
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v strace >/dev/null 2>&1 || missing+=(strace)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust and C -------------------------------------------------------------
cargo build --release --workspace
ln -sf libmba.so target/release/libmba.so.0
cargo test --release --workspace 2>&1 | tee target/cargo-test.log
status=${PIPESTATUS[0]}

# --- Python -----------------------------------------------------------------
venv=target/venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check pytest numpy
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./examples-python
set +e
# Once with the Python methods alone (as on a Python without the CPython
# bridge, see examples-python/mba/_bridge.py), then as users run it.
echo "pytest with MBA_PY_BRIDGE=0 (the binding's Python methods alone):"
MBA_PY_BRIDGE=0 MBA_LIBRARY="$PWD/target/release/libmba.so" "$venv/bin/python" -m pytest -q examples-python/tests
nobridge=$?
echo "pytest with the CPython bridge:"
MBA_LIBRARY="$PWD/target/release/libmba.so" "$venv/bin/python" -m pytest -q examples-python/tests
pystatus=$?
[ "$pystatus" -ne 0 ] || pystatus=$nobridge
set -e

if [ "$status" -ne 0 ]; then
    echo "cargo test failed (exit $status); see target/cargo-test.log" >&2
    exit "$status"
fi
exit "$pystatus"

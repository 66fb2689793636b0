#!/usr/bin/env bash
# Runs the Python binding's pytest suite under several CPython versions,
# with the CPython bridge and without it (MBA_PY_BRIDGE=0).
#
#   bash scripts/test-pythons.sh                 # every python3.8 .. python3.13 on PATH
#   bash scripts/test-pythons.sh /path/to/python3.12 /path/to/python3.8
#
# Each interpreter gets a venv under target/pyvenvs/ with pytest and numpy
# (needs the network once). Not part of .ci/run: CI machines have one
# Python; this is for checking the 3.8-3.13 promise where more exist
# (pyenv, deadsnakes, uv). Ends with a line "N passed, N failed" counting
# the (interpreter, mode) runs.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p mba >&2 || exit 1
lib="$PWD/target/release/libmba.so"

pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
        p=$(command -v "python$v") && pythons+=("$p")
    done
fi
if [ ${#pythons[@]} -eq 0 ]; then
    echo "no python3.8 .. python3.13 found on PATH; pass interpreters as arguments" >&2
    exit 2
fi

passed=0
failed=0
for py in "${pythons[@]}"; do
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || { failed=$((failed + 2)); continue; }
    venv="target/pyvenvs/$ver"
    if [ ! -x "$venv/bin/python" ]; then
        "$py" -m venv "$venv" || { failed=$((failed + 2)); continue; }
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest numpy >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./examples-python >&2
    for bridge in 1 0; do
        echo "== Python $ver, MBA_PY_BRIDGE=$bridge"
        if MBA_PY_BRIDGE=$bridge MBA_LIBRARY="$lib" "$venv/bin/python" -m pytest -q -p no:cacheprovider examples-python/tests | tail -n 1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

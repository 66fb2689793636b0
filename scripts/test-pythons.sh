#!/usr/bin/env bash
# Runs the Python binding's pytest suite under several CPython versions,
# with the extension module mba._ext and without it (MBA_PY_EXT=0, the
# ctypes path).
#
#   bash scripts/test-pythons.sh                 # every python3.8 .. python3.13 on PATH
#   bash scripts/test-pythons.sh /path/to/python3.12 /path/to/python3.8
#
# Each interpreter gets a venv under target/pyvenvs/ with pytest, numpy,
# mypy and the build tools (setuptools-rust; needs the network once), and
# the package built from ./examples-python into it (libmba and mba._ext;
# cargo's target directory is $CARGO_TARGET_DIR, else target/). The runs
# use target/release's libmba.so through MBA_LIBRARY, as .ci/run does.
# Not part of .ci/run: CI machines have one Python; this is for checking
# the 3.8-3.13 promise where more exist (pyenv, deadsnakes, uv). Prints
# each run's failures and pytest summary, and ends with a line
# "N passed, N failed" counting the (interpreter, mode) runs.
set -uo pipefail
cd "$(dirname "$0")/.."
env -u CARGO_TARGET_DIR cargo build --release -p mba >&2 || exit 1
lib="$PWD/target/release/libmba.so"
ln -sf libmba.so target/release/libmba.so.0

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
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest numpy mypy \
        "setuptools>=61" setuptools-rust wheel >&2
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
            --force-reinstall --no-deps ./examples-python >&2; then
        failed=$((failed + 2)); continue
    fi
    rm -rf examples-python/build
    for ext in 1 0; do
        echo "== Python $ver, MBA_PY_EXT=$ext"
        active=$(MBA_PY_EXT=$ext MBA_LIBRARY="$lib" "$venv/bin/python" -c 'from mba import _bridge; print(int(bool(_bridge.active)))')
        if [ "$active" != "$ext" ]; then
            echo "   the extension is $([ "$active" = 1 ] && echo active || echo inactive) with MBA_PY_EXT=$ext"
            failed=$((failed + 1)); continue
        fi
        if MBA_PY_EXT=$ext MBA_LIBRARY="$lib" "$venv/bin/python" -m pytest -q -p no:cacheprovider examples-python/tests |
                grep -E '^(FAILED|ERROR) |^[0-9]+ (passed|failed)'; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/bash
# The Python package on PyPy (the pure-ctypes path: no PyDLL, pythonapi or
# sys.getrefcount there): the whole pytest suite of examples-python/tests
# under pypy3, CPython-only tests skipped with their reasons (pytest -rs
# lists them). Counts pytest's own cases: passed, and failed + errors.
# Makes (or reuses) the venv target/pypy-venv with pytest and numpy (a
# pp39 wheel; without it the numpy tests skip), then installs the package
# with --no-deps (through "python -m pip": a venv copied from another
# tree keeps that tree's path in bin/pip's #! line, and would install
# there). Needs: pypy3 and pypy3-venv (Debian); the first run
# needs the package index (pip) unless the venv exists already.
# Without pypy3 it says so and counts nothing.
set -uo pipefail
ROOT="${MBA_ROOT:-$(pwd)}"
cd "$ROOT"
export MBA_LIBRARY="${MBA_LIBRARY:-$ROOT/target/release/libmba.so}"
VENV="$ROOT/target/pypy-venv"
LOG="$ROOT/target/pypy-suite.log"

if ! command -v pypy3 >/dev/null; then
    echo "  pypy3 is not installed (Debian: apt-get install pypy3 pypy3-venv): nothing run"
    echo "0 passed, 0 failed"
    exit 0
fi
echo "  ($(pypy3 --version 2>&1 | tr '\n' ' '))"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pytest" 2>/dev/null; then
    rm -rf "$VENV"
    if ! pypy3 -m venv "$VENV" >"$LOG" 2>&1; then
        sed 's/^/    | /' "$LOG" | tail -20
        echo "  cannot make a PyPy venv (Debian: apt-get install pypy3-venv)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    if ! "$VENV/bin/python" -m pip install -q pytest >>"$LOG" 2>&1; then
        sed 's/^/    | /' "$LOG" | tail -20
        echo "  cannot install pytest into $VENV"
        echo "0 passed, 1 failed"
        exit 1
    fi
    # (Only a binary wheel: building numpy under PyPy takes many minutes.)
    "$VENV/bin/python" -m pip install -q --only-binary=:all: numpy >>"$LOG" 2>&1 ||
        echo "  no numpy wheel for this PyPy: the numpy tests skip"
fi
if ! "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall ./examples-python >"$LOG" 2>&1; then
    sed 's/^/    | /' "$LOG" | tail -20
    echo "0 passed, 1 failed"
    exit 1
fi

# One seed of the randomised array.array oracle (the CPython runs do
# three): ~100 s in all on an idle 2-core machine, ~150 s on a busy one.
MBA_ORACLE_SEEDS=1 timeout 240 "$VENV/bin/python" -m pytest -q -rs \
    -p no:cacheprovider examples-python/tests >"$LOG" 2>&1
rc=$?
summary=$(grep -E '^=*\s*[0-9]+ (passed|failed|error|skipped)|^[0-9]+ (passed|failed|skipped)' "$LOG" | tail -1)
grep -E '^SKIPPED' "$LOG" | sed 's/^/  /' | sort | uniq -c | sort -rn | head -20
num() { echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
passed=$(num passed)
failed=$(( $(num failed) + $(num error) ))
if [ $rc -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1  # (a timeout, or pytest could not run)
fi
if [ $rc -ne 0 ]; then
    grep -E '^(FAILED|ERROR)' "$LOG" | sed 's/^/  /' | head -40
    tail -20 "$LOG" | sed 's/^/    | /'
fi
echo "  pytest: $summary"
echo "$passed passed, $failed failed"
[ $rc -eq 0 ]

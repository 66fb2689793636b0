#!/bin/bash
# Header mutation test (issue 14): every header field corrupted in turn,
# cut-short files and 1,500 seeded bit flips, each opened through the C ABI
# in a forked child and checked against the independent reader
# ffi-tests/refreader/refreader.py (written from docs/FORMAT.md).
set -euo pipefail
cd "${MBA_ROOT:-.}/ffi-tests/refreader"
exec "${MBA_PYTHON:-python3}" mutate.py 1000 14

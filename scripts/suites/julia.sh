#!/usr/bin/env bash
# examples-julia/Mba.jl is "signature-checked, not run": Julia cannot be
# installed where libmba is tested. examples-julia/check_ccalls.py (Python,
# standard library) checks every ccall of Mba.jl against include/mba.h
# (name, library, return type, each argument type, argument and value
# counts), the Julia structs Options and Info against struct mba_options and
# struct mba_info field by field, and that the wrappers a binding needs
# exist; its self-test makes each of a list of deliberate mistakes in a copy
# of Mba.jl and expects every one to be caught. The file is also parsed by
# tree-sitter-julia (pip-installed into target/julia-venv) for syntax
# errors; if that cannot be installed, the syntax cases are reported as
# skipped, not passed. One case per check. Last line: `N passed, N failed`.
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
venv=target/julia-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import tree_sitter, tree_sitter_julia' 2>/dev/null ||
    { python3 -m venv --clear "$venv" >"$tmp/venv.log" 2>&1 &&
      "$venv/bin/pip" install -q --retries 1 --timeout 20 'tree-sitter>=0.22,<1' 'tree-sitter-julia>=0.23,<1' >>"$tmp/venv.log" 2>&1; }; then
    py=$venv/bin/python
    syntax=(--syntax)
else
    echo "SKIPPED Julia syntax check: tree-sitter-julia could not be installed:"
    sed 's/^/    | /' "$tmp/venv.log" | tail -n 5
    syntax=()
fi
"$py" examples-julia/check_ccalls.py "${syntax[@]}" --self-test examples-julia/Mba.jl >"$tmp/out" 2>&1
st=$?
cat "$tmp/out"
pass=$(grep -c '^ok ' "$tmp/out")
fail=$(grep -c '^FAILED ' "$tmp/out")
# A crash of the checker, or a failure it did not report, is a failure too.
[ "$st" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
[ "$pass" -ge 16 ] || { echo "FAILED too few checks ran ($pass)"; fail=$((fail + 1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

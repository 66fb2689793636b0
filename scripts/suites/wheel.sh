#!/usr/bin/env bash
# The Python wheel (issue 17): `pip wheel ./examples-python` builds libmba
# and the extension module mba._ext with setuptools-rust into a wheel tagged
# for the platform; installed from that file into a fresh venv (no index,
# no compiler used), `import mba` works from elsewhere with no target/
# directory in reach and MBA_LIBRARY unset: the library loaded is the one in
# site-packages, the extension is active and bound to it, and the process
# maps one libmba. MBA_LIBRARY still overrides it. The sdist builds the
# same wheel on its own (it carries libmba's crate).
# Cargo builds into target/wheel (kept between runs: warm, well under 2
# minutes; cold, a few). Needs setuptools-rust in $MBA_PYTHON's venv (or
# the network, to install it there).
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
root=$PWD
py=${MBA_PYTHON:-python3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $*" >&2; fi; }
if ! "$py" -c 'import setuptools_rust, wheel' 2>/dev/null; then
    "$py" -m pip install -q "setuptools>=61" setuptools-rust wheel >"$tmp/pip.log" 2>&1 || cat "$tmp/pip.log"
fi
export CARGO_TARGET_DIR="$root/target/wheel"
if ! "$py" -m pip wheel -q --no-deps --no-build-isolation ./examples-python -w "$tmp/dist" >"$tmp/build.log" 2>&1; then
    tail -30 "$tmp/build.log"; echo "0 passed, 1 failed"; exit 1
fi
rm -rf examples-python/build
whl=$(ls "$tmp"/dist/mba-*.whl)
tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
# 1. tagged for this CPython and platform, not py3-none-any
check sh -c "basename '$whl' | grep -Eq -- '-$tag-$tag-linux_[a-z0-9_]+\.whl$'"
# 2. it carries the library (under its SONAME), the extension and py.typed
names=$("$py" -m zipfile -l "$whl")
check sh -c "echo '$names' | grep -q 'mba/libmba.so.0 '"
check sh -c "echo '$names' | grep -Eq 'mba/_ext\.cpython-[^ ]*\.so '"
check sh -c "echo '$names' | grep -q 'mba/py.typed '"
# 3. a fresh venv installs the wheel file alone (no index, no build)
mkdir -p "$tmp/elsewhere"
cp "$whl" "$tmp/elsewhere/"
"$py" -m venv "$tmp/venv" >/dev/null 2>&1
check "$tmp/venv/bin/python" -m pip install -q --no-index --no-deps "$tmp/elsewhere/$(basename "$whl")"
# 4. imported from elsewhere, MBA_LIBRARY unset: site-packages' library,
#    the extension bound to it, one libmba mapped, arrays work
cat > "$tmp/elsewhere/probe.py" <<'PY'
import os, sys, sysconfig
import mba
from mba import _bridge, _lib
site = os.path.realpath(sysconfig.get_paths()["purelib"])
lib = os.path.realpath(_lib.path)
maps = {os.path.realpath(l.split(None, 5)[5].strip()) for l in open("/proc/self/maps")
        if len(l.split(None, 5)) == 6 and "libmba" in l.split(None, 5)[5]}
a = mba.mmaparray("i", [1, 2])
a.append(3)
assert a[-1] == 3 and len(a) == 3 and bytes(memoryview(a)) == a.tobytes()
print(lib.startswith(site + os.sep), _bridge.active, maps == {lib}, lib)
PY
out=$(cd "$tmp/elsewhere" && env -u MBA_LIBRARY -u PYTHONPATH "$tmp/venv/bin/python" probe.py 2>&1)
check test "${out% *}" = "True True True"
# 5. MBA_LIBRARY still wins, for ctypes and the extension alike
if [ -n "${MBA_LIBRARY:-}" ]; then
    want=$(realpath "$MBA_LIBRARY")
    out=$(cd "$tmp/elsewhere" && env -u PYTHONPATH "$tmp/venv/bin/python" probe.py 2>&1)
    check test "$out" = "False True True $want"
fi
# 6. the source distribution carries libmba's crate: a wheel built from the
#    unpacked sdist alone (no repository around it) has the same files.
#    Unpacked at a fixed place (target/wheel-sdist) so that cargo's
#    fingerprints stay valid between runs (warm: only the checks run).
sdist=$root/target/wheel-sdist
rm -rf "$sdist"; mkdir -p "$sdist"
if (cd examples-python && "$py" setup.py -q sdist -d "$sdist") >"$tmp/sdist.log" 2>&1; then
    rm -rf examples-python/build
    sd=$(ls "$sdist"/mba-*.tar.gz)
    files=$(tar tzf "$sd")
    for f in libmba/Cargo.toml libmba/Cargo.lock libmba/build.rs libmba/src/lib.rs \
             ext/Cargo.toml ext/src/lib.rs mba/__init__.pyi setup.py; do
        check sh -c "echo '$files' | grep -qx 'mba-[0-9.]*/$f'"
    done
    check sh -c "! echo '$files' | grep -q '\.so'"
    tar xzf "$sd" -C "$sdist"
    if "$py" -m pip wheel -q --no-deps --no-build-isolation "$sdist"/mba-*/ \
            -w "$sdist/dist" >"$tmp/sdist-build.log" 2>&1; then
        fromsd=$("$py" -m zipfile -l "$sdist"/dist/mba-*.whl | awk '{print $1}' | sort)
        fromrepo=$("$py" -m zipfile -l "$whl" | awk '{print $1}' | sort)
        check test "$fromsd" = "$fromrepo"
    else
        tail -30 "$tmp/sdist-build.log"; check false
    fi
else
    tail -30 "$tmp/sdist.log"; check false
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

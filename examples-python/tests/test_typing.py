"""The type hints the package ships (py.typed; mba/__init__.pyi,
mba/sharedarray.pyi, mba/_ext.pyi), checked with mypy where it is
installed in the test venv (skipped otherwise):

- a short user script of the public API type-checks clean under --strict,
  and the same script with one planted error (a str appended to an 'i'
  array) fails on exactly that line: mmaparray is generic in its element
  type, as typeshed's array.array;
- mypy's stubtest finds the stubs consistent with the installed package at
  run time (every public name, signature and class present on both sides);
  the private modules mba._* have no stubs of their own and are skipped.

Both run the installed package, as a user's mypy sees it (site-packages)."""

import os
import platform
import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy is not installed in this venv")
pytestmark = pytest.mark.skipif(
    platform.python_implementation() == "PyPy", reason="mypy runs on CPython")

USER = '''\
import mba
import mba.sharedarray as sa

a = mba.mmaparray("i", [1, 2, 3])
a.append(4)
x: int = a[0] + a.pop()
s: str = mba.mmaparray("u", "abc")[1]
f = mba.mmaparray("d", [0.5])
f.extend([1.5, 2.0])
y: float = f[0]
b = mba.attach("shm://demo")
rows: int = b.shape[0] + len(a) + b.seq
n = sa.create("demo2", (3, 4))
n[1, 2] = 7.5
try:
    mba.delete("nope")
except mba.NotFoundError as e:
    print(e.code, mba.typecodes, n.sum(), sa.list()[0].dims)
with a.locked():
    a[0] = 5
a.close()
'''
PLANTED = 'a.append("x")\n'


def _mypy(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental",
         "--cache-dir", os.devnull] + list(args),
        cwd=str(tmp_path), capture_output=True, text=True, timeout=120)


def test_user_script_type_checks_and_a_planted_error_is_caught(tmp_path):
    (tmp_path / "good.py").write_text(USER)
    (tmp_path / "bad.py").write_text(USER + PLANTED)
    p = _mypy(tmp_path, "--strict", "good.py")
    assert p.returncode == 0, p.stdout + p.stderr
    p = _mypy(tmp_path, "--strict", "bad.py")
    assert p.returncode == 1, p.stdout + p.stderr
    errors = [line for line in p.stdout.splitlines() if ": error:" in line]
    line = len(USER.splitlines()) + 1
    assert len(errors) == 1 and errors[0].startswith("bad.py:%d:" % line), p.stdout
    assert '"append"' in errors[0] and '"str"' in errors[0], errors[0]


def test_stubs_match_the_package(tmp_path):
    pytest.importorskip("mypy.stubtest")
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\n"
        "[mypy-mba.*]\nignore_errors = True\n"  # (the untyped sources)
        "[mypy-cffi]\nignore_missing_imports = True\n")
    (tmp_path / "allow.txt").write_text(
        "# the private modules: no stubs of their own\n"
        "mba\\._\\w+(\\..*)?\n"
        "# the stub leaves __init__ out (it does nothing), so that mypy\n"
        "# types mmaparray(...) by __new__'s overloads\n"
        "mba\\.(mmaparray|array)\\.__init__\n")
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", "mypy.ini",
         "--allowlist", "allow.txt", "mba"],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr

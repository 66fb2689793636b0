"""The type hints the package ships (py.typed; mba/__init__.pyi,
mba/sharedarray.pyi, mba/_ext.pyi), checked with mypy where it is
installed in the test venv (skipped otherwise):

- a short user script of the public API type-checks clean under --strict,
  and the same script with one planted error (a str appended to an 'i'
  array) fails on exactly that line: mmaparray is generic in its element
  type, as typeshed's array.array;
- the stubs and the installed package at run time name the same public
  API: functions with the same parameters, mmaparray's methods and
  properties, the extension's (mypy's stubtest does more but takes ~40 s
  on a busy machine and cannot accept both paths: array.array's methods
  are positional-only in the stubs and in the extension, not in the
  Python fallback).

All run the installed package, as a user's mypy sees it (site-packages)."""

import ast
import importlib.util
import inspect
import os
import platform
import subprocess
import sys

import pytest


def _needs_mypy():
    if platform.python_implementation() == "PyPy":
        pytest.skip("mypy runs on CPython")
    pytest.importorskip("mypy", reason="mypy is not installed in this venv")

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
    _needs_mypy()
    (tmp_path / "good.py").write_text(USER)
    (tmp_path / "bad.py").write_text(USER + PLANTED)
    p = _mypy(tmp_path, "--strict", "good.py", "bad.py")  # (one run: numpy's stubs take most of it)
    errors = [line for line in p.stdout.splitlines() if ": error:" in line]
    line = len(USER.splitlines()) + 1
    assert len(errors) == 1 and errors[0].startswith("bad.py:%d:" % line), p.stdout + p.stderr
    assert '"append"' in errors[0] and '"str"' in errors[0], errors[0]
    assert p.returncode == 1


def _stub(name):
    """{name: node} of the public top-level definitions of a stub file of
    the installed package, and {class: {member: node}}."""
    spec = importlib.util.find_spec(name)
    path = os.path.splitext(spec.origin)[0] + ".pyi"
    if os.path.basename(path) == "__init__.pyi" or name.endswith("_ext"):
        path = os.path.join(os.path.dirname(spec.origin),
                            name.rsplit(".", 1)[-1] + ".pyi")
    if name == "mba":
        path = os.path.join(os.path.dirname(spec.origin), "__init__.pyi")
    with open(path) as f:
        tree = ast.parse(f.read())
    top, classes = {}, {}

    def names(body, out):
        for node in body:
            if isinstance(node, ast.If):  # (version checks)
                names(node.body, out)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out[node.name] = node
            elif isinstance(node, ast.ImportFrom):  # (re-exports)
                for a in node.names:
                    if a.asname == a.name:
                        out[a.name] = node
            elif isinstance(node, ast.AnnAssign):
                out[node.target.id] = node
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    out[t.id] = node
    names(tree.body, top)
    for n, node in top.items():
        if isinstance(node, ast.ClassDef):
            classes[n] = {}
            names(node.body, classes[n])
    public = {n: v for n, v in top.items() if not n.startswith("_") or n == "__version__"}
    return public, classes


def _params(fn):
    a = fn.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


def test_stubs_name_the_runtime_api():
    """Fast, on every path (with the extension or not): what the stubs
    declare exists at run time with the same parameter names, and every
    public name the package has is in the stubs."""
    import mba
    import mba.sharedarray as sa
    top, classes = _stub("mba")
    assert set(mba.__all__) <= set(top), set(mba.__all__) - set(top)
    for n, node in top.items():
        assert hasattr(mba, n), n
        if isinstance(node, ast.FunctionDef):
            want = list(inspect.signature(getattr(mba, n)).parameters)
            assert _params(node) == want, n
    stub = classes["mmaparray"]
    have = {n for n in dir(mba.mmaparray) if not n.startswith("_")}
    assert have <= set(stub), have - set(stub)
    for n, node in stub.items():
        if n == "__buffer__" or n == "__release_buffer__":
            continue  # (CPython 3.12+, or the extension)
        assert hasattr(mba.mmaparray, n), n
    top, classes = _stub("mba.sharedarray")
    public = {n for n in vars(sa) if not n.startswith("_")
              and not inspect.ismodule(getattr(sa, n))}
    assert public - {"collections", "numpy", "L"} <= set(top), public - set(top)
    for n, node in top.items():
        assert hasattr(sa, n), n
        if isinstance(node, ast.FunctionDef):
            assert _params(node) == list(inspect.signature(getattr(sa, n)).parameters), n
    from mba import _bridge
    if _bridge.active:
        from mba import _ext
        top, classes = _stub("mba._ext")
        # (private: the stub may leave out helpers of mba's own modules)
        assert set(top) <= set(dir(_ext)), set(top) - set(dir(_ext))
        have = {n for n in vars(_ext.Base) if not n.startswith("__")}
        assert have <= set(classes["Base"]), have - set(classes["Base"])

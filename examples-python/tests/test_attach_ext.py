"""mba.attach through the extension (mba._ext.attach, the CPython fast
path of _open._attach) against the ctypes path it replaces: the same
arrays (every field mmaparray._setup sets) and the same errors, message
for message, for missing names, bad headers, truncated files, wrong or
unsupported element types, rows, read-only attaches, and a second user
refused by the file's mode. Skipped where the extension is not used."""

import os
import subprocess
import sys

import pytest

import mba
from mba import _lib as L, _open

from conftest import SETPRIV, skip_unless_second_user

pytestmark = pytest.mark.skipif(
    _open._ext_attach is None or _open._ext_attach_name is None,
    reason="mba.attach does not use the extension here")

# Fields whose values differ between two live handles of one array.
_PER_HANDLE = {"_own", "__weakref__"}


def _both(name, *args, **kw):
    """What each path gives: the extension's attach_name (a normal str
    name, no dtype), its attach (through _open._attach), and ctypes; each
    the array's fields or the exception's type and message. The first two
    are compared (equal) here; the ctypes one is returned beside them."""
    out = []
    saved = (_open._ext_attach, _open._ext_attach_name)
    keep = []
    for fns in (saved, (saved[0], None), (None, None)):
        _open._ext_attach, _open._ext_attach_name = fns
        try:
            a = mba.attach(name, *args, **kw)
        except Exception as e:  # noqa: BLE001 - compared
            out.append((type(e), str(e)))
        else:
            keep.append(a)
            fields = {k: getattr(a, k) for k in a.__slots__ if k not in _PER_HANDLE}
            fields.update({"h>0": a._h > 0, "typecode": a.typecode, "len": len(a),
                           "ro": a.readonly if hasattr(a, "readonly") else None})
            out.append(fields)
            out[-1].pop("_h", None)
        finally:
            _open._ext_attach, _open._ext_attach_name = saved
    for a in keep:
        a.close()
    assert out[0] == out[1], out
    return out[1], out[2]


def _same(name, *args, **kw):
    ext, ct = _both(name, *args, **kw)
    assert ext == ct
    return ext


def test_same_array(shm_name, tmp_path):
    a = mba.create(shm_name, 5, "q")
    a[0] = 42
    r = _same(shm_name)
    assert r["typecode"] == "q" and r["len"] == 5 and r["_tc"] == "q"
    assert _same(shm_name, "l")["typecode"] == "l"
    assert _same(shm_name, readonly=True)["_ro"] is True
    p = "file://%s" % (tmp_path / "rows.mba")
    mba.create(p, (3, 2, 4), "d").close()
    assert _same(p)["_row"] == (2, 4)
    for tc in "bBhHiIfdQ":
        q = "file://%s" % (tmp_path / ("t%s.mba" % tc))
        mba.create(q, 2, tc).close()
        assert _same(q)["_tc"] == tc
    a.close()


def test_fast_paths_armed(shm_name):
    a = mba.create(shm_name, 3, "d")
    a[2] = 1.5
    b = mba.attach(shm_name)
    assert b[2] == 1.5 and b[-1] == 1.5 and len(b) == 3
    b.append(2.5)
    assert a[3] == 2.5
    b.close()
    with pytest.raises(ValueError):
        b[0]
    a.close()


def test_same_errors(shm_name, tmp_path):
    for name in (shm_name + "-missing", "file://%s" % (tmp_path / "missing.mba")):
        ext, ct = _both(name)
        assert ext == ct and issubclass(ext[0], FileNotFoundError), ext
    mba.create(shm_name, 2, "i").close()
    ext, ct = _both(shm_name, "d")
    assert ext == ct and issubclass(ext[0], TypeError), ext
    bad = tmp_path / "bad.mba"
    bad.write_bytes(b"\x89MBA garbage" * 7000)
    ext, ct = _both("file://%s" % bad)
    assert ext == ct and issubclass(ext[0], mba.MBAError), ext
    short = tmp_path / "short.mba"
    mba.create("file://%s" % short, 10, "q").close()
    os.truncate(short, 4096)
    ext, ct = _both("file://%s" % short)
    assert ext == ct and issubclass(ext[0], mba.MBAError), ext


def test_unsupported_element_type(tmp_path):
    # An array of an element type the binding does not support (made
    # through the C API): the extension hands the open handle to Python,
    # which raises and closes it.
    name = "file://%s" % (tmp_path / "bool.mba")
    o = _open._opts(L.CREATE | L.EXCL, None, 4)
    o.elem_type = L.BOOL
    L.close(_open._open_ex(name, o))
    ext, ct = _both(name)
    assert ext == ct and ext[0] is mba.ElementTypeError, ext
    assert "bool" in ext[1]


def test_second_user_refused_alike(tmp_path):
    skip_unless_second_user()
    path = tmp_path / "private.mba"
    mba.create("file://%s" % path, 2, "d").close()   # mode 0600, root's
    os.chmod(tmp_path, 0o755)
    code = ("import mba\nfrom mba import _open\nprint(_open._ext_attach is not None)\n"
            "try:\n mba.attach(%r)\nexcept PermissionError as e:\n print(e)\n"
            % ("file://%s" % path))
    outs = []
    for ext in ("1", "0"):
        p = subprocess.run(
            SETPRIV + [sys.executable, "-c", code], capture_output=True, text=True,
            env=dict(os.environ, MBA_PY_EXT=ext), timeout=60)
        if p.returncode and "ermission denied" in p.stderr and "mba" not in p.stdout:
            pytest.skip("the interpreter or package is not usable by uid 65534")
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.split("\n", 1))
    assert outs[0][0] == "True" and outs[1][0] == "False", outs
    assert outs[0][1] == outs[1][1] and "owner or mode" in outs[0][1], outs


def test_names_not_normal_take_the_general_path(tmp_path, monkeypatch):
    # attach_name answers None for a name _norm_name would change (or one
    # it cannot encode as os.fsencode does): attach then normalizes it.
    monkeypatch.chdir(tmp_path)
    mba.create("file://%s" % (tmp_path / "n.mba"), 2, "h").close()
    (tmp_path / "sub").mkdir()
    for name in ("file://n.mba", "file://./n.mba", "file://%s/./n.mba" % tmp_path,
                 "file://%s//n.mba" % tmp_path, "file://%s/sub/../n.mba" % tmp_path):
        assert _open._ext_attach_name(_open.mmaparray, name, 0) is None, name
        assert _same(name)["_tc"] == "h"
    p = "file://%s" % (tmp_path / "n.mba")
    r = _open._ext_attach_name(_open.mmaparray, p, 0)
    assert r._name == p and r._ref == ("open", p, 0)
    r.close()
    assert _open._ext_attach_name(_open.mmaparray, p + "/", 0) is None
    assert _open._ext_attach_name(_open.mmaparray, p + "\x00", 0) is None
    assert _open._ext_attach_name(_open.mmaparray, "file://%s/\udcff" % tmp_path, 0) is None


def test_bare_and_shm_names(shm_name):
    mba.create(shm_name, 2, "f").close()
    assert _same(shm_name)["_name"] == "shm://" + shm_name
    assert _same("shm://" + shm_name)["_tc"] == "f"


def test_subclass_takes_the_setattr_path(shm_name):
    # The extension stores the slots of an mmaparray straight through their
    # member definitions; an instance of another class (here a subclass)
    # gets them by setattr: the same fields either way.
    mba.create(shm_name, 3, "i").close()

    class Sub(_open.mmaparray):
        pass
    n = "shm://" + shm_name
    a = _open._ext_attach(Sub, n.encode(), 0, 0, None, ("open", n, 0), n)
    b = mba.attach(n)
    assert type(a) is Sub and type(b) is _open.mmaparray

    def fields(x):
        return {k: getattr(x, k) for k in _open.mmaparray.__slots__
                if k not in _PER_HANDLE and k != "_h"}
    assert fields(a) == fields(b)
    a[1] = 9
    assert b[1] == 9 and len(a) == 3
    a.close()
    b.close()

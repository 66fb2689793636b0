"""SharedArray users (issue 17, section 2): mba.sharedarray is run through
the same script as the SharedArray package (installed from PyPI in the
test venv; where it is missing or cannot be built the comparison is
skipped with the reason, and mba.sharedarray's results are still checked
against numpy)."""

import gc
import importlib
import os
import subprocess
import sys

import pytest

from conftest import SETPRIV, skip_unless_second_user, unique_name

numpy = pytest.importorskip("numpy")

import mba  # noqa: E402
import mba.sharedarray as msa  # noqa: E402


def _sharedarray():
    try:
        return importlib.import_module("SharedArray"), None
    except Exception as e:  # not installed, or its C extension did not build
        return None, "SharedArray is not importable here: %r" % (e,)


def _outcome(f):
    try:
        r = f()
        if isinstance(r, numpy.ndarray):
            return ("ok", type(r).__name__, r.dtype.str, r.shape, r.tolist(), r.flags.writeable)
        return ("ok", r)
    except Exception as e:
        return ("error", [t.__name__ for t in (FileExistsError, FileNotFoundError, ValueError,
                                                TypeError, OSError) if isinstance(e, t)])


def _script(sa, name, tmp):
    """The same steps on either module; a list of comparable outcomes."""
    out = []
    shm = "shm://" + name
    a = sa.create(shm, (3, 4), dtype=numpy.float64)
    out.append(_outcome(lambda: a))
    a[1, 2] = 7.5
    a[:] += numpy.arange(4)
    a[2] = numpy.arange(4) * 2
    out.append(_outcome(lambda: a.sum(axis=0)))
    b = sa.attach(shm)
    out.append(_outcome(lambda: b))
    b[0, 0] = -1
    out.append(a[0, 0])  # the same memory
    ro = sa.attach(shm, ro=True)
    out.append(_outcome(lambda: ro))
    out.append(_outcome(lambda: ro.__setitem__((0, 0), 1)))
    out.append(_outcome(lambda: sa.create(shm, 3)))  # exists
    mine = [d for d in sa.list() if d.name == name.encode()]
    out.append([(d.name, numpy.dtype(d.dtype).str, tuple(d.dims)) for d in mine])
    out.append(_outcome(lambda: a.base.msync(sa.MS_SYNC)))
    out.append(_outcome(lambda: a.base.mlock()))
    out.append(_outcome(lambda: a.base.munlock()))
    out.append((isinstance(a.base.name, (str, bytes)), type(sa.list()).__name__))
    # Another process sees the writes (bare name: shm:// is assumed).
    code = ("import sys, importlib; sa = importlib.import_module(sys.argv[1]); "
            "x = sa.attach(sys.argv[2]); x[2, 3] = 42; print(x.sum())")
    p = subprocess.run([sys.executable, "-c", code, sa.__name__, name],
                       capture_output=True, text=True, env=os.environ)
    out.append((p.returncode, p.stdout.strip()))
    out.append(a[2, 3])
    # The mapping outlives the creating ndarray and the name.
    del a
    gc.collect()
    sa.delete(name)
    out.append(_outcome(lambda: b.sum()))
    out.append(_outcome(lambda: sa.attach(shm)))
    out.append(_outcome(lambda: sa.delete(shm)))
    # 1-D from an int shape, int dtype; file:// backing.
    c = sa.create(name, 5, dtype=numpy.int32)
    c[:] = numpy.arange(5)
    out.append(_outcome(lambda: sa.attach(name)))
    sa.delete(name)
    f = "file://" + os.path.join(tmp, "arr")
    d = sa.create(f, (2, 2), dtype=numpy.uint8)
    d[1, 1] = 9
    out.append(_outcome(lambda: d.base.msync(sa.MS_SYNC)))
    out.append(_outcome(lambda: sa.attach(f)))
    sa.delete(f)
    out.append(os.path.exists(os.path.join(tmp, "arr")))
    return out


def test_mba_sharedarray_script(tmp_path):
    name = unique_name("sa")
    try:
        got = _script(msa, name, str(tmp_path))
    finally:
        try:
            msa.delete(name)
        except OSError:
            pass
    # numpy as the oracle where SharedArray is absent.
    want = numpy.zeros((3, 4))
    want[1, 2] = 7.5
    want[:] += numpy.arange(4)
    want[2] = numpy.arange(4) * 2
    assert got[0] == ("ok", "ndarray", "<f8", (3, 4), numpy.zeros((3, 4)).tolist(), True)
    assert got[1][4] == want.sum(axis=0).tolist()
    assert got[3] == -1
    assert got[4][5] is False  # ro
    assert got[5][0] == "error" and "ValueError" in got[5][1]
    assert "FileExistsError" in got[6][1]
    assert got[7] == [(name.encode(), "<f8", (3, 4))]
    assert got[12][0] == 0 and got[13] == 42
    assert got[15][0] == "error" and "FileNotFoundError" in got[15][1]
    assert got[17][4] == [0, 1, 2, 3, 4] and got[17][2] == "<i4"
    assert got[19][4] == [[0, 0], [0, 9]]
    assert got[20] is False


def test_same_script_on_sharedarray(tmp_path):
    sa, why = _sharedarray()
    if sa is None:
        pytest.skip(why)
    name = unique_name("sa")
    want = _script(sa, name, str(tmp_path))
    got = _script(msa, unique_name("sa"), str(tmp_path))
    # (list() names differ only by the unique name.)
    want[7] = [(b"X",) + e[1:] for e in want[7]]
    got[7] = [(b"X",) + e[1:] for e in got[7]]
    for i, (w, g) in enumerate(zip(want, got)):
        assert g == w, "step %d: SharedArray %r, mba.sharedarray %r" % (i, w, g)


def test_secure_default_mode(shm_name):
    msa.create(shm_name, 3)
    st = os.stat("/dev/shm/" + shm_name)
    assert st.st_mode & 0o777 == 0o600
    msa.delete(shm_name)


def test_module_level_msync_mlock_munlock(shm_name):
    a = msa.create(shm_name, 4)
    msa.msync(a, msa.MS_ASYNC)
    msa.mlock(a)
    msa.munlock(a)
    msa.msync(a[1:3])  # a view: its base chain leads to the owner
    with pytest.raises(ValueError):
        msa.msync(numpy.zeros(3))
    msa.delete(shm_name)


def test_another_user_can_neither_attach_nor_list(shm_name):
    """The secure default (mode 0600): SharedArray's segments are 0666 &
    ~umask and attachable by anyone; these are not."""
    skip_unless_second_user()
    msa.create(shm_name, 3)
    code = ("import mba.sharedarray as sa\ntry:\n sa.attach(%r)\n"
            "except PermissionError:\n print('refused', %r in [d.name for d in sa.list()])\n"
            % (shm_name, shm_name.encode()))
    p = subprocess.run(
        SETPRIV + [sys.executable, "-c", code], capture_output=True, text=True,
        env=os.environ, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["refused", "False"], p.stdout + p.stderr

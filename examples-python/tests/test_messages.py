"""Error messages speak the Python user's language (issue 13): typecodes
and numpy dtypes instead of the library's Rust type names, what was
expected and what was found, and what to do."""

import ctypes.util
import os
import shutil
import subprocess
import sys

import pytest

import mba

from conftest import REPO, SETPRIV, skip_unless_second_user

SRC_PKG = os.path.join(REPO, "examples-python", "mba")


def _raises(exc, fn, *args, **kw):
    with pytest.raises(exc) as ei:
        fn(*args, **kw)
    return str(ei.value)


def test_type_mismatch_names_typecodes_and_dtypes(shm_name):
    mba.create(shm_name, 4, "d").close()
    msg = _raises(TypeError, mba.attach, shm_name, "q")
    assert "'d' (float64)" in msg and "'q' (int64)" in msg, msg
    assert "f64" not in msg and "i64" not in msg, msg
    assert "attach without a dtype" in msg, msg
    # Found, expected and the fix, whatever way the type was spelled.
    msg = _raises(TypeError, mba.attach, shm_name, "int32")
    assert "'d' (float64)" in msg and "'i' (int32)" in msg, msg


@pytest.mark.parametrize("tc,name", [
    ("b", "int8"), ("B", "uint8"), ("h", "int16"), ("H", "uint16"),
    ("i", "int32"), ("I", "uint32"), ("q", "int64"), ("Q", "uint64"),
    ("f", "float32"), ("d", "float64")])
def test_every_type_is_named_by_typecode(shm_name, tc, name):
    mba.create(shm_name, 1, tc).close()
    other = "d" if tc != "d" else "b"
    msg = _raises(TypeError, mba.attach, shm_name, other)
    assert "'%s' (%s)" % (tc, name) in msg, msg


def test_create_without_shape_is_a_growable_flat_array(shm_name):
    a = mba.create(shm_name, "d")
    assert (len(a), a.typecode) == (0, "d")
    a.append(2.5)
    a.extend([1.0, 2.0])
    assert a.tolist() == [2.5, 1.0, 2.0]
    a.close()
    b = mba.create(shm_name + "-i", "i")
    try:
        assert b.typecode == "i"
    finally:
        b.close()
        mba.delete(shm_name + "-i")


def test_create_with_shape_and_type_swapped_says_which_argument(shm_name):
    msg = _raises(TypeError, mba.create, shm_name, "d", "q")
    assert "shape must be an int or a tuple of ints" in msg, msg
    assert "dtype" in msg, msg


def test_bad_typecode_lists_the_valid_ones(shm_name):
    msg = _raises(TypeError, mba.create, shm_name, 3, "x")
    assert "unsupported element type 'x'" in msg and "typecodes" in msg, msg
    assert "numpy" in msg, msg


def test_bad_shape(shm_name):
    msg = _raises(ValueError, mba.create, shm_name, (3, 0), "d")
    assert "row dimensions must be positive" in msg, msg


def test_missing_name_says_how_to_find_names():
    msg = _raises(FileNotFoundError, mba.attach, "mba-pytest-no-such-name")
    assert "mba-pytest-no-such-name" in msg, msg
    assert "mba.create" in msg and "mba.list()" in msg, msg


def test_existing_name_says_what_to_do(shm_name):
    mba.create(shm_name, 1, "d").close()
    msg = _raises(FileExistsError, mba.create, shm_name, 1, "d")
    assert "mba.attach" in msg and "mba.delete" in msg, msg


def test_closed_array_says_attach_again(shm_name):
    a = mba.create(shm_name, 2, "d")
    a.close()
    with pytest.raises(ValueError) as ei:
        a.append(1.0)
    assert "closed" in str(ei.value), str(ei.value)


def test_readonly_says_how_to_write(shm_name):
    mba.create(shm_name, 2, "d").close()
    r = mba.attach(shm_name, readonly=True)
    try:
        msg = _raises(TypeError, r.append, 1.0)
        assert "readonly=True" in msg, msg
    finally:
        r.close()


def test_permission_names_the_mode(tmp_path):
    skip_unless_second_user()
    path = tmp_path / "private.mba"
    mba.create("file://%s" % path, 2, "d").close()   # mode 0600, root's
    os.chmod(tmp_path, 0o755)
    code = ("import mba\ntry:\n mba.attach(%r)\nexcept PermissionError as e:\n"
            " print(e)\n" % ("file://%s" % path))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(SRC_PKG))
    p = subprocess.run(
        SETPRIV + [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        timeout=60)
    assert p.returncode == 0, p.stderr
    assert "owner or mode" in p.stdout, p.stdout + p.stderr


def test_library_not_found_says_how_to_build(tmp_path):
    """An installed package without a bundled library (pip install before
    the library was built): the ImportError names only real places and
    says what to run."""
    if ctypes.util.find_library("mba"):
        pytest.skip("a system libmba is installed: the lookup would find it")
    site = tmp_path / "site-packages"
    shutil.copytree(SRC_PKG, str(site / "mba"),
                    ignore=shutil.ignore_patterns("*.so", "*.so.*", "__pycache__"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MBA_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)
    p = subprocess.run([sys.executable, "-c", "import mba"], capture_output=True,
                       text=True, env=env, cwd="/", timeout=60)
    assert p.returncode != 0
    err = p.stderr
    assert "ImportError" in err, err
    tried = err.rsplit("Tried:", 1)[1].split("(build the library first")[0]
    assert "target" + os.sep not in tried, err      # no impossible path
    assert str(site) in tried and "libmba.so.0" in tried, err
    assert "make" in err and "pip install --force-reinstall" in err, err
    assert "MBA_LIBRARY" in err, err

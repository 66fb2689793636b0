"""Named arrays (SharedArray-style), files, raw files, pickling."""

import array
import multiprocessing
import os
import pickle
import stat

import pytest

import mba
from mba import mmaparray

from conftest import unique_name


def test_create_attach_delete_list(shm_name):
    a = mba.create(shm_name, 5, "i")
    assert len(a) == 5 and a.tolist() == [0] * 5  # zero-filled
    assert a.name == "shm://" + shm_name
    assert "shm://" + shm_name in mba.list()
    a[2] = 7
    b = mba.attach("shm://" + shm_name)  # bare name == shm://NAME
    assert b.typecode == "i" and b.tolist() == [0, 0, 7, 0, 0]
    with pytest.raises(FileExistsError):
        mba.create(shm_name, 1, "i")
    mba.delete(shm_name)
    assert "shm://" + shm_name not in mba.list()
    with pytest.raises(FileNotFoundError):
        mba.attach(shm_name)
    # Existing attachments stay valid and shared.
    b.append(9)
    assert a.tolist() == [0, 0, 7, 0, 0, 9]
    a.close()
    b.close()


def test_default_permissions_are_private(shm_name):
    a = mba.create(shm_name, 1, "B")
    mode = stat.S_IMODE(os.stat("/dev/shm/" + shm_name).st_mode)
    assert mode == 0o600
    a.close()


def test_row_shape_and_dtype_names(shm_name):
    a = mba.create(shm_name, (4, 3), "float32")
    assert a.typecode == "f" and a.row_shape == (3,) and a.shape == (4, 3)
    assert len(a) == 4 and a[0] == [0.0, 0.0, 0.0]
    a[1] = [1, 2, 3]
    a.append([4.5, 5, 6])
    assert a.tolist()[1] == [1.0, 2.0, 3.0] and a[-1] == [4.5, 5.0, 6.0]
    with pytest.raises(ValueError):
        a.append([1, 2])
    assert a.pop() == [4.5, 5.0, 6.0]
    v = a.view()
    assert v.shape == (4, 3) and v.format == "f"
    b = mba.attach(shm_name)
    assert b.shape == (4, 3)
    a.close()
    b.close()


def test_attach_checks_type(shm_name):
    a = mba.create(shm_name, 3, "q")
    with pytest.raises(TypeError):
        mba.attach(shm_name, "i")
    with pytest.raises(TypeError):
        mba.attach(shm_name, "Q")
    assert mba.attach(shm_name).typecode == "q"
    assert mba.attach(shm_name, "l").typecode == "l"  # same 64-bit type
    assert mba.attach(shm_name, "int64").typecode == "q"
    a.close()


def test_data_survives_creator(shm_name, py):
    py("""
        import sys, mba
        a = mba.create(sys.argv[1], 0, 'd')
        a.extend([1.5, 2.5])
        a.close()
    """, shm_name)
    b = mba.attach(shm_name, "d")
    assert b.tolist() == [1.5, 2.5]
    b.close()


def test_readonly_attach_refuses_writes(shm_name):
    a = mba.create(shm_name, 3, "i")
    r = mba.attach(shm_name, readonly=True)
    assert r.readonly
    for op in (lambda: r.append(1), lambda: r.__setitem__(0, 1), lambda: r.pop(),
               lambda: r.extend([1]), lambda: r.reverse(), lambda: r.insert(0, 1),
               lambda: r.__delitem__(0), lambda: r.clear()):
        with pytest.raises(TypeError):  # mba.ReadOnlyError
            op()
    v = r.view()
    assert v.readonly
    with pytest.raises(TypeError):
        v[0] = 1
    a.append(5)
    assert r.tolist() == [0, 0, 0, 5]
    a.close()
    r.close()


def test_open_modes(tmp_path):
    p = tmp_path / "x.mba"
    with pytest.raises(FileNotFoundError):
        mba.open(p, "r")
    with pytest.raises(TypeError):
        mba.open(p, "x")  # creating needs a dtype
    with mba.open(p, "x", "H", 2) as a:
        a.extend([1, 2])
        a.flush()
        a.flush(mba.ASYNC)
        a.flush(mba.INVALIDATE)
        a.flush(start=1, stop=3)
    with pytest.raises(FileExistsError):
        mba.open(p, "x", "H")
    with mba.open(p) as r:
        assert r.readonly and r.tolist() == [0, 0, 1, 2]
    with mba.open(p, "r+") as w:
        w[0] = 9
    with mba.open("file://" + str(p), "c") as c:  # private snapshot
        c[1] = 77
        assert c.tolist() == [9, 77, 1, 2]
        with pytest.raises(BufferError):  # its length is fixed
            c.append(1)
    with mba.attach("file://" + str(p)) as r:
        assert r.tolist() == [9, 0, 1, 2]
    with mba.open(p, "w", "d", (2, 2)) as w:  # replaces atomically
        assert w.shape == (2, 2) and w.typecode == "d"
    with pytest.raises(ValueError):
        mba.open(p, "a")


def test_open_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with mba.open("rel.mba", "x", "i") as a:
        a.append(1)
        assert a.name == "file://" + str(tmp_path / "rel.mba")
        b = pickle.loads(pickle.dumps(a))
        assert b.tolist() == [1]
        b.close()


def test_map_raw(tmp_path):
    p = tmp_path / "raw.bin"
    data = array.array("i", range(48))
    with open(p, "wb") as f:
        f.write(b"HEADER__")  # 8 bytes of someone else's header
        data.tofile(f)
    a = mba.map_raw(p, "i", (-1, 4), offset=8)
    assert a.shape == (12, 4) and a.readonly
    assert a[1] == [4, 5, 6, 7]
    with pytest.raises(TypeError):
        a[0] = [0, 0, 0, 0]
    a.close()
    with pytest.raises(ValueError):
        a[0]
    flat = mba.map_raw(p, "int32", offset=8, mode="r+")
    assert len(flat) == 48 and flat[47] == 47
    flat[0] = 1000
    flat[1:3] = array.array("i", [-1, -2])
    with pytest.raises(BufferError):  # fixed length
        flat.append(1)
    flat.flush()
    flat.close()
    with open(p, "rb") as f:
        raw = f.read()
    assert raw[:8] == b"HEADER__"
    assert array.array("i", raw[8:20]).tolist() == [1000, -1, -2]
    cow = mba.map_raw(p, "i", 10, offset=8, mode="c")
    cow[0] = 5
    assert len(cow) == 10 and cow[0] == 5
    cow.close()
    with open(p, "rb") as f:
        assert array.array("i", f.read()[8:12])[0] == 1000
    with pytest.raises(ValueError):  # FormatError: shorter than asked
        mba.map_raw(p, "i", 1000, offset=8)


def test_mlock_and_advise(shm_name):
    a = mba.create(shm_name, 100, "d")
    try:
        a.mlock()
        a.munlock()
    except (MemoryError, PermissionError):
        pass  # RLIMIT_MEMLOCK
    a.advise(mba.ADVISE_RANDOM)
    a.reserve(1000)
    assert a.capacity >= 1000 and len(a) == 100
    a.close()


def test_pickle_named_by_reference(shm_name):
    a = mba.create(shm_name, 0, "i")
    a.extend([1, 2])
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, mmaparray) and b.name == a.name
    b.append(3)  # the same memory, not a copy
    assert a.tolist() == [1, 2, 3]
    r = mba.attach(shm_name, readonly=True)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.readonly
    for x in (a, b, r, r2):
        x.close()


def test_pickle_refuses_replaced_array(tmp_path):
    p = tmp_path / "rep.mba"
    a = mba.open(p, "x", "i")
    blob = pickle.dumps(a)
    mba.open(p, "w", "i").close()  # another array under the same name
    with pytest.raises(FileNotFoundError):
        pickle.loads(blob)
    a.close()


def test_pickle_and_copy_anonymous_are_copies():
    a = mmaparray("I", [1, 2])
    for c in (__import__("copy").copy(a), __import__("copy").deepcopy(a)):
        assert type(c) is array.array and c == array.array("I", [1, 2])
    # Pickling gives back the same class, a new anonymous array (issue 17).
    c = pickle.loads(pickle.dumps(a))
    assert type(c) is mmaparray and c == array.array("I", [1, 2])
    assert c.name is None and c.buffer_info()[0] != a.buffer_info()[0]
    rows = mba.anon((2, 2), "d")
    c = pickle.loads(pickle.dumps(rows))
    assert isinstance(c, mmaparray) and c.shape == (2, 2) and c.name is None


def _worker_append(arr, v):
    arr.append(v)
    return len(arr)


def test_multiprocessing_workers_share_named_array(shm_name):
    a = mba.create(shm_name, 0, "q")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.starmap(_worker_append, [(a, v) for v in range(10)])
    assert sorted(a.tolist()) == list(range(10))
    # An anonymous array goes to the workers as a copy.
    b = mmaparray("q")
    with ctx.Pool(1) as pool:
        assert pool.starmap(_worker_append, [(b, 1)]) == [1]
    assert len(b) == 0
    a.close()


def test_anon_and_from_fd():
    a = mba.anon((3,), "h")
    assert a.tolist() == [0, 0, 0] and a.name is None
    b = mba.from_fd(a.fileno())
    b.append(4)
    assert a.tolist() == [0, 0, 0, 4]
    with pytest.raises(TypeError):
        mba.from_fd(a.fileno(), "d")
    a.close()
    b.close()


def test_unsupported_dtype_rejected():
    with pytest.raises(TypeError):
        mba.anon(1, "complex128")
    with pytest.raises(TypeError):
        mba.anon(1, object)


def test_list_and_delete_file_names(tmp_path):
    p = tmp_path / "d.mba"
    mba.open(p, "x", "i").close()
    mba.delete("file://" + str(p))
    assert not p.exists()
    q = tmp_path / "notmba"
    q.write_bytes(b"x" * 1000)
    with pytest.raises(ValueError):  # not an mba array: refused
        mba.delete("file://" + str(q))
    assert q.exists()
    with pytest.raises(ValueError):
        mba.open(q)
    assert all(n.startswith("shm://") for n in mba.list())
    assert unique_name() not in mba.list()


def test_attach_unsupported_element_type_is_a_typeerror(shm_name):
    import ctypes
    from mba import _lib
    h = ctypes.c_int32()
    assert _lib.open_(("shm://" + shm_name).encode(), _lib.CREATE, _lib.BOOL, ctypes.byref(h)) == 0
    try:
        with pytest.raises(TypeError, match="bool"):
            mba.attach(shm_name)
        with pytest.raises(TypeError):
            mba.attach(shm_name, "B")
    finally:
        _lib.close(h.value)


def test_attach_never_follows_a_symlink_at_the_name(shm_name):
    a = mba.create(shm_name, 3, "i")
    link = unique_name()
    os.symlink("/dev/shm/" + shm_name, "/dev/shm/" + link)
    try:
        with pytest.raises(PermissionError):
            mba.attach(link)
    finally:
        os.unlink("/dev/shm/" + link)
        a.close()
        mba.delete(shm_name)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a file to another uid")
def test_open_or_create_of_another_users_array_is_an_owner_error(shm_name):
    import ctypes
    from mba import _lib as L
    a = mba.create(shm_name, 3, "i")
    os.chown("/dev/shm/" + shm_name, 65534, 65534)
    h = ctypes.c_int32()
    name = ("shm://" + shm_name).encode()
    rc = L.open_(name, L.CREATE, L.I32, ctypes.byref(h))
    e = L.error(rc)
    assert rc == L.E_OWNER and isinstance(e, mba.OwnerError) and isinstance(e, PermissionError)
    b = mba.attach(shm_name)  # a plain attach stays allowed
    assert b.tolist() == [0, 0, 0]
    b.close()
    a.close()
    mba.delete(shm_name)

"""Zero-copy access: numpy (optional) and memoryviews."""

import array
import platform
import sys

import pytest

import mba
from mba import mmaparray

TYPECODES = "bBhHiIlLqQfd"


def test_view_is_zero_copy_memoryview():
    a = mmaparray("i", [1, 2, 3])
    v = a.view()
    assert isinstance(v, memoryview) and v.format == "i" and v.tolist() == [1, 2, 3]
    v[0] = 10
    assert a[0] == 10  # the same memory
    a[1] = 20
    assert v[1] == 20
    assert mmaparray("d").view().tolist() == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="__buffer__ needs Python 3.12")
def test_memoryview_of_array():
    a = mmaparray("H", [1, 2])
    m = memoryview(a)
    m[0] = 7
    assert a[0] == 7


@pytest.mark.parametrize("tc", TYPECODES)
def test_numpy_asarray_every_typecode(tc):
    np = pytest.importorskip("numpy")
    a = mmaparray(tc, [1, 2, 3])
    n = np.asarray(a)
    assert n.dtype == np.asarray(memoryview(array.array(tc, [1]))).dtype
    assert n.tolist() == [1, 2, 3]
    n[0] = 9
    assert a[0] == 9


def test_numpy_row_shape_and_readonly(shm_name):
    np = pytest.importorskip("numpy")
    a = mba.create(shm_name, (5, 2, 3), np.float32)
    assert a.typecode == "f" and a.row_shape == (2, 3)
    n = np.asarray(a)
    assert n.shape == (5, 2, 3) and n.dtype == np.float32
    n[4, 1, 2] = 1.5
    r = mba.attach(shm_name, readonly=True)
    rn = np.asarray(r)
    assert not rn.flags.writeable and rn[4, 1, 2] == 1.5
    with pytest.raises(ValueError):
        rn[0, 0, 0] = 1
    assert np.array(a).shape == (5, 2, 3)  # copy
    a.close()
    r.close()


def test_extend_from_numpy_and_buffers():
    np = pytest.importorskip("numpy")
    a = mmaparray("d")
    a.extend(np.arange(5, dtype=np.float64))  # same format: one mba_extend
    a.extend(np.arange(2, dtype=np.int64))  # other format: converted
    a.extend(memoryview(array.array("d", [7.5])))
    a.frombytes(np.array([8.5]).tobytes())
    assert a.tolist() == [0, 1, 2, 3, 4, 0, 1, 7.5, 8.5]
    a.extend(np.arange(10, dtype=np.float64)[::2])  # strided: converted
    assert a.tolist()[-5:] == [0, 2, 4, 6, 8]
    rows = mba.anon((0, 2), "i")
    rows.extend(np.arange(6, dtype=np.int32).reshape(3, 2))
    rows.extend([[6, 7]])
    assert rows.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert np.asarray(rows).shape == (4, 2)


def test_numpy_dtypes_for_create():
    np = pytest.importorskip("numpy")
    for dt, tc in ((np.int8, "b"), (np.uint16, "H"), ("int32", "i"), (np.uint64, "Q"),
                   (float, "d"), (np.dtype("f4"), "f"), ("i8", "q")):
        a = mba.anon(2, dt)
        assert a.typecode == tc
        assert np.asarray(a).dtype == np.dtype(dt)
        a.close()
    with pytest.raises(TypeError):
        mba.anon(1, np.dtype(">i4"))  # not native byte order


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy's mmap.resize does not refuse to resize an mmap that exports buffers (CPython raises BufferError)")
def test_user_mmap_numpy():
    np = pytest.importorskip("numpy")
    import mmap
    m = mmap.mmap(-1, 16)
    a = mmaparray("i", mmap=m)
    n = np.asarray(a)
    n[1] = 5
    assert a[1] == 5 and n.shape == (4,)
    with pytest.raises(BufferError):  # the numpy array holds a view
        a.append(1)
    del n
    a.append(1)
    assert len(a) == 5


def test_extend_is_one_library_call():
    """Each extend/frombytes is one mba_extend: the change counter moves
    once (the library bumps it once per write)."""
    a = mmaparray("B", [1])
    sources = [b"\x01\x02\x03", bytearray(b"\x04\x05"), array.array("B", [6, 7]),
               memoryview(b"\x08\x09"), [10, 11], (12, 13), mmaparray("B", [14])]
    try:
        import numpy as np
        sources.append(np.arange(3, dtype=np.uint8))
    except ImportError:
        pass
    for src in sources:
        s0 = a.seq
        a.extend(src)
        assert a.seq - s0 == 1, type(src)
    s0 = a.seq
    a.frombytes(b"\xff" * 5)
    assert a.seq - s0 == 1
    w = mmaparray("i")
    s0 = w.seq
    w.extend(b"\x01\x02")  # like array.array: the bytes' values, converted
    assert w.tolist() == [1, 2] and w.seq - s0 == 1

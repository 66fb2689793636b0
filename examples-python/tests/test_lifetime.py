"""Lifetime: close, use after close, views that outlive the array, user
mmaps (read-only, growth). Everything that could crash runs in a child
process whose exit status is checked (a segfault fails the test)."""

import array
import gc
import mmap
import os
import platform

import pytest

import mba
from mba import mmaparray
from conftest import collect


# (The session's tofile(open(...)) leaves the file to the garbage
# collector, which Python 3.13 reports as a ResourceWarning.)
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="the session writes with tofile(open(...)) and relies on CPython closing (flushing) the unreferenced file at once")
def test_seed_style_session(tmp_path):
    """The mmap_backed_array README session works unchanged."""
    arr = mmaparray("I", [1, 2, 3, 4])
    assert list(arr) == [1, 2, 3, 4] and len(arr) == 4
    p = tmp_path / "mmap_file"
    arr.tofile(open(p, "wb"))
    with open(p, "rb") as fd:
        mmap_backing = mmap.mmap(fd.fileno(), 0, access=mmap.ACCESS_READ)
        arr2 = mmaparray("I", mmap=mmap_backing)
    assert arr2 == arr and arr2.tolist() == [1, 2, 3, 4] and arr2.readonly
    with pytest.raises(TypeError):  # writes raise, never crash
        arr2[0] = 5
    with pytest.raises(TypeError):
        arr2.append(5)
    assert arr2.view().readonly
    arr2.close()
    mmap_backing.close()  # the mmap is the caller's; it is released


def test_close_is_idempotent_and_context_manager():
    a = mmaparray("i", [1])
    with a as b:
        assert b is a
    assert a.closed
    a.close()
    a.close()
    with pytest.raises(ValueError):
        with a:
            pass
    assert "closed" in repr(a)


USE_AFTER_CLOSE = """
import array, io, pickle, sys, mba, mmap
from mba import mmaparray

def arrays():
    yield mmaparray('i', [1, 2, 3])
    yield mba.create(sys.argv[1], (3,), 'd')
    yield mba.anon((2, 2), 'f')
    yield mmaparray('I', mmap=mmap.mmap(-1, 12))
    yield mba.attach(sys.argv[1], readonly=True)
    yield mba.map_raw(sys.argv[2], 'i', (-1, 2), mode='r+')
    yield mba.map_raw(sys.argv[2], 'i', mode='c')
    yield mba.open(sys.argv[3], 'c')

ops = [
    lambda a: a[0], lambda a: a[-1], lambda a: a[0:2], lambda a: a.__setitem__(0, 1),
    lambda a: a.__setitem__(slice(0, 1), array.array(a.typecode, [1])),
    lambda a: a.__delitem__(0), lambda a: a.__delitem__(slice(0, 1)),
    lambda a: len(a), lambda a: a.append(1), lambda a: a.append(2 ** 40),
    lambda a: a.append(1.5), lambda a: a.extend([1]),
    lambda a: a.extend(array.array(a.typecode, [1])), lambda a: a.insert(0, 1),
    lambda a: a.pop(), lambda a: a.pop(0), lambda a: a.remove(1), lambda a: a.index(1),
    lambda a: a.count(1), lambda a: a.reverse(), lambda a: a.byteswap(),
    lambda a: a.buffer_info(), lambda a: a.tobytes(), lambda a: a.frombytes(b'\\0' * 8),
    lambda a: a.tolist(), lambda a: a.fromlist([1]), lambda a: a.tofile(io.BytesIO()),
    lambda a: a.fromfile(io.BytesIO(b'\\0' * 8), 1), lambda a: list(a), lambda a: 1 in a,
    lambda a: a == a, lambda a: a < array.array('i'), lambda a: a + a, lambda a: a * 2,
    lambda a: a.__iadd__(a), lambda a: a.__imul__(2), lambda a: pickle.dumps(a),
    lambda a: a.view(), lambda a: a.__array_interface__, lambda a: a.seq,
    lambda a: a.wait(0, 0.01), lambda a: a.flush(), lambda a: a.mlock(), lambda a: a.munlock(),
    lambda a: a.fileno(), lambda a: a.shape, lambda a: a.clear(), lambda a: a.reserve(10),
    lambda a: a.capacity, lambda a: a.locked().__enter__(), lambda a: a.uuid,
    lambda a: a.__enter__(),
]
n = 0
for a in arrays():
    a.close()
    for i, op in enumerate(ops):
        try:
            op(a)
        except ValueError:
            n += 1
        except AttributeError:
            assert type(a).__name__ == '_MmapArray'  # no __array_interface__
        except Exception as e:
            print("op", i, "on", type(a).__name__, "raised", type(e).__name__, e)
            sys.exit(1)
        else:
            print("op", i, "did not raise")
            sys.exit(1)
    repr(a)
    a.close()
print(n)
"""


def test_every_operation_after_close_raises_valueerror(shm_name, py, tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(array.array("i", range(8)).tobytes())
    mba.open(tmp_path / "cow.mba", "x", "d", 4).close()
    p = py(USE_AFTER_CLOSE, shm_name, raw, tmp_path / "cow.mba")
    assert int(p.stdout) > 400


def _maps_of(name):
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if name in line)


def test_views_keep_memory_mapped_after_close(shm_name, py):
    py("""
        import gc, sys, mba
        name = sys.argv[1]
        def maps():
            return sum(1 for l in open('/proc/self/maps') if name in l)
        a = mba.create(name, 4, 'i')
        a[1] = 7
        v = a.view()
        part = v[1:3]
        assert maps() >= 1
        a.close()
        assert v[1] == 7 and part[0] == 7     # still mapped: no crash
        v[2] = 8                               # still shared memory
        b = mba.attach(name, 'i')
        assert b[2] == 8
        b.close()
        del v
        assert maps() >= 1 and part[1] == 8    # a derived view keeps it too
        del part
        for _ in range(3):  # (PyPy: finalizers make garbage for the next round)
            gc.collect()
        assert maps() == 0, maps()             # the last view gone: unmapped
        print("ok")
    """, shm_name)


def test_numpy_array_outlives_close(shm_name, py):
    pytest.importorskip("numpy")
    py("""
        import gc, sys, numpy, mba
        name = sys.argv[1]
        def maps():
            return sum(1 for l in open('/proc/self/maps') if name in l)
        a = mba.create(name, (3, 2), 'd')
        n = numpy.asarray(a)
        assert n.shape == (3, 2) and n.dtype == numpy.float64
        n[1, 1] = 5.0                  # zero copy: writes the shared memory
        assert a[1] == [0.0, 5.0]
        a.close()
        assert n[1, 1] == 5.0 and n.sum() == 5.0   # no crash after close
        try:
            numpy.asarray(a)
        except ValueError:
            pass
        else:
            raise SystemExit("asarray after close did not raise")
        del a, n
        for _ in range(3):  # (PyPy: finalizers make garbage for the next round)
            gc.collect()
        assert maps() == 0, maps()
        print("ok")
    """, shm_name)


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy 7.3.11 starves the main thread in Thread.start() while two threads spin (the same loop over array.array hangs too)")
def test_iteration_and_threads_racing_close(py):
    py("""
        import threading, mba
        from mba import mmaparray
        a = mmaparray('i', range(100000))
        it = iter(a)
        next(it)
        a.close()
        try:
            for x in it:
                pass
        except ValueError:
            pass
        for rep in range(20):
            a = mmaparray('d', [1.0] * 1000)
            stop = []
            def reader(a=a):
                while not stop:
                    try:
                        a[5]; len(a); a.tolist(); a.view()
                    except ValueError:
                        break
            ts = [threading.Thread(target=reader) for _ in range(2)]
            for t in ts:
                t.start()
            a.close()
            stop.append(1)
            for t in ts:
                t.join()
        print("ok")
    """)


def test_read_only_writes_raise_in_child(shm_name, py):
    """Writes through every path of a read-only array raise; none crashes."""
    mba.create(shm_name, 4, "i").close()
    py("""
        import sys, mmap, array, mba
        from mba import mmaparray
        r = mba.attach(sys.argv[1], readonly=True)
        m = mmaparray('i', mmap=mmap.mmap(-1, 16, prot=mmap.PROT_READ))
        for a in (r, m):
            for op in (lambda: a.append(1), lambda: a.__setitem__(0, 1), lambda: a.pop(),
                       lambda: a.extend([1]), lambda: a.reverse(), lambda: a.byteswap(),
                       lambda: a.__setitem__(slice(0, 2), array.array('i', [1, 2])),
                       lambda: a.view().__setitem__(0, 1), lambda: a.frombytes(b'1234')):
                try:
                    op()
                except TypeError:
                    pass
                else:
                    raise SystemExit('write did not raise')
            assert a.tolist() == [0, 0, 0, 0]
        print('ok')
    """, shm_name)


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy's mmap.resize does not refuse to resize an mmap that exports buffers (CPython raises BufferError)")
def test_user_mmap_growth():
    # Anonymous mmaps can grow (mremap).
    m = mmap.mmap(-1, 8)
    a = mmaparray("i", mmap=m)
    assert a.tolist() == [0, 0]
    a.extend([1, 2, 3])
    a.append(4)
    assert len(m) == 24 and a.tolist() == [0, 0, 1, 2, 3, 4]
    a.insert(0, 9)
    del a[1]
    assert a.tolist() == [9, 0, 1, 2, 3, 4] and m[:4] == array.array("i", [9]).tobytes()
    # Exported views block resizing, like array.array.
    v = a.view()
    with pytest.raises(BufferError):
        a.append(1)
    del v
    a.append(1)
    a.close()
    assert len(m) == 28
    m.close()
    # ACCESS_COPY mmaps cannot grow.
    with open(os.devnull, "rb"):
        pass


def test_user_mmap_file_growth_and_copy(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(array.array("H", [1, 2]).tobytes())
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        a = mmaparray("H", [3], mmap=m)  # the initializer is appended
        assert a.tolist() == [1, 2, 3]
        a.close()
        m.close()
    assert array.array("H", p.read_bytes()).tolist() == [1, 2, 3]
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        a = mmaparray("H", mmap=m)
        a[0] = 7
        with pytest.raises(BufferError):  # mba.FullError: cannot grow
            a.append(1)
        assert a.tolist() == [7, 2, 3]
        a.close()
        m.close()
    assert array.array("H", p.read_bytes()).tolist() == [1, 2, 3]


def test_user_mmap_misc():
    with pytest.raises(TypeError):
        mmaparray("i", mmap=b"not an mmap")
    m = mmap.mmap(-1, 6)  # not a multiple of the item size: the tail is ignored
    a = mmaparray("i", mmap=m)
    assert len(a) == 1
    assert a.buffer_info()[1] == 1
    with pytest.raises(ValueError):
        a.wait()
    a.close()
    m.close()


def test_dropped_arrays_release_their_handles():
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(300):
        a = mmaparray("i", [1, 2])
        a.append(3)
    del a
    collect()
    assert len(os.listdir("/proc/self/fd")) <= fds + 2


def test_no_space_is_an_oserror_not_sigbus(tmp_path, py):
    """A full disk (here RLIMIT_FSIZE) gives OSError(ENOSPC); the array is
    unchanged and stays usable."""
    py("""
        import errno, resource, sys, mba
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        a = mba.open(sys.argv[1], 'x', 'd')
        n = 0
        try:
            while True:
                a.extend([1.0] * 1000)
                n += 1000
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
            assert isinstance(e, mba.NoSpaceError)
        assert len(a) == n and 0 < n < (1 << 20) // 8
        assert a[n - 1] == 1.0
        a[0] = 2.0
        print(n)
    """, tmp_path / "full.mba")


def test_row_iteration_survives_close(py):
    py("""
        import mba
        a = mba.anon((5000, 2), 'i')
        it = iter(a)
        assert next(it) == [0, 0]
        a.close()
        try:
            for row in it:
                assert row == [0, 0]
        except ValueError:
            pass
        print('ok')
    """)

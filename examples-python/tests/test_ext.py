"""The extension module mba._ext (examples-python/ext, PyO3): mmaparray's
base class, whose a[i], a[i] = v, len(a) and append take the common case
with one libmba call and leave everything else to the Python methods. Each
must give exactly what the Python methods give, take the common case
itself, keep reference counts right and never crash on odd input. It must
use the very libmba.so that the ctypes layer loaded (one handle table, one
mapping cache), and it carries the buffer protocol on every Python.

The whole suite also runs with MBA_PY_EXT=0 (scripts/test-all.sh), so the
Python methods are tested as the main path too."""

import array
import ctypes
import io
import operator
import os
import platform
import shutil
import struct
import sys
import sysconfig

import pytest

import mba
from mba import _bridge, _core, _lib
from conftest import run_python

pytestmark = pytest.mark.skipif(
    platform.python_implementation() == "PyPy",
    reason="the extension module mba._ext (PyO3, reference counts) is CPython's")

TYPECODES = [tc for tc in "bBhHiIlLqQfd" if tc in _core._TC_TYPE]
OFF = [v for v in ("MBA_PY_EXT", "MBA_PY_BRIDGE") if os.environ.get(v, "1") == "0"]
BRIDGED = _bridge.active
CPYTHON_GIL = (sys.implementation.name == "cpython"
               and not sysconfig.get_config_var("Py_GIL_DISABLED"))
needs_bridge = pytest.mark.skipif(not BRIDGED, reason="%s=0" % (OFF or ["-"])[0])
HAS_BUFFER = BRIDGED or sys.version_info >= (3, 12)
needs_buffer = pytest.mark.skipif(
    not HAS_BUFFER, reason="the buffer protocol needs mba._ext or Python 3.12")


def _extremes(tc):
    if tc in "fd":
        return [0.0, -0.0, 1.5, -2.25, 1e30, float("inf"), float("-inf"), 3]
    bits = 8 * array.array(tc).itemsize
    if tc.isupper():
        return [0, 1, 2 ** bits - 1, 2 ** (bits - 1), 5]
    return [0, -1, 2 ** (bits - 1) - 1, -2 ** (bits - 1), 5]


class Spy(mba.mmaparray):
    """Counts the calls that reach the Python methods."""
    __slots__ = ()
    calls = {"append": 0, "getitem": 0, "len": 0, "setitem": 0, "delitem": 0}

    def _py_append(self, v):
        Spy.calls["append"] += 1
        return mba.mmaparray._py_append(self, v)

    def _py_getitem(self, i):
        Spy.calls["getitem"] += 1
        return mba.mmaparray._py_getitem(self, i)

    def _py_len(self):
        Spy.calls["len"] += 1
        return mba.mmaparray._py_len(self)

    def _py_setitem(self, i, v):
        Spy.calls["setitem"] += 1
        return mba.mmaparray._py_setitem(self, i, v)

    def _py_delitem(self, i):
        Spy.calls["delitem"] += 1
        return mba.mmaparray._py_delitem(self, i)


@pytest.fixture
def spy():
    def reset():
        for k in Spy.calls:
            Spy.calls[k] = 0
    reset()
    yield Spy, reset


def _outcome(f, *args):
    try:
        return ("ok", f(*args))
    except Exception as e:
        return (type(e), str(e))


def test_bridge_is_used_where_it_can_be():
    if OFF or not CPYTHON_GIL:
        assert not _bridge.active and _bridge.Base is _bridge.PyBase
        if OFF:
            assert _bridge.reason == "%s=0" % OFF[0]
        assert mba.mmaparray.append is mba.mmaparray._py_append
        return
    assert _bridge.active, _bridge.reason
    assert mba.mmaparray.__mro__[1] is _bridge.Base
    assert "append" not in mba.mmaparray.__dict__
    assert "__getitem__" not in mba.mmaparray.__dict__
    assert "__len__" not in mba.mmaparray.__dict__
    assert "__setitem__" not in mba.mmaparray.__dict__
    assert "__delitem__" not in mba.mmaparray.__dict__


@needs_bridge
@pytest.mark.parametrize("tc", TYPECODES)
def test_common_appends_never_reach_python(spy, tc):
    cls, reset = spy
    a, ref = cls(tc), array.array(tc)
    a.append(1)  # the handle's first write (takes its lock token)
    ref.append(1)
    a.extend(array.array(tc, [0] * 100))  # room: no growth below
    ref.extend(array.array(tc, [0] * 100))
    reset()
    for v in _extremes(tc) * 3:
        a.append(v)
        ref.append(v)
    assert cls.calls["append"] == 0
    assert a == ref
    assert a.tobytes() == ref.tobytes()
    a.close()


@pytest.mark.parametrize("tc", TYPECODES)
def test_uncommon_appends_go_to_python_with_arrays_results(spy, tc):
    cls, reset = spy
    a, ref = cls(tc, [1]), array.array(tc, [1])
    a.append(2)
    ref.append(2)

    class I(int):
        pass

    odd = [True, False, I(3), 1.5, "x", None, 2 ** 64, -2 ** 63 - 1, 2 ** 63,
           10 ** 30, -2 ** 40, 2 ** 40, [1], 1e300]
    for v in odd:
        reset()
        got, want = _outcome(a.append, v), _outcome(ref.append, v)
        assert got == want, (tc, v)
        assert a.tobytes() == ref.tobytes(), (tc, v)
        if BRIDGED and type(v) not in (int, float):
            assert cls.calls["append"] == 1, (tc, v)
    with pytest.raises(TypeError) as got:
        a.append()
    assert "argument" in str(got.value)
    with pytest.raises(TypeError):
        a.append(1, 2)
    a.close()


@pytest.mark.parametrize("tc", TYPECODES)
def test_items_match_array_at_every_index(spy, tc):
    cls, reset = spy
    vals = _extremes(tc)
    a, ref = cls(tc, vals), array.array(tc, vals)
    n = len(ref)
    reset()
    for i in list(range(-n, n)):
        assert repr(a[i]) == repr(ref[i]), (tc, i)
        assert type(a[i]) is type(ref[i])
    assert len(a) == n
    if BRIDGED:
        assert sum(cls.calls.values()) == 0

    class I(int):
        pass

    np = pytest.importorskip("numpy")
    for k in [n, -n - 1, 2 ** 63, 2 ** 70, -2 ** 70, True, I(1), np.int64(1),
              slice(1, 3), slice(None, None, -2), 1.0, "x", None]:
        reset()
        got = _outcome(operator.getitem, a, k)
        want = _outcome(operator.getitem, ref, k)
        if got[0] == "ok":
            got = ("ok", got[1].tolist() if hasattr(got[1], "tolist") else got[1])
            want = ("ok", want[1].tolist() if hasattr(want[1], "tolist") else want[1])
        assert got == want, (tc, k)
        if BRIDGED and type(k) is not int:
            assert cls.calls["getitem"] == 1, (tc, k)
    a.close()


def test_sequence_protocol_items(spy):
    cls, reset = spy
    a, ref = cls("q", [5, -6, 7]), array.array("q", [5, -6, 7])
    get = ctypes.pythonapi.PySequence_GetItem
    get.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
    get.restype = ctypes.py_object
    for i in range(-3, 3):
        assert get(a, i) == get(ref, i)
    # (Below -len, CPython passes a negative index on to a class's item
    # function, which counts it from the end, as any Python class's
    # __getitem__ does; not compared here.)
    for i in (3, 2 ** 40):
        with pytest.raises(IndexError):
            get(a, i)
    assert list(reversed(a)) == list(reversed(ref))
    assert operator.countOf(a, 7) == 1
    a.close()
    with pytest.raises(ValueError, match="closed"):
        get(a, 0)


def test_rows_and_closed_arrays_go_to_python(spy, shm_name):
    cls, reset = spy
    r = mba.create(shm_name, (3, 2), "i")
    assert list(r[0]) == [0, 0]  # a row: the Python method's answer
    assert len(r) == 3
    r.close()
    a = cls("i", [1, 2])
    a.close()
    for f in (len, lambda x: x[0], lambda x: x[-1], lambda x: x.append(3),
              lambda x: x[0:1]):
        with pytest.raises(ValueError, match="closed"):
            f(a)


def test_len_and_items_follow_other_writers(shm_name):
    w = mba.create(shm_name, 0, "I")
    r = mba.attach(shm_name, "I")
    for k in range(5000):  # across several growths
        w.append(k)
        if k % 997 == 0:
            assert len(r) == k + 1
            assert r[k] == k and r[-1] == k
    assert len(r) == 5000 and r[4999] == 4999
    w.pop()
    assert len(r) == 4999
    with pytest.raises(IndexError):
        r[4999]
    r.close()
    w.close()


def test_reference_counts_stay_exact():
    big = 2 ** 62 + 12345
    flt = 2.5
    a, d = mba.mmaparray("q"), mba.mmaparray("d")
    rb, rf, rn = sys.getrefcount(big), sys.getrefcount(flt), sys.getrefcount(None)
    for _ in range(100000):
        a.append(big)
        d.append(flt)
    assert sys.getrefcount(big) == rb and sys.getrefcount(flt) == rf
    # None: 100000 missing (or extra) references would show; others' noise
    # is small.
    assert abs(sys.getrefcount(None) - rn) < 1000
    x, y = a[-1], d[-1]
    assert x == big and y == flt
    assert sys.getrefcount(x) == 2 and sys.getrefcount(y) == 2  # fresh objects
    mba.mmaparray("b", [1]).close()  # (first-use caches)
    t = sys.getrefcount(mba.mmaparray)
    for _ in range(2000):
        mba.mmaparray("b", [1]).close()
    # Each instance holds a reference to its (heap) type, given back by the
    # bridge's dealloc: 2000 lost ones would show.
    assert abs(sys.getrefcount(mba.mmaparray) - t) <= 2
    a.close()
    d.close()


@needs_bridge
def test_odd_objects_of_the_bridge_type_never_crash():
    """Instances of the bare base type, invented and stale handles: errors,
    never a crash (in a child process, which must exit normally)."""
    run_python("""
        import mba
        from mba import _bridge
        B = _bridge.Base
        b = B()
        for f in (lambda: b.append(1), lambda: len(b), lambda: b[0]):
            try:
                f()
            except AttributeError:
                pass
            else:
                raise SystemExit("no error")
        for h in (12345, -1, 2 ** 31 - 1):
            b._h = h
            try:
                b[0]
            except AttributeError:
                pass
        try:
            b._h = 2 ** 40
        except (OverflowError, TypeError):
            pass
        a = mba.mmaparray("i", [1, 2, 3])
        c = mba.mmaparray("i", [4])
        stale = c._h
        c.close()
        a._h, h = stale, a._h
        for f in (lambda: a[0], lambda: len(a), lambda: a.append(1)):
            try:
                f()
            except Exception:
                pass
        a._h = h
        assert a.tolist() == [1, 2, 3]
        a.close()
        print("ok")
    """)


@pytest.mark.parametrize("var", ["MBA_PY_EXT", "MBA_PY_BRIDGE"])
def test_python_methods_alone(var):
    """With MBA_PY_EXT=0 (or its former name MBA_PY_BRIDGE=0) the class is
    the plain Python one."""
    other = {"MBA_PY_EXT": "MBA_PY_BRIDGE", "MBA_PY_BRIDGE": "MBA_PY_EXT"}[var]
    p = run_python("""
        import array, mba
        from mba import _bridge
        assert not _bridge.active and _bridge.Base is _bridge.PyBase
        a = mba.mmaparray("Q", [1, 2 ** 64 - 1])
        a.append(2 ** 63)
        assert a[1] == 2 ** 64 - 1 and a[-1] == 2 ** 63 and len(a) == 3
        assert mba.mmaparray.append is mba.mmaparray._py_append
        assert _bridge.reason == "%s=0"
        print("ok")
    """ % var, env={var: "0", other: "1"})
    assert p.stdout.strip() == "ok"


def test_threads_racing_close_never_crash():
    """Threads reading, writing, measuring and appending through the bridge
    while another closes the array: ValueError for the late ones, never a crash
    (the bridge holds the GIL from reading the handle to its last use; the
    binding zeroes the handle under the GIL before closing it)."""
    p = run_python("""
        import random, threading, time, mba
        bad = []
        done = []
        for round in range(30):
            a = mba.mmaparray("q", range(1000))
            go = threading.Event()

            def work(k):
                go.wait()
                n = 0
                try:
                    for i in range(20000):
                        a[i % 1000]
                        a[i % 1000] = i
                        len(a)
                        a.append(i)
                        a[-1]
                        n += 1
                except ValueError as e:
                    if "closed" not in str(e):
                        bad.append(repr(e))
                except Exception as e:
                    bad.append(repr(e))
                done.append(n)

            ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]
            for t in ts:
                t.start()
            go.set()
            time.sleep(random.random() * 0.004)
            a.close()
            for t in ts:
                t.join()
        assert not bad, bad[:3]
        assert sum(done) > 0  # the threads did run before the close
        print("ok")
    """, timeout=120)
    assert p.stdout.strip() == "ok"


@pytest.mark.parametrize("tc", TYPECODES)
def test_item_assignment_matches_array(spy, tc):
    cls, reset = spy
    vals = _extremes(tc)
    n = len(vals)
    a, ref = cls(tc, [0] * n), array.array(tc, [0] * n)
    a[0] = 1  # the handle's first write (takes its lock token)
    ref[0] = 1
    reset()
    for k, v in enumerate(vals):
        a[k] = v
        ref[k] = v
        a[-1 - k] = v
        ref[-1 - k] = v
    assert a.tobytes() == ref.tobytes()
    if BRIDGED:
        assert sum(cls.calls.values()) == 0

    class I(int):
        pass

    np = pytest.importorskip("numpy")
    keys = [n, -n - 1, 2 ** 63, 2 ** 70, True, I(1), np.int64(1), 1.0, "x"]
    odd = [True, I(3), 1.5, "x", None, 2 ** 64, -2 ** 63 - 1, 2 ** 63, 2 ** 40,
           -2 ** 40, np.int8(3)]
    for k, v in [(k, 1) for k in keys] + [(1, v) for v in odd]:
        reset()
        got = _outcome(operator.setitem, a, k, v)
        want = _outcome(operator.setitem, ref, k, v)
        assert got == want, (tc, k, v)
        assert a.tobytes() == ref.tobytes(), (tc, k, v)
        if BRIDGED and (type(k) is not int or type(v) not in (int, float)):
            assert cls.calls["setitem"] == 1, (tc, k, v)
    for k in (slice(0, 2), 0, -1, n + 5):
        got = _outcome(operator.delitem, a, k)
        want = _outcome(operator.delitem, ref, k)
        assert got == want, (tc, k)
        assert a.tobytes() == ref.tobytes(), (tc, k)
    a[0:2] = array.array(tc, vals[:2])
    ref[0:2] = array.array(tc, vals[:2])
    assert a.tobytes() == ref.tobytes()
    a.close()
    with pytest.raises(ValueError, match="closed"):
        a[0] = 1
    with pytest.raises(ValueError, match="closed"):
        del a[0]


def test_item_assignment_is_seen_by_others_and_wakes_waiters(shm_name):
    w = mba.create(shm_name, 4, "q")
    r = mba.attach(shm_name, "q")
    w[0] = 1  # first write
    s0 = r.seq
    w[2] = -7
    assert r[2] == -7 and r.seq > s0
    ro = mba.attach(shm_name, "q", readonly=True)
    with pytest.raises(TypeError) as e:
        ro[0] = 5
    assert isinstance(e.value, mba.ReadOnlyError)
    get = ctypes.pythonapi.PySequence_SetItem
    get.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.py_object]
    get.restype = ctypes.c_int
    assert get(w, 3, 11) == 0 and r[3] == 11
    with pytest.raises(IndexError):
        get(w, 4, 1)
    dl = ctypes.pythonapi.PySequence_DelItem
    dl.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
    dl.restype = ctypes.c_int
    assert dl(w, 0) == 0 and len(r) == 3 and r.tolist() == [0, -7, 11]
    for x in (ro, r, w):
        x.close()


def test_item_assignment_waits_for_another_threads_batch_and_runs_in_own():
    import threading
    import time
    a = mba.mmaparray("i", [0, 0])
    a[0] = 1
    with a.locked():  # own batch: the bridge writes under it
        a[1] = 2
        assert a.tolist() == [1, 2]
    held, done = threading.Event(), []

    def hold():
        with a.locked():
            held.set()
            time.sleep(0.2)
            done.append(a[0])

    t = threading.Thread(target=hold)
    t.start()
    held.wait()
    a[0] = 9  # waits for the other thread's batch (through the fallback)
    t.join()
    assert done == [1] and a[0] == 9
    a.close()


def test_row_arrays_assign_through_python(spy, shm_name):
    cls, reset = spy
    r = mba.create(shm_name, (2, 3), "d")
    r[1] = [1.0, 2.0, 3.0]
    assert list(r[1]) == [1.0, 2.0, 3.0]
    with pytest.raises(Exception):
        r[0] = 5  # a row is needed
    r.close()


# ---------------------------------------------------------------- one library


def _libmba_maps():
    """The files named libmba* mapped into this process."""
    out = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and "libmba" in os.path.basename(parts[5].strip()):
                out.add(os.path.realpath(parts[5].strip()))
    return out


@needs_bridge
def test_one_library_one_handle_table():
    """The extension calls the libmba.so that mba._lib loaded: one file
    mapped, and handles opened by either path work through the other."""
    from mba import _ext
    assert _ext.bound()
    assert _libmba_maps() == {os.path.realpath(_lib.path)}
    # Opened through the extension's class, used through raw ctypes.
    a = mba.mmaparray("q", [1, 2])
    a.append(3)  # the extension's append
    n = ctypes.c_uint64()
    assert _lib.lib.mba_len(a._h, ctypes.byref(n)) == 0 and n.value == 3
    # Opened through raw ctypes, used through the extension's slots.
    h = ctypes.c_int32()
    assert _lib.lib.mba_anon(0, _lib.I64, 0, ctypes.byref(h)) == 0
    assert _lib.lib.mba_append_i64(h, ctypes.c_int64(41)) == 0
    b = mba.mmaparray._from_handle(h.value, "q")
    b.append(42)
    assert len(b) == 2 and b[0] == 41 and b[-1] == 42
    b[0] = 40
    v = ctypes.c_int64()
    assert _lib.lib.mba_get_i64(h, ctypes.c_uint64(0), ctypes.byref(v)) == 0
    assert v.value == 40
    a.close()
    b.close()


@needs_bridge
def test_library_override_is_used_by_both_paths(tmp_path):
    """MBA_LIBRARY names another copy: ctypes and the extension both use
    it, and it is the only libmba in the process."""
    copy = tmp_path / "libmba.so.0"
    shutil.copyfile(os.path.realpath(_lib.path), str(copy))
    p = run_python("""
        import os, mba
        from mba import _bridge, _lib
        from test_ext import _libmba_maps
        assert _bridge.active, _bridge.reason
        a = mba.mmaparray("i", [1])
        a.append(2)
        assert a[1] == 2 and len(a) == 2
        print(sorted(_libmba_maps()))
        print(os.path.realpath(_lib.path))
    """, env={"MBA_LIBRARY": str(copy),
              "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))})
    maps, path = p.stdout.strip().splitlines()
    real = os.path.realpath(str(copy))
    assert path == real and maps == repr([real])


@needs_bridge
def test_bind_refuses_a_library_not_loaded(tmp_path):
    from mba import _ext
    with pytest.raises(RuntimeError, match="not loaded"):
        _ext.bind(str(tmp_path / "libmba.so.0"))
    copy = tmp_path / "other.so"
    shutil.copyfile(os.path.realpath(_lib.path), str(copy))
    with pytest.raises(RuntimeError, match="not loaded"):
        _ext.bind(str(copy))
    _ext.bind(_lib.path)  # the same library again: accepted


def test_the_library_has_no_python_export():
    for name in ("mba_py_bridge", "mba_py_api"):
        assert not hasattr(_lib.lib, name)
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "include", "mba.h")
    if os.path.exists(header):
        with open(header) as f:
            assert "python" not in f.read().lower()


# ------------------------------------------------------------ buffer protocol


@needs_buffer
@pytest.mark.parametrize("tc", TYPECODES)
def test_buffer_consumers_match_array(tc, tmp_path):
    vals = _extremes(tc)
    a, ref = mba.mmaparray(tc, vals), array.array(tc, vals)
    m, mr = memoryview(a), memoryview(ref)
    assert (m.format, m.itemsize, m.shape, m.readonly) == (
        mr.format, mr.itemsize, mr.shape, mr.readonly)
    assert m.tolist() == mr.tolist()
    assert bytes(a) == bytes(ref)
    assert bytearray(a) == bytearray(ref)
    f = tmp_path / "out"
    with open(str(f), "wb") as fh:
        assert fh.write(a) == len(bytes(ref))
    assert f.read_bytes() == ref.tobytes()
    b = mba.mmaparray(tc, [0] * len(vals))
    with open(str(f), "rb") as fh:  # readinto writes into the array
        assert fh.readinto(b) == len(bytes(ref))
    assert b.tobytes() == ref.tobytes()
    if m.itemsize == 8:
        fmt = "=" + ("d" if tc in "fd" else "q" if tc.islower() else "Q")
        struct.pack_into(fmt, a, 0, vals[1])
        struct.pack_into(fmt, ref, 0, vals[1])
        assert a.tobytes() == ref.tobytes()
    assert io.BytesIO(a).read() == bytes(ref)
    m.release()
    a.close()
    b.close()


@needs_buffer
def test_numpy_frombuffer_shares_the_elements():
    np = pytest.importorskip("numpy")
    a = mba.mmaparray("d", [1.5, 2.5])
    x = np.frombuffer(a, dtype=np.float64)
    assert x.tolist() == [1.5, 2.5]
    a[0] = 9.0
    assert x[0] == 9.0  # the same memory
    r = mba.mmaparray("i", [1, 2, 3, 4, 5, 6])
    assert np.frombuffer(r, dtype=np.int32).sum() == 21
    # numpy.frombuffer releases its export at once and keeps a reference
    # to the array instead (as for an mmap.mmap): its result is valid until
    # close(). numpy.asarray (the __array_interface__) pins the mapping.
    y = np.asarray(a)
    a.close()
    assert y.tolist() == [9.0, 2.5]
    r.close()


@needs_buffer
def test_an_export_sees_its_length_at_export_time():
    """An export covers the rows present when it was made. The array may
    grow (the mapping never moves) and shrink meanwhile: the export keeps
    its length; rows past a shrink keep their last bytes until an append
    overwrites them; close() leaves the export valid (it pins the mapping)."""
    a = mba.mmaparray("q", [1, 2, 3])
    m = memoryview(a)
    for v in range(4, 2000):  # growth: allowed (array.array refuses it)
        a.append(v)
    assert m.tolist() == [1, 2, 3]
    del a[1:]
    assert len(a) == 1 and m.tolist() == [1, 2, 3]
    a.append(7)
    assert m.tolist() == [1, 7, 3]
    m2 = memoryview(a)
    assert m2.tolist() == [1, 7]
    a.close()
    assert m.tolist() == [1, 7, 3] and m2.tolist() == [1, 7]
    with pytest.raises(ValueError, match="closed"):
        memoryview(a)


@needs_buffer
def test_rows_and_read_only_exports(shm_name):
    w = mba.create(shm_name, (2, 3), "i")
    w[1] = [4, 5, 6]
    m = memoryview(w)
    assert m.shape == (2, 3) and m.tolist() == [[0, 0, 0], [4, 5, 6]]
    ro = mba.attach(shm_name, "i", readonly=True)
    assert memoryview(ro).readonly
    with pytest.raises((BufferError, TypeError)):
        struct.pack_into("i", ro, 0, 1)
    m.release()
    ro.close()
    w.close()

"""The fast paths built on mba_describe (attach) and mba_try_append
(append through a PyDLL, GIL kept): the struct layout, and that append
falls back to the blocking, reporting mba_append whenever the
non-blocking call declines (lock held by another thread or process, a
dead lock holder, growth, first write after fork, range errors, closed or
read-only handles) with every behaviour and message unchanged."""

import array
import ctypes
import os
import platform
import signal
import struct
import subprocess
import sys
import textwrap

import pytest

import mba
from mba import _bridge, _core, _lib

from conftest import c_layout, collect, use_python_append


# ------------------------------------------------------------ mba_describe

_FIELDS = [f for f, _ in _lib.mba_info._fields_]


def test_info_struct_matches_the_header(tmp_path):
    size, layout = c_layout(tmp_path, "mba_info", _FIELDS)
    assert size == ctypes.sizeof(_lib.mba_info) == _lib.INFO_SIZE
    for f in _FIELDS:
        d = getattr(_lib.mba_info, f)
        assert layout[f] == (d.offset, d.size), f


def _describe(h, size=None):
    info = _lib.mba_info()
    info.struct_size = _lib.INFO_SIZE if size is None else size
    return _lib.describe(h, ctypes.byref(info)), info


def _get(fn, h, ctype):
    v = ctype()
    assert fn(h, ctypes.byref(v)) == 0
    return v.value


def test_describe_agrees_with_the_single_calls(shm_name):
    a = mba.create(shm_name, (5, 3, 4), "d", max_len=1000)
    h = a._h
    rc, info = _describe(h)
    assert rc == 0
    assert info.struct_size == _lib.INFO_SIZE
    assert info.elem_type == _get(_lib.type_, h, ctypes.c_int32) == _lib.F64
    assert info.flags == _get(_lib.flags, h, ctypes.c_uint32) == 0
    assert info.ndim == 2 and list(info.shape) == [3, 4, 0, 0, 0, 0, 0, 0]
    assert info.item_size == 8 and info.row_size == 96
    assert info.capacity == _get(_lib.capacity, h, ctypes.c_uint64) >= 5
    assert info.max_len == _get(_lib.max_len, h, ctypes.c_uint64) == 1000
    assert info.uuid == a.uuid != 0
    assert info.data == _get(_lib.get_ptr, h, ctypes.c_void_p)
    assert ctypes.addressof(info.len_ptr.contents) == _get(_lib.len_ptr, h, ctypes.c_void_p)
    assert info.len_ptr[0] == 5
    assert info.fd == a.fileno()
    assert info.reserved0 == 0
    r = mba.attach(shm_name, readonly=True)
    assert _describe(r._h)[1].flags == _lib.RDONLY
    assert r.row_shape == (3, 4) and r.readonly and len(r) == 5
    r.close()
    a.close()


def test_describe_errors():
    a = mba.mmaparray("i", [1])
    assert _describe(a._h, 3)[0] == _lib.E_ARG
    # An older caller's smaller struct: filled up to its size (issue 15).
    rc, info = _describe(a._h, _lib.INFO_SIZE - 8)
    assert rc == 0 and info.struct_size == _lib.INFO_SIZE - 8 and info.fd == 0
    assert _lib.describe(a._h, None) == _lib.E_NULL
    h = a._h
    a.close()
    collect()  # (PyPy: the handle is closed by the garbage collector)
    assert _describe(h)[0] == _lib.E_HANDLE


def test_attach_by_describe_keeps_every_property(shm_name, tmp_path):
    a = mba.create(shm_name, (2, 3), "f")
    b = mba.attach(shm_name)
    assert (b.typecode, b.row_shape, b.shape, b.readonly) == ("f", (3,), (2, 3), False)
    with pytest.raises(TypeError, match=r"holds 'f' \(float32\) elements"):
        mba.attach(shm_name, "d")
    a.append([1, 2, 3])
    assert b[2] == [1.0, 2.0, 3.0]
    a.close()
    b.close()
    f = mba.open(str(tmp_path / "x.mba"), "x", "q", 3)
    f.append(7)
    c = mba.open(str(tmp_path / "x.mba"), "c")
    assert c.tolist() == [0, 0, 0, 7] and c.buffer_info()[0] != f.buffer_info()[0]
    c.close()
    f.close()


# Both tests read views after close(): a mistake in when the mapping is
# pinned would crash, so they run in a child process (py fixture).
_MAPS = """
import sys, mba
name = sys.argv[1]
def maps():
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if name in line)
"""


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy has no reference counts: close() leaves the handle (and its mapping) to the garbage collector, so nothing is released at once")
def test_attach_close_cycles_release_every_mapping(shm_name, py):
    py(_MAPS + """
a = mba.create(name, 10, "i")
base = maps()
assert base >= 1
for _ in range(200):
    # Attaches of an array this process already maps share the mapping.
    b = mba.attach(name)
    b.append(1)
    assert maps() == base
    b.close()
v = mba.attach(name).view()  # the array object is dropped at once
a.close()
assert maps() == base and v[-1] == 1, "the view keeps the memory mapped"
del v  # the view's pin was the last user of that mapping
assert maps() == 0
for _ in range(50):
    # Nothing else maps it: each attach maps, each close unmaps.
    b = mba.attach(name)
    b.append(2)
    b.close()
    assert maps() == 0
r = mba.attach(name, readonly=True)
w = mba.attach(name)
assert maps() == base + 1, "read-only handles get a mapping of their own"
assert r[-1] == 2 and r.buffer_info()[0] != w.buffer_info()[0]
r.close()
w.close()
assert maps() == 0
print("ok")
""", shm_name)


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy has no reference counts: close() leaves the handle (and its mapping) to the garbage collector, so nothing is released at once")
def test_close_keeps_the_mapping_only_while_views_are_alive(shm_name, py):
    py(_MAPS + """
try:
    import numpy
except ImportError:
    numpy = None
a = mba.create(name, 4, "q")
a[0] = 41
v = a.view()
s = v[1:3]
arr = numpy.asarray(a.view()) if numpy is not None else None
a.close()
assert maps() == 1, "views were alive at close: they keep the mapping"
assert v[0] == 41 and len(s) == 2
if arr is not None:
    assert arr[0] == 41
del v, arr
assert maps() == 1 and s[0] == 0, "a slice alone keeps it too"
del s
assert maps() == 0
b = mba.attach(name)
assert b[0] == 41
b.close()
assert maps() == 0, "no views at close: unmapped at once"
b = mba.attach(name)
w = b.view()
del b  # dropped without close(): the same rule
assert maps() == 1 and w[0] == 41
del w
assert maps() == 0
print("ok")
""", shm_name)


# ------------------------------------------------- append via PyDLL, fallback

class _Counting(object):
    """Stands in for the PyDLL mba_try_append: counts calls, optionally
    always declines (MBA_E_BUSY) so that every append takes the fallback."""

    def __init__(self, decline):
        self.calls = 0
        self.decline = decline

    def __call__(self, h, row):
        self.calls += 1
        assert type(row) is bytes
        if self.decline:
            return _lib.E_BUSY
        return _lib.try_append_raw_fast(h, row)


@pytest.mark.parametrize("decline", [False, True])
def test_append_results_do_not_depend_on_the_fast_path(monkeypatch, decline):
    fake = _Counting(decline)
    use_python_append(monkeypatch)
    monkeypatch.setattr(_core, "_try_append_raw", fake)
    for tc in "bBhHiIqQfd":
        a, ref = mba.mmaparray(tc), array.array(tc)
        vals = [0, 1, 5, 100, 127]
        if tc.islower():
            vals += [-1, -128]
        if tc in "iIqQfd":
            vals += [2 ** 31 - 1, 2 ** 20]
        if tc in "qfd":
            vals += [-2 ** 31]
        for _ in range(300):  # grows several times
            for v in vals:
                a.append(v)
                ref.append(v)
        assert a == ref, tc
        a.close()
    assert fake.calls > 0
    n = fake.calls
    a = mba.mmaparray("q")
    for v in (2 ** 31, -2 ** 31 - 1, 2 ** 40, True, 1.0):
        if type(v) is float:
            with pytest.raises(TypeError):
                a.append(v)  # refused by the struct: no try-call
        else:
            a.append(v)
    assert fake.calls == n + 4
    assert a.tolist() == [2 ** 31, -2 ** 31 - 1, 2 ** 40, 1]
    a.close()


@pytest.mark.parametrize("decline", [False, True])
def test_out_of_range_still_raises_arrays_overflow_error(monkeypatch, decline):
    use_python_append(monkeypatch)
    monkeypatch.setattr(_core, "_try_append_raw", _Counting(decline))
    cases = [("b", 128), ("b", -129), ("B", -1), ("B", 256), ("h", 40000),
             ("H", -1), ("i", 2 ** 31), ("I", -1), ("I", 2 ** 32), ("Q", -1),
             ("q", 2 ** 63), ("Q", 2 ** 64)]
    for tc, v in cases:
        a = mba.mmaparray(tc, [1])
        a.append(2)
        with pytest.raises(OverflowError) as got:
            a.append(v)
        with pytest.raises(OverflowError) as want:
            array.array(tc).append(v)
        assert str(got.value) == str(want.value), (tc, v)
        assert a.tolist() == [1, 2], (tc, v)
        a.close()


@pytest.mark.parametrize("decline", [False, True])
def test_append_after_close_or_on_read_only_still_raises(monkeypatch, shm_name, decline):
    use_python_append(monkeypatch)
    monkeypatch.setattr(_core, "_try_append_raw", _Counting(decline))
    a = mba.mmaparray("i", [1])
    a.append(2)
    a.close()
    for v in (3, 2 ** 40, 1.5, "x"):
        with pytest.raises(ValueError, match="closed"):
            a.append(v)
    w = mba.create(shm_name, 2, "i")
    r = mba.attach(shm_name, readonly=True)
    with pytest.raises(TypeError) as e:
        r.append(3)
    assert isinstance(e.value, mba.ReadOnlyError)
    assert len(w) == 2
    r.close()
    w.close()


@pytest.mark.parametrize("tc,values", [
    ("q", (0, 2, 3)),
    ("Q", (2 ** 63 + 5, 2 ** 63 + 6, 2 ** 63 + 7)),
    ("d", (0.5, 2.5, 3.5)),
])
def test_append_waits_for_a_lock_held_by_another_thread(shm_name, py, tc, values):
    # In a child interpreter: a fast path that blocked with the GIL held
    # would deadlock, and the timeout turns that into a failure.
    p = py("""
        import struct, sys, threading, time, mba
        from mba import _lib
        name, tc = sys.argv[1], sys.argv[2]
        first, waited, last = eval(sys.argv[3])

        def try_append(x):
            return _lib.try_append_raw_fast(a._h, struct.pack(tc, x))

        a = mba.create(name, 0, tc)
        a.append(first)  # a's first write is done: the next one tries the fast path
        b = mba.attach(name)
        locked, go = threading.Event(), threading.Event()
        errors = []

        def holder():
            try:
                with b.locked():
                    locked.set()
                    go.wait(10)
                    time.sleep(0.2)  # the main thread blocks in its append
                    b.append(1)
            except BaseException as e:
                errors.append(e)
                locked.set()

        t = threading.Thread(target=holder)
        t.start()
        assert locked.wait(10)
        assert try_append(last) == _lib.E_BUSY  # held elsewhere
        assert len(a) == 1
        go.set()
        a.append(waited)  # falls back to the blocking call, which waits for the unlock
        t.join(10)
        assert not t.is_alive() and not errors, errors
        assert try_append(last) == _lib.OK  # free again
        print(a.tolist() == [first, 1, waited, last])
    """, shm_name, tc, repr(values), timeout=30)
    assert p.stdout.split() == ["True"]


def test_append_inside_own_batch(shm_name):
    a = mba.create(shm_name, 0, "i")
    a.append(0)
    with a.locked():
        for i in range(1, 2000):  # grows while the lock is held
            a.append(i)
    assert a.tolist() == list(range(2000))
    a.close()


def _lock_holder(name, then):
    code = textwrap.dedent("""
        import sys, time, mba
        b = mba.attach(sys.argv[1])
        b.locked().__enter__()
        print("locked", flush=True)
        sys.stdin.readline()
        if sys.argv[2] == "kill":
            import os, signal
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.2)
        b.append(1)
        b.close()  # releases the lock
        print("done", flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", code, name, then],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_append_waits_for_a_lock_held_by_another_process(shm_name):
    a = mba.create(shm_name, 0, "q")
    a.append(0)
    p = _lock_holder(shm_name, "unlock")
    try:
        assert _lib.try_append_raw_fast(a._h, struct.pack("q", 9)) == _lib.E_BUSY
        p.stdin.write("go\n")
        p.stdin.flush()
        a.append(2)
        assert p.stdout.readline().strip() == "done"
    finally:
        p.stdin.close()
        assert p.wait(30) == 0
        p.stdout.close()
    assert a.tolist() == [0, 1, 2]
    a.close()


# The fast path (mba_try_append) declines while a dead writer's lock word
# is set, and the general path recovers the lock.
@pytest.mark.parametrize("tc,values", [("q", [0, 2, 3]), ("d", [0.5, 1.5, 2.5])])
def test_append_recovers_the_lock_of_a_killed_holder(shm_name, tc, values):
    a = mba.create(shm_name, 0, tc)
    a.append(values[0])
    p = _lock_holder(shm_name, "kill")
    try:
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.wait(30) == -signal.SIGKILL
    finally:
        p.stdin.close()
        p.stdout.close()
    a.append(values[1])  # the fast path declines, the general one recovers the lock
    a.append(values[2])
    assert a.tolist() == values
    a.close()


def test_fork_child_appends_c_ints():
    a = mba.mmaparray("i", [1])
    a.append(2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            for v in range(3, 1000):  # first write after fork, then growth
                a.append(v)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    a.append(1000)
    assert a.tolist() == list(range(1, 1001))
    a.close()


# ------------------------------- other values via mba_try_append, fallback
#
# Every value is packed by a struct and goes to mba_try_append (PyDLL,
# GIL kept), then on MBA_E_BUSY to the blocking, reporting mba_append
# (CDLL): the same results and errors either way. test_append64.py has the
# full table of typecodes and values.

@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="ctypes.PyDLL is CPython's (PyPy calls through the CDLL under a lock)")
def test_try_append_raw_is_bound_through_pydll():
    f = _lib.try_append_raw_fast
    assert f._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    assert not _lib.append_raw_fast._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    assert f.argtypes is None and _core._try_append_raw is f
    assert "mba_try_append" in _lib.REQUIRED


def test_try_append_raw_declines_instead_of_failing(shm_name):
    row = (2 ** 63 + 5).to_bytes(8, sys.byteorder)
    a = mba.mmaparray("Q")
    h = a._h
    assert _lib.try_append_raw_fast(h, row) == _lib.E_BUSY  # first write
    assert a.tolist() == []
    a.append(1)
    assert _lib.try_append_raw_fast(h, row) == _lib.OK
    assert _lib.try_append_raw_fast(h, None) == _lib.E_BUSY  # NULL row
    assert _lib.try_append_raw_fast(0, row) == _lib.E_BUSY  # bad handle
    assert a.tolist() == [1, 2 ** 63 + 5]
    a.close()
    collect()  # (PyPy: the handle is closed by the garbage collector)
    assert _lib.try_append_raw_fast(h, row) == _lib.E_BUSY  # closed
    w = mba.create(shm_name, 2, "Q")
    w.append(3)
    r = mba.attach(shm_name, readonly=True)
    assert _lib.try_append_raw_fast(r._h, row) == _lib.E_BUSY  # read-only
    assert w.tolist() == [0, 0, 3]
    r.close()
    w.close()


_CountingRaw = _Counting


def _count_tries(monkeypatch, decline):
    """The try-function replaced by a counter."""
    raw = _CountingRaw(decline)
    use_python_append(monkeypatch)
    monkeypatch.setattr(_core, "_try_append_raw", raw)
    return raw


_I64 = [2 ** 63 - 1, -2 ** 63, 2 ** 62 + 3, -2 ** 40 - 7, 2 ** 31, -2 ** 31 - 1]
_U64 = [2 ** 64 - 1, 2 ** 63, 2 ** 63 + 5, 2 ** 40, 2 ** 31, 2 ** 32]
_FLOATS = [1.5, -0.0, 0.1, -1e300, float("inf"), float("-inf"), float("nan"),
           2 ** 40, -2 ** 63, 2 ** 64 + 1, 1e-310, 3.4028234663852886e38]
_RAW_VALUES = {"q": _I64, "Q": _U64, "I": [2 ** 31, 2 ** 32 - 1, 3000000000],
               "f": _FLOATS, "d": _FLOATS}
for _tc in "lL":
    if _tc in _core._TC_TYPE and array.array(_tc).itemsize == 8:
        _RAW_VALUES[_tc] = _I64 if _tc == "l" else _U64


@pytest.mark.parametrize("decline", [False, True])
def test_raw_append_results_do_not_depend_on_the_fast_path(monkeypatch, decline):
    raw = _count_tries(monkeypatch, decline)
    for tc, vals in sorted(_RAW_VALUES.items()):
        a, ref = mba.mmaparray(tc), array.array(tc)
        for _ in range(300):  # grows several times
            for v in vals:
                a.append(v)
                ref.append(v)
        a.append(7)  # a small int in between
        ref.append(7)
        a.append(vals[0])
        ref.append(vals[0])
        assert len(a) == len(ref) and a.tobytes() == ref.tobytes(), tc
        a.close()
    assert raw.calls >= 300 * sum(len(v) for v in _RAW_VALUES.values())


@pytest.mark.parametrize("decline", [False, True])
def test_raw_append_errors_are_arrays_errors(monkeypatch, decline):
    _count_tries(monkeypatch, decline)
    cases = [("q", 2 ** 63), ("q", -2 ** 63 - 1), ("Q", 2 ** 64), ("Q", -2 ** 40),
             ("I", 2 ** 32), ("i", 2 ** 40), ("q", 1.5), ("Q", 2.0), ("d", "x"),
             ("d", 10 ** 400), ("f", None)]
    for tc, v in cases:
        a = mba.mmaparray(tc, [1])
        a.append(2)
        with pytest.raises(Exception) as got:
            a.append(v)
        with pytest.raises(Exception) as want:
            array.array(tc).append(v)
        assert type(got.value) is type(want.value), (tc, v)
        assert str(got.value) == str(want.value), (tc, v)
        assert a.tolist() == [1, 2], (tc, v)
        a.close()
    a, ref = mba.mmaparray("f"), array.array("f")
    for v in (1e300, -1e300, 1e-50):  # struct refuses, array.array does not
        a.append(v)
        ref.append(v)
    assert a.tobytes() == ref.tobytes()
    a.close()


def _raw_append_errors(monkeypatch, decline, shm_name):
    _count_tries(monkeypatch, decline)
    out = []
    for tc, v in (("q", 2 ** 40), ("Q", 2 ** 63 + 5), ("d", 1.5), ("f", 2 ** 40)):
        a = mba.mmaparray(tc, [1])
        a.append(v)
        a.close()
        with pytest.raises(ValueError, match="closed") as e:
            a.append(v)
        out.append((type(e.value), str(e.value)))
        w = mba.create(shm_name, 2, tc)
        w.append(v)
        r = mba.attach(shm_name, readonly=True)
        with pytest.raises(TypeError) as e:
            r.append(v)
        assert isinstance(e.value, mba.ReadOnlyError)
        out.append((type(e.value), str(e.value)))
        assert len(w) == 3 and len(r) == 3
        r.close()
        w.close()
        mba.delete(shm_name)
    return out


def test_raw_append_after_close_or_on_read_only_still_raises(monkeypatch, shm_name):
    # With the fast call declining every time the errors are those of the
    # plain mba_append path from before it existed.
    fast = _raw_append_errors(monkeypatch, False, shm_name)
    slow = _raw_append_errors(monkeypatch, True, shm_name)
    assert fast == slow and len(fast) == 8
    w = mba.create(shm_name, 2, "q")
    r = mba.attach(shm_name, readonly=True)
    with pytest.raises(TypeError) as e:
        r.append(3)  # a small int reports the same
    assert (type(e.value), str(e.value)) == slow[1]
    r.close()
    w.close()


def test_raw_append_waits_for_a_lock_held_by_another_process(shm_name):
    a = mba.create(shm_name, 0, "q")
    a.append(2 ** 40)
    p = _lock_holder(shm_name, "unlock")
    try:
        row = (-2 ** 63).to_bytes(8, sys.byteorder, signed=True)
        assert _lib.try_append_raw_fast(a._h, row) == _lib.E_BUSY
        p.stdin.write("go\n")
        p.stdin.flush()
        a.append(-2 ** 63)
        assert p.stdout.readline().strip() == "done"
    finally:
        p.stdin.close()
        assert p.wait(30) == 0
        p.stdout.close()
    a.append(2 ** 63 - 1)
    assert a.tolist() == [2 ** 40, 1, -2 ** 63, 2 ** 63 - 1]
    a.close()


def test_fork_child_appends_64_bit_values_and_floats():
    a = mba.mmaparray("Q", [1])
    a.append(2 ** 63)
    d = mba.mmaparray("d", [0.5])
    d.append(1.5)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            for v in range(3, 1000):  # first write after fork, then growth
                a.append(2 ** 40 + v)
                d.append(v + 0.5)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    a.append(2 ** 64 - 1)
    d.append(-1.5)
    assert a.tolist() == [1, 2 ** 63] + [2 ** 40 + v for v in range(3, 1000)] + [2 ** 64 - 1]
    assert d.tolist() == [0.5, 1.5] + [v + 0.5 for v in range(3, 1000)] + [-1.5]
    a.close()
    d.close()


def test_views_are_made_at_first_need_only(shm_name):
    """An attach makes no views (the bridge's a[i], len() and append need
    none); the first Python path that needs them makes them."""
    w = mba.create(shm_name, 3, "i")
    w[0] = 5
    a = mba.attach(shm_name)
    assert a._len is _core._LAZY_Q
    if _bridge.active:
        assert a[0] == 5 and a[-1] == 0 and len(a) == 3
        assert a._len is _core._LAZY_Q
    assert a.tolist() == [5, 0, 0] and a[1:2].tolist() == [0]
    assert a._len is not _core._LAZY_Q and a._len[0] == 3
    w.append(7)  # growth by another handle, seen by the made views too
    assert a.tolist() == [5, 0, 0, 7] and len(a) == 4
    b = mba.attach(shm_name)
    b.close()  # closed before any view was made
    with pytest.raises(ValueError, match="closed"):
        b.tolist()
    with pytest.raises(ValueError, match="closed"):
        len(b)
    a.close()
    w.close()


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="inspects CPython ctypes internals (_flags_, the type cache)")
def test_one_exporter_type_for_arrays_of_any_length(tmp_path):
    """The internal exporter spans the whole reservation, so arrays of any
    length (and an array after growth) share one ctypes type: a new array
    type costs ~18 us and stays cached in ctypes forever. The views users
    get are cut from an exporter of the verified capacity only, so even
    view.obj covers nothing past the end of the file."""
    import ctypes
    arrs = [mba.open(str(tmp_path / ("a%d.mba" % n)), "x", "d", n) for n in (1, 1000, 77777)]
    try:
        for a in arrs:
            a.tolist()  # (the views are made at the first need)
        types = {type(a._whole.obj) for a in arrs}
        assert len(types) == 1
        a = arrs[1]
        before = type(a._whole.obj)
        a.extend([1.5] * 100000)  # grows: the views are re-cut, not re-made
        assert type(a._whole.obj) is before and len(a) == 101000
        for x in arrs:
            v = x.view()
            assert ctypes.sizeof(v.obj) == x.capacity * 8
            assert len(v) == len(x)
    finally:
        for x in arrs:
            x.close()


def test_large_extends_from_the_array_itself(tmp_path):
    """Extends of 4 MiB or more are written through the file: from the
    array's own memory too (the kernel reads a mapping of the file it
    writes), for an anonymous and a file-backed array, seen by another
    attachment with a mapping of its own."""
    oracle = array.array("q", range(600000))
    a = mba.mmaparray("q", oracle)
    a.extend(a)
    a += a
    assert a == oracle * 4
    a.close()
    p = str(tmp_path / "x.mba")
    f = mba.open(p, "x", "q")
    f.extend(oracle)
    f.extend(f)
    g = mba.attach("file://" + p, readonly=True)
    assert len(g) == 1200000 and g[1199999] == 599999 and g.tolist() == (oracle * 2).tolist()
    g.close()
    f.close()

"""append of values that are not a C int, for every typecode, against
array.array: 64-bit ints go to mba_try_append_u64_halves (two C ints,
v >> 32 and v, which ctypes masks to its low 32 bits), everything else is
packed by a struct for mba_try_append; both fall back to a blocking call
on MBA_E_BUSY (first write of a handle, growth, lock held elsewhere, and
every error)."""

import array
import math

import pytest

import mba
from conftest import use_python_append
from mba import _core, _lib

TYPECODES = [tc for tc in "bBhHiIlLqQfd" if tc in _core._TC_TYPE]

INTS = [0, 1, -1, 2 ** 7 - 1, 2 ** 7, -2 ** 7, -2 ** 7 - 1, 2 ** 8 - 1, 2 ** 8,
        2 ** 15 - 1, 2 ** 15, -2 ** 15, -2 ** 15 - 1, 2 ** 16 - 1, 2 ** 16,
        2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 31 + 1,
        2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, -2 ** 40, 2 ** 40 + 2 ** 31,
        2 ** 53 + 1, 2 ** 60 + 2 ** 36 + 1,  # rounds twice on the way to 'f'
        2 ** 63 - 1, 2 ** 63, 2 ** 63 + 5, -2 ** 63, -2 ** 63 + 1, -2 ** 63 - 1,
        0xFFFFFFFF00000000, 0x80000000FFFFFFFF, 2 ** 64 - 1, 2 ** 64,
        -2 ** 64, 2 ** 100, -2 ** 100, 10 ** 400]
FLOATS = [1.5, -0.0, 0.0, 0.1, -2.5, 1e300, -1e300, 1e-310, 3.4028234663852886e38,
          3.5e38, float("nan"), float("inf"), float("-inf"), 2.0 ** 63, 2.0 ** 64]
VALUES = INTS + FLOATS + [True, False]


def _outcome(append, tc, v):
    """What append(v) does: ("ok", the element's bytes) or ("error",
    exception type, message)."""
    try:
        append(v)
    except Exception as e:
        return ("error", type(e), str(e))
    return ("ok",)


def _same(a, ref, tc, v):
    assert len(a) == len(ref), (tc, v)
    got, want = a.tobytes(), ref.tobytes()
    if got != want and tc in "fd":
        # NaN payloads aside, the values must agree.
        for x, y in zip(a.tolist(), ref.tolist()):
            assert x == y or (math.isnan(x) and math.isnan(y)), (tc, v, x, y)
    else:
        assert got == want, (tc, v)


def _exc_matches(got, want, tc, v):
    assert got[0] == want[0], (tc, v, got, want)
    if got[0] == "error":
        assert got[1] is want[1], (tc, v, got, want)
        assert got[2] == want[2], (tc, v, got, want)


class _Tries(object):
    """Replaces the three PyDLL try-functions: records which one each
    append took and what it returned; with decline, each returns
    MBA_E_BUSY without calling the library (so every append falls back)."""

    def __init__(self, monkeypatch, decline=False):
        self.log = []
        self.decline = decline
        use_python_append(monkeypatch)
        for name, real in (("_try_append_int", _lib.try_append_int_fast),
                           ("_try_append_raw", _lib.try_append_raw_fast),
                           ("_try_append_u64_halves", _lib.try_append_u64_halves_fast)):
            monkeypatch.setattr(_core, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def f(*args):
            if name == "_try_append_u64_halves":
                h, hi, lo = args
                # Both halves are plain ints; hi always fits 32 bits.
                assert type(hi) is int and type(lo) is int and 0 <= hi < 2 ** 32
                assert 2 ** 31 <= lo < 2 ** 64 and hi == lo >> 32
            rc = _lib.E_BUSY if self.decline else real(*args)
            self.log.append((name, rc))
            return rc
        return f

    def names(self):
        return [n for n, _ in self.log]

    def clear(self):
        del self.log[:]


@pytest.mark.parametrize("decline", [False, True], ids=["fast", "fallback"])
@pytest.mark.parametrize("tc", TYPECODES)
def test_append_matches_array_for_every_value(monkeypatch, tc, decline):
    tries = _Tries(monkeypatch, decline)
    a, ref = mba.mmaparray(tc), array.array(tc)
    for rep in range(3):  # the first round has the handle's first write
        for v in VALUES:
            got = _outcome(a.append, tc, v)
            want = _outcome(ref.append, tc, v)
            _exc_matches(got, want, tc, v)
            _same(a, ref, tc, v)
    assert a == ref or tc in "fd"
    assert tries.log
    if decline:
        assert all(rc == _lib.E_BUSY for _, rc in tries.log)
    a.close()


@pytest.mark.parametrize("tc", TYPECODES)
def test_append_grows_through_the_fallback(monkeypatch, tc):
    # Values that each path can store, appended past several growths: the
    # try-call declines at capacity and the blocking call grows.
    tries = _Tries(monkeypatch)
    a, ref = mba.mmaparray(tc), array.array(tc)
    vals = []
    for v in VALUES:
        t = array.array(tc)
        try:
            t.append(v)
        except Exception:
            continue
        vals.append(v)
    a.append(vals[0])
    ref.append(vals[0])
    cap0 = a.capacity
    while len(a) <= 2 * cap0:
        for v in vals:
            a.append(v)
            ref.append(v)
    assert a.capacity > cap0
    _same(a, ref, tc, None)
    rcs = [rc for _, rc in tries.log]
    assert rcs.count(_lib.E_BUSY) >= 2  # the first write, and growth
    assert rcs.count(_lib.OK) > len(rcs) // 2
    a.close()


def test_which_call_each_value_takes(monkeypatch):
    tries = _Tries(monkeypatch)
    u64 = "_try_append_u64_halves"
    cases = [("q", 5, "_try_append_int"), ("q", -2 ** 31, "_try_append_int"),
             ("q", 2 ** 40, u64), ("Q", 2 ** 63 + 5, u64), ("I", 2 ** 32 - 1, u64),
             ("q", 2 ** 31, u64), ("b", 2 ** 40, u64),  # which overflows
             ("q", -2 ** 40, "_try_append_raw"), ("q", -2 ** 63, "_try_append_raw"),
             ("d", 1.5, "_try_append_raw"), ("f", 1.5, "_try_append_raw"),
             ("d", 2 ** 40, "_try_append_raw"), ("f", 2 ** 40, "_try_append_raw"),
             ("q", True, "_try_append_raw")]
    for tc, v, name in cases:
        a = mba.mmaparray(tc, [1])
        a.append(1)  # the handle's first write
        tries.clear()
        try:
            a.append(v)
        except OverflowError:
            assert tc == "b"
        assert tries.names() == [name], (tc, v)
        a.close()
    for tc, v in [("q", 2 ** 64), ("q", -2 ** 63 - 1), ("Q", -1), ("q", 1.5), ("f", 1e300)]:
        a = mba.mmaparray(tc, [1])
        a.append(1)
        tries.clear()
        try:
            a.append(v)  # no try-call at all: array.array's conversion
        except (OverflowError, TypeError):
            pass
        assert "_try_append_u64_halves" not in tries.names(), (tc, v)
        a.close()


def test_two_to_the_63_never_reaches_q_as_negative(monkeypatch):
    tries = _Tries(monkeypatch)
    for v in (2 ** 63, 2 ** 63 + 5, 2 ** 64 - 1, 0x80000000FFFFFFFF):
        a = mba.mmaparray("q", [7])
        a.append(8)
        tries.clear()
        with pytest.raises(OverflowError) as e:
            a.append(v)
        with pytest.raises(OverflowError) as want:
            array.array("q").append(v)
        assert str(e.value) == str(want.value)
        assert tries.log == [("_try_append_u64_halves", _lib.E_BUSY)]
        assert a.tolist() == [7, 8]
        a.close()
    # The library itself refuses them: the halves are a uint64_t.
    a = mba.mmaparray("q", [1])
    a.append(2)
    assert _lib.try_append_u64_halves_fast(a._h, 2 ** 31, 0) == _lib.E_BUSY
    assert _lib.try_append_u64_halves_fast(a._h, 2 ** 31 - 1, 2 ** 32 - 1) == _lib.OK
    assert a.tolist() == [1, 2, 2 ** 63 - 1]
    a.close()


def test_halves_arrive_exactly():
    a = mba.mmaparray("Q", [0])
    a.append(0)
    vals = [2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 2 ** 31, 2 ** 63, 2 ** 63 + 5,
            2 ** 64 - 1, 0xFFFFFFFF00000000, 0x80000000FFFFFFFF, 0x123456789ABCDEF0]
    for v in vals:
        # As append passes them: v >> 32, and v itself (masked by ctypes).
        assert _lib.try_append_u64_halves_fast(a._h, v >> 32, v) == _lib.OK, v
    assert a.tolist() == [0, 0] + vals
    a.close()


def test_u64_halves_declines_instead_of_failing(shm_name):
    a = mba.mmaparray("Q")
    h = a._h
    assert _lib.try_append_u64_halves_fast(h, 1, 0) == _lib.E_BUSY  # first write
    assert a.tolist() == []
    a.append(2 ** 40)  # falls back to mba_append_u64
    assert _lib.try_append_u64_halves_fast(h, 1, 5) == _lib.OK
    assert _lib.try_append_u64_halves_fast(0, 1, 5) == _lib.E_BUSY  # bad handle
    a.close()
    assert _lib.try_append_u64_halves_fast(h, 1, 5) == _lib.E_BUSY  # closed
    w = mba.create(shm_name, 0, "Q")
    w.append(2 ** 63)
    r = mba.attach(shm_name, readonly=True)
    assert _lib.try_append_u64_halves_fast(r._h, 1, 5) == _lib.E_BUSY  # read-only
    with pytest.raises(mba.ReadOnlyError):
        r.append(2 ** 63 + 1)
    b = mba.attach(shm_name)
    b.append(2 ** 33)  # b's own lock token
    with w.locked():
        assert _lib.try_append_u64_halves_fast(b._h, 1, 5) == _lib.E_BUSY  # held by w
        w.append(2 ** 34)  # the holder goes on
    assert _lib.try_append_u64_halves_fast(b._h, 1, 5) == _lib.OK  # free again
    assert r.tolist() == [2 ** 63, 2 ** 33, 2 ** 34, 2 ** 32 + 5]
    r.close()
    b.close()
    w.close()


def test_u64_halves_is_bound_through_pydll():
    import ctypes
    f = _lib.try_append_u64_halves_fast
    assert f._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    assert f.argtypes is None and _core._try_append_u64_halves is f
    assert "mba_try_append_u64_halves" in _lib.REQUIRED


def test_float_overflow_to_f_is_an_infinity_like_array():
    # array.array casts a double beyond the float range to an infinity.
    a, ref = mba.mmaparray("f"), array.array("f")
    for v in (1e300, -1e300, 2 ** 200, -2 ** 200, 3.5e38):
        a.append(v)
        ref.append(v)
    assert a.tobytes() == ref.tobytes()
    assert a.tolist()[:2] == [float("inf"), float("-inf")]
    a.close()


def test_big_ints_to_f_round_like_array():
    # array.array converts an int to a double, then to float: twice
    # rounded; a direct int-to-float conversion would differ here.
    v = 2 ** 60 + 2 ** 36 + 1
    a, ref = mba.mmaparray("f"), array.array("f")
    a.append(v)
    ref.append(v)
    assert a.tobytes() == ref.tobytes() and a[0] == 2.0 ** 60
    a.close()

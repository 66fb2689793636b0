"""append of every kind of value, for every typecode, against array.array:
each value is packed by a struct for mba_try_append, which falls back to
the blocking mba_append on MBA_E_BUSY (first write of a handle, growth,
lock held elsewhere, and every error); a value the struct refuses takes
array.array's own conversion and errors."""

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
    """Replaces the PyDLL try-function: records each call and what it
    returned; with decline, it returns MBA_E_BUSY without calling the
    library (so every append falls back)."""

    def __init__(self, monkeypatch, decline=False):
        self.log = []
        self.decline = decline
        use_python_append(monkeypatch)
        monkeypatch.setattr(_core, "_try_append_raw",
                            self._wrap("_try_append_raw", _lib.try_append_raw_fast))

    def _wrap(self, name, real):
        def f(*args):
            h, row = args
            assert type(row) is bytes
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


def test_which_values_take_the_try_call(monkeypatch):
    tries = _Tries(monkeypatch)
    raw = "_try_append_raw"
    cases = [("q", 5), ("q", -2 ** 31), ("q", 2 ** 40), ("Q", 2 ** 63 + 5),
             ("I", 2 ** 32 - 1), ("q", 2 ** 31), ("q", -2 ** 40), ("q", -2 ** 63),
             ("d", 1.5), ("f", 1.5), ("d", 2 ** 40), ("f", 2 ** 40), ("q", True)]
    for tc, v in cases:
        a = mba.mmaparray(tc, [1])
        a.append(1)  # the handle's first write
        tries.clear()
        a.append(v)
        assert tries.log == [(raw, _lib.OK)], (tc, v)
        assert a[-1] == v, (tc, v)
        a.close()
    for tc, v in [("b", 2 ** 40), ("q", 2 ** 64), ("q", -2 ** 63 - 1), ("Q", -1),
                  ("q", 1.5)]:
        a = mba.mmaparray(tc, [1])
        a.append(1)
        tries.clear()
        try:
            a.append(v)  # no try-call at all: array.array's conversion
        except (OverflowError, TypeError):
            pass
        assert tries.log == [], (tc, v)
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
        assert tries.log == []
        assert a.tolist() == [7, 8]
        a.close()


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

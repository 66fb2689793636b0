"""array.array users (issue 17, section 1): subclassing, pickling, mixing
with array.array, a None initializer. Each case runs the same operation
on array.array and on mmaparray and compares results, exceptions and
types, for every typecode. (The buffer protocol on Python < 3.12 needs
the C extension: not covered here.)"""

import array
import copy
import operator
import pickle

import pytest

import mba
from mba import mmaparray

TYPECODES = [tc for tc in "bBhHiIlLqQfd" if tc in mba.typecodes]


def _vals(tc):
    return [1.5, -2.25, 3.0] if tc in "fd" else [1, 2, 3]


def _outcome(f):
    try:
        return ("ok", f())
    except Exception as e:
        return (type(e), str(e))


# ------------------------------------------------------------- subclassing

class _OwnInit(object):
    """__init__ with its own signature, never calling the base's."""
    def __init__(self, typecode, init=(), tag=None):
        self.tag = tag


class _OwnNew(object):
    """__new__ with another signature, then any __init__."""
    def __new__(cls, tag, data):
        self = super().__new__(cls, "d", data)
        self.tag = tag
        return self

    def __init__(self, tag, data):
        pass


# (Module level: pickle finds classes by name.)
class OInit(_OwnInit, array.array):
    pass


class SInit(_OwnInit, mmaparray):
    pass


class ONo(array.array):
    pass


class SNo(mmaparray):
    pass


class ONew(_OwnNew, array.array):
    pass


class SNew(_OwnNew, mmaparray):
    pass


def _subclasses():
    return (OInit, ONo, ONew), (SInit, SNo, SNew)


@pytest.mark.parametrize("tc", TYPECODES)
def test_subclass_with_own_init(tc):
    (o_own, o_no, _), (s_own, s_no, _) = _subclasses()
    v = _vals(tc)
    o, s = o_own(tc, v, tag="x"), s_own(tc, v, tag="x")
    assert s.tolist() == o.tolist() and s.tag == o.tag == "x"
    assert isinstance(s, mmaparray) and type(s) is s_own
    s.append(v[0])
    o.append(v[0])
    assert s.tolist() == o.tolist() and len(s) == len(o)
    o, s = o_no(tc, v), s_no(tc, v)
    assert s.tolist() == o.tolist() and s.typecode == o.typecode
    # Keywords other than mmap go to the subclass (array.array ignores
    # them for a subclass, refuses them for itself).
    o, s = o_own(tc, v, tag=1), s_own(tc, v, tag=1)
    assert s.tolist() == o.tolist() and s.tag == o.tag == 1


def test_subclass_with_own_new():
    (_, _, o_new), (_, _, s_new) = _subclasses()
    o, s = o_new("t", [1.0, 2.0]), s_new("t", [1.0, 2.0])
    assert s.tolist() == o.tolist() and s.tag == o.tag == "t"


def test_constructor_errors_match():
    for args, kw in [((), {}), (("i", [1], 3), {}), (("i",), {"x": 1}),
                     (("z",), {}), (("i", "ab"), {}), (("i", None), {}),
                     (("i", 5), {})]:
        o = _outcome(lambda: array.array(*args, **kw))
        s = _outcome(lambda: mmaparray(*args, **kw))
        assert o[0] != "ok" and s[0] is o[0], (args, kw, o, s)


@pytest.mark.parametrize("tc", TYPECODES)
def test_none_initializer_raises_typeerror(tc):
    with pytest.raises(TypeError):
        array.array(tc, None)
    with pytest.raises(TypeError):
        mmaparray(tc, None)


# ---------------------------------------------------------------- pickling

@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("tc", TYPECODES)
def test_pickle_keeps_class_contents_and_attributes(tc, proto):
    (o_own, _, _), (s_own, _, _) = _subclasses()
    v = _vals(tc)
    for o, s in ((array.array(tc, v), mmaparray(tc, v)),
                 (o_own(tc, v, tag="x"), s_own(tc, v, tag="x"))):
        if hasattr(o, "tag"):
            o.extra = s.extra = [1, 2]
        o2 = pickle.loads(pickle.dumps(o, proto))
        s2 = pickle.loads(pickle.dumps(s, proto))
        assert type(o2) is type(o) and type(s2) is type(s)
        assert s2.tolist() == o2.tolist() and s2.typecode == o2.typecode
        assert getattr(s2, "__dict__", None) == getattr(o2, "__dict__", None)
        assert s2.name is None  # a new anonymous array, not the same memory
        s2[0] = v[1]
        assert s[0] == v[0]


def test_pickle_row_shaped_and_named(shm_name):
    r = mba.anon((2, 3), "d")
    r.extend([[1, 2, 3], [4, 5, 6]])
    r2 = pickle.loads(pickle.dumps(r))
    assert type(r2) is mmaparray and r2.shape == r.shape and r2.tolist() == r.tolist()
    n = mba.create(shm_name, 3, "i")
    n2 = pickle.loads(pickle.dumps(n))  # by reference: the same memory
    n2[0] = 7
    assert n[0] == 7 and n2.name == n.name
    n.close()
    n2.close()


@pytest.mark.parametrize("tc", TYPECODES)
def test_iterators_pickle_like_array_arrays(tc):
    v = _vals(tc) * 3000  # more than one 4096-item chunk
    o, s = array.array(tc, v), mmaparray(tc, v)
    for skip in (0, 1, 4095, 4096, 4097, len(v) - 1, len(v)):
        io, is_ = iter(o), iter(s)
        for _ in range(skip):
            next(io)
            next(is_)
        for proto in (2, pickle.HIGHEST_PROTOCOL):
            o2 = pickle.loads(pickle.dumps(io, proto))
            s2 = pickle.loads(pickle.dumps(is_, proto))
            assert list(s2) == list(o2)
        assert list(is_) == list(io)  # the originals are untouched
    c = copy.copy(iter(s))
    assert list(c) == v


def test_iterator_reads_live_and_follows_growth():
    o, s = array.array("i", [1, 2, 3]), mmaparray("i", [1, 2, 3])
    for a in (o, s):
        it = iter(a)
        next(it)
        a[1] = 20
        a.append(4)
    assert list(iter(s)) == list(iter(o))
    io, is_ = iter(o), iter(s)
    next(io)
    next(is_)
    o[1] = s[1] = 99
    o.append(5)
    s.append(5)
    assert list(is_) == list(io)


# ------------------------------------------------- mixing with array.array

@pytest.mark.parametrize("tc", TYPECODES)
def test_slice_assignment_from_array_array(tc):
    v = _vals(tc)
    for sl, new in [(slice(0, 2), v[:1]), (slice(1, 3), v * 2), (slice(None, None, 2), v[:2]),
                    (slice(None, None, 2), v), (slice(5, 9), v)]:
        o, s = array.array(tc, v), mmaparray(tc, v)
        r_o = _outcome(lambda: o.__setitem__(sl, array.array(tc, new)))
        r_s = _outcome(lambda: s.__setitem__(sl, array.array(tc, new)))
        assert r_s[0] is r_o[0], (sl, r_o, r_s)
        assert s.tolist() == o.tolist()
        # An mmaparray on the right of an mmaparray's slice, too.
        s2 = mmaparray(tc, v)
        r_m = _outcome(lambda: s2.__setitem__(sl, mmaparray(tc, new)))
        assert r_m[0] is r_o[0] and s2.tolist() == o.tolist()


@pytest.mark.parametrize("tc", TYPECODES)
def test_slice_assignment_other_typecode_fails_alike(tc):
    other = "d" if tc != "d" else "i"
    o, s = array.array(tc, _vals(tc)), mmaparray(tc, _vals(tc))
    r_o = _outcome(lambda: o.__setitem__(slice(0, 1), array.array(other, [1])))
    r_s = _outcome(lambda: s.__setitem__(slice(0, 1), array.array(other, [1])))
    assert r_o[0] is TypeError and r_s[0] is TypeError


def test_array_array_slice_from_mmaparray_is_refused_by_array_array():
    """array.array's own slice assignment takes only array.array instances
    (array_ass_subscr checks the type): a pure-Python class cannot be one,
    so `arr[0:2] = mmaparray(...)` raises array.array's TypeError. The
    portable spelling is arr[0:2] = array.array(tc, m)."""
    o = array.array("i", [1, 2, 3])
    with pytest.raises(TypeError):
        o[0:2] = mmaparray("i", [7, 8])
    o[0:2] = array.array("i", mmaparray("i", [7, 8]))
    assert o.tolist() == [7, 8, 3]


@pytest.mark.parametrize("tc", TYPECODES)
def test_comparisons_both_directions(tc):
    v = _vals(tc)
    for w in (v, v[:2], v + v[:1], [v[1]] + v[1:], v[::-1]):
        a, b = array.array(tc, v), array.array(tc, w)
        m, n = mmaparray(tc, v), mmaparray(tc, w)
        for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
            want = getattr(a, op)(b)
            f = getattr(operator, op.strip("_"))
            assert f(m, b) is want, (op, v, w)  # mmaparray op array.array
            assert f(a, n) is want, (op, v, w)  # array.array op mmaparray
            assert f(m, n) is want, (op, v, w)


# ------------------------------------- numpy-style indices, any buffer

@pytest.mark.parametrize("tc", TYPECODES)
def test_tuple_indices_on_row_shaped_arrays_match_numpy(tc):
    numpy = pytest.importorskip("numpy")
    a = mba.anon((0, 2, 3), tc)
    n = numpy.arange(12).reshape(2, 2, 3).astype(numpy.dtype(tc))
    a.extend(n.tolist())
    for key in [(0, 1, 2), (1, 0, 0), (-1, -1, -1), (1, -2, 1)]:
        assert a[key] == n[key] and type(a[key]) is type(n[key].item())
    for key in [(1,), (0, 1), (-1, 0)]:
        assert a[key] == n[key].tolist()
    assert a[1] == n[1].tolist()
    for key in [(2, 0, 0), (0, 2, 0), (0, 0, 3), (0, 0, -4), (0, 0, 0, 0)]:
        with pytest.raises(IndexError):
            n[key]
        with pytest.raises(IndexError):
            a[key]
    n[1, 0, 2] = 5
    a[1, 0, 2] = 5
    a[-1, -1, -1] = n[-1, -1, -1] = 1
    assert a.tolist() == n.tolist()
    with pytest.raises(TypeError):
        a[0, 1] = [1, 2, 3]  # one index per dimension


@pytest.mark.parametrize("tc", TYPECODES)
def test_flat_arrays_keep_array_arrays_tuple_error(tc):
    o, s = array.array(tc, _vals(tc)), mmaparray(tc, _vals(tc))
    for f in (lambda a: a[0, 1], lambda a: a.__setitem__((0,), 1)):
        with pytest.raises(TypeError):
            f(o)
        with pytest.raises(TypeError):
            f(s)


@pytest.mark.parametrize("tc", TYPECODES)
def test_slice_assignment_from_any_buffer_of_the_element_type(tc):
    numpy = pytest.importorskip("numpy")
    v = _vals(tc)
    s = mmaparray(tc, v)
    s[:] = numpy.array(v[::-1] + v, dtype=numpy.dtype(tc))
    assert s.tolist() == v[::-1] + v
    s[1:3] = memoryview(array.array(tc, v[:1]))
    want = array.array(tc, v[::-1] + v)
    want[1:3] = array.array(tc, v[:1])
    assert s.tolist() == want.tolist()
    s[::2] = numpy.array(v * 2, dtype=numpy.dtype(tc))[: len(s[::2])]
    want[::2] = array.array(tc, (v * 2)[: len(want[::2])])
    assert s.tolist() == want.tolist()
    other = numpy.float32 if tc != "f" else numpy.float64
    with pytest.raises(TypeError):
        s[:] = numpy.array(v, dtype=other)  # another element type: refused
    with pytest.raises(TypeError):
        s[:] = b"\0" * 8  # bytes are not elements (as array.array)

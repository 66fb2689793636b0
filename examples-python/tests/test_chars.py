"""Typecodes 'u' (wchar_t) and 'w' (Py_UCS4, Python 3.13+), with
array.array as the oracle: the same operations on both give the same
results (values and types), the same exceptions and the same contents,
for anonymous, named and user-mmap arrays. 'w' is skipped where the
running Python lacks it."""

import array
import copy
import mmap
import pickle
import platform
import sys

import pytest

import mba
from mba import _bridge, mmaparray

from conftest import unique_name


def _has(tc):
    try:
        array.array(tc)
        return True
    except ValueError:
        return False


CHARS = [pytest.param(tc, marks=pytest.mark.skipif(
    not _has(tc), reason="this Python's array.array has no typecode %r" % tc))
    for tc in "uw"]
# PyPy's array.array words some messages its own way (see test_oracle).
SAME_MESSAGES = platform.python_implementation() != "PyPy"
# memoryview(a) needs the extension's buffer slots, or __buffer__ (3.12+).
HAS_BUFFER = _bridge.active or sys.version_info >= (3, 12)
INIT = "h\u00e9llo \U0001f600"


def norm(r):
    if isinstance(r, (array.array, mmaparray)):
        return ("array", r.typecode, r.tobytes())
    if isinstance(r, (list, tuple)):
        return type(r)([norm(x) for x in r])
    if isinstance(r, bytes):
        return ("bytes", r)
    return (type(r), r)


def outcome(fn, a):
    try:
        return ("ok", norm(fn(a)))
    except Exception as e:  # noqa: BLE001 - compared below
        return ("err", type(e), str(e) if SAME_MESSAGES else "")


def ops(tc):
    other = array.array("I", [65])
    same = array.array(tc, "xy")
    return [
        ("a[1]", lambda a: a[1]),
        ("a[-1]", lambda a: a[-1]),
        ("a[99]", lambda a: a[99]),
        ("a['x']", lambda a: a["x"]),
        ("a[1:4]", lambda a: a[1:4]),
        ("a[::-2]", lambda a: a[::-2]),
        ("len", len),
        ("list", list),
        ("tolist", lambda a: a.tolist()),
        ("tounicode", lambda a: a.tounicode()),
        ("tobytes", lambda a: a.tobytes()),
        ("'l' in a", lambda a: "l" in a),
        ("108 in a", lambda a: 108 in a),
        ("count('l')", lambda a: a.count("l")),
        ("index('o')", lambda a: a.index("o")),
        ("index('z')", lambda a: a.index("z")),
        ("append('!')", lambda a: a.append("!")),
        ("append(65)", lambda a: a.append(65)),
        ("append('ab')", lambda a: a.append("ab")),
        ("append(b'a')", lambda a: a.append(b"a")),
        ("a[0] = 'H'", lambda a: a.__setitem__(0, "H")),
        ("a[0] = 72", lambda a: a.__setitem__(0, 72)),
        ("a[0] = ''", lambda a: a.__setitem__(0, "")),
        ("a[1:3] = same", lambda a: a.__setitem__(slice(1, 3), same)),
        ("a[1:3] = 'xy'", lambda a: a.__setitem__(slice(1, 3), "xy")),
        ("a[1:3] = other", lambda a: a.__setitem__(slice(1, 3), other)),
        ("del a[0]", lambda a: a.__delitem__(0)),
        ("insert(2, 'Z')", lambda a: a.insert(2, "Z")),
        ("insert(2, 90)", lambda a: a.insert(2, 90)),
        ("extend('abc')", lambda a: a.extend("abc")),
        ("extend(same)", lambda a: a.extend(same)),
        ("extend(other)", lambda a: a.extend(other)),
        ("extend([1])", lambda a: a.extend([1])),
        ("fromunicode('\u00fcber')", lambda a: a.fromunicode("\u00fcber")),
        ("fromunicode(b'x')", lambda a: a.fromunicode(b"x")),
        ("fromlist(['q', 'r'])", lambda a: a.fromlist(["q", "r"])),
        ("fromlist([1])", lambda a: a.fromlist([1])),
        ("frombytes", lambda a: a.frombytes(array.array(tc, "mn").tobytes())),
        ("pop()", lambda a: a.pop()),
        ("pop(0)", lambda a: a.pop(0)),
        ("pop(99)", lambda a: a.pop(99)),
        ("remove('Z')", lambda a: a.remove("Z")),
        ("remove('?')", lambda a: a.remove("?")),
        ("reverse", lambda a: a.reverse()),
        ("a + same", lambda a: a + same),
        ("a + other", lambda a: a + other),
        ("a * 2", lambda a: a * 2),
        ("a == same", lambda a: a == same),
        ("a < same", lambda a: a < same),
        ("repr", repr),
        ("str", str),
        ("itemsize", lambda a: a.itemsize),
        ("typecode", lambda a: a.typecode),
        ("copy", lambda a: copy.copy(a)),
        ("iter", lambda a: [type(x) for x in a]),
        ("byteswap twice", lambda a: (a.byteswap(), a.byteswap())),
    ]


def make(backing, tc, init):
    if backing == "anon":
        return mmaparray(tc, init)
    if backing == "named":
        a = mba.create(unique_name("chars"), 0, tc)
        a.fromunicode(init)
        return a
    m = mmap.mmap(-1, max(1, len(init)) * array.array(tc).itemsize)
    a = mmaparray(tc, mmap=m)
    a[:] = array.array(tc, init)
    return a


@pytest.mark.parametrize("backing", ["anon", "named", "mmap"])
@pytest.mark.parametrize("tc", CHARS)
def test_char_arrays_behave_like_array(tc, backing):
    o = array.array(tc, INIT)
    s = make(backing, tc, INIT)
    try:
        assert s.typecode == tc and s.tolist() == o.tolist()
        for what, fn in ops(tc):
            ro, rs = outcome(fn, o), outcome(fn, s)
            assert rs == ro, "%s ('%s', %s)" % (what, tc, backing)
            assert s.tobytes() == o.tobytes(), what
            assert s.tounicode() == o.tounicode(), what
    finally:
        if s.name:
            mba.delete(s.name)
        s.close()


@pytest.mark.parametrize("tc", CHARS)
def test_char_array_construction_like_array(tc):
    for init in ("", "abc", ["a", "b"], array.array(tc, "xy"),
                 array.array(tc, "xy").tobytes(), [1], ["ab"], None, 5):
        ro = outcome(lambda _: array.array(tc, init), None)
        rs = outcome(lambda _: mmaparray(tc, init), None)
        assert rs == ro, repr(init)


@pytest.mark.parametrize("tc", CHARS)
def test_char_arrays_pickle_copy_and_numpy(tc):
    a = mmaparray(tc, "abc")
    b = pickle.loads(pickle.dumps(a))
    assert type(b) is type(a) and b.tounicode() == "abc"
    it = iter(a)
    next(it)
    assert list(pickle.loads(pickle.dumps(it))) == ["b", "c"]
    np = pytest.importorskip("numpy")
    n = np.asarray(a)
    assert n.dtype == np.dtype("U1") and n.tolist() == ["a", "b", "c"]
    n[0] = "z"  # zero copy
    assert a[0] == "z"


def _view(x):
    m = memoryview(x)
    return (m.format, m.itemsize, m.shape, m.strides, m.readonly, m.nbytes,
            outcome(lambda m: m.tolist(), m), m.tobytes())


@pytest.mark.skipif(not HAS_BUFFER,
                    reason="the buffer protocol needs mba._ext or Python 3.12")
@pytest.mark.parametrize("tc", CHARS)
def test_char_array_buffers_like_array(tc):
    """memoryview(a), bytes(a) and numpy.asarray(a) of a character array
    give what they give for array.array (format "w" for UCS-4, numpy "U1"),
    without a copy; the view keeps the memory mapped after close()."""
    o, a = array.array(tc, INIT), mmaparray(tc, INIT)
    assert _view(a) == _view(o)
    assert bytes(a) == bytes(o) and bytearray(a) == bytearray(o)
    m = memoryview(a)
    try:
        np = __import__("numpy")
    except ImportError:
        np = None
    if np is not None:
        n, no = np.asarray(a), np.asarray(o)
        assert (n.dtype, n.shape, n.tolist()) == (no.dtype, no.shape, no.tolist())
        n[1] = "Z"
        assert a[1] == "Z"
        del n
    a.close()
    assert m.tobytes()[4:8] == array.array(tc, "Z").tobytes()
    m.release()


@pytest.mark.parametrize("tc", CHARS)
def test_named_char_array_is_u32_in_the_file(tc, shm_name):
    a = mba.create(shm_name, 0, tc)
    a.fromunicode("hi\U0001f600")
    assert mba.attach(shm_name, tc).tounicode() == "hi\U0001f600"
    raw = mba.attach(shm_name)  # the file says u32 only
    assert raw.typecode == "I" and raw.tolist() == [0x68, 0x69, 0x1F600]
    raw[0] = 0x110000  # no character: a[0] does what array.array does
    want = outcome(lambda b: array.array(tc, b)[0], raw.tobytes()[:4])
    assert outcome(lambda _: mba.attach(shm_name, tc)[0], None) == want
    a.close()


def test_char_typecodes_are_listed_where_array_has_them():
    for tc in "uw":
        assert (tc in mba.typecodes) == _has(tc)


def test_subclasses_refuse_char_typecodes_plainly():
    class S(mmaparray):
        pass
    with pytest.raises(mba.NotSupportedError):
        S("u")
    assert S("i", [1]).tolist() == [1]


def test_import_does_not_warn_of_deprecated_typecodes():
    # Python 3.13 deprecates 'u' (array.array('u') warns); importing mba
    # probes the typecodes and must not pass that warning to every user.
    import subprocess
    p = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", "import mba"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr

"""Type tables and module-level helpers of mmaparray."""

import array as _array
import ctypes
import operator
import struct as _struct
import sys
import threading
import warnings as _warnings

from ctypes import byref, c_ubyte

from . import _compat
from . import _lib as L

_index = operator.index

# ------------------------------------------------------------- type tables

_LONG = ctypes.sizeof(ctypes.c_long)
_TC_TYPE = {
    "b": L.I8, "B": L.U8, "h": L.I16, "H": L.U16, "i": L.I32, "I": L.U32,
    "l": L.I64 if _LONG == 8 else L.I32, "L": L.U64 if _LONG == 8 else L.U32,
    "q": L.I64, "Q": L.U64, "f": L.F32, "d": L.F64,
}
_TYPE_TC = {L.I8: "b", L.U8: "B", L.I16: "h", L.U16: "H", L.I32: "i",
            L.U32: "I", L.I64: "q", L.U64: "Q", L.F32: "f", L.F64: "d"}
_TYPE_NAME = {L.BOOL: "bool", L.COMPLEX64: "complex64",
              L.COMPLEX128: "complex128", L.F16: "float16",
              L.RECORD: "record"}
for _tc in list(_TC_TYPE):
    # Drop typecodes whose C size differs from the format's fixed width.
    if _array.array(_tc).itemsize != {L.I8: 1, L.U8: 1, L.I16: 2, L.U16: 2,
                                      L.I32: 4, L.U32: 4, L.I64: 8, L.U64: 8,
                                      L.F32: 4, L.F64: 8}[_TC_TYPE[_tc]]:
        del _TC_TYPE[_tc]
# Character typecodes: 'u' (wchar_t: 4 bytes on Linux) and 'w' (Py_UCS4,
# Python 3.13+), where the running Python has them. FORMAT.md has no
# character type: they are stored as unsigned integers of their size
# (u32 for UCS-4) and read back as 1-character str by the array, which
# knows its typecode; a file does not record it (attach(name, 'u') reads
# a u32 array as characters, attach(name) as 'I').
_CHARS = ""


def _itemsize(tc):
    """array.array's itemsize of a typecode (Python 3.13 deprecates 'u':
    only its use warns, not importing mba)."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", DeprecationWarning)
        return _array.array(tc).itemsize


for _tc in "uw":
    try:
        _sz = _itemsize(_tc)
    except ValueError:
        continue
    if _sz in (2, 4):
        _TC_TYPE[_tc] = L.U16 if _sz == 2 else L.U32
        _CHARS += _tc
# In array.typecodes' order where it exists.
typecodes = "".join(sorted(_TC_TYPE, key=(getattr(_array, "typecodes", "") + "".join(_TC_TYPE)).index))
# The memoryview format that reads each typecode's elements (memoryview
# has no character formats: their code points, as unsigned integers).
_CAST = {tc: ("H" if _itemsize(tc) == 2 else "I") if tc in _CHARS else tc
         for tc in _TC_TYPE}

_BO = "<" if sys.byteorder == "little" else ">"
_TYPESTR = {}
for _tc, _t in _TC_TYPE.items():
    _sz = _itemsize(_tc)
    _k = "f" if _tc in "fd" else ("u" if _tc.isupper() else "i")
    _TYPESTR[_tc] = ("|" if _sz == 1 else _BO) + _k + str(_sz)
for _tc in _CHARS:  # numpy's one-character UCS-4 string; none for UCS-2
    if _itemsize(_tc) == 4:
        _TYPESTR[_tc] = _BO + "U1"
    else:
        del _TYPESTR[_tc]

# Buffer formats that hold exactly the elements of a typecode.
_SAME_FORMAT = {}
for _tc in _TC_TYPE:
    _f = {_tc}
    for _o in _TC_TYPE:
        if _TC_TYPE[_o] == _TC_TYPE[_tc] and (_o in _CHARS) == (_tc in _CHARS):
            _f.add(_o)
    _f |= {p + c for p in "@=" + _BO for c in list(_f)}
    _SAME_FORMAT[_tc] = frozenset(_f)

_NAMES = {
    "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
    "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f",
    "float64": "d", "float": "d", "double": "d", "single": "f",
}


def _bad_typecode(tc):
    if isinstance(tc, str) and len(tc) == 1 and tc not in _TC_TYPE:
        _array.array(tc)  # array.array's own ValueError for its unknown ones
    if not isinstance(tc, str) or len(tc) != 1:
        raise TypeError("array() argument 1 must be a unicode character, not %s"
                        % type(tc).__name__)
    raise ValueError("bad typecode (must be %s)" % ", ".join(typecodes))


def typecode_of(dtype):
    """The array typecode for a typecode, a type name ('int32', 'float64'),
    float/int, or anything numpy.dtype() accepts (if numpy is installed)."""
    if isinstance(dtype, str):
        if dtype in _TC_TYPE:
            return dtype
        if dtype in _NAMES:
            return _NAMES[dtype]
    if dtype is float:
        return "d"
    if dtype is int:
        return "q"
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None:
        try:
            dt = numpy.dtype(dtype)
        except TypeError:
            dt = None
        if dt is not None and dt.isnative and dt.kind in "iuf" and not dt.fields:
            for tc in ("b", "B", "h", "H", "i", "I", "q", "Q", "f", "d"):
                if (dt.kind == ("f" if tc in "fd" else ("u" if tc.isupper() else "i"))
                        and dt.itemsize == _array.array(tc).itemsize):
                    return tc
    raise TypeError("unsupported element type %r (use one of the typecodes %s, "
                    "or a numpy integer/float dtype)" % (dtype, typecodes))


_raw = L.lib  # its attribute functions have no argtypes (see _lib)
_Info = L.mba_info
_INFO_SIZE = L.INFO_SIZE
# mba_describe never blocks, so it goes through the PyDLL: the GIL stays
# held from the call to the unpack, which makes one module-level struct
# safe for every thread.
_describe = L.pylib.mba_describe
_INFO = _Info()
_INFO.struct_size = _INFO_SIZE
_INFO_REF = byref(_INFO)
# struct mba_info (declared in _lib) as one native-aligned struct.Struct,
# to read every field at once.
_INFO_UNPACK = _struct.Struct("@IiIIQQ8QQQQPPii").unpack_from
if _struct.calcsize("@IiIIQQ8QQQQPPii") != _INFO_SIZE:  # pragma: no cover
    raise ImportError("mba: struct mba_info layout mismatch")
if not _compat.CPYTHON:
    # Without a PyDLL the call releases the interpreter lock, so the
    # struct is one per thread (the callers pass _INFO_REF and unpack
    # _INFO: both arguments are ignored here).
    _info_tls = threading.local()
    _info_unpack = _INFO_UNPACK

    def _thread_info():
        i = getattr(_info_tls, "info", None)
        if i is None:
            i = _info_tls.info = _Info()
            i.struct_size = _INFO_SIZE
        return i

    def _describe(h, _ref, _fn=_describe):
        return _fn(h, byref(_thread_info()))

    def _INFO_UNPACK(_info):
        return _info_unpack(_thread_info())
_RDONLY = L.RDONLY
_RAW = L.RAW

_ITEMSIZE = {tc: _itemsize(tc) for tc in _TC_TYPE}
_PACK = {tc: _struct.Struct(tc).pack for tc in _TC_TYPE if tc not in _CHARS}


_SSIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_ssize_t) - 1)) - 1


def _as_index(i):
    """i as an int index, with array.array's TypeError otherwise (and its
    IndexError for an int beyond Py_ssize_t)."""
    try:
        i = _index(i)
    except TypeError:
        raise TypeError("array indices must be integers")
    if -_SSIZE_MAX - 1 <= i <= _SSIZE_MAX:
        return i
    raise IndexError("cannot fit '%s' into an index-sized integer" % type(i).__name__)


def _position(i, n, what):
    """Index i of n items as 0 <= i < n (negative ones count from the end);
    IndexError("<what> index out of range") otherwise."""
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError("%s index out of range" % what)
    return i


def _no_pack(v):
    raise TypeError


for _tc in _CHARS:  # (converted by array.array: see mmaparray._pack1)
    _PACK[_tc] = _no_pack


def _closed():
    return L.ClosedError("operation on a closed array")


def _shape_tuple(shape):
    if isinstance(shape, int) or hasattr(shape, "__index__"):
        return (_index(shape),)
    return tuple(_index(d) for d in shape)


def _flatten_into(out, obj):
    try:
        it = iter(obj)
    except TypeError:
        out.append(obj)
        return
    for x in it:
        if hasattr(x, "__iter__") or hasattr(x, "__getitem__"):
            _flatten_into(out, x)
        else:
            out.append(x)


# Sentinels that make the fast paths fail (IndexError) after close.
_EMPTY_Q = memoryview(_array.array("Q"))
_EMPTY_B = memoryview(b"")
# The length view of an open array whose views are not made yet (see
# mmaparray._views): a different object from _EMPTY_Q, which means closed.
_LAZY_Q = memoryview(_array.array("Q"))


class _Owner(object):
    """Keeps an array's handle open while anything still uses it. Every
    ctypes object that exports the array's memory holds the array's _Owner,
    and so does every call that releases the GIL (mmaparray._hold), for its
    duration. close() checks whether anything else still holds it (views,
    slices, numpy arrays made from them, another thread's call in
    progress): if so, it gives the handle to the _Owner, which closes it
    when the last holder is gone; if not, it closes the handle at once. So
    a close never unmaps memory a view shows, nor frees a handle under a
    call of another thread."""

    # No __slots__ and no __init__: creating one is the cheapest object
    # creation Python has; the class attribute is the default.
    h = 0

    def __del__(self):
        try:
            if self.h:
                _close_raw(self.h)
        except Exception:  # interpreter shutdown
            pass


# (int handle): no argtypes needed. Under _compat.SERIAL where there is
# no PyDLL: an _Owner may be finalized in any thread.
_close_raw = _compat.serialized(_raw.mba_close)
_close_py = L.pylib.mba_close  # (int handle)
# None where there are no reference counts (PyPy): close() then always
# leaves the handle to the _Owner (closed when it is garbage collected).
_getrefcount = _compat.getrefcount


def _own_refs():
    if _getrefcount is None:
        return None
    own = _Owner()
    return _getrefcount(own)


# References to an _Owner that close() holds itself (a local variable and
# getrefcount's argument): any more are views still alive.
_OWN_REFS = _own_refs()


def _export(own, addr, nbytes):
    """A memoryview ('B') of nbytes at addr, whose exporting ctypes object
    holds own."""
    exp = (c_ubyte * nbytes).from_address(addr)
    exp.own = own
    return memoryview(exp).cast("B")


if not _compat.CPYTHON:
    _export = _compat.exporter()  # (PyPy: see there)


def _pass(fn, obj, *args):
    """Calls fn(*args, address of obj's bytes): bytes are passed as is, any
    other buffer through a held Py_buffer export (no copy)."""
    if type(obj) is bytes:
        return fn(*(args + (obj,)))
    with L.Buffer(obj) as b:
        return fn(*(args + (b.buf,)))

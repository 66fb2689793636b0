"""The mmaparray class: an array.array-compatible array in shared memory."""

import array as _array
import contextlib
import ctypes
import mmap as _mmap
import operator
import struct as _struct
import os
import sys
import time
import weakref

from ctypes import byref, c_int, c_int32, c_uint64, c_ubyte

from . import _lib as L
from . import _bridge
from . import _guard

_index = operator.index
_append_raw_fast = L.append_raw_fast
_try_append_raw = L.try_append_raw_fast
_E_HANDLE = L.E_HANDLE
_E_OVERFLOW = L.E_OVERFLOW

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
typecodes = "".join(_TC_TYPE)

_BO = "<" if sys.byteorder == "little" else ">"
_TYPESTR = {}
for _tc, _t in _TC_TYPE.items():
    _sz = _array.array(_tc).itemsize
    _k = "f" if _tc in "fd" else ("u" if _tc.isupper() else "i")
    _TYPESTR[_tc] = ("|" if _sz == 1 else _BO) + _k + str(_sz)

# Buffer formats that hold exactly the elements of a typecode.
_SAME_FORMAT = {}
for _tc in _TC_TYPE:
    _f = {_tc}
    for _o in _TC_TYPE:
        if _TC_TYPE[_o] == _TC_TYPE[_tc]:
            _f.add(_o)
    _f |= {p + c for p in "@=" + _BO for c in list(_f)}
    _SAME_FORMAT[_tc] = frozenset(_f)

_NAMES = {
    "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
    "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f",
    "float64": "d", "float": "d", "double": "d", "single": "f",
}


def _bad_typecode(tc):
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
_RDONLY = L.RDONLY
_RAW = L.RAW

_ITEMSIZE = {tc: _array.array(tc).itemsize for tc in _TC_TYPE}
_PACK = {tc: _struct.Struct(tc).pack for tc in _TC_TYPE}


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


_close_raw = _raw.mba_close  # (int handle): no argtypes needed
_close_py = L.pylib.mba_close  # (int handle)
_getrefcount = sys.getrefcount


def _own_refs():
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


def _pass(fn, obj, *args):
    """Calls fn(*args, address of obj's bytes): bytes are passed as is, any
    other buffer through a held Py_buffer export (no copy)."""
    if type(obj) is bytes:
        return fn(*(args + (obj,)))
    with L.Buffer(obj) as b:
        return fn(*(args + (b.buf,)))


class mmaparray(_bridge.Base):
    """An array.array-compatible array whose elements live in a memory-backed
    array (libmba): anonymous by default, or a named shared-memory segment
    or a file (see mba.create, mba.attach, mba.open, mba.map_raw), or a
    user-provided mmap.mmap (mmaparray(typecode, mmap=m)).

    mmaparray(typecode[, initializer], mmap=None)
    """

    # (_h, the handle, is the base class's: the bridge reads it there.)
    __slots__ = ("_tc", "_isz", "_rb", "_row", "_isf", "_len", "_mv",
                 "_mvb", "_cap", "_ro", "_flags", "_ref", "_ifpin", "_closed",
                 "_ptr", "_name", "_spack", "_own", "_whole", "_skip",
                 "_uview", "_lenp", "_maxl", "__weakref__")

    def __new__(cls, *args, **kwargs):
        if cls is mmaparray and kwargs.get("mmap") is not None:
            cls = _MmapArray
        self = object.__new__(cls)
        self._h = 0
        self._closed = True
        self._ifpin = 0
        self._own = None
        self._len = _EMPTY_Q
        self._mv = self._mvb = self._whole = _EMPTY_B
        self._uview = None
        self._cap = -1
        return self

    def __init__(self, typecode, initializer=None, mmap=None):
        if typecode not in _TC_TYPE:
            _bad_typecode(typecode)
        if isinstance(initializer, str):
            raise TypeError("cannot use a str to initialize an array with "
                            "typecode '%s'" % typecode)
        if initializer is not None and not isinstance(initializer, (mmaparray, _array.array)):
            try:
                memoryview(initializer)
            except TypeError:
                iter(initializer)  # TypeError for non-iterables, as array()
        h = c_int32()
        L.check(L.anon(0, _TC_TYPE[typecode], 0, byref(h)))
        self._setup(h.value, typecode)
        if initializer is None:
            return
        try:
            if isinstance(initializer, mmaparray):
                if initializer._tc == typecode or not initializer._row:
                    src = initializer._snapshot()
                    if src.typecode != typecode:
                        src = _array.array(typecode, src)
                    self._p_extend(src, len(src))
                    return
            if isinstance(initializer, _array.array):
                if initializer.typecode != typecode:
                    initializer = _array.array(typecode, initializer)
                self._p_extend(initializer, len(initializer))
                return
            try:
                m = memoryview(initializer)
            except TypeError:
                m = None
            if m is not None:
                # array.array treats a bytes-like initializer as raw bytes.
                self.frombytes(m)
            else:
                self.extend(initializer)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ setup

    def _setup(self, h, tc=None, ref=None, name=None, uuid=None):
        """Takes ownership of handle h (closed again if this fails). With
        uuid, NotFoundError unless the array has that identity."""
        self._ifpin = 0
        self._own = None
        self._uview = None
        self._cap = -1
        try:
            # Everything in one mba_describe call and one unpack: opening is
            # on the attach fast path.
            rc = _describe(h, _INFO_REF)
            if rc:
                raise L.error(rc)
            (_, t, f, nd, _, rb, d0, d1, d2, d3, d4, d5, d6, d7, cap, maxl,
             ident, ptr, lenp, _, _) = _INFO_UNPACK(_INFO)
            if uuid is not None and ident != uuid:
                raise L.NotFoundError(
                    "%s was replaced by another array since it was pickled" % name)
            if tc is None:
                if t not in _TYPE_TC:
                    raise L.ElementTypeError(
                        "the array holds %s elements, which the Python binding "
                        "does not support" % _TYPE_NAME.get(t, "type %d" % t))
                tc = _TYPE_TC[t]
            elif _TC_TYPE[tc] != t:
                raise L.ElementTypeError(
                    "the array holds %s elements, not typecode '%s'" % (
                        _TYPE_TC.get(t, _TYPE_NAME.get(t, t)), tc))
            self._tc = tc
            self._isz = _ITEMSIZE[tc]
            if nd:
                self._row = (d0, d1, d2, d3, d4, d5, d6, d7)[:nd]
                self._spack = _no_pack
            else:
                self._row = ()
                self._spack = _PACK[tc]
            self._rb = rb
            self._isf = tc in "fd"
            self._flags = f
            self._ro = bool(f & _RDONLY)
            self._ref = ref
            self._name = name
            self._ptr = ptr
            self._h = h
            self._closed = False
            self._own = _Owner()
            self._lenp = lenp
            self._maxl = maxl
            self._skip = 0 if f & _RAW else ptr - lenp
            # No views yet: the bridge's a[i], len() and append need none,
            # and making them is a third of an attach. The Python paths
            # make them at their first need (_views).
            self._len = _LAZY_Q
            self._mv = self._mvb = self._whole = _EMPTY_B
        except BaseException:
            self._h = 0
            self._closed = True
            self._own = None
            self._mv = self._mvb = self._whole = _EMPTY_B
            self._len = _EMPTY_Q
            L.close(h)
            raise
        return self

    @classmethod
    def _from_handle(cls, h, tc=None, ref=None, name=None, uuid=None):
        return object.__new__(cls)._setup(h, tc, ref, name, uuid)

    def _views(self):
        """Makes the internal views, at the first need of an array's Python
        paths. One exporter per array, made here and never again: from the
        length word to the end of the reservation (max_len rows, all
        mapped, though only the verified capacity may be touched). Its size
        is the same for every array of a row size and max_len, so ctypes
        makes its type once per process (a new array type costs ~18 us).
        Internal views are slices of it, cut to the capacity; the views
        users get come from an exporter of the capacity only (see
        _user_bytes). ClosedError if closed."""
        own = self._own
        if own is None:
            raise _closed()
        lenp, rb = self._lenp, self._rb
        if self._flags & _RAW:
            # A raw mapping's length word lives apart from its elements.
            ln = _export(own, lenp, 8).cast("Q")
            whole = _export(own, self._ptr, self._maxl * rb)
        else:
            whole = _export(own, lenp, self._skip + self._maxl * rb)
            ln = whole[:8].cast("Q")
        if self._own is not own:  # (closed by another thread meanwhile)
            raise _closed()
        self._whole = whole
        self._len = ln
        self._map_views()

    def _map_views(self, cap=None):
        """(Re)cuts the internal views to the verified capacity."""
        if self._len is _LAZY_Q:
            return self._views()
        if cap is None:
            v = c_uint64()
            L.check(L.capacity(self._hw(), byref(v)))
            cap = v.value
        # Read after the C call, which lets other threads run: a close()
        # from one of them has set _own to None. From here this local
        # reference keeps a concurrent close() pinning the mapping.
        own = self._own
        if own is None:
            raise _closed()
        skip = self._skip
        mvb = self._whole[skip:skip + cap * self._rb]
        mv = None if self._row else mvb.cast(self._tc)
        self._mvb = mvb
        self._mv = mv
        self._cap = cap
        if self._own is not own:
            # Closed while the views were made: take them back, so that
            # the closed array keeps raising ValueError.
            self._len = _EMPTY_Q
            self._mv = self._mvb = self._whole = _EMPTY_B
            self._cap = -1
            raise _closed()

    def _user_bytes(self, nbytes):
        """A 'B' view of the first nbytes of the elements for the caller to
        keep: cut from an exporter of exactly the capacity (made on demand,
        kept until the capacity changes), so that even its .obj covers
        only memory that is backed by the file."""
        u = self._uview
        if u is None or len(u) != self._cap * self._rb:
            own = self._own
            if own is None:
                raise _closed()
            u = _export(own, self._ptr, self._cap * self._rb)
            if self._own is not own:
                raise _closed()
            self._uview = u
        return u[:nbytes]

    def _n(self):
        """The current length in rows; makes or refreshes the views (first
        need; another process grew the array). ClosedError if closed."""
        try:
            n = self._len[0]
        except IndexError:
            if self._len is not _LAZY_Q:
                raise _closed()
            self._views()
            n = self._len[0]
        if n > self._cap:
            return self._refresh()
        return n

    def _refresh(self):
        h = self._h
        if not h:
            raise _closed()
        v = c_uint64()
        L.check(L.len_(h, byref(v)))
        n = v.value
        if n > self._cap:
            self._map_views()
        return min(n, self._cap)

    def _hw(self):
        """The handle, for a call that never blocks (through the PyDLL: the
        GIL stays held); ClosedError if closed."""
        h = self._h
        if not h:
            raise _closed()
        return h

    def _hold(self):
        """(owner, handle) for a call that may block (through the CDLL: the
        GIL is released). The caller keeps the owner in a local variable
        until the call has returned: a close() from another thread
        meanwhile sees it and leaves the handle to the owner, which closes
        it when the last holder lets go, instead of closing it under the
        call. (The owner is read first: once a close has cleared it, the
        handle reads 0.) ClosedError if closed."""
        own = self._own
        h = self._h
        if not h or own is None:
            raise _closed()
        return own, h

    # -------------------------------------------------------- primitives
    # Everything below the array API goes through these; _MmapArray
    # implements them on a user mmap.

    def _p_extend(self, obj, n):
        if n:
            rc = self._extend_call(obj, n)
            if rc:
                self._fail(rc)

    def _extend_call(self, obj, n):
        # One library call, whatever the size: a large extend is written
        # through the file by the library (no zeroing, no page faults here).
        own, h = self._hold()
        if type(obj) is bytes:
            return L.extend(h, n, obj)
        with L.Buffer(obj) as b:
            return L.extend(h, n, b.buf)

    def _p_write(self, start, obj, n):
        if n:
            own, h = self._hold()
            if type(obj) is bytes:
                rc = L.write(h, start, n, obj)
            else:
                with L.Buffer(obj) as b:
                    rc = L.write(h, start, n, b.buf)
            if rc:
                self._fail(rc)

    def _p_insert(self, i, obj, n):
        if n:
            own, h = self._hold()
            if type(obj) is bytes:
                rc = L.insert(h, i, n, obj)
            else:
                with L.Buffer(obj) as b:
                    rc = L.insert(h, i, n, b.buf)
            if rc:
                self._fail(rc)

    def _p_remove(self, i, n):
        if n:
            own, h = self._hold()
            rc = L.remove(h, i, n)
            if rc:
                self._fail(rc)

    def _p_truncate(self, n):
        own, h = self._hold()
        rc = L.truncate(h, n)
        if rc:
            self._fail(rc)

    def _p_pop(self):
        """Removes the last row and returns its bytes (atomically)."""
        buf = ctypes.create_string_buffer(self._rb)
        own, h = self._hold()
        rc = L.pop(h, buf)
        if rc:
            if rc == L.E_EMPTY:
                raise IndexError("pop from empty array")
            self._fail(rc)
        return buf.raw

    def _p_set1(self, i, v):
        """Sets element i (a checked index) of a flat array to v."""
        own, h = self._hold()
        if type(v) is float and self._isf:
            rc = L.set_f64(h, i, v)
        elif type(v) is int and not self._isf and -0x8000000000000000 <= v < 0x10000000000000000:
            rc = (L.set_i64 if v < 0x8000000000000000 else L.set_u64)(h, i, v)
        else:
            b = self._pack1(v)
            rc = L.write(h, i, 1, b)
        if rc:
            if rc == _E_OVERFLOW:
                self._pack1(v)
            self._fail(rc)

    def _batch(self):
        """A context holding the array's writer lock (mba_lock), so a
        compound operation is atomic for other writers."""
        return _Batch(*self._hold())

    def _fail(self, rc):
        if rc == _E_HANDLE:
            raise _closed()
        raise L.error(rc)

    # ------------------------------------------------------------ helpers

    def _pack1(self, v):
        """v converted exactly as array.array converts it (same errors),
        as bytes."""
        t = _array.array(self._tc)
        t.append(v)
        return t.tobytes()

    def _snapshot(self, n=None):
        """A plain array.array copy of the (flat) elements."""
        if n is None:
            n = self._n()
        t = _array.array(self._tc)
        if n:
            t.frombytes(self._mvb[:n * self._rb])
        return t

    def _need_flat(self, what):
        if self._closed:
            raise _closed()
        if self._row:
            raise TypeError("%s is not supported for an array with row shape %r; "
                            "use a.view() or numpy.asarray(a)" % (what, self._row))

    def _rows_from(self, obj):
        """(bytes-like, rows) for row data given as a buffer or a (nested)
        sequence of numbers."""
        try:
            m = memoryview(obj)
        except TypeError:
            t = _array.array(self._tc)
            _flatten_into(t, obj)
            m = memoryview(t)
        else:
            if m.format not in _SAME_FORMAT[self._tc] and m.format not in ("B", "b", "c"):
                t = _array.array(self._tc)
                _flatten_into(t, m.tolist())
                m = memoryview(t)
            elif not m.c_contiguous:
                m = memoryview(m.tobytes())
        nb = m.nbytes
        if nb % self._rb:
            raise ValueError("%d bytes are not a whole number of rows of shape %r"
                             % (nb, self._row))
        return m, nb // self._rb

    def _row_at(self, i):
        rb = self._rb
        return self._mvb[i * rb:(i + 1) * rb].cast(self._tc, self._row).tolist()

    # ------------------------------------------------- array.array API

    @property
    def typecode(self):
        """The typecode character used to create the array."""
        return self._tc

    @property
    def itemsize(self):
        """The length in bytes of one element."""
        return self._isz

    def _py_len(self):
        try:
            n = self._len[0]
        except IndexError:
            return self._n()
        if n <= self._cap:
            return n
        return self._refresh()

    def _py_getitem(self, i):
        if L.guard_on:
            self._check_guard()
        try:
            if i < self._len[0] and i >= 0:
                return self._mv[i]
        except (TypeError, IndexError):
            pass
        return self._getitem(i)

    def _check_guard(self):
        # The SIGBUS guard is on: the bridge's guarded read may have found
        # this mapping truncated by another process (and sent us here); the
        # views below would read its zero pages, or fault. One library call.
        n = ctypes.c_uint64()
        if L.len_(self._h, byref(n)) == L.E_TRUNCATED:
            raise L.error(L.E_TRUNCATED)

    def _getitem(self, i):
        if isinstance(i, slice):
            self._need_flat("slicing")
            n = self._n()
            t = _array.array(self._tc)
            m = self._mv[:n][i]
            if self._closed:
                # Closed by another thread after _n(): the views are gone.
                raise _closed()
            t.frombytes(m.cast("B") if m.c_contiguous else m.tobytes())
            return t
        i = _position(_as_index(i), self._n(), "array")
        try:
            if self._row:
                return self._row_at(i)
            return self._mv[i]
        except (IndexError, TypeError):
            if self._closed:  # (by another thread, after _n())
                raise _closed()
            raise

    def _py_setitem(self, i, v):
        if self._closed:
            raise _closed()
        if isinstance(i, slice):
            return self._setslice(i, v)
        i = _position(_as_index(i), self._n(), "array assignment")
        if self._row:
            m, k = self._rows_from(v)
            if k != 1:
                raise ValueError("a row of shape %r is needed" % (self._row,))
            return self._p_write(i, m, 1)
        self._p_set1(i, v)

    def _setslice(self, s, v):
        self._need_flat("slice assignment")
        if isinstance(v, mmaparray):
            if v._tc != self._tc:
                raise TypeError("bad argument type for built-in operation")
            v = v._snapshot()
        elif not isinstance(v, _array.array) or v.typecode != self._tc:
            t = _array.array(self._tc)
            t[0:0] = v  # raises array.array's own TypeError
            raise TypeError("bad argument type for built-in operation")
        with self._batch():
            n = self._n()
            start, stop, step = s.indices(n)
            if step == 1:
                if stop < start:
                    stop = start
                k, m = stop - start, len(v)
                if m == k:
                    self._p_write(start, v, m)
                elif m > k:
                    self._p_write(start, v[:k], k)
                    self._p_insert(stop, v[k:], m - k)
                else:
                    self._p_write(start, v, m)
                    self._p_remove(start + m, k - m)
                return
            t = self._snapshot(n)
            t[s] = v  # array.array's checks and semantics
            self._write_back(t, n, s)

    def _write_back(self, t, n, s):
        """Writes the local copy t (of a length-n array changed at the
        indexes of slice s) back from its first changed index."""
        idx = range(*s.indices(n))
        if not idx:
            return
        lo = min(idx[0], idx[-1])
        self._p_write(lo, t[lo:], len(t) - lo)
        if len(t) < n:
            self._p_truncate(len(t))

    def _py_delitem(self, i):
        if isinstance(i, slice):
            self._need_flat("slice deletion")
            with self._batch():
                n = self._n()
                start, stop, step = i.indices(n)
                if step == 1:
                    if stop > start:
                        self._p_remove(start, stop - start)
                    return
                t = self._snapshot(n)
                del t[i]
                self._write_back(t, n, i)
            return
        i = _as_index(i)
        with self._batch():
            self._p_remove(_position(i, self._n(), "array assignment"), 1)

    def _py_append(self, v):
        """Append a new item with value v to the end of the array."""
        # (With the CPython bridge, append is libmba's own, which calls this
        # for everything but the common case; see _bridge.py.) The value is
        # packed to the element's bytes by a precompiled struct (which
        # converts like array.array; anything it refuses takes the slow,
        # exact path) and passed as a bytes object, without argtypes (they
        # cost ~350 ns a call), first to mba_try_append through the PyDLL
        # (GIL kept: it never waits), which leaves undone, with
        # MBA_E_BUSY, whatever it cannot do at once (lock held elsewhere,
        # growth, first write, errors); then to mba_append through the
        # CDLL (GIL released), which waits, grows and reports errors.
        try:
            b = self._spack(v)
        except Exception:
            return self._append_exact(v)
        if not _try_append_raw(self._h, b):
            return
        own, h = self._hold()
        rc = _append_raw_fast(h, b)
        if rc:
            self._append_failed(rc, v)

    if not _bridge.active:
        # Without the CPython bridge (see _bridge.py), the Python methods.
        append = _py_append
        __getitem__ = _py_getitem
        __setitem__ = _py_setitem
        __delitem__ = _py_delitem
        __len__ = _py_len

    def _append_exact(self, v):
        """The slow append: array.array's conversion and errors."""
        own, h = self._hold()
        if self._row:
            m, k = self._rows_from(v)
            if k != 1:
                raise ValueError("a row of shape %r is needed" % (self._row,))
            rc = _pass(L.append, m, h)
        else:
            rc = L.append(h, self._pack1(v))
        if rc:
            self._fail(rc)

    def _append_failed(self, rc, v):
        if rc == _E_OVERFLOW or (self._row and self._h):
            if self._row:
                return self._append_exact(v)
            self._pack1(v)  # raises array.array's OverflowError
        self._fail(rc)

    def extend(self, iterable):
        """Append items from iterable (an array of the same typecode, any
        buffer of the same element format, or any iterable)."""
        if self._closed:
            raise _closed()
        if self._row:
            m, k = self._rows_from(iterable)
            return self._p_extend(m, k)
        tc = self._tc
        if isinstance(iterable, mmaparray):
            if iterable._tc != tc:
                raise TypeError("can only extend with array of same kind")
            src = iterable._snapshot() if iterable is self else iterable.view()
            return self._p_extend(src, len(src))
        if isinstance(iterable, _array.array):
            if iterable.typecode != tc:
                raise TypeError("can only extend with array of same kind")
            return self._p_extend(iterable, len(iterable))
        if not isinstance(iterable, (str, list, tuple)):
            try:
                m = memoryview(iterable)
            except TypeError:
                m = None
            if (m is not None and m.ndim == 1 and m.c_contiguous
                    and m.format in _SAME_FORMAT[tc]):
                return self._p_extend(m, len(m))
        t = _array.array(tc)
        try:
            t.extend(iterable)
        finally:
            # array.array keeps the items converted before an error.
            self._p_extend(t, len(t))

    def insert(self, i, v):
        """Insert a new item v into the array before position i."""
        if self._closed:
            raise _closed()
        i = _index(i)
        if self._row:
            m, k = self._rows_from(v)
            if k != 1:
                raise ValueError("a row of shape %r is needed" % (self._row,))
        else:
            m = self._pack1(v)
        with self._batch():
            n = self._n()
            if i < 0:
                i += n
                if i < 0:
                    i = 0
            if i > n:
                i = n
            self._p_insert(i, m, 1)

    def pop(self, i=-1):
        """Return the i-th element and delete it from the array."""
        if self._closed:
            raise _closed()
        i = _index(i)
        if i == -1:
            b = self._p_pop()
            if self._row:
                return memoryview(b).cast(self._tc, self._row).tolist()
            return memoryview(b).cast(self._tc)[0]
        with self._batch():
            n = self._n()
            if n == 0:
                raise IndexError("pop from empty array")
            i = _position(i, n, "pop")
            v = self._row_at(i) if self._row else self._mv[i]
            self._p_remove(i, 1)
        return v

    def remove(self, v):
        """Remove the first occurrence of v in the array."""
        self._need_flat("remove()")
        with self._batch():
            try:
                i = self._snapshot().index(v)
            except ValueError:
                raise ValueError("array.remove(x): x not in array")
            self._p_remove(i, 1)

    def index(self, v, start=0, stop=sys.maxsize):
        """Return index of first occurrence of v in the array."""
        self._need_flat("index()")
        try:
            return self.tolist().index(v, start, stop)
        except ValueError:
            raise ValueError("array.index(x): x not in array")

    def count(self, v):
        """Return number of occurrences of v in the array."""
        self._need_flat("count()")
        return self.tolist().count(v)

    def reverse(self):
        """Reverse the order of the items in the array."""
        self._need_flat("reverse()")
        with self._batch():
            t = self._snapshot()
            t.reverse()
            self._p_write(0, t, len(t))

    def byteswap(self):
        """Byteswap all items of the array."""
        with self._batch():
            n = self._n()
            t = _array.array(self._tc)
            t.frombytes(self._mvb[:n * self._rb])
            t.byteswap()
            self._p_write(0, t, n)

    def buffer_info(self):
        """Return a tuple (address, length) giving the current memory
        address and the length in elements (rows) of the buffer."""
        n = self._n()
        return (self._ptr, n)

    def tobytes(self):
        """Convert the array to an array of machine values and return the
        bytes representation."""
        n = self._n()
        return self._mvb[:n * self._rb].tobytes()

    def frombytes(self, b):
        """Appends items from the bytes-like object b, as machine values."""
        if self._closed:
            raise _closed()
        try:
            m = memoryview(b)
        except TypeError:
            _array.array(self._tc).frombytes(b)  # raises its TypeError
            raise
        nb = m.nbytes
        if nb % self._isz:
            raise ValueError("bytes length not a multiple of item size")
        if nb % self._rb:
            raise ValueError("bytes length not a multiple of the row size (%d)" % self._rb)
        if not m.c_contiguous:
            m = memoryview(m.tobytes())
        self._p_extend(m, nb // self._rb)

    def tolist(self):
        """Convert array to an ordinary list with the same items."""
        n = self._n()
        if self._row:
            if n == 0:
                return []
            return self._mvb[:n * self._rb].cast(self._tc, (n,) + self._row).tolist()
        return self._mv[:n].tolist()

    def fromlist(self, lst):
        """Append items to array from list."""
        if self._closed:
            raise _closed()
        t = _array.array(self._tc)
        if self._row:
            if not isinstance(lst, list):
                raise TypeError("arg must be list")
            m, k = self._rows_from(lst)
            return self._p_extend(m, k)
        t.fromlist(lst)
        self._p_extend(t, len(t))

    def tofile(self, f):
        """Write all items (as machine values) to the file object f."""
        n = self._n() * self._rb
        m = self._user_bytes(n)
        step = 1 << 20
        if n == 0:
            f.write(b"")
        for i in range(0, n, step):
            f.write(m[i:i + step])

    def fromfile(self, f, n):
        """Read n objects from the file object f and append them to the
        end of the array."""
        if self._closed:
            raise _closed()
        t = _array.array(self._tc)
        try:
            t.fromfile(f, n)
        finally:
            if len(t):
                self.frombytes(t)

    def __iter__(self):
        i = 0
        while True:
            n = self._n()
            if i >= n:
                return
            j = min(n, i + 4096)
            if self._row:
                rb = self._rb
                chunk = self._mvb[i * rb:j * rb]  # pinned, like the flat case
                for k in range(j - i):
                    yield chunk[k * rb:(k + 1) * rb].cast(self._tc, self._row).tolist()
            else:
                # Each chunk view keeps the mapping pinned while iterating.
                yield from self._mv[i:j]
            i = j

    def __contains__(self, v):
        n = self._n()
        if self._row:
            return v in self.tolist()
        return v in self._mv[:n]

    # comparisons and operators, with array.array semantics

    def _other(self, other):
        if isinstance(other, mmaparray):
            return other._snapshot() if not other._row else other.tolist()
        if isinstance(other, _array.array):
            return other
        return None

    def _me(self):
        return self.tolist() if self._row else self._snapshot()

    def __eq__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() == o

    def __ne__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() != o

    def __lt__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() < o

    def __le__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() <= o

    def __gt__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() > o

    def __ge__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() >= o

    __hash__ = None

    def __add__(self, other):
        self._need_flat("+")
        if isinstance(other, mmaparray):
            other = other._snapshot()
        return self._snapshot() + other

    def __radd__(self, other):
        if isinstance(other, _array.array):
            self._need_flat("+")
            return other + self._snapshot()
        return NotImplemented

    def __mul__(self, n):
        self._need_flat("*")
        return self._snapshot() * n

    __rmul__ = __mul__

    def __iadd__(self, other):
        if self._closed:
            raise _closed()
        if isinstance(other, (mmaparray, _array.array)):
            if other.typecode != self._tc:
                raise TypeError("can only extend with array of same kind")
            self.extend(other)
            return self
        raise TypeError('can only extend array with array (not "%s")'
                        % type(other).__name__)

    def __imul__(self, n):
        self._need_flat("*=")
        with self._batch():
            t = self._snapshot()
            r = t * n  # array.array's checks
            if len(r) < len(t):
                self._p_truncate(0)
            else:
                self._p_extend(r[len(t):], len(r) - len(t))
        return self

    def __repr__(self):
        if self._closed:
            return "<closed %s '%s'>" % (type(self).__name__, self._tc
                                          if hasattr(self, "_tc") else "?")
        if self._row:
            return "mmaparray('%s', shape=%r, %r)" % (
                self._tc, (len(self),) + self._row, self.tolist())
        return repr(self._snapshot())

    def __copy__(self):
        """A private copy: a plain array.array (a row-shaped array gives an
        anonymous mmaparray)."""
        if self._row:
            return self._anon_copy()
        return self._snapshot()

    def __deepcopy__(self, memo):
        return self.__copy__()

    def _anon_copy(self):
        return anon((0,) + self._row, self._tc)._fill(self.tobytes())

    def _fill(self, b):
        self.frombytes(b)
        return self

    def __reduce_ex__(self, protocol):
        if self._closed:
            raise _closed()
        if self._ref is not None:
            ref = self._ref
            if ref[0] == "open":  # the identity now, to detect a replacement
                ref = ref + (self.uuid,)
            return (_attach_ref, (ref, self._tc))
        if self._row:
            return (_anon_from_bytes, (self._tc, self._row, self.tobytes()))
        return self._snapshot().__reduce_ex__(protocol)

    def __reduce__(self):
        return self.__reduce_ex__(2)

    # ------------------------------------------------- beyond array.array

    @property
    def closed(self):
        """True after close()."""
        return self._closed

    @property
    def readonly(self):
        """True if writes are refused (read-only handle or mmap)."""
        return self._ro

    @property
    def name(self):
        """The shm:// or file:// name this array was opened by (None for
        anonymous arrays)."""
        return self._name

    @property
    def row_shape(self):
        """The shape of one row (() for a flat array)."""
        return self._row

    @property
    def shape(self):
        """(len(a),) + a.row_shape"""
        return (len(self),) + self._row

    @property
    def nbytes(self):
        return len(self) * self._rb

    @property
    def capacity(self):
        """Rows of space allocated (mba_capacity)."""
        v = c_uint64()
        L.check(L.capacity(self._hw(), byref(v)))
        return v.value

    @property
    def max_len(self):
        """The largest length this array can reach."""
        v = c_uint64()
        L.check(L.max_len(self._hw(), byref(v)))
        return v.value

    @property
    def uuid(self):
        """The array's random 64-bit identity (0 for raw mappings)."""
        v = c_uint64()
        L.check(L.uuid(self._hw(), byref(v)))
        return v.value

    def fileno(self):
        """The handle's descriptor (owned by the array; valid until close).
        Another process can attach to it with mba.from_fd."""
        v = c_int()
        L.check(L.fd(self._hw(), byref(v)))
        return v.value

    def view(self):
        """A zero-copy memoryview of the elements (shape (len,) + row
        shape); read-only if the array is. It keeps the memory mapped even
        after close(), until the view and everything made from it is gone.
        It does not grow with the array: take a new view after appends."""
        n = self._n()
        m = self._user_bytes(n * self._rb)
        if n == 0:
            m = m.cast(self._tc)
        else:
            m = m.cast(self._tc, (n,) + self._row)
        return m.toreadonly() if self._ro else m

    def __buffer__(self, flags):  # Python 3.12+: memoryview(a), numpy
        return self.view()

    def __release_buffer__(self, view):
        pass

    @property
    def __array_interface__(self):
        """Zero-copy numpy access: numpy.asarray(a). The numpy array keeps
        this object alive, and this object keeps the memory mapped (a pin
        released when it is garbage collected), so the numpy array stays
        valid even after close()."""
        n = self._n()
        if not self._ifpin:
            p = c_int32()
            L.check(L.pin(self._hw(), byref(p)))
            self._ifpin = p.value
            weakref.finalize(self, L.unpin_quiet, p.value)
        return {
            "version": 3,
            "shape": (n,) + self._row,
            "typestr": _TYPESTR[self._tc],
            "data": (self._ptr, self._ro),
        }

    def __array__(self, dtype=None, copy=None):
        import numpy
        a = numpy.frombuffer(self.view(), dtype=_TYPESTR[self._tc]).reshape(
            (len(self),) + self._row) if len(self) else numpy.zeros(
                (0,) + self._row, dtype=_TYPESTR[self._tc])
        if dtype is not None:
            a = a.astype(dtype, copy=bool(copy))
        elif copy:
            a = a.copy()
        return a

    def numpy(self):
        """A zero-copy numpy array of the elements (numpy.asarray(a))."""
        import numpy
        return numpy.asarray(self)

    def clear(self):
        """Remove all elements (the length becomes 0; memory is kept)."""
        own, h = self._hold()
        rc = L.clear(h)
        if rc:
            self._fail(rc)

    def reserve(self, n):
        """Allocate space for at least n rows now (no SIGBUS later)."""
        own, h = self._hold()
        rc = L.reserve(h, n)
        if rc:
            self._fail(rc)
        self._map_views()

    def flush(self, mode=L.SYNC, start=None, stop=None):
        """Write changes back to the file: mode SYNC (wait), ASYNC or
        INVALIDATE; optionally only rows [start, stop)."""
        own, h = self._hold()
        if start is None and stop is None:
            rc = L.flush(h, mode)
        else:
            n = self._n()
            s, e, _ = slice(start, stop).indices(n)
            rc = L.flush_range(h, s, max(0, e - s), mode)
        if rc:
            self._fail(rc)

    def mlock(self):
        """Lock the allocated elements into RAM (may need RLIMIT_MEMLOCK)."""
        own, h = self._hold()
        rc = L.mlock(h)
        if rc:
            self._fail(rc)

    def munlock(self):
        own, h = self._hold()
        rc = L.munlock(h)
        if rc:
            self._fail(rc)

    def advise(self, advice):
        """Access hint: ADVISE_NORMAL, ADVISE_RANDOM, ADVISE_SEQUENTIAL or
        ADVISE_WILLNEED."""
        own, h = self._hold()
        rc = L.advise(h, advice)
        if rc:
            self._fail(rc)

    def locked(self):
        """``with a.locked(): ...`` holds the array's writer lock, so a
        batch of writes by this thread is atomic for other writers."""
        return self._batch()

    @property
    def seq(self):
        """The change counter: grows with every change by any process."""
        v = c_uint64()
        rc = L.seq(self._hw(), byref(v))
        if rc:
            self._fail(rc)
        return v.value

    def wait(self, seen=None, timeout=None):
        """Block until the change counter differs from seen (default: its
        current value), then return the new counter. Returns seen unchanged
        when timeout (seconds) passes. Ctrl-C raises KeyboardInterrupt.
        As threading.Event.wait: a negative timeout only checks; None or
        inf waits forever (so does one too large to add to the clock); NaN
        is a ValueError."""
        deadline = _guard.wait_deadline(timeout, time.monotonic())
        own, h = self._hold()
        if seen is None:
            seen = self.seq
        out = c_uint64()
        while True:
            # Wait in slices of at most _WAIT_SLICE seconds and run Python's
            # signal handlers between them: mba_wait returns MBA_E_INTR only
            # if the signal lands inside its futex call, and a signal that
            # arrives between two of its internal slices (read-only handles
            # sleep 1 ms at a time) would otherwise go unnoticed.
            if deadline is None:
                t = _WAIT_SLICE
            else:
                t = min(_WAIT_SLICE, max(0.0, deadline - time.monotonic()))
            rc = L.wait(h, seen, int(t * 1e9), byref(out))
            if rc == 0:
                return out.value
            if rc == L.E_TIMEOUT or rc == L.E_INTR:
                # Let Python run its signal handlers (KeyboardInterrupt...).
                _check_signals()
                if rc == L.E_TIMEOUT and deadline is not None and time.monotonic() >= deadline:
                    return seen
                own, h = self._hold()
                continue
            self._fail(rc)

    def close(self):
        """Release the array (idempotent). Any later use raises ValueError.
        Views and numpy arrays made earlier stay valid: they keep the
        memory mapped until they are gone."""
        if self._closed:
            return
        h = self._h
        own = self._own
        self._closed = True
        self._h = 0
        self._own = None
        self._len = _EMPTY_Q
        self._mv = self._mvb = self._whole = _EMPTY_B
        self._uview = None
        self._cap = -1
        if not h:
            return
        if own is not None and _getrefcount(own) > _OWN_REFS:
            # Views made earlier, or calls of other threads in progress,
            # still hold the owner: the last of them closes the handle.
            own.h = h
            return
        # (Through the PyDLL: the GIL stays held, so no bridge call and no
        # call through _hw starts on the handle meanwhile.)
        _close_py(h)

    def __enter__(self):
        if self._closed:
            raise _closed()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _Batch(object):
    """Holds the array's owner (see mmaparray._hold) from creation to
    __exit__."""
    __slots__ = ("owner", "h", "own")

    def __init__(self, owner, h):
        self.owner = owner
        self.h = h

    def __enter__(self):
        rc = L.lock(self.h)
        self.own = rc == 0
        if rc and rc != L.E_BUSY:  # BUSY: this thread holds it already
            if rc == _E_HANDLE:
                raise _closed()
            raise L.error(rc)
        return self

    def __exit__(self, *exc):
        if self.own:
            L.unlock(self.h)
        self.owner = None
        return False


_pyerr_check_signals = ctypes.pythonapi.PyErr_CheckSignals
_pyerr_check_signals.argtypes = []
_pyerr_check_signals.restype = ctypes.c_int


_WAIT_SLICE = 0.1  # seconds: the longest a Ctrl-C can go unnoticed in wait()


def _check_signals():
    """Runs pending Python signal handlers now (their exception, such as
    KeyboardInterrupt, propagates)."""
    _pyerr_check_signals()


# ------------------------------------------------------- user mmap backing

class _MmapArray(mmaparray):
    """mmaparray(typecode, mmap=m): the elements are exactly the bytes of a
    user-provided mmap.mmap (no header). Pure Python; grows only where the
    mmap can be resized; an ACCESS_READ mmap gives a read-only array."""

    __slots__ = ("_mm", "_lenarr", "_backed")

    # No handle: straight to the Python methods (not through the bridge).
    __getitem__ = mmaparray._py_getitem
    __setitem__ = mmaparray._py_setitem
    __delitem__ = mmaparray._py_delitem
    __len__ = mmaparray._py_len

    def __init__(self, typecode, initializer=None, mmap=None):
        if typecode not in _TC_TYPE:
            _bad_typecode(typecode)
        if not isinstance(mmap, _mmap.mmap):
            raise TypeError("mmap must be an mmap.mmap, not %s" % type(mmap).__name__)
        self._tc = typecode
        self._isz = self._rb = _array.array(typecode).itemsize
        self._row = ()
        self._isf = typecode in "fd"
        self._flags = L.RAW
        self._ref = None
        self._name = None
        self._mm = mmap
        try:
            self._ro = memoryview(mmap).readonly
        except ValueError:
            raise L.ClosedError("the mmap is closed")
        self._lenarr = _array.array("Q", [len(mmap) // self._isz])
        # Bytes of the mmap known to have memory behind them (see _resize).
        self._backed = len(mmap)
        self._closed = False
        self._len = memoryview(self._lenarr)
        self._remap()
        if initializer is not None:
            if isinstance(initializer, (bytes, bytearray)):
                self.frombytes(initializer)
            else:
                self.extend(initializer)

    def _remap(self):
        n = self._lenarr[0]
        self._mvb = memoryview(self._mm)[:n * self._isz]
        self._mv = self._mvb.cast(self._tc)
        self._cap = n
        self._ptr = 0

    def _n(self):
        if self._closed:
            raise _closed()
        return self._lenarr[0]

    _refresh = _n

    def _user_bytes(self, nbytes):
        # The exporter is the caller's own mmap: views of it are safe.
        return self._mvb[:nbytes]

    def _hw(self):
        raise L.NotSupportedError("not supported for an array over a user mmap")

    def _hold(self):
        self._hw()

    def _writable(self):
        if self._closed:
            raise _closed()
        if self._ro:
            raise L.ReadOnlyError("the mmap is read-only (ACCESS_READ)")

    def _resize(self, n):
        """Resizes the mmap to n elements."""
        self._writable()
        old = self._lenarr[0]
        self._mv = self._mvb = None
        try:
            try:
                self._mm.resize(max(n * self._isz, 1))
            except BufferError:
                raise BufferError("cannot resize an array that is exporting buffers")
            except (TypeError, SystemError, OSError, ValueError) as e:
                if n * self._isz == 0 and old:
                    pass  # an mmap cannot shrink to 0 bytes: keep the bytes
                else:
                    raise L.FullError("this mmap cannot grow or shrink: %s" % e)
            if n > old:
                self._check_grown(old, n)
            else:
                self._backed = min(self._backed, n * self._isz)
            self._lenarr[0] = n
        finally:
            self._remap()

    def _check_grown(self, old, n):
        """After the mmap grew from old to n elements: every new page must
        have memory behind it before Python touches it, or the first store
        raises SIGBUS (CPython's mmap.resize of a shared anonymous mapping
        leaves the grown part unbacked, gh-110243; a full filesystem under a
        file mapping has no space for it). Else shrink back and raise."""
        isz = self._isz
        hi = n * isz
        bad, what = _guard.writable_prefix(self._mm, max(self._backed, old * isz), hi)
        if what is None:
            self._backed = max(self._backed, hi)
            return
        try:
            self._mm.resize(max(old * isz, 1))
        except Exception:
            pass
        try:
            self._mm.size()  # the file's size; OSError for an anonymous mmap
            file_backed = True
        except OSError:
            file_backed = False
        if not file_backed:
            raise L.FullError(
                "this mmap cannot grow: its grown part (from byte %d) has no memory "
                "behind it (CPython's mmap.resize of a shared anonymous mmap, gh-110243); "
                "use mba.anon() or an mmap of a file" % bad)
        raise L.NoSpaceError(
            "no space for the grown part of the mmap's file (from byte %d)" % bad)

    def _p_extend(self, obj, n):
        if not n:
            return
        self._writable()
        src = memoryview(obj).cast("B") if type(obj) is not bytes else obj
        old = self._lenarr[0]
        self._resize(old + n)
        self._mvb[old * self._isz:] = src

    def _p_write(self, start, obj, n):
        if not n:
            return
        self._writable()
        src = memoryview(obj).cast("B") if type(obj) is not bytes else obj
        self._mvb[start * self._isz:(start + n) * self._isz] = src

    def _p_insert(self, i, obj, n):
        if not n:
            return
        old = self._lenarr[0]
        self._resize(old + n)
        isz = self._isz
        self._mm.move((i + n) * isz, i * isz, (old - i) * isz)
        self._p_write(i, obj, n)

    def _p_remove(self, i, n):
        if not n:
            return
        self._writable()
        old = self._lenarr[0]
        isz = self._isz
        self._mm.move(i * isz, (i + n) * isz, (old - i - n) * isz)
        self._resize(old - n)

    def _p_truncate(self, n):
        if n < self._lenarr[0]:
            self._resize(n)

    def _p_pop(self):
        self._writable()
        n = self._lenarr[0]
        if not n:
            raise IndexError("pop from empty array")
        b = self._mvb[(n - 1) * self._isz:].tobytes()
        self._resize(n - 1)
        return b

    def _p_set1(self, i, v):
        self._p_write(i, self._pack1(v), 1)

    def _batch(self):
        if self._closed:
            raise _closed()
        return contextlib.nullcontext()

    def append(self, v):
        """Append a new item with value v to the end of the array."""
        self._writable()
        self._p_extend(self._pack1(v), 1)

    def clear(self):
        self._p_truncate(0)

    def buffer_info(self):
        n = self._n()
        if self._ro:
            with L.Buffer(self._mm) as b:
                return (b.buf, n)
        return (ctypes.addressof(ctypes.c_char.from_buffer(self._mm)), n)

    @property
    def __array_interface__(self):
        raise AttributeError("__array_interface__ (use __array__)")

    def flush(self, mode=L.SYNC, start=None, stop=None):
        if self._closed:
            raise _closed()
        if not self._ro:
            self._mm.flush()

    def close(self):
        """Detach from the mmap (which stays open: it is the caller's)."""
        if self._closed:
            return
        self._closed = True
        self._len = _EMPTY_Q
        self._mv = self._mvb = _EMPTY_B
        self._cap = -1
        self._mm = None

    def __reduce_ex__(self, protocol):
        return self._snapshot().__reduce_ex__(protocol)


# ----------------------------------------------------------- opening

def _norm_name(name):
    """A bare name means shm://NAME; file://PATH gets an absolute path."""
    if type(name) is str and (name.startswith("shm://") or (
            name.startswith("file:///") and "/." not in name and "//" not in name[7:]
            and name[-1] != "/")):
        return name  # already normal (the attach fast path)
    if not isinstance(name, str):
        name = os.fsdecode(name)
    if "://" not in name:
        return "shm://" + name
    if name.startswith("file://"):
        p = name[len("file://"):]
        return "file://" + os.path.abspath(p)
    return name


def _file_name(path):
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if path.startswith("shm://") or path.startswith("file://"):
        return _norm_name(path)
    return "file://" + os.path.abspath(path)


def _opts(flags=0, tc=None, shape=(), perm=0, capacity=0, max_len=0):
    o = L.mba_options()
    L.check(L.options_init(byref(o)))
    o.flags = flags
    o.mode = perm
    if tc is not None:
        o.elem_type = _TC_TYPE[tc]
    shape = _shape_tuple(shape)
    if shape:
        first, row = shape[0], shape[1:]
        if len(row) > L.MAX_ROW_DIMS:
            raise ValueError("at most %d row dimensions" % L.MAX_ROW_DIMS)
        if first is not None and first > 0:
            o.initial_len = first
        o.ndim = len(row)
        for i, d in enumerate(row):
            if d <= 0:
                raise ValueError("row dimensions must be positive: %r" % (shape,))
            o.shape[i] = d
    o.capacity = capacity
    o.max_len = max_len
    buf = ctypes.create_string_buffer(512)
    o.errbuf = ctypes.cast(buf, ctypes.c_char_p)
    o.errbuf_len = 512
    o._keep = buf
    return o


def _open_ex(name, o):
    h = c_int32()
    rc = L.open_ex(_guard.cname(name), byref(o), byref(h))
    if rc:
        raise L.error(rc, o._keep.value.decode("utf-8", "replace") or None)
    return h.value


_DEFAULT = object()


def _looks_like_dtype(x):
    return isinstance(x, str) or isinstance(x, type) or hasattr(x, "kind")


def create(name, shape=0, dtype=_DEFAULT, perm=0o600, capacity=0, max_len=0):
    """Create a named array (SharedArray.create): zero-filled, length
    shape[0], row shape shape[1:]; FileExistsError if the name exists.
    name: "shm://NAME" (a bare NAME means that), or "file://PATH".
    create(name, 'd') (no shape) makes an empty, growable flat array of
    doubles; dtype defaults to 'd'."""
    if _looks_like_dtype(shape):
        if dtype is not _DEFAULT:
            raise TypeError(
                "create(): shape must be an int or a tuple of ints, not %r; "
                "the element type is the dtype argument, e.g. "
                "create(%r, 10, %r)" % (shape, name, dtype))
        shape, dtype = 0, shape
    if dtype is _DEFAULT:
        dtype = "d"
    tc = typecode_of(dtype)
    name = _norm_name(name)
    o = _opts(L.CREATE | L.EXCL, tc, shape, perm, capacity, max_len)
    h = _open_ex(name, o)
    return mmaparray._from_handle(h, tc, ("open", name, 0), name)


def attach(name, dtype=None, readonly=False):
    """Attach to an existing named array (SharedArray.attach). With dtype,
    TypeError unless the array holds that type. An i64 array reports
    typecode 'q' unless dtype asks for 'l' (and 'Q' unless 'L')."""
    tc = None if dtype is None else typecode_of(dtype)
    name = _norm_name(name)
    return _attach(name, tc, L.RDONLY if readonly else 0)


def _attach(name, tc, flags, uuid=None):
    h = c_int32()
    rc = _raw.mba_open(_guard.cname(name), flags, L.ANY if tc is None else _TC_TYPE[tc], byref(h))
    if rc:
        raise L.error(rc)
    return mmaparray._from_handle(h.value, tc, ("open", name, flags & L.RDONLY), name, uuid)


def delete(name):
    """Remove the name of an array: new attaches fail, existing
    attachments stay valid."""
    L.check(L.unlink(_guard.cname(_norm_name(name))))


def sigbus_guard(enable=True):
    """Turn libmba's process-wide SIGBUS guard on (or off): a library call
    on an array that another process truncated under us then raises
    FormatError (MBA_E_TRUNCATED) instead of killing the process. Only the
    library's own accesses are covered: the library calls behind append,
    extend, insert, pop, wait..., and a[i] with an int i on a flat array
    (read by the library; once it has found the mapping truncated, every
    a[...] raises). Reads through memoryviews, numpy views, slices and
    iteration are raw-pointer accesses: their fault reaches the previous
    handler (e.g. faulthandler's) as without the guard. Call it after
    faulthandler.enable() and other signal setup: it chains to what it
    finds. See mba_sigbus_guard in mba.h."""
    L.check(L.sigbus_guard(1 if enable else 0))
    L.guard_on = bool(enable)


def list_arrays():
    """The names of the arrays in /dev/shm, as "shm://NAME"."""
    need = ctypes.c_size_t()
    while True:
        rc = L.list_(None, 0, byref(need))
        if rc not in (0, L.E_OVERFLOW):
            L.check(rc)
        buf = ctypes.create_string_buffer(need.value + 256)
        rc = L.list_(buf, len(buf), byref(need))
        if rc == L.E_OVERFLOW:
            continue
        L.check(rc)
        return [x for x in buf.value.decode("utf-8", "replace").split("\n") if x]


_MODES = {"r": L.RDONLY, "r+": 0, "w": L.CREATE | L.REPLACE,
          "x": L.CREATE | L.EXCL, "c": L.COW}


def open(path, mode="r", dtype=None, shape=0, perm=0o600, capacity=0, max_len=0):
    """Open an array file: mode 'r' (read-only), 'r+' (read-write), 'w'
    (create, or atomically replace, needs dtype), 'x' (create, fails if it
    exists, needs dtype), 'c' (private copy-on-write snapshot). shape
    (creation only): zero-filled length, then the row shape."""
    if mode not in _MODES:
        raise ValueError("mode must be one of %s, not %r" % (", ".join(_MODES), mode))
    flags = _MODES[mode]
    name = _file_name(path)
    creating = bool(flags & L.CREATE)
    tc = None if dtype is None else typecode_of(dtype)
    if creating and tc is None:
        raise TypeError("mode %r creates an array: give its dtype" % mode)
    o = _opts(flags, tc, shape if creating else (), perm, capacity, max_len)
    h = _open_ex(name, o)
    ref = None
    if not flags & L.COW:
        ref = ("open", name, flags & L.RDONLY)
    return mmaparray._from_handle(h, tc, ref, name)


def anon(shape=0, dtype="d", capacity=0, max_len=0):
    """A zero-filled anonymous array (memfd): length shape[0], row shape
    shape[1:]. Shared with children across fork, or by descriptor
    (a.fileno(), mba.from_fd)."""
    tc = typecode_of(dtype)
    o = _opts(0, tc, shape, 0, capacity, max_len)
    h = c_int32()
    rc = L.anon_ex(byref(o), byref(h))
    if rc:
        raise L.error(rc, o._keep.value.decode("utf-8", "replace") or None)
    return mmaparray._from_handle(h.value, tc)


def from_fd(fd, dtype=None, readonly=False):
    """Attach to the array behind an open descriptor (duplicated)."""
    tc = None if dtype is None else typecode_of(dtype)
    h = c_int32()
    L.check(L.from_fd(fd, L.RDONLY if readonly else 0,
                      L.ANY if tc is None else _TC_TYPE[tc], byref(h)))
    return mmaparray._from_handle(h.value, tc)


_RAW_MODES = {"r": L.RDONLY, "r+": 0, "c": L.COW}


def map_raw(path, dtype, shape=-1, offset=0, mode="r"):
    """Map an existing raw binary file (no header, e.g. written by another
    program) as a fixed-length typed array. shape: rows or (rows, *row
    shape), rows -1 (or None) meaning every complete row of the file;
    offset: byte offset of the first element; mode 'r' (read-only), 'r+'
    (read-write, changes reach the file; flush() to write them back now)
    or 'c' (private copy-on-write)."""
    if mode not in _RAW_MODES:
        raise ValueError("mode must be 'r', 'r+' or 'c', not %r" % (mode,))
    tc = typecode_of(dtype)
    shape = _shape_tuple(shape) if shape is not None else (-1,)
    rows = shape[0] if shape else -1
    o = _opts(_RAW_MODES[mode], tc, (0,) + tuple(shape[1:]))
    if rows is not None and rows >= 0:
        if rows == 0:
            raise ValueError("map_raw needs at least one row (or -1 for all)")
        o.initial_len = rows
    o.offset = offset
    path = os.path.abspath(os.fsdecode(os.fspath(path)))
    h = c_int32()
    rc = L.map_raw(_guard.cname(path), byref(o), byref(h))
    if rc:
        raise L.error(rc, o._keep.value.decode("utf-8", "replace") or None)
    ref = None
    if mode != "c":
        ref = ("raw", path, (rows,) + tuple(shape[1:]), offset, mode)
    return mmaparray._from_handle(h.value, tc, ref, "file://" + path)


# ------------------------------------------------------------- pickling

def _attach_ref(ref, tc):
    if ref[0] == "open":
        _, name, flags, uuid = ref
        return _attach(name, tc, flags, uuid)
    _, path, shape, offset, mode = ref
    return map_raw(path, tc, shape, offset, mode)


def _anon_from_bytes(tc, row, b):
    return anon((0,) + tuple(row), tc)._fill(b)


"""The mmaparray class: an array.array-compatible array in shared memory.

The class is assembled here from the bridge base (see _bridge) and two
mixins: _seq (the array.array API) and _native (what goes beyond it).
_types holds the type tables and helpers, _open the user-mmap subclass and
the opening functions (re-exported here: `from mba._core import create`
keeps working)."""

import array as _array
import ctypes

from ctypes import byref, c_int32, c_uint64

from . import _lib as L
from . import _bridge
from ._types import (  # noqa: F401
    typecodes, typecode_of,
    _EMPTY_B, _EMPTY_Q, _INFO, _INFO_REF, _INFO_UNPACK,
    _ITEMSIZE, _LAZY_Q, _Owner, _PACK, _RAW,
    _RDONLY, _SAME_FORMAT, _TC_TYPE, _TYPE_NAME, _TYPE_TC,
    _bad_typecode, _closed, _describe, _export, _flatten_into,
    _no_pack, _pass, _CAST, _CHARS,
)

_append_raw_fast = L.append_raw_fast
_try_append_raw = L.try_append_raw_fast
_E_HANDLE = L.E_HANDLE
_E_OVERFLOW = L.E_OVERFLOW

_NOARG = object()  # no initializer given (None is refused, as by array.array)

from ._seq import _SeqMixin
from ._native import _NativeMixin, _Batch


class mmaparray(_bridge.Base, _SeqMixin, _NativeMixin):
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

    def __new__(cls, typecode, initializer=_NOARG, *args, **kwargs):
        # Like array.array, the work is done here, not in __init__: a
        # subclass may give __init__ any signature, or not call ours. Only
        # mmaparray itself refuses extra arguments; a subclass's go to its
        # own __init__ (array.array ignores a subclass's keywords too).
        mm = kwargs.get("mmap")
        if cls is mmaparray:
            if len(args) > 1 or (args and "mmap" in kwargs):
                raise TypeError("mmaparray() takes at most 3 arguments")
            if args:
                mm = args[0]
            bad = set(kwargs) - {"mmap"}
            if bad:
                raise TypeError("mmaparray() got an unexpected keyword "
                                "argument %r" % sorted(bad)[0])
            if mm is not None:
                cls = _MmapArray
        if type(typecode) is str and len(typecode) == 1 and typecode in _CHARS:
            cls = _char_class(cls)  # ('u', 'w': see _chars)
        self = _bridge.Base.__new__(cls)
        self._h = 0
        self._closed = True
        self._ifpin = 0
        self._own = None
        self._len = _EMPTY_Q
        self._mv = self._mvb = self._whole = _EMPTY_B
        self._uview = None
        self._cap = -1
        self._build(typecode, initializer, mm)
        return self

    def __init__(self, *args, **kwargs):
        """Does nothing: mmaparray(...) does its work in __new__ (see there)."""

    def _build(self, typecode, initializer, mmap):
        if typecode not in _TC_TYPE:
            _bad_typecode(typecode)
        if initializer is _NOARG:
            initializer = None
        elif initializer is None:
            raise TypeError("'NoneType' object is not iterable")
        if isinstance(initializer, str) and typecode not in _CHARS:
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
        if tc is not None and tc in _CHARS:
            try:
                cls = _char_class(cls)
            except BaseException:
                L.close(h)
                raise
        return _bridge.Base.__new__(cls)._setup(h, tc, ref, name, uuid)

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
        mv = None if self._row else mvb.cast(_CAST[self._tc])
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


    # ------------------------------------------------------------ append

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

    if not _bridge.active:
        # Without the CPython bridge (see _bridge.py), the Python methods.
        append = _py_append
        __getitem__ = _SeqMixin._py_getitem
        __setitem__ = _SeqMixin._py_setitem
        __delitem__ = _SeqMixin._py_delitem
        __len__ = _SeqMixin._py_len


from ._open import (  # noqa: E402,F401 (they need mmaparray)
    _MmapArray, create, attach, delete, list_arrays, open, anon, from_fd,
    map_raw, sigbus_guard, _attach_ref, _anon_from_bytes, _anon_rebuild,
    _iter_at,
)
from ._chars import _char_class  # noqa: E402 (needs both classes)

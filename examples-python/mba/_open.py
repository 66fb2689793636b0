"""Opening arrays: the user-mmap backed subclass and the module-level
create/attach/open/anon functions."""

import array as _array
import contextlib
import ctypes
import mmap as _mmap
import os
import sys

from ctypes import byref, c_int32

from . import _lib as L
from . import _bridge, _guard
from ._types import (  # noqa: F401
    _EMPTY_B, _EMPTY_Q, _TC_TYPE, _bad_typecode, _closed,
    _raw, _shape_tuple, typecode_of, _CAST,
)


from . import _core, _seq
from ._core import mmaparray


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

    def _build(self, typecode, initializer, mmap):
        if typecode not in _TC_TYPE:
            _bad_typecode(typecode)
        if initializer is _core._NOARG:
            initializer = None
        elif initializer is None:
            raise TypeError("'NoneType' object is not iterable")
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
        self._mv = self._mvb.cast(_CAST[self._tc])
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
    if dtype is None and _ext_attach_name is not None and type(name) is str:
        # The common case in one call: a name already normal, no dtype
        # (None: the name needs the general path below).
        flags = _RDONLY if readonly else 0
        r = _ext_attach_name(mmaparray, name, flags)
        if r is not None:
            if type(r) is int:
                raise L.error(r)
            if type(r) is tuple:
                return _from_handle(r[0], None, ("open", name, flags), name)
            return r
    tc = None if dtype is None else typecode_of(dtype)
    return _attach(_norm_name(name), tc, _RDONLY if readonly else 0)


# A str name becomes the C string os.fsencode makes of it: on a UTF-8
# filesystem encoding, str.encode with the same error handler is that
# string without os.fsencode's checks (the attach fast path).
_FS_UTF8 = (sys.getfilesystemencoding() == "utf-8"
            and sys.getfilesystemencodeerrors() == "surrogateescape")
_mba_open = _raw.mba_open
_from_handle = mmaparray._from_handle
_ANY = L.ANY
_RDONLY = L.RDONLY


def _ext_attach_fn():
    """mba._ext's attach (the common case of _attach in one call), or None
    without the extension (or with one that has no attach)."""
    if not _bridge.active:
        return None
    from . import _ext
    if not hasattr(_ext, "attach_setup"):
        return None
    from ._types import _ITEMSIZE, _PACK, _Owner, _no_pack, _LAZY_Q, _TYPE_TC
    try:
        _ext.attach_setup(
            L.INFO_SIZE,
            {tc: (_TC_TYPE[tc], _ITEMSIZE[tc], _PACK[tc], tc in "fd")
             for tc in _TC_TYPE if tc not in _core._CHARS},
            dict(_TYPE_TC), _Owner, _no_pack, _LAZY_Q, _EMPTY_B, L.RDONLY, L.RAW, mmaparray)
    except ValueError:
        return None
    return _ext.attach


_ext_attach = _ext_attach_fn()
# attach(name) of a normal str name, in one call (see the extension's
# attach_name): on a UTF-8 filesystem encoding only.
_ext_attach_name = None
if _ext_attach is not None and _FS_UTF8:
    from . import _ext
    _ext_attach_name = getattr(_ext, "attach_name", None)
_CHARS = _core._CHARS


def _attach(name, tc, flags, uuid=None):
    if _FS_UTF8 and type(name) is str and "\0" not in name:
        c = name.encode("utf-8", "surrogateescape")
    else:
        c = _guard.cname(name)  # (ValueError for an embedded NUL)
    if _ext_attach is not None and uuid is None and (tc is None or tc not in _CHARS):
        # The same steps as below, in the extension: the array, or the
        # status of a failed open (nothing is open), or (handle,) for
        # _from_handle to finish (with its checks and errors).
        ref = ("open", name, flags & _RDONLY)
        r = _ext_attach(mmaparray, c, flags, _ANY if tc is None else _TC_TYPE[tc], tc, ref, name)
        if type(r) is int:
            raise L.error(r)
        if type(r) is tuple:
            return _from_handle(r[0], tc, ref, name)
        return r
    h = c_int32()
    rc = _mba_open(c, flags, _ANY if tc is None else _TC_TYPE[tc], byref(h))
    if rc:
        raise L.error(rc)
    return _from_handle(h.value, tc, ("open", name, flags & _RDONLY), name, uuid)


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
    _bridge.guard(enable)


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
    return _anon_as(mmaparray, tc, shape, capacity, max_len)


def _anon_as(cls, tc, shape, capacity=0, max_len=0):
    o = _opts(0, tc, shape, 0, capacity, max_len)
    h = c_int32()
    rc = L.anon_ex(byref(o), byref(h))
    if rc:
        raise L.error(rc, o._keep.value.decode("utf-8", "replace") or None)
    return cls._from_handle(h.value, tc)


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


def _anon_rebuild(cls, tc, row, items):
    """Unpickles an anonymous array (see _SeqMixin.__reduce_ex__): a new
    one of class cls with the elements of the array.array items, made
    without calling cls.__new__ or __init__ (as array.array's own
    reconstructor does for a subclass); pickle then restores __dict__."""
    a = _anon_as(cls, tc, (0,) + tuple(row))
    a.frombytes(items.tobytes())
    return a


def _iter_at(a, pos):
    """Unpickles an iterator (see _seq._Iter): over a, from pos."""
    return _seq._Iter._at(a, pos)

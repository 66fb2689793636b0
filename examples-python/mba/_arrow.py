"""The Arrow PyCapsule interface of mmaparray (docs/ARROW.md).

libmba fills the Arrow C Data / C Stream Interface structs itself
(mba_export_arrow, mba_export_arrow_stream: zero-copy unless
MBA_ARROW_COPY; their release callbacks keep the mapping alive after
close). This module only wraps them in the PyCapsules that consumers
(pyarrow, Polars, DuckDB...) take: "arrow_schema", "arrow_array" and
"arrow_array_stream", each owning a struct in C memory that is released
(unless a consumer has moved it: set its release to NULL) and freed once
the capsule is unused (see _sweep). No pyarrow is needed.

Capsules are made through ctypes.pythonapi, which is CPython's: on other
interpreters (PyPy) importing this module raises NotSupportedError; the
rest of mba does not import it (the methods import it on first use).
"""

import atexit
import ctypes
import gc
import sys
import threading

from ctypes import CFUNCTYPE, c_char_p, c_int, c_int64, c_uint32, c_uint64, c_void_p

from . import _lib as L
from ._native import _check_signals

if not hasattr(ctypes, "pythonapi") or sys.implementation.name != "cpython":
    raise L.NotSupportedError(
        "the Arrow PyCapsule interface of mba needs CPython (it makes "
        "PyCapsules through ctypes.pythonapi); this is %s" % sys.implementation.name)

ARROW_COPY = 2048  # MBA_ARROW_COPY: copy the elements (an immutable snapshot)
ARROW_LIVE = 4096  # MBA_ARROW_LIVE: a stream that tails the array
ARROW_STRUCT = 8192  # MBA_ARROW_STRUCT: a struct of one field (a record batch)
ALL = 0xFFFFFFFFFFFFFFFF  # count: to the end of the published elements


class ArrowSchema(ctypes.Structure):
    _fields_ = [("format", c_char_p), ("name", c_char_p), ("metadata", c_void_p),
                ("flags", c_int64), ("n_children", c_int64), ("children", c_void_p),
                ("dictionary", c_void_p), ("release", c_void_p), ("private_data", c_void_p)]


class ArrowArray(ctypes.Structure):
    _fields_ = [("length", c_int64), ("null_count", c_int64), ("offset", c_int64),
                ("n_buffers", c_int64), ("n_children", c_int64), ("buffers", c_void_p),
                ("children", c_void_p), ("dictionary", c_void_p), ("release", c_void_p),
                ("private_data", c_void_p)]


class ArrowArrayStream(ctypes.Structure):
    _fields_ = [("get_schema", c_void_p), ("get_next", c_void_p),
                ("get_last_error", c_void_p), ("release", c_void_p),
                ("private_data", c_void_p)]


# Calls through these C function pointer types release the GIL (they are
# CFUNCTYPE, not PYFUNCTYPE): a live stream's get_next may wait.
_RELEASE = CFUNCTYPE(None, c_void_p)
_GET = CFUNCTYPE(c_int, c_void_p, c_void_p)
_LAST_ERROR = CFUNCTYPE(c_char_p, c_void_p)


def _lib_fn(name, *argtypes):
    try:
        f = L.lib[name]
    except AttributeError:
        return None
    f.argtypes = list(argtypes)
    f.restype = c_int
    return f


_export_arrow = _lib_fn("mba_export_arrow", c_int, c_uint64, c_uint64, c_uint32,
                        c_void_p, c_void_p)
_export_stream = _lib_fn("mba_export_arrow_stream", c_int, c_uint32, c_int64, c_void_p)

_libc = ctypes.CDLL(None)
_calloc = _libc.calloc
_calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_calloc.restype = c_void_p
_free = _libc.free
_free.argtypes = [c_void_p]
_free.restype = None

_api = ctypes.pythonapi
_capsule_new = _api.PyCapsule_New
_capsule_new.argtypes = [c_void_p, c_char_p, c_void_p]
_capsule_new.restype = ctypes.py_object


# Capsule ownership. A PyCapsule destructor runs inside the capsule's
# deallocation, often while the consumer's exception is propagating (a
# consumer that refuses our export drops our capsules on its error path).
# A destructor written in Python (a ctypes callback) cannot run there: the
# pending exception breaks its calls, and ctypes replaces it with a
# SystemError. So our capsules have no destructor: each is kept in
# _PENDING with its struct, and _sweep() releases (unless a consumer moved
# it) and frees the struct of every capsule that nobody else references
# any more. Sweeps run before every export, after every garbage
# collection (gc.callbacks) and at exit: an untaken capsule's mapping is
# released at the next of these, a taken one's by its consumer at once.
_NAME = {n: ctypes.create_string_buffer(n.encode())
         for n in ("arrow_schema", "arrow_array", "arrow_array_stream")}
# A capsule may outlive this module (a consumer keeps one until the
# interpreter's very end): its name must never be freed.
_api.Py_IncRef(ctypes.py_object(_NAME))
_SIZE = {"arrow_schema": ctypes.sizeof(ArrowSchema), "arrow_array": ctypes.sizeof(ArrowArray),
         "arrow_array_stream": ctypes.sizeof(ArrowArrayStream)}
_PENDING = []  # [capsule, struct address, struct type]
_LOCK = threading.Lock()
_getrefcount = sys.getrefcount


def _refs_when_unused():
    e = [object(), 0, None]
    return _getrefcount(e[0])


# References to a capsule that _sweep's check sees when only _PENDING
# holds it (the list entry, the call's argument).
_UNUSED = _refs_when_unused()


def _sweep(*_):
    """Releases and frees the structs of the capsules only _PENDING still
    references. Never blocks: a sweep in progress elsewhere (or below in
    this thread, from a garbage collection) is left to finish."""
    if not _LOCK.acquire(False):
        return
    try:
        keep, dead = [], []
        for e in _PENDING:  # (an unused capsule stays unused: nobody can take it)
            (dead if _getrefcount(e[0]) <= _UNUSED else keep).append(e)
        if dead:
            _PENDING[:] = keep
    finally:
        _LOCK.release()
    for _, p, struct in dead:
        _release_free(p, struct)


gc.callbacks.append(lambda phase, info: phase == "stop" and _sweep())
atexit.register(_sweep)


def _alloc(kind):
    p = _calloc(1, _SIZE[kind])
    if not p:
        raise MemoryError
    return p


def _release_free(p, struct):
    """Releases (unless moved) and frees a struct."""
    if p:
        rel = struct.from_address(p).release
        if rel:
            _RELEASE(rel)(p)
        _free(p)


def _capsule(p, kind, struct):
    """Wraps the struct at p in a capsule that owns it (see _sweep;
    released and freed here if even that fails)."""
    try:
        cap = _capsule_new(p, ctypes.cast(_NAME[kind], c_char_p), None)
        with _LOCK:
            _PENDING.append([cap, p, struct])
    except BaseException:
        _release_free(p, struct)
        raise
    return cap


def _capsule_pair(sp, ap):
    """(schema capsule, array capsule) owning the structs at sp and ap
    (the array released and freed here if the schema's capsule fails)."""
    try:
        s = _capsule(sp, "arrow_schema", ArrowSchema)
    except BaseException:
        _release_free(ap, ArrowArray)
        raise
    return s, _capsule(ap, "arrow_array", ArrowArray)


def _missing():
    return L.NotSupportedError(
        "this libmba (%s, %s) has no Arrow export (mba_export_arrow): an older "
        "build" % (L.version_string, L.path))


def _handle(a):
    """(owner, handle) of an open mmaparray: the owner keeps the handle
    open during the export call (see mmaparray._hold)."""
    try:
        return a._hold()
    except L.NotSupportedError:
        raise L.NotSupportedError(
            "an array over a user mmap has no Arrow export (it has no libmba "
            "handle); copy it into mba.anon() or export numpy.asarray(a)")


def export(a, start=0, count=ALL, flags=0):
    """(schema capsule, array capsule) of rows [start, start+count) of a
    (count ALL: to the end), zero-copy unless flags has ARROW_COPY."""
    if _export_arrow is None:
        raise _missing()
    _sweep()
    own, h = _handle(a)
    sp = _alloc("arrow_schema")
    try:
        ap = _alloc("arrow_array")
    except BaseException:
        _free(sp)
        raise
    rc = _export_arrow(h, start, count, flags, ap, sp)
    del own
    if rc:
        _free(sp)
        _free(ap)
        a._fail(rc)
    return _capsule_pair(sp, ap)


def schema(a, flags=0):
    """The schema capsule of a (its field: type, name, metadata)."""
    s, arr = export(a, 0, 0, flags)
    del arr  # released at once: an empty export only carried the schema
    return s


def _stream_ptr(a, flags, timeout_ns):
    if _export_stream is None:
        raise _missing()
    _sweep()
    own, h = _handle(a)
    p = _alloc("arrow_array_stream")
    rc = _export_stream(h, flags, timeout_ns, p)
    del own
    if rc:
        _free(p)
        a._fail(rc)
    return p


def stream(a, flags=ARROW_STRUCT, timeout_ns=0):
    """An "arrow_array_stream" capsule: a finite snapshot of a unless
    flags has ARROW_LIVE; of record batches of one column (the form
    table consumers take: DuckDB, polars.DataFrame, RecordBatchReader)
    unless flags lacks ARROW_STRUCT."""
    return _capsule(_stream_ptr(a, flags, timeout_ns), "arrow_array_stream",
                    ArrowArrayStream)


class ArrowSlice(object):
    """What a.arrow(...) returns: rows [start, stop) of an array, exported
    when a consumer asks (each call exports anew: every consumer gets its
    own structs). Implements __arrow_c_schema__ and __arrow_c_array__, and
    __arrow_c_stream__ for the whole array; all of the plain array, or of
    a struct of one field (a record batch) with struct=True."""

    __slots__ = ("_a", "_start", "_count", "_flags")

    def __init__(self, a, start, count, flags):
        self._a = a
        self._start = start
        self._count = count
        self._flags = flags

    def __arrow_c_schema__(self):
        return schema(self._a, self._flags & ARROW_STRUCT)

    def __arrow_c_array__(self, requested_schema=None):
        return export(self._a, self._start, self._count, self._flags)

    def __arrow_c_stream__(self, requested_schema=None):
        if self._start or self._count != ALL:
            raise L.NotSupportedError("a stream exports the whole array: use "
                                      "__arrow_c_array__ for a slice")
        return stream(self._a, self._flags)


def slice_of(a, start, stop, copy, struct):
    n = len(a)
    start, stop, step = slice(start, stop).indices(n)
    if step != 1:
        raise ValueError("an Arrow export is contiguous: no step")
    count = ALL if stop == n and start <= n else max(0, stop - start)
    flags = (ARROW_COPY if copy else 0) | (ARROW_STRUCT if struct else 0)
    return ArrowSlice(a, start, count, flags)


class ArrowBatch(object):
    """One batch of a tail (see ArrowTail): an array struct from get_next,
    with the stream's schema; a consumer takes it once through
    __arrow_c_array__ (pyarrow.array(batch))."""

    __slots__ = ("_schema", "_array", "length")

    def __init__(self, schema_ptr, array_ptr):
        self._schema = schema_ptr
        self._array = array_ptr
        self.length = ArrowArray.from_address(array_ptr).length

    def __len__(self):
        return self.length

    def __arrow_c_array__(self, requested_schema=None):
        if not self._array:
            raise ValueError("this batch was already taken by a consumer")
        s, a = self._schema, self._array
        self._schema = self._array = None
        return _capsule_pair(s, a)

    def __del__(self):
        _release_free(self._schema, ArrowSchema)
        _release_free(self._array, ArrowArray)


class ArrowTail(object):
    """A live Arrow stream of an array (a.arrow_tail(timeout)): each batch
    holds the elements published since the previous one; when there are
    none, the next read waits up to timeout seconds (in libmba, with the
    GIL released), then the stream ends. Either hand it to a consumer once
    (pyarrow.RecordBatchReader.from_stream(t), pyarrow.chunked_array(t),
    via __arrow_c_stream__) or iterate it in Python: each item is an
    ArrowBatch, a record batch of one column (pyarrow.record_batch(b));
    with struct=False, the plain array (pyarrow.array(b)). The stream keeps the mapping alive
    after a.close()."""

    __slots__ = ("_p",)

    def __init__(self, a, timeout, flags=ARROW_STRUCT):
        self._p = None
        if timeout is None or not timeout >= 0:
            raise ValueError("arrow_tail needs a timeout in seconds (>= 0)")
        ns = min(int(timeout * 1e9), (1 << 63) - 1)
        self._p = _stream_ptr(a, ARROW_LIVE | flags, ns)

    def _ptr(self):
        if not self._p:
            raise ValueError("this tail was handed to a consumer or closed")
        return self._p

    def __arrow_c_stream__(self, requested_schema=None):
        p = self._ptr()
        self._p = None
        return _capsule(p, "arrow_array_stream", ArrowArrayStream)

    def _error(self, p, rc):
        msg = None
        f = ArrowArrayStream.from_address(p).get_last_error
        if f:
            m = _LAST_ERROR(f)(p)
            msg = m.decode("utf-8", "replace") if m else None
        raise OSError(rc, msg or "Arrow stream error")

    def read_next(self):
        """The next batch (an ArrowBatch), or None at the end of the stream
        (no new row within the timeout; a later call looks, and waits,
        again). Ctrl-C during the wait raises KeyboardInterrupt: libmba
        ends the wait with an empty batch when a signal arrives, and the
        signal handlers run here."""
        p = self._ptr()
        st = ArrowArrayStream.from_address(p)
        while True:
            ap = _alloc("arrow_array")
            rc = _GET(st.get_next)(p, ap)  # may wait: the GIL is released
            if rc:
                _free(ap)
                self._error(p, rc)
            arr = ArrowArray.from_address(ap)
            if not arr.release:  # the end of the stream
                _free(ap)
                return None
            if arr.length:
                break
            # An empty batch: a signal ended the wait (see
            # mba_export_arrow_stream). Run the handlers, then go on.
            _release_free(ap, ArrowArray)
            _check_signals()
        sp = _alloc("arrow_schema")
        rc = _GET(st.get_schema)(p, sp)
        if rc:
            _free(sp)
            _release_free(ap, ArrowArray)
            self._error(p, rc)
        return ArrowBatch(sp, ap)

    def __iter__(self):
        while True:
            b = self.read_next()
            if b is None:
                return
            yield b

    def close(self):
        """Releases the stream (unless a consumer took it)."""
        p, self._p = self._p, None
        _release_free(p, ArrowArrayStream)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        self.close()

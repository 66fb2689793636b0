"""mmaparray's methods beyond array.array: shape, buffers, numpy,
flush, locking, waiting, closing; and the _Batch lock holder."""

import ctypes
import time
import weakref

from ctypes import byref, c_int, c_int32, c_uint64

from . import _compat
from . import _lib as L
from . import _guard
from ._types import (  # noqa: F401
    _CHARS, _EMPTY_B, _EMPTY_Q, _OWN_REFS, _TYPESTR, _close_py,
    _closed, _getrefcount, _CAST,
)

_E_HANDLE = L.E_HANDLE

class _NativeMixin(object):
    """What mmaparray offers beyond array.array (see _core)."""
    __slots__ = ()

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
            m = m.cast(_CAST[self._tc])
        else:
            m = m.cast(_CAST[self._tc], (n,) + self._row)
        return m.toreadonly() if self._ro else m

    def __buffer__(self, flags):  # Python 3.12+: memoryview(a), numpy
        m = self.view()
        if self._tc in _CHARS and m.itemsize == 4 and _compat.relabel:
            # array.array exports UCS-4 characters as format "w" (numpy:
            # "U1"), which a view made in Python cannot carry ("I").
            if flags & 1 and m.readonly:  # PyBUF_WRITABLE
                raise BufferError("memoryview: underlying buffer is not "
                                  "writable")
            return _compat.relabel(m, "w")
        return m

    def __release_buffer__(self, view):
        if self._tc in _CHARS and _compat.unlabel:
            _compat.unlabel(view)

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

    # The Arrow PyCapsule interface (docs/ARROW.md; mba/_arrow.py, imported
    # at first use: it needs CPython).

    def __arrow_c_schema__(self):
        """The Arrow schema of the elements, as an "arrow_schema" capsule."""
        from . import _arrow
        return _arrow.schema(self)

    def __arrow_c_array__(self, requested_schema=None):
        """A zero-copy Arrow export of the published elements (pyarrow.array(a),
        polars.Series(a)): ("arrow_schema", "arrow_array") capsules whose
        release keeps the memory mapped after close()."""
        from . import _arrow
        return _arrow.export(self)

    def __arrow_c_stream__(self, requested_schema=None):
        """A finite, zero-copy Arrow stream of the published elements, as
        record batches of one column named after the array (what table
        consumers take: DuckDB's replacement scan, polars.DataFrame(a),
        pyarrow.RecordBatchReader.from_stream(a)): an "arrow_array_stream"
        capsule."""
        from . import _arrow
        return _arrow.stream(self)

    def arrow(self, start=None, stop=None, copy=False, struct=False):
        """An Arrow exporter of rows [start, stop) (an object with
        __arrow_c_array__, and __arrow_c_stream__ for the whole array):
        zero-copy, or with copy=True an immutable copy that later writes to
        the array do not change (needed for bool arrays); struct=True
        exports a record batch of one column instead of the plain array."""
        from . import _arrow
        return _arrow.slice_of(self, start, stop, copy, struct)

    def arrow_tail(self, timeout, struct=True):
        """A live Arrow stream of this array: each batch holds the elements
        published since the previous one; when none are new, waits up to
        timeout seconds (GIL released), then ends. Hand it to a consumer
        (pyarrow.RecordBatchReader.from_stream, via __arrow_c_stream__) or
        iterate it: each item has __arrow_c_array__ (pyarrow.record_batch(b);
        with struct=False the batches are the plain arrays: pyarrow.array(b))."""
        from . import _arrow
        return _arrow.ArrowTail(self, timeout, _arrow.ARROW_STRUCT if struct else 0)

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
        if own is not None and (_getrefcount is None or
                                _getrefcount(own) > _OWN_REFS):
            # Views made earlier, or calls of other threads in progress,
            # still hold the owner: the last of them closes the handle.
            # (Without reference counts, as on PyPy, they may: the garbage
            # collector closes it once nothing holds the owner.)
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


_WAIT_SLICE = 0.1  # seconds: the longest a Ctrl-C can go unnoticed in wait()

# Runs pending Python signal handlers now (their exception, such as
# KeyboardInterrupt, propagates); see _compat.
_check_signals = _compat.check_signals

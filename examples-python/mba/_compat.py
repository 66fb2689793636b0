"""What the binding takes from CPython's C API, with the fallbacks used
where it is missing (PyPy, whose ctypes has neither ``pythonapi`` nor
``PyDLL``, and whose ``sys`` has no ``getrefcount``).

- ``serial_lib(lib, path)``: the library for calls on a handle that never
  block. On CPython a PyDLL: the GIL stays held across the call, so no
  close() of another thread runs meanwhile (mba_close must not race any
  call on the same handle). Elsewhere the same CDLL, each call made under
  one process-wide lock, ``SERIAL``, which every close of a handle takes
  too: the same exclusion, kept by the binding instead of the GIL.
- ``Buffer``: the address of any C-contiguous buffer. On CPython a held
  Py_buffer export (no copy, read-only buffers too). Elsewhere ctypes'
  ``from_buffer`` (no copy) for writable buffers and ``from_buffer_copy``
  for read-only ones (every use is a source the library only reads).
- ``check_signals()``: PyErr_CheckSignals on CPython; elsewhere nothing,
  as the interpreter runs the handlers at its next bytecode anyway.
- ``getrefcount``: None where the interpreter has no reference counts;
  the binding then never decides from a count that nothing else holds an
  object (close() leaves the handle to the garbage collector instead).
"""

import ctypes
import sys
import threading

from ctypes import POINTER, byref, c_char, c_char_p, c_int, c_void_p

CPYTHON = (sys.implementation.name == "cpython" and hasattr(ctypes, "PyDLL")
           and hasattr(ctypes, "pythonapi"))

getrefcount = getattr(sys, "getrefcount", None)

# Held by every call through serial_lib's functions and every mba_close,
# where there is no PyDLL. Reentrant: a garbage-collector finalizer that
# closes a handle may run inside a call of the same thread (before the C
# function is entered or after it returned).
SERIAL = threading.RLock()


class _SerialFn(object):
    """A ctypes function called under SERIAL."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    @property
    def argtypes(self):
        return self.fn.argtypes

    @argtypes.setter
    def argtypes(self, v):
        self.fn.argtypes = v

    @property
    def restype(self):
        return self.fn.restype

    @restype.setter
    def restype(self, v):
        self.fn.restype = v

    def __call__(self, *args):
        with SERIAL:
            return self.fn(*args)


class _SerialLib(object):
    """lib's functions, each called under SERIAL (``lib.name`` and
    ``lib[name]`` as for a CDLL; lib[name] gives a fresh function)."""

    def __init__(self, lib):
        self._lib = lib

    def __getitem__(self, name):
        return _SerialFn(self._lib[name])

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        f = _SerialFn(getattr(self._lib, name))
        setattr(self, name, f)
        return f


def serial_lib(lib, path):
    if CPYTHON:
        return ctypes.PyDLL(path, handle=lib._handle)
    return _SerialLib(lib)


def serialized(fn):
    """fn (a ctypes function of the CDLL) made safe to close a handle with:
    as is on CPython (a GIL-holding caller), under SERIAL elsewhere."""
    return fn if CPYTHON else _SerialFn(fn)


def fast_appends(lib, path):
    """(mba_append, mba_try_append) for callers that pass (int handle,
    bytes row or None), where there is no PyDLL: through cffi where it is
    importable (built into PyPy), else through ctypes with argtypes; the
    try-function under SERIAL, as every call that never blocks."""
    try:
        import cffi
        ffi = cffi.FFI()
        ffi.cdef("int mba_append(int32_t h, const char *row);"
                 "int mba_try_append(int32_t h, const char *row);")
        cl = ffi.dlopen(path)
        app, tri, null = cl.mba_append, cl.mba_try_append, ffi.NULL

        def append(h, row):
            return app(h, null if row is None else row)

        def try_append(h, row):
            with SERIAL:
                return tri(h, null if row is None else row)
        return append, try_append
    except Exception:  # (no cffi, or it cannot load the library)
        out = []
        for name in ("mba_append", "mba_try_append"):
            f = lib[name]
            f.argtypes = [ctypes.c_int32, c_char_p]
            f.restype = c_int
            out.append(f)
        return out[0], _SerialFn(out[1])


def exporter():
    """export(own, addr, nbytes) -> a 'B' memoryview of nbytes at addr
    that keeps own alive for as long as it, or any view made from it,
    lives; for interpreters without a PyDLL (on CPython, see
    _types._export). PyPy's memoryview of a ctypes object holds only its
    raw buffer, not the object: an attribute set on that object would not
    keep own alive, and the handle would be closed (its memory unmapped)
    under a live view. cffi's buffer keeps its cdata, which keeps the
    destructor closure, which keeps own. Without cffi, owners of exported
    memory are kept for the life of the process (their handles are never
    closed: conservative, never unsafe)."""
    try:
        import cffi
        ffi = cffi.FFI()
    except Exception:
        ffi = None
    if ffi is not None:
        cast, gc, buffer = ffi.cast, ffi.gc, ffi.buffer

        def export(own, addr, nbytes):
            p = gc(cast("unsigned char *", addr), lambda _p, own=own: None)
            return memoryview(buffer(p, nbytes)).cast("B")
        return export
    forever = []

    def export(own, addr, nbytes):
        forever.append(own)
        exp = (ctypes.c_ubyte * nbytes).from_address(addr)
        return memoryview(exp).cast("B")
    return export


# ------------------------------------------------------------ buffers

class Py_buffer(ctypes.Structure):
    _fields_ = [
        ("buf", c_void_p), ("obj", c_void_p), ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t), ("readonly", c_int), ("ndim", c_int),
        ("format", c_char_p), ("shape", POINTER(ctypes.c_ssize_t)),
        ("strides", POINTER(ctypes.c_ssize_t)),
        ("suboffsets", POINTER(ctypes.c_ssize_t)), ("internal", c_void_p),
    ]


PyBUF_C_CONTIGUOUS = 0x0020 | 0x0008 | 0x0010  # ND | STRIDES
PyBUF_FORMAT = 0x0004

if CPYTHON:
    _get_buffer = ctypes.pythonapi.PyObject_GetBuffer
    _get_buffer.argtypes = [ctypes.py_object, POINTER(Py_buffer), c_int]
    _get_buffer.restype = c_int
    _release_buffer = ctypes.pythonapi.PyBuffer_Release
    _release_buffer.argtypes = [POINTER(Py_buffer)]
    _release_buffer.restype = None

    class Buffer(object):
        """``with Buffer(obj) as b:`` holds a C-contiguous buffer export of
        obj; b.buf is its address (an int, valid inside the block), b.len
        its size in bytes."""

        __slots__ = ("view", "obj")

        def __init__(self, obj):
            self.obj = obj
            self.view = Py_buffer()

        def __enter__(self):
            _get_buffer(self.obj, byref(self.view),
                        PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
            return self.view

        def __exit__(self, *exc):
            _release_buffer(byref(self.view))
            return False

    _from_buffer = ctypes.pythonapi.PyMemoryView_FromBuffer
    _from_buffer.argtypes = [POINTER(Py_buffer)]
    _from_buffer.restype = ctypes.py_object
    PyBUF_FULL_RO = 0x0100 | 0x0010 | 0x0008 | 0x0004  # INDIRECT | FORMAT
    # The format strings relabel() may set: constants, alive for the process
    # (a memoryview points at its format, it does not copy it).
    _FORMATS = {"w": b"w"}
    # id(view) -> the Py_buffer holding the export of its source, until
    # unlabel(view).
    _RELABELED = {}

    def relabel(m, fmt):
        """A memoryview of m's memory (same address, shape, strides and
        read-only flag) whose format is fmt, one memoryview.cast refuses:
        "w", what array.array exports for UCS-4 characters (numpy reads it
        as "U1"). It holds an export of m (which keeps the memory mapped)
        until unlabel(view): __buffer__ returns it and __release_buffer__
        unlabels it."""
        b = Py_buffer()
        _get_buffer(m, byref(b), PyBUF_FULL_RO)
        b.format = _FORMATS[fmt]
        try:
            v = _from_buffer(byref(b))  # (copies b; its .obj is NULL)
        except BaseException:
            _release_buffer(byref(b))
            raise
        _RELABELED[id(v)] = b
        return v

    def unlabel(v):
        """Releases the export that relabel() took for the view v."""
        b = _RELABELED.pop(id(v), None)
        if b is not None:
            _release_buffer(byref(b))
else:
    class Buffer(object):
        """``with Buffer(obj) as b:``: b.buf is the address of obj's bytes
        (valid inside the block; a copy if obj is read-only), b.len their
        number. BufferError if obj is not C-contiguous."""

        __slots__ = ("obj", "buf", "len", "keep")

        def __init__(self, obj):
            self.obj = obj

        def __enter__(self):
            m = memoryview(self.obj)
            if not m.c_contiguous:
                raise BufferError("memoryview: underlying buffer is not "
                                  "C-contiguous")
            n = m.nbytes
            self.len = n
            if n == 0:
                self.keep = None
                self.buf = None
                return self
            t = c_char * n
            if m.readonly:
                self.keep = t.from_buffer_copy(m)
            else:
                try:
                    self.keep = t.from_buffer(m)
                except (TypeError, ValueError):
                    self.keep = t.from_buffer_copy(m)
            self.buf = ctypes.addressof(self.keep)
            return self

        def __exit__(self, *exc):
            self.keep = None
            return False

    relabel = None  # (no Python-level __buffer__ there: PyPy is 3.10)
    unlabel = None


# ------------------------------------------------------------ signals

if CPYTHON:
    _check = ctypes.pythonapi.PyErr_CheckSignals
    _check.argtypes = []
    _check.restype = c_int

    def check_signals():
        """Runs pending Python signal handlers now (their exception, such
        as KeyboardInterrupt, propagates)."""
        _check()
else:
    def check_signals():
        """Nothing to do: the interpreter runs pending signal handlers at
        its next bytecode."""

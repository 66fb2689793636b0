"""Argument checks and memory probes that keep hostile or careless input
from crashing or hanging the interpreter (issue 14, scenarios 8-10)."""

import errno as _errno
import math
import mmap as _mmap
import numbers
import os


def cname(name):
    """A name or path as the C string the library gets: ValueError for an
    embedded NUL (as open() does), which C would silently cut short."""
    b = os.fsencode(name)
    if b"\x00" in b:
        raise ValueError("embedded null character in name %r" % (name,))
    return b


def wait_deadline(timeout, now):
    """The deadline of wait(timeout=...) on the time.monotonic() clock:
    None waits forever (timeout None, +inf, or too large for a float);
    a negative timeout only checks, as threading.Event.wait does; NaN is a
    ValueError and a non-number a TypeError."""
    if timeout is None:
        return None
    if not isinstance(timeout, numbers.Real):
        raise TypeError("timeout must be a number or None, not %s" % type(timeout).__name__)
    try:
        t = float(timeout)
    except OverflowError:  # an int too large for a float: forever
        return None if timeout > 0 else now
    if math.isnan(t):
        raise ValueError("timeout must not be NaN")
    if t <= 0:
        return now
    d = now + t
    if math.isinf(d):
        return None
    return d


_PAGE = _mmap.PAGESIZE


def writable_prefix(mm, start, stop):
    """Makes sure every page of the mmap mm between byte offsets start and
    stop can be written, without touching it from Python: each page's
    first byte there goes through a pipe and back (write(2) reads it,
    readv(2) writes the same value back), so the kernel, not this process,
    takes the fault of a page with no memory behind it and reports EFAULT
    instead of a SIGBUS that would kill the interpreter. Such pages exist
    when CPython's mmap.resize grows a shared anonymous mapping (the grown
    part has no backing, gh-110243) or when a file under the mapping
    cannot get space (a full filesystem). Returns the offset of the first
    byte that cannot be written (stop if all can) and what failed: "read"
    (no memory behind the page, or no space to give it one), "write" (no
    space for it), or None."""
    if stop <= start:
        return stop, None
    if not hasattr(os, "readv"):
        return _writable_prefix_libc(mm, start, stop)
    r, w = os.pipe()
    mv = memoryview(mm)
    try:
        off = start
        while off < stop:
            with mv[off:off + 1] as one:
                try:
                    if os.write(w, one) != 1:
                        return off, "read"
                except OSError as e:
                    if e.errno == _errno.EFAULT:
                        return off, "read"
                    raise
                try:
                    got = os.readv(r, [one])
                except OSError as e:
                    if e.errno != _errno.EFAULT:
                        raise
                    got = 0
                if got != 1:
                    os.read(r, 1)
                    return off, "write"
            off = (off // _PAGE + 1) * _PAGE
        return stop, None
    finally:
        mv.release()
        os.close(r)
        os.close(w)


def _writable_prefix_libc(mm, start, stop):
    """writable_prefix where os has no readv (PyPy): the same pipe round
    trip, by libc's write(2) and read(2) on the mapping's address (PyPy's
    os.write would copy the byte in this process first, taking the
    fault)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    rw = (libc.write, libc.read)
    for f in rw:
        f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        f.restype = ctypes.c_ssize_t
    exp = ctypes.c_char.from_buffer(mm)
    base = ctypes.addressof(exp)
    del exp
    r, w = os.pipe()
    try:
        off = start
        while off < stop:
            for fd, fn, what in ((w, rw[0], "read"), (r, rw[1], "write")):
                got = fn(fd, base + off, 1)
                if got != 1:
                    err = ctypes.get_errno()
                    if got < 0 and err != _errno.EFAULT:
                        raise OSError(err, os.strerror(err))
                    if what == "write":
                        os.read(r, 1)
                    return off, what
            off = (off // _PAGE + 1) * _PAGE
        return stop, None
    finally:
        os.close(r)
        os.close(w)

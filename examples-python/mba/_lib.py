"""Loading libmba with ctypes, its prototypes, constants and error mapping.

Library lookup order (the first that loads and has a supported version wins):

1. the environment variable MBA_LIBRARY (a path); if it is set, it is the
   only candidate, so a typo never silently loads another copy;
2. the package directory (``pip install`` may bundle a built libmba.so);
3. the repository's target/release (an editable or in-repo install);
4. the system: ctypes.util.find_library("mba"), then "libmba.so.0".
"""

import ctypes
import ctypes.util
import errno as _errno
import os
import re

from . import _compat
from ._compat import Buffer  # noqa: F401

from ctypes import (POINTER, byref, c_char_p, c_double, c_int, c_int32,
                    c_int64, c_size_t, c_uint32, c_uint64, c_void_p)

# The library versions this binding supports: 0.3.x (0.x minors may break;
# 0.3 added the Arrow export and dropped the CPython bridge, which the
# extension module mba._ext replaces; see CHANGELOG.md).
SUPPORTED = ((0, 3),)

# ------------------------------------------------------------- constants

CREATE, EXCL, RDONLY, COW, REPLACE, RAW, FOREIGN = 1, 2, 4, 8, 16, 32, 64

ANY, I8, U8, I16, U16, I32, U32, I64, U64, F32, F64 = range(11)
BOOL, COMPLEX64, COMPLEX128, F16, RECORD = 11, 12, 13, 14, 15
MAX_ROW_DIMS = 8

SYNC, ASYNC, INVALIDATE = 1, 2, 4
ADVISE_NORMAL, ADVISE_RANDOM, ADVISE_SEQUENTIAL, ADVISE_WILLNEED = 0, 1, 2, 3

OK = 0
E_NULL, E_HANDLE, E_ARG, E_TYPE, E_NOTMBA, E_TRUNCATED, E_CORRUPT = range(-1, -8, -1)
E_VERSION, E_FEATURE, E_BYTEORDER, E_OVERFLOW, E_INDEX, E_READONLY = range(-8, -14, -1)
E_NOSPACE, E_FULL, E_EXISTS, E_NOTFOUND, E_PERM, E_IO, E_TIMEOUT = range(-14, -21, -1)
E_INTR, E_EMPTY, E_NOTSUP, E_NOMEM, E_BUSY, E_NOTLOCKED, E_PANIC = range(-21, -28, -1)
E_OWNER = -28
E_NEWER = -29


class mba_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("flags", c_uint32),
        ("mode", c_uint32),
        ("elem_type", c_int32),
        ("item_size", c_uint64),
        ("ndim", c_uint32),
        ("reserved0", c_uint32),
        ("shape", c_uint64 * 8),
        ("initial_len", c_uint64),
        ("capacity", c_uint64),
        ("max_len", c_uint64),
        ("offset", c_uint64),
        ("errbuf", c_char_p),
        ("errbuf_len", c_size_t),
    ]


class mba_info(ctypes.Structure):
    """struct mba_info of mba.h, filled by mba_describe (set struct_size to
    ctypes.sizeof(mba_info) first)."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("elem_type", c_int32),
        ("flags", c_uint32),
        ("ndim", c_uint32),
        ("item_size", c_uint64),
        ("row_size", c_uint64),
        ("shape", c_uint64 * 8),
        ("capacity", c_uint64),
        ("max_len", c_uint64),
        ("uuid", c_uint64),
        ("data", c_void_p),
        ("len_ptr", POINTER(c_uint64)),
        ("fd", c_int),
        ("reserved0", c_int),
    ]


INFO_SIZE = ctypes.sizeof(mba_info)


# ------------------------------------------------------------- loading

def _candidates():
    env = os.environ.get("MBA_LIBRARY")
    if env:
        return [("MBA_LIBRARY", env)], True
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for n in ("libmba.so", "libmba.so.0"):
        out.append(("package directory", os.path.join(here, n)))
    repo = os.path.dirname(os.path.dirname(here))
    # Only a package used from the source tree has a repository around it
    # (an installed one lives in site-packages: no target/ to look in).
    if os.path.exists(os.path.join(repo, "Cargo.toml")):
        out.append(("repository target/release",
                    os.path.join(repo, "target", "release", "libmba.so")))
    found = ctypes.util.find_library("mba")
    if found:
        out.append(("system (find_library)", found))
    out.append(("system", "libmba.so.0"))
    return out, False


# Functions this binding calls that older builds lack (mba_describe came
# with 0.1.1, though some development builds reported 0.1.0 without it;
# mba_try_append later in 0.1.1 development, without a version bump): a
# library without them is refused, so the lookup goes on to the next
# candidate.
# mba_open_fd: the C API 1.0 names (issue 15), e.g. mba_from_fd before.
REQUIRED = ("mba_describe", "mba_try_append", "mba_open_fd")


def _version_tuple(v):
    return (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF


def _load():
    cands, explicit = _candidates()
    tried = []
    for what, path in cands:
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s (not found)" % (what, path))
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.mba_version.restype = c_uint32
            lib.mba_version.argtypes = []
            ver = _version_tuple(lib.mba_version())
        except (OSError, AttributeError) as e:
            tried.append("%s: %s (%s)" % (what, path, e))
            continue
        if ver[:2] not in SUPPORTED:
            tried.append("%s: %s (version %d.%d.%d; this binding supports %s)" % (
                what, path, ver[0], ver[1], ver[2],
                ", ".join("%d.%d.x" % s for s in SUPPORTED)))
            continue
        missing = [f for f in REQUIRED if not hasattr(lib, f)]
        if missing:
            tried.append("%s: %s (version %d.%d.%d lacks %s: an older build)" % (
                what, path, ver[0], ver[1], ver[2], ", ".join(missing)))
            continue
        return lib, path, ver
    hint = ("build the library first: run 'make' (or 'cargo build --release') "
            "in the libmba repository, then reinstall this package with "
            "'pip install --force-reinstall ./examples-python' so that it "
            "bundles target/release/libmba.so; or set MBA_LIBRARY to the path "
            "of a libmba.so")
    if explicit:
        hint = "MBA_LIBRARY is set, so no other place was tried"
    raise ImportError("mba: cannot load a supported libmba. Tried:\n  " +
                      "\n  ".join(tried) + "\n(" + hint + ")")


lib, path, version = _load()
version_string = "%d.%d.%d" % version

# Fast entry points WITHOUT argtypes: only ever called with (int handle,
# bytes of one packed row); ctypes passes the bytes object as a char *.
# They are the attribute objects of `lib` and `pylib`; everything below
# gets fresh objects through lib[name], so setting their argtypes never
# touches these.
append_raw_fast = lib.mba_append

# mba_try_append never waits for another thread (it returns MBA_E_BUSY,
# having changed nothing, wherever mba_append would lock, grow or report
# an error), so it may be called with the GIL held: through a PyDLL (same
# library handle, no second dlopen), which skips ctypes' GIL release and
# reacquire. (Without a PyDLL, as on PyPy, the CDLL under a lock that every
# close takes too: see _compat.)
pylib = _compat.serial_lib(lib, path)
try_append_raw_fast = pylib.mba_try_append
if not _compat.CPYTHON:
    # PyPy's ctypes spends ~40 us on a call without argtypes (~8 us with);
    # its built-in cffi ~0.1 us. The same library (dlopen gives the loaded
    # copy again: one handle table), for the two append entries.
    append_raw_fast, try_append_raw_fast = _compat.fast_appends(lib, path)


def _fn(name, *argtypes):
    f = lib[name]
    f.argtypes = list(argtypes)
    f.restype = c_int
    return f


def _pyfn(name, *argtypes):
    """Like _fn, through the PyDLL. For the calls on a handle that never
    block: the GIL stays held, so no close() from another thread can run
    while one is in progress. (Calls that may block go through the CDLL,
    which releases it; the binding keeps the handle's owner alive across
    them, see mmaparray.close.)"""
    f = pylib[name]
    f.argtypes = list(argtypes)
    f.restype = c_int
    return f


H = c_int32
P = c_void_p
PU64 = POINTER(c_uint64)

strerror = lib["mba_strerror"]
strerror.argtypes = [c_int]
strerror.restype = c_char_p
last_error = _fn("mba_last_error", c_char_p, c_size_t)
handle_error = _fn("mba_handle_error", H, c_char_p, c_size_t)
options_init = _fn("mba_options_init", POINTER(mba_options))
open_ = _fn("mba_open", c_char_p, c_uint32, c_int32, POINTER(H))
open_ex = _fn("mba_open_ex", c_char_p, POINTER(mba_options), POINTER(H))
anon = _fn("mba_anon", c_uint32, c_int32, c_uint64, POINTER(H))
anon_ex = _fn("mba_anon_ex", POINTER(mba_options), POINTER(H))
from_fd = _fn("mba_open_fd", c_int, c_uint32, c_int32, POINTER(H))
map_raw = _fn("mba_map_raw", c_char_p, POINTER(mba_options), POINTER(H))
close = _fn("mba_close", H)
fd = _pyfn("mba_fd", H, POINTER(c_int))
unlink = _fn("mba_unlink", c_char_p)
list_ = _fn("mba_list", c_char_p, c_size_t, POINTER(c_size_t))
append = _fn("mba_append", H, P)
extend = _fn("mba_extend", H, c_uint64, P)
append_i64 = _fn("mba_append_i64", H, c_int64)
append_u64 = _fn("mba_append_u64", H, c_uint64)
append_f64 = _fn("mba_append_f64", H, c_double)
pop = _fn("mba_pop", H, P)
set_ = _fn("mba_set", H, c_uint64, P)
write = _fn("mba_write", H, c_uint64, c_uint64, P)
set_i64 = _fn("mba_set_i64", H, c_uint64, c_int64)
set_u64 = _fn("mba_set_u64", H, c_uint64, c_uint64)
set_f64 = _fn("mba_set_f64", H, c_uint64, c_double)
insert = _fn("mba_insert", H, c_uint64, c_uint64, P)
remove = _fn("mba_remove", H, c_uint64, c_uint64)
truncate = _fn("mba_truncate", H, c_uint64)
clear = _fn("mba_clear", H)
reserve = _fn("mba_reserve", H, c_uint64)
get = _fn("mba_get", H, c_uint64, P)
read = _fn("mba_read", H, c_uint64, c_uint64, P)
len_ = _pyfn("mba_len", H, PU64)
capacity = _pyfn("mba_capacity", H, PU64)
max_len = _pyfn("mba_max_len", H, PU64)
type_ = _fn("mba_elem_type", H, POINTER(c_int32))
itemsize = _fn("mba_item_size", H, PU64)
row_bytes = _fn("mba_row_size", H, PU64)
shape = _fn("mba_shape", H, PU64, c_uint32, POINTER(c_uint32))
flags = _fn("mba_flags", H, POINTER(c_uint32))
describe = _fn("mba_describe", H, POINTER(mba_info))
uuid = _pyfn("mba_uuid", H, PU64)
get_ptr = _fn("mba_get_ptr", H, POINTER(c_void_p))
len_ptr = _fn("mba_len_ptr", H, POINTER(c_void_p))
pin = _pyfn("mba_pin", H, POINTER(c_int32))
unpin = _fn("mba_unpin", c_int32)
flush = _fn("mba_flush", H, c_int)
flush_range = _fn("mba_flush_range", H, c_uint64, c_uint64, c_int)
mlock = _fn("mba_mlock", H)
munlock = _fn("mba_munlock", H)
advise = _fn("mba_advise", H, c_int)
lock = _fn("mba_lock", H)
trylock = _fn("mba_try_lock", H)
unlock = _fn("mba_unlock", H)
seq = _pyfn("mba_seq", H, PU64)
wait = _fn("mba_wait", H, c_uint64, c_int64, PU64)
sigbus_guard = _fn("mba_sigbus_guard", c_int)
# Set by mba.sigbus_guard(): fallback reads then check the mapping first.
guard_on = False


# ------------------------------------------------------------- errors

class MBAError(Exception):
    """Base of every error raised for a libmba status code.

    Each status has its own subclass that also derives from the matching
    built-in exception (FileNotFoundError, TypeError, OverflowError...), so
    callers can catch either. ``code`` is the MBA_E_* status."""

    code = None


def _mk(name, code, *bases):
    return type(name, (MBAError,) + bases, {"code": code, "__module__": "mba"})


ClosedError = _mk("ClosedError", E_HANDLE, ValueError)
ArgumentError = _mk("ArgumentError", E_ARG, ValueError)
NullError = _mk("NullError", E_NULL, ValueError)
ElementTypeError = _mk("ElementTypeError", E_TYPE, TypeError)
FormatError = _mk("FormatError", E_NOTMBA, ValueError)
MBAOverflowError = _mk("MBAOverflowError", E_OVERFLOW, OverflowError)
MBAIndexError = _mk("MBAIndexError", E_INDEX, IndexError)
ReadOnlyError = _mk("ReadOnlyError", E_READONLY, TypeError)
NoSpaceError = _mk("NoSpaceError", E_NOSPACE, OSError)
FullError = _mk("FullError", E_FULL, BufferError)
ExistsError = _mk("ExistsError", E_EXISTS, FileExistsError)
NotFoundError = _mk("NotFoundError", E_NOTFOUND, FileNotFoundError)
MBAPermissionError = _mk("MBAPermissionError", E_PERM, PermissionError)
MBAOSError = _mk("MBAOSError", E_IO, OSError)
MBATimeoutError = _mk("MBATimeoutError", E_TIMEOUT, TimeoutError)
MBAInterruptedError = _mk("MBAInterruptedError", E_INTR, InterruptedError)
EmptyError = _mk("EmptyError", E_EMPTY, IndexError)
NotSupportedError = _mk("NotSupportedError", E_NOTSUP, ValueError)
MBAMemoryError = _mk("MBAMemoryError", E_NOMEM, MemoryError)
BusyError = _mk("BusyError", E_BUSY, BlockingIOError)
NotLockedError = _mk("NotLockedError", E_NOTLOCKED, RuntimeError)
PanicError = _mk("PanicError", E_PANIC, RuntimeError)
# Open-or-create found a name another user created first (see MBA_FOREIGN).
OwnerError = _mk("OwnerError", E_OWNER, PermissionError)

_CLASSES = {c.code: c for c in (
    ClosedError, ArgumentError, NullError, ElementTypeError, FormatError,
    MBAOverflowError, MBAIndexError, ReadOnlyError, NoSpaceError, FullError,
    ExistsError, NotFoundError, MBAPermissionError, MBAOSError,
    MBATimeoutError, MBAInterruptedError, EmptyError, NotSupportedError,
    MBAMemoryError, BusyError, NotLockedError, PanicError, OwnerError)}
for _c in (E_TRUNCATED, E_CORRUPT, E_VERSION, E_FEATURE, E_BYTEORDER):
    _CLASSES[_c] = FormatError
_ERRNO = {E_NOSPACE: _errno.ENOSPC, E_EXISTS: _errno.EEXIST,
          E_NOTFOUND: _errno.ENOENT, E_PERM: _errno.EACCES, E_OWNER: _errno.EACCES,
          E_TIMEOUT: _errno.ETIMEDOUT, E_INTR: _errno.EINTR,
          E_BUSY: _errno.EAGAIN}


def message(rc):
    """The detailed message of the calling thread's last failure, or the
    fixed message of rc."""
    buf = ctypes.create_string_buffer(512)
    code = last_error(buf, 512)
    msg = buf.value.decode("utf-8", "replace")
    if code != rc or not msg:
        msg = strerror(rc).decode("utf-8", "replace")
    return msg


# The library names element types as Rust does; a Python user wrote a
# typecode or a numpy dtype, so messages say both.
_PY_TYPE = {"i8": "'b' (int8)", "u8": "'B' (uint8)", "i16": "'h' (int16)",
            "u16": "'H' (uint16)", "i32": "'i' (int32)", "u32": "'I' (uint32)",
            "i64": "'q' (int64)", "u64": "'Q' (uint64)", "f32": "'f' (float32)",
            "f64": "'d' (float64)"}
_RUST_TYPE = re.compile(r"\b(" + "|".join(_PY_TYPE) + r")(?= elements| element\b|,|\)|$)")

# What to do, by status: appended to the library's message.
_HINTS = {
    E_TYPE: "attach without a dtype to accept any element type, or ask for "
            "the type the array holds",
    E_NOTFOUND: "create it first (mba.create), or see the existing names "
                "with mba.list()",
    E_EXISTS: "attach to it (mba.attach), or remove it first (mba.delete)",
    E_PERM: "the file's owner or mode does not allow this; check "
            "ls -l /dev/shm (or the file) and the perm= used at creation",
    E_OWNER: "another user created this name first; use another name, or "
             "remove theirs",
    E_NOSPACE: "the filesystem is full: free space, or for /dev/shm mount a "
               "larger one (Docker: --shm-size)",
    E_READONLY: "attach without readonly=True to write",
    E_HANDLE: "the array was closed; attach again",
}


def pythonize(rc, msg):
    """msg with Rust type names replaced by typecodes and dtypes, and what
    to do appended."""
    msg = _RUST_TYPE.sub(lambda m: _PY_TYPE[m.group(1)], msg)
    hint = _HINTS.get(rc)
    if hint and hint not in msg:
        msg = "%s (%s)" % (msg, hint)
    return msg


def error(rc, msg=None):
    """The exception for status rc (not raised)."""
    if msg is None:
        msg = message(rc)
    msg = pythonize(rc, msg)
    cls = _CLASSES.get(rc, MBAError)
    if issubclass(cls, OSError) and rc in _ERRNO:
        e = cls(_ERRNO[rc], msg)
    else:
        e = cls(msg)
    e.code = rc
    return e


def check(rc):
    if rc:
        raise error(rc)


def unpin_quiet(p):
    try:
        unpin(p)
    except Exception:  # interpreter shutdown
        pass


# Buffer (the address of any buffer, for the calls): see _compat.

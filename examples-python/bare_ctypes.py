"""libmba from bare ctypes (no mba package): create a named array of
doubles, append, read it through the element pointer, remove it.
Usage: MBA_LIBRARY=path/to/libmba.so python3 bare_ctypes.py [NAME]"""
import ctypes, os, sys
from ctypes import byref, c_double, c_int32, c_uint64, c_void_p, POINTER

lib = ctypes.CDLL(os.environ.get("MBA_LIBRARY", "libmba.so.0"))
lib.mba_strerror.restype = ctypes.c_char_p
def check(rc):  # every function returns 0 or a negative MBA_E_* status
    if rc:
        raise OSError(rc, lib.mba_strerror(rc).decode())
MBA_CREATE, MBA_EXCL, MBA_TYPE_F64 = 1, 2, 10
name = ("shm://" + (sys.argv[1] if len(sys.argv) > 1 else "bare-ctypes-%d" % os.getpid())).encode()
h, n, p = c_int32(), c_uint64(), c_void_p()
check(lib.mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_F64, byref(h)))
try:
    for v in (1.5, 2.5, 4.0):
        check(lib.mba_append(h, byref(c_double(v))))
    check(lib.mba_len(h, byref(n)))
    check(lib.mba_get_ptr(h, byref(p)))  # valid until mba_close; never moves
    items = ctypes.cast(p, POINTER(c_double))
    print("%s: %d items: %s" % (name.decode(), n.value, [items[i] for i in range(n.value)]))
finally:
    check(lib.mba_close(h))
    check(lib.mba_unlink(name))

"""The demo's Python reader (run by examples-c/demo.sh): follows the array
that examples-c/writer appends to, printing each reading as it arrives.

    python3 demo/reader.py NAME

The readings are C structs (an MBA_TYPE_RECORD array), which the mba
package does not map, so this reader uses libmba through bare ctypes:
the elements are read in place (from_address), woken by mba_wait.
Set MBA_LIBRARY to the path of libmba.so.
"""
import ctypes
import os
import sys
import time


class Reading(ctypes.Structure):  # struct reading of examples-c/writer.c
    _fields_ = [("seq", ctypes.c_uint64), ("time_ns", ctypes.c_int64),
                ("celsius", ctypes.c_double), ("sensor", ctypes.c_uint32),
                ("last", ctypes.c_uint32)]


def main():
    name = sys.argv[1].encode()
    lib = ctypes.CDLL(os.environ.get("MBA_LIBRARY", "libmba.so.0"))
    lib.mba_strerror.restype = ctypes.c_char_p
    u64 = ctypes.c_uint64

    def check(what, rc):
        if rc != 0:
            buf = ctypes.create_string_buffer(256)
            lib.mba_last_error(buf, 256)
            sys.exit("python: %s: %s (%s)" % (what, lib.mba_strerror(rc).decode(), buf.value.decode()))

    h = ctypes.c_int32()
    for _ in range(1000):  # wait up to 10 s for the writer to create it
        rc = lib.mba_open(name, 0, 15, ctypes.byref(h))  # 15: MBA_TYPE_RECORD
        if rc != -17:  # MBA_E_NOTFOUND
            break
        time.sleep(0.01)
    check("mba_open", rc)
    size = u64()
    lib.mba_item_size(h, ctypes.byref(size))
    if size.value != ctypes.sizeof(Reading):
        sys.exit("python: %d-byte records, not readings" % size.value)
    base = ctypes.c_void_p()
    check("mba_get_ptr", lib.mba_get_ptr(h, ctypes.byref(base)))
    seen, n, nxt = u64(), u64(), 0
    while True:
        lib.mba_seq(h, ctypes.byref(seen))  # before the length: nothing missed
        lib.mba_len(h, ctypes.byref(n))
        while nxt < n.value:
            r = Reading.from_address(base.value + nxt * ctypes.sizeof(Reading))
            if r.last:
                print("python: end marker after %d readings" % nxt)
                lib.mba_close(h)
                return
            print("python: got reading %d: sensor %d, %.2f C (%.0f us after it was written)"
                  % (r.seq, r.sensor, r.celsius, (time.monotonic_ns() - r.time_ns) / 1000.0),
                  flush=True)
            nxt += 1
        rc = lib.mba_wait(h, seen, ctypes.c_int64(10 * 10**9), None)
        if rc == -20:  # MBA_E_TIMEOUT
            sys.exit("python: nothing new for 10 s; is the writer running?")
        if rc not in (0, -21):  # MBA_E_INTR: just wait again
            check("mba_wait", rc)


if __name__ == "__main__":
    main()

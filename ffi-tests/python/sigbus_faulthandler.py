"""The SIGBUS guard under Python's faulthandler (issue 14), run by
scripts/suites/sigbus.sh.

usage: python sigbus_faulthandler.py MODE NAME
  guard  faulthandler on, then mba.sigbus_guard(): another process
         (coreutils truncate) cuts the array; a.append, a[i] and the
         library's reads raise mba.FormatError (MBA_E_TRUNCATED), later
         calls too; prints "ok".
  off    the same without the guard: the process dies of SIGBUS, and
         faulthandler reports it (proves the case can fail).
  raw    guard on, then a read through a numpy view (a raw pointer: not a
         library access): faulthandler must still see the fault and the
         process dies of SIGBUS.
"""
import ctypes
import faulthandler
import subprocess
import sys

faulthandler.enable()

import numpy as np  # noqa: E402

import mba  # noqa: E402
from mba import _lib as L  # noqa: E402

ROWS = 100000


def main():
    mode, name = sys.argv[1], sys.argv[2]
    if mode in ("guard", "raw"):
        mba.sigbus_guard(True)
        mba.sigbus_guard(True)  # idempotent
    a = mba.create("shm://" + name, ROWS, "Q", capacity=2 * ROWS)
    view = np.asarray(a)
    view[:] = np.arange(ROWS, dtype=np.uint64)
    # Another process truncates the object to 72 KiB (the 64 KiB header
    # region and the first 1,024 rows).
    subprocess.run(["truncate", "-s", "73728", "/dev/shm/" + name], check=True)
    if mode == "raw":
        print("touching a numpy view", flush=True)
        print("FAIL survived: %d" % int(view[ROWS // 2]), flush=True)
        sys.exit(3)
    failures = 0
    try:
        a.append(5)  # the bridge's fast path, then mba_append: row ROWS is gone
        print("FAIL append succeeded", flush=True)
        failures += 1
    except mba.FormatError as e:
        if e.code != L.E_TRUNCATED:
            print("FAIL append: %r" % e, flush=True)
            failures += 1
    # Later library calls on the same handle stay errors, even for row 0.
    v = ctypes.c_uint64()
    for what, rc in (("get", L.get(a._h, 0, ctypes.byref(v))),
                     ("read", L.read(a._h, ROWS - 1, 1, ctypes.byref(v))),
                     ("len", L.len_(a._h, ctypes.byref(v))),
                     ("append", L.append(a._h, ctypes.byref(v)))):
        if rc != L.E_TRUNCATED:
            print("FAIL %s after the fault -> %d" % (what, rc), flush=True)
            failures += 1
    try:
        a.extend([1, 2, 3])
        print("FAIL extend succeeded", flush=True)
        failures += 1
    except mba.FormatError:
        pass
    del view
    a.close()
    mba.delete("shm://" + name)
    # a[i]: the bridge reads the element inside the guard; afterwards every
    # a[...] raises (its fallback checks the mapping before any view).
    b = mba.create("shm://" + name, ROWS, "Q", capacity=2 * ROWS)
    b[ROWS - 1] = 7
    subprocess.run(["truncate", "-s", "73728", "/dev/shm/" + name], check=True)
    for i in (ROWS - 1, ROWS // 2, 0):
        try:
            print("FAIL b[%d] -> %r" % (i, b[i]), flush=True)
            failures += 1
        except mba.FormatError as e:
            if e.code != L.E_TRUNCATED:
                print("FAIL b[%d]: %r" % (i, e), flush=True)
                failures += 1
    b.close()
    mba.delete("shm://" + name)
    print("failed %d" % failures if failures else "ok", flush=True)
    sys.exit(1 if failures else 0)


main()

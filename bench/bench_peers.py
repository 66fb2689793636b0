#!/usr/bin/env python3
"""The Python package `mba` (as users install it) beside every peer of
peer-baselines: array.array, mmap_backed_array, numpy.memmap, SharedArray,
multiprocessing.shared_memory, os.pipe, multiprocessing.Pipe; one run of
every operation, peers interleaved, printed as RESULT lines for
bench/report.py (bench/run.sh runs this several times and takes medians).

  append    one element at a time (the slot peers, which cannot grow,
            store into a preallocated slot: m[i] = i)
  extend    1M int64 from an array.array (slot peers: a slice copy)
  get/set   a[i] and a[i] = v, one element
  attach    open an existing array + read [0], by size (files under
            --dir; shared_memory in /dev/shm, sparse, <= 64 MiB only)
  handoff   a Python producer -> a Python consumer process, one int64 at
            a time: items per second

A peer that is not installed, or cannot do an operation, prints
`SKIP <key> <reason>`.

    python bench/bench_peers.py --dir DIR [--quick]
"""

import argparse
import array
import ctypes
import gc
import mmap
import os
import sys
import time

import mba

try:
    import numpy as np
except ImportError:  # reported per figure
    np = None


def result(key, value, unit):
    print("RESULT %s %.3f %s" % (key, value, unit), flush=True)


def skip(key, why):
    print("SKIP %s %s" % (key, str(why).replace("\n", " ")[:120]), flush=True)


def imp(name):
    try:
        return __import__(name), None
    except Exception as e:  # noqa: BLE001 - reported
        return None, "%s: %s" % (type(e).__name__, e)


mbap, MBAP_WHY = imp("mmap_backed_array")
SA, SA_WHY = imp("SharedArray")
from multiprocessing import shared_memory  # noqa: E402
import multiprocessing as mp  # noqa: E402

UID = "%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)

# The libmba.so the package loaded (the same copy: dlopen of a loaded path).
LIB = ctypes.CDLL(mba._lib.path)
LIB.mba_open.argtypes = (ctypes.c_char_p, ctypes.c_uint32, ctypes.c_int32,
                         ctypes.POINTER(ctypes.c_int32))
LIB.mba_get_i64.argtypes = (ctypes.c_int32, ctypes.c_uint64, ctypes.POINTER(ctypes.c_int64))
LIB.mba_close.argtypes = (ctypes.c_int32,)


def run_peers(op, makers, n, repeat, bench):
    """makers: {peer: () -> (obj, cleanup)}; bench(peer, obj) does n ops
    and returns the seconds they took."""
    res = {}
    objs = {}
    for peer, make in makers.items():
        try:
            objs[peer] = make()
        except Exception as e:  # noqa: BLE001 - reported
            skip("py_%s_%s_ns" % (op, peer), e)
    try:
        for _ in range(repeat):  # interleaved: one run of each in turn
            for peer, (o, _c) in objs.items():
                gc.collect()
                gc.disable()
                try:
                    t = bench(peer, o) / n * 1e9  # bench times itself: seconds
                finally:
                    gc.enable()
                res[peer] = min(res.get(peer, t), t)
    finally:
        for o, c in objs.values():
            try:
                c()
            except Exception:  # noqa: BLE001
                pass
    for peer, t in res.items():
        result("py_%s_%s_ns" % (op, peer), t, "ns")


# ------------------------------------------------------------ slot peers

def slot_makers(dirpath, n, with_growable):
    """objects holding n int64 (the slot peers) and the growable ones"""
    m = {}

    def mba_named():
        name = "shm://bench-peers-%s" % UID
        a = mba.create(name, n, "q")
        return a, lambda: (a.close(), mba.delete(name))
    m["mba"] = mba_named
    if with_growable:
        m["array.array"] = lambda: (array.array("q", bytes(8 * n)), lambda: None)
        if mbap is not None:
            m["mmap_backed_array"] = lambda: (mbap.mmaparray("l", bytes(8 * n)), lambda: None)
    if np is not None:
        def memmap():
            p = os.path.join(dirpath, "peers-%s.npy" % UID)
            a = np.memmap(p, "int64", "w+", shape=(n,))
            return a, lambda: (os.unlink(p))
        m["numpy.memmap"] = memmap
    if SA is not None:
        def sa():
            name = "shm://bench-peers-sa-%s" % UID
            a = SA.create(name, n, "int64")
            return a, lambda: SA.delete(name)
        m["SharedArray"] = sa

    def shm():
        s = shared_memory.SharedMemory(create=True, size=8 * n)
        mv = s.buf.cast("q")
        return mv, lambda: (mv.release(), s.close(), s.unlink())
    m["shared_memory"] = shm
    return m


def bench_append(dirpath, n, repeat):
    makers = {
        "mba": None,
        "array.array": lambda: (array.array("q"), lambda: None),
    }

    def mba_growable():
        name = "shm://bench-peers-ap-%s" % UID
        a = mba.create(name, 0, "q")
        return a, lambda: (a.close(), mba.delete(name))
    makers["mba"] = mba_growable
    if mbap is not None:
        makers["mmap_backed_array"] = lambda: (mbap.mmaparray("l"), lambda: None)
    else:
        skip("py_append_mmap_backed_array_ns", MBAP_WHY)
    slots = slot_makers(dirpath, n, False)
    for k in ("numpy.memmap", "SharedArray", "shared_memory"):
        if k in slots:
            makers[k + "_slot"] = slots[k]

    fresh = {"array.array": lambda: array.array("q"),
             "mmap_backed_array": lambda: mbap.mmaparray("l")}

    def bench(peer, o):
        if peer.endswith("_slot"):
            t0 = time.perf_counter()
            for i in range(n):
                o[i] = i
            return time.perf_counter() - t0
        if peer == "mba":
            o.clear()
        else:
            o = fresh[peer]()  # a fresh array each run: the growable peers really grow
        ap = o.append
        t0 = time.perf_counter()
        for i in range(n):
            ap(i)
        return time.perf_counter() - t0
    run_peers("append", makers, n, repeat, bench)


def bench_extend(dirpath, n, repeat):
    src = array.array("q", range(n))
    src_l = array.array("l", src)  # mmap_backed_array has no 'q'
    makers = slot_makers(dirpath, n, True)
    npsrc = np.frombuffer(src, dtype="int64") if np is not None else None

    def pwrite_floor():
        # What bounds mba's figure: an extend this large into pages the
        # process has not mapped is one pwrite into the file (libmba's
        # choice, no page faults); this is that copy alone, into a /dev/shm
        # file whose pages exist, as the mba array's do. Not a peer: a
        # floor reported beside the figure (py_extend_floor_pwrite_ns).
        p = "/dev/shm/bench-peers-pw-%s" % UID
        fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.pwrite(fd, bytes(8 * n), 0)
        return fd, lambda: (os.close(fd), os.unlink(p))
    makers["floor_pwrite"] = pwrite_floor

    def bench(peer, o):
        if peer == "floor_pwrite":
            t0 = time.perf_counter()
            os.pwrite(o, src, 0)
            return time.perf_counter() - t0
        if peer == "mba":
            o.clear()
        elif peer == "array.array":
            o = array.array("q")
        elif peer == "mmap_backed_array":
            o = mbap.mmaparray("l")
        t0 = time.perf_counter()
        if peer == "mmap_backed_array":
            o.extend(src_l)
        elif peer in ("mba", "array.array"):
            o.extend(src)
        elif peer == "shared_memory":
            o[:] = memoryview(src)
        else:
            o[:] = npsrc
        return time.perf_counter() - t0
    run_peers("extend", makers, n, repeat, bench)


def bench_getset(dirpath, n, repeat):
    makers = slot_makers(dirpath, n, True)

    def get(peer, o):
        t0 = time.perf_counter()
        for i in range(n):
            o[i]
        return time.perf_counter() - t0

    def put(peer, o):
        t0 = time.perf_counter()
        for i in range(n):
            o[i] = 7
        return time.perf_counter() - t0
    run_peers("get", makers, n, repeat, get)
    run_peers("set", makers, n, repeat, put)


# ------------------------------------------------------------------ attach

def bench_attach(dirpath, sizes, k):
    for size in sizes:
        n = size // 8
        tag = "%dM" % (size >> 20)
        paths = []
        makers = {}
        mpath = os.path.join(dirpath, "att-%s-%s.mba" % (tag, UID))
        a = mba.create("file://" + mpath, n, "q")
        a.close()
        paths.append(mpath)
        raw = os.path.join(dirpath, "att-%s-%s.raw" % (tag, UID))
        with open(raw, "wb") as f:
            f.truncate(size)
        paths.append(raw)

        def floor(raw=raw):
            fd = os.open(raw, os.O_RDONLY)
            st = os.fstat(fd)
            m = mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, mmap.PROT_READ)
            os.close(fd)
            m[0]
            return m.close
        makers["floor"] = floor

        def mba_attach(mpath=mpath):
            b = mba.attach("file://" + mpath)
            b[0]
            return b.close
        makers["mba"] = mba_attach
        # What bounds the figure from below for any Python binding of
        # libmba: mba_open + mba_get_i64(0) called straight through ctypes
        # (no array object). Not a peer: reported beside the figure
        # (py_attach_ctypes_open_get_<size>_us).
        cname = ("file://" + mpath).encode()

        def ctypes_open_get(cname=cname):
            h, v = ctypes.c_int32(), ctypes.c_int64()
            if LIB.mba_open(cname, 0, 0, ctypes.byref(h)) or LIB.mba_get_i64(h, 0, ctypes.byref(v)):
                raise OSError("mba_open or mba_get_i64 failed")
            return lambda: LIB.mba_close(h)
        makers["ctypes_open_get"] = ctypes_open_get
        if np is not None:
            def memmap(raw=raw, n=n):
                m = np.memmap(raw, "int64", "r", shape=(n,))
                m[0]
                return lambda: None
            makers["numpy.memmap"] = memmap
        else:
            skip("py_attach_numpy.memmap_%s_us" % tag, "numpy not installed")
        if SA is not None:
            sap = os.path.join(dirpath, "att-%s-%s.sa" % (tag, UID))
            SA.create("file://" + sap, n, "int64")
            paths.append(sap)

            def sa(sap=sap):
                m = SA.attach("file://" + sap)
                m[0]
                return lambda: None
            makers["SharedArray"] = sa
        else:
            skip("py_attach_SharedArray_%s_us" % tag, SA_WHY)
        shm = None
        if size <= 64 << 20:
            shm = shared_memory.SharedMemory(create=True, size=size)

            def shma(name=shm.name):
                s = shared_memory.SharedMemory(name)
                s.buf[0]
                return s.close
            makers["shared_memory"] = shma
        else:
            skip("py_attach_shared_memory_%s_us" % tag, "not in the real /dev/shm at this size")
        skip("py_attach_mmap_backed_array_%s_us" % tag,
             "cannot attach: its mapping is unlinked at creation")
        times = {p: [] for p in makers}
        try:
            for _ in range(k):
                for p, f in makers.items():
                    t0 = time.perf_counter()
                    close = f()
                    t = time.perf_counter() - t0
                    close()
                    times[p].append(t)
        finally:
            if shm is not None:
                shm.close()
                shm.unlink()
            for p in paths:
                os.unlink(p)
        for p, ts in times.items():
            ts.sort()
            result("py_attach_%s_%s_us" % (p, tag), ts[len(ts) // 2] * 1e6, "us")


# ------------------------------------------------------------------ hand-off

def handoff(kind, n):
    """items/s from the producer's first item to the consumer's last"""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    name = "shm://bench-peers-ho-%s" % UID
    if kind == "mba":
        prod = mba.create(name, 0, "q", capacity=n)
    elif kind == "os.pipe":
        pr, pw = os.pipe()
    elif kind == "multiprocessing.Pipe":
        cr, cw = mp.Pipe(duplex=False)
    elif kind == "shared_memory":
        s = shared_memory.SharedMemory(create=True, size=8 * (n + 1))
        mv = s.buf.cast("q")
    pid = os.fork()
    if pid == 0:
        total = 0
        try:
            if kind == "mba":
                b = mba.attach(name)
                os.write(ready_w, b"R")
                i = 0
                idle = 0
                while i < n:
                    seq = b.seq
                    ln = len(b)
                    if ln == i:
                        idle += 1
                        if idle > 1000:
                            b.wait(seq, 0.05)
                            idle = 0
                        continue
                    idle = 0
                    for j in range(i, ln):
                        total += b[j]
                    i = ln
            elif kind == "os.pipe":
                os.close(pw)
                os.write(ready_w, b"R")
                buf = b""
                got = 0
                while got < n:
                    buf += os.read(pr, 65536)
                    k = len(buf) // 8
                    for v in array.array("q", buf[:k * 8]):
                        total += v
                    got += k
                    buf = buf[k * 8:]
            elif kind == "multiprocessing.Pipe":
                os.write(ready_w, b"R")
                for _ in range(n):
                    total += cr.recv()
            else:
                os.write(ready_w, b"R")
                i = 0
                while i < n:
                    c = mv[0]
                    while i < c:
                        total += mv[i + 1]
                        i += 1
            os.write(done_w, b"%d %d" % (time.monotonic_ns(), total))
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    time.sleep(0.02)
    t0 = time.monotonic_ns()
    if kind == "mba":
        ap = prod.append
        for i in range(n):
            ap(i)
    elif kind == "os.pipe":
        os.close(pr)
        for i in range(n):
            os.write(pw, i.to_bytes(8, "little"))
    elif kind == "multiprocessing.Pipe":
        for i in range(n):
            cw.send(i)
    else:
        for i in range(n):
            mv[i + 1] = i
            mv[0] = i + 1
    t1, total = map(int, os.read(done_r, 100).split())
    os.waitpid(pid, 0)
    assert total == n * (n - 1) // 2, (kind, total)
    if kind == "mba":
        prod.close()
        mba.delete(name)
    elif kind == "os.pipe":
        os.close(pw)
    elif kind == "shared_memory":
        mv.release()
        s.close()
        s.unlink()
    for fd in (ready_r, ready_w, done_r, done_w):
        os.close(fd)
    return n / ((t1 - t0) / 1e9)


def bench_handoff(n, repeat):
    kinds = ["mba", "os.pipe", "multiprocessing.Pipe", "shared_memory"]
    best = {}
    for _ in range(repeat):
        for k in kinds:
            best[k] = max(best.get(k, 0), handoff(k, n))
    for k, v in best.items():
        result("py_handoff_%s_items_per_s" % k, v, "items/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="a directory on disk for the file peers")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-size", default="1G")
    args = ap.parse_args()
    q = args.quick
    print("# mba %s (libmba %s), Python %s, numpy %s, mmap_backed_array %s, SharedArray %s"
          % (mba.__version__, mba.library_version, sys.version.split()[0],
             np.__version__ if np is not None else "-",
             "yes" if mbap else "no", "yes" if SA else "no"), flush=True)
    n = 3000 if q else 100000
    bench_append(args.dir, n, 2 if q else 5)
    bench_extend(args.dir, 30000 if q else 1000000, 2 if q else 5)
    bench_getset(args.dir, n, 2 if q else 5)
    top = {"1M": 1 << 20, "64M": 64 << 20, "1G": 1 << 30}[args.max_size]
    sizes = [s for s in ((1 << 20,) if q else (1 << 20, 64 << 20, 1 << 30)) if s <= top]
    bench_attach(args.dir, sizes, 5 if q else 60)
    bench_handoff(2000 if q else 100000, 1 if q else 2)


if __name__ == "__main__":
    main()

"""Baselines for the producer -> consumer hand-off figure of bench/run.sh.

Sends N integers one at a time from a producer process to a consumer
process and prints RESULT lines (items per second, from the first send to
the consumer's last receive):

  pipe_mp_items_per_s      multiprocessing.Pipe, conn.send(i) / conn.recv()
  pipe_os_items_per_s      os.pipe, 8-byte os.write / os.read per item
  handoff_ctypes_items_per_s  a Python producer calling mba_append_u64
                           through ctypes, consumed by the C consumer
                           (bench consume NAME N) through libmba

usage: python3 bench/py_pipe.py N LIBMBA_SO BENCH_BIN
"""
import ctypes
import multiprocessing as mp
import os
import struct
import subprocess
import sys
import time


def result(key, value, unit):
    print(f"RESULT {key} {value:.3f} {unit}", flush=True)


def mp_consumer(conn, n, done):
    total = 0
    for _ in range(n):
        total += conn.recv()
    done.send((time.monotonic_ns(), total))


def bench_mp_pipe(n):
    a, b = mp.Pipe(duplex=False)
    d_r, d_w = mp.Pipe(duplex=False)
    p = mp.Process(target=mp_consumer, args=(a, n, d_w))
    p.start()
    time.sleep(0.2)
    t0 = time.monotonic_ns()
    for i in range(n):
        b.send(i)
    t1, total = d_r.recv()
    p.join()
    assert total == n * (n - 1) // 2
    result("pipe_mp_items_per_s", n / ((t1 - t0) / 1e9), "items/s")


def bench_os_pipe(n):
    r, w = os.pipe()
    dr, dw = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        total = 0
        unpack = struct.Struct("<Q").unpack
        buf = b""
        got = 0
        while got < n:
            buf += os.read(r, 8 - len(buf))
            if len(buf) == 8:
                total += unpack(buf)[0]
                buf = b""
                got += 1
        os.write(dw, struct.pack("<QQ", time.monotonic_ns(), total))
        os._exit(0)
    os.close(r)
    pack = struct.Struct("<Q").pack
    time.sleep(0.1)
    t0 = time.monotonic_ns()
    for i in range(n):
        os.write(w, pack(i))
    t1, total = struct.unpack("<QQ", os.read(dr, 16))
    os.waitpid(pid, 0)
    assert total == n * (n - 1) // 2
    result("pipe_os_items_per_s", n / ((t1 - t0) / 1e9), "items/s")


def bench_ctypes(n, so, bench_bin):
    lib = ctypes.CDLL(so)
    name = f"shm://mba-bench-py-{os.getpid()}".encode()
    h = ctypes.c_int32()
    MBA_CREATE, MBA_EXCL, MBA_TYPE_U64 = 1, 2, 8
    rc = lib.mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, ctypes.byref(h))
    assert rc == 0, rc
    try:
        assert lib.mba_reserve(h, ctypes.c_uint64(n)) == 0
        c = subprocess.Popen([bench_bin, "consume", name.decode(), str(n)],
                             stdout=subprocess.PIPE, text=True)
        assert c.stdout.readline().strip() == "ready"
        append = lib.mba_append_u64
        append.argtypes = [ctypes.c_int32, ctypes.c_uint64]
        append.restype = ctypes.c_int
        hv = h.value
        t0 = time.monotonic_ns()
        for i in range(n):
            append(hv, i)
        out = c.stdout.readline().split()
        c.wait(timeout=60)
        assert out[0] == "done" and int(out[1]) == n * (n - 1) // 2, out
        result("handoff_ctypes_items_per_s", n / ((int(out[2]) - t0) / 1e9), "items/s")
    finally:
        lib.mba_close(h)
        lib.mba_unlink(name)


if __name__ == "__main__":
    n = int(sys.argv[1])
    bench_mp_pipe(n)
    bench_os_pipe(n)
    if len(sys.argv) > 3:
        bench_ctypes(n, sys.argv[2], sys.argv[3])

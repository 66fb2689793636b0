"""Header mutation test (issue 14): a valid header made by libmba, every
field corrupted in turn (with and without the CRC recomputed), cut-short
files and seeded random bit flips. Each file is opened read-only and
read-write through the C ABI in a forked child; the codes must equal
refreader.predict, the file must be unchanged, and no child may die of a
signal. Usage: MBA_LIBRARY=.../libmba.so python3 mutate.py [flips] [seed]"""
import ctypes
import os
import random
import struct
import sys
import tempfile
import zlib

from refreader import predict

MBA_CREATE, MBA_RDONLY, MBA_TYPE_F32 = 1, 4, 9
FIELDS = [(8, 2), (10, 2), (12, 4), (16, 8), (24, 8), (32, 8), (40, 4), (44, 1), (45, 1),
          (46, 2), (48, 8), (56, 8), (64, 8), (72, 8)] + [(80 + 8 * i, 8) for i in range(8)] + [
          (144, 8), (152, 8), (188, 4), (256, 8), (264, 8), (272, 8), (320, 4), (324, 4),
          (384, 8), (392, 4)]


def recrc(b):
    struct.pack_into("<I", b, 188, zlib.crc32(bytes(b[:188])))


def main():
    lib = ctypes.CDLL(os.environ["MBA_LIBRARY"])
    flips = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 14)
    d = tempfile.mkdtemp()
    base = os.path.join(d, "base.mba")
    h = ctypes.c_int32()
    assert lib.mba_open(base.encode(), MBA_CREATE, MBA_TYPE_F32, ctypes.byref(h)) == 0
    for i in range(5):
        v = ctypes.c_float(i)
        assert lib.mba_append(h, ctypes.byref(v)) == 0
    lib.mba_close(h)
    good = open(base, "rb").read()
    cases = []
    for off, n in FIELDS:
        orig = int.from_bytes(good[off:off + n], "little")
        top = (1 << (8 * n)) - 1
        for v in {0, top, (orig + 1) & top, (orig - 1) & top, rng.randrange(top + 1), rng.randrange(256)}:
            for fix in (False, True):
                b = bytearray(good)
                b[off:off + n] = v.to_bytes(n, "little")
                if fix:
                    recrc(b)
                cases.append(("field@%d=%#x crc=%s" % (off, v, fix), bytes(b)))
    for cut in (0, 1, 5, 8, 9, 16, 511, 512, 4096, 65535, 65536, 65540, len(good) - 1):
        cases.append(("cut %d" % cut, good[:cut]))
    cases.append(("NOTMB", b"NOTMB"))
    nflips = 0
    for i in range(flips):
        b = bytearray(good)
        k = rng.randrange(512 * 8)
        b[k // 8] ^= 1 << (k % 8)
        cases.append(("flip bit %d" % k, bytes(b)))
        nflips += 1
    for i in range(flips // 2):
        b = bytearray(good)
        k = rng.randrange(188 * 8)
        b[k // 8] ^= 1 << (k % 8)
        recrc(b)
        cases.append(("flip bit %d + crc" % k, bytes(b)))
        nflips += 1
    path = os.path.join(d, "case.mba")
    failed = 0
    for name, data in cases:
        with open(path, "wb") as f:
            f.write(data)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            out = []
            for flags in (MBA_RDONLY, 0):
                h = ctypes.c_int32()
                rc = lib.mba_open(path.encode(), flags, 0, ctypes.byref(h))
                if rc == 0:
                    nn = ctypes.c_uint64()
                    lib.mba_len(h, ctypes.byref(nn))
                    n = nn.value
                    buf = ctypes.c_float()
                    for i in range(max(0, min(n, 1000))):
                        lib.mba_get(h, ctypes.c_uint64(i), ctypes.byref(buf))
                    lib.mba_close(h)
                out.append(rc)
            os.write(w, struct.pack("<ii", *out))
            os._exit(0)
        os.close(w)
        got = os.read(r, 8)
        os.close(r)
        _, st = os.waitpid(pid, 0)
        want = (predict(data), predict(data, read_write=True))
        msg = None
        if os.WIFSIGNALED(st):
            msg = "signal %d" % os.WTERMSIG(st)
        elif len(got) != 8 or struct.unpack("<ii", got) != want:
            msg = "got %r want %r" % (struct.unpack("<ii", got) if len(got) == 8 else got, want)
        elif open(path, "rb").read() != data:
            msg = "file changed"
        if msg:
            failed += 1
            print("FAIL %s: %s" % (name, msg))
    print("%d cases (%d bit flips)" % (len(cases), nflips))
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes the committed seed corpora fuzz/corpus/<target>/ (run once; the
files are committed). Valid arrays come from libmba itself through the C ABI.
Usage: MBA_LIBRARY=.../libmba.so python3 fuzz/make_seeds.py"""
import ctypes
import os
import random
import struct
import tempfile

MBA_CREATE, MBA_TYPE_F32, MBA_TYPE_U8 = 1, 9, 2
here = os.path.dirname(os.path.abspath(__file__))
lib = ctypes.CDLL(os.environ["MBA_LIBRARY"])


def made(typ, values):
    d = tempfile.mkdtemp()
    p = os.path.join(d, "a.mba")
    h = ctypes.c_int32()
    assert lib.mba_open(p.encode(), MBA_CREATE, typ, ctypes.byref(h)) == 0
    for v in values:
        c = ctypes.c_float(v) if typ == MBA_TYPE_F32 else ctypes.c_uint8(v)
        assert lib.mba_append(h, ctypes.byref(c)) == 0
    lib.mba_close(h)
    data = open(p, "rb").read()
    os.unlink(p)
    os.rmdir(d)
    return data


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


f32 = made(MBA_TYPE_F32, range(5))
u8 = made(MBA_TYPE_U8, range(3))
# data_offset (u64 at 64) and len (u64 at 256) of the f32 array
off = struct.unpack_from("<Q", f32, 64)[0]

for name, data in [("valid_f32", f32[:512]), ("valid_u8", u8[:512]), ("cut5", f32[:5]),
                   ("notmba", b"NOTMBA"), ("zeros", bytes(300))]:
    put("header", name, data)
# open_bytes input: flags (bit 0 fix CRC, bit 1 set size, bit 2 no append),
# u32 size, then the file's bytes.
def ob(flags, size, body):
    return bytes([flags]) + struct.pack("<I", size) + body
put("open_bytes", "header_sized", ob(2, off + 5 * 4, f32[:512]))
put("open_bytes", "header_sized_u8", ob(2, off + 64, u8[:512]))
put("open_bytes", "header_short", ob(3, off - 1, f32[:512]))
put("open_bytes", "cut5", ob(0, 0, f32[:5]))
rng = random.Random(14)
for i in range(4):
    put("ops", "random%d" % i, bytes(rng.randrange(256) for _ in range(64 + 64 * i)))

"""An independent reader of an mba header, written from docs/FORMAT.md
("Validation a reader MUST do", steps 1-21) alone: predict(data) returns the
MBA_E_* code (0 = opens) for a file's whole content. Standard library only."""
import struct
import sys
import zlib

OK, NOTMBA, TRUNCATED, CORRUPT, VERSION, FEATURE, BYTEORDER, OVERFLOW = 0, -5, -6, -7, -8, -9, -10, -11
MAGIC = b"\x89MBA\r\n\x1a\n"
SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 9: 4, 10: 8, 11: 1, 12: 8, 13: 16, 14: 2, 15: None}
HOST_ORDER = 1 if sys.byteorder == "little" else 2


def predict(data, read_write=False):
    b = data[:512]
    m = min(len(b), 8)
    if b[:m] != MAGIC[:m]:
        return NOTMBA
    if len(b) < 512:
        return TRUNCATED
    u16 = lambda o: struct.unpack_from("<H", b, o)[0]
    u32 = lambda o: struct.unpack_from("<I", b, o)[0]
    u64 = lambda o: struct.unpack_from("<Q", b, o)[0]
    if u16(8) != 1:
        return VERSION
    hs = u32(12)
    if hs < 512 or hs > 1 << 20:
        return CORRUPT
    if zlib.crc32(b[:188]) != u32(188):
        return CORRUPT
    if u64(32) != 0:
        return FEATURE
    if b[44] != HOST_ORDER:
        return BYTEORDER if b[44] in (1, 2) else CORRUPT
    t = u32(40)
    if t not in SIZES:
        return CORRUPT
    ndim = b[45]
    if ndim > 8:
        return CORRUPT
    if any(u64(80 + 8 * i) for i in range(ndim, 8)):
        return CORRUPT
    item = u64(48)
    if SIZES[t] is not None:
        if item != SIZES[t]:
            return CORRUPT
    elif item == 0:
        return CORRUPT
    elif item > 1 << 20:
        return OVERFLOW
    rb = item
    for i in range(ndim):
        d = u64(80 + 8 * i)
        if d == 0:
            return CORRUPT
        rb *= d
        if rb > 1 << 30:
            return OVERFLOW
    if u64(56) != rb:
        return CORRUPT
    off = u64(64)
    if off < hs or off % 4096 or off > 1 << 20:
        return CORRUPT
    max_len = u64(72)
    if max_len == 0 or max_len > (1 << 46) // rb:
        return CORRUPT
    if read_write and u64(24) != 0:
        return FEATURE
    if len(data) < off:
        return TRUNCATED
    length, cap = u64(256), u64(264)
    if cap > max_len:
        return CORRUPT
    if off + cap * rb > len(data):
        return TRUNCATED
    if length > cap:
        return CORRUPT
    return OK

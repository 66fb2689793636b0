//! The on-disk header of a memory-backed array, format v1 (see `docs/FORMAT.md`).
//!
//! This module only turns bytes into a validated [`Header`] and back; it does
//! no I/O and knows nothing of mappings. Every integer is little-endian and
//! fixed-width. The mutable words (length, capacity, lock, change counter) are
//! only *located* here; they are read and written atomically by `array.rs`.

use crate::error::{Code, Error, Result};

/// The eight magic bytes that open every array ("\x89MBA\r\n\x1a\n").
pub const MAGIC: [u8; 8] = *b"\x89MBA\r\n\x1a\n";
/// Major version this library reads and writes.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version this library writes.
pub const VERSION_MINOR: u16 = 0;
/// Bytes of the header structure defined by v1.0.
pub const HEADER_SIZE: u32 = 512;
/// Offset of the elements in files this library creates: 64 KiB, so that the
/// data is page-aligned on 4, 16 and 64 KiB page kernels alike.
pub const DATA_OFFSET: u64 = 65536;
/// Most trailing (row) dimensions a header can hold.
pub const MAX_ROW_DIMS: usize = 8;
/// Largest item size accepted (1 MiB per element).
pub const MAX_ITEM_SIZE: u64 = 1 << 20;
/// Largest row size accepted (1 GiB per row).
pub const MAX_ROW_BYTES: u64 = 1 << 30;
/// Largest reservation (`max_len * row_bytes`) accepted: 2^46 bytes (64 TiB).
pub const MAX_RESERVE_BYTES: u64 = 1 << 46;
/// Default reservation for new arrays: 2^36 bytes (64 GiB) of address space.
pub const DEFAULT_RESERVE_BYTES: u64 = 1 << 36;
/// Base offset of the per-handle owner-liveness byte locks (past any real data).
pub const LOCK_BASE: i64 = 1 << 62;

/// Element byte order values.
pub const ORDER_LITTLE: u8 = 1;
/// Big-endian element data.
pub const ORDER_BIG: u8 = 2;

// Field offsets (bytes from the start of the file). Kept in one place so that
// the static assertions below, FORMAT.md and the fixture test agree.
pub const OFF_MAGIC: usize = 0;
pub const OFF_MAJOR: usize = 8;
pub const OFF_MINOR: usize = 10;
pub const OFF_HEADER_SIZE: usize = 12;
pub const OFF_COMPAT: usize = 16;
pub const OFF_RO_COMPAT: usize = 24;
pub const OFF_INCOMPAT: usize = 32;
pub const OFF_TYPE: usize = 40;
pub const OFF_ORDER: usize = 44;
pub const OFF_NDIM: usize = 45;
pub const OFF_RESERVED0: usize = 46;
pub const OFF_ITEM_SIZE: usize = 48;
pub const OFF_ROW_BYTES: usize = 56;
pub const OFF_DATA_OFFSET: usize = 64;
pub const OFF_MAX_LEN: usize = 72;
pub const OFF_SHAPE: usize = 80;
pub const OFF_UUID: usize = 144;
pub const OFF_CREATED_NS: usize = 152;
pub const OFF_CRC: usize = 188;
/// End of the immutable part covered by the checksum.
pub const CRC_END: usize = 188;
pub const OFF_LEN: usize = 256;
pub const OFF_CAPACITY: usize = 264;
pub const OFF_DURABLE_LEN: usize = 272;
pub const OFF_LOCK: usize = 320;
pub const OFF_NEXT_TOKEN: usize = 324;
pub const OFF_SEQ: usize = 384;
pub const OFF_WAITERS: usize = 392;

const _: () = {
    assert!(OFF_SHAPE + 8 * MAX_ROW_DIMS == OFF_UUID);
    assert!(OFF_CRC + 4 == 192);
    assert!(OFF_LEN % 64 == 0 && OFF_LOCK % 64 == 0 && OFF_SEQ % 64 == 0);
    assert!(OFF_CAPACITY % 8 == 0 && OFF_NEXT_TOKEN % 4 == 0 && OFF_WAITERS % 4 == 0);
    assert!(OFF_WAITERS + 4 <= HEADER_SIZE as usize);
    assert!(DATA_OFFSET >= HEADER_SIZE as u64 && DATA_OFFSET % 65536 == 0);
};

/// Feature bits a v1.0 library knows. All are zero in files it writes.
pub const KNOWN_COMPAT: u64 = 0;
/// Read-only-compatible features this library knows.
pub const KNOWN_RO_COMPAT: u64 = 0;
/// Incompatible features this library knows.
pub const KNOWN_INCOMPAT: u64 = 0;

/// Element types: fixed codes independent of any language.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    I8 = 1,
    U8 = 2,
    I16 = 3,
    U16 = 4,
    I32 = 5,
    U32 = 6,
    I64 = 7,
    U64 = 8,
    F32 = 9,
    F64 = 10,
    Bool = 11,
    Complex64 = 12,
    Complex128 = 13,
    F16 = 14,
    /// Opaque fixed-size record (a C struct); its size is the header's item size.
    Record = 15,
}

impl ElemType {
    /// All types, in code order.
    pub const ALL: [ElemType; 15] = [
        ElemType::I8,
        ElemType::U8,
        ElemType::I16,
        ElemType::U16,
        ElemType::I32,
        ElemType::U32,
        ElemType::I64,
        ElemType::U64,
        ElemType::F32,
        ElemType::F64,
        ElemType::Bool,
        ElemType::Complex64,
        ElemType::Complex128,
        ElemType::F16,
        ElemType::Record,
    ];

    /// The type with this code, if any.
    pub fn from_code(code: u32) -> Option<ElemType> {
        ElemType::ALL.iter().copied().find(|t| *t as u32 == code)
    }

    /// Item size of a fixed-size type; `None` for `Record`.
    pub fn fixed_size(self) -> Option<u64> {
        Some(match self {
            ElemType::I8 | ElemType::U8 | ElemType::Bool => 1,
            ElemType::I16 | ElemType::U16 | ElemType::F16 => 2,
            ElemType::I32 | ElemType::U32 | ElemType::F32 => 4,
            ElemType::I64 | ElemType::U64 | ElemType::F64 | ElemType::Complex64 => 8,
            ElemType::Complex128 => 16,
            ElemType::Record => return None,
        })
    }

    /// Short lowercase name ("u32", "record", ...).
    pub fn name(self) -> &'static str {
        match self {
            ElemType::I8 => "i8",
            ElemType::U8 => "u8",
            ElemType::I16 => "i16",
            ElemType::U16 => "u16",
            ElemType::I32 => "i32",
            ElemType::U32 => "u32",
            ElemType::I64 => "i64",
            ElemType::U64 => "u64",
            ElemType::F32 => "f32",
            ElemType::F64 => "f64",
            ElemType::Bool => "bool",
            ElemType::Complex64 => "complex64",
            ElemType::Complex128 => "complex128",
            ElemType::F16 => "f16",
            ElemType::Record => "record",
        }
    }

    /// True for the integer types (not bool).
    pub fn is_integer(self) -> bool {
        (self as u32) <= ElemType::U64 as u32
    }
}

/// Shape and type of one array: what the caller chooses at creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub elem: ElemType,
    /// Bytes of one element (one scalar, or one record).
    pub item_size: u64,
    /// Trailing dimensions of one row (empty for a flat array).
    pub row_shape: Vec<u64>,
}

impl Layout {
    /// A flat array of a fixed-size type.
    pub fn scalar(elem: ElemType) -> Result<Layout> {
        Layout::new(elem, 0, &[])
    }

    /// Validates a type, an item size (0 = the type's own) and a row shape.
    pub fn new(elem: ElemType, item_size: u64, row_shape: &[u64]) -> Result<Layout> {
        let item_size = match (elem.fixed_size(), item_size) {
            (Some(s), 0) => s,
            (Some(s), n) if n == s => s,
            (Some(s), n) => {
                return Err(Error::new(
                    Code::Arg,
                    format!(
                        "item size {n} does not match type {} (size {s})",
                        elem.name()
                    ),
                ))
            }
            (None, 0) => return Err(Error::new(Code::Arg, "a record type needs an item size")),
            (None, n) => n,
        };
        if item_size > MAX_ITEM_SIZE {
            return Err(Error::new(
                Code::Overflow,
                format!("item size {item_size} exceeds the limit {MAX_ITEM_SIZE}"),
            ));
        }
        if row_shape.len() > MAX_ROW_DIMS {
            return Err(Error::new(
                Code::Arg,
                format!(
                    "row shape has {} dimensions; the format allows {MAX_ROW_DIMS}",
                    row_shape.len()
                ),
            ));
        }
        let l = Layout {
            elem,
            item_size,
            row_shape: row_shape.to_vec(),
        };
        l.row_bytes_checked()?;
        Ok(l)
    }

    /// Elements per row (1 for a flat array).
    pub fn row_items(&self) -> u64 {
        self.row_shape.iter().product()
    }

    fn row_bytes_checked(&self) -> Result<u64> {
        let mut n = self.item_size;
        for &d in &self.row_shape {
            if d == 0 {
                return Err(Error::new(Code::Arg, "row dimensions must be at least 1"));
            }
            n = n
                .checked_mul(d)
                .filter(|&n| n <= MAX_ROW_BYTES)
                .ok_or_else(|| {
                    Error::new(
                        Code::Overflow,
                        format!("row size exceeds the limit {MAX_ROW_BYTES}"),
                    )
                })?;
        }
        Ok(n)
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> u64 {
        self.item_size * self.row_items()
    }
}

/// The immutable part of a header, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub minor: u16,
    pub compat: u64,
    pub ro_compat: u64,
    pub incompat: u64,
    pub layout: Layout,
    pub row_bytes: u64,
    pub data_offset: u64,
    /// Largest capacity, in rows, this array may ever reach (its reservation).
    pub max_len: u64,
    pub uuid: u64,
    pub created_ns: u64,
}

fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn rd_u64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn wr_u16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn wr_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr_u64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

/// CRC-32 (IEEE 802.3, the one of zlib, `zlib.crc32` in Python, `hash/crc32`
/// in Go) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    static TABLE: [u32; 256] = table();
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// What the header says about writing, for a library that knows v1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writability {
    /// All features known: may read and write.
    ReadWrite,
    /// An unknown read-only-compatible feature: may read, must not write.
    ReadOnly,
}

impl Header {
    /// A fresh header for a new array.
    pub fn new(layout: Layout, max_len: u64, uuid: u64, created_ns: u64) -> Header {
        let row_bytes = layout.row_bytes();
        Header {
            minor: VERSION_MINOR,
            compat: 0,
            ro_compat: 0,
            incompat: 0,
            layout,
            row_bytes,
            data_offset: DATA_OFFSET,
            max_len,
            uuid,
            created_ns,
        }
    }

    /// The largest `max_len` allowed for this row size.
    pub fn max_len_limit(row_bytes: u64) -> u64 {
        MAX_RESERVE_BYTES / row_bytes.max(1)
    }

    /// Serialises the immutable part plus zeroed mutable words into the
    /// first `HEADER_SIZE` bytes.
    pub fn encode(&self) -> [u8; HEADER_SIZE as usize] {
        let mut b = [0u8; HEADER_SIZE as usize];
        b[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        wr_u16(&mut b, OFF_MAJOR, VERSION_MAJOR);
        wr_u16(&mut b, OFF_MINOR, self.minor);
        wr_u32(&mut b, OFF_HEADER_SIZE, HEADER_SIZE);
        wr_u64(&mut b, OFF_COMPAT, self.compat);
        wr_u64(&mut b, OFF_RO_COMPAT, self.ro_compat);
        wr_u64(&mut b, OFF_INCOMPAT, self.incompat);
        wr_u32(&mut b, OFF_TYPE, self.layout.elem as u32);
        b[OFF_ORDER] = native_order();
        b[OFF_NDIM] = self.layout.row_shape.len() as u8;
        wr_u64(&mut b, OFF_ITEM_SIZE, self.layout.item_size);
        wr_u64(&mut b, OFF_ROW_BYTES, self.row_bytes);
        wr_u64(&mut b, OFF_DATA_OFFSET, self.data_offset);
        wr_u64(&mut b, OFF_MAX_LEN, self.max_len);
        for (i, d) in self.layout.row_shape.iter().enumerate() {
            wr_u64(&mut b, OFF_SHAPE + 8 * i, *d);
        }
        wr_u64(&mut b, OFF_UUID, self.uuid);
        wr_u64(&mut b, OFF_CREATED_NS, self.created_ns);
        let crc = crc32(&b[..CRC_END]);
        wr_u32(&mut b, OFF_CRC, crc);
        b
    }

    /// Parses and validates the immutable part of the file's first bytes
    /// (`bytes` may be shorter than a header: the file's whole content when
    /// it is). The checks run in exactly the order of docs/FORMAT.md,
    /// "Validation a reader MUST do", steps 1-14; the first failing one
    /// decides the error code.
    pub fn decode(bytes: &[u8]) -> Result<(Header, Writability)> {
        // 1. A prefix of the magic (an empty file included) is a truncated
        //    array, anything else is not an array.
        let m = bytes.len().min(MAGIC.len());
        if bytes[..m] != MAGIC[..m] {
            return Err(Error::new(Code::NotMba, "not an mba array (bad magic)"));
        }
        // 2. The whole 512-byte header must be there.
        if bytes.len() < HEADER_SIZE as usize {
            return Err(Error::new(
                Code::Truncated,
                format!(
                    "file of {} bytes is shorter than an mba header",
                    bytes.len()
                ),
            ));
        }
        let major = rd_u16(bytes, OFF_MAJOR);
        if major != VERSION_MAJOR {
            return Err(Error::new(
                Code::Version,
                format!("format major version {major} is not supported (this library reads {VERSION_MAJOR})"),
            ));
        }
        let header_size = rd_u32(bytes, OFF_HEADER_SIZE);
        if header_size < HEADER_SIZE || header_size as u64 > DATA_OFFSET_MAX {
            return Err(Error::new(
                Code::Corrupt,
                format!("header size {header_size} is invalid"),
            ));
        }
        let crc = crc32(&bytes[..CRC_END]);
        if crc != rd_u32(bytes, OFF_CRC) {
            return Err(Error::new(
                Code::Corrupt,
                "header checksum mismatch (damaged header)",
            ));
        }
        let incompat = rd_u64(bytes, OFF_INCOMPAT);
        if incompat & !KNOWN_INCOMPAT != 0 {
            return Err(Error::new(
                Code::Feature,
                format!(
                    "unknown incompatible features {:#x}: a newer library wrote this array",
                    incompat & !KNOWN_INCOMPAT
                ),
            ));
        }
        let ro_compat = rd_u64(bytes, OFF_RO_COMPAT);
        let writability = if ro_compat & !KNOWN_RO_COMPAT != 0 {
            Writability::ReadOnly
        } else {
            Writability::ReadWrite
        };
        match bytes[OFF_ORDER] {
            o if o == native_order() => {}
            ORDER_LITTLE | ORDER_BIG => {
                return Err(Error::new(
                    Code::ByteOrder,
                    "the elements are stored in the other byte order than this host's",
                ))
            }
            o => {
                return Err(Error::new(
                    Code::Corrupt,
                    format!("byte order value {o} is invalid"),
                ))
            }
        }
        let code = rd_u32(bytes, OFF_TYPE);
        let elem = ElemType::from_code(code).ok_or_else(|| {
            Error::new(Code::Corrupt, format!("unknown element type code {code}"))
        })?;
        let ndim = bytes[OFF_NDIM] as usize;
        if ndim > MAX_ROW_DIMS {
            return Err(Error::new(
                Code::Corrupt,
                format!("row shape has {ndim} dimensions"),
            ));
        }
        if (ndim..MAX_ROW_DIMS).any(|i| rd_u64(bytes, OFF_SHAPE + 8 * i) != 0) {
            return Err(Error::new(
                Code::Corrupt,
                format!("a shape slot past ndim {ndim} is not zero"),
            ));
        }
        let shape: Vec<u64> = (0..ndim)
            .map(|i| rd_u64(bytes, OFF_SHAPE + 8 * i))
            .collect();
        let item_size = rd_u64(bytes, OFF_ITEM_SIZE);
        if item_size == 0 {
            // Layout::new reads 0 as "the type's own size"; a header must
            // say it.
            return Err(Error::new(Code::Corrupt, "item size 0"));
        }
        let layout = Layout::new(elem, item_size, &shape).map_err(|e| {
            Error::new(
                if e.code == Code::Overflow {
                    Code::Overflow
                } else {
                    Code::Corrupt
                },
                e.message,
            )
        })?;
        let row_bytes = rd_u64(bytes, OFF_ROW_BYTES);
        if row_bytes != layout.row_bytes() {
            return Err(Error::new(
                Code::Corrupt,
                "row size does not match item size and shape",
            ));
        }
        let data_offset = rd_u64(bytes, OFF_DATA_OFFSET);
        if data_offset < header_size as u64
            || data_offset % 4096 != 0
            || data_offset > DATA_OFFSET_MAX
        {
            return Err(Error::new(
                Code::Corrupt,
                format!("data offset {data_offset} is invalid"),
            ));
        }
        let max_len = rd_u64(bytes, OFF_MAX_LEN);
        if max_len == 0 || max_len > Header::max_len_limit(row_bytes) {
            return Err(Error::new(
                Code::Corrupt,
                format!("maximum length {max_len} is invalid"),
            ));
        }
        Ok((
            Header {
                minor: rd_u16(bytes, OFF_MINOR),
                compat: rd_u64(bytes, OFF_COMPAT),
                ro_compat,
                incompat,
                layout,
                row_bytes,
                data_offset,
                max_len,
                uuid: rd_u64(bytes, OFF_UUID),
                created_ns: rd_u64(bytes, OFF_CREATED_NS),
            },
            writability,
        ))
    }
}

/// Largest data offset a reader accepts (1 MiB).
pub const DATA_OFFSET_MAX: u64 = 1 << 20;

/// The byte order value of this host.
pub fn native_order() -> u8 {
    if cfg!(target_endian = "little") {
        ORDER_LITTLE
    } else {
        ORDER_BIG
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header::new(
            Layout::new(ElemType::F32, 0, &[3, 4]).unwrap(),
            1000,
            0x1122,
            7,
        )
    }

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn roundtrip() {
        let h = sample();
        let (d, w) = Header::decode(&h.encode()).unwrap();
        assert_eq!(d, h);
        assert_eq!(w, Writability::ReadWrite);
        assert_eq!(d.row_bytes, 48);
    }

    #[test]
    fn each_violation_has_its_code() {
        let good = sample().encode();
        let with = |f: &dyn Fn(&mut [u8])| {
            let mut b = good;
            f(&mut b);
            Header::decode(&b).unwrap_err().code
        };
        let recrc = |b: &mut [u8]| {
            let c = crc32(&b[..CRC_END]);
            wr_u32(b, OFF_CRC, c);
        };
        assert_eq!(with(&|b| b[0] = b'X'), Code::NotMba);
        assert_eq!(with(&|b| wr_u16(b, OFF_MAJOR, 2)), Code::Version);
        assert_eq!(with(&|b| b[100] ^= 1), Code::Corrupt);
        assert_eq!(
            with(&|b| {
                b[OFF_ORDER] = 3 - native_order();
                recrc(b)
            }),
            Code::ByteOrder
        );
        assert_eq!(
            with(&|b| {
                wr_u64(b, OFF_INCOMPAT, 1 << 40);
                recrc(b)
            }),
            Code::Feature
        );
        assert_eq!(
            with(&|b| {
                wr_u32(b, OFF_TYPE, 99);
                recrc(b)
            }),
            Code::Corrupt
        );
        assert_eq!(
            with(&|b| {
                wr_u64(b, OFF_SHAPE, 1 << 40);
                recrc(b)
            }),
            Code::Overflow
        );
        assert_eq!(
            with(&|b| {
                wr_u64(b, OFF_ROW_BYTES, 4);
                recrc(b)
            }),
            Code::Corrupt
        );
        assert_eq!(
            with(&|b| {
                wr_u64(b, OFF_DATA_OFFSET, 100);
                recrc(b)
            }),
            Code::Corrupt
        );
        assert_eq!(
            with(&|b| {
                wr_u64(b, OFF_MAX_LEN, u64::MAX);
                recrc(b)
            }),
            Code::Corrupt
        );
        assert_eq!(
            Header::decode(&good[..100]).unwrap_err().code,
            Code::Truncated
        );
        let mut b = good;
        wr_u64(&mut b, OFF_RO_COMPAT, 1 << 3);
        recrc(&mut b);
        assert_eq!(Header::decode(&b).unwrap().1, Writability::ReadOnly);
        let mut b = good;
        wr_u64(&mut b, OFF_COMPAT, 1 << 3);
        recrc(&mut b);
        assert_eq!(Header::decode(&b).unwrap().1, Writability::ReadWrite);
    }

    /// The cases FORMAT.md's validation list settles (issue 14, scenario 11).
    #[test]
    fn open_questions_have_one_verdict() {
        let good = sample().encode();
        let code = |b: &[u8]| Header::decode(b).unwrap_err().code;
        let recrc = |b: &mut [u8]| {
            let c = crc32(&b[..CRC_END]);
            wr_u32(b, OFF_CRC, c);
        };
        assert_eq!(code(&[]), Code::Truncated);
        assert_eq!(code(&good[..5]), Code::Truncated);
        assert_eq!(code(b"NOTMB"), Code::NotMba);
        assert_eq!(code(&good[..511]), Code::Truncated);
        let mut short = good[..16].to_vec();
        wr_u16(&mut short, OFF_MAJOR, 2);
        assert_eq!(code(&short), Code::Truncated);
        let with = |f: &dyn Fn(&mut [u8])| {
            let mut b = good;
            f(&mut b);
            recrc(&mut b);
            Header::decode(&b).map(|_| ()).map_err(|e| e.code)
        };
        // sample() has ndim 2: slot 2 and slot 7 lie past it.
        assert_eq!(with(&|b| wr_u64(b, OFF_SHAPE + 16, 1)), Err(Code::Corrupt));
        assert_eq!(with(&|b| wr_u64(b, OFF_SHAPE + 56, 5)), Err(Code::Corrupt));
        assert_eq!(with(&|b| wr_u64(b, OFF_MAX_LEN, 0)), Err(Code::Corrupt));
        let limit = Header::max_len_limit(48);
        assert_eq!(with(&|b| wr_u64(b, OFF_MAX_LEN, limit)), Ok(()));
        assert_eq!(
            with(&|b| wr_u64(b, OFF_MAX_LEN, limit + 1)),
            Err(Code::Corrupt)
        );
        assert_eq!(
            with(&|b| wr_u64(b, OFF_MAX_LEN, u64::MAX)),
            Err(Code::Corrupt)
        );
        let record = |item: u64| {
            with(&|b| {
                wr_u32(b, OFF_TYPE, ElemType::Record as u32);
                b[OFF_NDIM] = 0;
                wr_u64(b, OFF_SHAPE, 0);
                wr_u64(b, OFF_SHAPE + 8, 0);
                wr_u64(b, OFF_ITEM_SIZE, item);
                wr_u64(b, OFF_ROW_BYTES, item);
                wr_u64(b, OFF_MAX_LEN, 1);
            })
        };
        assert_eq!(record(MAX_ITEM_SIZE), Ok(()));
        assert_eq!(record(MAX_ITEM_SIZE + 1), Err(Code::Overflow));
        assert_eq!(record(0), Err(Code::Corrupt));
        assert_eq!(with(&|b| wr_u64(b, OFF_ITEM_SIZE, 0)), Err(Code::Corrupt));
        assert_eq!(with(&|b| wr_u64(b, OFF_ITEM_SIZE, 8)), Err(Code::Corrupt));
    }

    #[test]
    fn item_size_overflow() {
        assert_eq!(
            Layout::new(ElemType::Record, MAX_ITEM_SIZE + 1, &[])
                .unwrap_err()
                .code,
            Code::Overflow
        );
        assert_eq!(
            Layout::new(ElemType::U8, 0, &[1 << 20, 1 << 20])
                .unwrap_err()
                .code,
            Code::Overflow
        );
        assert_eq!(
            Layout::new(ElemType::U32, 8, &[]).unwrap_err().code,
            Code::Arg
        );
    }
}

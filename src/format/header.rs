//! The immutable part of the header: encoding, decoding in the order
//! FORMAT.md lists its checks, and the CRC.

use super::*;

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

pub(super) fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
pub(super) fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
pub(super) fn rd_u64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
pub(super) fn wr_u16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
pub(super) fn wr_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
pub(super) fn wr_u64(b: &mut [u8], o: usize, v: u64) {
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
            compat: COMPAT_LOCK_SLEEP,
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

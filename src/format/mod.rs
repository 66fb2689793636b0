//! The on-disk header of a memory-backed array, format v1 (see `docs/FORMAT.md`).
//!
//! This module only turns bytes into a validated [`Header`] and back; it does
//! no I/O and knows nothing of mappings. Every integer is little-endian and
//! fixed-width. The mutable words (length, capacity, lock, change counter) are
//! only *located* here; they are read and written atomically by `array/`.
//!
//! The files: `mod.rs` the constants and field offsets; `types.rs` the
//! element types and the row layout; `header.rs` the header's encoding,
//! decoding (the ordered checks of FORMAT.md) and its CRC.

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
/// 1 when a writer may be sleeping for the lock; its futex word
/// (`COMPAT_LOCK_SLEEP`).
pub const OFF_LOCK_SLEEPERS: usize = 328;
pub const OFF_SEQ: usize = 384;
pub const OFF_WAITERS: usize = 392;

const _: () = {
    assert!(OFF_SHAPE + 8 * MAX_ROW_DIMS == OFF_UUID);
    assert!(OFF_CRC + 4 == 192);
    assert!(OFF_LEN % 64 == 0 && OFF_LOCK % 64 == 0 && OFF_SEQ % 64 == 0);
    assert!(OFF_CAPACITY % 8 == 0 && OFF_NEXT_TOKEN % 4 == 0 && OFF_WAITERS % 4 == 0);
    assert!(OFF_LOCK_SLEEPERS / 64 == OFF_LOCK / 64 && OFF_LOCK_SLEEPERS % 4 == 0);
    assert!(OFF_WAITERS + 4 <= HEADER_SIZE as usize);
    assert!(DATA_OFFSET >= HEADER_SIZE as u64 && DATA_OFFSET % 65536 == 0);
};

/// Compatible feature: writers may sleep for the lock, flagged in (and on
/// the futex of) `lock_sleepers` (offset 328), and a release wakes one of them
/// (FORMAT.md §4.4). Set at creation; writers of this library use the
/// protocol on every array (its sleeps are bounded, so a writer that
/// ignores it, an older library's, still interoperates).
pub const COMPAT_LOCK_SLEEP: u64 = 1;
/// Compatible features this library knows (and sets in files it creates).
pub const KNOWN_COMPAT: u64 = COMPAT_LOCK_SLEEP;
/// Read-only-compatible features this library knows.
pub const KNOWN_RO_COMPAT: u64 = 0;
/// Incompatible features this library knows.
pub const KNOWN_INCOMPAT: u64 = 0;

mod header;
#[cfg(test)]
mod tests;
mod types;

pub use header::*;
pub use types::*;

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

//! [`Array`]: a typed, growable array in a mapped file, shared-memory object
//! or memfd — the safe Rust API, used directly by Rust programs and wrapped
//! by the C ABI.
//!
//! Memory model. The mapping may be written by other processes at any time,
//! so no `&[T]` or `&mut [T]` is ever formed over it: elements move with
//! `ptr::copy_nonoverlapping` between the mapping and caller memory, and the
//! header's mutable words are read and written as atomics. Every length and
//! index read from the header is clamped to the capacity this handle has
//! verified against the file's real size, so a hostile or crashed writer can
//! make us return an error but never make us touch memory past end-of-file.
//!
//! The whole reservation (`data_offset + max_len * row_bytes`) is mapped
//! once, so growth by any process is visible without remapping and a
//! pointer from [`Array::as_ptr`] stays valid for the handle's life. The
//! handles of one process on one file and access share that mapping (see
//! `MapCache`).
//!
//! The files: `mod.rs` the types and the header words; `mapping.rs` the
//! mapping, its cache and attaching a descriptor; `open.rs` open and create;
//! `props.rs` what a handle reports and the SIGBUS guard's zone;
//! `locking.rs` the writer lock and growth; `write.rs` and `read.rs` the
//! element operations, waiting, flush; `checks.rs` what is verified about
//! the file behind a mapping.

use crate::error::{Code, Error, Result};
use crate::format::{self, ElemType, Header, Layout, Writability, HEADER_SIZE};
use crate::guard;
use crate::lock::{self, Token};
use crate::protocol::{self, Native, Words};
use crate::sys;
use crate::value::{self, Cell};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod checks;
mod locking;
mod mapping;
mod open;
mod props;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use mapping::Mapping;
use mapping::*;
use open::*;
pub use write::{FastAppend, Waiting};

/// How a handle may use the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Access {
    /// Read and write; sees growth by others.
    #[default]
    ReadWrite,
    /// Read only; sees growth by others.
    ReadOnly,
    /// A private copy-on-write snapshot: length fixed at open, sees no
    /// growth, cannot wait, writes never reach the file.
    CopyOnWrite,
}

/// What kind of backing a handle has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file or shared-memory object with an mba header, shared with others.
    Shared,
    /// A private copy-on-write mapping of an mba file.
    Private,
    /// A raw binary file without header, fixed length.
    Raw,
}

/// Options for opening or creating an array.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Create the array if it does not exist.
    pub create: bool,
    /// With `create`: fail with `Exists` if it exists.
    pub exclusive: bool,
    /// Publish a new empty array under the name atomically, replacing any
    /// existing one (whose current users keep their memory).
    pub replace: bool,
    /// With `create` (open-or-create): accept an existing array owned by
    /// another user. Without it such an array is refused with `Owner`.
    pub foreign: bool,
    pub access: Access,
    /// File mode of a new file (0 = 0600).
    pub mode: u32,
    /// Expected element type of an existing array (`None` = any).
    pub expect: Option<ElemType>,
    /// Type and shape of a new array (required when creating).
    pub layout: Option<Layout>,
    /// Zero-filled rows a new array starts with.
    pub initial_len: u64,
    /// Rows to reserve on disk at creation.
    pub capacity: u64,
    /// Largest length the array may ever reach (0 = 64 GiB worth of rows,
    /// or `MBA_RESERVE` bytes' worth: see `reserve.rs`).
    pub max_len: u64,
}

impl Options {
    /// Options that create a flat array of `elem` if none exists.
    pub fn create(elem: ElemType) -> Options {
        Options {
            create: true,
            layout: Layout::scalar(elem).ok(),
            ..Options::default()
        }
    }
}

/// How [`Array::flush`] writes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// Write back and wait (durable: data first, then the header).
    Sync,
    /// Schedule write-back and return.
    Async,
    /// Invalidate cached copies (`MS_INVALIDATE`).
    Invalidate,
}

/// A 512-byte header in private memory, for raw files that have none.
#[repr(C, align(64))]
struct PrivHeader([u8; HEADER_SIZE as usize]);

/// An open memory-backed array.
pub struct Array {
    map: Arc<Mapping>,
    hdr: *mut u8,
    _priv_hdr: Option<Box<PrivHeader>>,
    data: *mut u8,
    layout: Layout,
    rb: u64,
    data_offset: u64,
    max_len: u64,
    kind: Kind,
    writable: bool,
    uuid: u64,
    verified: AtomicU64,
    token: Token,
    /// Thread holding the lock through [`Array::lock`] (0 = none), and the
    /// fork generation it was taken in.
    batch_owner: AtomicUsize,
    batch_gen: AtomicU64,
    path: Option<String>,
}

// SAFETY: all shared state is in atomics, the mapping (see Mapping) or
// immutable fields; the raw pointers point into `map`, which lives as long
// as the Array.
unsafe impl Send for Array {}
// SAFETY: as above.
unsafe impl Sync for Array {}

/// An identifier of the calling thread, cheap to get (no TLS lookup).
use crate::sys::thread_key as tid;

/// The protocol's header words (`crate::protocol`): std atomics over the
/// mapped (or private) header.
impl Words for Array {
    type M = Native;
    #[inline(always)]
    fn lock_word(&self) -> &AtomicU32 {
        self.w32(format::OFF_LOCK)
    }
    #[inline(always)]
    fn lock_sleepers_word(&self) -> &AtomicU32 {
        self.w32(format::OFF_LOCK_SLEEPERS)
    }
    fn lock_sleep(&self, timeout: std::time::Duration, precise: bool) -> bool {
        let word = self.hdr.wrapping_add(format::OFF_LOCK_SLEEPERS).cast();
        sys::futex_wait_precise(word, 1, timeout, precise) == sys::Wake::TimedOut
    }
    #[cold]
    fn lock_wake(&self) {
        sys::futex_wake_one(self.hdr.wrapping_add(format::OFF_LOCK_SLEEPERS).cast());
    }
    #[inline(always)]
    fn waiters_word(&self) -> &AtomicU32 {
        self.w32(format::OFF_WAITERS)
    }
    #[inline(always)]
    fn len_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_LEN)
    }
    #[inline(always)]
    fn cap_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_CAPACITY)
    }
    #[inline(always)]
    fn seq_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_SEQ)
    }
}

/// What a locked operation changed.
enum Change {
    Nothing,
    Data,
    Len(u64),
}

impl Drop for Array {
    fn drop(&mut self) {
        if self.holds_batch() {
            self.batch_owner.store(0, Relaxed);
            let _ = guard::scope(self.zone(), || self.release());
        }
        self.token.release();
    }
}

// ------------------------------------------------------------ helpers

/// Rounds of open-or-create before giving up (each round: the open found
/// no file, then the exclusive link found one). Real races end in one or two.
pub const OPEN_ROUNDS: u32 = 64;

/// How long `wait` polls the change counter before sleeping.
const WAIT_SPIN: Duration = Duration::from_micros(2);

/// Extends of at least this many bytes are written through the file (shared
/// arrays) or prefault their destination (private ones).
const PREFAULT_BYTES: u64 = 4 << 20;
/// `MADV_POPULATE_WRITE` (not in every libc crate version).
const MADV_POPULATE_WRITE: i32 = 23;

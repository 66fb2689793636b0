//! libmba: memory-backed arrays — typed, growable, flat arrays that live in a
//! mapped file or shared-memory segment, shared by C, Python, Go, Julia and
//! Rust processes with zero copies.
//!
//! Layers (imports point downwards only):
//! - [`format`]: the v1 header bytes (parse, validate, encode; no I/O);
//! - [`sys`], [`lock`], [`memlimit`], [`reserve`]: system calls, the
//!   cross-process writer lock, the memory check before memory-backed
//!   growth, the default reservation (`MBA_RESERVE`);
//! - [`guard`]: the opt-in SIGBUS guard (a mapping truncated by another
//!   process gives `Code::Truncated`, not a crash);
//! - [`array`], [`shm`]: the safe Rust API ([`Array`]);
//! - [`gc`]: finding and removing leaked names (interrupted creations,
//!   unused arrays);
//! - `ffi`: the C ABI (`include/mba.h`).
#![deny(unsafe_op_in_unsafe_fn)]

// The header's mutable words (len, capacity, seq, lock, waiters, ...) are
// little-endian in the file (docs/FORMAT.md) and are accessed in place as
// native atomics, which is only correct on a little-endian host.
#[cfg(not(target_endian = "little"))]
compile_error!(
    "libmba supports little-endian targets only: the header's mutable words are \
     little-endian in the file and are used in place as native atomics \
     (see docs/FORMAT.md, 'Byte order')"
);

pub mod array;
pub mod error;
pub mod ffi;
pub mod format;
pub mod gc;
pub mod guard;
pub mod lock;
pub mod memlimit;
pub(crate) mod protocol;
pub mod reserve;
pub mod shm;
pub mod sys;
pub mod value;

pub use array::{Access, Array, Flush, Kind, Options};
pub use error::{Code, Error, Result};
pub use format::{ElemType, Layout};

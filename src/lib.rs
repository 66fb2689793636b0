//! libmba: memory-backed arrays — typed, growable, flat arrays that live in a
//! mapped file or shared-memory segment, shared by C, Python, Go, Julia and
//! Rust processes with zero copies.
//!
//! The Rust API: [`Array`] with [`Options`], [`ElemType`], [`Access`],
//! [`Kind`], [`Flush`] and [`Error`]/[`Code`]; [`shm`] for named arrays
//! (`shm://NAME` and paths); [`gc`] for the leftovers of interrupted
//! creations; [`format`], the on-disk header (docs/FORMAT.md), for readers
//! that parse files themselves; [`ffi`], the C ABI (`include/mba.h`), whose
//! pointer-taking functions are `unsafe`. Everything else (system calls,
//! the lock protocol, the encoder, the SIGBUS guard) is internal; the
//! layers are described in docs/DESIGN.md.
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

pub(crate) mod array;
pub(crate) mod error;
pub mod ffi;
pub mod format;
pub mod gc;
pub(crate) mod guard;
pub(crate) mod lock;
pub(crate) mod memlimit;
pub(crate) mod protocol;
pub(crate) mod reserve;
pub mod shm;
pub(crate) mod sys;
pub(crate) mod value;

pub use array::{Access, Array, Flush, Kind, Options};
pub use error::{Code, Error, Result};
pub use format::{ElemType, Layout};

//! Extensible structs (`mba_options` in, `mba_info` out), versioned by
//! their leading `struct_size` as libpathrs and the Linux `openat2`/
//! `clone3` system calls do:
//!
//! - a caller built against an older `mba.h` passes a smaller struct: the
//!   fields it has are used and the newer ones read as zero (every field
//!   added later must mean "as before" when zero);
//! - a caller built against a newer `mba.h` passes a larger struct: it is
//!   accepted only if every byte past the fields this library knows is
//!   zero (the caller asked for nothing new), else `MBA_E_NEWER`;
//! - an output struct is filled up to the smaller of the two sizes, and its
//!   `struct_size` says how many bytes were filled.

use crate::error::{Code, Error, Result};
use std::mem::{size_of, MaybeUninit};

/// The smallest struct accepted: the `struct_size` word itself.
const MIN_SIZE: usize = size_of::<u32>();

/// Largest caller struct looked at (a guard against a garbage size making
/// us scan far past the caller's memory: 4 KiB, as `openat2` caps it by
/// a page).
const MAX_SIZE: usize = 4096;

/// Reads a caller's extensible struct whose first field is its `u32`
/// size. `T` must be a `repr(C)` struct of integers and raw pointers (for
/// which all-zero bytes are a valid value).
///
/// # Safety
/// `p` must be non-NULL and point to at least `struct_size` readable bytes
/// (the caller's contract, documented in mba.h).
pub(crate) unsafe fn copy_in<T>(p: *const T, what: &str) -> Result<T> {
    // SAFETY: the caller guarantees the first 4 bytes (struct_size).
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    let ours = size_of::<T>();
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(Error::new(
            Code::Arg,
            format!(
                "{what}.struct_size is {size}: set it to sizeof({what}) (or call its _init function)"
            ),
        ));
    }
    if size > ours {
        // SAFETY: the caller guarantees `size` readable bytes.
        let tail = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(ours), size - ours) };
        if let Some(i) = tail.iter().position(|b| *b != 0) {
            return Err(Error::new(
                Code::Newer,
                format!(
                    "{what} is {size} bytes and byte {} is not zero: this library knows \
                     only the first {ours} bytes (built against an older mba.h)",
                    ours + i
                ),
            ));
        }
    }
    let mut t = MaybeUninit::<T>::zeroed();
    // SAFETY: `min(size, ours)` bytes are readable at `p` and writable in
    // `t`; the rest of `t` stays zero, a valid value for such a struct.
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), t.as_mut_ptr().cast::<u8>(), size.min(ours));
        Ok(t.assume_init())
    }
}

/// Writes `v` to a caller's extensible output struct, whose `struct_size`
/// the caller set: only the first `min(struct_size, size_of::<T>())` bytes
/// are written, and `struct_size` becomes that number. Checks the size
/// before anything is written.
///
/// # Safety
/// `p` must be non-NULL and point to at least `struct_size` writable
/// bytes.
pub(crate) unsafe fn copy_out<T>(p: *mut T, v: &T, what: &str) -> Result<()> {
    // SAFETY: the caller guarantees the first 4 bytes.
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    if size < MIN_SIZE {
        return Err(Error::new(
            Code::Arg,
            format!("{what}.struct_size is {size}: set it to sizeof({what})"),
        ));
    }
    let n = size.min(size_of::<T>());
    // SAFETY: `n` bytes are writable at `p` (n <= struct_size) and
    // readable at `v`.
    unsafe {
        std::ptr::copy_nonoverlapping((v as *const T).cast::<u8>(), p.cast::<u8>(), n);
        p.cast::<u32>().write_unaligned(n as u32);
    }
    Ok(())
}

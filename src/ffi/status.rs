//! Status codes of the C ABI: explicit, stable integers (never a Rust enum
//! read back from C), each with a fixed message.

use crate::error::Code;
use std::ffi::c_int;

/// Success.
pub const MBA_OK: c_int = 0;
/// A required pointer argument was NULL.
pub const MBA_E_NULL: c_int = -1;
/// The handle is invalid: never opened, already closed, or not from this library.
pub const MBA_E_HANDLE: c_int = -2;
/// An argument is invalid (unknown flag bits, bad mode, bad name, bad size).
pub const MBA_E_ARG: c_int = -3;
/// The array's element type (or item size) differs from the one asked for.
pub const MBA_E_TYPE: c_int = -4;
/// The file is not an mba array (bad magic).
pub const MBA_E_NOTMBA: c_int = -5;
/// The file is shorter than its header says (or than a header).
pub const MBA_E_TRUNCATED: c_int = -6;
/// The header is damaged: checksum mismatch or inconsistent fields (for
/// example a length above the capacity).
pub const MBA_E_CORRUPT: c_int = -7;
/// The file has a format major version this library does not read.
pub const MBA_E_VERSION: c_int = -8;
/// The array uses a format feature this library does not know (or can only
/// read: open it with MBA_RDONLY).
pub const MBA_E_FEATURE: c_int = -9;
/// The elements are stored in the other byte order than this host's.
pub const MBA_E_BYTEORDER: c_int = -10;
/// A size overflowed, exceeds a format limit, or a value does not fit the
/// element type.
pub const MBA_E_OVERFLOW: c_int = -11;
/// An index or range is out of bounds.
pub const MBA_E_INDEX: c_int = -12;
/// The handle (or the file) is read-only.
pub const MBA_E_READONLY: c_int = -13;
/// No space left: full filesystem or /dev/shm, quota, or RLIMIT_FSIZE.
/// The array is unchanged.
pub const MBA_E_NOSPACE: c_int = -14;
/// The array reached its maximum length, or its length is fixed (raw
/// mapping, copy-on-write snapshot).
pub const MBA_E_FULL: c_int = -15;
/// The name already exists (MBA_CREATE|MBA_EXCL).
pub const MBA_E_EXISTS: c_int = -16;
/// The name does not exist.
pub const MBA_E_NOTFOUND: c_int = -17;
/// Permission denied by the operating system.
pub const MBA_E_PERM: c_int = -18;
/// Another operating-system error (see the detailed message).
pub const MBA_E_IO: c_int = -19;
/// mba_wait timed out.
pub const MBA_E_TIMEOUT: c_int = -20;
/// mba_wait was interrupted by a signal.
pub const MBA_E_INTR: c_int = -21;
/// mba_pop on an empty array.
pub const MBA_E_EMPTY: c_int = -22;
/// Not supported by this kind of handle (e.g. mba_wait on a copy-on-write
/// or raw handle).
pub const MBA_E_NOTSUP: c_int = -23;
/// Out of memory, address space, file descriptors or handles. Also
/// returned, before anything is allocated, when an array whose space is
/// memory (/dev/shm, tmpfs, a memfd from mba_anon) would grow past the
/// memory left to this process: its memory cgroup's limit (v1 or v2, and
/// every ancestor's) or the machine's available memory, keeping 1/8 of the
/// limit (at most 128 MiB) free, instead of waking the kernel's OOM killer.
/// An address-space reservation that does not fit RLIMIT_AS also gives
/// this code (see MBA_RESERVE at mba_open).
pub const MBA_E_NOMEM: c_int = -24;
/// The lock is held by another writer (mba_try_lock), or already by this thread.
pub const MBA_E_BUSY: c_int = -25;
/// mba_unlock by a thread that does not hold the lock.
pub const MBA_E_NOTLOCKED: c_int = -26;
/// An internal error (a caught panic); the handle is still usable.
pub const MBA_E_PANIC: c_int = -27;
/// The object belongs to another user: MBA_CREATE (open-or-create) found
/// an existing array whose owner is not this process's effective uid, and
/// the caller did not pass MBA_FOREIGN. Nothing was opened or changed.
pub const MBA_E_OWNER: c_int = -28;
/// An extensible struct (mba_options, mba_info) is larger than this
/// library's and its extra bytes are not all zero: the caller, built
/// against a newer mba.h, asked for something this library does not know.
/// Nothing was done. (A smaller struct, from an older mba.h, is fine.)
pub const MBA_E_NEWER: c_int = -29;

/// The C status of an error code.
pub fn status(code: Code) -> c_int {
    match code {
        Code::Null => MBA_E_NULL,
        Code::Handle => MBA_E_HANDLE,
        Code::Arg => MBA_E_ARG,
        Code::Type => MBA_E_TYPE,
        Code::NotMba => MBA_E_NOTMBA,
        Code::Truncated => MBA_E_TRUNCATED,
        Code::Corrupt => MBA_E_CORRUPT,
        Code::Version => MBA_E_VERSION,
        Code::Feature => MBA_E_FEATURE,
        Code::ByteOrder => MBA_E_BYTEORDER,
        Code::Overflow => MBA_E_OVERFLOW,
        Code::Index => MBA_E_INDEX,
        Code::ReadOnly => MBA_E_READONLY,
        Code::NoSpace => MBA_E_NOSPACE,
        Code::Full => MBA_E_FULL,
        Code::Exists => MBA_E_EXISTS,
        Code::NotFound => MBA_E_NOTFOUND,
        Code::Perm => MBA_E_PERM,
        Code::Io => MBA_E_IO,
        Code::Timeout => MBA_E_TIMEOUT,
        Code::Interrupted => MBA_E_INTR,
        Code::Empty => MBA_E_EMPTY,
        Code::NotSup => MBA_E_NOTSUP,
        Code::NoMem => MBA_E_NOMEM,
        Code::Busy => MBA_E_BUSY,
        Code::NotLocked => MBA_E_NOTLOCKED,
        Code::Panic => MBA_E_PANIC,
        Code::Owner => MBA_E_OWNER,
        Code::Newer => MBA_E_NEWER,
    }
}

/// The fixed message of a status code (NUL-terminated).
pub fn message(code: c_int) -> &'static str {
    match code {
        MBA_OK => "success\0",
        MBA_E_NULL => "a required pointer argument is NULL\0",
        MBA_E_HANDLE => "invalid, closed or foreign handle\0",
        MBA_E_ARG => "invalid argument\0",
        MBA_E_TYPE => "element type mismatch\0",
        MBA_E_NOTMBA => "not an mba array\0",
        MBA_E_TRUNCATED => "file is truncated\0",
        MBA_E_CORRUPT => "header is damaged or inconsistent\0",
        MBA_E_VERSION => "unsupported format version\0",
        MBA_E_FEATURE => "unsupported format feature\0",
        MBA_E_BYTEORDER => "foreign byte order\0",
        MBA_E_OVERFLOW => "size or value overflow\0",
        MBA_E_INDEX => "index out of range\0",
        MBA_E_READONLY => "read-only\0",
        MBA_E_NOSPACE => "no space left (disk, shared memory or file size limit)\0",
        MBA_E_FULL => "array is full or has a fixed length\0",
        MBA_E_EXISTS => "name already exists\0",
        MBA_E_NOTFOUND => "no such array\0",
        MBA_E_PERM => "permission denied\0",
        MBA_E_IO => "operating-system error\0",
        MBA_E_TIMEOUT => "timed out\0",
        MBA_E_INTR => "interrupted by a signal\0",
        MBA_E_EMPTY => "array is empty\0",
        MBA_E_NOTSUP => "not supported by this handle\0",
        MBA_E_NOMEM => "out of memory, address space or handles\0",
        MBA_E_BUSY => "lock is busy\0",
        MBA_E_NOTLOCKED => "lock is not held by this thread\0",
        MBA_E_PANIC => "internal error\0",
        MBA_E_OWNER => "the object belongs to another user\0",
        MBA_E_NEWER => "the caller set fields this library version does not know\0",
        _ => "unknown status code\0",
    }
}

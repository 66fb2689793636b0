//! Errors of the Rust API. Each carries a [`Code`] (stable, mirrored by the
//! C status codes in `ffi/status.rs`) and a detailed message.

use std::fmt;

/// What went wrong, independent of the detailed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// A required pointer argument was NULL.
    Null,
    /// A handle is invalid, closed or not from this library.
    Handle,
    /// An argument (flag, mode, name, size) is invalid.
    Arg,
    /// The stored element type or shape differs from the one asked for.
    Type,
    /// The file is not an mba array (bad magic).
    NotMba,
    /// The file is shorter than its header says.
    Truncated,
    /// The header is damaged or inconsistent.
    Corrupt,
    /// Unsupported major format version.
    Version,
    /// The array uses a format feature this library does not know.
    Feature,
    /// The elements are stored in a foreign byte order.
    ByteOrder,
    /// A size computation overflowed, or a size exceeds a format limit.
    Overflow,
    /// An index or range is out of bounds.
    Index,
    /// The handle or the array is read-only.
    ReadOnly,
    /// No space left: full filesystem, full shared memory or RLIMIT_FSIZE.
    NoSpace,
    /// The array reached its maximum length, or its length is fixed.
    Full,
    /// The name already exists.
    Exists,
    /// The name does not exist.
    NotFound,
    /// Permission denied by the operating system.
    Perm,
    /// Another operating-system error.
    Io,
    /// A wait timed out.
    Timeout,
    /// A wait was interrupted by a signal.
    Interrupted,
    /// Pop from an empty array.
    Empty,
    /// Not supported on this kind of handle.
    NotSup,
    /// Out of memory, address space or file descriptors, or a memory-backed
    /// array would outgrow the memory left (see `memlimit.rs`).
    NoMem,
    /// The lock is held by someone else (try-lock).
    Busy,
    /// The caller does not hold the lock it tries to release.
    NotLocked,
    /// An internal panic was caught at the boundary.
    Panic,
    /// Open-or-create found an existing object owned by another user (and
    /// the caller did not accept foreign objects).
    Owner,
    /// An extensible struct from a newer caller sets fields this library
    /// does not know (its extra bytes are not all zero).
    Newer,
}

/// An error with its code and a human-readable explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    /// An error from an OS errno, with the operation that failed.
    pub fn os(errno: i32, what: impl fmt::Display) -> Error {
        let code = match errno {
            libc::ENOSPC | libc::EFBIG | libc::EDQUOT => Code::NoSpace,
            libc::EEXIST => Code::Exists,
            libc::ENOENT => Code::NotFound,
            libc::EACCES | libc::EPERM => Code::Perm,
            // Out of descriptors (per process or system-wide) is a resource
            // exhausted, like memory: MBA_E_NOMEM says "or handles".
            libc::ENOMEM | libc::EMFILE | libc::ENFILE => Code::NoMem,
            libc::EROFS => Code::ReadOnly,
            libc::EINTR => Code::Interrupted,
            libc::ENAMETOOLONG
            | libc::EINVAL
            | libc::ELOOP
            | libc::EISDIR
            | libc::ENOTDIR
            | libc::EFAULT => Code::Arg,
            _ => Code::Io,
        };
        let msg = std::io::Error::from_raw_os_error(errno);
        Error::new(code, format!("{what}: {msg}"))
    }

    /// An error from the current errno.
    pub fn last_os(what: impl fmt::Display) -> Error {
        Error::os(errno(), what)
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}

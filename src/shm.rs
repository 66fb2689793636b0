//! Names: `shm://NAME` (a POSIX shared-memory object in `/dev/shm`),
//! `file://PATH` and plain paths; listing and unlinking named arrays.

use crate::array::{Array, Options};
use crate::error::{Code, Error, Result};
use crate::{format, sys};
use std::os::fd::AsRawFd;

/// Directory holding POSIX shared-memory objects on Linux.
pub const SHM_DIR: &str = "/dev/shm";

/// Turns a name into a filesystem path.
pub fn resolve(name: &str) -> Result<String> {
    if let Some(n) = name.strip_prefix("shm://") {
        let n = n.strip_prefix('/').unwrap_or(n);
        if n.is_empty()
            || n.len() > 255
            || n.contains('/')
            || n == "."
            || n == ".."
            || n.starts_with('.')
        {
            return Err(Error::new(
                Code::Arg,
                format!("invalid shared-memory name {name:?}"),
            ));
        }
        return Ok(format!("{SHM_DIR}/{n}"));
    }
    let p = name.strip_prefix("file://").unwrap_or(name);
    if p.is_empty() {
        return Err(Error::new(Code::Arg, "empty name"));
    }
    if p.contains("://") {
        return Err(Error::new(
            Code::Arg,
            format!("unknown name scheme in {name:?} (use shm:// or file://)"),
        ));
    }
    Ok(p.to_string())
}

/// Opens or creates the array called `name`.
pub fn open(name: &str, o: &Options) -> Result<Array> {
    Array::open(&resolve(name)?, o)
}

fn is_mba(path: &str) -> Result<()> {
    let fd = sys::open(
        path,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0,
    )?;
    let mut m = [0u8; 8];
    let n = sys::pread_full(fd.as_raw_fd(), &mut m, 0)?;
    if n == 8 && m == format::MAGIC {
        Ok(())
    } else {
        Err(Error::new(
            Code::NotMba,
            format!("{path} is not an mba array"),
        ))
    }
}

/// Removes the name of an array. Processes that have it open keep using it;
/// new attaches fail with `NotFound`. Refuses files that are not arrays.
pub fn unlink(name: &str) -> Result<()> {
    let p = resolve(name)?;
    is_mba(&p)?;
    sys::unlink(&p)
}

/// Names (`shm://NAME`) of the arrays in `/dev/shm`, sorted.
pub fn list() -> Result<Vec<String>> {
    let rd = std::fs::read_dir(SHM_DIR)
        .map_err(|e| Error::os(e.raw_os_error().unwrap_or(libc::EIO), SHM_DIR))?;
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && is_mba(&format!("{SHM_DIR}/{n}")).is_ok())
        .map(|n| format!("shm://{n}"))
        .collect();
    v.sort();
    Ok(v)
}

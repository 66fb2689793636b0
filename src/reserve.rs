//! The default reservation of new arrays, and the `MBA_RESERVE` setting.
//!
//! Every handle maps `data_offset + max_len * row_bytes` bytes once (see
//! `array/`). An array created without an explicit `max_len` gets
//! `max_len = reservation / row_bytes` (at least 1 row), the reservation
//! being [`format::DEFAULT_RESERVE_BYTES`] (64 GiB) unless the environment
//! variable `MBA_RESERVE` says otherwise: a number of bytes, optionally
//! followed by `K`, `M`, `G` or `T` (powers of 1024, any case, an optional
//! `B` or `iB` after), between 4 KiB and 64 TiB (the format's limit).
//! Tools that cannot map 64 GiB at once need it (valgrind's memcheck
//! refuses such a mapping with EINVAL; `RLIMIT_AS` may be lower). It is
//! read once per process, at the first open; an invalid value makes every
//! open that may create an array fail with `Code::Arg` and the message
//! from [`default_bytes`]. It changes only new arrays: an existing array
//! keeps the `max_len` it was created with, and is mapped in full.

use crate::error::{Code, Error, Result};
use crate::format;
use std::sync::OnceLock;

/// The name of the environment variable.
pub const ENV: &str = "MBA_RESERVE";
/// The smallest accepted value.
pub const MIN_BYTES: u64 = 4096;

/// The reservation, in bytes, of a new array created without `max_len`.
pub fn default_bytes() -> Result<u64> {
    static V: OnceLock<std::result::Result<u64, String>> = OnceLock::new();
    V.get_or_init(|| match std::env::var_os(ENV) {
        None => Ok(format::DEFAULT_RESERVE_BYTES),
        Some(v) => match v.to_str() {
            Some(s) if s.trim().is_empty() => Ok(format::DEFAULT_RESERVE_BYTES),
            Some(s) => parse(s),
            None => Err(format!("{ENV} is not valid UTF-8")),
        },
    })
    .clone()
    .map_err(|m| Error::new(Code::Arg, m))
}

/// Parses a value of `MBA_RESERVE` ("64G", "512MiB", "1048576").
pub fn parse(s: &str) -> std::result::Result<u64, String> {
    let bad = |why: &str| {
        format!(
            "{ENV}={s:?} is invalid ({why}): give a number of bytes, optionally followed \
             by K, M, G or T (powers of 1024), between 4K and 64T"
        )
    };
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("no number"));
    }
    let n: u64 = t[..digits].parse().map_err(|_| bad("too large"))?;
    let rest = t[digits..].trim_start();
    let (unit, tail) = match rest.chars().next() {
        None => (0, ""),
        Some(c) => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'B' => 0,
                _ => return Err(bad("unknown unit")),
            };
            if c.eq_ignore_ascii_case(&'b') {
                (0, &rest[1..])
            } else {
                (shift, &rest[1..])
            }
        }
    };
    if !(tail.is_empty() || (unit > 0 && (tail == "B" || tail == "iB" || tail == "b"))) {
        return Err(bad("unknown unit"));
    }
    let v = n
        .checked_mul(1u64 << unit)
        .ok_or_else(|| bad("too large"))?;
    if v < MIN_BYTES {
        return Err(bad("below 4K"));
    }
    if v > format::MAX_RESERVE_BYTES {
        return Err(bad("above 64T"));
    }
    Ok(v)
}

/// The error of a failed `mmap` of `len` bytes (a handle's reservation):
/// `ENOMEM` (out of address space, usually `RLIMIT_AS`) and `EINVAL` (a
/// length the kernel or a tool like valgrind will not map) are `Code::NoMem`,
/// and the message says how large the mapping was, what `RLIMIT_AS` is and
/// what to change.
pub fn mmap_error(e: std::io::Error, len: usize) -> Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    let mut err = Error::os(
        errno,
        format!("mmap of {len} bytes (the array's reservation)"),
    );
    if errno == libc::ENOMEM || errno == libc::EINVAL {
        // EINVAL: the length is the only argument that can be wrong here
        // (offsets are page-aligned, flags fixed): valgrind, for one,
        // refuses 64 GiB that way. Out of address space, as ENOMEM.
        err.code = Code::NoMem;
        // SAFETY: an all-zero rlimit is valid; getrlimit only writes into it.
        let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: `rl` is a valid, writable rlimit.
        let limited = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } == 0
            && rl.rlim_cur != libc::RLIM_INFINITY;
        if limited {
            err.message
                .push_str(&format!("; RLIMIT_AS is {} bytes", rl.rlim_cur));
        }
        err.message.push_str(
            "; a handle maps data_offset + max_len * row_bytes bytes of address space: \
             create the array with a smaller max_len, or set MBA_RESERVE (e.g. 1G) for \
             arrays created without one",
        );
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("64G"), Ok(64 << 30));
        assert_eq!(parse(" 512m "), Ok(512 << 20));
        assert_eq!(parse("1GiB"), Ok(1 << 30));
        assert_eq!(parse("2 MB"), Ok(2 << 20));
        assert_eq!(parse("8192B"), Ok(8192));
        assert_eq!(parse("64T"), Ok(1 << 46));
        for bad in [
            "",
            "G",
            "-1",
            "1.5G",
            "4095",
            "65T",
            "1X",
            "1GG",
            "99999999999999999999",
            "16Ti",
            "0",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse("1X").unwrap_err().contains("MBA_RESERVE"));
    }
}

//! What the open, create and verify paths check about the file behind a
//! mapping, beyond its header: who owns it, how long it is *now*, and
//! whether the rows a handle is about to trust are really allocated. The
//! threat model is docs/SECURITY.md; where each check runs is listed in
//! docs/SECURITY.md ("What is checked where").
//!
//! None of this can stop another process that may write the file from
//! shrinking it between a check and an access (the opt-in SIGBUS guard is
//! for that); it makes every *rare* path (open, growth, re-verification,
//! flush, truncate, a wait's sleep) notice, report `Truncated` and keep the
//! handle's verified capacity within the file.

use super::{Array, Kind, MapCache};
use crate::error::{Code, Error, Result};
use crate::format;
use crate::sys;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::*;

/// Refuses an object that another user owns: open-or-create (`MBA_CREATE`
/// without `MBA_EXCL`/`MBA_REPLACE`) would otherwise adopt a name that
/// someone else created first. Only the owner matters: the mode of an
/// object this user owns is this user's choice (only the owner and root can
/// change it), so group- or world-writable objects of our own are accepted.
pub(super) fn check_owner(st: &libc::stat, path: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if st.st_uid == me {
        return Ok(());
    }
    Err(Error::new(
        Code::Owner,
        format!(
            "{path} already exists and belongs to uid {}, not to this process's uid {me}; \
             refusing to adopt it (pass MBA_FOREIGN to accept another user's array)",
            st.st_uid
        ),
    ))
}

/// Rows (`from..cap`, `from <= cap`) of the data region that the file
/// really backs, given its `st`: `cap` clamped to the file size, then, if
/// the file is sparse, to the first hole at or after row `from`. With
/// `fill` (a read-write handle) holes are allocated instead (`NoSpace` if
/// the filesystem is full; nothing changed). A store into, or on tmpfs
/// even a load from, a hole of a full filesystem raises SIGBUS.
pub(super) fn backed_rows(
    fd: RawFd,
    st: &libc::stat,
    data_offset: u64,
    rb: u64,
    from: u64,
    cap: u64,
    fill: bool,
) -> Result<u64> {
    let size = st.st_size.max(0) as u64;
    let rows = cap.min(size.saturating_sub(data_offset) / rb);
    if rows <= from || sys::fully_allocated(st) {
        return Ok(rows);
    }
    // rows <= max_len, and data_offset + max_len * rb was checked to fit.
    let start = data_offset + from * rb;
    let end = data_offset + rows * rb;
    let hole = sys::first_hole(fd, start)?;
    if hole >= end {
        return Ok(rows);
    }
    if fill {
        sys::fill_holes(fd, start, end)?;
        return Ok(rows);
    }
    Ok((hole.max(start) - data_offset) / rb)
}

impl Array {
    /// Rows the file holds now (past the data offset), from `st`.
    fn rows_in(&self, st: &libc::stat) -> u64 {
        (st.st_size.max(0) as u64).saturating_sub(self.data_offset) / self.rb
    }

    /// Another process shrank the file below this handle's verified
    /// capacity: trust only what is left, and make sure no new open reuses
    /// the mapping (it maps the file afresh and validates it).
    fn shrunk(&self, rows: u64) {
        self.verified.fetch_min(rows, Relaxed);
        self.map.verified.fetch_min(rows, Relaxed);
        MapCache::evict(&self.map);
    }

    /// The slow half of [`Array::capacity`]: the header's capacity `hc`
    /// exceeds what this handle has verified. Looks at the file (`fstat`):
    /// a shrunk file lowers the verified capacity; rows up to `hc` that the
    /// file holds are checked for holes (filled by a read-write handle,
    /// else the verified capacity stops at the first hole). Never fails:
    /// on an error the old verified capacity stays.
    pub(super) fn verify_capacity(&self, hc: u64) -> u64 {
        let Ok(st) = sys::fstat(self.fd()) else {
            return self.verified.load(Relaxed).min(hc);
        };
        let rows = self.rows_in(&st);
        if rows < self.verified.load(Relaxed) {
            self.shrunk(rows);
        }
        let v = self.verified.load(Relaxed);
        let fill = self.writable && self.kind == Kind::Shared;
        match backed_rows(self.fd(), &st, self.data_offset, self.rb, v, hc, fill) {
            Ok(nv) if nv > v => {
                self.verified.fetch_max(nv, Relaxed);
                self.map.verified.fetch_max(nv, Relaxed);
                nv
            }
            _ => v.min(hc),
        }
    }

    /// Re-checks the file size (one `fstat`) on the rare paths: growth,
    /// flush, truncate, each sleep of a wait. A file that another process
    /// shrank below the verified capacity lowers it (see `shrunk`); one
    /// that no longer holds the header's capacity (or its header) fails
    /// with `Truncated`, which FORMAT.md §2 calls the same file at open.
    /// Returns the `fstat` (growth allocates after it without another).
    pub(super) fn recheck_size(&self) -> Result<libc::stat> {
        let st = sys::fstat(self.fd())?;
        let size = st.st_size.max(0) as u64;
        if self.kind == Kind::Shared && size < self.data_offset {
            self.shrunk(0);
            return Err(Error::new(
                Code::Truncated,
                format!(
                    "the file was truncated by another process to {size} bytes, \
                     shorter than its header and data offset"
                ),
            ));
        }
        let rows = self.rows_in(&st);
        if rows < self.verified.load(Relaxed) {
            self.shrunk(rows);
        }
        // The header page is still in the file (checked above), or private.
        let hc = self
            .w64(format::OFF_CAPACITY)
            .load(Acquire)
            .min(self.max_len);
        if rows < hc {
            return Err(Error::new(
                Code::Truncated,
                format!(
                    "the file was truncated by another process: it holds {rows} rows, \
                     its header claims a capacity of {hc}"
                ),
            ));
        }
        Ok(st)
    }
}

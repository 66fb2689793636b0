//! `mba_gc`: removing the leftovers of interrupted creations and, on
//! request, named arrays no process uses (see `src/gc.rs`).

use super::boundary::{out, run, str_arg};
use crate::error::{Code, Error};
use crate::gc::{self, GcOptions};
use std::ffi::{c_char, c_int};
use std::time::Duration;

/// mba_gc flag: also remove named arrays that no process maps or has open.
/// (The gc flags take bits of their own, above the open flags: one space of
/// distinct bits for every flags argument.)
pub const MBA_GC_UNUSED: u32 = 256;
/// mba_gc flag: no grace period: also remove unlocked temporary files (and,
/// with MBA_GC_UNUSED, unused arrays) changed less than 5 s ago. A creator
/// between its open and its lock could lose its file: use it only when no
/// creator can be running.
pub const MBA_GC_FORCE: u32 = 512;
/// mba_gc flag: remove nothing; *out_removed receives how many files would be
/// removed.
pub const MBA_GC_DRY_RUN: u32 = 1024;

/// Removes leaked names of the caller's effective uid (never another
/// user's files, even as root) from the directory dir (NULL: /dev/shm,
/// where the shm:// names live): the temporary files ".NAME.mba-tmp.PID.HEX" that a
/// creator killed mid-creation left behind, and, with MBA_GC_UNUSED, the
/// named arrays that no visible process maps or has open. *out_removed (may be
/// NULL) receives the number of files removed.
///
/// Never removes a temporary file whose creator is alive: a creator holds
/// an OFD write lock on byte 0 of its temporary file until it publishes or
/// removes it, and mba_gc asks for that lock with F_OFD_GETLK on a read-only
/// descriptor (it takes no lock and writes to no file). Files changed less
/// than 5 s ago are left alone (a creator may be between its open and its
/// lock) unless MBA_GC_FORCE is given.
///
/// "Unused" is judged from /proc/PID/maps and /proc/PID/fd of the processes
/// the caller may inspect: as root all processes of its PID namespace, as
/// another user only that user's own. When some process could not be
/// inspected, an array it could use (not owned by the caller, or whose mode
/// grants group or other access) is never removed. A process attaching
/// between the scan and the removal keeps its memory, but the name is gone.
/// Files that vanish meanwhile are skipped; a removal the directory's
/// permissions refuse is returned (MBA_E_PERM) after the others were
/// removed.
///
/// Thread-safe; it may run concurrently with creations in any process.
/// Errors: MBA_E_ARG (unknown flag bits, dir not a directory or not UTF-8),
/// MBA_E_NOTFOUND (no such directory), MBA_E_PERM (the directory cannot be
/// read, or a leftover could not be removed: *out_removed is then not written),
/// MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_gc(dir: *const c_char, flags: u32, out_removed: *mut u64) -> c_int {
    run(|| {
        let dir = if dir.is_null() {
            gc::shm_dir()
        } else {
            // SAFETY: C caller's string: NULL refused, else NUL-terminated.
            unsafe { str_arg(dir, "dir") }?
        };
        if flags & !(MBA_GC_UNUSED | MBA_GC_FORCE | MBA_GC_DRY_RUN) != 0 {
            return Err(Error::new(
                Code::Arg,
                format!("unknown mba_gc flags {flags:#x}"),
            ));
        }
        let o = GcOptions {
            unused: flags & MBA_GC_UNUSED != 0,
            dry_run: flags & MBA_GC_DRY_RUN != 0,
            min_age: if flags & MBA_GC_FORCE != 0 {
                Duration::ZERO
            } else {
                gc::GRACE
            },
        };
        let r = gc::gc(dir, &o)?;
        if let Some((p, e)) = r.failed.first() {
            return Err(Error::new(
                e.code,
                format!(
                    "removed {} leftovers of {dir}; could not remove {}: {}",
                    r.removed.len(),
                    p.display(),
                    e.message
                ),
            ));
        }
        if !out_removed.is_null() {
            // SAFETY: out-pointer from the C caller: NULL refused, else writable.
            unsafe { out(out_removed, r.removed.len() as u64) }?;
        }
        Ok(())
    })
}

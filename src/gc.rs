//! Finding and removing leaked names: the temporary files of creations that
//! were interrupted (`.NAME.mba-tmp.PID.HEX`, see FORMAT.md §4.1) and named
//! arrays that no process uses any more ("crashed programs leave /dev/shm
//! objects nobody owns").
//!
//! How a leftover is recognised. A creator opens its temporary file with
//! `O_CREAT|O_EXCL` and then holds an OFD write lock on its byte 0 until it
//! renames the file into place or unlinks it; the kernel drops that lock
//! when the creator dies. So a temporary file whose byte 0 is not locked
//! (asked with `F_OFD_GETLK` on a read-only descriptor, which takes no lock)
//! belongs to nobody, unless its creator is between its `open` and its lock:
//! files changed less than [`GRACE`] ago are therefore left alone unless the
//! caller forces it ([`GcOptions::min_age`] = 0). A file whose lock is held
//! is never removed.
//!
//! Whether a named array is in use is found by walking `/proc/*/maps` and
//! `/proc/*/fd` for its device and inode. Only processes whose `/proc`
//! entries we may read are seen: as root, every process of this PID
//! namespace; as another user, only that user's own processes. When some
//! process could not be inspected, an array that such a process could open
//! (one not owned by us, or one whose mode grants group or other access) is
//! reported as [`Usage::Unknown`] and never removed. Processes in other PID
//! namespaces (other containers) are never seen. Removing unused arrays
//! happens only on request ([`GcOptions::unused`]); a process that attaches
//! between the scan and the removal keeps its memory (an unlinked name stays
//! valid for whoever has it open), but the name is gone.
//!
//! Nothing here writes to any file: scanning only reads headers with
//! `pread`; removing is `unlink` of the name after checking that it still
//! names the file that was judged.

use crate::error::{Code, Error, Result};
use crate::format::{self, Header, Layout};
use crate::{shm, sys};
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Temporary files (and arrays) changed less than this long ago are never
/// removed unless forced: a creator may be between its `open` and its lock.
pub const GRACE: Duration = Duration::from_secs(5);

/// The marker between the target name and the creator's pid in a
/// temporary file's name: `.NAME.mba-tmp.PID.HEX`.
pub const TEMP_MARKER: &str = ".mba-tmp.";

/// What a temporary file's lock says about its creator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TempState {
    /// Its byte 0 is locked: a live process is creating the array. Never
    /// removed.
    Live,
    /// Not locked, but changed less than the grace period ago (its creator
    /// may not have taken the lock yet). Removed only when forced.
    Young,
    /// Not locked and older than the grace period: left by a creator that
    /// died. Removed by [`gc`] and [`remove_stale`].
    Stale,
    /// Could not be opened to ask (another user's file). Never removed.
    Unknown,
}

/// A temporary file of a creation.
#[derive(Clone, Debug)]
pub struct Leftover {
    pub path: PathBuf,
    /// The name the creation would have published (the `NAME` part).
    pub target: String,
    /// The creator's pid as written in the name (in its PID namespace).
    pub pid: u32,
    /// File size in bytes.
    pub size: u64,
    /// Bytes really allocated (what removing it frees).
    pub allocated: u64,
    /// Time since the file's last change (its ctime).
    pub age: Duration,
    pub uid: u32,
    pub state: TempState,
}

impl Leftover {
    /// True if the creator is known to be gone and the grace period is over.
    pub fn is_stale(&self) -> bool {
        self.state == TempState::Stale
    }
}

/// Whether any process maps or opens a named array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Usage {
    /// These processes (pids, sorted) map it or have it open.
    InUse(Vec<u32>),
    /// No process maps or opens it (every process that could was seen).
    Unused,
    /// No visible process uses it, but some processes could not be
    /// inspected and may (see the module documentation).
    Unknown,
}

/// What the header of a named array says (read with `pread`, not mapped).
#[derive(Clone, Debug)]
pub struct Summary {
    pub layout: Layout,
    pub row_bytes: u64,
    pub len: u64,
    pub capacity: u64,
    pub max_len: u64,
}

/// A named array found in a directory.
#[derive(Clone, Debug)]
pub struct NamedArray {
    pub path: PathBuf,
    /// `shm://NAME` for the shared-memory directory, else the path.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
    /// Bytes really allocated.
    pub allocated: u64,
    /// Time since the file's last change (its ctime).
    pub age: Duration,
    pub uid: u32,
    pub mode: u32,
    /// The decoded header, or why it is damaged (the file starts with the
    /// magic, so it is an array, but a broken one).
    pub header: std::result::Result<Summary, Error>,
    pub usage: Usage,
}

/// Everything [`scan`] found in one directory, each list sorted by path.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub temps: Vec<Leftover>,
    pub arrays: Vec<NamedArray>,
    /// True if every process in /proc could be inspected.
    pub all_processes_seen: bool,
}

/// What [`gc`] may remove.
#[derive(Clone, Debug)]
pub struct GcOptions {
    /// Also remove named arrays that no process uses ([`Usage::Unused`]).
    pub unused: bool,
    /// Only report what would be removed.
    pub dry_run: bool,
    /// Leave alone files changed less than this long ago ([`GRACE`] by
    /// default; zero forces removal of unlocked young temporary files).
    pub min_age: Duration,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            unused: false,
            dry_run: false,
            min_age: GRACE,
        }
    }
}

/// What [`gc`] did.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Removed (or, with `dry_run`, removable) files.
    pub removed: Vec<PathBuf>,
    /// Files judged removable whose removal failed (e.g. not ours).
    pub failed: Vec<(PathBuf, Error)>,
}

/// The directory of `shm://` names, as [`scan`] and [`gc`] take it.
pub fn shm_dir() -> &'static str {
    shm::SHM_DIR
}

/// Splits `.NAME.mba-tmp.PID.HEX` into (NAME, PID).
pub fn parse_temp_name(file: &str) -> Option<(&str, u32)> {
    let rest = file.strip_prefix('.')?;
    let i = rest.rfind(TEMP_MARKER)?;
    let (target, tail) = (&rest[..i], &rest[i + TEMP_MARKER.len()..]);
    let (pid, hex) = tail.split_once('.')?;
    if target.is_empty()
        || pid.is_empty()
        || !pid.bytes().all(|b| b.is_ascii_digit())
        || hex.is_empty()
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    Some((target, pid.parse().ok()?))
}

fn ctime_age(m: &std::fs::Metadata, now: SystemTime) -> Duration {
    let t = UNIX_EPOCH
        + Duration::new(
            m.ctime().max(0) as u64,
            m.ctime_nsec().clamp(0, 999_999_999) as u32,
        );
    now.duration_since(t).unwrap_or(Duration::ZERO)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::new(Code::Arg, format!("{} is not UTF-8", p.display())))
}

/// Opens a file for inspection: read-only, never following a symlink, never
/// blocking on a FIFO; `None` unless it is a regular file we may read.
fn open_inspect(p: &Path) -> Option<std::os::fd::OwnedFd> {
    let fd = sys::open(
        path_str(p).ok()?,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0,
    )
    .ok()?;
    let st = sys::fstat(fd.as_raw_fd()).ok()?;
    (st.st_mode & libc::S_IFMT == libc::S_IFREG).then_some(fd)
}

/// True if byte 0 of the file is write-locked by an open file description
/// (a creator at work). Takes no lock.
pub fn temp_is_locked(fd: BorrowedFd<'_>) -> Result<bool> {
    sys::ofd_is_locked(fd.as_raw_fd(), 0)
}

/// True if the writer-lock token `token` (the value of the header's `lock`
/// word) belongs to a live handle: its liveness byte `2^62 + token` is
/// locked (FORMAT.md §4.4). Takes no lock; works on a read-only descriptor.
pub fn token_alive(fd: BorrowedFd<'_>, token: u32) -> Result<bool> {
    if token == 0 {
        return Ok(false);
    }
    sys::ofd_is_locked(fd.as_raw_fd(), format::LOCK_BASE + token as i64)
}

/// Reads the header of an open array file (no mapping, no lock).
pub fn read_summary(fd: BorrowedFd<'_>) -> Result<Summary> {
    let mut b = [0u8; format::HEADER_SIZE as usize];
    let n = sys::pread_full(fd.as_raw_fd(), &mut b, 0)?;
    if n < b.len() {
        return Err(Error::new(
            Code::Truncated,
            format!("file of {n} bytes is shorter than an mba header"),
        ));
    }
    let (h, _) = Header::decode(&b)?;
    let word = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    Ok(Summary {
        row_bytes: h.row_bytes,
        max_len: h.max_len,
        layout: h.layout,
        len: word(format::OFF_LEN),
        capacity: word(format::OFF_CAPACITY),
    })
}

/// (device, inode) → pids that map or open it, over every process we may
/// inspect; and whether every process could be inspected.
fn proc_users() -> (HashMap<(u64, u64), Vec<u32>>, bool) {
    let mut users: HashMap<(u64, u64), Vec<u32>> = HashMap::new();
    let mut complete = true;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return (users, false);
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let mut seen = Vec::new();
        let gone =
            |e: &std::io::Error| matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH));
        match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
            Ok(maps) => {
                for l in maps.lines() {
                    // address perms offset dev inode [path]
                    let mut f = l.split_ascii_whitespace();
                    let (Some(dev), Some(ino)) = (f.nth(3), f.next()) else {
                        continue;
                    };
                    let Ok(ino) = ino.parse::<u64>() else {
                        continue;
                    };
                    let Some((ma, mi)) = dev.split_once(':') else {
                        continue;
                    };
                    let (Ok(ma), Ok(mi)) =
                        (u32::from_str_radix(ma, 16), u32::from_str_radix(mi, 16))
                    else {
                        continue;
                    };
                    if ino != 0 {
                        seen.push((libc::makedev(ma, mi), ino));
                    }
                }
            }
            Err(e) if gone(&e) => continue,
            Err(_) => complete = false,
        }
        match std::fs::read_dir(format!("/proc/{pid}/fd")) {
            Ok(fds) => {
                for f in fds.flatten() {
                    if let Ok(m) = std::fs::metadata(f.path()) {
                        seen.push((m.dev(), m.ino()));
                    }
                }
            }
            Err(e) if gone(&e) => continue,
            Err(_) => complete = false,
        }
        seen.sort_unstable();
        seen.dedup();
        for k in seen {
            users.entry(k).or_default().push(pid);
        }
    }
    for v in users.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    (users, complete)
}

/// Lists the temporary files of creations and the named arrays in `dir`
/// (use [`shm_dir`] for `shm://` names), judging temporary files with the
/// default grace period. Reads only: no file is opened for writing, no lock
/// taken.
pub fn scan(dir: &str) -> Result<Scan> {
    scan_with(dir, &GcOptions::default())
}

/// [`scan`] with the grace period of `o`.
pub fn scan_with(dir: &str, o: &GcOptions) -> Result<Scan> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::os(e.raw_os_error().unwrap_or(libc::EIO), format!("read {dir}")))?;
    let is_shm = Path::new(dir) == Path::new(shm::SHM_DIR);
    let now = SystemTime::now();
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let mut out = Scan::default();
    let mut arrays = Vec::new();
    for e in rd.flatten() {
        let Ok(file) = e.file_name().into_string() else {
            continue;
        };
        let path = e.path();
        let Ok(m) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !m.file_type().is_file() {
            continue;
        }
        let age = ctime_age(&m, now);
        let allocated = m.blocks() * 512;
        if let Some((target, pid)) = parse_temp_name(&file) {
            let state = match open_inspect(&path) {
                None => TempState::Unknown,
                Some(fd) => match temp_is_locked(fd.as_fd()) {
                    Ok(true) => TempState::Live,
                    Ok(false) if age < o.min_age => TempState::Young,
                    Ok(false) => TempState::Stale,
                    Err(_) => TempState::Unknown,
                },
            };
            out.temps.push(Leftover {
                target: target.to_string(),
                pid,
                size: m.size(),
                allocated,
                age,
                uid: m.uid(),
                path,
                state,
            });
            continue;
        }
        if file.starts_with('.') && is_shm {
            continue;
        }
        let Some(fd) = open_inspect(&path) else {
            continue;
        };
        let mut magic = [0u8; 8];
        if !matches!(sys::pread_full(fd.as_raw_fd(), &mut magic, 0), Ok(8))
            || magic != format::MAGIC
        {
            continue;
        }
        let header = read_summary(fd.as_fd());
        drop(fd);
        let name = if is_shm {
            format!("shm://{file}")
        } else {
            path.display().to_string()
        };
        arrays.push((
            NamedArray {
                path,
                name,
                size: m.size(),
                allocated,
                age,
                uid: m.uid(),
                mode: m.mode() & 0o7777,
                header,
                usage: Usage::Unknown,
            },
            (m.dev(), m.ino()),
        ));
    }
    // Every descriptor of ours on these files is closed by now, so our own
    // process counts as a user only if the caller has the array open.
    if !arrays.is_empty() {
        let (users, complete) = proc_users();
        out.all_processes_seen = complete;
        for (a, key) in &mut arrays {
            a.usage = match users.get(key) {
                Some(p) => Usage::InUse(p.clone()),
                None if complete || (a.uid == euid && a.mode & 0o077 == 0) => Usage::Unused,
                None => Usage::Unknown,
            };
        }
    } else {
        out.all_processes_seen = true;
    }
    out.arrays = arrays.into_iter().map(|(a, _)| a).collect();
    out.temps.sort_by(|a, b| a.path.cmp(&b.path));
    out.arrays.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Unlinks `path` if it still names the file (device, inode) we judged
/// and, for a temporary file, its creator still holds no lock.
fn unlink_checked(path: &Path, dev: u64, ino: u64, temp: bool) -> Result<()> {
    let p = path_str(path)?;
    let fd = open_inspect(path)
        .ok_or_else(|| Error::new(Code::NotFound, format!("{p} changed or vanished")))?;
    let st = sys::fstat(fd.as_raw_fd())?;
    if st.st_dev != dev || st.st_ino != ino {
        return Err(Error::new(Code::NotFound, format!("{p} was replaced")));
    }
    if temp && temp_is_locked(fd.as_fd())? {
        return Err(Error::new(Code::Busy, format!("{p} is being created")));
    }
    let m = std::fs::symlink_metadata(path)
        .map_err(|e| Error::os(e.raw_os_error().unwrap_or(libc::EIO), p))?;
    if m.dev() != dev || m.ino() != ino {
        return Err(Error::new(Code::NotFound, format!("{p} was replaced")));
    }
    sys::unlink(p)
}

/// Removes from `dir` the caller's own (same effective uid) temporary files
/// of interrupted creations (and, with `o.unused`, the caller's named arrays
/// no process uses), never one whose creator is alive, never another
/// user's file. With `o.dry_run`, removes nothing and reports what it
/// would remove. A file that vanished meanwhile is not an error; one whose
/// removal failed is listed in [`GcReport::failed`].
pub fn gc(dir: &str, o: &GcOptions) -> Result<GcReport> {
    let s = scan_with(dir, o)?;
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let mut r = GcReport::default();
    let mut take = |path: &Path, temp: bool| {
        let Ok(m) = std::fs::symlink_metadata(path) else {
            return;
        };
        if o.dry_run {
            r.removed.push(path.to_path_buf());
            return;
        }
        match unlink_checked(path, m.dev(), m.ino(), temp) {
            Ok(()) => r.removed.push(path.to_path_buf()),
            Err(e) if e.code == Code::NotFound => {}
            Err(e) => r.failed.push((path.to_path_buf(), e)),
        }
    };
    for t in &s.temps {
        // Only the caller's own files: another user's leftovers are theirs
        // to judge (root included: it runs gc for itself, not for others).
        if t.state == TempState::Stale && t.uid == euid {
            take(&t.path, true);
        }
    }
    if o.unused {
        for a in &s.arrays {
            if a.usage == Usage::Unused && a.age >= o.min_age && a.uid == euid {
                take(&a.path, false);
            }
        }
    }
    Ok(r)
}

/// Removes the stale temporary files of interrupted creations from `dir`
/// (see [`gc`] with default options); returns how many it removed.
pub fn remove_stale(dir: &str) -> Result<u64> {
    Ok(gc(dir, &GcOptions::default())?.removed.len() as u64)
}

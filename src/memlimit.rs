//! Memory limits for memory-backed space.
//!
//! Space on tmpfs (`/dev/shm`, a memfd from `mba_anon`) or ramfs is memory,
//! and the kernel does not refuse it the way a full disk refuses blocks:
//! past a memory cgroup's limit, or past the machine's free memory, a
//! `fallocate` or `write` wakes the OOM killer, which kills the caller or
//! some other process. `RLIMIT_AS` does not count these pages, and
//! `/dev/shm` is usually as large as RAM. So before a memory-backed file
//! grows, [`check_grow`] compares the growth with what is left:
//!
//! - in the memory cgroup of this process and each of its ancestors, up to
//!   the root of the hierarchy (cgroup v1: `memory.limit_in_bytes` minus
//!   `memory.usage_in_bytes`, and the same for `memory.memsw.*` where swap
//!   accounting exists; cgroup v2: `memory.max` minus `memory.current`),
//!   counting the cgroup's page cache (`active_file` + `inactive_file` of
//!   `memory.stat`) as free, because the kernel reclaims it first;
//! - on the machine: `MemAvailable` + `SwapFree` of `/proc/meminfo`.
//!
//! **The rule:** a growth of `N` bytes is refused with [`Code::NoMem`]
//! (`MBA_E_NOMEM`) when, after it, less than a margin would stay free at
//! any of these levels, the margin being 1/8 of that level's limit (of
//! `MemTotal` + `SwapTotal` for the machine), at most 128 MiB. The margin
//! leaves room for the process's own heap, stacks and page tables, which
//! the same limits count. The check is a snapshot: other processes can
//! take the memory right after it, so it prevents the common case (one
//! array asked to grow past what exists), not every race. Files on other
//! filesystems are not checked (a full disk gives `MBA_E_NOSPACE`).

use crate::error::{Code, Error, Result};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

const TMPFS_MAGIC: u32 = 0x0102_1994;
const RAMFS_MAGIC: u32 = 0x8584_58f6;
const MIB: u64 = 1 << 20;
/// The largest margin kept free at any level.
const MAX_MARGIN: u64 = 128 * MIB;
/// Limits at or above this are "no limit" (v1 writes 2^63 - 4096).
const UNLIMITED: u64 = 1 << 60;

/// True if `fd` is a file whose space is memory (tmpfs, shm, memfd, ramfs).
pub fn is_memory_backed(fd: RawFd) -> bool {
    // SAFETY: an all-zero statfs is a valid value of this plain C struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable statfs; fstatfs only writes into it.
    if unsafe { libc::fstatfs(fd, &mut st) } != 0 {
        return false;
    }
    let t = st.f_type as u32;
    t == TMPFS_MAGIC || t == RAMFS_MAGIC
}

/// Refuses (with [`Code::NoMem`]) to grow the file behind `fd` by `bytes`
/// if it is memory-backed and the growth would not fit the memory left to
/// this process (see the module documentation for the rule).
pub fn check_grow(fd: RawFd, bytes: u64) -> Result<()> {
    if bytes == 0 || !is_memory_backed(fd) {
        return Ok(());
    }
    check_bytes(bytes)
}

/// [`check_grow`] given `st`, a fresh `fstat` of `fd`: a file on a block
/// device (`st_dev` of a major number other than 0) is not memory, so it
/// is not asked with `fstatfs` (which sums per-CPU counters on ext4: a
/// few microseconds of every growth). tmpfs, ramfs, `/dev/shm` and memfds
/// all have anonymous device numbers (major 0), and are asked as before.
pub fn check_grow_st(fd: RawFd, st: &libc::stat, bytes: u64) -> Result<()> {
    if bytes == 0 || libc::major(st.st_dev) != 0 {
        return Ok(());
    }
    check_grow(fd, bytes)
}

/// The check of [`check_grow`] for `bytes` of new memory-backed space.
pub fn check_bytes(bytes: u64) -> Result<()> {
    for level in levels() {
        let margin = (level.limit / 8).min(MAX_MARGIN);
        let free = level.free();
        if bytes.saturating_add(margin) > free {
            return Err(Error::new(
                Code::NoMem,
                format!(
                    "growing a memory-backed array (tmpfs/shm/memfd) by {} would leave \
                     less than {} free in {} (limit {}, in use {}, reclaimable {}): refused \
                     instead of running into the kernel's OOM killer",
                    size(bytes),
                    size(margin),
                    level.what,
                    size(level.limit),
                    size(level.used),
                    size(level.reclaimable),
                ),
            ));
        }
    }
    Ok(())
}

/// One level that limits memory: a cgroup or the machine.
#[derive(Debug)]
struct Level {
    what: String,
    limit: u64,
    used: u64,
    reclaimable: u64,
}

impl Level {
    fn free(&self) -> u64 {
        self.limit
            .saturating_sub(self.used)
            .saturating_add(self.reclaimable)
            .min(self.limit)
    }
}

/// Every level that limits this process's memory now.
fn levels() -> Vec<Level> {
    let mut v = Vec::new();
    for (dir, top, version) in cgroup_dirs() {
        let mut d = dir;
        loop {
            cgroup_levels(&d, version, &mut v);
            if d == top || !d.pop() || !d.starts_with(&top) {
                break;
            }
        }
    }
    if let Some(m) = machine() {
        v.push(m);
    }
    v
}

/// The machine: MemAvailable + SwapFree of MemTotal + SwapTotal.
fn machine() -> Option<Level> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
            .map(|k| k.saturating_mul(1024))
    };
    let total = kb("MemTotal")?.saturating_add(kb("SwapTotal").unwrap_or(0));
    let avail = kb("MemAvailable")?.saturating_add(kb("SwapFree").unwrap_or(0));
    Some(Level {
        what: "this machine's memory (MemAvailable + SwapFree)".into(),
        limit: total,
        used: total.saturating_sub(avail),
        reclaimable: 0,
    })
}

fn read_u64(p: &Path) -> Option<u64> {
    let s = std::fs::read_to_string(p).ok()?;
    let s = s.trim();
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// Page cache of the cgroup (`active_file` + `inactive_file`; v1 reports
/// the hierarchical totals as `total_*`).
fn page_cache(dir: &Path, version: u8) -> u64 {
    let Ok(text) = std::fs::read_to_string(dir.join("memory.stat")) else {
        return 0;
    };
    let keys: [&str; 2] = if version == 1 {
        ["total_active_file", "total_inactive_file"]
    } else {
        ["active_file", "inactive_file"]
    };
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            keys.contains(&k).then(|| v.trim().parse::<u64>().ok())?
        })
        .fold(0u64, u64::saturating_add)
}

/// The limits set on one cgroup directory (none if it sets none).
fn cgroup_levels(dir: &Path, version: u8, out: &mut Vec<Level>) {
    let pairs: &[(&str, &str)] = if version == 1 {
        &[
            ("memory.limit_in_bytes", "memory.usage_in_bytes"),
            ("memory.memsw.limit_in_bytes", "memory.memsw.usage_in_bytes"),
        ]
    } else {
        &[("memory.max", "memory.current")]
    };
    let mut cache = None;
    for (lim, use_) in pairs {
        let Some(limit) = read_u64(&dir.join(lim)).filter(|&l| l < UNLIMITED) else {
            continue;
        };
        let used = read_u64(&dir.join(use_)).unwrap_or(0);
        let reclaimable = *cache.get_or_insert_with(|| page_cache(dir, version));
        out.push(Level {
            what: format!("the memory cgroup {} ({lim})", dir.display()),
            limit,
            used,
            reclaimable,
        });
    }
}

/// For each memory cgroup hierarchy this process is in (v1 memory
/// controller, v2 unified): its directory, the hierarchy's mount point,
/// and the version.
fn cgroup_dirs() -> Vec<(PathBuf, PathBuf, u8)> {
    let Ok(cg) = std::fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let Ok(mi) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut v1 = None;
    let mut v2 = None;
    for l in cg.lines() {
        let mut f = l.splitn(3, ':');
        let (Some(id), Some(ctl), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if id == "0" && ctl.is_empty() {
            v2 = Some(path.to_string());
        } else if ctl.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    let mut out = Vec::new();
    for line in mi.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let (root, mnt) = (unescape(pre[3]), unescape(pre[4]));
        let (path, version) = match post[0] {
            "cgroup" if post[2].split(',').any(|o| o == "memory") => (&v1, 1),
            "cgroup2" => (&v2, 2),
            _ => continue,
        };
        let Some(path) = path else { continue };
        let rel = if root != "/" {
            path.strip_prefix(root.as_str()).unwrap_or(path)
        } else {
            path
        };
        let top = PathBuf::from(&mnt);
        let dir = top.join(rel.trim_start_matches('/'));
        if dir.is_dir() && !out.iter().any(|(d, _, _)| d == &dir) {
            out.push((dir, top, version));
        }
    }
    out
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A byte count for messages: "256.0 MiB".
fn size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_mountinfo() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/x\\04"), "/x\\04");
    }

    #[test]
    fn sizes() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(256 * MIB), "256.0 MiB");
    }

    /// The growth path's shortcut: a file on a block device (here the
    /// build directory's filesystem, when it is one) is never checked; a
    /// memfd (anonymous device, like tmpfs and /dev/shm) still is.
    #[test]
    fn check_grow_st_asks_only_anonymous_devices() {
        use std::os::fd::{AsRawFd, FromRawFd};
        let too_much = u64::MAX / 2;
        // SAFETY: a valid C string; the returned descriptor is owned below.
        let fd = unsafe { libc::memfd_create(c"mba-memlimit-test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor nobody else owns.
        let memfd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let st = crate::sys::fstat(memfd.as_raw_fd()).unwrap();
        assert_eq!(libc::major(st.st_dev), 0);
        let e = check_grow_st(memfd.as_raw_fd(), &st, too_much).unwrap_err();
        assert_eq!(e.code, Code::NoMem);
        let dir = [
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
            std::env::temp_dir(),
        ]
        .into_iter()
        .find(|d| d.is_dir())
        .unwrap();
        let path = dir.join(format!("memlimit-test-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let st = crate::sys::fstat(f.as_raw_fd()).unwrap();
        std::fs::remove_file(&path).unwrap();
        if libc::major(st.st_dev) != 0 {
            assert!(!is_memory_backed(f.as_raw_fd()));
            check_grow_st(f.as_raw_fd(), &st, too_much).unwrap();
        }
    }

    #[test]
    fn levels_include_the_machine() {
        assert!(levels().iter().any(|l| l.what.contains("machine")));
        // More than the machine has is always refused.
        let e = check_bytes(u64::MAX / 2).unwrap_err();
        assert_eq!(e.code, Code::NoMem);
        check_bytes(4096).unwrap();
    }
}

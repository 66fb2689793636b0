//! Thin, checked wrappers over the Linux system calls the library needs:
//! futexes, OFD byte locks, space allocation that cannot raise SIGXFSZ,
//! memfd, atomic linking of new files. Nothing here knows the format.

use crate::error::{errno, Error, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Converts a Rust path string to a C string, refusing interior NULs.
pub fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(crate::Code::Arg, "name contains a NUL byte"))
}

/// `open(2)` returning an owned descriptor. With `O_NOFOLLOW`, a symbolic
/// link at the last component is refused as `Perm` with a message that
/// says so (the kernel's ELOOP would read "too many levels of symbolic
/// links").
pub fn open(path: &str, flags: i32, mode: u32) -> Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        if flags & libc::O_NOFOLLOW != 0 && errno() == libc::ELOOP {
            return Err(Error::new(
                crate::Code::Perm,
                format!(
                    "open {path}: is a symbolic link (libmba never follows one at the \
                     last component of a name; name the target instead)"
                ),
            ));
        }
        return Err(Error::last_os(format!("open {path}")));
    }
    // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat(2)`.
pub fn fstat(fd: RawFd) -> Result<libc::stat> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `stat`; fstat only writes into it.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Error::last_os("fstat"));
    }
    Ok(st)
}

/// `lstat(2)` of a path: a symbolic link at the last component is reported
/// as a link, not followed (every open of libmba uses `O_NOFOLLOW`).
pub fn lstat(path: &str) -> Result<libc::stat> {
    let c = cstr(path)?;
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable `stat` for the call.
    if unsafe { libc::lstat(c.as_ptr(), &mut st) } != 0 {
        return Err(Error::last_os(format!("lstat {path}")));
    }
    Ok(st)
}

/// True if `st` shows at least as many allocated bytes as the file is long:
/// then it has no hole (a cheap test; filesystems that count metadata
/// blocks in `st_blocks` can hide a small hole from it). libmba's own files
/// pass: creation and growth allocate every byte from offset 0, and on ext4
/// and XFS `st_blocks` counts allocated-but-unwritten extents too.
pub fn fully_allocated(st: &libc::stat) -> bool {
    (st.st_blocks.max(0) as u64).saturating_mul(512) >= st.st_size.max(0) as u64
}

/// Offset of the first hole at or after `from` (`lseek(SEEK_HOLE)`; the
/// end of the file counts as a hole). A filesystem that cannot report holes
/// reports none. Note that ext4 reports allocated-but-unwritten extents
/// without cached pages as holes: only ask after [`fully_allocated`] failed,
/// and never treat the answer as more than "the bytes before it are data".
pub fn first_hole(fd: RawFd, from: u64) -> Result<u64> {
    // SAFETY: plain syscall on a descriptor the caller owns; no memory passed.
    let r = unsafe { libc::lseek(fd, from as libc::off_t, libc::SEEK_HOLE) };
    if r >= 0 {
        return Ok(r as u64);
    }
    match errno() {
        // Offset at or past the end: no data there at all.
        libc::ENXIO => Ok(from),
        libc::EINVAL | libc::EOPNOTSUPP => Ok(u64::MAX),
        e => Err(Error::os(e, "lseek(SEEK_HOLE)")),
    }
}

/// `pread(2)` of exactly as many bytes as the file has, up to `buf.len()`.
pub fn pread_full(fd: RawFd, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the destination range lies inside `buf`, which is writable.
        let n = unsafe {
            libc::pread(
                fd,
                buf[done..].as_mut_ptr().cast(),
                buf.len() - done,
                (offset + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(Error::last_os("pread"));
        }
        if n == 0 {
            break;
        }
        done += n as usize;
    }
    Ok(done)
}

/// `pwrite(2)` of the whole buffer.
pub fn pwrite_all(fd: RawFd, buf: &[u8], offset: u64) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the source range lies inside `buf`.
        let n = unsafe {
            libc::pwrite(
                fd,
                buf[done..].as_ptr().cast(),
                buf.len() - done,
                (offset + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(Error::last_os("pwrite"));
        }
        done += n as usize;
    }
    Ok(())
}

/// Makes the file at least `size` bytes long with space really allocated,
/// so that later stores through a mapping cannot raise SIGBUS. Refuses
/// (instead of raising SIGXFSZ) a size past `RLIMIT_FSIZE`. Never shrinks.
/// Holes below `size` (another program grew the file with `ftruncate`)
/// are allocated too (see [`fill_holes`]).
pub fn allocate(fd: RawFd, size: u64) -> Result<()> {
    allocate_after(fd, size, &fstat(fd)?)
}

/// [`allocate`] given `st`, the `fstat` of `fd` the caller has just taken
/// (under the writer lock, so nobody of libmba grew the file since): the
/// growth path saves a second `fstat`.
pub fn allocate_after(fd: RawFd, size: u64, st: &libc::stat) -> Result<()> {
    let cur = st.st_size.max(0) as u64;
    if !fully_allocated(st) {
        fill_holes(fd, first_hole(fd, 0)?, cur.min(size))?;
    }
    if size <= cur {
        return Ok(());
    }
    check_fsize(size)?;
    crate::memlimit::check_grow_st(fd, st, size - cur)?;
    fallocate_range(fd, cur, size, true)
}

/// Allocates the holes in `[from, to)` of the file (`fallocate` mode 0;
/// allocated parts are left as they are; `to` at most the file size, so
/// the size never changes). A full filesystem is `NoSpace`, with nothing
/// changed. On a filesystem without `fallocate` (ZFS before 2.2) it does
/// nothing: glibc's emulation writes a zero byte into every block that
/// reads as zero, which could race with a writer of published rows, and
/// such filesystems often store zero blocks as holes anyway.
pub fn fill_holes(fd: RawFd, from: u64, to: u64) -> Result<()> {
    if to <= from {
        return Ok(());
    }
    fallocate_range(fd, from, to, false)
}

/// `fallocate(fd, 0, from, to - from)` with SIGXFSZ blocked, retried on
/// EINTR; where unsupported, emulated by glibc's `posix_fallocate` if
/// `emulate`, else left undone.
fn fallocate_range(fd: RawFd, from: u64, to: u64, emulate: bool) -> Result<()> {
    let (off, len) = (from as libc::off_t, (to - from) as libc::off_t);
    // Belt and braces: if the limit was lowered by another thread after the
    // check, block SIGXFSZ in this thread and consume it rather than die.
    with_sigxfsz_blocked(|| loop {
        // SAFETY: plain syscall on a descriptor we own; no memory is passed.
        let r = unsafe { libc::fallocate(fd, 0, off, len) };
        if r == 0 {
            return Ok(());
        }
        match errno() {
            libc::EINTR => continue,
            libc::EOPNOTSUPP if !emulate => return Ok(()),
            libc::EOPNOTSUPP => {
                // SAFETY: as above; glibc emulates allocation by writing blocks.
                let r = unsafe { libc::posix_fallocate(fd, off, len) };
                return if r == 0 {
                    Ok(())
                } else {
                    Err(Error::os(r, format!("allocating {to} bytes")))
                };
            }
            e => return Err(Error::os(e, format!("allocating {to} bytes"))),
        }
    })
}

/// Writes `len` bytes from `src` at `offset` with pwrite(2), growing the
/// file as needed: for a large append this beats allocating the space and
/// copying through a mapping, because the kernel neither zeroes the new
/// pages first nor maps them into this process. Refuses (instead of
/// raising SIGXFSZ) an end past `RLIMIT_FSIZE`. An unreadable `src` is an
/// error (EFAULT), not a signal. On error a prefix may have been written.
///
/// # Safety
/// `src` must be valid for reads of `len` bytes (the kernel only reads it).
pub unsafe fn write_at(fd: RawFd, src: *const u8, len: usize, offset: u64) -> Result<()> {
    let end = offset
        .checked_add(len as u64)
        .filter(|&e| e <= i64::MAX as u64)
        .ok_or_else(|| Error::os(libc::EFBIG, "file size"))?;
    check_fsize(end)?;
    let st = fstat(fd)?;
    let cur = st.st_size.max(0) as u64;
    if end > cur {
        crate::memlimit::check_grow_st(fd, &st, end - cur)?;
    }
    with_sigxfsz_blocked(|| {
        let mut done = 0usize;
        while done < len {
            // SAFETY: the caller guarantees `src` for `len` bytes; the
            // kernel copies from it and reports a bad address as EFAULT.
            let n = unsafe {
                libc::pwrite(
                    fd,
                    src.add(done).cast(),
                    len - done,
                    (offset + done as u64) as libc::off_t,
                )
            };
            if n < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return Err(Error::last_os(format!("writing {len} bytes")));
            }
            if n == 0 {
                return Err(Error::os(libc::ENOSPC, format!("writing {len} bytes")));
            }
            done += n as usize;
        }
        Ok(())
    })
}

/// Refuses a file size past `RLIMIT_FSIZE` (which would raise SIGXFSZ).
fn check_fsize(size: u64) -> Result<()> {
    // SAFETY: an all-zero rlimit is valid; getrlimit only writes into it.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `rl` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut rl) } == 0
        && rl.rlim_cur != libc::RLIM_INFINITY
        && size > rl.rlim_cur as u64
    {
        return Err(Error::os(
            libc::EFBIG,
            format!(
                "growing to {size} bytes exceeds RLIMIT_FSIZE ({})",
                rl.rlim_cur
            ),
        ));
    }
    if size > i64::MAX as u64 {
        return Err(Error::os(libc::EFBIG, "file size"));
    }
    Ok(())
}

fn with_sigxfsz_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t values are initialised by sigemptyset before use;
    // pthread_sigmask only reads `set` and writes `old`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGXFSZ);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let r = f();
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) == libc::SIGXFSZ {}
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

/// Outcome of a futex wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// Woken, or the word no longer held the expected value.
    Woken,
    TimedOut,
    Interrupted,
}

/// `FUTEX_WAIT` (shared, not private: the word is in a shared mapping).
pub(crate) fn futex_wait(word: *const u32, expected: u32, timeout: Option<Duration>) -> Wake {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: the caller passes an aligned 32-bit word inside a live mapping;
    // the kernel only reads it atomically; `tsp` is NULL or points to a live timespec.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAIT,
            expected,
            tsp,
            0usize,
            0u32,
        )
    };
    if r == 0 {
        return Wake::Woken;
    }
    match errno() {
        libc::ETIMEDOUT => Wake::TimedOut,
        libc::EINTR => Wake::Interrupted,
        _ => Wake::Woken, // EAGAIN: value changed
    }
}

/// [`futex_wait`] with a timeout; `precise`: with 1 µs of timer slack
/// instead of the thread's (50 µs by default), restored after (a waiter
/// polling for a dead lock holder sleeps ~20 µs at a time).
pub(crate) fn futex_wait_precise(
    word: *const u32,
    expected: u32,
    timeout: Duration,
    precise: bool,
) -> Wake {
    if !precise {
        return futex_wait(word, expected, Some(timeout));
    }
    // SAFETY: PR_GET/SET_TIMERSLACK take integer arguments only and
    // affect the calling thread alone.
    let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000u64, 0, 0, 0) };
    let r = futex_wait(word, expected, Some(timeout));
    if old > 0 {
        // SAFETY: as above; restores the thread's own value.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, old as u64, 0, 0, 0) };
    }
    r
}

/// `FUTEX_WAKE` of one waiter on `word` (shared, not private).
pub(crate) fn futex_wake_one(word: *const u32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAKE,
            1i32,
            0usize,
            0usize,
            0u32,
        );
    }
}

/// `FUTEX_WAKE` of all waiters on `word`.
pub(crate) fn futex_wake_all(word: *const u32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        );
    }
}

fn flock_at(typ: i32, offset: i64) -> libc::flock {
    // SAFETY: an all-zero flock is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = typ as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset as libc::off_t;
    fl.l_len = 1;
    fl
}

/// Takes an OFD write lock on one byte without waiting. `Ok(false)` if another
/// open file description holds it.
pub fn ofd_try_lock(fd: RawFd, offset: i64) -> Result<bool> {
    let fl = flock_at(libc::F_WRLCK, offset);
    // SAFETY: `fl` is a valid flock; F_OFD_SETLK only reads it.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    match errno() {
        libc::EAGAIN | libc::EACCES => Ok(false),
        e => Err(Error::os(e, "fcntl(F_OFD_SETLK)")),
    }
}

/// Releases an OFD lock this description holds on the byte at `offset`.
pub fn ofd_unlock(fd: RawFd, offset: i64) -> Result<()> {
    let fl = flock_at(libc::F_UNLCK, offset);
    // SAFETY: `fl` is a valid flock; F_OFD_SETLK only reads it.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) } != 0 {
        return Err(Error::last_os("fcntl(F_OFD_SETLK, F_UNLCK)"));
    }
    Ok(())
}

/// True if some open file description other than `fd`'s holds a lock on the
/// byte at `offset`.
pub fn ofd_is_locked(fd: RawFd, offset: i64) -> Result<bool> {
    let mut fl = flock_at(libc::F_WRLCK, offset);
    // SAFETY: `fl` is a valid, writable flock; F_OFD_GETLK writes into it.
    if unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut fl) } != 0 {
        return Err(Error::last_os("fcntl(F_OFD_GETLK)"));
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// A new anonymous memory file, sealable.
pub fn memfd(name: &str) -> Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid C string; memfd_create returns a new descriptor.
    let fd = unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(Error::last_os("memfd_create"));
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Seals a memfd against shrinking (and against further seal changes).
pub fn seal_no_shrink(fd: RawFd) -> Result<()> {
    // SAFETY: plain fcntl on a descriptor we own.
    if unsafe {
        libc::fcntl(
            fd,
            libc::F_ADD_SEALS,
            libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL,
        )
    } != 0
    {
        return Err(Error::last_os("fcntl(F_ADD_SEALS)"));
    }
    Ok(())
}

/// Links `tmp` under `dst` only if `dst` does not exist; `Ok(false)` if it does.
pub fn rename_noreplace(tmp: &str, dst: &str) -> Result<bool> {
    let (a, b) = (cstr(tmp)?, cstr(dst)?);
    // SAFETY: both are valid C strings for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    match errno() {
        libc::EEXIST => Ok(false),
        libc::EINVAL | libc::ENOSYS => {
            // Filesystem without RENAME_NOREPLACE: link(2) is exclusive too.
            // SAFETY: valid C strings.
            if unsafe { libc::link(a.as_ptr(), b.as_ptr()) } != 0 {
                return if errno() == libc::EEXIST {
                    Ok(false)
                } else {
                    Err(Error::last_os(format!("link {dst}")))
                };
            }
            // SAFETY: valid C string.
            unsafe { libc::unlink(a.as_ptr()) };
            Ok(true)
        }
        e => Err(Error::os(e, format!("rename to {dst}"))),
    }
}

/// Atomically replaces `dst` with `tmp`.
pub fn rename_replace(tmp: &str, dst: &str) -> Result<()> {
    let (a, b) = (cstr(tmp)?, cstr(dst)?);
    // SAFETY: valid C strings.
    if unsafe { libc::rename(a.as_ptr(), b.as_ptr()) } != 0 {
        return Err(Error::last_os(format!("rename to {dst}")));
    }
    Ok(())
}

/// `unlink(2)`.
pub fn unlink(path: &str) -> Result<()> {
    let c = cstr(path)?;
    // SAFETY: valid C string.
    if unsafe { libc::unlink(c.as_ptr()) } != 0 {
        return Err(Error::last_os(format!("unlink {path}")));
    }
    Ok(())
}

/// 64 random bits from the kernel (never fails: falls back to time and pid).
pub fn random_u64() -> u64 {
    let mut v = 0u64;
    // SAFETY: writes at most 8 bytes into `v`.
    let n = unsafe { libc::getrandom((&mut v as *mut u64).cast(), 8, libc::GRND_NONBLOCK) };
    if n != 8 {
        v = now_ns() ^ ((std::process::id() as u64) << 32);
    }
    v
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Reopens the file behind `fd` as a new open file description.
pub fn reopen(fd: &OwnedFd, flags: i32) -> Result<OwnedFd> {
    open(&format!("/proc/self/fd/{}", fd.as_raw_fd()), flags, 0)
}

/// `msync(2)` of a byte range of a mapping, widened to whole pages.
pub(crate) fn msync(base: *mut u8, off: usize, len: usize, flags: i32) -> Result<()> {
    let page = page_size();
    let start = off / page * page;
    let end = off
        .checked_add(len)
        .ok_or_else(|| Error::new(crate::Code::Overflow, "flush range"))?;
    // SAFETY: the caller guarantees [off, off+len) lies in the mapping at
    // `base`, which is page-aligned, so the widened range does too.
    if unsafe { libc::msync(base.add(start).cast(), end - start, flags) } != 0 {
        return Err(Error::last_os("msync"));
    }
    Ok(())
}

/// Whether the pages holding the first and the last byte of `[p, p + len)`
/// both have a page-table entry in this process now (the "present" bit of
/// `/proc/self/pagemap`, readable without privileges). A hint only, never
/// a guarantee (the kernel may unmap a page at any time): `false` when
/// pagemap cannot be read. Opened per call, so a forked child reads its
/// own page tables (an inherited pagemap descriptor reads its opener's).
pub fn pages_mapped(p: *const u8, len: usize) -> bool {
    if len == 0 {
        return false;
    }
    let Ok(f) = open("/proc/self/pagemap", libc::O_RDONLY, 0) else {
        return false;
    };
    let page = page_size();
    let present = |addr: usize| {
        let mut e = [0u8; 8];
        let off = (addr / page) as u64 * 8;
        matches!(pread_full(f.as_raw_fd(), &mut e, off), Ok(8))
            && u64::from_ne_bytes(e) & (1 << 63) != 0
    };
    present(p as usize) && present((p as usize).wrapping_add(len - 1))
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// The calling thread's key: its thread pointer (unique among live
/// threads, never 0), one load, readable in a signal handler. The lock's
/// batch owner and the SIGBUS guard's slots are keyed by it.
#[inline(always)]
pub(crate) fn thread_key() -> usize {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        // The x86-64 TLS ABI puts the thread control block's own address
        // at %fs:0 (glibc and musl alike).
        let tp: usize;
        // SAFETY: reads one word of the calling thread's own TCB.
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:0", out(reg) tp, options(nostack, readonly, preserves_flags))
        };
        tp
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        // SAFETY: pthread_self reads the thread pointer; no preconditions.
        unsafe { libc::pthread_self() as usize }
    }
}

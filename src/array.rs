//! [`Array`]: a typed, growable array in a mapped file, shared-memory object
//! or memfd — the safe Rust API, used directly by Rust programs and wrapped
//! by the C ABI.
//!
//! Memory model. The mapping may be written by other processes at any time,
//! so no `&[T]` or `&mut [T]` is ever formed over it: elements move with
//! `ptr::copy_nonoverlapping` between the mapping and caller memory, and the
//! header's mutable words are read and written as atomics. Every length and
//! index read from the header is clamped to the capacity this handle has
//! verified against the file's real size, so a hostile or crashed writer can
//! make us return an error but never make us touch memory past end-of-file.
//!
//! The whole reservation (`data_offset + max_len * row_bytes`) is mapped
//! once, so growth by any process is visible without remapping and a
//! pointer from [`Array::as_ptr`] stays valid for the handle's life. The
//! handles of one process on one file and access share that mapping (see
//! `MapCache`).

use crate::error::{Code, Error, Result};
use crate::format::{self, ElemType, Header, Layout, Writability, HEADER_SIZE};
use crate::guard;
use crate::lock::{self, Token};
use crate::protocol::{self, Native, Words};
use crate::sys;
use crate::value::{self, Cell};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod checks;

/// How a handle may use the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Access {
    /// Read and write; sees growth by others.
    #[default]
    ReadWrite,
    /// Read only; sees growth by others.
    ReadOnly,
    /// A private copy-on-write snapshot: length fixed at open, sees no
    /// growth, cannot wait, writes never reach the file.
    CopyOnWrite,
}

/// What kind of backing a handle has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file or shared-memory object with an mba header, shared with others.
    Shared,
    /// A private copy-on-write mapping of an mba file.
    Private,
    /// A raw binary file without header, fixed length.
    Raw,
}

/// Options for opening or creating an array.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Create the array if it does not exist.
    pub create: bool,
    /// With `create`: fail with `Exists` if it exists.
    pub exclusive: bool,
    /// Publish a new empty array under the name atomically, replacing any
    /// existing one (whose current users keep their memory).
    pub replace: bool,
    /// With `create` (open-or-create): accept an existing array owned by
    /// another user. Without it such an array is refused with `Owner`.
    pub foreign: bool,
    pub access: Access,
    /// File mode of a new file (0 = 0600).
    pub mode: u32,
    /// Expected element type of an existing array (`None` = any).
    pub expect: Option<ElemType>,
    /// Type and shape of a new array (required when creating).
    pub layout: Option<Layout>,
    /// Zero-filled rows a new array starts with.
    pub initial_len: u64,
    /// Rows to reserve on disk at creation.
    pub capacity: u64,
    /// Largest length the array may ever reach (0 = 64 GiB worth of rows,
    /// or `MBA_RESERVE` bytes' worth: see `reserve.rs`).
    pub max_len: u64,
}

impl Options {
    /// Options that create a flat array of `elem` if none exists.
    pub fn create(elem: ElemType) -> Options {
        Options {
            create: true,
            layout: Layout::scalar(elem).ok(),
            ..Options::default()
        }
    }
}

/// How [`Array::flush`] writes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// Write back and wait (durable: data first, then the header).
    Sync,
    /// Schedule write-back and return.
    Async,
    /// Invalidate cached copies (`MS_INVALIDATE`).
    Invalidate,
}

/// The memory of one mapping and the descriptor it maps; shared (through
/// `Arc`) by the handles of this process that opened the same file with the
/// same access (see [`MapCache`]) and by the pins that keep it mapped after
/// the handles are closed.
pub struct Mapping {
    base: *mut u8,
    len: usize,
    _keep: Backing,
    file: OwnedFd,
    /// The largest capacity (rows) any handle has verified against the file
    /// (size and allocation), lowered when a handle finds the file shrunk:
    /// an open that finds the file shorter than this maps it afresh.
    verified: AtomicU64,
    /// What the SIGBUS guard needs: bounds, protection, poisoned flag.
    zone: guard::Zone,
}

enum Backing {
    Shared(#[allow(dead_code)] memmap2::MmapRaw),
    Private(#[allow(dead_code)] memmap2::MmapMut),
    None,
}

// SAFETY: a Mapping is a region of process memory plus the object that owns
// it; all accesses through `base` are raw-pointer or atomic accesses whose
// synchronisation is the callers' (documented) business.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Start of the mapping.
    pub fn base(&self) -> *mut u8 {
        self.base
    }
    /// Bytes mapped (the reservation, not the file size).
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True once the SIGBUS guard has repaired a fault in this mapping
    /// (the file was truncated under it): its memory no longer mirrors the
    /// file, every access through it fails with `Code::Truncated`, and it
    /// must not be handed to new handles (the mapping cache skips it).
    pub fn is_poisoned(&self) -> bool {
        self.zone.is_poisoned()
    }

    /// Maps `len` bytes of `file` from `offset` (nothing if `len` is 0):
    /// shared for read-write and read-only access, private for
    /// copy-on-write. The mapping owns the descriptor.
    fn new(file: OwnedFd, offset: u64, len: usize, access: Access) -> Result<Mapping> {
        let mut mo = memmap2::MmapOptions::new();
        mo.offset(offset).len(len);
        let (base, keep) = if len == 0 {
            (
                ptr::NonNull::<u64>::dangling().as_ptr().cast(),
                Backing::None,
            )
        } else {
            match access {
                Access::ReadWrite => {
                    let m = mo
                        .map_raw(&file)
                        .map_err(|e| crate::reserve::mmap_error(e, len))?;
                    (m.as_mut_ptr(), Backing::Shared(m))
                }
                Access::ReadOnly => {
                    let m = mo
                        .map_raw_read_only(&file)
                        .map_err(|e| crate::reserve::mmap_error(e, len))?;
                    (m.as_mut_ptr(), Backing::Shared(m))
                }
                Access::CopyOnWrite => {
                    // SAFETY: a private mapping; its bytes are only accessed
                    // through raw pointers, never as a slice.
                    let mut m = unsafe { mo.map_copy(&file) }
                        .map_err(|e| crate::reserve::mmap_error(e, len))?;
                    (m.as_mut_ptr(), Backing::Private(m))
                }
            }
        };
        Ok(Mapping {
            base,
            len,
            _keep: keep,
            file,
            verified: AtomicU64::new(0),
            zone: guard::Zone::new(base, len, access != Access::ReadOnly),
        })
    }
}

/// Handles of one process that open the same file (device and inode) with
/// the same access share one mapping: a second open costs a `stat` instead
/// of `open` + `fstat` + `pread` + `mmap` + a page fault, and a process can
/// attach an array many times without spending its address space one whole
/// reservation at a time. Entries are weak: the mapping goes when its last
/// handle and pin go. Its lock is a [`lock::ForkLock`], held for a scan of
/// the live entries and never inherited taken by a forked child.
struct CacheEntry {
    dev: u64,
    ino: u64,
    writable: bool,
    header: Header,
    map: std::sync::Weak<Mapping>,
}

struct MapCache;

static MAP_CACHE: lock::ForkLock<Vec<CacheEntry>> = lock::ForkLock::new(Vec::new());

impl MapCache {
    fn with<R>(f: impl FnOnce(&mut Vec<CacheEntry>) -> R) -> R {
        MAP_CACHE.with(f)
    }

    /// True if some mapping may be reused (so a lookup is worth a stat).
    fn any_live() -> bool {
        Self::with(|v| v.iter().any(|e| e.map.strong_count() > 0))
    }

    /// The live mapping of (dev, ino) with this access, and its header.
    fn find(dev: u64, ino: u64, writable: bool) -> Option<(Arc<Mapping>, Header)> {
        Self::with(|v| {
            v.iter()
                .find(|e| e.dev == dev && e.ino == ino && e.writable == writable)
                .and_then(|e| Some((e.map.upgrade()?, e.header.clone())))
        })
    }

    /// Drops `map` from the cache (another process shrank its file): new
    /// opens map the file afresh; the handles that have it keep it.
    fn evict(map: &Arc<Mapping>) {
        let p = Arc::as_ptr(map);
        Self::with(|v| v.retain(|e| e.map.as_ptr() != p));
    }

    fn insert(dev: u64, ino: u64, writable: bool, header: &Header, map: &Arc<Mapping>) {
        Self::with(|v| {
            v.retain(|e| {
                e.map.strong_count() > 0
                    && !(e.dev == dev && e.ino == ino && e.writable == writable)
            });
            v.push(CacheEntry {
                dev,
                ino,
                writable,
                header: header.clone(),
                map: Arc::downgrade(map),
            });
        });
    }
}

/// A 512-byte header in private memory, for raw files that have none.
#[repr(C, align(64))]
struct PrivHeader([u8; HEADER_SIZE as usize]);

/// An open memory-backed array.
pub struct Array {
    map: Arc<Mapping>,
    hdr: *mut u8,
    _priv_hdr: Option<Box<PrivHeader>>,
    data: *mut u8,
    layout: Layout,
    rb: u64,
    data_offset: u64,
    max_len: u64,
    kind: Kind,
    writable: bool,
    uuid: u64,
    verified: AtomicU64,
    token: Token,
    /// Thread holding the lock through [`Array::lock`] (0 = none), and the
    /// fork generation it was taken in.
    batch_owner: AtomicUsize,
    batch_gen: AtomicU64,
    path: Option<String>,
}

// SAFETY: all shared state is in atomics, the mapping (see Mapping) or
// immutable fields; the raw pointers point into `map`, which lives as long
// as the Array.
unsafe impl Send for Array {}
// SAFETY: as above.
unsafe impl Sync for Array {}

/// An identifier of the calling thread, cheap to get (no TLS lookup).
#[inline(always)]
fn tid() -> usize {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        // The x86-64 TLS ABI puts a pointer to the thread control block at
        // %fs:0 (glibc and musl alike): unique per live thread, one load.
        let tp: usize;
        // SAFETY: reads one word of the calling thread's own TCB.
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:0", out(reg) tp, options(nostack, readonly, preserves_flags))
        };
        tp
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        // SAFETY: pthread_self has no preconditions and cannot fail.
        unsafe { libc::pthread_self() as usize }
    }
}

/// The protocol's header words (`crate::protocol`): std atomics over the
/// mapped (or private) header.
impl Words for Array {
    type M = Native;
    #[inline(always)]
    fn lock_word(&self) -> &AtomicU32 {
        self.w32(format::OFF_LOCK)
    }
    #[inline(always)]
    fn waiters_word(&self) -> &AtomicU32 {
        self.w32(format::OFF_WAITERS)
    }
    #[inline(always)]
    fn len_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_LEN)
    }
    #[inline(always)]
    fn cap_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_CAPACITY)
    }
    #[inline(always)]
    fn seq_word(&self) -> &AtomicU64 {
        self.w64(format::OFF_SEQ)
    }
}

/// What a locked operation changed.
enum Change {
    Nothing,
    Data,
    Len(u64),
}

impl Array {
    // ---------------------------------------------------------------- open

    /// Opens (and with `o.create`, creates) the array at `path`. A symbolic
    /// link at the last component is never followed (`Perm`). Open-or-create
    /// refuses an existing array of another user unless `o.foreign`
    /// (`Owner`), and gives up with `Exists` after [`OPEN_ROUNDS`] rounds of
    /// "not found, then created by someone else first" instead of looping.
    pub fn open(path: &str, o: &Options) -> Result<Array> {
        // An invalid MBA_RESERVE fails every open, not only a creation.
        crate::reserve::default_bytes()?;
        if o.replace || (o.create && o.exclusive) {
            return create_named(path, o, o.replace);
        }
        for _ in 0..OPEN_ROUNDS {
            match open_existing(path, o) {
                Err(e) if e.code == Code::NotFound && o.create => {
                    match create_named(path, o, false) {
                        Err(e) if e.code == Code::Exists => continue,
                        r => return r,
                    }
                }
                r => return r,
            }
        }
        Err(Error::new(
            Code::Exists,
            format!(
                "{path}: neither opened nor created in {OPEN_ROUNDS} rounds (the name \
                 exists whenever we create it and is gone whenever we open it)"
            ),
        ))
    }

    /// A new anonymous array backed by a memfd: share it by fd (see
    /// [`Array::fd`]) or across `fork`. It is sealed against shrinking.
    pub fn anon(o: &Options) -> Result<Array> {
        let layout = o
            .layout
            .clone()
            .ok_or_else(|| Error::new(Code::Arg, "an anonymous array needs a type"))?;
        let fd = sys::memfd("mba-anon")?;
        init_file(&fd, &layout, o)?;
        sys::seal_no_shrink(fd.as_raw_fd())?;
        map_fd(fd, o.access, o.expect, None)
    }

    /// Attaches to the array behind an open descriptor (which is duplicated;
    /// the caller keeps its own).
    pub fn from_fd(fd: RawFd, access: Access, expect: Option<ElemType>) -> Result<Array> {
        // SAFETY: F_DUPFD_CLOEXEC has no memory preconditions.
        let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if d < 0 {
            return Err(Error::last_os("dup"));
        }
        // SAFETY: `d` is a fresh descriptor owned by nobody else.
        map_fd(unsafe { OwnedFd::from_raw_fd(d) }, access, expect, None)
    }

    /// Maps a raw binary file (no header) as a fixed-length array of rows of
    /// `layout`, starting `offset` bytes into the file. `rows` = `None` maps
    /// every complete row. The length never changes.
    pub fn map_raw(
        path: &str,
        layout: &Layout,
        offset: u64,
        rows: Option<u64>,
        access: Access,
    ) -> Result<Array> {
        // A copy-on-write map never writes to the file: a read-only
        // descriptor is enough, so a file we may only read can be mapped.
        let flags = if access == Access::ReadWrite {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        // O_NONBLOCK: never block on a FIFO (refused below as not regular).
        let file = sys::open(path, flags | libc::O_NONBLOCK | libc::O_NOFOLLOW, 0)?;
        let size = regular_size(&file)?;
        let rb = layout.row_bytes();
        if offset > size {
            return Err(Error::new(
                Code::Arg,
                format!("offset {offset} is past the end of the file ({size} bytes)"),
            ));
        }
        let avail = (size - offset) / rb;
        let rows = match rows {
            Some(r) if r > avail => {
                return Err(Error::new(
                    Code::Truncated,
                    format!("the file holds {avail} rows past the offset, not {r}"),
                ))
            }
            Some(r) => r,
            None => avail,
        };
        let bytes = rows
            .checked_mul(rb)
            .filter(|&b| b <= usize::MAX as u64 / 2)
            .ok_or_else(|| Error::new(Code::Overflow, "mapping size overflows"))?
            as usize;
        let map = Mapping::new(file, offset, bytes, access)?;
        let mut ph = Box::new(PrivHeader([0; HEADER_SIZE as usize]));
        ph.0[format::OFF_LEN..format::OFF_LEN + 8].copy_from_slice(&rows.to_le_bytes());
        ph.0[format::OFF_CAPACITY..format::OFF_CAPACITY + 8].copy_from_slice(&rows.to_le_bytes());
        let hdr = ph.0.as_mut_ptr();
        let data = map.base;
        Ok(Array {
            map: Arc::new(map),
            hdr,
            _priv_hdr: Some(ph),
            data,
            layout: layout.clone(),
            rb,
            data_offset: offset,
            max_len: rows,
            kind: Kind::Raw,
            writable: access != Access::ReadOnly,
            uuid: 0,
            verified: AtomicU64::new(rows),
            token: Token::private(),
            batch_owner: AtomicUsize::new(0),
            batch_gen: AtomicU64::new(0),
            path: Some(path.to_string()),
        })
    }

    // ---------------------------------------------------------- properties

    /// Element type, item size and row shape.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// Bytes of one row (one element for a flat array).
    pub fn row_bytes(&self) -> u64 {
        self.rb
    }
    /// Kind of backing.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// True if writes stay in this process (copy-on-write, of an mba file
    /// or of a raw file).
    pub fn is_private(&self) -> bool {
        matches!(self.map._keep, Backing::Private(_))
    }
    /// True if this handle may write.
    pub fn is_writable(&self) -> bool {
        self.writable
    }
    /// Largest length this array can reach.
    pub fn max_len(&self) -> u64 {
        self.max_len
    }
    /// Random identity of this array (changes when a name is replaced).
    pub fn uuid(&self) -> u64 {
        self.uuid
    }
    /// The path this handle was opened by, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
    /// The descriptor of the mapped file (borrowed; shared by the handles of
    /// one mapping, closed with the last of them and of its pins).
    pub fn fd(&self) -> RawFd {
        self.file().as_raw_fd()
    }

    /// The descriptor of the mapped file (shared with the handles and pins
    /// of the same mapping).
    fn file(&self) -> &OwnedFd {
        &self.map.file
    }
    /// Start of the elements. Valid for the life of the handle (or of a pin
    /// of [`Array::mapping`]); only the first `len()` rows are meaningful.
    pub fn as_ptr(&self) -> *mut u8 {
        self.data
    }
    /// The mapping, to keep the memory mapped after the handle is dropped.
    pub fn mapping(&self) -> Arc<Mapping> {
        self.map.clone()
    }
    /// Address of the 64-bit length word (read it with an acquire load;
    /// clamp it to `capacity()` before use).
    pub fn len_ptr(&self) -> *const u64 {
        // SAFETY: OFF_LEN is inside the header, which is mapped or private.
        unsafe { self.hdr.add(format::OFF_LEN).cast() }
    }

    #[inline]
    fn w64(&self, off: usize) -> &AtomicU64 {
        // SAFETY: `off` is one of the aligned 8-byte word offsets of the
        // header, which stays mapped (or allocated) as long as `self`.
        unsafe { &*(self.hdr.add(off) as *const AtomicU64) }
    }
    #[inline]
    fn w32(&self, off: usize) -> &AtomicU32 {
        // SAFETY: as `w64`, for the aligned 4-byte words.
        unsafe { &*(self.hdr.add(off) as *const AtomicU32) }
    }

    /// Capacity in rows, verified against the file size (0 if the mapping
    /// is poisoned, see [`Array::check`]).
    #[inline]
    pub fn capacity(&self) -> u64 {
        guard::scope(self.zone(), || self.capacity_raw()).unwrap_or(0)
    }

    /// [`Array::capacity`], or `Code::Truncated` if the mapping is poisoned.
    pub fn try_capacity(&self) -> Result<u64> {
        self.guarded(|| Ok(self.capacity_raw()))
    }

    /// The capacity, inside a guarded scope.
    #[inline]
    fn capacity_raw(&self) -> u64 {
        let hc = protocol::published_capacity(self).min(self.max_len);
        let v = self.verified.load(Relaxed);
        if hc <= v {
            hc
        } else {
            self.reverify(hc)
        }
    }

    /// Checks the file again (size, holes: see `checks.rs`).
    #[cold]
    fn reverify(&self, hc: u64) -> u64 {
        self.verify_capacity(hc)
    }

    /// Length in rows (clamped to the verified capacity; 0 if the mapping
    /// is poisoned, see [`Array::check`]).
    #[inline]
    pub fn len(&self) -> u64 {
        guard::scope(self.zone(), || self.len_raw()).unwrap_or(0)
    }

    /// [`Array::len`], or `Code::Truncated` if the mapping is poisoned.
    #[inline]
    pub fn try_len(&self) -> Result<u64> {
        self.guarded(|| Ok(self.len_raw()))
    }

    /// The length, inside a guarded scope.
    #[inline]
    fn len_raw(&self) -> u64 {
        let l = protocol::published_len(self);
        if l <= self.verified.load(Relaxed) {
            l
        } else {
            l.min(self.capacity_raw())
        }
    }

    /// True if the array has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The change counter: grows by at least one with every change (0 if
    /// the mapping is poisoned, see [`Array::check`]).
    pub fn seq(&self) -> u64 {
        self.try_seq().unwrap_or(0)
    }

    /// [`Array::seq`], or `Code::Truncated` if the mapping is poisoned.
    pub fn try_seq(&self) -> Result<u64> {
        self.guarded(|| Ok(self.w64(format::OFF_SEQ).load(Acquire)))
    }

    // ------------------------------------------------------- the guard

    fn zone(&self) -> &guard::Zone {
        &self.map.zone
    }

    /// Runs `f` as a guarded access to this array's mapping (see
    /// [`guard`]): `Code::Truncated` if the mapping is, or becomes during
    /// `f`, poisoned.
    #[inline(always)]
    fn guarded<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        if !guard::active() {
            return f();
        }
        self.guarded_slow(f)
    }

    #[inline(never)]
    fn guarded_slow<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        guard::scope(self.zone(), f).unwrap_or_else(|| Err(guard::truncated()))
    }

    /// Inside a guarded scope: `Code::Truncated` if a fault has poisoned the
    /// mapping (checked before the library writes the file or publishes a
    /// length). One relaxed load while the guard is off.
    #[inline(always)]
    fn check_poison(&self) -> Result<()> {
        if guard::active() && self.zone().is_poisoned() {
            Err(guard::truncated())
        } else {
            Ok(())
        }
    }

    /// Runs `f`, which reads or writes this array's mapped bytes (through
    /// [`Array::as_ptr`]), as a library access for the SIGBUS guard:
    /// `None` if the mapping is, or became during `f` (a fault the guard
    /// repaired with a zero page: `f` may have read zeros), poisoned. For
    /// the library's own bindings (the CPython bridge).
    #[inline(always)]
    pub fn guard_scope<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        guard::scope(self.zone(), f)
    }

    /// `Code::Truncated` if the SIGBUS guard has caught a fault in this
    /// handle's mapping (another process truncated the file under it):
    /// every later access fails so; close the handle (and open the array
    /// again, which validates the file anew).
    pub fn check(&self) -> Result<()> {
        if self.zone().is_poisoned() {
            Err(guard::truncated())
        } else {
            Ok(())
        }
    }

    // ------------------------------------------------------------- locking

    fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::new(Code::ReadOnly, "the array is open read-only"))
        }
    }

    #[inline]
    fn holds_batch(&self) -> bool {
        let bo = self.batch_owner.load(Relaxed);
        bo != 0 && bo == tid() && self.batch_gen.load(Relaxed) == lock::fork_gen()
    }

    #[inline]
    fn acquire(&self) -> Result<()> {
        let t = self
            .token
            .get(self.w32(format::OFF_NEXT_TOKEN), self.file())?;
        lock::acquire(self.w32(format::OFF_LOCK), t, &self.token);
        Ok(())
    }

    #[inline(always)]
    fn release(&self) {
        if protocol::release(self, &self.token) {
            sys::futex_wake_all(self.hdr.wrapping_add(format::OFF_SEQ).cast());
        }
    }

    /// Runs `f` under the writer lock with the current length, then
    /// publishes what it changed: the new length (release), then the change
    /// counter, then releases the lock and wakes waiters if any.
    #[inline]
    fn locked<R>(&self, f: impl FnOnce(u64) -> Result<(R, Change)>) -> Result<R> {
        self.check_writable()?;
        self.guarded(|| self.locked_in_scope(f))
    }

    #[inline]
    fn locked_in_scope<R>(&self, f: impl FnOnce(u64) -> Result<(R, Change)>) -> Result<R> {
        let batch = self.holds_batch();
        if !batch {
            self.acquire()?;
        }
        struct Unlock<'a>(&'a Array, bool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.release();
                }
            }
        }
        let _g = Unlock(self, batch);
        self.check_poison()?;
        let len = self
            .w64(format::OFF_LEN)
            .load(Relaxed)
            .min(self.capacity_raw());
        let (r, change) = f(len)?;
        // Rows copied onto a zero page put there by the guard must not be
        // published.
        self.check_poison()?;
        match change {
            Change::Nothing => {}
            Change::Len(n) => protocol::publish(self, Some(n)),
            Change::Data => protocol::publish(self, None),
        }
        Ok(r)
    }

    /// Takes the writer lock for a batch: until [`Array::unlock`], this
    /// thread's writes through this handle skip the lock (and waiters are
    /// woken at `unlock`). Other threads and processes wait.
    pub fn lock(&self) -> Result<()> {
        self.check_writable()?;
        if self.holds_batch() {
            return Err(Error::new(Code::Busy, "this thread already holds the lock"));
        }
        self.guarded(|| {
            self.acquire()?;
            if let Err(e) = self.check_poison() {
                self.release();
                return Err(e);
            }
            self.batch_gen.store(lock::fork_gen(), Relaxed);
            self.batch_owner.store(tid(), Relaxed);
            Ok(())
        })
    }

    /// Like [`Array::lock`] but fails with `Busy` instead of waiting.
    pub fn try_lock(&self) -> Result<()> {
        self.check_writable()?;
        if self.holds_batch() {
            return Err(Error::new(Code::Busy, "this thread already holds the lock"));
        }
        self.guarded(|| {
            let t = self
                .token
                .get(self.w32(format::OFF_NEXT_TOKEN), self.file())?;
            if !lock::try_acquire(self.w32(format::OFF_LOCK), t, &self.token) {
                return Err(Error::new(Code::Busy, "the lock is held by another writer"));
            }
            if let Err(e) = self.check_poison() {
                self.release();
                return Err(e);
            }
            self.batch_gen.store(lock::fork_gen(), Relaxed);
            self.batch_owner.store(tid(), Relaxed);
            Ok(())
        })
    }

    /// Ends a batch started by [`Array::lock`].
    pub fn unlock(&self) -> Result<()> {
        if !self.holds_batch() {
            return Err(Error::new(
                Code::NotLocked,
                "this thread does not hold the lock",
            ));
        }
        self.batch_owner.store(0, Relaxed);
        self.guarded(|| {
            self.release();
            Ok(())
        })
    }

    // ------------------------------------------------------------- growth

    /// Makes room for `need` rows (under the lock).
    fn ensure(&self, need: u64) -> Result<()> {
        let cap = self.capacity_raw();
        if need <= cap {
            return Ok(());
        }
        // Never grow a file whose mapping the guard has found truncated.
        self.check_poison()?;
        if self.kind != Kind::Shared {
            return Err(Error::new(
                Code::Full,
                match self.kind {
                    Kind::Raw => "a raw mapping has a fixed length",
                    _ => "a copy-on-write snapshot cannot grow",
                },
            ));
        }
        if need > self.max_len {
            return Err(Error::new(
                Code::Full,
                format!(
                    "{need} rows exceed the array's maximum length {}",
                    self.max_len
                ),
            ));
        }
        // Growth is rare: look at the file first (a shrunk one: Truncated).
        self.recheck_size()?;
        // Double, in steps of at most 1 GiB, at least 64 KiB.
        let step = cap.clamp((65536 / self.rb).max(1), ((1u64 << 30) / self.rb).max(1));
        let want = need.max(cap.saturating_add(step)).min(self.max_len);
        // Short of space (or of memory, for tmpfs/memfd: see memlimit.rs),
        // halve the extra room down to the exact need, so a nearly full disk
        // still grows in steps, not one row per call.
        let mut want = want;
        let got = loop {
            match sys::allocate(self.fd(), self.data_offset + want * self.rb) {
                Ok(()) => break want,
                Err(e) if matches!(e.code, Code::NoSpace | Code::NoMem) && want > need => {
                    want = need + (want - need) / 2
                }
                Err(e) => return Err(e),
            }
        };
        protocol::publish_capacity(self, got);
        self.verified.fetch_max(got, Relaxed);
        Ok(())
    }

    /// Reserves room for at least `rows` rows without changing the length.
    pub fn reserve(&self, rows: u64) -> Result<()> {
        self.locked(|_| self.ensure(rows).map(|()| ((), Change::Nothing)))
    }

    // ------------------------------------------------------------- writes

    fn check_rows(&self, bytes: usize) -> Result<u64> {
        if bytes as u64 % self.rb != 0 {
            return Err(Error::new(
                Code::Arg,
                format!(
                    "{bytes} bytes is not a whole number of {}-byte rows",
                    self.rb
                ),
            ));
        }
        Ok(bytes as u64 / self.rb)
    }

    #[inline]
    fn row_ptr(&self, i: u64) -> *mut u8 {
        // `i <= capacity <= max_len`, so `i * rb` fits the reservation.
        self.data.wrapping_add((i * self.rb) as usize)
    }

    /// Appends `n` rows from `src`.
    ///
    /// # Safety
    /// `src` must be valid for reads of `n * row_bytes()` bytes; it may point
    /// into shared memory (it is only read with a byte copy).
    pub unsafe fn extend_raw(&self, src: *const u8, n: u64) -> Result<()> {
        let bytes = n
            .checked_mul(self.rb)
            .ok_or_else(|| Error::new(Code::Overflow, "extend size overflows"))?;
        self.locked(|len| {
            let need = len
                .checked_add(n)
                .ok_or_else(|| Error::new(Code::Overflow, "length overflows"))?;
            if bytes >= PREFAULT_BYTES && self.kind == Kind::Shared && need <= self.max_len {
                self.check_poison()?;
                // Large: through the file (pwrite). Growth and copy in one
                // step, with no zeroing of new pages and no page-table work
                // in this process; other processes see the same page cache
                // through their mappings. The rows are published only
                // after the whole write (on error, nothing is: a written
                // prefix past `len` is invisible, and the file has no hole).
                // SAFETY: the caller guarantees `src` for `bytes` bytes.
                unsafe {
                    sys::write_at(
                        self.fd(),
                        src,
                        bytes as usize,
                        self.data_offset + len * self.rb,
                    )?
                };
                if need > self.capacity_raw() {
                    // The file now holds `need` rows: capacity before length.
                    protocol::publish_capacity(self, need);
                    self.verified.fetch_max(need, Relaxed);
                }
                return Ok(((), Change::Len(need)));
            }
            self.ensure(need)?;
            if bytes >= PREFAULT_BYTES {
                self.prefault(self.row_ptr(len), bytes as usize);
            }
            // SAFETY: rows [len, need) lie below the verified capacity, so
            // inside both the mapping and the file; the caller guarantees
            // `src` for `bytes` bytes; the regions cannot overlap because
            // rows past `len` are not handed out.
            unsafe { ptr::copy(src, self.row_ptr(len), bytes as usize) };
            Ok(((), Change::Len(need)))
        })
    }

    /// The allocation-free, panic-free fast path of an append of one row:
    /// returns `false`, having changed nothing, whenever the general path
    /// is needed (read-only, first use or fork, lock contended, growth,
    /// batch of another thread). The C layer calls it outside its panic
    /// boundary, so it must contain no code that can panic: no indexing,
    /// no unwrap, no allocation, no checked arithmetic.
    ///
    /// # Safety
    /// `src` must be valid for reads of one row.
    #[inline(always)]
    pub unsafe fn try_append_fast(&self, src: *const u8) -> bool {
        if !guard::active() {
            // SAFETY: forwarded caller guarantee.
            return unsafe { self.try_append_fast_in_scope::<false>(src) };
        }
        // SAFETY: forwarded caller guarantee.
        guard::scope(self.zone(), || unsafe {
            self.try_append_fast_in_scope::<true>(src)
        })
        .unwrap_or(false)
    }

    /// [`Array::try_append_fast`] inside a guarded scope (`GUARD`: the
    /// SIGBUS guard is active, so check for poisoning before publishing).
    ///
    /// # Safety
    /// As for [`Array::try_append_fast`].
    #[inline(always)]
    unsafe fn try_append_fast_in_scope<const GUARD: bool>(&self, src: *const u8) -> bool {
        let Some(batch) = self.try_lock_fast() else {
            return false;
        };
        let r = protocol::append_one(
            self,
            || self.verified.load(Relaxed),
            |len| {
                // SAFETY: row `len` is below the verified capacity, so inside
                // the mapping and the file; the caller guarantees `src`.
                unsafe { copy_row(src, self.row_ptr(len), self.rb) };
                // Bytes copied onto the guard's zero page are not published.
                !(GUARD && self.zone().is_poisoned())
            },
        );
        // One release per outcome: a shared tail would keep `r` (and the
        // caller's registers) alive across the copy (measurably slower).
        if r == protocol::Append::Done {
            if !batch {
                self.release();
            }
            return true;
        }
        if !batch {
            self.release();
        }
        false
    }

    /// The writer lock for a fast path, without waiting: `Some(true)` if
    /// this thread's batch holds it already (nothing to release),
    /// `Some(false)` if taken now (release it), `None` if the general path
    /// is needed (read-only, no token yet in this process, held elsewhere).
    /// Panic-free.
    #[inline(always)]
    fn try_lock_fast(&self) -> Option<bool> {
        if !self.writable {
            return None;
        }
        let bo = self.batch_owner.load(Relaxed);
        if bo != 0 && bo == tid() && self.batch_gen.load(Relaxed) == lock::fork_gen() {
            return Some(true);
        }
        lock::try_acquire_fast(self.w32(format::OFF_LOCK), &self.token).then_some(false)
    }

    /// The panic-free fast path of an overwrite of row `i` from `src`
    /// (`write_raw(i, 1, src)`): `false`, having changed nothing, whenever
    /// the general path is needed (as for [`Array::try_append_fast`], or
    /// `i` not below the length).
    ///
    /// # Safety
    /// `src` must be valid for reads of one row.
    #[inline(always)]
    pub unsafe fn try_set_fast(&self, i: u64, src: *const u8) -> bool {
        // SAFETY: forwarded caller guarantee.
        guard::scope(self.zone(), || unsafe {
            self.try_set_fast_in_scope(i, src)
        })
        .unwrap_or(false)
    }

    /// [`Array::try_set_fast`] inside a guarded scope.
    ///
    /// # Safety
    /// As for [`Array::try_set_fast`].
    #[inline(always)]
    unsafe fn try_set_fast_in_scope(&self, i: u64, src: *const u8) -> bool {
        let Some(batch) = self.try_lock_fast() else {
            return false;
        };
        let len = self.w64(format::OFF_LEN).load(Relaxed);
        let ok = i < len && len <= self.verified.load(Relaxed);
        if ok {
            // SAFETY: row `i` is below the length, itself below the
            // verified capacity: inside the mapping and the file; the
            // caller guarantees `src`.
            unsafe { copy_row(src, self.row_ptr(i), self.rb) };
            protocol::publish(self, None);
        }
        if !batch {
            self.release();
        }
        // (A poisoned mapping makes the guarded scope answer `false`.)
        ok
    }

    /// The length if it needs no re-verification (panic-free fast path of
    /// [`Array::len`]).
    #[inline(always)]
    pub fn try_len_fast(&self) -> Option<u64> {
        guard::scope(self.zone(), || {
            let l = protocol::published_len(self);
            (l <= self.verified.load(Relaxed)).then_some(l)
        })
        .flatten()
    }

    /// Element bits for a typed append, if the array is flat and numeric.
    #[inline(always)]
    pub fn int_bits(&self, v: i128) -> Option<u64> {
        if self.layout.row_shape.is_empty() {
            value::int_bits(self.layout.elem, v)
        } else {
            None
        }
    }

    /// Element bits of a double for a flat float array.
    #[inline(always)]
    pub fn f64_bits(&self, v: f64) -> Option<u64> {
        if self.layout.row_shape.is_empty() {
            value::f64_bits(self.layout.elem, v)
        } else {
            None
        }
    }

    /// Appends one row from `src`: the fast path of `extend_raw(src, 1)`
    /// when the space is already allocated (no growth, no error strings).
    ///
    /// # Safety
    /// `src` must be valid for reads of one row.
    #[inline]
    pub unsafe fn append_raw(&self, src: *const u8) -> Result<()> {
        if !self.writable {
            return self.check_writable();
        }
        // SAFETY: forwarded caller guarantee.
        self.guarded(|| unsafe { self.append_raw_in_scope(src) })
    }

    /// [`Array::append_raw`] inside a guarded scope.
    ///
    /// # Safety
    /// As for [`Array::append_raw`].
    #[inline]
    unsafe fn append_raw_in_scope(&self, src: *const u8) -> Result<()> {
        let batch = self.batch_owner.load(Relaxed) != 0 && self.holds_batch();
        if !batch {
            self.acquire()?;
        }
        let r = protocol::append_one(
            self,
            || self.verified.load(Relaxed),
            |len| {
                // SAFETY: row `len` is below the verified capacity, so inside
                // the mapping and the file; the caller guarantees `src`.
                unsafe { copy_row(src, self.row_ptr(len), self.rb) };
                // Bytes copied onto the guard's zero page are not published.
                !self.zone().is_poisoned()
            },
        );
        if r == protocol::Append::Discarded {
            if !batch {
                self.release();
            }
            return Err(guard::truncated());
        }
        if r == protocol::Append::Done {
            if !batch {
                self.release();
            }
            return Ok(());
        }
        if !batch {
            self.release();
        }
        // SAFETY: forwarded caller guarantee.
        unsafe { self.extend_raw(src, 1) }
    }

    /// Maps the pages of `[p, p+len)` writable in one call
    /// (`MADV_POPULATE_WRITE`, Linux 5.14+) instead of one fault per page;
    /// best effort. The range must lie below the verified capacity.
    fn prefault(&self, p: *mut u8, len: usize) {
        let page = sys::page_size();
        let lead = p as usize % page;
        // SAFETY: the page-aligned range covers only our mapping below the
        // file size (caller's guarantee); POPULATE_WRITE never changes
        // contents. Errors (old kernels) are ignored.
        unsafe { libc::madvise(p.wrapping_sub(lead).cast(), len + lead, MADV_POPULATE_WRITE) };
    }

    /// Appends rows (a whole number of rows of bytes).
    pub fn extend(&self, rows: &[u8]) -> Result<()> {
        let n = self.check_rows(rows.len())?;
        // SAFETY: `rows` is valid for its length.
        unsafe { self.extend_raw(rows.as_ptr(), n) }
    }

    /// Appends one row.
    #[inline]
    pub fn append(&self, row: &[u8]) -> Result<()> {
        if row.len() as u64 != self.rb {
            return Err(Error::new(
                Code::Arg,
                format!("a row is {} bytes, not {}", self.rb, row.len()),
            ));
        }
        // SAFETY: `row` is valid for one row.
        unsafe { self.append_raw(row.as_ptr()) }
    }

    /// Appends one element given as the bits of [`value::int_bits`].
    #[inline]
    fn append_bits(&self, bits: Option<u64>, what: impl FnOnce() -> Error) -> Result<()> {
        let bits = bits.ok_or_else(what)?;
        // SAFETY: `bits` holds 8 bytes; typed appends only reach here for
        // flat arrays of rows of at most 8 bytes (checked by int_bits).
        unsafe { self.append_raw((&bits as *const u64).cast()) }
    }

    #[inline]
    fn scalar_type(&self) -> Result<ElemType> {
        if self.layout.row_shape.is_empty() && self.rb <= 16 && self.layout.elem != ElemType::Record
        {
            Ok(self.layout.elem)
        } else {
            Err(not_scalar())
        }
    }

    /// Appends an integer, converted to the element type (range-checked).
    #[inline]
    pub fn append_int(&self, v: i128) -> Result<()> {
        let t = self.scalar_type()?;
        self.append_bits(value::int_bits(t, v), || {
            value::from_int(t, v)
                .err()
                .unwrap_or_else(|| Error::new(Code::Type, "integer"))
        })
    }

    /// Appends a float to a float array.
    pub fn append_f64(&self, v: f64) -> Result<()> {
        let t = self.scalar_type()?;
        self.append_bits(value::f64_bits(t, v), || {
            value::from_f64(t, v)
                .err()
                .unwrap_or_else(|| Error::new(Code::Type, "float"))
        })
    }

    /// Removes the last row, copying it to `out` if given.
    pub fn pop(&self, out: Option<&mut [u8]>) -> Result<()> {
        match out {
            Some(o) => {
                self.check_len(o.len(), 1)?;
                // SAFETY: `o` holds exactly one row.
                unsafe { self.pop_raw(o.as_mut_ptr()) }
            }
            // SAFETY: a null destination is never written.
            None => unsafe { self.pop_raw(ptr::null_mut()) },
        }
    }

    /// Removes the last row, copying it to `dst` unless `dst` is null.
    ///
    /// # Safety
    /// A non-null `dst` must be valid for writes of one row.
    pub unsafe fn pop_raw(&self, dst: *mut u8) -> Result<()> {
        self.locked(|len| {
            if len == 0 {
                return Err(Error::new(Code::Empty, "pop from an empty array"));
            }
            if !dst.is_null() {
                // SAFETY: row len-1 is below the verified capacity; the
                // caller guarantees `dst`.
                unsafe { ptr::copy(self.row_ptr(len - 1), dst, self.rb as usize) };
            }
            Ok(((), Change::Len(len - 1)))
        })
    }

    /// Lowers the length to `n` (no-op if already shorter or equal).
    pub fn truncate(&self, n: u64) -> Result<()> {
        self.recheck_size()?;
        self.locked(|len| {
            Ok((
                (),
                if n < len {
                    Change::Len(n)
                } else {
                    Change::Nothing
                },
            ))
        })
    }

    /// Sets the length to 0.
    pub fn clear(&self) -> Result<()> {
        self.truncate(0)
    }

    fn check_len(&self, bytes: usize, rows: u64) -> Result<()> {
        match rows.checked_mul(self.rb) {
            Some(b) if b == bytes as u64 => Ok(()),
            _ => Err(Error::new(
                Code::Arg,
                format!("buffer of {bytes} bytes does not hold {rows} rows"),
            )),
        }
    }

    fn range(start: u64, n: u64, len: u64) -> Result<()> {
        match start.checked_add(n) {
            Some(end) if end <= len => Ok(()),
            _ => Err(Error::new(
                Code::Index,
                format!("rows [{start}, {start}+{n}) are out of range (length {len})"),
            )),
        }
    }

    /// Overwrites rows `[start, start+n)` from `src`.
    ///
    /// # Safety
    /// `src` must be valid for reads of `n * row_bytes()` bytes.
    pub unsafe fn write_raw(&self, start: u64, n: u64, src: *const u8) -> Result<()> {
        self.locked(|len| {
            Self::range(start, n, len)?;
            // SAFETY: the range is below len <= verified capacity; the caller
            // guarantees `src`.
            unsafe { ptr::copy(src, self.row_ptr(start), (n * self.rb) as usize) };
            Ok(((), Change::Data))
        })
    }

    /// Overwrites rows starting at `start` from `src` (whole rows).
    pub fn write(&self, start: u64, src: &[u8]) -> Result<()> {
        let n = self.check_rows(src.len())?;
        // SAFETY: `src` is valid for its length.
        unsafe { self.write_raw(start, n, src.as_ptr()) }
    }

    /// Overwrites row `i`.
    pub fn set(&self, i: u64, row: &[u8]) -> Result<()> {
        self.check_len(row.len(), 1)?;
        self.write(i, row)
    }

    /// Sets element `i` of a flat array to an integer (range-checked).
    pub fn set_int(&self, i: u64, v: i128) -> Result<()> {
        let c = value::from_int(self.scalar_type()?, v)?;
        self.set(i, &c[..self.rb as usize])
    }

    /// Sets element `i` of a flat float array.
    pub fn set_f64(&self, i: u64, v: f64) -> Result<()> {
        let c = value::from_f64(self.scalar_type()?, v)?;
        self.set(i, &c[..self.rb as usize])
    }

    /// Inserts `n` rows from `src` before row `i` (`i == len` appends).
    /// Not crash-atomic: see `docs/FORMAT.md`.
    ///
    /// # Safety
    /// `src` must be valid for reads of `n * row_bytes()` bytes and must not
    /// point into this array's own elements.
    pub unsafe fn insert_raw(&self, i: u64, src: *const u8, n: u64) -> Result<()> {
        let bytes = n
            .checked_mul(self.rb)
            .ok_or_else(|| Error::new(Code::Overflow, "insert size overflows"))?;
        self.locked(|len| {
            if i > len {
                return Err(Error::new(
                    Code::Index,
                    format!("insert position {i} is past the length {len}"),
                ));
            }
            let need = len
                .checked_add(n)
                .ok_or_else(|| Error::new(Code::Overflow, "length overflows"))?;
            self.ensure(need)?;
            // SAFETY: all rows touched lie below `need` <= verified capacity.
            unsafe {
                ptr::copy(
                    self.row_ptr(i),
                    self.row_ptr(i + n),
                    ((len - i) * self.rb) as usize,
                );
                ptr::copy(src, self.row_ptr(i), bytes as usize);
            }
            Ok(((), Change::Len(need)))
        })
    }

    /// Inserts whole rows before row `i`.
    pub fn insert(&self, i: u64, rows: &[u8]) -> Result<()> {
        let n = self.check_rows(rows.len())?;
        // SAFETY: `rows` is caller memory valid for its length.
        unsafe { self.insert_raw(i, rows.as_ptr(), n) }
    }

    /// Removes rows `[i, i+n)`. Not crash-atomic: see `docs/FORMAT.md`.
    pub fn remove(&self, i: u64, n: u64) -> Result<()> {
        self.locked(|len| {
            Self::range(i, n, len)?;
            // SAFETY: rows [i, len) are below the verified capacity.
            unsafe {
                ptr::copy(
                    self.row_ptr(i + n),
                    self.row_ptr(i),
                    ((len - i - n) * self.rb) as usize,
                )
            };
            Ok((
                (),
                if n == 0 {
                    Change::Nothing
                } else {
                    Change::Len(len - n)
                },
            ))
        })
    }

    // -------------------------------------------------------------- reads

    /// Copies rows `[start, start+n)` to `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for writes of `n * row_bytes()` bytes.
    #[inline]
    pub unsafe fn read_raw(&self, start: u64, n: u64, dst: *mut u8) -> Result<()> {
        self.guarded(|| {
            Self::range(start, n, self.len_raw())?;
            // SAFETY: the range is below the clamped length, so inside the
            // mapping and the file; the caller guarantees `dst`.
            unsafe { ptr::copy(self.row_ptr(start), dst, (n * self.rb) as usize) };
            Ok(())
        })
    }

    /// Copies whole rows starting at `start` into `dst`.
    pub fn read(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        let n = self.check_rows(dst.len())?;
        // SAFETY: `dst` is valid for its length.
        unsafe { self.read_raw(start, n, dst.as_mut_ptr()) }
    }

    /// Copies row `i` into `out` (exactly one row).
    pub fn get(&self, i: u64, out: &mut [u8]) -> Result<()> {
        self.check_len(out.len(), 1)?;
        self.read(i, out)
    }

    #[inline]
    fn get_cell(&self, i: u64) -> Result<(ElemType, Cell)> {
        let t = self.scalar_type()?;
        let mut c = [0u8; 16];
        // SAFETY: `c` holds 16 >= row_bytes bytes.
        unsafe { self.read_raw(i, 1, c.as_mut_ptr())? };
        Ok((t, c))
    }

    /// Element `i` of a flat integer (or bool) array.
    pub fn get_int(&self, i: u64) -> Result<i128> {
        let (t, c) = self.get_cell(i)?;
        value::to_int(t, &c)
    }

    /// Element `i` of a flat numeric array, as a double.
    pub fn get_f64(&self, i: u64) -> Result<f64> {
        let (t, c) = self.get_cell(i)?;
        value::to_f64(t, &c)
    }

    // ----------------------------------------------------------- waiting

    /// Blocks until the change counter differs from `seen`, the timeout
    /// passes (`Timeout`) or a signal arrives (`Interrupted`). Returns the
    /// new counter. Read-only handles cannot register as waiters; they sleep
    /// in slices of at most 1 ms (woken sooner if a writable handle waits).
    pub fn wait(&self, seen: u64, timeout: Option<Duration>) -> Result<u64> {
        if self.kind != Kind::Shared {
            return Err(Error::new(
                Code::NotSup,
                "only shared arrays can wait (not copy-on-write or raw)",
            ));
        }
        self.guarded(|| self.wait_in_scope(seen, timeout))
    }

    fn wait_in_scope(&self, seen: u64, timeout: Option<Duration>) -> Result<u64> {
        let seq = self.w64(format::OFF_SEQ);
        let word: *const u32 = self.hdr.wrapping_add(format::OFF_SEQ).cast();
        // A timeout too large to add to the clock (Duration::MAX) waits
        // forever instead of panicking.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // A producer that is mid-batch usually publishes within a few
        // microseconds: poll briefly before paying for a futex sleep and
        // the producer for a wake-up. Bounded by time, not iterations: a
        // PAUSE costs 25 ns on some CPUs, and a 25 us spin before each
        // sleep doubled the wake-up latency under a VM's halt-polling
        // (bench wake: p50 17-21 us -> 11-14 us with a 2 us bound; a bare
        // futex: 8 us).
        if timeout != Some(Duration::ZERO) {
            let start = Instant::now();
            loop {
                for _ in 0..16 {
                    let cur = seq.load(Acquire);
                    if cur != seen {
                        return Ok(cur);
                    }
                    std::hint::spin_loop();
                }
                if start.elapsed() >= WAIT_SPIN {
                    break;
                }
            }
        }
        loop {
            let cur = seq.load(Acquire);
            if cur != seen {
                return Ok(cur);
            }
            let left = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::new(Code::Timeout, "wait timed out"));
                    }
                    Some(d - now)
                }
                None => None,
            };
            // About to sleep: a file shrunk meanwhile ends the wait (its
            // header page may be gone next time).
            self.recheck_size()?;
            let r = if self.writable {
                // Registered: the Dekker handshake with `release`.
                protocol::sleep_registered(self, seen, || sys::futex_wait(word, seen as u32, left))
                    .unwrap_or(sys::Wake::Woken)
            } else {
                let slice = Duration::from_millis(1);
                sys::futex_wait(
                    word,
                    seen as u32,
                    Some(left.map_or(slice, |l| l.min(slice))),
                )
            };
            if r == sys::Wake::Interrupted {
                return Err(Error::new(
                    Code::Interrupted,
                    "wait interrupted by a signal",
                ));
            }
        }
    }

    // ------------------------------------------------------ flush, memory

    /// Writes rows `[start, start+n)` back to the file (`n = None`: to the
    /// end). A `Sync` flush of the whole array writes the data first, then
    /// records the flushed length as the header's durable length and writes
    /// the header, so the durable length never covers unwritten data.
    pub fn flush(&self, start: u64, n: Option<u64>, mode: Flush) -> Result<()> {
        if self.kind == Kind::Private {
            return Ok(());
        }
        self.recheck_size()?;
        self.guarded(|| self.flush_in_scope(start, n, mode))
    }

    fn flush_in_scope(&self, start: u64, n: Option<u64>, mode: Flush) -> Result<()> {
        let len = self.len_raw();
        let n = n.unwrap_or(len.saturating_sub(start));
        Self::range(start, n, len)?;
        let flags = match mode {
            Flush::Sync => libc::MS_SYNC,
            Flush::Async => libc::MS_ASYNC,
            Flush::Invalidate => libc::MS_INVALIDATE,
        };
        if self.kind == Kind::Raw {
            if n == 0 {
                return Ok(());
            }
            // memmap2 hands out `base` at the exact (possibly unaligned) offset.
            let lead = (self.data_offset as usize) % sys::page_size();
            let base = self.map.base.wrapping_sub(lead);
            return sys::msync(
                base,
                lead + (start * self.rb) as usize,
                (n * self.rb) as usize,
                flags,
            );
        }
        let base = self.map.base;
        let off = self.data_offset as usize;
        if n > 0 {
            sys::msync(
                base,
                off + (start * self.rb) as usize,
                (n * self.rb) as usize,
                flags,
            )?;
        }
        if start == 0 && n == len && self.writable && mode == Flush::Sync {
            self.w64(format::OFF_DURABLE_LEN).store(len, Release);
        }
        sys::msync(base, 0, HEADER_SIZE as usize, flags)
    }

    fn data_span(&self) -> (*mut u8, usize) {
        (self.data, (self.capacity() * self.rb) as usize)
    }

    /// Locks the elements (up to the capacity) into RAM.
    pub fn mlock(&self) -> Result<()> {
        let (p, n) = self.data_span();
        // SAFETY: the span lies inside the mapping and below the file size.
        if n > 0 && unsafe { libc::mlock(p.cast(), n) } != 0 {
            return Err(Error::last_os("mlock"));
        }
        Ok(())
    }

    /// Undoes [`Array::mlock`].
    pub fn munlock(&self) -> Result<()> {
        let (p, n) = self.data_span();
        // SAFETY: as in mlock.
        if n > 0 && unsafe { libc::munlock(p.cast(), n) } != 0 {
            return Err(Error::last_os("munlock"));
        }
        Ok(())
    }

    /// `madvise` over the elements (`libc::MADV_*`; only the harmless
    /// hints NORMAL, RANDOM, SEQUENTIAL, WILLNEED are accepted).
    pub fn advise(&self, advice: i32) -> Result<()> {
        if ![
            libc::MADV_NORMAL,
            libc::MADV_RANDOM,
            libc::MADV_SEQUENTIAL,
            libc::MADV_WILLNEED,
        ]
        .contains(&advice)
        {
            return Err(Error::new(
                Code::Arg,
                format!("advice {advice} is not accepted"),
            ));
        }
        let (p, n) = self.data_span();
        let page = sys::page_size();
        let lead = p as usize % page;
        // SAFETY: the page-aligned span covers only mapped memory of ours;
        // these hints never change contents.
        if n > 0 && unsafe { libc::madvise(p.wrapping_sub(lead).cast(), n + lead, advice) } != 0 {
            return Err(Error::last_os("madvise"));
        }
        Ok(())
    }
}

impl Drop for Array {
    fn drop(&mut self) {
        if self.holds_batch() {
            self.batch_owner.store(0, Relaxed);
            let _ = guard::scope(self.zone(), || self.release());
        }
        self.token.release();
    }
}

// ------------------------------------------------------------ helpers

/// Rounds of open-or-create before giving up (each round: the open found
/// no file, then the exclusive link found one). Real races end in one or two.
pub const OPEN_ROUNDS: u32 = 64;

/// How long `wait` polls the change counter before sleeping.
const WAIT_SPIN: Duration = Duration::from_micros(2);

/// Extends of at least this many bytes are written through the file (shared
/// arrays) or prefault their destination (private ones).
const PREFAULT_BYTES: u64 = 4 << 20;
/// `MADV_POPULATE_WRITE` (not in every libc crate version).
const MADV_POPULATE_WRITE: i32 = 23;

#[cold]
fn not_scalar() -> Error {
    Error::new(
        Code::Type,
        "typed access needs a flat array of a numeric type",
    )
}

/// Copies one row; constant-size moves for the common element sizes.
///
/// # Safety
/// `src` valid for reads and `dst` for writes of `rb` bytes.
#[inline(always)]
unsafe fn copy_row(src: *const u8, dst: *mut u8, rb: u64) {
    // SAFETY: per the function contract; unaligned loads then stores, so
    // overlapping ranges are copied correctly too.
    unsafe {
        // Tested in order of likelihood: no jump table on the hot path.
        if rb == 8 {
            dst.cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned())
        } else if rb == 4 {
            dst.cast::<u32>()
                .write_unaligned(src.cast::<u32>().read_unaligned())
        } else if rb == 16 {
            dst.cast::<u128>()
                .write_unaligned(src.cast::<u128>().read_unaligned())
        } else if rb == 2 {
            dst.cast::<u16>()
                .write_unaligned(src.cast::<u16>().read_unaligned())
        } else if rb == 1 {
            dst.write(src.read())
        } else {
            ptr::copy(src, dst, rb as usize)
        }
    }
}

fn regular_stat(fd: &OwnedFd) -> Result<libc::stat> {
    let st = sys::fstat(fd.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Error::new(Code::Arg, "not a regular file"));
    }
    Ok(st)
}

fn regular_size(fd: &OwnedFd) -> Result<u64> {
    Ok(regular_stat(fd)?.st_size.max(0) as u64)
}

/// Writes a fresh header and reserves the initial capacity.
fn init_file(fd: &OwnedFd, layout: &Layout, o: &Options) -> Result<Header> {
    let rb = layout.row_bytes();
    let limit = Header::max_len_limit(rb);
    let max_len = if o.max_len == 0 {
        (crate::reserve::default_bytes()? / rb).max(1)
    } else {
        o.max_len
    };
    if max_len > limit {
        return Err(Error::new(
            Code::Overflow,
            format!("max_len {max_len} exceeds the limit {limit} for this row size"),
        ));
    }
    if o.initial_len > max_len {
        return Err(Error::new(Code::Full, "initial length exceeds max_len"));
    }
    let cap = o
        .capacity
        .max(o.initial_len)
        .max((4096 / rb).max(1))
        .min(max_len);
    let h = Header::new(layout.clone(), max_len, sys::random_u64(), sys::now_ns());
    let mut b = h.encode();
    b[format::OFF_LEN..format::OFF_LEN + 8].copy_from_slice(&o.initial_len.to_le_bytes());
    b[format::OFF_CAPACITY..format::OFF_CAPACITY + 8].copy_from_slice(&cap.to_le_bytes());
    b[format::OFF_NEXT_TOKEN..format::OFF_NEXT_TOKEN + 4].copy_from_slice(&1u32.to_le_bytes());
    sys::allocate(fd.as_raw_fd(), h.data_offset + cap * rb)?;
    sys::pwrite_all(fd.as_raw_fd(), &b, 0)?;
    Ok(h)
}

fn split_path(path: &str) -> (String, String) {
    match path.rfind('/') {
        Some(0) => ("/".into(), path[1..].into()),
        Some(i) => (path[..i].into(), path[i + 1..].into()),
        None => (".".into(), path.into()),
    }
}

/// Creates a new array under a temporary name in the target directory,
/// initialises it, then links it under `path` (exclusively, or replacing).
/// From its `O_CREAT|O_EXCL` open until it is linked or unlinked, the
/// temporary file carries an OFD write lock on byte 0 (FORMAT.md §4.1), so
/// a collector can tell a creation in progress (locked) from the leftover
/// of a killed creator (unlocked).
fn create_named(path: &str, o: &Options, replace: bool) -> Result<Array> {
    let layout = o
        .layout
        .clone()
        .ok_or_else(|| Error::new(Code::Arg, "creating an array needs an element type"))?;
    if o.access != Access::ReadWrite {
        return Err(Error::new(
            Code::Arg,
            "cannot create an array read-only or copy-on-write",
        ));
    }
    if o.mode & !0o777 != 0 {
        return Err(Error::new(
            Code::Arg,
            format!("mode {:o} is invalid", o.mode),
        ));
    }
    let (dir, base) = split_path(path);
    if base.is_empty() || base == "." || base == ".." {
        return Err(Error::new(Code::Arg, format!("invalid name {path:?}")));
    }
    let tmp = format!(
        "{dir}/.{base}.mba-tmp.{}.{:x}",
        std::process::id(),
        sys::random_u64()
    );
    let fd = sys::open(
        &tmp,
        libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
        0o600,
    )?;
    let res = (|| {
        if !sys::ofd_try_lock(fd.as_raw_fd(), TMP_LOCK_BYTE)? {
            return Err(Error::new(
                Code::Io,
                format!("{tmp}: just created, yet locked by someone else"),
            ));
        }
        let mode = if o.mode == 0 { 0o600 } else { o.mode };
        // SAFETY: plain syscall on our descriptor.
        if unsafe { libc::fchmod(fd.as_raw_fd(), mode) } != 0 {
            return Err(Error::last_os("fchmod"));
        }
        init_file(&fd, &layout, o)?;
        if replace {
            sys::rename_replace(&tmp, path)
        } else if sys::rename_noreplace(&tmp, path)? {
            Ok(())
        } else {
            Err(Error::new(Code::Exists, format!("{path} already exists")))
        }
    })();
    if let Err(e) = res {
        let _ = sys::unlink(&tmp);
        return Err(e);
    }
    // Linked: the file is an array now, and byte 0 must not stay locked
    // for the life of this descriptor (which the mapping keeps).
    sys::ofd_unlock(fd.as_raw_fd(), TMP_LOCK_BYTE)?;
    map_fd(fd, Access::ReadWrite, None, Some(path))
}

/// The byte of a temporary `.NAME.mba-tmp.*` file that its creator keeps
/// write-locked (OFD lock) until the file is linked or removed.
pub const TMP_LOCK_BYTE: i64 = 0;

fn open_existing(path: &str, o: &Options) -> Result<Array> {
    let a = match open_mapped(path, o)? {
        Some(a) => a,
        None => {
            let flags = if o.access == Access::ReadWrite {
                libc::O_RDWR
            } else {
                libc::O_RDONLY
            };
            // O_NONBLOCK: a FIFO opened by mistake is refused instead of
            // blocking (it has no effect on regular files). O_NOFOLLOW: a
            // symbolic link planted at the name is refused (`Perm`).
            let fd = sys::open(path, flags | libc::O_NONBLOCK | libc::O_NOFOLLOW, 0)?;
            if o.create && !o.foreign {
                checks::check_owner(&sys::fstat(fd.as_raw_fd())?, path)?;
            }
            map_fd(fd, o.access, o.expect, Some(path))?
        }
    };
    if let Some(l) = &o.layout {
        if l.elem != a.layout.elem
            || (l.elem == ElemType::Record && l.item_size != a.layout.item_size)
        {
            return Err(Error::new(
                Code::Type,
                format!(
                    "{path} holds {} elements, not {}",
                    a.layout.elem.name(),
                    l.elem.name()
                ),
            ));
        }
    }
    Ok(a)
}

/// A new handle on the mapping this process already has of the file at
/// `path` with this access, if any (see [`MapCache`]). `None` sends the
/// caller down the full open path, which also reports every error.
/// The cached descriptor is `fstat`ed: a file that another process shrank
/// below what the mapping has verified is dropped from the cache and
/// mapped afresh (so validated like a first open), and the new handle's
/// capacity is checked against the size and allocation read now.
fn open_mapped(path: &str, o: &Options) -> Result<Option<Array>> {
    if o.access == Access::CopyOnWrite || !MapCache::any_live() {
        return Ok(None);
    }
    // lstat: a symbolic link is not a regular file, and the full path
    // refuses it (O_NOFOLLOW).
    let Ok(st) = sys::lstat(path) else {
        return Ok(None);
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(None);
    }
    let writable = o.access == Access::ReadWrite;
    let Some((map, h)) = MapCache::find(st.st_dev, st.st_ino, writable) else {
        return Ok(None);
    };
    // SIGBUS guard: a mapping the guard repaired no longer mirrors the file.
    if map.is_poisoned() {
        MapCache::evict(&map);
        return Ok(None);
    }
    let Ok(now) = regular_stat(&map.file) else {
        return Ok(None);
    };
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Ok(None);
    }
    // Shorter than the header region (attach would touch a page past the
    // end), or than the rows some handle trusts: map afresh.
    let size = now.st_size.max(0) as u64;
    let rows = size.saturating_sub(h.data_offset) / h.row_bytes;
    if size < h.data_offset || rows < map.verified.load(Relaxed) {
        MapCache::evict(&map);
        return Ok(None);
    }
    if o.create && !o.foreign {
        checks::check_owner(&now, path)?;
    }
    check_expect(&h, o.expect)?;
    attach(map, &h, o.access, Some(path), now).map(Some)
}

fn check_expect(h: &Header, expect: Option<ElemType>) -> Result<()> {
    match expect {
        Some(t) if t != h.layout.elem => Err(Error::new(
            Code::Type,
            format!(
                "the array holds {} elements, not {}",
                h.layout.elem.name(),
                t.name()
            ),
        )),
        _ => Ok(()),
    }
}

/// Validates the header behind `fd` and maps it.
fn map_fd(
    file: OwnedFd,
    access: Access,
    expect: Option<ElemType>,
    path: Option<&str>,
) -> Result<Array> {
    let st = regular_stat(&file)?;
    let size = st.st_size.max(0) as u64;
    let mut buf = [0u8; HEADER_SIZE as usize];
    let n = sys::pread_full(file.as_raw_fd(), &mut buf, 0)?;
    let (h, w) = Header::decode(&buf[..n])?;
    if w == Writability::ReadOnly && access == Access::ReadWrite {
        return Err(Error::new(
            Code::Feature,
            "the array uses a feature this library cannot write; open it read-only",
        ));
    }
    check_expect(&h, expect)?;
    if size < h.data_offset {
        return Err(Error::new(
            Code::Truncated,
            "file is shorter than its data offset",
        ));
    }
    let reserve = h
        .max_len
        .checked_mul(h.row_bytes)
        .and_then(|b| b.checked_add(h.data_offset))
        .filter(|&b| b <= isize::MAX as u64);
    let reserve =
        reserve.ok_or_else(|| Error::new(Code::Overflow, "reservation overflows"))? as usize;
    // A copy-on-write snapshot maps only what the file holds now.
    let len = if access == Access::CopyOnWrite {
        reserve.min(size as usize)
    } else {
        reserve
    };
    let map = Arc::new(Mapping::new(file, 0, len, access)?);
    let a = attach(map, &h, access, path, st)?;
    if access != Access::CopyOnWrite {
        MapCache::insert(
            st.st_dev,
            st.st_ino,
            access == Access::ReadWrite,
            &h,
            &a.map,
        );
    }
    Ok(a)
}

/// A handle on `map`, a mapping of the array whose validated header is `h`,
/// after checking the header's mutable words against the file, whose
/// `fstat` the caller has just read: the capacity must fit the size, and
/// the handle trusts only the rows the file really backs (a read-write
/// handle allocates holes, see `checks::backed_rows`).
fn attach(
    map: Arc<Mapping>,
    h: &Header,
    access: Access,
    path: Option<&str>,
    st: libc::stat,
) -> Result<Array> {
    let base = map.base;
    let rb = h.row_bytes;
    let mut a = Array {
        map,
        hdr: base,
        _priv_hdr: None,
        // SAFETY: data_offset <= the file size and the mapping's length
        // (checked by map_fd when the mapping was made).
        data: unsafe { base.add(h.data_offset as usize) },
        rb,
        data_offset: h.data_offset,
        max_len: h.max_len,
        kind: if access == Access::CopyOnWrite {
            Kind::Private
        } else {
            Kind::Shared
        },
        writable: access != Access::ReadOnly,
        uuid: h.uuid,
        verified: AtomicU64::new(0),
        token: if access == Access::CopyOnWrite {
            Token::private()
        } else {
            Token::default()
        },
        batch_owner: AtomicUsize::new(0),
        batch_gen: AtomicU64::new(0),
        path: path.map(str::to_string),
        layout: h.layout.clone(),
    };
    // Length first, then capacity: a writer raises the capacity before the
    // length, so this order never sees len > cap in a healthy array.
    // (SIGBUS guard: a reused mapping may have lost its header page since
    // the caller's fstat.)
    let (len, cap) = guard::scope(&a.map.zone, || {
        let len = protocol::published_len(&a);
        (len, protocol::published_capacity(&a))
    })
    .ok_or_else(guard::truncated)?;
    if cap > a.max_len {
        return Err(Error::new(
            Code::Corrupt,
            format!("capacity {cap} exceeds the maximum length {}", a.max_len),
        ));
    }
    let rows_of = |st: &libc::stat| (st.st_size.max(0) as u64).saturating_sub(a.data_offset) / rb;
    let mut st = st;
    if cap > rows_of(&st) && a.kind == Kind::Shared {
        // The size was read before the capacity: a writer may have grown
        // the file in between (it allocates before raising the capacity),
        // so look again before calling the file truncated.
        st = regular_stat(a.file())?;
    }
    let file_rows = rows_of(&st);
    if cap > file_rows {
        return Err(Error::new(
            Code::Truncated,
            format!("file holds {file_rows} rows but its header claims a capacity of {cap}"),
        ));
    }
    if len > cap {
        return Err(Error::new(
            Code::Corrupt,
            format!("length {len} exceeds capacity {cap}"),
        ));
    }
    // Sparse capacity (grown with ftruncate by another program): a
    // read-write handle allocates the holes (or the open fails with
    // NoSpace), others trust only the rows before the first hole.
    let fill = access == Access::ReadWrite;
    let ok = checks::backed_rows(a.fd(), &st, a.data_offset, rb, 0, cap, fill)?;
    a.verified.store(ok, Relaxed);
    a.map.verified.fetch_max(ok, Relaxed);
    if a.kind == Kind::Private {
        // Only rows the file backs can be copied on write.
        let len = len.min(ok);
        // A snapshot: its length at open is also its capacity and maximum
        // (so it cannot grow: MBA_E_FULL, like a raw mapping); its own
        // (free) lock, no waiters. These stores reach only the private copy.
        a.max_len = len;
        a.w64(format::OFF_LEN).store(len, Relaxed);
        a.w64(format::OFF_CAPACITY).store(len, Relaxed);
        a.verified.store(len, Relaxed);
        a.w32(format::OFF_LOCK).store(0, Relaxed);
        a.w32(format::OFF_WAITERS).store(0, Relaxed);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir() -> String {
        let d = format!(
            "{}/mba-unit-{}-{:x}",
            std::env::temp_dir().display(),
            std::process::id(),
            sys::random_u64()
        );
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn append_read_grow() {
        let d = tmpdir();
        let p = format!("{d}/a.mba");
        let a = Array::open(&p, &Options::create(ElemType::U32)).unwrap();
        for i in 0..100_000u32 {
            a.append(&i.to_ne_bytes()).unwrap();
        }
        assert_eq!(a.len(), 100_000);
        let b = Array::open(
            &p,
            &Options {
                expect: Some(ElemType::U32),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(b.get_int(99_999).unwrap(), 99_999);
        a.append_int(7).unwrap();
        assert_eq!(b.len(), 100_001);
        assert_eq!(b.get_int(100_000).unwrap(), 7);
        assert_eq!(b.get_int(100_001).unwrap_err().code, Code::Index);
        let e = Array::open(
            &p,
            &Options {
                expect: Some(ElemType::F32),
                ..Options::default()
            },
        );
        assert_eq!(e.err().unwrap().code, Code::Type);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn edits() {
        let a = Array::anon(&Options::create(ElemType::I64)).unwrap();
        for i in 0..10 {
            a.append_int(i).unwrap();
        }
        a.insert(2, &100i64.to_ne_bytes()).unwrap();
        a.remove(0, 1).unwrap();
        let mut o = [0u8; 8];
        a.pop(Some(&mut o)).unwrap();
        assert_eq!(i64::from_ne_bytes(o), 9);
        let v: Vec<i128> = (0..a.len()).map(|i| a.get_int(i).unwrap()).collect();
        assert_eq!(v, vec![1, 100, 2, 3, 4, 5, 6, 7, 8]);
        a.truncate(3).unwrap();
        assert_eq!(a.len(), 3);
        a.clear().unwrap();
        assert_eq!(a.pop(None).unwrap_err().code, Code::Empty);
        assert_eq!(
            a.append_int(i64::MAX as i128 + 1).unwrap_err().code,
            Code::Overflow
        );
    }

    #[test]
    fn cow_snapshot_cannot_grow() {
        let d = tmpdir();
        let p = format!("{d}/c.mba");
        let w = Array::open(&p, &Options::create(ElemType::U32)).unwrap();
        for i in 0..3 {
            w.append_int(i).unwrap();
        }
        let c = Array::open(
            &p,
            &Options {
                access: Access::CopyOnWrite,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!((c.len(), c.capacity(), c.max_len()), (3, 3, 3));
        assert_eq!(c.append_int(7).unwrap_err().code, Code::Full);
        assert_eq!(c.reserve(4).unwrap_err().code, Code::Full);
        c.set_int(0, 99).unwrap();
        assert_eq!(w.get_int(0).unwrap(), 0);
        assert_eq!(w.capacity(), 1024, "the file's header is untouched");
        c.pop(None).unwrap();
        c.append_int(8).unwrap();
        assert_eq!(c.append_int(9).unwrap_err().code, Code::Full);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let d = tmpdir();
        let p = format!("{d}/fifo");
        let c = sys::cstr(&p).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for access in [Access::ReadOnly, Access::ReadWrite, Access::CopyOnWrite] {
            let o = Options {
                access,
                ..Options::default()
            };
            assert_eq!(Array::open(&p, &o).err().unwrap().code, Code::Arg);
        }
        let l = Layout::scalar(ElemType::U8).unwrap();
        assert_eq!(
            Array::map_raw(&p, &l, 0, None, Access::ReadOnly)
                .err()
                .unwrap()
                .code,
            Code::Arg
        );
        std::fs::remove_dir_all(d).unwrap();
    }
}

//! The mapping of an array's file and the per-process cache that shares
//! one mapping among the handles of one file and access; attaching a
//! descriptor (map, verify the header, clamp to the file).

use super::*;

/// The memory of one mapping and the descriptor it maps; shared (through
/// `Arc`) by the handles of this process that opened the same file with the
/// same access (see [`MapCache`]) and by the pins that keep it mapped after
/// the handles are closed.
pub struct Mapping {
    pub(super) base: *mut u8,
    pub(super) len: usize,
    pub(super) _keep: Backing,
    pub(super) file: OwnedFd,
    /// The largest capacity (rows) any handle has verified against the file
    /// (size and allocation), lowered when a handle finds the file shrunk:
    /// an open that finds the file shorter than this maps it afresh.
    pub(super) verified: AtomicU64,
    /// What the SIGBUS guard needs: bounds, protection, poisoned flag.
    pub(super) zone: guard::Zone,
}

pub(super) enum Backing {
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
    pub(super) fn new(file: OwnedFd, offset: u64, len: usize, access: Access) -> Result<Mapping> {
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
pub(super) struct CacheEntry {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) writable: bool,
    pub(super) header: Header,
    pub(super) map: std::sync::Weak<Mapping>,
}

pub(super) struct MapCache;

pub(super) static MAP_CACHE: lock::ForkLock<Vec<CacheEntry>> = lock::ForkLock::new(Vec::new());

impl MapCache {
    pub(super) fn with<R>(f: impl FnOnce(&mut Vec<CacheEntry>) -> R) -> R {
        MAP_CACHE.with(f)
    }

    /// True if some mapping may be reused (so a lookup is worth a stat).
    pub(super) fn any_live() -> bool {
        Self::with(|v| v.iter().any(|e| e.map.strong_count() > 0))
    }

    /// The live mapping of (dev, ino) with this access, and its header.
    pub(super) fn find(dev: u64, ino: u64, writable: bool) -> Option<(Arc<Mapping>, Header)> {
        Self::with(|v| {
            v.iter()
                .find(|e| e.dev == dev && e.ino == ino && e.writable == writable)
                .and_then(|e| Some((e.map.upgrade()?, e.header.clone())))
        })
    }

    /// Drops `map` from the cache (another process shrank its file): new
    /// opens map the file afresh; the handles that have it keep it.
    pub(super) fn evict(map: &Arc<Mapping>) {
        let p = Arc::as_ptr(map);
        Self::with(|v| v.retain(|e| e.map.as_ptr() != p));
    }

    pub(super) fn insert(dev: u64, ino: u64, writable: bool, header: &Header, map: &Arc<Mapping>) {
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

pub(super) fn check_expect(h: &Header, expect: Option<ElemType>) -> Result<()> {
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
pub(super) fn map_fd(
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
pub(super) fn attach(
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

impl Array {
    /// Another handle on this array's mapping (the same addresses, no new
    /// mapping), with this one's access: for exports that outlive the
    /// handle (the Arrow live stream). Shared arrays only (`NotSup`).
    pub fn reattach(&self) -> Result<Array> {
        if self.kind != Kind::Shared {
            return Err(Error::new(Code::NotSup, "only shared arrays reattach"));
        }
        let st = regular_stat(self.file())?;
        let mut buf = [0u8; HEADER_SIZE as usize];
        let n = sys::pread_full(self.fd(), &mut buf, 0)?;
        let (h, _) = Header::decode(&buf[..n])?;
        let access = if self.writable {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        };
        attach(self.map.clone(), &h, access, self.path(), st)
    }
}

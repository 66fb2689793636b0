//! What a handle reports about its array (length, capacity, type, shape,
//! flags) and the SIGBUS guard's zone around each access.

use super::*;

impl Array {
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
    pub(super) fn file(&self) -> &OwnedFd {
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
    pub(super) fn w64(&self, off: usize) -> &AtomicU64 {
        // SAFETY: `off` is one of the aligned 8-byte word offsets of the
        // header, which stays mapped (or allocated) as long as `self`.
        unsafe { &*(self.hdr.add(off) as *const AtomicU64) }
    }
    #[inline]
    pub(super) fn w32(&self, off: usize) -> &AtomicU32 {
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
    pub(super) fn capacity_raw(&self) -> u64 {
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
    pub(super) fn reverify(&self, hc: u64) -> u64 {
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
    pub(super) fn len_raw(&self) -> u64 {
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

    pub(super) fn zone(&self) -> &guard::Zone {
        &self.map.zone
    }

    /// Runs `f` as a guarded access to this array's mapping (see
    /// [`guard`]): `Code::Truncated` if the mapping is, or becomes during
    /// `f`, poisoned.
    #[inline(always)]
    pub(super) fn guarded<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        if !guard::active() {
            return f();
        }
        self.guarded_slow(f)
    }

    #[inline(never)]
    pub(super) fn guarded_slow<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        guard::scope(self.zone(), f).unwrap_or_else(|| Err(guard::truncated()))
    }

    /// Inside a guarded scope: `Code::Truncated` if a fault has poisoned the
    /// mapping (checked before the library writes the file or publishes a
    /// length). One relaxed load while the guard is off.
    #[inline(always)]
    pub(super) fn check_poison(&self) -> Result<()> {
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
}

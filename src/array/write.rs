//! Element writes: append (the fast path and the locked one), extend,
//! insert, set, write, pop, remove, truncate; the row copy helpers.

use super::*;

impl Array {
    // ------------------------------------------------------------- writes

    pub(super) fn check_rows(&self, bytes: usize) -> Result<u64> {
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
    pub(super) fn row_ptr(&self, i: u64) -> *mut u8 {
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
            // Rows the file holds already whose pages this process has
            // mapped (say, an array cleared and refilled): a copy through
            // the mapping runs at memcpy speed, about twice the page-cache
            // copy of a pwrite (measured on tmpfs, issue 18).
            let mapped = bytes >= PREFAULT_BYTES
                && need <= self.capacity_raw()
                && sys::pages_mapped(self.row_ptr(len), bytes as usize);
            if bytes >= PREFAULT_BYTES
                && self.kind == Kind::Shared
                && need <= self.max_len
                && !mapped
            {
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
            if bytes >= PREFAULT_BYTES && !mapped {
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

    /// The unguarded fast path of an append split so that its caller can
    /// keep it free of calls (a leaf needs no register spills: measured
    /// ~2x on a batched append loop): [`FastAppend::Done`] or
    /// [`FastAppend::Wake`] (published, lock released, waiters to wake
    /// with [`Array::wake_waiters`]) or [`FastAppend::Slow`] (nothing
    /// changed: the general path is needed, see
    /// [`Array::try_append_fast`]; `WakeThenSlow` if waiters must be woken
    /// first) or [`FastAppend::Unsupported`] (the SIGBUS guard is active,
    /// or a row size other than 1, 2, 4, 8 or 16 bytes). Panic-free.
    ///
    /// # Safety
    /// `src` must be valid for reads of one row.
    #[inline(always)]
    pub unsafe fn append_fast_unguarded(&self, src: *const u8) -> FastAppend {
        // Other row sizes would call memmove (a call spills registers).
        let rb = self.rb;
        // Bit k of 0x10116 is set for k = 1, 2, 4, 8, 16.
        if guard::active() || rb > 16 || (0x10116u32 >> rb) & 1 == 0 {
            return FastAppend::Unsupported;
        }
        let Some(batch) = self.try_lock_fast() else {
            return FastAppend::Slow;
        };
        let r = protocol::append_one(
            self,
            || self.verified.load(Relaxed),
            #[inline(always)]
            |len| {
                // SAFETY: row `len` is below the verified capacity, so inside
                // the mapping and the file; the caller guarantees `src`.
                unsafe { copy_small_row(src, self.row_ptr(len), rb) };
                true
            },
        );
        let done = r == protocol::Append::Done;
        if batch {
            return if done {
                FastAppend::Done
            } else {
                FastAppend::Slow
            };
        }
        let wake = protocol::release(self, &self.token);
        match (done, wake.any()) {
            (true, false) => FastAppend::Done,
            (true, true) => FastAppend::Wake(Waiting(wake)),
            (false, false) => FastAppend::Slow,
            (false, true) => FastAppend::WakeThenSlow(Waiting(wake)),
        }
    }

    /// Wakes who a fast path's release found waiting
    /// ([`FastAppend::Wake`]).
    #[cold]
    #[inline(never)]
    pub fn wake_waiters(&self, w: Waiting) {
        self.wake(w.0)
    }

    /// One row from `src` after the length if the verified capacity has
    /// room ([`protocol::append_one`]), with the writer lock held (or a
    /// batch). `GUARD`: the SIGBUS guard is active, so a row copied onto
    /// its zero page (the file shrank) is not published.
    ///
    /// # Safety
    /// `src` must be valid for reads of one row.
    #[inline(always)]
    unsafe fn append_one_row<const GUARD: bool>(&self, src: *const u8) -> protocol::Append {
        protocol::append_one(
            self,
            || self.verified.load(Relaxed),
            // Inlined: a call here costs the spills of every register the
            // fast path keeps live (measured: ~30 % of a batched append).
            #[inline(always)]
            |len| {
                // SAFETY: row `len` is below the verified capacity, so inside
                // the mapping and the file; the caller guarantees `src`.
                unsafe { copy_row(src, self.row_ptr(len), self.rb) };
                // Bytes copied onto the guard's zero page are not published.
                !(GUARD && self.zone().is_poisoned())
            },
        )
    }

    /// [`Array::try_append_fast`] inside a guarded scope (`GUARD`: the
    /// SIGBUS guard is active, so check for poisoning before publishing).
    ///
    /// # Safety
    /// As for [`Array::try_append_fast`].
    #[inline(always)]
    pub(super) unsafe fn try_append_fast_in_scope<const GUARD: bool>(
        &self,
        src: *const u8,
    ) -> bool {
        let Some(batch) = self.try_lock_fast() else {
            return false;
        };
        // SAFETY: forwarded caller guarantee.
        let r = unsafe { self.append_one_row::<GUARD>(src) };
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
    pub(super) fn try_lock_fast(&self) -> Option<bool> {
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
    pub(super) unsafe fn try_set_fast_in_scope(&self, i: u64, src: *const u8) -> bool {
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
    pub(super) unsafe fn append_raw_in_scope(&self, src: *const u8) -> Result<()> {
        let batch = self.batch_owner.load(Relaxed) != 0 && self.holds_batch();
        if !batch {
            self.acquire()?;
        }
        // SAFETY: forwarded caller guarantee.
        let r = unsafe { self.append_one_row::<true>(src) };
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
    pub(super) fn prefault(&self, p: *mut u8, len: usize) {
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
    pub(super) fn append_bits(
        &self,
        bits: Option<u64>,
        what: impl FnOnce() -> Error,
    ) -> Result<()> {
        let bits = bits.ok_or_else(what)?;
        // SAFETY: `bits` holds 8 bytes; typed appends only reach here for
        // flat arrays of rows of at most 8 bytes (checked by int_bits).
        unsafe { self.append_raw((&bits as *const u64).cast()) }
    }

    #[inline]
    pub(super) fn scalar_type(&self) -> Result<ElemType> {
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

    pub(super) fn check_len(&self, bytes: usize, rows: u64) -> Result<()> {
        match rows.checked_mul(self.rb) {
            Some(b) if b == bytes as u64 => Ok(()),
            _ => Err(Error::new(
                Code::Arg,
                format!("buffer of {bytes} bytes does not hold {rows} rows"),
            )),
        }
    }

    pub(super) fn range(start: u64, n: u64, len: u64) -> Result<()> {
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
}

#[cold]
pub(super) fn not_scalar() -> Error {
    Error::new(
        Code::Type,
        "typed access needs a flat array of a numeric type",
    )
}

/// What [`Array::append_fast_unguarded`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastAppend {
    /// Appended and published; nothing else to do.
    Done,
    /// Appended, published and the lock released: wake the waiters
    /// ([`Array::wake_waiters`]).
    Wake(Waiting),
    /// Nothing changed: take the general path (the lock is held
    /// elsewhere, growth, first write, ...).
    Slow,
    /// Not tried (the SIGBUS guard is active, or a row of another size):
    /// take [`Array::try_append_fast`], then the general path.
    Unsupported,
    /// Nothing changed but the lock was taken and released: wake the
    /// waiters, then take the general path.
    WakeThenSlow(Waiting),
}

/// Who a release found waiting (for [`Array::wake_waiters`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting(protocol::Released);

/// [`copy_row`] for rows of 1, 2, 4, 8 or 16 bytes (the caller checked;
/// any other size copies nothing), with no call.
///
/// # Safety
/// As for [`copy_row`].
#[inline(always)]
unsafe fn copy_small_row(src: *const u8, dst: *mut u8, rb: u64) {
    // SAFETY: per the function contract (unaligned loads, then stores).
    unsafe {
        match rb {
            4 => dst
                .cast::<u32>()
                .write_unaligned(src.cast::<u32>().read_unaligned()),
            8 => dst
                .cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned()),
            1 => dst.write(src.read()),
            2 => dst
                .cast::<u16>()
                .write_unaligned(src.cast::<u16>().read_unaligned()),
            16 => dst
                .cast::<u128>()
                .write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => {}
        }
    }
}

/// Copies one row; constant-size moves for the common element sizes.
///
/// # Safety
/// `src` valid for reads and `dst` for writes of `rb` bytes.
#[inline(always)]
pub(super) unsafe fn copy_row(src: *const u8, dst: *mut u8, rb: u64) {
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

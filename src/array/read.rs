//! Element reads, waiting for a change, and flush / memory advice.

use super::*;

impl Array {
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
    pub(super) fn get_cell(&self, i: u64) -> Result<(ElemType, Cell)> {
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

    pub(super) fn wait_in_scope(&self, seen: u64, timeout: Option<Duration>) -> Result<u64> {
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

    pub(super) fn flush_in_scope(&self, start: u64, n: Option<u64>, mode: Flush) -> Result<()> {
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

    pub(super) fn data_span(&self) -> (*mut u8, usize) {
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

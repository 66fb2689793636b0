//! The writer lock as the array uses it (batches, lock tokens, stale
//! holders) and growth of the capacity under the lock.

use super::*;

impl Array {
    // ------------------------------------------------------------- locking

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::new(Code::ReadOnly, "the array is open read-only"))
        }
    }

    #[inline]
    pub(super) fn holds_batch(&self) -> bool {
        let bo = self.batch_owner.load(Relaxed);
        bo != 0 && bo == tid() && self.batch_gen.load(Relaxed) == lock::fork_gen()
    }

    #[inline]
    pub(super) fn acquire(&self) -> Result<()> {
        let t = self
            .token
            .get(self.w32(format::OFF_NEXT_TOKEN), self.file())?;
        lock::acquire(self, t, &self.token);
        Ok(())
    }

    #[inline(always)]
    pub(super) fn release(&self) {
        let r = protocol::release(self, &self.token);
        if r.any() {
            self.wake(r);
        }
    }

    /// Wakes who [`protocol::release`] found waiting: one writer sleeping
    /// on the lock word, every waiter of `mba_wait`.
    #[cold]
    #[inline(never)]
    pub(crate) fn wake(&self, r: protocol::Released) {
        if r.sleepers {
            protocol::wake_sleeper(self);
        }
        if r.waiters {
            sys::futex_wake_all(self.hdr.wrapping_add(format::OFF_SEQ).cast());
        }
    }

    /// Runs `f` under the writer lock with the current length, then
    /// publishes what it changed: the new length (release), then the change
    /// counter, then releases the lock and wakes waiters if any.
    #[inline]
    pub(super) fn locked<R>(&self, f: impl FnOnce(u64) -> Result<(R, Change)>) -> Result<R> {
        self.check_writable()?;
        self.guarded(|| self.locked_in_scope(f))
    }

    #[inline]
    pub(super) fn locked_in_scope<R>(
        &self,
        f: impl FnOnce(u64) -> Result<(R, Change)>,
    ) -> Result<R> {
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
        self.start_batch(|| self.acquire())
    }

    /// Like [`Array::lock`] but fails with `Busy` instead of waiting.
    pub fn try_lock(&self) -> Result<()> {
        self.start_batch(|| {
            let t = self
                .token
                .get(self.w32(format::OFF_NEXT_TOKEN), self.file())?;
            if !lock::try_acquire(self.w32(format::OFF_LOCK), t, &self.token) {
                return Err(Error::new(Code::Busy, "the lock is held by another writer"));
            }
            Ok(())
        })
    }

    /// The common part of [`Array::lock`] and [`Array::try_lock`]: refuses a
    /// read-only handle and a thread already in a batch, takes the lock
    /// with `take`, gives it back if the array is poisoned, and records this
    /// thread (and fork generation) as the batch's owner.
    fn start_batch(&self, take: impl FnOnce() -> Result<()>) -> Result<()> {
        self.check_writable()?;
        if self.holds_batch() {
            return Err(Error::new(Code::Busy, "this thread already holds the lock"));
        }
        self.guarded(|| {
            take()?;
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
    pub(super) fn ensure(&self, need: u64) -> Result<()> {
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
        // Growth is rare: look at the file first (a shrunk one: Truncated);
        // the first allocation reuses that fstat, a retry takes its own.
        let mut st = Some(self.recheck_size()?);
        // Double, in steps of at most 1 GiB, at least 64 KiB.
        let step = cap.clamp((65536 / self.rb).max(1), ((1u64 << 30) / self.rb).max(1));
        let want = need.max(cap.saturating_add(step)).min(self.max_len);
        // Short of space (or of memory, for tmpfs/memfd: see memlimit.rs),
        // halve the extra room down to the exact need, so a nearly full disk
        // still grows in steps, not one row per call.
        let mut want = want;
        let got = loop {
            let size = self.data_offset + want * self.rb;
            let r = match st.take() {
                Some(st) => sys::allocate_after(self.fd(), size, &st),
                None => sys::allocate(self.fd(), size),
            };
            match r {
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
}

//! The handle table: C sees a small positive `int32_t` (index + generation),
//! never a pointer, so a closed, stale or invented handle is detected
//! instead of dereferenced, and Python can pass a handle as a plain int.
//!
//! A handle is `generation << 12 | index`: 4,096 slots (index 0 is never
//! used, so no handle is 0) and 19 generation bits, a positive `int32_t`.
//! Closing bumps the slot's generation. Slots are handed out never-used
//! ones first, then in the order they were freed (a FIFO, [`SlotQueue`]):
//! with at most `L` handles live, a freed slot waits behind at least
//! `4,095 - L` others before it is reused, so a closed handle's number
//! comes back only after `2^19 * (4,095 - L)` opens: more than 2^30 while
//! `L <= 1,000` (the stack used before reused the freed slot at once and
//! revived a closed handle after 32,767 opens). More than 4,095 live
//! handles is `MBA_E_NOMEM`: each reserves its own address space (64 GiB
//! by default) anyway.
//!
//! Lookups are lock-free (two acquire loads and a generation compare);
//! insert and remove take a ForkLock. A lookup racing an insert or close of
//! *another* handle is safe; a lookup racing `mba_close` of the *same*
//! handle is the caller's bug (documented in mba.h): the entry may be freed
//! while in use.

use crate::array::Array;
use crate::error::{Code, Error, Result};
use crate::lock::{ForkLock, GenLock};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

const INDEX_BITS: u32 = 12;
const SLOTS: usize = 1 << INDEX_BITS;
const INDEX_MASK: i32 = (1 << INDEX_BITS) - 1;
const GEN_BITS: u32 = 19;

/// The generation after `g` (wraps within `bits` bits).
#[inline]
const fn next_gen(g: u32, bits: u32) -> u32 {
    (g + 1) & ((1 << bits) - 1)
}

/// The handle number of slot `idx` at generation `gen`.
#[inline]
const fn handle_of(idx: usize, gen: u32, index_bits: u32) -> i32 {
    ((gen << index_bits) | idx as u32) as i32
}

/// Which slot the next handle gets: never-used slots first (from 1 up),
/// then freed ones, least recently freed first. A fixed ring (no
/// allocation under the lock); `N` slots, slot 0 never handed out.
pub struct SlotQueue<const N: usize> {
    ring: [u16; N],
    head: usize,
    len: usize,
    fresh: usize,
}

impl<const N: usize> SlotQueue<N> {
    pub const fn new() -> Self {
        assert!(N <= 1 << 16);
        SlotQueue {
            ring: [0; N],
            head: 0,
            len: 0,
            fresh: 1,
        }
    }

    /// A free slot, or `None` if all `N - 1` are in use.
    pub fn take(&mut self) -> Option<usize> {
        if self.fresh < N {
            self.fresh += 1;
            return Some(self.fresh - 1);
        }
        if self.len == 0 {
            return None;
        }
        let i = self.ring[self.head] as usize;
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(i)
    }

    /// Gives back a slot that `take` handed out (at most once).
    pub fn give(&mut self, i: usize) {
        // At most N - 1 slots are ever out, so the ring never overflows.
        self.ring[(self.head + self.len) % N] = i as u16;
        self.len += 1;
    }
}

impl<const N: usize> Default for SlotQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// One open handle.
pub struct Entry {
    pub array: Array,
    /// Detailed message of the last failure on this handle (a GenLock: a
    /// forked child can always record and read it).
    pub error: GenLock<String>,
}

impl Entry {
    /// Runs `f` on the handle's error message, under its lock.
    pub fn with_error<R>(&self, f: impl FnOnce(&mut String) -> R) -> R {
        self.error.with(|m, inherited| {
            if inherited {
                // A thread of the parent was changing it at fork: never
                // touch that string again (its fields may be half
                // written); leak it.
                std::mem::forget(std::mem::take(m));
            }
            f(m)
        })
    }
}

struct Slot {
    /// Generation of the handle in this slot (GEN_BITS bits).
    gen: AtomicU32,
    ptr: AtomicPtr<Entry>,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        gen: AtomicU32::new(1),
        ptr: AtomicPtr::new(std::ptr::null_mut()),
    }
}; SLOTS];
/// The slots to hand out. A ForkLock: a child forked while another thread
/// opens or closes must still be able to open.
static FREE: ForkLock<SlotQueue<SLOTS>> = ForkLock::new(SlotQueue::new());

#[inline(always)]
fn slot(h: i32) -> &'static Slot {
    &TABLE[(h & INDEX_MASK) as usize]
}

/// Stores an entry and returns its handle.
pub fn insert(array: Array) -> Result<i32> {
    let e = Box::new(Entry {
        array,
        error: GenLock::new(String::new()),
    });
    // A free slot index is this call's alone once taken from the queue.
    let idx = FREE.with(|free| free.take());
    // (On failure the entry, and perhaps its mapping, is dropped here,
    // outside the lock.)
    let idx = idx.ok_or_else(|| {
        Error::new(
            Code::NoMem,
            format!(
                "too many open handles: {} are open in this process, the most it can hold \
                 (each reserves its own address space; close some)",
                SLOTS - 1
            ),
        )
    })?;
    let s = &TABLE[idx];
    s.ptr.store(Box::into_raw(e), Release);
    Ok(handle_of(idx, s.gen.load(Relaxed), INDEX_BITS))
}

#[cold]
#[inline(never)]
fn bad(h: i32) -> Error {
    Error::new(Code::Handle, format!("invalid or closed handle {h}"))
}

/// The entry of a live handle, or `None`; never panics (for fast paths).
#[inline(always)]
pub fn get_fast(h: i32) -> Option<&'static Entry> {
    if h <= 0 {
        return None;
    }
    let s = slot(h);
    let p = s.ptr.load(Acquire);
    if p.is_null() || s.gen.load(Acquire) != (h >> INDEX_BITS) as u32 {
        return None;
    }
    // SAFETY: the pointer came from Box::into_raw and stays valid until
    // `remove` (which callers must not race, see the module docs).
    Some(unsafe { &*p })
}

/// The entry of a live handle.
#[inline(always)]
pub fn get(h: i32) -> Result<&'static Entry> {
    get_fast(h).ok_or_else(|| bad(h))
}

/// Removes a handle; its entry is dropped by the caller.
pub fn remove(h: i32) -> Result<Box<Entry>> {
    FREE.with(|free| {
        let p = get_fast(h).ok_or_else(|| bad(h))? as *const Entry as *mut Entry;
        let s = slot(h);
        s.ptr.store(std::ptr::null_mut(), Release);
        s.gen
            .store(next_gen(s.gen.load(Relaxed), GEN_BITS), Release);
        free.give((h & INDEX_MASK) as usize);
        // SAFETY: `p` came from Box::into_raw and is no longer reachable
        // through the table; the caller drops it after the lock is released.
        Ok(unsafe { Box::from_raw(p) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a table of `N` slots with `gen_bits` generations through the
    /// same allocation code as the real one (SlotQueue, next_gen,
    /// handle_of): `live` handles stay open, one more is closed, then
    /// `cycles` open/close pairs run; returns after how many opens the
    /// closed handle's number was handed out again, if it was.
    fn reuse_distance<const N: usize>(
        index_bits: u32,
        gen_bits: u32,
        live: usize,
        cycles: u64,
    ) -> Option<u64> {
        let mut q = SlotQueue::<N>::new();
        let mut gens = vec![1u32; N];
        let open = |q: &mut SlotQueue<N>, gens: &[u32]| {
            let i = q.take().expect("a free slot");
            (i, handle_of(i, gens[i], index_bits))
        };
        let close = |q: &mut SlotQueue<N>, gens: &mut [u32], i: usize| {
            gens[i] = next_gen(gens[i], gen_bits);
            q.give(i);
        };
        let mut held = Vec::new();
        for _ in 0..live {
            held.push(open(&mut q, &gens));
        }
        let (oi, old) = open(&mut q, &gens);
        close(&mut q, &mut gens, oi);
        for n in 1..=cycles {
            let (i, h) = open(&mut q, &gens);
            if h == old {
                return Some(n);
            }
            close(&mut q, &mut gens, i);
        }
        None
    }

    /// A small table proves the arithmetic: 64 slots (63 usable), 4
    /// generation bits, 16 live: the closed number comes back after exactly
    /// 2^4 * (63 - 16) = 752 opens (each reuse of its slot waits behind
    /// the 46 other free slots), never sooner.
    #[test]
    fn closed_handle_comes_back_only_after_the_bound_small_table() {
        for live in [0usize, 1, 16, 40, 62] {
            let bound = 16 * (63 - live as u64);
            assert_eq!(
                reuse_distance::<64>(6, 4, live, 100_000),
                Some(bound),
                "live {live}"
            );
        }
        // Random opens and closes with at most 16 live: never sooner.
        let mut q = SlotQueue::<64>::new();
        let mut gens = [1u32; 64];
        let mut held: Vec<usize> = Vec::new();
        let old_i = q.take().unwrap();
        let old = handle_of(old_i, gens[old_i], 6);
        gens[old_i] = next_gen(gens[old_i], 4);
        q.give(old_i);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut opens = 0u64;
        while opens < 752 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if held.len() < 16 && (held.is_empty() || x % 3 != 0) {
                let i = q.take().unwrap();
                opens += 1;
                assert_ne!(handle_of(i, gens[i], 6), old, "after {opens} opens");
                held.push(i);
            } else {
                let i = held.swap_remove((x >> 8) as usize % held.len());
                gens[i] = next_gen(gens[i], 4);
                q.give(i);
            }
        }
    }

    /// The real configuration (4,096 slots, 19 generation bits, 1,000
    /// live): a closed handle is not handed out again in 2^30 opens (the
    /// bound is 2^19 * 3,095 = 1.6e9). About 5 s in release; a debug build
    /// runs the first 2^24 opens.
    #[test]
    fn closed_handle_stays_invalid_for_2_pow_30_opens() {
        assert_eq!(INDEX_BITS + GEN_BITS, 31, "handles are positive int32_t");
        let cycles = if cfg!(debug_assertions) {
            1 << 24
        } else {
            1 << 30
        };
        assert_eq!(
            reuse_distance::<SLOTS>(INDEX_BITS, GEN_BITS, 999, cycles),
            None
        );
        assert!((1u64 << GEN_BITS) * (SLOTS as u64 - 1 - 1000) >= 1 << 30);
    }
}

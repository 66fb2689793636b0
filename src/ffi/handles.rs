//! The handle table: C sees a small positive `int32_t` (index + generation),
//! never a pointer, so a closed, stale or invented handle is detected
//! instead of dereferenced, and Python can pass a handle as a plain int.
//!
//! The table is one static array of 65,536 slots (zero pages until used):
//! each handle reserves tens of GiB of address space, so no process can
//! hold more handles than that anyway. Lookups are lock-free (two acquire
//! loads and a generation compare); insert and remove take a ForkLock. A
//! lookup racing an insert or close of *another* handle is safe; a lookup
//! racing `mba_close` of the *same* handle is the caller's bug (documented
//! in mba.h): the entry may be freed while in use.

use crate::array::Array;
use crate::error::{Code, Error, Result};
use crate::lock::{ForkLock, GenLock};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

const INDEX_BITS: u32 = 16;
const SLOTS: usize = 1 << INDEX_BITS;
const INDEX_MASK: i32 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u32 = 0x7fff;

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
    /// Generation of the handle in this slot (1..=GEN_MASK).
    gen: AtomicU32,
    ptr: AtomicPtr<Entry>,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        gen: AtomicU32::new(1),
        ptr: AtomicPtr::new(std::ptr::null_mut()),
    }
}; SLOTS];
/// Free slot indexes, and the next never-used index (index 0 is never used,
/// so no handle is 0). A ForkLock: a child forked while another thread
/// opens or closes must still be able to open.
static FREE: ForkLock<(Vec<u32>, u32)> = ForkLock::new((Vec::new(), 1));

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
    // A free slot index is this call's alone once taken from the table.
    let idx = FREE.with(|free| match free.0.pop() {
        Some(i) => Some(i),
        None if (free.1 as usize) < SLOTS => {
            free.1 += 1;
            Some(free.1 - 1)
        }
        None => None,
    });
    // (On failure the entry, and perhaps its mapping, is dropped here,
    // outside the lock.)
    let idx = idx.ok_or_else(|| Error::new(Code::NoMem, "too many open handles"))?;
    let s = &TABLE[idx as usize];
    s.ptr.store(Box::into_raw(e), Release);
    Ok(((s.gen.load(Relaxed) as i32) << INDEX_BITS) | idx as i32)
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
        s.gen.store(s.gen.load(Relaxed) % GEN_MASK + 1, Release);
        free.0.push((h & INDEX_MASK) as u32);
        // SAFETY: `p` came from Box::into_raw and is no longer reachable
        // through the table; the caller drops it after the lock is released.
        Ok(unsafe { Box::from_raw(p) })
    })
}

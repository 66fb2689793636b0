//! The handle table: C sees a small positive `int32_t` (index + generation),
//! never a pointer, so a closed, stale or invented handle is detected
//! instead of dereferenced, and Python can pass a handle as a plain int.
//!
//! Lookups are lock-free (two acquire loads and a generation compare);
//! insert and remove take a mutex. The table never frees its chunks, so a
//! lookup racing an insert on another handle is safe. A lookup racing
//! `mba_close` of the *same* handle is the caller's bug (documented in
//! mba.h): the entry may be freed while in use.

use crate::array::Array;
use crate::error::{Code, Error, Result};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};
use std::sync::Mutex;

const CHUNK: usize = 1024;
const NCHUNKS: usize = 1024;
const INDEX_BITS: u32 = 20;
const INDEX_MASK: i32 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u32 = 0x7ff;

/// One open handle.
pub struct Entry {
    pub array: Array,
    /// Detailed message of the last failure on this handle.
    pub error: Mutex<String>,
}

struct Slot {
    gen: AtomicU32,
    ptr: AtomicPtr<Entry>,
}

static CHUNKS: [AtomicPtr<Slot>; NCHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; NCHUNKS];
static FREE: Mutex<(Vec<u32>, u32)> = Mutex::new((Vec::new(), 1));

fn slot(idx: u32) -> Option<&'static Slot> {
    let c = CHUNKS[(idx as usize / CHUNK) % NCHUNKS].load(Acquire);
    if c.is_null() {
        return None;
    }
    // SAFETY: chunks are leaked arrays of CHUNK slots, never freed.
    Some(unsafe { &*c.add(idx as usize % CHUNK) })
}

/// Stores an entry and returns its handle.
pub fn insert(array: Array) -> Result<i32> {
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    let idx = match free.0.pop() {
        Some(i) => i,
        None => {
            let i = free.1;
            if i as usize >= CHUNK * NCHUNKS {
                return Err(Error::new(Code::NoMem, "too many open handles"));
            }
            free.1 += 1;
            i
        }
    };
    let ci = idx as usize / CHUNK;
    if CHUNKS[ci].load(Acquire).is_null() {
        let v: Vec<Slot> = (0..CHUNK)
            .map(|_| Slot {
                gen: AtomicU32::new(1),
                ptr: AtomicPtr::new(std::ptr::null_mut()),
            })
            .collect();
        CHUNKS[ci].store(Box::leak(v.into_boxed_slice()).as_mut_ptr(), Release);
    }
    let s = slot(idx).expect("chunk allocated above");
    let e = Box::new(Entry {
        array,
        error: Mutex::new(String::new()),
    });
    s.ptr.store(Box::into_raw(e), Release);
    Ok(((s.gen.load(Relaxed) as i32) << INDEX_BITS) | idx as i32)
}

fn find(h: i32) -> Result<(&'static Slot, *mut Entry)> {
    let bad = || Error::new(Code::Handle, format!("invalid or closed handle {h}"));
    if h <= 0 {
        return Err(bad());
    }
    let s = slot((h & INDEX_MASK) as u32).ok_or_else(bad)?;
    if s.gen.load(Acquire) != (h >> INDEX_BITS) as u32 {
        return Err(bad());
    }
    let p = s.ptr.load(Acquire);
    if p.is_null() {
        return Err(bad());
    }
    Ok((s, p))
}

/// The entry of a live handle.
#[inline]
pub fn get(h: i32) -> Result<&'static Entry> {
    // SAFETY: the pointer came from Box::into_raw and stays valid until
    // `remove` (which callers must not race, see the module docs).
    find(h).map(|(_, p)| unsafe { &*p })
}

/// Removes a handle; its entry is dropped by the caller.
pub fn remove(h: i32) -> Result<Box<Entry>> {
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    let (s, p) = find(h)?;
    s.ptr.store(std::ptr::null_mut(), Release);
    let g = s.gen.load(Relaxed) % GEN_MASK + 1;
    s.gen.store(g, Release);
    free.0.push((h & INDEX_MASK) as u32);
    // SAFETY: `p` came from Box::into_raw and is no longer reachable
    // through the table.
    Ok(unsafe { Box::from_raw(p) })
}

//! Element writes: append (and its non-blocking and typed variants),
//! extend, insert, set, write, pop, remove, truncate, clear, reserve.

use super::*;

//
// Writes on one handle may run concurrently from several threads, and with
// writes by other handles and processes: they serialise on the array's
// writer lock. Append and extend are atomic under a crash (a killed writer
// leaves the array as before the call); set, write, insert and remove hold
// the lock, but a writer killed inside one may leave it half done.

/// Appends one row (one element of a flat array) copied from row, which
/// must hold mba_row_size() bytes. Visible to every process when it
/// returns. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE,
/// MBA_E_NOMEM (also: a memory-backed array would outgrow the memory left; the
/// array is unchanged), MBA_E_TRUNCATED (another process shrank the file),
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_append(h: mba_handle, row: *const c_void) -> c_int {
    if !row.is_null() {
        if let Some(e) = handles::get_fast(h) {
            // SAFETY: row is valid for one row per the contract; the fast
            // path cannot panic, so it may run outside the boundary. It has
            // no calls: the rare outcomes are tail calls.
            match unsafe { e.array.append_fast_unguarded(row.cast()) } {
                FastAppend::Done => return MBA_OK,
                FastAppend::Wake(w) => return wake_ok(e, w),
                FastAppend::WakeThenSlow(w) => {
                    e.array.wake_waiters(w);
                    // SAFETY: forwarded caller contract.
                    return unsafe { append_general(h, row) };
                }
                // SAFETY: forwarded caller contract. (The fast path was
                // tried: trying again would only take the lock's cache
                // line from its holder.)
                FastAppend::Slow => return unsafe { append_general(h, row) },
                FastAppend::Unsupported => {}
            }
        }
    }
    // SAFETY: forwarded caller contract.
    unsafe { append_slow(h, row) }
}

/// Wakes the waiters after a fast append; `MBA_OK`.
#[cold]
#[inline(never)]
fn wake_ok(e: &handles::Entry, w: Waiting) -> c_int {
    e.array.wake_waiters(w);
    MBA_OK
}

/// `mba_append` past its unguarded fast path: the guarded fast path, then
/// the general one.
///
/// # Safety
/// As for `mba_append`.
#[cold]
#[inline(never)]
unsafe fn append_slow(h: mba_handle, row: *const c_void) -> c_int {
    if !row.is_null() {
        if let Some(e) = handles::get_fast(h) {
            // SAFETY: as in `mba_append`.
            if unsafe { e.array.try_append_fast(row.cast()) } {
                return MBA_OK;
            }
        }
    }
    // SAFETY: forwarded caller contract.
    unsafe { append_general(h, row) }
}

/// `mba_append`'s general path (inside the panic boundary).
///
/// # Safety
/// As for `mba_append`.
#[cold]
#[inline(never)]
unsafe fn append_general(h: mba_handle, row: *const c_void) -> c_int {
    with(h, |e| {
        buf(row, 1)?;
        // SAFETY: row is valid for one row per the contract.
        unsafe { e.array.append_raw(row.cast()) }
    })
}

/// Like mba_append, but never waits and never grows: returns MBA_E_BUSY
/// (having changed nothing) whenever the append cannot complete at once
/// (lock held by another writer, growth needed, first write of the handle
/// or after fork, read-only, invalid handle or NULL row); the caller then
/// calls mba_append, which waits or reports the error. For callers that
/// must not block: that hold a lock of their own (an interpreter's
/// global lock), run an event loop, or have a deadline.
/// Thread-safe.
/// Errors: MBA_E_BUSY (for every case it cannot complete at once, errors
/// included: it never reports another code).
#[no_mangle]
pub unsafe extern "C" fn mba_try_append(h: mba_handle, row: *const c_void) -> c_int {
    if !row.is_null() {
        if let Some(e) = handles::get_fast(h) {
            // SAFETY: row is valid for one row per the contract; the fast
            // path cannot panic.
            if unsafe { e.array.try_append_fast(row.cast()) } {
                return MBA_OK;
            }
        }
    }
    MBA_E_BUSY
}

/// Appends n rows copied from src (n * mba_row_size() bytes) in one
/// all-or-nothing step. src may be NULL when n is 0. Extends of 4 MiB or
/// more are written through the file (pwrite: no zeroing of new pages, no
/// page faults in the caller), which also turns an unreadable src into
/// MBA_E_ARG instead of a crash. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_ARG (unreadable src),
/// MBA_E_READONLY, MBA_E_OVERFLOW, MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM
/// (also: a memory-backed array would outgrow the memory left; the array is
/// unchanged), MBA_E_TRUNCATED (another process shrank the file), MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_extend(h: mba_handle, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.extend_raw(src.cast(), n) }
    })
}

/// The panic-free fast path shared by the typed appends: looks the handle
/// up and appends the element bits `bits` gives, if any. `false` (nothing
/// changed) sends the caller to its general path.
#[inline(always)]
pub(super) fn fast_typed(h: mba_handle, bits: impl FnOnce(&Array) -> Option<u64>) -> bool {
    let Some(e) = handles::get_fast(h) else {
        return false;
    };
    let Some(b) = bits(&e.array) else {
        return false;
    };
    // SAFETY: `b` holds 8 bytes, and int_bits/f64_bits only give bits for
    // flat arrays of rows of at most 8 bytes; the fast path cannot panic.
    unsafe { e.array.try_append_fast((&b as *const u64).cast()) }
}

/// Appends a signed 64-bit integer, converted (range-checked) to the element
/// type of a flat numeric array. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_READONLY,
/// MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would
/// outgrow the memory left; the array is unchanged), MBA_E_TRUNCATED (another
/// process shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token).
#[no_mangle]
pub extern "C" fn mba_append_i64(h: mba_handle, v: i64) -> c_int {
    if fast_typed(h, |a| a.int_bits(v as i128)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_int(v as i128))
}

/// Appends an unsigned 64-bit integer, converted (range-checked) to the
/// element type of a flat numeric array. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_READONLY,
/// MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would
/// outgrow the memory left; the array is unchanged), MBA_E_TRUNCATED (another
/// process shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token).
#[no_mangle]
pub extern "C" fn mba_append_u64(h: mba_handle, v: u64) -> c_int {
    if fast_typed(h, |a| a.int_bits(v as i128)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_int(v as i128))
}

/// Appends a double to a flat f32 or f64 array (MBA_E_TYPE otherwise).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE,
/// MBA_E_NOMEM (also: a memory-backed array would outgrow the memory left; the
/// array is unchanged), MBA_E_TRUNCATED (another process shrank the file),
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_append_f64(h: mba_handle, v: f64) -> c_int {
    if fast_typed(h, |a| a.f64_bits(v)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_f64(v))
}

/// Removes the last row; copies it to out unless out is NULL.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_EMPTY, MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_pop(h: mba_handle, out_row: *mut c_void) -> c_int {
    // SAFETY: a non-NULL out_row is valid for one row per the contract.
    with(h, |e| unsafe { e.array.pop_raw(out_row.cast()) })
}

/// Overwrites row i with the row at src. Holds the writer lock.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_set(h: mba_handle, i: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, 1)?;
        // SAFETY: src is valid for one row per the contract.
        unsafe { e.array.write_raw(i, 1, src.cast()) }
    })
}

/// Overwrites rows [start, start+n) from src. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_write(h: mba_handle, start: u64, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.write_raw(start, n, src.cast()) }
    })
}

/// Sets element i of a flat numeric array to v (range-checked).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_INDEX,
/// MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token), MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_i64(h: mba_handle, i: u64, v: i64) -> c_int {
    with(h, |e| e.array.set_int(i, v as i128))
}

/// Sets element i of a flat numeric array to v (range-checked).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_INDEX,
/// MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token), MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_u64(h: mba_handle, i: u64, v: u64) -> c_int {
    with(h, |e| e.array.set_int(i, v as i128))
}

/// Sets element i of a flat f32 or f64 array to v. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_f64(h: mba_handle, i: u64, v: f64) -> c_int {
    with(h, |e| e.array.set_f64(i, v))
}

/// Inserts n rows from src before row i (i == length appends). src must
/// not point into this array. Not crash-atomic. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_OVERFLOW,
/// MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a
/// memory-backed array would outgrow the memory left; the array is unchanged),
/// MBA_E_TRUNCATED (another process shrank the file), MBA_E_IO, MBA_E_PERM,
/// MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_insert(h: mba_handle, i: u64, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.insert_raw(i, src.cast(), n) }
    })
}

/// Removes rows [i, i+n). Not crash-atomic. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_remove(h: mba_handle, i: u64, n: u64) -> c_int {
    with(h, |e| e.array.remove(i, n))
}

/// Lowers the length to n rows (no effect if it is already n or less).
/// Never shrinks the file. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_TRUNCATED (another process
/// shrank the file below the capacity: checked with fstat first), MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_truncate(h: mba_handle, n: u64) -> c_int {
    with(h, |e| e.array.truncate(n))
}

/// Sets the length to 0. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_TRUNCATED (as mba_truncate),
/// MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_clear(h: mba_handle) -> c_int {
    with(h, |e| e.array.clear())
}

/// Reserves disk or memory space for at least n rows (allocated for real,
/// so later appends cannot hit SIGBUS; holes that another program left
/// with ftruncate are allocated too). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_FULL (above max_len),
/// MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would outgrow the
/// memory left; the array is unchanged), MBA_E_TRUNCATED (another process
/// shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_reserve(h: mba_handle, n: u64) -> c_int {
    with(h, |e| e.array.reserve(n))
}

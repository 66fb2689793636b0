//! The writer lock across calls, the change counter and waiting.

use super::*;

/// Takes the array's writer lock for a batch: until mba_unlock, writes by
/// the calling thread through h skip locking (the single-writer fast path),
/// while other threads and processes wait. Waiters (mba_wait) are woken at
/// mba_unlock. If the holder dies, the lock is recovered by the next writer.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_BUSY (this thread holds it
/// already), MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_lock(h: mba_handle) -> c_int {
    with(h, |e| e.array.lock())
}

/// Like mba_lock but returns MBA_E_BUSY at once if another writer holds it.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_BUSY, MBA_E_NOMEM, MBA_E_PERM,
/// MBA_E_IO, MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_try_lock(h: mba_handle) -> c_int {
    with(h, |e| e.array.try_lock())
}

/// Releases the lock taken by mba_lock and wakes waiters.
/// Errors: MBA_E_HANDLE, MBA_E_NOTLOCKED,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_unlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.unlock())
}

/// Stores the array's change counter in *out: a 64-bit count that grows
/// with every change (append, set, pop, truncate...) and never goes back.
/// Pass it to mba_wait. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_seq(h: mba_handle, out_seq: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_seq, e.array.try_seq()?) })
}

/// Blocks until the change counter differs from seen, then stores it in
/// *out_seq (may be NULL). timeout_ns < 0 waits forever; 0 only checks.
/// Returns MBA_E_TIMEOUT when the time passes, MBA_E_INTR when a signal
/// handler runs while the call sleeps (so callers can act on it),
/// MBA_E_NOTSUP for copy-on-write and raw handles, MBA_E_TRUNCATED when,
/// before a sleep, the file turns out shrunk by another process (checked
/// with fstat before each sleep). It first polls for a
/// few microseconds; then read-write handles sleep on a futex and wake
/// within microseconds, while read-only handles, which cannot register as
/// waiters, sleep in slices of at most 1 ms. A signal that arrives while
/// the call is between sleeps runs its handler but does not end the wait
/// (as with any blocking call without a signal mask): callers that must
/// react to signals promptly should wait with a finite timeout in a loop
/// (100 ms, say). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOTSUP, MBA_E_TIMEOUT, MBA_E_INTR,
/// MBA_E_TRUNCATED, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_wait(
    h: mba_handle,
    seen: u64,
    timeout_ns: i64,
    out_seq: *mut u64,
) -> c_int {
    with(h, |e| {
        let t = (timeout_ns >= 0).then(|| Duration::from_nanos(timeout_ns as u64));
        let s = e.array.wait(seen, t)?;
        if !out_seq.is_null() {
            // SAFETY: out-pointer from the C caller: NULL refused, else writable.
            unsafe { out(out_seq, s) }?;
        }
        Ok(())
    })
}

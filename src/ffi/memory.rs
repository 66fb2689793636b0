//! Raw pointers into the mapping and pins; flush, mlock and advice.

use super::*;

/// Stores the address of the first element in *out. It stays valid, and
/// the same, for the life of the handle (or of a pin): growth never moves
/// it. Only rows below mba_len are meaningful; other processes may write
/// them (read with care: no locks are taken). Read-only handles give
/// read-only memory. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_get_ptr(h: mba_handle, out_p: *mut *mut c_void) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_p, e.array.as_ptr().cast()) })
}

/// Stores the address of the header's 64-bit length word in *out (for
/// raw and copy-on-write handles, a private copy). Read it with an acquire
/// load (any aligned 8-byte load on x86-64 and arm64 with a barrier) and
/// clamp it to mba_capacity before use. Valid until mba_close (a pin keeps
/// the elements mapped, not this word).
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_len_ptr(h: mba_handle, out_p: *mut *const u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_p, e.array.len_ptr()) })
}

pub(super) static PINS: crate::lock::ForkLock<Vec<Option<Arc<crate::array::Mapping>>>> =
    crate::lock::ForkLock::new(Vec::new());

/// Pins the handle's mapping: it stays mapped, and mba_get_ptr addresses
/// stay valid, until mba_unpin(*out_pin), even after mba_close. Used by
/// bindings whose views may outlive the handle. *out_pin is a positive id.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_pin(h: mba_handle, out_pin: *mut i32) -> c_int {
    with(h, |e| {
        if out_pin.is_null() {
            return Err(Error::new(Code::Null, "out_pin pointer is NULL"));
        }
        let m = Some(e.array.mapping());
        let id = PINS.with(|p| match p.iter().position(Option::is_none) {
            Some(i) => {
                p[i] = m;
                i
            }
            None => {
                p.push(m);
                p.len() - 1
            }
        });
        // SAFETY: out-pointer from the C caller: NULL refused, else writable.
        unsafe { out(out_pin, id as i32 + 1) }
    })
}

/// Releases a pin from mba_pin; unmaps the memory if no handle or other
/// pin uses it. MBA_E_HANDLE for an unknown or already released pin.
/// Thread-safe.
/// Errors: MBA_E_HANDLE (unknown or released pin).
#[no_mangle]
pub extern "C" fn mba_unpin(pin: i32) -> c_int {
    run(|| {
        let slot = PINS.with(|p| {
            pin.checked_sub(1)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| p.get_mut(i))
                .and_then(Option::take)
        });
        // The mapping (if this was its last user) is unmapped here, after
        // the lock is released.
        match slot {
            Some(m) => {
                drop(m);
                Ok(())
            }
            None => Err(Error::new(Code::Handle, format!("invalid pin {pin}"))),
        }
    })
}

// --------------------------------------------------- flush and memory

pub(super) fn flush_mode(mode: c_int) -> Result<Flush> {
    match mode {
        MBA_FLUSH_SYNC => Ok(Flush::Sync),
        MBA_FLUSH_ASYNC => Ok(Flush::Async),
        MBA_FLUSH_INVALIDATE => Ok(Flush::Invalidate),
        m => Err(Error::new(Code::Arg, format!("unknown flush mode {m}"))),
    }
}

/// Writes the whole array back to its file: mode MBA_FLUSH_SYNC (data, then the
/// header with its durable length; waits), MBA_FLUSH_ASYNC or MBA_FLUSH_INVALIDATE.
/// A no-op for copy-on-write handles. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG (unknown mode), MBA_E_TRUNCATED (another
/// process shrank the file: checked with fstat first), MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_flush(h: mba_handle, mode: c_int) -> c_int {
    with(h, |e| e.array.flush(0, None, flush_mode(mode)?))
}

/// Writes rows [start, start+n) back (and the header). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG, MBA_E_INDEX, MBA_E_TRUNCATED, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_flush_range(h: mba_handle, start: u64, n: u64, mode: c_int) -> c_int {
    with(h, |e| e.array.flush(start, Some(n), flush_mode(mode)?))
}

/// Locks the allocated elements into RAM (mlock). May fail with
/// MBA_E_NOMEM or MBA_E_PERM under RLIMIT_MEMLOCK. The lock belongs to the
/// mapping, which handles of this process on the same array and access
/// share (see mba_open). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_mlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.mlock())
}

/// Undoes mba_mlock (for every handle sharing the mapping). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_munlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.munlock())
}

/// Gives the kernel an access hint for the elements: MBA_ADVISE_NORMAL,
/// _RANDOM, _SEQUENTIAL or _WILLNEED. Never changes contents. The hint
/// applies to the mapping, shared by the handles of this process on the
/// same array and access (see mba_open). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_advise(h: mba_handle, advice: c_int) -> c_int {
    with(h, |e| {
        let a = match advice {
            MBA_ADVISE_NORMAL => libc::MADV_NORMAL,
            MBA_ADVISE_RANDOM => libc::MADV_RANDOM,
            MBA_ADVISE_SEQUENTIAL => libc::MADV_SEQUENTIAL,
            MBA_ADVISE_WILLNEED => libc::MADV_WILLNEED,
            a => return Err(Error::new(Code::Arg, format!("unknown advice {a}"))),
        };
        e.array.advise(a)
    })
}

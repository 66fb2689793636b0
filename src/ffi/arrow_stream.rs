//! The Arrow C stream of an array (mba_export_arrow_stream): a finite
//! snapshot, or a live stream that tails the array with the library's
//! wait. The callbacks follow the C stream interface: 0 or an errno value,
//! the message of the last failure kept in the stream for get_last_error,
//! and no panic crosses them.

use super::arrow::{ArrowArray, ArrowArrayStream, ArrowSchema, MBA_ARROW_LIVE};
use super::arrow_build::{export_array, export_schema, released_array, take_private, Desc};
use crate::array::{Array, Kind};
use crate::error::{Code, Error, Result};
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::time::{Duration, Instant};

enum State {
    /// The one batch of a snapshot, until get_next hands it out.
    Snapshot(Option<ArrowArray>),
    /// A live stream: its own attachment to the array, the rows delivered
    /// so far, the wait of each get_next (None: forever).
    Live {
        array: Array,
        pos: u64,
        timeout: Option<Duration>,
    },
}

struct StreamPriv {
    desc: Desc,
    state: State,
    error: Option<CString>,
}

/// A new stream of `a` (see mba_export_arrow_stream).
pub(super) fn new_stream(a: &Array, flags: u32, timeout_ns: i64) -> Result<ArrowArrayStream> {
    let desc = Desc::of(a, flags)?;
    let state = if flags & MBA_ARROW_LIVE != 0 {
        if a.kind() != Kind::Shared {
            return Err(Error::new(
                Code::NotSup,
                "a live stream needs a shared array (not copy-on-write or raw)",
            ));
        }
        // Its own handle on the same mapping: the stream outlives
        // mba_close of the handle, and its batches point where
        // mba_get_ptr does.
        let own = a.reattach()?;
        State::Live {
            array: own,
            pos: 0,
            timeout: u64::try_from(timeout_ns).ok().map(Duration::from_nanos),
        }
    } else {
        let len = a.try_len()?;
        State::Snapshot(if len > 0 {
            Some(export_array(a, &desc, 0, len)?)
        } else {
            None
        })
    };
    let p = Box::new(StreamPriv {
        desc,
        state,
        error: None,
    });
    Ok(ArrowArrayStream {
        get_schema: Some(get_schema),
        get_next: Some(get_next),
        get_last_error: Some(get_last_error),
        release: Some(release_stream),
        private_data: Box::into_raw(p).cast(),
    })
}

/// The errno value a callback returns for `e`.
fn errno_of(e: &Error) -> c_int {
    match e.code {
        Code::NoMem => libc::ENOMEM,
        Code::Arg | Code::Null => libc::EINVAL,
        Code::Overflow => libc::EOVERFLOW,
        _ => libc::EIO,
    }
}

/// Runs a callback body on a live stream: EINVAL for a NULL or released
/// stream; a failure or a panic is recorded for get_last_error.
///
/// # Safety
/// `s` is NULL or a stream this library filled (possibly released).
unsafe fn call(s: *mut ArrowArrayStream, f: impl FnOnce(&mut StreamPriv) -> Result<()>) -> c_int {
    if s.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: a stream this library filled, per the contract.
    let (released, p) = unsafe { ((*s).release.is_none(), (*s).private_data) };
    if released || p.is_null() {
        return libc::EINVAL;
    }
    let p = p.cast::<StreamPriv>();
    // SAFETY: private_data is the StreamPriv box of new_stream, alive until
    // release; a stream is used by one thread at a time (Arrow's rule).
    let r = catch_unwind(AssertUnwindSafe(|| f(unsafe { &mut *p })));
    let (code, msg) = match r {
        Ok(Ok(())) => return 0,
        Ok(Err(e)) => (errno_of(&e), e.message),
        Err(_) => (libc::EIO, "internal panic in the Arrow stream".to_string()),
    };
    // SAFETY: as above; the closure's borrow has ended.
    unsafe { (*p).error = CString::new(msg.replace('\0', " ")).ok() };
    code
}

unsafe extern "C" fn get_schema(s: *mut ArrowArrayStream, out: *mut ArrowSchema) -> c_int {
    // SAFETY: `s` from the consumer, checked in `call`.
    unsafe {
        call(s, |p| {
            if out.is_null() {
                return Err(Error::new(Code::Null, "get_schema: out is NULL"));
            }
            // SAFETY: non-NULL, and valid for a write per the Arrow contract.
            out.write(export_schema(&p.desc));
            Ok(())
        })
    }
}

unsafe extern "C" fn get_next(s: *mut ArrowArrayStream, out: *mut ArrowArray) -> c_int {
    // SAFETY: `s` from the consumer, checked in `call`.
    unsafe {
        call(s, |p| {
            if out.is_null() {
                return Err(Error::new(Code::Null, "get_next: out is NULL"));
            }
            let a = next(p)?;
            // SAFETY: non-NULL, and valid for a write per the Arrow contract.
            out.write(a);
            Ok(())
        })
    }
}

/// The next batch, or a released array at the end.
fn next(p: &mut StreamPriv) -> Result<ArrowArray> {
    let desc = &p.desc;
    let (array, pos, timeout) = match &mut p.state {
        State::Snapshot(pending) => return Ok(pending.take().unwrap_or_else(released_array)),
        State::Live {
            array,
            pos,
            timeout,
        } => (array, pos, *timeout),
    };
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        // The counter first: a change after this load ends the wait at once.
        let seq = array.try_seq()?;
        let len = array.try_len()?;
        if len < *pos {
            *pos = len;
        }
        if len > *pos {
            let a = export_array(array, desc, *pos, len - *pos)?;
            *pos = len;
            return Ok(a);
        }
        let left = match (timeout, deadline) {
            (None, _) => None,
            (Some(_), Some(d)) => {
                let now = Instant::now();
                if now >= d {
                    return Ok(released_array());
                }
                Some(d - now)
            }
            // A timeout too large to add to the clock waits forever.
            (Some(_), None) => None,
        };
        match array.wait(seq, left) {
            Ok(_) => {}
            // The loop looks once more, then ends.
            Err(e) if e.code == Code::Timeout => {}
            Err(e) if e.code == Code::Interrupted => return export_array(array, desc, *pos, 0),
            Err(e) => return Err(e),
        }
    }
}

unsafe extern "C" fn get_last_error(s: *mut ArrowArrayStream) -> *const c_char {
    if s.is_null() {
        return ptr::null();
    }
    // SAFETY: a stream this library filled, per the Arrow contract.
    let p = unsafe { (*s).private_data }.cast::<StreamPriv>();
    if p.is_null() {
        return ptr::null();
    }
    // SAFETY: the live StreamPriv; the string stays until the next call.
    unsafe { (*p).error.as_ref().map_or(ptr::null(), |c| c.as_ptr()) }
}

unsafe extern "C" fn release_stream(s: *mut ArrowArrayStream) {
    // SAFETY: null or a stream this library filled (the box of new_stream).
    if let Some(mut p) = unsafe { take_private::<_, StreamPriv>(s) } {
        if let State::Snapshot(Some(a)) = &mut p.state {
            if let Some(r) = a.release {
                // SAFETY: a batch never handed out: still ours to release.
                unsafe { r(a) };
            }
        }
        // Dropping `p` closes a live stream's attachment.
    }
}

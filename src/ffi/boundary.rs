//! The FFI boundary: every exported function runs its body through
//! [`run`] (panics caught, errors turned into status codes and recorded as
//! the detailed last error), and reads its pointer arguments through the
//! checked helpers here.
//!
//! Safety contract of the whole `ffi` module: pointers from C are either
//! NULL (rejected with MBA_E_NULL) or valid for the access the header
//! documents for that argument; strings are NUL-terminated; a handle is
//! never used by one thread while another closes it.

use super::handles::{self, Entry};
use super::status::{status, MBA_E_PANIC, MBA_OK};
use crate::error::{Code, Error, Result};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST: RefCell<(c_int, String)> = const { RefCell::new((0, String::new())) };
}

/// Records `e` as this thread's last error and returns its status.
#[cold]
#[inline(never)]
pub fn fail(e: &Error) -> c_int {
    let s = status(e.code);
    LAST.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.0 = s;
            l.1.clear();
            l.1.push_str(&e.message);
        }
    });
    s
}

/// This thread's last error.
pub fn last() -> (c_int, String) {
    LAST.with(|l| l.borrow().clone())
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

#[cold]
fn fail_panic(p: Box<dyn std::any::Any + Send>) -> c_int {
    let _ = MBA_E_PANIC;
    fail(&Error::new(
        Code::Panic,
        format!("internal panic: {}", panic_message(p)),
    ))
}

/// Runs an exported function body: MBA_OK on success, the error's status
/// otherwise; a panic becomes MBA_E_PANIC.
#[inline]
pub fn run(f: impl FnOnce() -> Result<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => MBA_OK,
        Ok(Err(e)) => fail(&e),
        Err(p) => fail_panic(p),
    }
}

/// Like [`run`] for a function on a handle: the detailed message is also
/// kept on the handle (readable from any thread with mba_handle_error).
/// Never inlined: exported functions with a fast path keep the unwinding
/// machinery out of it.
#[inline(never)]
pub fn with(h: i32, f: impl FnOnce(&Entry) -> Result<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(|| {
        let e = handles::get(h)?;
        f(e).map_err(|err| note(e, err))
    })) {
        Ok(Ok(())) => MBA_OK,
        Ok(Err(e)) => fail(&e),
        Err(p) => fail_panic(p),
    }
}

#[cold]
#[inline(never)]
fn note(e: &Entry, err: Error) -> Error {
    e.with_error(|m| {
        m.clear();
        m.push_str(&err.message);
    });
    err
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(Code::Null, format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::new(Code::Arg, format!("{what} is not UTF-8")))
}

/// Writes `v` through an out-pointer (NULL is refused with `Null`).
///
/// # Safety
/// `p` is NULL or valid for an aligned write of one `T`.
pub unsafe fn out<T>(p: *mut T, v: T) -> Result<()> {
    if p.is_null() {
        return Err(Error::new(Code::Null, "output pointer is NULL"));
    }
    // SAFETY: non-NULL, and valid for a write of T per this function's
    // contract.
    unsafe { p.write(v) };
    Ok(())
}

/// Checks an input or output buffer pointer (NULL only allowed when empty).
pub fn buf<T>(p: *const T, n: u64) -> Result<()> {
    if p.is_null() && n != 0 {
        return Err(Error::new(Code::Null, "buffer pointer is NULL"));
    }
    Ok(())
}

/// Copies `s` into a caller buffer, truncated and NUL-terminated (nothing
/// when `buf` is NULL or `len` is 0).
///
/// # Safety
/// `buf` is NULL or valid for writes of `len` bytes.
pub unsafe fn copy_str(s: &str, buf: *mut c_char, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    let n = s.len().min(len - 1);
    // SAFETY: `buf` is valid for `len` bytes per this function's contract; we
    // write n + 1 <= len bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast(), n);
        *buf.add(n) = 0;
    }
}

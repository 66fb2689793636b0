//! Version, error texts and options initialisation.

use super::*;

/// The library version as (major << 16) | (minor << 8) | patch.
/// Thread-safe; never fails.
#[no_mangle]
pub extern "C" fn mba_version() -> u32 {
    (MBA_VERSION_MAJOR << 16) | (MBA_VERSION_MINOR << 8) | MBA_VERSION_PATCH
}

/// The library version as a static NUL-terminated string ("0.3.1").
/// Never NULL; do not free.
#[no_mangle]
pub extern "C" fn mba_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The fixed message of a status code: a static NUL-terminated string,
/// never NULL (unknown codes give "unknown status code"); do not free.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn mba_strerror(code: c_int) -> *const c_char {
    status::message(code).as_ptr().cast()
}

/// Copies the detailed message of the calling thread's last failed call
/// into out_buf (NUL-terminated, truncated to len bytes; out_buf may be NULL when
/// len is 0) and returns that call's status code (MBA_OK if none failed
/// yet). Thread-local: from Go, where goroutines move between threads,
/// use mba_options.errbuf or mba_handle_error instead.
/// Errors: none: it returns the status of the calling thread's last failed call
/// (MBA_OK if none failed), not one of its own.
#[no_mangle]
pub unsafe extern "C" fn mba_last_error(out_buf: *mut c_char, len: usize) -> c_int {
    let (code, msg) = boundary::last();
    // SAFETY: C caller's buffer: NULL or valid for `len` bytes.
    unsafe { copy_str(&msg, out_buf, len) };
    code
}

/// Copies the detailed message of the last failed call on handle h (from
/// any thread) into out_buf, NUL-terminated and truncated to len bytes (out_buf
/// may be NULL when len is 0). Returns MBA_OK, MBA_E_HANDLE for an invalid
/// handle, or MBA_E_NULL for a NULL out_buf with a non-zero len.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_handle_error(
    h: mba_handle,
    out_buf: *mut c_char,
    len: usize,
) -> c_int {
    with(h, |e| {
        buf_arg(out_buf, len)?;
        let m = e.with_error(|m| m.clone());
        // SAFETY: C caller's buffer: NULL or valid for `len` bytes.
        unsafe { copy_str(&m, out_buf, len) };
        Ok(())
    })
}

/// Fills *out_opts with defaults (no flags, mode 0600, MBA_TYPE_ANY, flat, default
/// capacity and max_len, no error buffer) and sets out_opts->struct_size.
/// Errors: MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_options_init(out_opts: *mut mba_options) -> c_int {
    run(|| {
        // SAFETY: out-pointer from the C caller: NULL refused, else writable.
        unsafe {
            out(
                out_opts,
                mba_options {
                    struct_size: std::mem::size_of::<mba_options>() as u32,
                    flags: 0,
                    mode: 0,
                    elem_type: MBA_TYPE_ANY,
                    item_size: 0,
                    ndim: 0,
                    reserved0: 0,
                    shape: [0; 8],
                    initial_len: 0,
                    capacity: 0,
                    max_len: 0,
                    offset: 0,
                    errbuf: std::ptr::null_mut(),
                    errbuf_len: 0,
                },
            )
        }
    })
}

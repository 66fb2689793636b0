//! The CPython bridge's one export (Python only; leaves with issue 17).

use super::*;

/// For the Python binding only (C programs never need it), and not part
/// of the 1.0 API: it leaves the library when the CPython fast path
/// moves into an extension module of the Python package. Installs the
/// CPython bridge and stores in *out_spec the address of a PyType_Spec for
/// a small base type (static; never freed), which the pure-ctypes binding
/// creates with PyType_FromSpec and derives its array class from. The
/// type's `a[i]`, `a[i] = v` and `len(a)` slots and its `append` method
/// are functions of libmba, so those calls run no Python-level method and
/// no ctypes call;
/// the type holds the handle in one int member, `_h`. libmba does not link
/// against libpython: `api` gives the addresses of the CPython functions
/// and objects the bridge uses (see mba_py_api); the bridge takes
/// references to its objects and keeps them. Each function does the common
/// case only (a live handle, a flat array, an exact int or float, an index
/// in range, a write that needs no wait and no growth), never blocks,
/// and calls the Python method named in `api` for everything else. Must be
/// called with the GIL held, by one CPython interpreter per process; a
/// second call replaces the first (types made from the first spec go on
/// working with the second table).
/// Errors: MBA_E_NULL, MBA_E_ARG.
#[no_mangle]
pub unsafe extern "C" fn mba_py_bridge(
    api: *const mba_py_api,
    out_spec: *mut *const c_void,
) -> c_int {
    run(|| {
        if api.is_null() || out_spec.is_null() {
            return Err(Error::new(Code::Null, "api or out_spec is NULL"));
        }
        // SAFETY: non-NULL and valid per the contract; struct_size is read
        // alone first.
        let size = unsafe { std::ptr::addr_of!((*api).struct_size).read() };
        if size != std::mem::size_of::<mba_py_api>() {
            return Err(Error::new(
                Code::Arg,
                "mba_py_api.struct_size must be sizeof(mba_py_api)",
            ));
        }
        // SAFETY: the caller's table of CPython addresses, GIL held.
        match unsafe { python::bridge(&*api) } {
            // SAFETY: out-pointer from the C caller: NULL refused, else writable.
            Ok(spec) => unsafe { out(out_spec, spec) },
            Err(msg) => Err(Error::new(Code::Arg, msg)),
        }
    })
}

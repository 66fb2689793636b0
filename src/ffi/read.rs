//! Element reads and what a handle reports: len, capacity, type, sizes,
//! shape, flags, describe, uuid.

use super::*;

//
// Reads never take the lock; they are clamped to the current length.

/// Copies row i into out (mba_row_size() bytes).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_get(h: mba_handle, i: u64, out_row: *mut c_void) -> c_int {
    with(h, |e| {
        buf(out_row, 1)?;
        // SAFETY: out_row is valid for one row per the contract.
        unsafe { e.array.read_raw(i, 1, out_row.cast()) }
    })
}

/// Copies rows [start, start+n) into out_rows. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_read(
    h: mba_handle,
    start: u64,
    n: u64,
    out_rows: *mut c_void,
) -> c_int {
    with(h, |e| {
        buf(out_rows, n)?;
        if n == 0 {
            // SAFETY: zero bytes are copied; this only checks the range.
            return unsafe {
                e.array
                    .read_raw(start, 0, std::ptr::NonNull::<u8>::dangling().as_ptr())
            };
        }
        // SAFETY: out_rows is valid for n rows per the contract.
        unsafe { e.array.read_raw(start, n, out_rows.cast()) }
    })
}

/// Stores element i of a flat integer or bool array in *out
/// (MBA_E_OVERFLOW if a u64 value exceeds INT64_MAX, MBA_E_TYPE for
/// float, complex or record arrays). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_TYPE, MBA_E_OVERFLOW,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_get_i64(h: mba_handle, i: u64, out_v: *mut i64) -> c_int {
    with(h, |e| {
        let v = e.array.get_int(i)?;
        // SAFETY: out-pointer from the C caller: NULL refused, else writable.
        unsafe {
            out(
                out_v,
                i64::try_from(v)
                    .map_err(|_| Error::new(Code::Overflow, format!("{v} does not fit int64_t")))?,
            )
        }
    })
}

/// Stores element i of a flat integer or bool array in *out
/// (MBA_E_OVERFLOW for a negative value). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_TYPE, MBA_E_OVERFLOW,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_get_u64(h: mba_handle, i: u64, out_v: *mut u64) -> c_int {
    with(h, |e| {
        let v = e.array.get_int(i)?;
        // SAFETY: out-pointer from the C caller: NULL refused, else writable.
        unsafe {
            out(
                out_v,
                u64::try_from(v).map_err(|_| {
                    Error::new(Code::Overflow, format!("{v} does not fit uint64_t"))
                })?,
            )
        }
    })
}

/// Stores element i of a flat real numeric array, converted to double, in
/// *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_TYPE,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_get_f64(h: mba_handle, i: u64, out_v: *mut f64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_v, e.array.get_f64(i)?) })
}

/// Stores the length in rows in *out. Another process may change it at any
/// moment; it never exceeds the capacity this handle has verified against
/// the file size.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_len(h: mba_handle, out_n: *mut u64) -> c_int {
    if !out_n.is_null() {
        if let Some(n) = handles::get_fast(h).and_then(|e| e.array.try_len_fast()) {
            // SAFETY: out_n is non-NULL and valid for a write per the contract.
            unsafe { out_n.write(n) };
            return MBA_OK;
        }
    }
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_n, e.array.try_len()?) })
}

/// Stores the capacity in rows (space really allocated) in *out.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_capacity(h: mba_handle, out_n: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_n, e.array.try_capacity()?) })
}

/// Stores the largest length the array can reach in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_max_len(h: mba_handle, out_n: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_n, e.array.max_len()) })
}

/// Stores the element type code (MBA_TYPE_I8 ... MBA_TYPE_RECORD) in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_elem_type(h: mba_handle, out_type: *mut i32) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe {
        out(out_type, e.array.layout().elem as i32)
    })
}

/// Stores the size of one element (not row) in bytes in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_item_size(h: mba_handle, out_n: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_n, e.array.layout().item_size) })
}

/// Stores the size of one row in bytes in *out (item size times the product
/// of the row shape). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_row_size(h: mba_handle, out_n: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_n, e.array.row_bytes()) })
}

/// Stores the number of row dimensions in *out_ndim and copies up to cap of
/// them into out_dims (which may be NULL when cap is 0). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_shape(
    h: mba_handle,
    out_dims: *mut u64,
    cap: u32,
    out_ndim: *mut u32,
) -> c_int {
    with(h, |e| {
        if out_ndim.is_null() {
            return Err(Error::new(Code::Null, "out_ndim pointer is NULL"));
        }
        let s = &e.array.layout().row_shape;
        buf(out_dims, cap.min(s.len() as u32) as u64)?;
        for (i, d) in s.iter().take(cap as usize).enumerate() {
            // SAFETY: out_dims is valid for cap elements per the contract.
            unsafe { out_dims.add(i).write(*d) };
        }
        // SAFETY: out-pointer from the C caller: NULL refused, else writable.
        unsafe { out(out_ndim, s.len() as u32) }
    })
}

/// Stores the handle's flags in *out: MBA_RDONLY, MBA_COW (private copy-on-write,
/// also of a raw file), MBA_RAW.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_flags(h: mba_handle, out_flags: *mut u32) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_flags, handle_flags(&e.array)) })
}

/// Fills *out with the handle's type, shape, sizes, flags, capacity,
/// maximum length, identity, element pointer, length word and descriptor:
/// what a binding needs after an open, in one call. The caller sets
/// out->struct_size = sizeof(mba_info) first (see mba_info.struct_size;
/// MBA_E_ARG if below 4).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_ARG (struct_size),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_describe(h: mba_handle, out_info: *mut mba_info) -> c_int {
    with(h, |e| {
        if out_info.is_null() {
            return Err(Error::new(Code::Null, "info pointer is NULL"));
        }
        let a = &e.array;
        let l = a.layout();
        let mut shape = [0u64; 8];
        shape[..l.row_shape.len()].copy_from_slice(&l.row_shape);
        let info = mba_info {
            struct_size: std::mem::size_of::<mba_info>() as u32,
            elem_type: l.elem as i32,
            flags: handle_flags(a),
            ndim: l.row_shape.len() as u32,
            item_size: l.item_size,
            row_size: a.row_bytes(),
            shape,
            capacity: a.try_capacity()?,
            max_len: a.max_len(),
            uuid: a.uuid(),
            data: a.as_ptr().cast(),
            len_ptr: a.len_ptr(),
            fd: a.fd(),
            reserved0: 0,
        };
        // SAFETY: non-NULL; the caller's contract: struct_size writable bytes.
        unsafe { extensible::copy_out(out_info, &info, "mba_info") }
    })
}

/// Stores the array's random 64-bit identity in *out (0 for raw mappings);
/// it changes when a name is replaced (MBA_REPLACE). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_uuid(h: mba_handle, out_uuid: *mut u64) -> c_int {
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_uuid, e.array.uuid()) })
}

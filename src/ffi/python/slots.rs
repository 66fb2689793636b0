//! The CPython bridge's slot functions: `a[i]`, `a[i] = v`, `len(a)`,
//! `append(v)` and dealloc, each doing the common case and calling the
//! class's Python method for everything else.

use super::*;

/// Python's `type(o)`, read from the object header.
#[inline(always)]
pub(super) unsafe fn type_of(a: &Api, o: Obj) -> Obj {
    // SAFETY: `o` is a live object; `off` is where its ob_type lies.
    unsafe { *(o as *const u8).add(a.off).cast::<Obj>() }
}

/// The value of an exact int that fits an i64.
#[inline(always)]
pub(super) unsafe fn small_int(a: &Api, o: Obj) -> Option<i64> {
    // SAFETY: `o` is a live object and the GIL is held.
    unsafe {
        if type_of(a, o) != a.int_type {
            return None;
        }
        let mut ovf: c_int = 0;
        let v = (a.as_ll_ovf)(o, &mut ovf);
        // An exact int converts without error (overflow is reported in
        // `ovf`, with no exception set).
        (ovf == 0).then_some(v)
    }
}

/// The live handle entry of the array object `slf`, if any.
#[inline(always)]
pub(super) unsafe fn entry(a: &Api, slf: Obj) -> Option<&'static handles::Entry> {
    // SAFETY: `slf` is an instance of the bridge's type (CPython checks
    // this before calling a slot or method of it), whose handle field lies
    // at `handle_off`; the GIL is held.
    let h = unsafe { *(slf as *const u8).add(a.handle_off).cast::<i32>() };
    // The binding sets the handle to 0 before it closes it (under the GIL,
    // which this call holds throughout), so a handle read here stays open
    // until the call returns.
    handles::get_fast(h)
}

/// The element bits `v` appends to `arr` as the Python method would, or
/// `None` for anything but the common cases.
#[inline(always)]
pub(super) unsafe fn append_bits(a: &Api, arr: &Array, v: Obj) -> Option<u64> {
    let float_elems = matches!(arr.layout().elem, ElemType::F32 | ElemType::F64);
    // SAFETY: `v` is a live object and the GIL is held.
    unsafe {
        let t = type_of(a, v);
        if t == a.int_type {
            let mut ovf: c_int = 0;
            let x = (a.as_ll_ovf)(v, &mut ovf);
            if ovf == 0 {
                // An int array range-checks the value itself. A float array
                // takes only ints a double holds exactly (Python converts
                // larger ones to a double first, then to a float).
                if float_elems && i32::try_from(x).is_err() {
                    return None;
                }
                return arr.int_bits(i128::from(x));
            }
            if ovf > 0 && !float_elems {
                let u = (a.as_ull)(v);
                if u == u64::MAX && !(a.err_occurred)().is_null() {
                    (a.err_clear)();
                    return None;
                }
                return arr.int_bits(i128::from(u));
            }
            None
        } else if t == a.float_type {
            arr.f64_bits((a.as_double)(v))
        } else {
            None
        }
    }
}

/// `mmaparray.append(v)`.
pub(super) unsafe extern "C" fn py_append(slf: Obj, args: *const Obj, nargs: isize) -> Obj {
    let a = api();
    if nargs != 1 {
        // SAFETY: called by CPython with the GIL held.
        unsafe {
            (a.err_set_string)(
                a.type_error,
                c"append() takes exactly one argument".as_ptr(),
            )
        };
        return null_mut();
    }
    // SAFETY: CPython passes `nargs` live arguments and holds the GIL.
    unsafe {
        let v = *args;
        if let Some(e) = entry(a, slf) {
            if let Some(b) = append_bits(a, &e.array, v) {
                // `b` holds 8 bytes; int_bits/f64_bits give bits only for
                // flat arrays of elements of at most 8 bytes.
                if e.array.try_append_fast((&b as *const u64).cast()) {
                    (a.inc_ref)(a.none);
                    return a.none;
                }
            }
        }
        (a.call_method)(slf, a.name_append, v, null_mut::<c_void>())
    }
}

/// Element `i` (negative: from the end) of a flat array, boxed, if in range.
#[inline(always)]
pub(super) unsafe fn element(a: &Api, slf: Obj, i: i64) -> Option<Obj> {
    // SAFETY: a live object, the GIL held; the handle stays open meanwhile.
    unsafe {
        let arr = &entry(a, slf)?.array;
        if !arr.layout().row_shape.is_empty() {
            return None;
        }
        // The length and the element are read inside a SIGBUS-guard scope
        // (see guard.rs), boxed after it: a poisoned mapping answers
        // `None`, and the Python method then reports the error.
        // (A NULL from CPython, out of memory, comes with MemoryError set.)
        Some(match arr.guard_scope(|| read_element(arr, i)).flatten()? {
            Val::I(v) => (a.from_ll)(v),
            Val::U(v) => (a.from_ull)(v),
            Val::F(v) => (a.from_double)(v),
        })
    }
}

/// An element read from the mapping, before boxing.
pub(super) enum Val {
    I(i64),
    U(u64),
    F(f64),
}

/// Element `i` of flat `arr` (negative: from the end), if in range and of
/// a numeric type; run inside a SIGBUS-guard scope.
#[inline(always)]
pub(super) fn read_element(arr: &crate::array::Array, i: i64) -> Option<Val> {
    let n = arr.try_len_fast()?;
    let j = if i < 0 {
        i.checked_add(i64::try_from(n).ok()?)?
    } else {
        i
    };
    let j = u64::try_from(j).ok()?;
    if j >= n {
        return None;
    }
    // Row j is below the length, which is below the verified capacity:
    // inside the mapping. Unaligned reads: a raw map may start at any
    // byte offset. Other processes may write the element meanwhile, as
    // for any reader of shared memory; the read is of plain bytes.
    let p = arr
        .as_ptr()
        .wrapping_add((j as usize).wrapping_mul(arr.row_bytes() as usize));
    // SAFETY: `p` is inside the mapping and the file (above); each read is
    // of the element's own size.
    unsafe {
        Some(match arr.layout().elem {
            ElemType::I8 => Val::I(i64::from(p.cast::<i8>().read_unaligned())),
            ElemType::U8 => Val::I(i64::from(p.read_unaligned())),
            ElemType::I16 => Val::I(i64::from(p.cast::<i16>().read_unaligned())),
            ElemType::U16 => Val::I(i64::from(p.cast::<u16>().read_unaligned())),
            ElemType::I32 => Val::I(i64::from(p.cast::<i32>().read_unaligned())),
            ElemType::U32 => Val::I(i64::from(p.cast::<u32>().read_unaligned())),
            ElemType::I64 => Val::I(p.cast::<i64>().read_unaligned()),
            ElemType::U64 => Val::U(p.cast::<u64>().read_unaligned()),
            ElemType::F32 => Val::F(f64::from(p.cast::<f32>().read_unaligned())),
            ElemType::F64 => Val::F(p.cast::<f64>().read_unaligned()),
            _ => return None,
        })
    }
}

/// `self[key]` (mp_subscript).
pub(super) unsafe extern "C" fn py_subscript(slf: Obj, key: Obj) -> Obj {
    let a = api();
    // SAFETY: CPython passes live objects and holds the GIL.
    unsafe {
        if let Some(o) = small_int(a, key).and_then(|i| element(a, slf, i)) {
            return o;
        }
        (a.call_method)(slf, a.name_getitem, key, null_mut::<c_void>())
    }
}

/// `PySequence_GetItem(self, i)` (sq_item; i already adjusted by
/// CPython for a negative index).
pub(super) unsafe extern "C" fn py_item(slf: Obj, i: isize) -> Obj {
    let a = api();
    // SAFETY: CPython passes a live object and holds the GIL.
    unsafe {
        if let Some(o) = element(a, slf, i as i64) {
            return o;
        }
        let k = (a.from_ll)(i as i64);
        if k.is_null() {
            return null_mut();
        }
        let r = (a.call_method)(slf, a.name_getitem, k, null_mut::<c_void>());
        (a.dec_ref)(k);
        r
    }
}

/// Sets element `i` (negative: from the end) of a flat array to `v`, if
/// `v` converts as in `append_bits` and the write needs no wait.
#[inline(always)]
pub(super) unsafe fn set_fast(a: &Api, slf: Obj, i: i64, v: Obj) -> bool {
    // SAFETY: live objects, the GIL held; the handle stays open meanwhile.
    unsafe {
        let Some(e) = entry(a, slf) else {
            return false;
        };
        let arr = &e.array;
        let Some(b) = append_bits(a, arr, v) else {
            return false;
        };
        let Some(n) = arr.try_len_fast() else {
            return false;
        };
        let j = if i < 0 {
            match i64::try_from(n).ok().and_then(|n| i.checked_add(n)) {
                Some(j) => j,
                None => return false,
            }
        } else {
            i
        };
        let Ok(j) = u64::try_from(j) else {
            return false;
        };
        // `b` holds 8 bytes; append_bits gives bits only for flat arrays
        // of elements of at most 8 bytes. The index is checked again
        // against the length under the lock.
        arr.try_set_fast(j, (&b as *const u64).cast())
    }
}

/// The result of a fallback call, as a slot's status (0 or -1).
#[inline(always)]
pub(super) unsafe fn status_of(a: &Api, r: Obj) -> c_int {
    if r.is_null() {
        return -1;
    }
    // SAFETY: a new reference from CPython; the GIL is held.
    unsafe { (a.dec_ref)(r) };
    0
}

/// `self[key] = value` and `del self[key]` (mp_ass_subscript; `value` is
/// NULL for a deletion).
pub(super) unsafe extern "C" fn py_ass_subscript(slf: Obj, key: Obj, value: Obj) -> c_int {
    let a = api();
    // SAFETY: CPython passes live objects (or a NULL value) and holds the
    // GIL.
    unsafe {
        if value.is_null() {
            let r = (a.call_method)(slf, a.name_delitem, key, null_mut::<c_void>());
            return status_of(a, r);
        }
        if let Some(i) = small_int(a, key) {
            if set_fast(a, slf, i, value) {
                return 0;
            }
        }
        let r = (a.call_method)(slf, a.name_setitem, key, value, null_mut::<c_void>());
        status_of(a, r)
    }
}

/// `PySequence_SetItem(self, i, value)` / `PySequence_DelItem(self, i)`
/// (sq_ass_item; i already adjusted by CPython for a negative index).
pub(super) unsafe extern "C" fn py_ass_item(slf: Obj, i: isize, value: Obj) -> c_int {
    let a = api();
    // SAFETY: CPython passes a live object (or a NULL value) and holds the
    // GIL.
    unsafe {
        if !value.is_null() && set_fast(a, slf, i as i64, value) {
            return 0;
        }
        let k = (a.from_ll)(i as i64);
        if k.is_null() {
            return -1;
        }
        let r = if value.is_null() {
            (a.call_method)(slf, a.name_delitem, k, null_mut::<c_void>())
        } else {
            (a.call_method)(slf, a.name_setitem, k, value, null_mut::<c_void>())
        };
        (a.dec_ref)(k);
        status_of(a, r)
    }
}

/// `len(self)` (mp_length and sq_length).
pub(super) unsafe extern "C" fn py_length(slf: Obj) -> isize {
    let a = api();
    // SAFETY: CPython passes a live object and holds the GIL.
    unsafe {
        if let Some(n) = entry(a, slf).and_then(|e| e.array.try_len_fast()) {
            if let Ok(n) = isize::try_from(n) {
                return n;
            }
        }
        let r = (a.call_method)(slf, a.name_len, null_mut::<c_void>());
        if r.is_null() {
            return -1;
        }
        let mut ovf: c_int = 0;
        let n = (a.as_ll_ovf)(r, &mut ovf);
        (a.dec_ref)(r);
        if ovf != 0 {
            (a.err_set_string)(a.type_error, c"__len__() gave no valid length".as_ptr());
            return -1;
        }
        n as isize
    }
}

/// Frees an instance: the type's tp_free, then the instance's reference to
/// its (heap) type, as CPython requires of a heap type's tp_dealloc.
pub(super) unsafe extern "C" fn py_dealloc(slf: Obj) {
    let a = api();
    // SAFETY: called once by CPython for an instance of a subtype of the
    // bridge's type, with the GIL held; tp_free of a heap type is set.
    unsafe {
        let t = type_of(a, slf);
        let free = (a.get_slot)(t, PY_TP_FREE);
        if !free.is_null() {
            std::mem::transmute::<*mut c_void, Dealloc>(free)(slf);
        }
        (a.dec_ref)(t);
    }
}

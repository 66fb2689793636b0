//! Python values to element bytes, for the common cases only: an exact
//! `int` or `float` that the element type holds as array.array would
//! store it. Everything else (bool, int subclasses, out-of-range values,
//! objects with __index__) answers `None`, and the caller falls back to
//! the Python method, which is the reference (same result, same error).

use pyo3::ffi;
use std::ffi::c_int;

// Element type codes of include/mba.h (MBA_TYPE_*).
pub const I8: u8 = 1;
pub const U8: u8 = 2;
pub const I16: u8 = 3;
pub const U16: u8 = 4;
pub const I32: u8 = 5;
pub const U32: u8 = 6;
pub const I64: u8 = 7;
pub const U64: u8 = 8;
pub const F32: u8 = 9;
pub const F64: u8 = 10;

/// The element type a typecode of the fast path stores (None for the
/// typecodes the fast path leaves to Python).
pub fn kind_of(tc: &str) -> Option<u8> {
    Some(match tc {
        "b" => I8,
        "B" => U8,
        "h" => I16,
        "H" => U16,
        "i" => I32,
        "I" => U32,
        "l" | "q" => I64,
        "L" | "Q" => U64,
        "f" => F32,
        "d" => F64,
        _ => return None,
    })
}

/// An exact int that fits an i64.
///
/// # Safety
/// `o` is a live object; the GIL is held.
#[inline(always)]
pub unsafe fn small_int(o: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: per the contract. An exact int converts without error
    // (overflow is reported in `ovf`, with no exception set).
    unsafe {
        if ffi::PyLong_CheckExact(o) == 0 {
            return None;
        }
        let mut ovf: c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(o, &mut ovf);
        (ovf == 0).then_some(v)
    }
}

fn int_bytes(kind: u8, v: i128) -> Option<[u8; 8]> {
    let mut b = [0u8; 8];
    match kind {
        I8 => b[..1].copy_from_slice(&i8::try_from(v).ok()?.to_ne_bytes()),
        U8 => b[..1].copy_from_slice(&u8::try_from(v).ok()?.to_ne_bytes()),
        I16 => b[..2].copy_from_slice(&i16::try_from(v).ok()?.to_ne_bytes()),
        U16 => b[..2].copy_from_slice(&u16::try_from(v).ok()?.to_ne_bytes()),
        I32 => b[..4].copy_from_slice(&i32::try_from(v).ok()?.to_ne_bytes()),
        U32 => b[..4].copy_from_slice(&u32::try_from(v).ok()?.to_ne_bytes()),
        I64 => b = i64::try_from(v).ok()?.to_ne_bytes(),
        U64 => b = u64::try_from(v).ok()?.to_ne_bytes(),
        _ => return None,
    }
    Some(b)
}

fn float_bytes(kind: u8, v: f64) -> Option<[u8; 8]> {
    let mut b = [0u8; 8];
    match kind {
        // A finite double beyond f32's range is left to Python (which
        // decides between inf and OverflowError).
        F32 if v.is_finite() && v.abs() > f64::from(f32::MAX) => return None,
        F32 => b[..4].copy_from_slice(&(v as f32).to_ne_bytes()),
        F64 => b = v.to_ne_bytes(),
        _ => return None,
    }
    Some(b)
}

/// The bytes of element type `kind` that `v` stores, if `v` is an exact
/// int or float of the common cases.
///
/// # Safety
/// `v` is a live object; the GIL is held.
#[inline(always)]
pub unsafe fn bytes_of(kind: u8, v: *mut ffi::PyObject) -> Option<[u8; 8]> {
    let float_elems = kind == F32 || kind == F64;
    // SAFETY: per the contract.
    unsafe {
        if ffi::PyLong_CheckExact(v) != 0 {
            let mut ovf: c_int = 0;
            let x = ffi::PyLong_AsLongLongAndOverflow(v, &mut ovf);
            if ovf == 0 {
                // A float array takes the ints a double holds exactly here
                // (Python converts larger ones to a double first).
                if float_elems {
                    return float_bytes(kind, f64::from(i32::try_from(x).ok()?));
                }
                return int_bytes(kind, i128::from(x));
            }
            if ovf > 0 && kind == U64 {
                let u = ffi::PyLong_AsUnsignedLongLong(v);
                if u == u64::MAX && !ffi::PyErr_Occurred().is_null() {
                    ffi::PyErr_Clear();
                    return None;
                }
                return int_bytes(kind, i128::from(u));
            }
            None
        } else if ffi::PyFloat_CheckExact(v) != 0 && float_elems {
            float_bytes(kind, ffi::PyFloat_AS_DOUBLE(v))
        } else {
            None
        }
    }
}

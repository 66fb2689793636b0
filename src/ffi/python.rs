//! The CPython bridge: a small base type for the Python binding's array
//! class, built from a `PyType_Spec` through CPython's stable ABI, whose
//! slots (`a[i]`, `a[i] = v`, `len(a)`) and `append` method are functions
//! here. The
//! pure-ctypes package creates it with `PyType_FromSpec` and derives its
//! array class from it, so its hottest calls run no Python frame and no
//! ctypes call: `a[i]` goes from the interpreter straight to `py_subscript`.
//! Nothing is compiled on the user's side and libmba does not link against
//! libpython: the binding hands over the addresses of the few CPython API
//! functions used (from `ctypes.pythonapi`) and of the objects compared
//! against, in an `mba_py_api` table.
//!
//! The base type holds one C field, the handle (`_h`, an int member the
//! Python class sets), right after the object header. Each function does
//! only the common case (a live handle, a flat array, an exact int or
//! float, an index in range, an append that needs no wait and no growth),
//! with the GIL held and without ever blocking; anything else goes to the
//! Python method of the class named in the table (`_py_append`,
//! `_py_getitem`, `_py_setitem`, `_py_delitem`, `_py_len`), which is the
//! reference behaviour: same
//! results, same exceptions. The functions cannot panic (no indexing, no
//! unwrap, no allocation): a panic here would abort the interpreter.

use super::handles;
use crate::array::Array;
use crate::format::ElemType;
use std::ffi::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering::*};

type Obj = *mut c_void;

/// The CPython API functions and objects the bridge uses, filled in by the
/// Python binding from `ctypes.pythonapi` (see mba_py_bridge). All objects
/// are borrowed references; the bridge takes its own references to them.
#[repr(C)]
pub struct mba_py_api {
    /// Set by the caller to sizeof(mba_py_api): the layout version.
    pub struct_size: usize,
    /// Byte offset of `ob_type` in a PyObject (checked by the caller on
    /// live objects).
    pub ob_type_offset: usize,
    /// `object.__basicsize__`: the base type's handle field goes there.
    pub object_size: usize,
    /// The `None` object.
    pub none: *mut c_void,
    /// The `int` type.
    pub int_type: *mut c_void,
    /// The `float` type.
    pub float_type: *mut c_void,
    /// The `TypeError` class.
    pub type_error: *mut c_void,
    /// Name (a str) of the fallback method for append, called as
    /// `self.<name>(v)`.
    pub name_append: *mut c_void,
    /// Name of the fallback for `self[key]`, called as `self.<name>(key)`.
    pub name_getitem: *mut c_void,
    /// Name of the fallback for `len(self)`, called as `self.<name>()`.
    pub name_len: *mut c_void,
    /// Name of the fallback for `self[key] = value`, called as
    /// `self.<name>(key, value)`.
    pub name_setitem: *mut c_void,
    /// Name of the fallback for `del self[key]`, called as
    /// `self.<name>(key)`.
    pub name_delitem: *mut c_void,
    /// PyLong_AsLongLongAndOverflow.
    pub long_as_long_long_and_overflow:
        Option<unsafe extern "C" fn(*mut c_void, *mut c_int) -> i64>,
    /// PyLong_AsUnsignedLongLong.
    pub long_as_unsigned_long_long: Option<unsafe extern "C" fn(*mut c_void) -> u64>,
    /// PyLong_FromLongLong.
    pub long_from_long_long: Option<unsafe extern "C" fn(i64) -> *mut c_void>,
    /// PyLong_FromUnsignedLongLong.
    pub long_from_unsigned_long_long: Option<unsafe extern "C" fn(u64) -> *mut c_void>,
    /// PyFloat_AsDouble.
    pub float_as_double: Option<unsafe extern "C" fn(*mut c_void) -> f64>,
    /// PyFloat_FromDouble.
    pub float_from_double: Option<unsafe extern "C" fn(f64) -> *mut c_void>,
    /// PyErr_Occurred.
    pub err_occurred: Option<unsafe extern "C" fn() -> *mut c_void>,
    /// PyErr_Clear.
    pub err_clear: Option<unsafe extern "C" fn()>,
    /// PyErr_SetString.
    pub err_set_string: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    /// Py_IncRef.
    pub inc_ref: Option<unsafe extern "C" fn(*mut c_void)>,
    /// Py_DecRef.
    pub dec_ref: Option<unsafe extern "C" fn(*mut c_void)>,
    /// PyObject_CallMethodObjArgs.
    pub object_call_method_obj_args: *const c_void,
    /// PyType_GetSlot.
    pub type_get_slot: Option<unsafe extern "C" fn(*mut c_void, c_int) -> *mut c_void>,
}

/// CPython's PyMethodDef (unchanged since Python 2).
#[repr(C)]
struct MethodDef {
    name: *const c_char,
    meth: *const c_void,
    flags: c_int,
    doc: *const c_char,
}

/// CPython's PyMemberDef.
#[repr(C)]
struct MemberDef {
    name: *const c_char,
    kind: c_int,
    offset: isize,
    flags: c_int,
    doc: *const c_char,
}

/// CPython's PyType_Slot.
#[repr(C)]
struct TypeSlot {
    slot: c_int,
    pfunc: *const c_void,
}

/// CPython's PyType_Spec.
#[repr(C)]
struct TypeSpec {
    name: *const c_char,
    basicsize: c_int,
    itemsize: c_int,
    flags: u32,
    slots: *const TypeSlot,
}

// Stable-ABI constants (methodobject.h, structmember.h, typeslots.h,
// object.h).
const METH_FASTCALL: c_int = 0x0080;
const T_INT: c_int = 1;
const PY_MP_ASS_SUBSCRIPT: c_int = 3;
const PY_MP_LENGTH: c_int = 4;
const PY_MP_SUBSCRIPT: c_int = 5;
const PY_SQ_ASS_ITEM: c_int = 39;
const PY_SQ_ITEM: c_int = 44;
const PY_SQ_LENGTH: c_int = 45;
const PY_TP_DEALLOC: c_int = 52;
const PY_TP_DOC: c_int = 56;
const PY_TP_METHODS: c_int = 64;
const PY_TP_MEMBERS: c_int = 72;
const PY_TP_FREE: c_int = 74;
const PY_TPFLAGS_BASETYPE: u32 = 1 << 10;
const PY_TPFLAGS_HAVE_VERSION_TAG: u32 = 1 << 18;

type Fast = unsafe extern "C" fn(Obj, *const Obj, isize) -> Obj;
type Binary = unsafe extern "C" fn(Obj, Obj) -> Obj;
type SizeArg = unsafe extern "C" fn(Obj, isize) -> Obj;
type Len = unsafe extern "C" fn(Obj) -> isize;
type AssSubscript = unsafe extern "C" fn(Obj, Obj, Obj) -> c_int;
type AssItem = unsafe extern "C" fn(Obj, isize, Obj) -> c_int;
type Dealloc = unsafe extern "C" fn(Obj);

/// The API table, checked: every address is there.
struct Api {
    off: usize,
    handle_off: usize,
    none: Obj,
    int_type: Obj,
    float_type: Obj,
    type_error: Obj,
    name_append: Obj,
    name_getitem: Obj,
    name_len: Obj,
    name_setitem: Obj,
    name_delitem: Obj,
    as_ll_ovf: unsafe extern "C" fn(Obj, *mut c_int) -> i64,
    as_ull: unsafe extern "C" fn(Obj) -> u64,
    from_ll: unsafe extern "C" fn(i64) -> Obj,
    from_ull: unsafe extern "C" fn(u64) -> Obj,
    as_double: unsafe extern "C" fn(Obj) -> f64,
    from_double: unsafe extern "C" fn(f64) -> Obj,
    err_occurred: unsafe extern "C" fn() -> Obj,
    err_clear: unsafe extern "C" fn(),
    err_set_string: unsafe extern "C" fn(Obj, *const c_char),
    inc_ref: unsafe extern "C" fn(Obj),
    dec_ref: unsafe extern "C" fn(Obj),
    call_method: CallMethod,
    get_slot: unsafe extern "C" fn(Obj, c_int) -> *mut c_void,
}

/// PyObject_CallMethodObjArgs (variadic, NULL-terminated).
type CallMethod = unsafe extern "C" fn(Obj, Obj, ...) -> Obj;

static API: AtomicPtr<Api> = AtomicPtr::new(null_mut());

/// Installs the bridge and returns its PyType_Spec (leaked: CPython keeps
/// pointers into it for the life of the type).
///
/// # Safety
/// The addresses in `api` are those of the named functions and objects of
/// the running CPython, whose GIL the caller holds.
pub unsafe fn bridge(api: &mba_py_api) -> Result<*const c_void, &'static str> {
    let objs = [
        api.none,
        api.int_type,
        api.float_type,
        api.type_error,
        api.name_append,
        api.name_getitem,
        api.name_len,
        api.name_setitem,
        api.name_delitem,
    ];
    let missing = || "a CPython function or object address is NULL";
    if objs.iter().any(|o| o.is_null()) || api.object_call_method_obj_args.is_null() {
        return Err(missing());
    }
    let word = std::mem::size_of::<usize>();
    let off = api.ob_type_offset;
    if off == 0 || off % word != 0 || off > 64 {
        return Err("implausible ob_type offset");
    }
    let size = api.object_size;
    if size < off + word || size % word != 0 || size > 256 {
        return Err("implausible object size");
    }
    let a = Api {
        off,
        handle_off: size,
        none: api.none,
        int_type: api.int_type,
        float_type: api.float_type,
        type_error: api.type_error,
        name_append: api.name_append,
        name_getitem: api.name_getitem,
        name_len: api.name_len,
        name_setitem: api.name_setitem,
        name_delitem: api.name_delitem,
        as_ll_ovf: api.long_as_long_long_and_overflow.ok_or_else(missing)?,
        as_ull: api.long_as_unsigned_long_long.ok_or_else(missing)?,
        from_ll: api.long_from_long_long.ok_or_else(missing)?,
        from_ull: api.long_from_unsigned_long_long.ok_or_else(missing)?,
        as_double: api.float_as_double.ok_or_else(missing)?,
        from_double: api.float_from_double.ok_or_else(missing)?,
        err_occurred: api.err_occurred.ok_or_else(missing)?,
        err_clear: api.err_clear.ok_or_else(missing)?,
        err_set_string: api.err_set_string.ok_or_else(missing)?,
        inc_ref: api.inc_ref.ok_or_else(missing)?,
        dec_ref: api.dec_ref.ok_or_else(missing)?,
        // SAFETY: non-NULL; the caller gives the address of
        // PyObject_CallMethodObjArgs, whose C signature this is (C cannot
        // declare a variadic function pointer field portably in the
        // header's struct, hence the plain address).
        call_method: unsafe {
            std::mem::transmute::<*const c_void, CallMethod>(api.object_call_method_obj_args)
        },
        get_slot: api.type_get_slot.ok_or_else(missing)?,
    };
    for o in objs {
        // SAFETY: a live object of the caller's; the GIL is held. The
        // bridge keeps these references for the life of the process.
        unsafe { (a.inc_ref)(o) };
    }
    // A second call (a reloaded binding) makes a new type with a new
    // table; the old ones are leaked, as the old type may still be used.
    let members: &'static [MemberDef; 2] = Box::leak(Box::new([
        MemberDef {
            name: c"_h".as_ptr(),
            kind: T_INT,
            offset: size as isize,
            flags: 0,
            doc: c"The libmba handle (0 when closed).".as_ptr(),
        },
        MemberDef {
            name: null(),
            kind: 0,
            offset: 0,
            flags: 0,
            doc: null(),
        },
    ]));
    let methods: &'static [MethodDef; 2] = Box::leak(Box::new([
        MethodDef {
            name: c"append".as_ptr(),
            meth: py_append as Fast as *const c_void,
            flags: METH_FASTCALL,
            doc: c"Append a new item with value v to the end of the array.".as_ptr(),
        },
        MethodDef {
            name: null(),
            meth: null(),
            flags: 0,
            doc: null(),
        },
    ]));
    let slot = |slot, pfunc| TypeSlot { slot, pfunc };
    let slots: &'static [TypeSlot; 12] = Box::leak(Box::new([
        slot(PY_MP_SUBSCRIPT, py_subscript as Binary as *const c_void),
        slot(PY_SQ_ITEM, py_item as SizeArg as *const c_void),
        slot(
            PY_MP_ASS_SUBSCRIPT,
            py_ass_subscript as AssSubscript as *const c_void,
        ),
        slot(PY_SQ_ASS_ITEM, py_ass_item as AssItem as *const c_void),
        slot(PY_MP_LENGTH, py_length as Len as *const c_void),
        slot(PY_SQ_LENGTH, py_length as Len as *const c_void),
        slot(PY_TP_DEALLOC, py_dealloc as Dealloc as *const c_void),
        slot(PY_TP_METHODS, methods.as_ptr().cast()),
        slot(PY_TP_MEMBERS, members.as_ptr().cast()),
        slot(
            PY_TP_DOC,
            c"libmba's CPython bridge: a[i], a[i] = v, len(a) and append of mmaparray."
                .as_ptr()
                .cast(),
        ),
        slot(0, null()),
        slot(0, null()),
    ]));
    let spec: &'static TypeSpec = Box::leak(Box::new(TypeSpec {
        name: c"mba._core._bridge_base".as_ptr(),
        basicsize: (size + word) as c_int,
        itemsize: 0,
        flags: PY_TPFLAGS_BASETYPE | PY_TPFLAGS_HAVE_VERSION_TAG,
        slots: slots.as_ptr(),
    }));
    API.store(Box::into_raw(Box::new(a)), Release);
    Ok((spec as *const TypeSpec).cast())
}

#[inline(always)]
fn api() -> &'static Api {
    // SAFETY: the functions are reachable from Python only through the type
    // made from the spec that `bridge` returns after storing API, which is
    // never freed.
    unsafe { &*API.load(Acquire) }
}

/// Python's `type(o)`, read from the object header.
#[inline(always)]
unsafe fn type_of(a: &Api, o: Obj) -> Obj {
    // SAFETY: `o` is a live object; `off` is where its ob_type lies.
    unsafe { *(o as *const u8).add(a.off).cast::<Obj>() }
}

/// The value of an exact int that fits an i64.
#[inline(always)]
unsafe fn small_int(a: &Api, o: Obj) -> Option<i64> {
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
unsafe fn entry(a: &Api, slf: Obj) -> Option<&'static handles::Entry> {
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
unsafe fn append_bits(a: &Api, arr: &Array, v: Obj) -> Option<u64> {
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
unsafe extern "C" fn py_append(slf: Obj, args: *const Obj, nargs: isize) -> Obj {
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
unsafe fn element(a: &Api, slf: Obj, i: i64) -> Option<Obj> {
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
enum Val {
    I(i64),
    U(u64),
    F(f64),
}

/// Element `i` of flat `arr` (negative: from the end), if in range and of
/// a numeric type; run inside a SIGBUS-guard scope.
#[inline(always)]
fn read_element(arr: &crate::array::Array, i: i64) -> Option<Val> {
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
unsafe extern "C" fn py_subscript(slf: Obj, key: Obj) -> Obj {
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
unsafe extern "C" fn py_item(slf: Obj, i: isize) -> Obj {
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
unsafe fn set_fast(a: &Api, slf: Obj, i: i64, v: Obj) -> bool {
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
unsafe fn status_of(a: &Api, r: Obj) -> c_int {
    if r.is_null() {
        return -1;
    }
    // SAFETY: a new reference from CPython; the GIL is held.
    unsafe { (a.dec_ref)(r) };
    0
}

/// `self[key] = value` and `del self[key]` (mp_ass_subscript; `value` is
/// NULL for a deletion).
unsafe extern "C" fn py_ass_subscript(slf: Obj, key: Obj, value: Obj) -> c_int {
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
unsafe extern "C" fn py_ass_item(slf: Obj, i: isize, value: Obj) -> c_int {
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
unsafe extern "C" fn py_length(slf: Obj) -> isize {
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
unsafe extern "C" fn py_dealloc(slf: Obj) {
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

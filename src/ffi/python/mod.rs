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

mod slots;
use slots::*;

pub(super) type Obj = *mut c_void;

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
pub(super) struct MethodDef {
    name: *const c_char,
    meth: *const c_void,
    flags: c_int,
    doc: *const c_char,
}

/// CPython's PyMemberDef.
#[repr(C)]
pub(super) struct MemberDef {
    name: *const c_char,
    kind: c_int,
    offset: isize,
    flags: c_int,
    doc: *const c_char,
}

/// CPython's PyType_Slot.
#[repr(C)]
pub(super) struct TypeSlot {
    slot: c_int,
    pfunc: *const c_void,
}

/// CPython's PyType_Spec.
#[repr(C)]
pub(super) struct TypeSpec {
    name: *const c_char,
    basicsize: c_int,
    itemsize: c_int,
    flags: u32,
    slots: *const TypeSlot,
}

// Stable-ABI constants (methodobject.h, structmember.h, typeslots.h,
// object.h).
pub(super) const METH_FASTCALL: c_int = 0x0080;
pub(super) const T_INT: c_int = 1;
pub(super) const PY_MP_ASS_SUBSCRIPT: c_int = 3;
pub(super) const PY_MP_LENGTH: c_int = 4;
pub(super) const PY_MP_SUBSCRIPT: c_int = 5;
pub(super) const PY_SQ_ASS_ITEM: c_int = 39;
pub(super) const PY_SQ_ITEM: c_int = 44;
pub(super) const PY_SQ_LENGTH: c_int = 45;
pub(super) const PY_TP_DEALLOC: c_int = 52;
pub(super) const PY_TP_DOC: c_int = 56;
pub(super) const PY_TP_METHODS: c_int = 64;
pub(super) const PY_TP_MEMBERS: c_int = 72;
pub(super) const PY_TP_FREE: c_int = 74;
pub(super) const PY_TPFLAGS_BASETYPE: u32 = 1 << 10;
pub(super) const PY_TPFLAGS_HAVE_VERSION_TAG: u32 = 1 << 18;

pub(super) type Fast = unsafe extern "C" fn(Obj, *const Obj, isize) -> Obj;
pub(super) type Binary = unsafe extern "C" fn(Obj, Obj) -> Obj;
pub(super) type SizeArg = unsafe extern "C" fn(Obj, isize) -> Obj;
pub(super) type Len = unsafe extern "C" fn(Obj) -> isize;
pub(super) type AssSubscript = unsafe extern "C" fn(Obj, Obj, Obj) -> c_int;
pub(super) type AssItem = unsafe extern "C" fn(Obj, isize, Obj) -> c_int;
pub(super) type Dealloc = unsafe extern "C" fn(Obj);

/// The API table, checked: every address is there.
pub(super) struct Api {
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
pub(super) type CallMethod = unsafe extern "C" fn(Obj, Obj, ...) -> Obj;

pub(super) static API: AtomicPtr<Api> = AtomicPtr::new(null_mut());

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
pub(super) fn api() -> &'static Api {
    // SAFETY: the functions are reachable from Python only through the type
    // made from the spec that `bridge` returns after storing API, which is
    // never freed.
    unsafe { &*API.load(Acquire) }
}

//! The hot slots of `Base` as plain CPython slot functions (`a[i]`,
//! `len(a)`) and a METH_O method (`append`), installed over PyO3's after
//! the type is made: PyO3's generic trampolines (argument parsing, a type
//! check of `self`, the lazy type object) cost as much as the libmba call
//! itself. The behaviour is the `#[pymethods]` one in lib.rs: the fast
//! path, else the Python method. These functions cannot panic (no
//! indexing, no unwrap): a panic here would abort the interpreter.

use crate::Base;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::{intern, Borrowed};
use std::ffi::c_void;
use std::ptr::null_mut;

/// `self` as a Base.
///
/// # Safety
/// `slf` is an instance of Base or of a subclass (CPython calls a slot or
/// a method descriptor only for those); the GIL is held.
#[inline(always)]
unsafe fn base<'a>(py: Python<'a>, slf: *mut ffi::PyObject) -> &'a Base {
    // SAFETY: per the contract; the object outlives the call.
    unsafe {
        let b = Borrowed::from_ptr(py, slf);
        let b: &'a Bound<'a, PyAny> = std::mem::transmute::<&Bound<'_, PyAny>, _>(&*b);
        b.downcast_unchecked::<Base>().get()
    }
}

/// A PyObject result as a new reference, or NULL with the error set.
#[inline(always)]
fn ptr_of(py: Python<'_>, r: PyResult<PyObject>) -> *mut ffi::PyObject {
    match r {
        Ok(o) => o.into_ptr(),
        Err(e) => {
            e.restore(py);
            null_mut()
        }
    }
}

/// `self[key]` (mp_subscript).
unsafe extern "C" fn subscript(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held and live objects.
    unsafe {
        let py = Python::assume_gil_acquired();
        let k = Borrowed::from_ptr(py, key);
        if let Some(r) = base(py, slf).element(py, &k) {
            return ptr_of(py, r);
        }
        let name = intern!(py, "_py_getitem").as_ptr();
        ffi::PyObject_CallMethodObjArgs(slf, name, key, null_mut::<ffi::PyObject>())
    }
}

/// `len(self)` (mp_length).
unsafe extern "C" fn length(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: called by CPython with the GIL held and a live object.
    unsafe {
        let py = Python::assume_gil_acquired();
        if let Some(n) = base(py, slf).fast_len() {
            return n;
        }
        let name = intern!(py, "_py_len").as_ptr();
        let r = ffi::PyObject_CallMethodObjArgs(slf, name, null_mut::<ffi::PyObject>());
        if r.is_null() {
            return -1;
        }
        let n = ffi::PyLong_AsSsize_t(r);
        ffi::Py_DECREF(r);
        n
    }
}

/// `self.append(v)` (METH_O).
unsafe extern "C" fn append(slf: *mut ffi::PyObject, v: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held and live objects (the
    // method descriptor checked the type of `slf`).
    unsafe {
        let py = Python::assume_gil_acquired();
        if base(py, slf).fast_append(v) {
            let none = ffi::Py_None();
            ffi::Py_INCREF(none);
            return none;
        }
        let name = intern!(py, "_py_append").as_ptr();
        ffi::PyObject_CallMethodObjArgs(slf, name, v, null_mut::<ffi::PyObject>())
    }
}

/// Points the slot wrapper `name` of the type's dict (what a Python
/// subclass inherits the slot from) at `new` if it wraps `old`.
///
/// # Safety
/// `tp` is a ready type; the GIL is held; `new` has the slot's signature.
unsafe fn rewrap(
    tp: *mut ffi::PyTypeObject,
    name: &std::ffi::CStr,
    old: *mut c_void,
    new: *mut c_void,
) {
    // SAFETY: per the contract; a wrapper_descriptor's layout is
    // PyWrapperDescrObject (cpython/descrobject.h).
    unsafe {
        let d = ffi::PyDict_GetItemString((*tp).tp_dict, name.as_ptr());
        if !d.is_null() && ffi::Py_TYPE(d) == std::ptr::addr_of_mut!(ffi::PyWrapperDescr_Type) {
            let w = d.cast::<ffi::PyWrapperDescrObject>();
            if (*w).d_wrapped == old {
                (*w).d_wrapped = new;
            }
        }
    }
}

/// Installs the functions above in Base's type object (before any
/// subclass exists).
///
/// # Safety
/// `tp` is Base's type, just made; the GIL is held.
pub unsafe fn install(py: Python<'_>, tp: *mut ffi::PyTypeObject) -> PyResult<()> {
    // SAFETY: per the contract.
    unsafe {
        let m = (*tp).tp_as_mapping;
        if !m.is_null() {
            if let Some(old) = (*m).mp_subscript {
                (*m).mp_subscript = Some(subscript);
                rewrap(
                    tp,
                    c"__getitem__",
                    old as *mut c_void,
                    subscript as *mut c_void,
                );
            }
            if let Some(old) = (*m).mp_length {
                (*m).mp_length = Some(length);
                rewrap(tp, c"__len__", old as *mut c_void, length as *mut c_void);
            }
        }
        let s = (*tp).tp_as_sequence;
        if !s.is_null() && (*s).sq_length.is_some() {
            (*s).sq_length = Some(length);
        }
        let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: c"append".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: append,
            },
            ml_flags: ffi::METH_O,
            ml_doc: c"Append a new item with value v to the end of the array.".as_ptr(),
        }));
        let descr = ffi::PyDescr_NewMethod(tp, def);
        if descr.is_null() {
            return Err(PyErr::fetch(py));
        }
        let rc = ffi::PyDict_SetItemString((*tp).tp_dict, c"append".as_ptr(), descr);
        ffi::Py_DECREF(descr);
        if rc != 0 {
            return Err(PyErr::fetch(py));
        }
        ffi::PyType_Modified(tp);
    }
    Ok(())
}

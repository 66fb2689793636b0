//! `mba._ext`: the CPython fast path of the mba package, as an extension
//! module. It provides `Base`, the base class of `mba.mmaparray`, whose
//! `a[i]`, `a[i] = v`, `len(a)` and `append(v)` do the common case (a live
//! handle, a flat array of a numeric typecode, an exact int or float, an
//! index in range, an append that needs no wait and no growth) with one
//! call into libmba, and call the class's Python methods (`_py_getitem`,
//! `_py_setitem`, `_py_delitem`, `_py_len`, `_py_append`) for everything
//! else: those are the reference, so results and exceptions are the same
//! either way. `Base` also carries the buffer protocol (memoryview(a),
//! bytes(a), numpy.frombuffer(a), f.write(a)) on every Python version: an
//! export is `a.view()`, which pins the mapping.
//!
//! The module calls the libmba.so that mba._lib loaded (see libmba.rs):
//! `bind(path)` must be called before the fast paths work; until then
//! every call goes to the Python methods.

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::c_int;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{Acquire, Relaxed},
};
use std::sync::OnceLock;

mod attach;
mod convert;
mod fast;
mod libmba;

use convert::*;

/// The base class of `mba.mmaparray`: the handle (`_h`) and the fast paths.
#[pyclass(subclass, frozen, module = "mba._ext", name = "Base")]
pub struct Base {
    /// The libmba handle, 0 when closed. The binding sets it to 0 before it
    /// closes the handle (under the GIL); libmba refuses a stale handle
    /// anyway (MBA_E_HANDLE), so a race costs a fallback, never a crash.
    h: AtomicI32,
    /// The element type of a flat array of a fast-path typecode, 0 for
    /// everything the fast paths leave to Python (rows, other typecodes).
    kind: AtomicU8,
    /// For direct reads (kind != 0): the first element (mba_get_ptr), the
    /// length word (mba_len_ptr) and the rows mapped (mba_capacity, raised
    /// after a library read finds more).
    data: AtomicUsize,
    lenp: AtomicUsize,
    cap: AtomicU64,
}

/// Whether libmba's SIGBUS guard is on (set by mba.sigbus_guard): a[i]
/// then reads through the library, which the guard covers.
static GUARD: AtomicBool = AtomicBool::new(false);

/// A new reference as a PyObject, or the Python error if NULL.
///
/// # Safety
/// `p` is NULL with an exception set, or a new reference; GIL held.
#[inline(always)]
unsafe fn owned(py: Python<'_>, p: *mut ffi::PyObject) -> PyResult<PyObject> {
    // SAFETY: per the contract.
    unsafe { Bound::from_owned_ptr_or_err(py, p).map(Bound::unbind) }
}

impl Base {
    /// The bound library, the live handle and the fast kind (0: none), or
    /// None when the library is not bound or the array closed.
    #[inline(always)]
    fn state(&self) -> Option<(&'static libmba::Api, i32, u8)> {
        let a = libmba::api()?;
        let h = self.h.load(Relaxed);
        (h != 0).then(|| (a, h, self.kind.load(Relaxed)))
    }

    /// len(self) from libmba, if the handle is live.
    #[inline(always)]
    fn fast_len(&self) -> Option<isize> {
        let (a, h, _) = self.state()?;
        let mut n = 0u64;
        // SAFETY: a valid out-pointer; libmba validates the handle.
        if unsafe { (a.len)(h, &mut n) } != 0 {
            return None;
        }
        isize::try_from(n).ok()
    }

    /// Appends `v` if it is a common case that needs no wait and no growth.
    ///
    /// # Safety
    /// `v` is a live object; the GIL is held.
    #[inline(always)]
    unsafe fn fast_append(&self, v: *mut ffi::PyObject) -> bool {
        let Some((a, h, k @ 1..)) = self.state() else {
            return false;
        };
        // SAFETY: per the contract.
        let Some(b) = (unsafe { bytes_of(k, v) }) else {
            return false;
        };
        // SAFETY: `b` holds 8 bytes, at least one element; the call never
        // waits (MBA_E_BUSY for anything it cannot do at once, errors
        // included), so the GIL may stay held.
        unsafe { (a.try_append)(h, b.as_ptr().cast()) == 0 }
    }

    /// Row `i` (negative: from the end) as an unsigned position, if the
    /// length can be read.
    #[inline(always)]
    fn position(a: &libmba::Api, h: i32, i: i64) -> Option<u64> {
        if i >= 0 {
            return Some(i as u64);
        }
        let mut n = 0u64;
        // SAFETY: a valid out-pointer; libmba validates the handle.
        if unsafe { (a.len)(h, &mut n) } != 0 {
            return None;
        }
        let j = i.checked_add(i64::try_from(n).ok()?)?;
        u64::try_from(j).ok()
    }

    /// Element `i` (negative: from the end) read straight from the
    /// mapping, boxed, if it lies below both the length and the capacity
    /// this handle has mapped (else the library reads it).
    #[inline(always)]
    fn read_direct(&self, py: Python<'_>, k: u8, i: i64) -> Option<PyResult<PyObject>> {
        let lenp = self.lenp.load(Relaxed) as *const AtomicU64;
        // SAFETY: mba_len_ptr's word, valid until mba_close; the handle is
        // live (the GIL is held, and close() runs under it).
        let n = unsafe { (*lenp).load(Acquire) };
        if n > self.cap.load(Relaxed) {
            // Grown beyond what this handle has mapped: the library maps
            // the new rows (and `element` then caches the new capacity).
            return None;
        }
        let j = if i < 0 {
            i.checked_add(i64::try_from(n).ok()?)?
        } else {
            i
        };
        let j = u64::try_from(j).ok().filter(|&j| j < n)?;
        let size: usize = match k {
            I8 | U8 => 1,
            I16 | U16 => 2,
            I32 | U32 | F32 => 4,
            _ => 8,
        };
        let p =
            (self.data.load(Relaxed) as *const u8).wrapping_add((j as usize).wrapping_mul(size));
        // SAFETY: row j is below the length and the mapped capacity: inside
        // the mapping (unaligned reads: a raw map may start at any byte).
        // Other processes may write it meanwhile, as for any reader of
        // shared memory. The boxing calls hold the GIL.
        unsafe {
            let o = match k {
                I8 => ffi::PyLong_FromLong(p.cast::<i8>().read_unaligned().into()),
                U8 => ffi::PyLong_FromLong(p.read_unaligned().into()),
                I16 => ffi::PyLong_FromLong(p.cast::<i16>().read_unaligned().into()),
                U16 => ffi::PyLong_FromLong(p.cast::<u16>().read_unaligned().into()),
                I32 => ffi::PyLong_FromLong(p.cast::<i32>().read_unaligned().into()),
                U32 => ffi::PyLong_FromLongLong(p.cast::<u32>().read_unaligned().into()),
                I64 => ffi::PyLong_FromLongLong(p.cast::<i64>().read_unaligned()),
                U64 => ffi::PyLong_FromUnsignedLongLong(p.cast::<u64>().read_unaligned()),
                F32 => ffi::PyFloat_FromDouble(p.cast::<f32>().read_unaligned().into()),
                _ => ffi::PyFloat_FromDouble(p.cast::<f64>().read_unaligned()),
            };
            Some(owned(py, o))
        }
    }

    /// Element `i` boxed, if the fast path can read it.
    #[inline(always)]
    fn element(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> Option<PyResult<PyObject>> {
        let (a, h, k) = self.state()?;
        if k == 0 {
            return None;
        }
        // SAFETY: a live object; the GIL is held.
        let i = unsafe { small_int(key.as_ptr()) }?;
        if !GUARD.load(Relaxed) {
            if let Some(r) = self.read_direct(py, k, i) {
                return Some(r);
            }
        }
        let j = Self::position(a, h, i)?;
        // (A library read follows: rows beyond the cached capacity may have
        // been mapped meanwhile; take the capacity for the next direct reads.)
        let mut cap = 0u64;
        // SAFETY: a valid out-pointer; libmba validates the handle.
        if unsafe { (a.capacity)(h, &mut cap) } == 0 {
            self.cap.store(cap, Relaxed);
        }
        // SAFETY (each arm): valid out-pointers; libmba checks the handle
        // and the index (MBA_E_INDEX) and reads under its SIGBUS guard
        // when that is on; the boxing calls hold the GIL.
        unsafe {
            match k {
                U64 => {
                    let mut v = 0u64;
                    ((a.get_u64)(h, j, &mut v) == 0)
                        .then(|| owned(py, ffi::PyLong_FromUnsignedLongLong(v)))
                }
                F32 | F64 => {
                    let mut v = 0f64;
                    ((a.get_f64)(h, j, &mut v) == 0).then(|| owned(py, ffi::PyFloat_FromDouble(v)))
                }
                _ => {
                    let mut v = 0i64;
                    ((a.get_i64)(h, j, &mut v) == 0).then(|| owned(py, ffi::PyLong_FromLongLong(v)))
                }
            }
        }
    }
}

#[pymethods]
impl Base {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Base {
            h: AtomicI32::new(0),
            kind: AtomicU8::new(0),
            data: AtomicUsize::new(0),
            lenp: AtomicUsize::new(0),
            cap: AtomicU64::new(0),
        }
    }

    /// The libmba handle (0 when closed).
    #[getter(_h)]
    fn get_h(&self) -> i32 {
        self.h.load(Relaxed)
    }

    #[setter(_h)]
    fn set_h(slf: &Bound<'_, Self>, h: i32) -> PyResult<()> {
        let this = slf.get();
        this.kind.store(0, Relaxed);
        this.h.store(h, Relaxed);
        if h == 0 {
            return Ok(());
        }
        // The fast element paths need a flat array of a numeric typecode
        // whose element type is the one libmba reports (the binding sets
        // _tc and _row before _h).
        let py = slf.py();
        let Ok(tc) = slf.getattr(intern!(py, "_tc")) else {
            return Ok(());
        };
        let Ok(row) = slf.getattr(intern!(py, "_row")) else {
            return Ok(());
        };
        let Some(k) = tc.extract::<String>().ok().and_then(|t| kind_of(&t)) else {
            return Ok(());
        };
        if !row.is_truthy()? {
            if let Some(a) = libmba::api() {
                let (mut t, mut nd, mut cap) = (0i32, 1u32, 0u64);
                let mut data = std::ptr::null_mut();
                let mut lenp = std::ptr::null();
                // SAFETY: valid out-pointers (dims may be NULL with cap 0).
                let ok = unsafe {
                    (a.elem_type)(h, &mut t) == 0
                        && (a.shape)(h, std::ptr::null_mut(), 0, &mut nd) == 0
                        && (a.get_ptr)(h, &mut data) == 0
                        && (a.len_ptr)(h, &mut lenp) == 0
                        && (a.capacity)(h, &mut cap) == 0
                };
                if ok && nd == 0 && t == i32::from(k) && !data.is_null() && !lenp.is_null() {
                    this.data.store(data as usize, Relaxed);
                    this.lenp.store(lenp as usize, Relaxed);
                    this.cap.store(cap, Relaxed);
                    this.kind.store(k, Relaxed);
                }
            }
        }
        Ok(())
    }

    /// Append a new item with value v to the end of the array.
    /// (Replaced by fast.rs's METH_O function; kept as its reference.)
    fn append(slf: &Bound<'_, Self>, v: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let py = slf.py();
        // SAFETY: a live object; the GIL is held.
        if unsafe { slf.get().fast_append(v.as_ptr()) } {
            return Ok(py.None());
        }
        slf.call_method1(intern!(py, "_py_append"), (v,))
            .map(Bound::unbind)
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let py = slf.py();
        if let Some(r) = slf.get().element(py, key) {
            return r;
        }
        slf.call_method1(intern!(py, "_py_getitem"), (key,))
            .map(Bound::unbind)
    }

    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        if let Some((a, _, k @ 1..)) = slf.get().state() {
            // mba_set may wait for another writer's lock, so it runs
            // without the GIL, holding the array's owner (read before the
            // handle, as mmaparray._hold does): a close() from another
            // thread meanwhile then leaves the handle to the owner instead
            // of closing it under the call.
            let own = slf.getattr(intern!(py, "_own"))?;
            let h = slf.get().h.load(Relaxed);
            // SAFETY: live objects; the GIL is held.
            let fast = unsafe { small_int(key.as_ptr()).zip(bytes_of(k, value.as_ptr())) };
            if let (false, true, Some((i, b))) = (own.is_none(), h != 0, fast) {
                if let Some(j) = Self::position(a, h, i) {
                    let set = a.set;
                    // SAFETY: `b` holds at least one element; libmba checks
                    // the handle and the index; the owner keeps the handle
                    // open until the call returns.
                    let rc = py.allow_threads(move || unsafe { set(h, j, b.as_ptr().cast()) });
                    drop(own);
                    if rc == 0 {
                        return Ok(());
                    }
                }
            }
        }
        slf.call_method1(intern!(py, "_py_setitem"), (key, value))
            .map(drop)
    }

    fn __delitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        slf.call_method1(intern!(py, "_py_delitem"), (key,))
            .map(drop)
    }

    fn __len__(slf: &Bound<'_, Self>) -> PyResult<usize> {
        if let Some(n) = slf.get().fast_len() {
            return Ok(n as usize);
        }
        let py = slf.py();
        slf.call_method0(intern!(py, "_py_len"))?.extract()
    }

    /// The buffer protocol: the export is the array's `view()` (a
    /// memoryview of the elements at the time of the export, shaped
    /// (len,) + row shape, read-only if the array is; it pins the mapping).
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let py = slf.py();
        let mv = slf.call_method0(intern!(py, "view"))?;
        // SAFETY: `view` is the caller's Py_buffer to fill; the memoryview
        // fills it and becomes its `obj` (released through it).
        if unsafe { ffi::PyObject_GetBuffer(mv.as_ptr(), view, flags) } != 0 {
            return Err(PyErr::fetch(py));
        }
        // 'u' and 'w' arrays hold UCS-4 code points as u32: their exports
        // say "w" (PEP 3118's UCS-4), as array.array's do, so that numpy
        // sees characters (dtype '<U1'), not integers.
        // (No error may escape once the buffer is filled: it would leak.)
        let chars = slf
            .getattr(intern!(py, "_tc"))
            .is_ok_and(|t| t.eq("u").unwrap_or(false) || t.eq("w").unwrap_or(false));
        if chars {
            // SAFETY: the Py_buffer was just filled; its format (when the
            // consumer asked for one) may point at any string that outlives
            // the export, such as this static one.
            unsafe {
                if !(*view).format.is_null() {
                    (*view).format = c"w".as_ptr().cast_mut();
                }
            }
        }
        Ok(())
    }
}

/// Binds the extension to the libmba at `path`, which mba._lib has loaded.
#[pyfunction]
fn bind(path: &str) -> PyResult<()> {
    libmba::bind(path).map_err(PyRuntimeError::new_err)
}

/// Tells the extension whether libmba's SIGBUS guard is on (mba.sigbus_guard
/// calls it): a[i] then reads through the library, which the guard covers.
#[pyfunction]
fn set_guard(on: bool) {
    GUARD.store(on, Relaxed);
}

/// Whether `bind` succeeded.
#[pyfunction]
fn bound() -> bool {
    libmba::api().is_some()
}

/// PyO3 0.23's tp_dealloc of `Base`, which frees the instance but does not
/// release its reference to its heap type (every instance of a heap type
/// holds one; CPython leaves releasing it to the heap base's dealloc).
static PYO3_DEALLOC: OnceLock<unsafe extern "C" fn(*mut ffi::PyObject)> = OnceLock::new();

/// `Base`'s tp_dealloc: PyO3's, then the type reference (else every
/// instance would leak one reference to mmaparray, or to a user's
/// subclass, which could then never be freed).
unsafe extern "C" fn dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once by CPython for an instance of Base or of a
    // subclass, with the GIL held; the type outlives the call since the
    // instance holds a reference to it until the decref below.
    unsafe {
        let ty = ffi::Py_TYPE(slf);
        if let Some(f) = PYO3_DEALLOC.get() {
            f(slf);
        }
        if ffi::PyType_HasFeature(ty, ffi::Py_TPFLAGS_HEAPTYPE) != 0 {
            ffi::Py_DECREF(ty.cast());
        }
    }
}

#[pymodule]
fn _ext(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Base>()?;
    let t = m.py().get_type::<Base>();
    let tp = t.as_type_ptr();
    // SAFETY: Base's type, just made, no subclass yet; the GIL is held.
    unsafe { fast::install(m.py(), tp)? };
    // SAFETY: Base's type object, just made by PyO3 and not yet used; the
    // GIL is held. Module init runs once per process (single-phase init).
    unsafe {
        if PYO3_DEALLOC.get().is_none() {
            if let Some(f) = (*tp).tp_dealloc {
                let _ = PYO3_DEALLOC.set(f);
                (*tp).tp_dealloc = Some(dealloc);
            }
        }
    }
    m.add_function(wrap_pyfunction!(bind, m)?)?;
    m.add_function(wrap_pyfunction!(bound, m)?)?;
    m.add_function(wrap_pyfunction!(set_guard, m)?)?;
    m.add_function(wrap_pyfunction!(attach::attach, m)?)?;
    m.add_function(wrap_pyfunction!(attach::attach_setup, m)?)?;
    m.add_function(wrap_pyfunction!(attach::attach_name, m)?)?;
    Ok(())
}

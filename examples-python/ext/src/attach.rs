//! `attach`: the common case of `mba.attach` in one call (see
//! `mba._open._attach`): `mba_open` (without the GIL), `mba_describe`, and
//! the new array's fields, which `mmaparray._setup` sets in the Python
//! path, set here from the same tables (`attach_setup`, given by the
//! package at import). Everything else goes back to Python: a failed open
//! returns its status (the caller raises `L.error(rc)`, whose message is
//! the library's last error of this thread, as for the ctypes call), and
//! an open array that is not the common case (an element type the tables
//! do not hold, a typecode that does not match it, a failed describe)
//! returns `(handle,)` for `mmaparray._from_handle` to finish, with the
//! Python path's checks and errors.

use crate::convert::kind_of;
use crate::{libmba, Base};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};
use pyo3::{ffi, intern};
use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering::Relaxed;

/// `struct mba_info` (include/mba.h).
#[repr(C)]
pub struct Info {
    pub struct_size: u32,
    pub elem_type: i32,
    pub flags: u32,
    pub ndim: u32,
    pub item_size: u64,
    pub row_size: u64,
    pub shape: [u64; 8],
    pub capacity: u64,
    pub max_len: u64,
    pub uuid: u64,
    pub data: *mut c_void,
    pub len_ptr: *const u64,
    pub fd: c_int,
    pub reserved0: c_int,
}

/// The package's tables and constants (see `attach_setup`).
struct Setup {
    /// typecode -> (element type, itemsize, struct pack, is float), for the
    /// typecodes this path handles (not 'u', 'w').
    by_tc: Py<PyDict>,
    /// element type -> the typecode an attach without dtype reports.
    tc_of: Py<PyDict>,
    owner: PyObject,
    no_pack: PyObject,
    lazy_q: PyObject,
    empty_b: PyObject,
    rdonly: u32,
    raw: u32,
    /// mmaparray, and the PyMemberDef of each of its slots in FIELDS, to
    /// set them with PyMember_SetOne (the attribute lookup and descriptor
    /// dispatch of a setattr cost more than the store).
    cls: Py<PyType>,
    members: Vec<(PyObject, usize)>,
}

/// The slots `build` sets, in the order of the F_* indexes.
const FIELDS: [&str; 23] = [
    "_closed", "_ifpin", "_uview", "_cap", "_tc", "_isz", "_row", "_spack", "_rb", "_isf",
    "_flags", "_ro", "_ref", "_name", "_ptr", "_own", "_lenp", "_maxl", "_skip", "_len", "_mv",
    "_mvb", "_whole",
];

/// The PyMemberDef of each FIELDS slot of `cls` (an object slot made by
/// __slots__ in `cls` itself), or None if any is something else.
fn member_defs(
    py: Python<'_>,
    cls: &Bound<'_, PyType>,
) -> PyResult<Option<Vec<(PyObject, usize)>>> {
    let d = cls.getattr(intern!(py, "__dict__"))?;
    let mut out = Vec::with_capacity(FIELDS.len());
    for f in FIELDS {
        let desc = d.get_item(f)?;
        // SAFETY: a live object; the type is compared by address, and only
        // a member descriptor is read as one.
        let def = unsafe {
            if ffi::Py_TYPE(desc.as_ptr()) != std::ptr::addr_of_mut!(ffi::PyMemberDescr_Type) {
                return Ok(None);
            }
            let m = (*desc.as_ptr().cast::<ffi::PyMemberDescrObject>()).d_member;
            // (pyo3-ffi types d_member as PyGetSetDef; CPython's is PyMemberDef.)
            let m = m.cast::<ffi::PyMemberDef>();
            if m.is_null()
                || (*m).type_code != ffi::Py_T_OBJECT_EX
                || (*m).flags & ffi::Py_READONLY != 0
            {
                return Ok(None);
            }
            m as usize
        };
        out.push((desc.unbind(), def));
    }
    Ok(Some(out))
}

static SETUP: GILOnceCell<Setup> = GILOnceCell::new();

/// Gives the extension the package's tables (called once by mba._open).
/// ValueError if the package's `struct mba_info` size is not this one's
/// (then the package keeps its ctypes path).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn attach_setup(
    py: Python<'_>,
    info_size: usize,
    by_tc: Py<PyDict>,
    tc_of: Py<PyDict>,
    owner: PyObject,
    no_pack: PyObject,
    lazy_q: PyObject,
    empty_b: PyObject,
    rdonly: u32,
    raw: u32,
    cls: Bound<'_, PyType>,
) -> PyResult<()> {
    if info_size != std::mem::size_of::<Info>() {
        return Err(PyValueError::new_err("struct mba_info size mismatch"));
    }
    let members = member_defs(py, &cls)?.unwrap_or_default();
    let _ = SETUP.set(
        py,
        Setup {
            by_tc,
            tc_of,
            owner,
            no_pack,
            lazy_q,
            empty_b,
            rdonly,
            raw,
            cls: cls.unbind(),
            members,
        },
    );
    Ok(())
}

/// Opens `name` (a NUL-free byte string) with `flags` and expected element
/// type `etype`, as an instance of `cls` (a subclass of Base) with
/// typecode `tc` (None: the array's own). Returns the status if the open
/// failed, `(handle,)` if Python must finish, else the array.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn attach(
    py: Python<'_>,
    cls: &Bound<'_, PyType>,
    name: &Bound<'_, PyBytes>,
    flags: u32,
    etype: i32,
    tc: &Bound<'_, PyAny>,
    ref_: &Bound<'_, PyAny>,
    pyname: &Bound<'_, PyAny>,
) -> PyResult<PyObject> {
    let (Some(a), Some(s)) = (libmba::api(), SETUP.get(py)) else {
        return Err(PyTypeError::new_err("mba._ext is not bound"));
    };
    if !cls.is_subclass_of::<Base>()? {
        return Err(PyTypeError::new_err("cls must be a subclass of Base"));
    }
    if name.as_bytes().contains(&0) {
        return Err(PyValueError::new_err("embedded null byte"));
    }
    // A bytes object's buffer is NUL-terminated; `name` outlives the call.
    let p = name.as_bytes().as_ptr() as usize;
    let open = a.open;
    let mut h = 0i32;
    let hp = &mut h as *mut i32 as usize;
    // SAFETY: a NUL-terminated string and a valid out-pointer, both alive
    // until the call returns; mba_open may block on the filesystem, so
    // the GIL is released, as ctypes does.
    let rc = py.allow_threads(move || unsafe {
        open(p as *const std::ffi::c_char, flags, etype, hp as *mut i32)
    });
    if rc != 0 {
        return Ok(rc.into_pyobject(py)?.into_any().unbind());
    }
    match build(py, a, s, h, cls, tc, ref_, pyname) {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Ok(PyTuple::new(py, [h])?.into_any().unbind()),
        Err(e) => {
            // SAFETY: our handle, not stored anywhere.
            unsafe { (a.close)(h) };
            Err(e)
        }
    }
}

/// Whether `name` is a name `_open._norm_name` returns unchanged on its
/// fast path: "shm://..." or an absolute "file:///..." with no "/." and no
/// "//" past its scheme and no trailing "/", and no NUL byte.
fn normal(name: &[u8]) -> bool {
    if name.contains(&0) {
        return false;
    }
    if name.starts_with(b"shm://") {
        return true;
    }
    let has = |s: &[u8], w: &[u8]| s.windows(w.len()).any(|x| x == w);
    name.starts_with(b"file:///")
        && !has(name, b"/.")
        && !has(&name[7..], b"//")
        && name.last() != Some(&b'/')
}

/// `mba.attach(name, readonly=...)` without dtype, for a str `name` that
/// is already normal (see `normal`) and UTF-8 encodable (no surrogates):
/// None for any other name (the caller takes its general path, which
/// normalizes and encodes), else as `attach` (the status, `(handle,)`,
/// or the array), with ref `("open", name, flags)`.
#[pyfunction]
pub fn attach_name(
    py: Python<'_>,
    cls: &Bound<'_, PyType>,
    name: &Bound<'_, PyString>,
    flags: u32,
) -> PyResult<PyObject> {
    // (The UTF-8 form of a str is what os.fsencode makes of it on a UTF-8
    // filesystem encoding, which the caller checks; a str with surrogates
    // has none and takes the general path.)
    let Ok(b) = name.to_str() else {
        return Ok(py.None());
    };
    if !normal(b.as_bytes()) {
        return Ok(py.None());
    }
    let c = PyBytes::new(py, b.as_bytes());
    let ref_ = PyTuple::new(
        py,
        [
            intern!(py, "open").as_any(),
            name.as_any(),
            &flags.into_pyobject(py)?.into_any(),
        ],
    )?;
    attach(
        py,
        cls,
        &c,
        flags,
        0,
        &py.None().into_bound(py),
        &ref_,
        name.as_any(),
    )
}

/// Sets slot `name` of `o` to `v`: straight through its PyMemberDef
/// `def` (an address from `member_defs`, for an instance of the class it
/// was taken from), else by setattr.
fn set(o: &Bound<'_, PyAny>, def: Option<usize>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let Some(def) = def else {
        return o.setattr(name, v);
    };
    // SAFETY: `def` is the PyMemberDef of an object slot (T_OBJECT_EX,
    // writable) of o's exact type, kept alive by its descriptor in SETUP;
    // PyMember_SetOne takes a new reference to `v` and releases the old
    // value, as the descriptor's __set__ does.
    if unsafe { ffi::PyMember_SetOne(o.as_ptr().cast(), def as *mut ffi::PyMemberDef, v.as_ptr()) }
        != 0
    {
        return Err(PyErr::fetch(o.py()));
    }
    Ok(())
}

/// The array for the open handle `h`, or None if Python must finish.
#[allow(clippy::too_many_arguments)]
fn build(
    py: Python<'_>,
    a: &libmba::Api,
    s: &Setup,
    h: i32,
    cls: &Bound<'_, PyType>,
    tc: &Bound<'_, PyAny>,
    ref_: &Bound<'_, PyAny>,
    pyname: &Bound<'_, PyAny>,
) -> PyResult<Option<PyObject>> {
    // SAFETY: Info is plain data; all-zero is a valid value.
    let mut info: Info = unsafe { std::mem::zeroed() };
    info.struct_size = std::mem::size_of::<Info>() as u32;
    // SAFETY: a live handle and a valid, sized out-struct.
    if unsafe { (a.describe)(h, &mut info) } != 0 {
        return Ok(None);
    }
    let t = info.elem_type;
    let tc = if tc.is_none() {
        match s.tc_of.bind(py).get_item(t)? {
            Some(x) => x,
            None => return Ok(None),
        }
    } else {
        tc.clone()
    };
    let Some(row) = s.by_tc.bind(py).get_item(&tc)? else {
        return Ok(None);
    };
    let (et, isz, spack, isf): (i32, PyObject, PyObject, bool) = row.extract()?;
    if et != t {
        return Ok(None);
    }
    let Ok(tcs) = tc.extract::<String>() else {
        return Ok(None);
    };
    let nd = (info.ndim as usize).min(8);
    // SAFETY: Base's tp_new (PyO3's) for a subclass of Base with no
    // arguments, as `_bridge.Base.__new__(cls)` calls it.
    let o = unsafe {
        let base = py.get_type::<Base>();
        let Some(new) = (*base.as_type_ptr()).tp_new else {
            return Err(PyTypeError::new_err("Base has no tp_new"));
        };
        let args = PyTuple::empty(py);
        Bound::from_owned_ptr_or_err(
            py,
            new(cls.as_type_ptr(), args.as_ptr(), std::ptr::null_mut()),
        )?
    };
    let f = info.flags;
    let ptr = info.data as usize;
    let lenp = info.len_ptr as usize;
    let skip = if f & s.raw != 0 {
        0
    } else {
        ptr.wrapping_sub(lenp)
    };
    let (row, spack) = if nd > 0 {
        (
            PyTuple::new(py, &info.shape[..nd])?.into_any(),
            s.no_pack.bind(py).clone(),
        )
    } else {
        (PyTuple::empty(py).into_any(), spack.into_bound(py))
    };
    // As mmaparray._setup: the same fields (in FIELDS order), the same values.
    let vals: [Bound<'_, PyAny>; 23] = [
        true.into_pyobject(py)?.to_owned().into_any(),
        0i32.into_pyobject(py)?.into_any(),
        py.None().into_bound(py),
        (-1i32).into_pyobject(py)?.into_any(),
        tc.clone(),
        isz.into_bound(py),
        row,
        spack,
        info.row_size.into_pyobject(py)?.into_any(),
        isf.into_pyobject(py)?.to_owned().into_any(),
        f.into_pyobject(py)?.into_any(),
        (f & s.rdonly != 0).into_pyobject(py)?.to_owned().into_any(),
        ref_.clone(),
        pyname.clone(),
        ptr.into_pyobject(py)?.into_any(),
        s.owner.call0(py)?.into_bound(py),
        lenp.into_pyobject(py)?.into_any(),
        info.max_len.into_pyobject(py)?.into_any(),
        skip.into_pyobject(py)?.into_any(),
        s.lazy_q.bind(py).clone(),
        s.empty_b.bind(py).clone(),
        s.empty_b.bind(py).clone(),
        s.empty_b.bind(py).clone(),
    ];
    let direct = o.get_type().is(s.cls.bind(py)) && s.members.len() == FIELDS.len();
    for (i, v) in vals.iter().enumerate() {
        set(&o, direct.then(|| s.members[i].1), FIELDS[i], v)?;
    }
    // The handle and the fast paths' fields, as Base's _h setter sets them.
    let b = o.downcast::<Base>()?.get();
    if let Some(k) = kind_of(&tcs) {
        if nd == 0 && t == i32::from(k) && ptr != 0 && lenp != 0 {
            b.data.store(ptr, Relaxed);
            b.lenp.store(lenp, Relaxed);
            b.cap.store(info.capacity, Relaxed);
            b.kind.store(k, Relaxed);
        }
    }
    b.h.store(h, Relaxed);
    let no = false.into_pyobject(py)?.to_owned().into_any();
    set(&o, direct.then(|| s.members[0].1), FIELDS[0], &no)?;
    Ok(Some(o.unbind()))
}

//! The libmba functions the extension calls, looked up in the copy of
//! libmba.so that the package's ctypes layer already loaded (mba._lib), so
//! that one process has one library: one handle table, one mapping cache,
//! whichever path opened an array. The extension is not linked against
//! libmba at all: `bind` opens the library with RTLD_NOLOAD (which fails
//! unless that very file is already loaded) and takes the addresses with
//! dlsym. The library stays loaded for the life of the process (the
//! dlopen reference is never released).

use std::ffi::{c_int, c_void, CStr, CString};
use std::sync::OnceLock;

type H = i32;
type TryAppend = unsafe extern "C" fn(H, *const c_void) -> c_int;
type Set = unsafe extern "C" fn(H, u64, *const c_void) -> c_int;
type GetI64 = unsafe extern "C" fn(H, u64, *mut i64) -> c_int;
type GetU64 = unsafe extern "C" fn(H, u64, *mut u64) -> c_int;
type GetF64 = unsafe extern "C" fn(H, u64, *mut f64) -> c_int;
type Len = unsafe extern "C" fn(H, *mut u64) -> c_int;
type ElemType = unsafe extern "C" fn(H, *mut i32) -> c_int;
type Shape = unsafe extern "C" fn(H, *mut u64, u32, *mut u32) -> c_int;
type GetPtr = unsafe extern "C" fn(H, *mut *mut c_void) -> c_int;
type LenPtr = unsafe extern "C" fn(H, *mut *const u64) -> c_int;
type Capacity = unsafe extern "C" fn(H, *mut u64) -> c_int;
type Open = unsafe extern "C" fn(*const std::ffi::c_char, u32, i32, *mut H) -> c_int;
type Describe = unsafe extern "C" fn(H, *mut crate::attach::Info) -> c_int;
type Close = unsafe extern "C" fn(H) -> c_int;

/// The addresses of the libmba functions used (see include/mba.h for each
/// contract).
pub struct Api {
    /// The dlopen handle, to recognise a second bind of the same library.
    dl: usize,
    pub try_append: TryAppend,
    pub set: Set,
    pub get_i64: GetI64,
    pub get_u64: GetU64,
    pub get_f64: GetF64,
    pub len: Len,
    pub elem_type: ElemType,
    pub shape: Shape,
    pub get_ptr: GetPtr,
    pub len_ptr: LenPtr,
    pub capacity: Capacity,
    pub open: Open,
    pub describe: Describe,
    pub close: Close,
}

static API: OnceLock<Api> = OnceLock::new();

/// The bound library, if `bind` succeeded.
#[inline(always)]
pub fn api() -> Option<&'static Api> {
    API.get()
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated message owned by the
    // C library, read at once (the GIL serialises our callers).
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Binds to the libmba at `path`, which must already be loaded in this
/// process. A second call must name the same library.
pub fn bind(path: &str) -> Result<(), String> {
    let c = CString::new(path).map_err(|_| "the path holds a NUL byte".to_string())?;
    // SAFETY: a NUL-terminated path; RTLD_NOLOAD loads nothing new, it only
    // takes a reference to an object already in the process.
    let dl = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if dl.is_null() {
        return Err(format!(
            "{path} is not loaded in this process (load it through mba._lib first): {}",
            dlerror()
        ));
    }
    if let Some(a) = API.get() {
        return if a.dl == dl as usize {
            Ok(())
        } else {
            Err("mba._ext is already bound to another libmba".into())
        };
    }
    macro_rules! sym {
        ($name:literal, $t:ty) => {{
            // SAFETY: a live dlopen handle and a NUL-terminated name.
            let p = unsafe { libc::dlsym(dl, concat!($name, "\0").as_ptr().cast()) };
            if p.is_null() {
                return Err(format!("{path} has no {}", $name));
            }
            // SAFETY: the symbol is the libmba function of that name, whose C
            // signature (include/mba.h) is the field's type.
            unsafe { std::mem::transmute::<*mut c_void, $t>(p) }
        }};
    }
    let api = Api {
        dl: dl as usize,
        try_append: sym!("mba_try_append", TryAppend),
        set: sym!("mba_set", Set),
        get_i64: sym!("mba_get_i64", GetI64),
        get_u64: sym!("mba_get_u64", GetU64),
        get_f64: sym!("mba_get_f64", GetF64),
        len: sym!("mba_len", Len),
        elem_type: sym!("mba_elem_type", ElemType),
        shape: sym!("mba_shape", Shape),
        get_ptr: sym!("mba_get_ptr", GetPtr),
        len_ptr: sym!("mba_len_ptr", LenPtr),
        capacity: sym!("mba_capacity", Capacity),
        open: sym!("mba_open", Open),
        describe: sym!("mba_describe", Describe),
        close: sym!("mba_close", Close),
    };
    // (Two threads cannot race here: the GIL is held.)
    let _ = API.set(api);
    Ok(())
}

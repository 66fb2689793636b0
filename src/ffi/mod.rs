//! The C ABI of libmba. Every function here is exported unmangled, returns
//! an `int` status (MBA_OK = 0, or a negative MBA_E_* code) and passes
//! results through out-parameters. See `boundary.rs` for the safety
//! contract shared by all of them; `include/mba.h` is generated from the
//! doc comments in this file.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

pub(crate) mod boundary;
mod extensible;
mod gc;
pub(crate) mod handles;
mod python;
mod sigbus;
pub mod status;

use self::boundary::{buf, copy_str, out, run, str_arg, with};
pub use self::gc::*;
pub use self::python::mba_py_api;
pub use self::sigbus::mba_sigbus_guard;
pub use self::status::*;
use crate::array::{Access, Array, Flush, Kind, Options};
use crate::error::{Code, Error, Result};
use crate::format::{ElemType, Layout};
use crate::{format, shm};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::time::Duration;

/// A handle to an open array: a small positive integer, never a pointer.
/// 0 and negative values are never valid handles. A handle is a slot of a
/// table of 4,096 (4,095 handles open at once at most; one more open is
/// MBA_E_NOMEM) and a 19-bit generation; slots are reused least recently
/// freed first, so a closed handle stays invalid (MBA_E_HANDLE, never
/// another array) for at least 2^30 later opens while at most 1,000
/// handles are open.
pub type mba_handle = i32;

/// Major version of the library (and of its C ABI).
pub const MBA_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const MBA_VERSION_MINOR: u32 = 2;
/// Patch version of the library.
pub const MBA_VERSION_PATCH: u32 = 0;
/// Major version of the on-disk format this library reads and writes.
pub const MBA_FORMAT_MAJOR: u32 = 1;

/// Open flag: create the array if it does not exist (needs a type).
pub const MBA_CREATE: u32 = 1;
/// Open flag: with MBA_CREATE, fail with MBA_E_EXISTS if it exists.
pub const MBA_EXCL: u32 = 2;
/// Open flag: read-only handle. Also reported by mba_flags.
pub const MBA_RDONLY: u32 = 4;
/// Open flag: private copy-on-write snapshot: its length is fixed at open,
/// it sees no growth by others, cannot wait, and its writes never reach the
/// file. Also reported by mba_flags.
pub const MBA_COW: u32 = 8;
/// Open flag: publish a new empty array under the name atomically (needs a
/// type). Processes that have the old array mapped keep valid memory; the
/// old file is never shrunk.
pub const MBA_REPLACE: u32 = 16;
/// Reported by mba_flags: a raw mapping of a file without header.
pub const MBA_RAW: u32 = 32;
/// Open flag: with MBA_CREATE, accept an existing object owned by another
/// user. Without it, open-or-create refuses such an object with
/// MBA_E_OWNER: a name another user created first (a squatter) could read
/// everything this process writes, and truncate it. No effect without
/// MBA_CREATE: a plain open of another user's array (shared on purpose,
/// e.g. mode 0660 and a common group) is always allowed.
pub const MBA_FOREIGN: u32 = 64;

/// Element type: any (on open only: accept whatever the array holds).
pub const MBA_TYPE_ANY: i32 = 0;
/// Element type: signed 8-bit integer.
pub const MBA_TYPE_I8: i32 = 1;
/// Element type: unsigned 8-bit integer.
pub const MBA_TYPE_U8: i32 = 2;
/// Element type: signed 16-bit integer.
pub const MBA_TYPE_I16: i32 = 3;
/// Element type: unsigned 16-bit integer.
pub const MBA_TYPE_U16: i32 = 4;
/// Element type: signed 32-bit integer.
pub const MBA_TYPE_I32: i32 = 5;
/// Element type: unsigned 32-bit integer.
pub const MBA_TYPE_U32: i32 = 6;
/// Element type: signed 64-bit integer.
pub const MBA_TYPE_I64: i32 = 7;
/// Element type: unsigned 64-bit integer.
pub const MBA_TYPE_U64: i32 = 8;
/// Element type: IEEE 754 binary32.
pub const MBA_TYPE_F32: i32 = 9;
/// Element type: IEEE 754 binary64.
pub const MBA_TYPE_F64: i32 = 10;
/// Element type: one byte, 0 or 1.
pub const MBA_TYPE_BOOL: i32 = 11;
/// Element type: two binary32 (real, imaginary).
pub const MBA_TYPE_COMPLEX64: i32 = 12;
/// Element type: two binary64 (real, imaginary).
pub const MBA_TYPE_COMPLEX128: i32 = 13;
/// Element type: IEEE 754 binary16.
pub const MBA_TYPE_F16: i32 = 14;
/// Element type: opaque fixed-size record (a C struct); give its size as
/// mba_options.item_size.
pub const MBA_TYPE_RECORD: i32 = 15;

/// Most row dimensions (mba_options.ndim), fixed by the format.
pub const MBA_MAX_ROW_DIMS: u32 = 8;

/// mba_flush mode: write back and wait. For the whole array, the data is
/// written before the header, and the header's durable length records what
/// reached the disk.
pub const MBA_FLUSH_SYNC: c_int = 1;
/// mba_flush mode: schedule write-back and return.
pub const MBA_FLUSH_ASYNC: c_int = 2;
/// mba_flush mode: invalidate cached copies (MS_INVALIDATE).
pub const MBA_FLUSH_INVALIDATE: c_int = 4;

/// mba_advise: no special treatment.
pub const MBA_ADVISE_NORMAL: c_int = 0;
/// mba_advise: expect random access.
pub const MBA_ADVISE_RANDOM: c_int = 1;
/// mba_advise: expect sequential access.
pub const MBA_ADVISE_SEQUENTIAL: c_int = 2;
/// mba_advise: read ahead now.
pub const MBA_ADVISE_WILLNEED: c_int = 3;

const _: () = {
    assert!(MBA_MAX_ROW_DIMS as usize == format::MAX_ROW_DIMS);
    assert!(MBA_TYPE_RECORD == ElemType::Record as i32 && MBA_TYPE_I8 == ElemType::I8 as i32);
    assert!(
        MBA_TYPE_F16 == ElemType::F16 as i32 && MBA_TYPE_COMPLEX128 == ElemType::Complex128 as i32
    );
    assert!(MBA_FORMAT_MAJOR == format::VERSION_MAJOR as u32);
};

/// Options for mba_open_ex, mba_anon_ex and mba_map_raw. Always initialise
/// with mba_options_init() (which sets struct_size), then change fields.
#[repr(C)]
pub struct mba_options {
    /// sizeof(mba_options), set by mba_options_init. The struct grows at
    /// its end in later versions: a library given a smaller struct (a
    /// program built against an older mba.h) reads the missing fields as 0;
    /// a larger one (a newer mba.h) is accepted when the bytes past the
    /// fields it knows are all zero, else MBA_E_NEWER.
    pub struct_size: u32,
    /// MBA_CREATE, MBA_EXCL, MBA_RDONLY, MBA_COW, MBA_REPLACE, MBA_FOREIGN.
    pub flags: u32,
    /// File mode of a new file or segment; 0 means 0600. Applied exactly
    /// (not masked by the umask).
    pub mode: u32,
    /// Element type (MBA_TYPE_I8 ... MBA_TYPE_RECORD); MBA_TYPE_ANY on open accepts any.
    pub elem_type: i32,
    /// Bytes per element: required for MBA_TYPE_RECORD, else 0 (or the type's size).
    pub item_size: u64,
    /// Number of row dimensions (0 = flat array), at most MBA_MAX_ROW_DIMS.
    pub ndim: u32,
    /// Reserved, must be 0.
    pub reserved0: u32,
    /// Row dimensions: with ndim > 0 every length, capacity and index
    /// counts rows of shape[0] x ... x shape[ndim-1] elements.
    pub shape: [u64; 8],
    /// Creation: zero-filled rows the new array starts with. mba_map_raw:
    /// rows to map (0 = every complete row of the file).
    pub initial_len: u64,
    /// Creation: rows of space to reserve on disk at once.
    pub capacity: u64,
    /// Creation: the largest length the array may ever reach; 0 = 64 GiB
    /// worth of rows (or MBA_RESERVE bytes' worth, see mba_open). Each
    /// handle reserves this much address space.
    pub max_len: u64,
    /// mba_map_raw: byte offset of the first element in the file.
    pub offset: u64,
    /// Optional buffer that receives the detailed error message of a failed
    /// call (NUL-terminated, truncated). Useful where a thread-local last
    /// error cannot be read reliably (Go).
    pub errbuf: *mut c_char,
    /// Size of errbuf in bytes.
    pub errbuf_len: usize,
}

fn elem(t: i32) -> Result<Option<ElemType>> {
    if t == MBA_TYPE_ANY {
        return Ok(None);
    }
    u32::try_from(t)
        .ok()
        .and_then(ElemType::from_code)
        .map(Some)
        .ok_or_else(|| Error::new(Code::Arg, format!("unknown element type {t}")))
}

fn access(flags: u32) -> Result<Access> {
    if flags & !(MBA_CREATE | MBA_EXCL | MBA_RDONLY | MBA_COW | MBA_REPLACE | MBA_FOREIGN) != 0 {
        return Err(Error::new(
            Code::Arg,
            format!("unknown flag bits {flags:#x}"),
        ));
    }
    match (flags & MBA_RDONLY != 0, flags & MBA_COW != 0) {
        (true, true) => Err(Error::new(
            Code::Arg,
            "MBA_RDONLY and MBA_COW exclude each other",
        )),
        (true, false) => Ok(Access::ReadOnly),
        (false, true) => Ok(Access::CopyOnWrite),
        _ => Ok(Access::ReadWrite),
    }
}

fn options(flags: u32, t: i32, o: Option<&mba_options>) -> Result<Options> {
    let acc = access(flags)?;
    let e = elem(t)?;
    let (item, shape) = match o {
        Some(o) => {
            if o.ndim > MBA_MAX_ROW_DIMS {
                return Err(Error::new(
                    Code::Arg,
                    format!("ndim {} exceeds {MBA_MAX_ROW_DIMS}", o.ndim),
                ));
            }
            (o.item_size, o.shape[..o.ndim as usize].to_vec())
        }
        None => (0, Vec::new()),
    };
    let creating = flags & (MBA_CREATE | MBA_REPLACE) != 0;
    let layout = match e {
        // Opening an existing array "of records", of whatever size.
        Some(ElemType::Record) if !creating && item == 0 => None,
        Some(e) => Some(Layout::new(e, item, &shape)?),
        None if creating => {
            return Err(Error::new(
                Code::Arg,
                "creating an array needs an element type",
            ))
        }
        None => None,
    };
    Ok(Options {
        create: flags & MBA_CREATE != 0,
        exclusive: flags & MBA_EXCL != 0,
        replace: flags & MBA_REPLACE != 0,
        foreign: flags & MBA_FOREIGN != 0,
        access: acc,
        mode: o.map_or(0, |o| o.mode),
        expect: e,
        layout,
        initial_len: o.map_or(0, |o| o.initial_len),
        capacity: o.map_or(0, |o| o.capacity),
        max_len: o.map_or(0, |o| o.max_len),
    })
}

/// The caller's options, zero-extended from an older (smaller) struct;
/// a newer (larger) one only if its extra bytes are zero (`MBA_E_NEWER`).
fn opts_ref(p: *const mba_options) -> Result<mba_options> {
    if p.is_null() {
        return Err(Error::new(Code::Null, "options pointer is NULL"));
    }
    // SAFETY: non-NULL; the caller's contract: struct_size readable bytes.
    unsafe { extensible::copy_in(p, "mba_options") }
}

/// Checks the output handle pointer of an opener *before* it opens,
/// creates or replaces anything, so a NULL pointer has no side effect.
fn need_out(out_h: *mut mba_handle) -> Result<()> {
    if out_h.is_null() {
        return Err(Error::new(Code::Null, "output handle pointer is NULL"));
    }
    Ok(())
}

/// A caller's string buffer: NULL only when its length is 0.
fn buf_arg(buf: *mut c_char, len: usize) -> Result<()> {
    if buf.is_null() && len != 0 {
        return Err(Error::new(Code::Null, "buffer pointer is NULL"));
    }
    Ok(())
}

fn publish(a: Array, out_h: *mut mba_handle) -> Result<()> {
    need_out(out_h)?;
    let h = handles::insert(a)?;
    out(out_h, h)
}

/// Runs an open-like call and copies a failure message into opts.errbuf.
fn run_opts(o: *const mba_options, f: impl FnOnce() -> Result<()>) -> c_int {
    let rc = run(f);
    if rc != MBA_OK && !o.is_null() {
        let (_, msg) = boundary::last();
        if let Ok(o) = opts_ref(o) {
            copy_str(&msg, o.errbuf, o.errbuf_len);
        }
    }
    rc
}

// ------------------------------------------------------------------ meta

/// The library version as (major << 16) | (minor << 8) | patch.
/// Thread-safe; never fails.
#[no_mangle]
pub extern "C" fn mba_version() -> u32 {
    (MBA_VERSION_MAJOR << 16) | (MBA_VERSION_MINOR << 8) | MBA_VERSION_PATCH
}

/// The library version as a static NUL-terminated string ("0.2.0").
/// Never NULL; do not free.
#[no_mangle]
pub extern "C" fn mba_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The fixed message of a status code: a static NUL-terminated string,
/// never NULL (unknown codes give "unknown status code"); do not free.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn mba_strerror(code: c_int) -> *const c_char {
    status::message(code).as_ptr().cast()
}

/// Copies the detailed message of the calling thread's last failed call
/// into out_buf (NUL-terminated, truncated to len bytes; out_buf may be NULL when
/// len is 0) and returns that call's status code (MBA_OK if none failed
/// yet). Thread-local: from Go, where goroutines move between threads,
/// use mba_options.errbuf or mba_handle_error instead.
/// Errors: none: it returns the status of the calling thread's last failed call
/// (MBA_OK if none failed), not one of its own.
#[no_mangle]
pub extern "C" fn mba_last_error(out_buf: *mut c_char, len: usize) -> c_int {
    let (code, msg) = boundary::last();
    copy_str(&msg, out_buf, len);
    code
}

/// Copies the detailed message of the last failed call on handle h (from
/// any thread) into out_buf, NUL-terminated and truncated to len bytes (out_buf
/// may be NULL when len is 0). Returns MBA_OK, MBA_E_HANDLE for an invalid
/// handle, or MBA_E_NULL for a NULL out_buf with a non-zero len.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub extern "C" fn mba_handle_error(h: mba_handle, out_buf: *mut c_char, len: usize) -> c_int {
    with(h, |e| {
        buf_arg(out_buf, len)?;
        let m = e.with_error(|m| m.clone());
        copy_str(&m, out_buf, len);
        Ok(())
    })
}

/// Fills *out_opts with defaults (no flags, mode 0600, MBA_TYPE_ANY, flat, default
/// capacity and max_len, no error buffer) and sets out_opts->struct_size.
/// Errors: MBA_E_NULL.
#[no_mangle]
pub extern "C" fn mba_options_init(out_opts: *mut mba_options) -> c_int {
    run(|| {
        out(
            out_opts,
            mba_options {
                struct_size: std::mem::size_of::<mba_options>() as u32,
                flags: 0,
                mode: 0,
                elem_type: MBA_TYPE_ANY,
                item_size: 0,
                ndim: 0,
                reserved0: 0,
                shape: [0; 8],
                initial_len: 0,
                capacity: 0,
                max_len: 0,
                offset: 0,
                errbuf: std::ptr::null_mut(),
                errbuf_len: 0,
            },
        )
    })
}

// -------------------------------------------------------- open and close

/// Opens the array called name, creating it with MBA_CREATE.
///
/// name: "shm://NAME" (a POSIX shared-memory object, /dev/shm/NAME),
/// "file://PATH", or a plain filesystem path.
/// flags: MBA_CREATE, MBA_EXCL, MBA_RDONLY, MBA_COW, MBA_REPLACE,
/// MBA_FOREIGN.
/// type: the element type; when opening an existing array, MBA_TYPE_ANY or the
/// type it must hold (else MBA_E_TYPE); required for MBA_CREATE.
/// A new array is flat, mode 0600, and is initialised under a temporary
/// name before it is linked under name, so no process ever opens a
/// half-initialised array. On success *out receives a new handle, owned by
/// the caller and released with mba_close. Thread-safe.
/// Security (docs/SECURITY.md): the last component of the name is never
/// followed if it is a symbolic link (MBA_E_PERM); MBA_CREATE without
/// MBA_EXCL or MBA_REPLACE (open-or-create) refuses an existing object
/// owned by another user with MBA_E_OWNER unless flags has MBA_FOREIGN;
/// the open gives up after a bounded number of rounds if the name keeps
/// appearing and disappearing (MBA_E_EXISTS), never loops.
/// A file whose data region is sparse (grown with ftruncate by another
/// program): a read-write open allocates the holes (MBA_E_NOSPACE if the
/// filesystem is full; nothing changed), a read-only handle sees only the
/// rows before the first hole.
/// Each handle maps the array's whole reservation, data_offset + max_len
/// x row size bytes of address space (64 GiB for an array created without
/// max_len). The environment variable MBA_RESERVE sets that default for
/// arrays this process creates without max_len (mba_open, mba_open_ex,
/// mba_anon, mba_anon_ex): bytes, optionally followed by K, M, G or T
/// (powers of 1024), from 4K to 64T, e.g. MBA_RESERVE=1G; read once, at
/// the first open. Tools that cannot map 64 GiB at once need it (valgrind
/// refuses such an mmap), and so does a process under an RLIMIT_AS below
/// it (then the open fails with MBA_E_NOMEM and a message naming both).
/// An invalid MBA_RESERVE makes every mba_open, mba_open_ex, mba_anon and
/// mba_anon_ex fail with MBA_E_ARG and a message naming it. An existing
/// array keeps the max_len it was created with.
/// Handles of one process that open the same file (same device and inode,
/// checked with lstat(2) at every open) with the same access share one
/// mapping and descriptor: such an open costs an lstat and an fstat (which
/// re-checks the file size) instead of a new mmap, pointers from both
/// handles are equal, and the memory stays mapped until the last of them
/// (and of their pins) is closed. Each handle keeps its own lock state,
/// errors and lifetime. Read-only handles share only with read-only
/// handles; MBA_COW snapshots never share. A file deleted or replaced under
/// its name is never served from an old mapping, nor is one that another
/// process has shrunk (the open maps the file afresh and validates it).
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_TYPE, MBA_E_NOTMBA, MBA_E_TRUNCATED,
/// MBA_E_CORRUPT, MBA_E_VERSION, MBA_E_FEATURE, MBA_E_BYTEORDER,
/// MBA_E_OVERFLOW, MBA_E_NOTFOUND, MBA_E_EXISTS, MBA_E_OWNER, MBA_E_PERM,
/// MBA_E_READONLY, MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_open(
    name: *const c_char,
    flags: u32,
    elem_type: i32,
    out_h: *mut mba_handle,
) -> c_int {
    run(|| {
        need_out(out_h)?;
        let n = str_arg(name, "name")?;
        publish(shm::open(n, &options(flags, elem_type, None)?)?, out_h)
    })
}

/// mba_open with every option: opts->flags, mode, elem_type, item_size,
/// ndim/shape, initial_len, capacity, max_len (see mba_options). On
/// failure the detailed message is also copied into opts->errbuf.
/// Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_TYPE, MBA_E_NOTMBA, MBA_E_TRUNCATED,
/// MBA_E_CORRUPT, MBA_E_VERSION, MBA_E_FEATURE, MBA_E_BYTEORDER,
/// MBA_E_OVERFLOW, MBA_E_FULL, MBA_E_NOTFOUND, MBA_E_EXISTS, MBA_E_OWNER,
/// MBA_E_PERM, MBA_E_READONLY, MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO,
/// MBA_E_NEWER (opts from a newer mba.h sets fields this library does not
/// know).
#[no_mangle]
pub unsafe extern "C" fn mba_open_ex(
    name: *const c_char,
    opts: *const mba_options,
    out_h: *mut mba_handle,
) -> c_int {
    run_opts(opts, || {
        let o = opts_ref(opts)?;
        let n = str_arg(name, "name")?;
        need_out(out_h)?;
        publish(
            shm::open(n, &options(o.flags, o.elem_type, Some(&o))?)?,
            out_h,
        )
    })
}

/// Creates an anonymous flat array of type elem_type with room for
/// capacity elements (0 = default), backed by a memfd sealed against
/// shrinking. Share it with a child across fork, or pass its descriptor
/// (mba_fd) to another process, which attaches with mba_open_fd.
/// flags: 0 (no flag applies to an anonymous array yet; any other
/// value is MBA_E_ARG, so that later ones are refused by this
/// version). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG (flags not 0, no element type),
/// MBA_E_OVERFLOW, MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_anon(
    flags: u32,
    elem_type: i32,
    capacity: u64,
    out_h: *mut mba_handle,
) -> c_int {
    run(|| {
        need_out(out_h)?;
        if flags != 0 {
            return Err(Error::new(
                Code::Arg,
                format!("mba_anon takes no flags yet, not {flags:#x}"),
            ));
        }
        let mut o = options(MBA_CREATE, elem_type, None)?;
        o.capacity = capacity;
        publish(Array::anon(&o)?, out_h)
    })
}

/// mba_anon with every option (elem_type, item_size, shape, initial_len,
/// capacity, max_len; flags must be 0). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_NEWER (opts from a newer mba.h sets
/// fields this library does not know), MBA_E_OVERFLOW, MBA_E_FULL,
/// MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_anon_ex(opts: *const mba_options, out_h: *mut mba_handle) -> c_int {
    run_opts(opts, || {
        let o = opts_ref(opts)?;
        need_out(out_h)?;
        if o.flags != 0 {
            return Err(Error::new(Code::Arg, "mba_anon_ex takes no flags"));
        }
        publish(
            Array::anon(&options(MBA_CREATE, o.elem_type, Some(&o))?)?,
            out_h,
        )
    })
}

/// Attaches to the array behind the open descriptor fd (a file, a
/// shared-memory object, or a memfd from mba_anon in another process).
/// The descriptor is duplicated: the caller keeps and closes its own.
/// flags: 0, MBA_RDONLY or MBA_COW; elem_type: MBA_TYPE_ANY or the expected
/// type. Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_TYPE, MBA_E_NOTMBA, MBA_E_TRUNCATED,
/// MBA_E_CORRUPT, MBA_E_VERSION, MBA_E_FEATURE, MBA_E_BYTEORDER,
/// MBA_E_OVERFLOW, MBA_E_PERM, MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_open_fd(
    fd: c_int,
    flags: u32,
    elem_type: i32,
    out_h: *mut mba_handle,
) -> c_int {
    run(|| {
        need_out(out_h)?;
        if flags & (MBA_CREATE | MBA_EXCL | MBA_REPLACE | MBA_FOREIGN) != 0 {
            return Err(Error::new(Code::Arg, "mba_open_fd cannot create"));
        }
        publish(Array::from_fd(fd, access(flags)?, elem(elem_type)?)?, out_h)
    })
}

/// Maps an existing raw binary file (no header, e.g. written by another
/// program) as a fixed-length typed array. Uses opts->elem_type (required),
/// item_size, ndim/shape (the row shape), offset (byte offset of the first
/// element), initial_len (rows to map; 0 = every complete row), and
/// flags: 0 (read-write, shared with the file), MBA_RDONLY or MBA_COW
/// (a private copy: the file is opened read-only, so read access suffices).
/// The length never changes: append/extend/insert fail with MBA_E_FULL.
/// Flush writes changes back. Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_NOTFOUND, MBA_E_TRUNCATED (the file
/// holds fewer than initial_len rows), MBA_E_OVERFLOW, MBA_E_PERM (also: path
/// is a symbolic link, never followed), MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_map_raw(
    path: *const c_char,
    opts: *const mba_options,
    out_h: *mut mba_handle,
) -> c_int {
    run_opts(opts, || {
        let o = opts_ref(opts)?;
        let p = str_arg(path, "path")?;
        need_out(out_h)?;
        if o.flags & !(MBA_RDONLY | MBA_COW) != 0 {
            return Err(Error::new(
                Code::Arg,
                "mba_map_raw takes only MBA_RDONLY or MBA_COW",
            ));
        }
        let op = options(o.flags, o.elem_type, Some(&o))?;
        let layout = op
            .layout
            .ok_or_else(|| Error::new(Code::Arg, "mba_map_raw needs an element type"))?;
        let rows = (o.initial_len != 0).then_some(o.initial_len);
        let path = shm::resolve(p)?;
        publish(
            Array::map_raw(&path, &layout, o.offset, rows, op.access)?,
            out_h,
        )
    })
}

/// Closes a handle: releases its lock token and, unless pinned
/// (mba_pin), unmaps its memory; pointers from mba_get_ptr become invalid.
/// If this thread holds the writer lock through mba_lock, it is released.
/// Must not race any other call on the same handle. Closing twice, or
/// closing an invalid handle, returns MBA_E_HANDLE and does nothing else.
/// Errors: MBA_E_HANDLE.
#[no_mangle]
pub extern "C" fn mba_close(h: mba_handle) -> c_int {
    run(|| {
        drop(handles::remove(h)?);
        Ok(())
    })
}

/// Stores the handle's file descriptor in *out_fd. The descriptor stays owned by
/// the library (do not close it or change its flags); it is valid until
/// mba_close, and may be shared with other handles of this process on the
/// same array (see mba_open). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_fd(h: mba_handle, out_fd: *mut c_int) -> c_int {
    with(h, |e| out(out_fd, e.array.fd()))
}

/// Removes the name of an array ("shm://NAME", "file://PATH" or a path).
/// Processes that have it open keep valid memory; new opens fail with
/// MBA_E_NOTFOUND. Refuses a file that is not an mba array
/// (MBA_E_NOTMBA). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_NOTFOUND, MBA_E_NOTMBA, MBA_E_PERM,
/// MBA_E_READONLY, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_unlink(name: *const c_char) -> c_int {
    run(|| shm::unlink(str_arg(name, "name")?))
}

/// Lists the arrays in /dev/shm as "shm://NAME" lines, each ending in
/// '\n', into out_buf (NUL-terminated). *out_needed (may be NULL) receives the
/// bytes required including the NUL; if len is smaller, nothing is written
/// to out_buf and MBA_E_OVERFLOW is returned (out_buf may be NULL when len is 0,
/// to ask for the size; MBA_E_NULL otherwise). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_OVERFLOW (len too small; *out_needed is still
/// written), MBA_E_NOTFOUND, MBA_E_PERM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_list(
    out_buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> c_int {
    run(|| {
        buf_arg(out_buf, len)?;
        let mut s = String::new();
        for n in shm::list()? {
            s.push_str(&n);
            s.push('\n');
        }
        if !out_needed.is_null() {
            out(out_needed, s.len() + 1)?;
        }
        if len < s.len() + 1 || out_buf.is_null() {
            return Err(Error::new(
                Code::Overflow,
                format!("the list needs {} bytes", s.len() + 1),
            ));
        }
        copy_str(&s, out_buf, len);
        Ok(())
    })
}

// ---------------------------------------------------------------- writes
//
// Writes on one handle may run concurrently from several threads, and with
// writes by other handles and processes: they serialise on the array's
// writer lock. Append and extend are atomic under a crash (a killed writer
// leaves the array as before the call); set, write, insert and remove hold
// the lock, but a writer killed inside one may leave it half done.

/// Appends one row (one element of a flat array) copied from row, which
/// must hold mba_row_size() bytes. Visible to every process when it
/// returns. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE,
/// MBA_E_NOMEM (also: a memory-backed array would outgrow the memory left; the
/// array is unchanged), MBA_E_TRUNCATED (another process shrank the file),
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_append(h: mba_handle, row: *const c_void) -> c_int {
    if !row.is_null() {
        if let Some(e) = handles::get_fast(h) {
            // SAFETY: row is valid for one row per the contract; the fast
            // path cannot panic, so it may run outside the boundary.
            if unsafe { e.array.try_append_fast(row.cast()) } {
                return MBA_OK;
            }
        }
    }
    with(h, |e| {
        buf(row, 1)?;
        // SAFETY: row is valid for one row per the contract.
        unsafe { e.array.append_raw(row.cast()) }
    })
}

/// Like mba_append, but never waits and never grows: returns MBA_E_BUSY
/// (having changed nothing) whenever the append cannot complete at once
/// (lock held by another writer, growth needed, first write of the handle
/// or after fork, read-only, invalid handle or NULL row); the caller then
/// calls mba_append, which waits or reports the error. For callers that
/// must not block: that hold a lock of their own (an interpreter lock
/// such as Python's GIL), run an event loop, or have a deadline.
/// Thread-safe.
/// Errors: MBA_E_BUSY (for every case it cannot complete at once, errors
/// included: it never reports another code).
#[no_mangle]
pub unsafe extern "C" fn mba_try_append(h: mba_handle, row: *const c_void) -> c_int {
    if !row.is_null() {
        if let Some(e) = handles::get_fast(h) {
            // SAFETY: row is valid for one row per the contract; the fast
            // path cannot panic.
            if unsafe { e.array.try_append_fast(row.cast()) } {
                return MBA_OK;
            }
        }
    }
    MBA_E_BUSY
}

/// Appends n rows copied from src (n * mba_row_size() bytes) in one
/// all-or-nothing step. src may be NULL when n is 0. Extends of 4 MiB or
/// more are written through the file (pwrite: no zeroing of new pages, no
/// page faults in the caller), which also turns an unreadable src into
/// MBA_E_ARG instead of a crash. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_ARG (unreadable src),
/// MBA_E_READONLY, MBA_E_OVERFLOW, MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM
/// (also: a memory-backed array would outgrow the memory left; the array is
/// unchanged), MBA_E_TRUNCATED (another process shrank the file), MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_extend(h: mba_handle, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.extend_raw(src.cast(), n) }
    })
}

/// The panic-free fast path shared by the typed appends: looks the handle
/// up and appends the element bits `bits` gives, if any. `false` (nothing
/// changed) sends the caller to its general path.
#[inline(always)]
fn fast_typed(h: mba_handle, bits: impl FnOnce(&Array) -> Option<u64>) -> bool {
    let Some(e) = handles::get_fast(h) else {
        return false;
    };
    let Some(b) = bits(&e.array) else {
        return false;
    };
    // SAFETY: `b` holds 8 bytes, and int_bits/f64_bits only give bits for
    // flat arrays of rows of at most 8 bytes; the fast path cannot panic.
    unsafe { e.array.try_append_fast((&b as *const u64).cast()) }
}

/// Appends a signed 64-bit integer, converted (range-checked) to the element
/// type of a flat numeric array. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_READONLY,
/// MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would
/// outgrow the memory left; the array is unchanged), MBA_E_TRUNCATED (another
/// process shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token).
#[no_mangle]
pub extern "C" fn mba_append_i64(h: mba_handle, v: i64) -> c_int {
    if fast_typed(h, |a| a.int_bits(v as i128)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_int(v as i128))
}

/// Appends an unsigned 64-bit integer, converted (range-checked) to the
/// element type of a flat numeric array. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_READONLY,
/// MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would
/// outgrow the memory left; the array is unchanged), MBA_E_TRUNCATED (another
/// process shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token).
#[no_mangle]
pub extern "C" fn mba_append_u64(h: mba_handle, v: u64) -> c_int {
    if fast_typed(h, |a| a.int_bits(v as i128)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_int(v as i128))
}

/// Appends a double to a flat f32 or f64 array (MBA_E_TYPE otherwise).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE,
/// MBA_E_NOMEM (also: a memory-backed array would outgrow the memory left; the
/// array is unchanged), MBA_E_TRUNCATED (another process shrank the file),
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_append_f64(h: mba_handle, v: f64) -> c_int {
    if fast_typed(h, |a| a.f64_bits(v)) {
        return MBA_OK;
    }
    with(h, |e| e.array.append_f64(v))
}

/// Removes the last row; copies it to out unless out is NULL.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_EMPTY, MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_pop(h: mba_handle, out_row: *mut c_void) -> c_int {
    // SAFETY: a non-NULL out_row is valid for one row per the contract.
    with(h, |e| unsafe { e.array.pop_raw(out_row.cast()) })
}

/// Overwrites row i with the row at src. Holds the writer lock.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_set(h: mba_handle, i: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, 1)?;
        // SAFETY: src is valid for one row per the contract.
        unsafe { e.array.write_raw(i, 1, src.cast()) }
    })
}

/// Overwrites rows [start, start+n) from src. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_write(h: mba_handle, start: u64, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.write_raw(start, n, src.cast()) }
    })
}

/// Sets element i of a flat numeric array to v (range-checked).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_INDEX,
/// MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token), MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_i64(h: mba_handle, i: u64, v: i64) -> c_int {
    with(h, |e| e.array.set_int(i, v as i128))
}

/// Sets element i of a flat numeric array to v (range-checked).
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_OVERFLOW, MBA_E_INDEX,
/// MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock
/// token), MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_u64(h: mba_handle, i: u64, v: u64) -> c_int {
    with(h, |e| e.array.set_int(i, v as i128))
}

/// Sets element i of a flat f32 or f64 array to v. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_TYPE, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_set_f64(h: mba_handle, i: u64, v: f64) -> c_int {
    with(h, |e| e.array.set_f64(i, v))
}

/// Inserts n rows from src before row i (i == length appends). src must
/// not point into this array. Not crash-atomic. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_OVERFLOW,
/// MBA_E_READONLY, MBA_E_FULL, MBA_E_NOSPACE, MBA_E_NOMEM (also: a
/// memory-backed array would outgrow the memory left; the array is unchanged),
/// MBA_E_TRUNCATED (another process shrank the file), MBA_E_IO, MBA_E_PERM,
/// MBA_E_BUSY (no free lock token).
#[no_mangle]
pub unsafe extern "C" fn mba_insert(h: mba_handle, i: u64, n: u64, src: *const c_void) -> c_int {
    with(h, |e| {
        buf(src, n)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: src is valid for n rows per the contract.
        unsafe { e.array.insert_raw(i, src.cast(), n) }
    })
}

/// Removes rows [i, i+n). Not crash-atomic. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_INDEX, MBA_E_READONLY, MBA_E_NOMEM, MBA_E_IO,
/// MBA_E_PERM, MBA_E_BUSY (no free lock token),
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_remove(h: mba_handle, i: u64, n: u64) -> c_int {
    with(h, |e| e.array.remove(i, n))
}

/// Lowers the length to n rows (no effect if it is already n or less).
/// Never shrinks the file. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_TRUNCATED (another process
/// shrank the file below the capacity: checked with fstat first), MBA_E_NOMEM,
/// MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_truncate(h: mba_handle, n: u64) -> c_int {
    with(h, |e| e.array.truncate(n))
}

/// Sets the length to 0. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_TRUNCATED (as mba_truncate),
/// MBA_E_NOMEM, MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_clear(h: mba_handle) -> c_int {
    with(h, |e| e.array.clear())
}

/// Reserves disk or memory space for at least n rows (allocated for real,
/// so later appends cannot hit SIGBUS; holes that another program left
/// with ftruncate are allocated too). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_FULL (above max_len),
/// MBA_E_NOSPACE, MBA_E_NOMEM (also: a memory-backed array would outgrow the
/// memory left; the array is unchanged), MBA_E_TRUNCATED (another process
/// shrank the file), MBA_E_IO, MBA_E_PERM, MBA_E_BUSY (no free lock token).
#[no_mangle]
pub extern "C" fn mba_reserve(h: mba_handle, n: u64) -> c_int {
    with(h, |e| e.array.reserve(n))
}

// ----------------------------------------------------------------- reads
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
        out(
            out_v,
            i64::try_from(v)
                .map_err(|_| Error::new(Code::Overflow, format!("{v} does not fit int64_t")))?,
        )
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
        out(
            out_v,
            u64::try_from(v)
                .map_err(|_| Error::new(Code::Overflow, format!("{v} does not fit uint64_t")))?,
        )
    })
}

/// Stores element i of a flat real numeric array, converted to double, in
/// *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_INDEX, MBA_E_TYPE,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_get_f64(h: mba_handle, i: u64, out_v: *mut f64) -> c_int {
    with(h, |e| out(out_v, e.array.get_f64(i)?))
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
    with(h, |e| out(out_n, e.array.try_len()?))
}

/// Stores the capacity in rows (space really allocated) in *out.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_capacity(h: mba_handle, out_n: *mut u64) -> c_int {
    with(h, |e| out(out_n, e.array.try_capacity()?))
}

/// Stores the largest length the array can reach in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_max_len(h: mba_handle, out_n: *mut u64) -> c_int {
    with(h, |e| out(out_n, e.array.max_len()))
}

/// Stores the element type code (MBA_TYPE_I8 ... MBA_TYPE_RECORD) in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_elem_type(h: mba_handle, out_type: *mut i32) -> c_int {
    with(h, |e| out(out_type, e.array.layout().elem as i32))
}

/// Stores the size of one element (not row) in bytes in *out. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_item_size(h: mba_handle, out_n: *mut u64) -> c_int {
    with(h, |e| out(out_n, e.array.layout().item_size))
}

/// Stores the size of one row in bytes in *out (item size times the product
/// of the row shape). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_row_size(h: mba_handle, out_n: *mut u64) -> c_int {
    with(h, |e| out(out_n, e.array.row_bytes()))
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
        out(out_ndim, s.len() as u32)
    })
}

fn handle_flags(a: &Array) -> u32 {
    let mut f = 0;
    if !a.is_writable() {
        f |= MBA_RDONLY;
    }
    if a.is_private() {
        f |= MBA_COW;
    }
    if a.kind() == Kind::Raw {
        f |= MBA_RAW;
    }
    f
}

/// Stores the handle's flags in *out: MBA_RDONLY, MBA_COW (private copy-on-write,
/// also of a raw file), MBA_RAW.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_flags(h: mba_handle, out_flags: *mut u32) -> c_int {
    with(h, |e| out(out_flags, handle_flags(&e.array)))
}

/// Everything about a handle in one call (filled by mba_describe).
#[repr(C)]
pub struct mba_info {
    /// Set by the caller to sizeof(mba_info) before calling mba_describe,
    /// which fills at most that many bytes (an older caller's smaller
    /// struct gets only the fields it has; a newer caller's larger one
    /// only ours) and sets it to the number of bytes it filled.
    pub struct_size: u32,
    /// Element type code (MBA_TYPE_I8 ... MBA_TYPE_RECORD).
    pub elem_type: i32,
    /// MBA_RDONLY, MBA_COW, MBA_RAW (as mba_flags).
    pub flags: u32,
    /// Number of row dimensions.
    pub ndim: u32,
    /// Bytes per element.
    pub item_size: u64,
    /// Bytes per row.
    pub row_size: u64,
    /// Row dimensions; entries past ndim are 0.
    pub shape: [u64; 8],
    /// Capacity in rows when the call ran (as mba_capacity).
    pub capacity: u64,
    /// Largest length the array can reach (as mba_max_len).
    pub max_len: u64,
    /// Identity (as mba_uuid).
    pub uuid: u64,
    /// First element (as mba_get_ptr).
    pub data: *mut c_void,
    /// The length word (as mba_len_ptr).
    pub len_ptr: *const u64,
    /// The handle's descriptor (as mba_fd; owned by the library).
    pub fd: c_int,
    /// Reserved, 0.
    pub reserved0: c_int,
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
    with(h, |e| out(out_uuid, e.array.uuid()))
}

/// Stores the address of the first element in *out. It stays valid, and
/// the same, for the life of the handle (or of a pin): growth never moves
/// it. Only rows below mba_len are meaningful; other processes may write
/// them (read with care: no locks are taken). Read-only handles give
/// read-only memory. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_get_ptr(h: mba_handle, out_p: *mut *mut c_void) -> c_int {
    with(h, |e| out(out_p, e.array.as_ptr().cast()))
}

/// Stores the address of the header's 64-bit length word in *out (for
/// raw and copy-on-write handles, a private copy). Read it with an acquire
/// load (any aligned 8-byte load on x86-64 and arm64 with a barrier) and
/// clamp it to mba_capacity before use. Valid until mba_close (a pin keeps
/// the elements mapped, not this word).
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_len_ptr(h: mba_handle, out_p: *mut *const u64) -> c_int {
    with(h, |e| out(out_p, e.array.len_ptr()))
}

static PINS: crate::lock::ForkLock<Vec<Option<Arc<crate::array::Mapping>>>> =
    crate::lock::ForkLock::new(Vec::new());

/// Pins the handle's mapping: it stays mapped, and mba_get_ptr addresses
/// stay valid, until mba_unpin(*out_pin), even after mba_close. Used by
/// bindings whose views may outlive the handle. *out_pin is a positive id.
/// Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL.
#[no_mangle]
pub unsafe extern "C" fn mba_pin(h: mba_handle, out_pin: *mut i32) -> c_int {
    with(h, |e| {
        if out_pin.is_null() {
            return Err(Error::new(Code::Null, "out_pin pointer is NULL"));
        }
        let m = Some(e.array.mapping());
        let id = PINS.with(|p| match p.iter().position(Option::is_none) {
            Some(i) => {
                p[i] = m;
                i
            }
            None => {
                p.push(m);
                p.len() - 1
            }
        });
        out(out_pin, id as i32 + 1)
    })
}

/// Releases a pin from mba_pin; unmaps the memory if no handle or other
/// pin uses it. MBA_E_HANDLE for an unknown or already released pin.
/// Thread-safe.
/// Errors: MBA_E_HANDLE (unknown or released pin).
#[no_mangle]
pub extern "C" fn mba_unpin(pin: i32) -> c_int {
    run(|| {
        let slot = PINS.with(|p| {
            pin.checked_sub(1)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| p.get_mut(i))
                .and_then(Option::take)
        });
        // The mapping (if this was its last user) is unmapped here, after
        // the lock is released.
        match slot {
            Some(m) => {
                drop(m);
                Ok(())
            }
            None => Err(Error::new(Code::Handle, format!("invalid pin {pin}"))),
        }
    })
}

// --------------------------------------------------- flush and memory

fn flush_mode(mode: c_int) -> Result<Flush> {
    match mode {
        MBA_FLUSH_SYNC => Ok(Flush::Sync),
        MBA_FLUSH_ASYNC => Ok(Flush::Async),
        MBA_FLUSH_INVALIDATE => Ok(Flush::Invalidate),
        m => Err(Error::new(Code::Arg, format!("unknown flush mode {m}"))),
    }
}

/// Writes the whole array back to its file: mode MBA_FLUSH_SYNC (data, then the
/// header with its durable length; waits), MBA_FLUSH_ASYNC or MBA_FLUSH_INVALIDATE.
/// A no-op for copy-on-write handles. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG (unknown mode), MBA_E_TRUNCATED (another
/// process shrank the file: checked with fstat first), MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_flush(h: mba_handle, mode: c_int) -> c_int {
    with(h, |e| e.array.flush(0, None, flush_mode(mode)?))
}

/// Writes rows [start, start+n) back (and the header). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG, MBA_E_INDEX, MBA_E_TRUNCATED, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_flush_range(h: mba_handle, start: u64, n: u64, mode: c_int) -> c_int {
    with(h, |e| e.array.flush(start, Some(n), flush_mode(mode)?))
}

/// Locks the allocated elements into RAM (mlock). May fail with
/// MBA_E_NOMEM or MBA_E_PERM under RLIMIT_MEMLOCK. The lock belongs to the
/// mapping, which handles of this process on the same array and access
/// share (see mba_open). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_mlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.mlock())
}

/// Undoes mba_mlock (for every handle sharing the mapping). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_munlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.munlock())
}

/// Gives the kernel an access hint for the elements: MBA_ADVISE_NORMAL,
/// _RANDOM, _SEQUENTIAL or _WILLNEED. Never changes contents. The hint
/// applies to the mapping, shared by the handles of this process on the
/// same array and access (see mba_open). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_ARG, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub extern "C" fn mba_advise(h: mba_handle, advice: c_int) -> c_int {
    with(h, |e| {
        let a = match advice {
            MBA_ADVISE_NORMAL => libc::MADV_NORMAL,
            MBA_ADVISE_RANDOM => libc::MADV_RANDOM,
            MBA_ADVISE_SEQUENTIAL => libc::MADV_SEQUENTIAL,
            MBA_ADVISE_WILLNEED => libc::MADV_WILLNEED,
            a => return Err(Error::new(Code::Arg, format!("unknown advice {a}"))),
        };
        e.array.advise(a)
    })
}

// ------------------------------------------------------ locking, waiting

/// Takes the array's writer lock for a batch: until mba_unlock, writes by
/// the calling thread through h skip locking (the single-writer fast path),
/// while other threads and processes wait. Waiters (mba_wait) are woken at
/// mba_unlock. If the holder dies, the lock is recovered by the next writer.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_BUSY (this thread holds it
/// already), MBA_E_NOMEM, MBA_E_PERM, MBA_E_IO,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_lock(h: mba_handle) -> c_int {
    with(h, |e| e.array.lock())
}

/// Like mba_lock but returns MBA_E_BUSY at once if another writer holds it.
/// Errors: MBA_E_HANDLE, MBA_E_READONLY, MBA_E_BUSY, MBA_E_NOMEM, MBA_E_PERM,
/// MBA_E_IO, MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_try_lock(h: mba_handle) -> c_int {
    with(h, |e| e.array.try_lock())
}

/// Releases the lock taken by mba_lock and wakes waiters.
/// Errors: MBA_E_HANDLE, MBA_E_NOTLOCKED,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub extern "C" fn mba_unlock(h: mba_handle) -> c_int {
    with(h, |e| e.array.unlock())
}

/// Stores the array's change counter in *out: a 64-bit count that grows
/// with every change (append, set, pop, truncate...) and never goes back.
/// Pass it to mba_wait. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_seq(h: mba_handle, out_seq: *mut u64) -> c_int {
    with(h, |e| out(out_seq, e.array.try_seq()?))
}

/// Blocks until the change counter differs from seen, then stores it in
/// *out_seq (may be NULL). timeout_ns < 0 waits forever; 0 only checks.
/// Returns MBA_E_TIMEOUT when the time passes, MBA_E_INTR when a signal
/// handler runs while the call sleeps (so callers can act on it),
/// MBA_E_NOTSUP for copy-on-write and raw handles, MBA_E_TRUNCATED when,
/// before a sleep, the file turns out shrunk by another process (checked
/// with fstat before each sleep). It first polls for a
/// few microseconds; then read-write handles sleep on a futex and wake
/// within microseconds, while read-only handles, which cannot register as
/// waiters, sleep in slices of at most 1 ms. A signal that arrives while
/// the call is between sleeps runs its handler but does not end the wait
/// (as with any blocking call without a signal mask): callers that must
/// react to signals promptly should wait with a finite timeout in a loop
/// (the Python binding uses 100 ms). Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NOTSUP, MBA_E_TIMEOUT, MBA_E_INTR,
/// MBA_E_TRUNCATED, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_wait(
    h: mba_handle,
    seen: u64,
    timeout_ns: i64,
    out_seq: *mut u64,
) -> c_int {
    with(h, |e| {
        let t = (timeout_ns >= 0).then(|| Duration::from_nanos(timeout_ns as u64));
        let s = e.array.wait(seen, t)?;
        if !out_seq.is_null() {
            out(out_seq, s)?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------- python

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
            Ok(spec) => out(out_spec, spec),
            Err(msg) => Err(Error::new(Code::Arg, msg)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn path(tag: &str) -> CString {
        let d = std::env::temp_dir().join(format!(
            "mba-ffi-unit-{tag}-{}-{:x}",
            std::process::id(),
            crate::sys::random_u64()
        ));
        CString::new(d.to_str().unwrap()).unwrap()
    }

    #[test]
    fn null_out_handle_has_no_side_effect() {
        let p = path("nullout");
        let mut h = 0;
        // SAFETY: valid string and out-pointer, or NULL where tested.
        unsafe {
            assert_eq!(
                mba_open(p.as_ptr(), MBA_CREATE, MBA_TYPE_U32, &mut h),
                MBA_OK
            );
            assert_eq!(mba_append_i64(h, 5), MBA_OK);
            let n = std::ptr::null_mut();
            assert_eq!(
                mba_open(p.as_ptr(), MBA_REPLACE, MBA_TYPE_I64, n),
                MBA_E_NULL
            );
            let q = path("nullout-new");
            assert_eq!(
                mba_open(q.as_ptr(), MBA_CREATE, MBA_TYPE_I64, n),
                MBA_E_NULL
            );
            assert!(!std::path::Path::new(q.to_str().unwrap()).exists());
            assert_eq!(mba_anon(0, MBA_TYPE_U8, 0, n), MBA_E_NULL);
            let mut h2 = 0;
            assert_eq!(mba_open(p.as_ptr(), 0, MBA_TYPE_U32, &mut h2), MBA_OK);
            let mut len = 0;
            assert_eq!(mba_len(h2, &mut len), MBA_OK);
            assert_eq!(len, 1, "the array was not replaced");
            assert_eq!(mba_close(h2), MBA_OK);
        }
        assert_eq!(mba_close(h), MBA_OK);
        std::fs::remove_file(p.to_str().unwrap()).unwrap();
    }

    #[test]
    fn open_existing_records_by_type_and_item_size() {
        let p = path("records");
        // SAFETY: valid strings, options and out-pointers.
        unsafe {
            let mut o: mba_options = std::mem::zeroed();
            assert_eq!(mba_options_init(&mut o), MBA_OK);
            o.flags = MBA_CREATE;
            o.elem_type = MBA_TYPE_RECORD;
            o.item_size = 16;
            let (mut h, mut g) = (0, 0);
            assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut h), MBA_OK);
            assert_eq!(mba_open(p.as_ptr(), 0, MBA_TYPE_RECORD, &mut g), MBA_OK);
            assert_eq!(mba_close(g), MBA_OK);
            o.flags = 0;
            assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_OK);
            assert_eq!(mba_close(g), MBA_OK);
            o.item_size = 24;
            assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_E_TYPE);
            o.flags = MBA_CREATE;
            assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_E_TYPE);
            assert_eq!(
                mba_open(p.as_ptr(), MBA_CREATE, MBA_TYPE_RECORD, &mut g),
                MBA_E_ARG
            );
            assert_eq!(mba_close(h), MBA_OK);
        }
        std::fs::remove_file(p.to_str().unwrap()).unwrap();
    }

    #[test]
    fn null_buffers_and_odd_pins() {
        let mut h = 0;
        // SAFETY: valid out-pointers, or NULL where tested.
        unsafe {
            assert_eq!(
                mba_list(std::ptr::null_mut(), 64, std::ptr::null_mut()),
                MBA_E_NULL
            );
            assert_eq!(mba_anon(0, MBA_TYPE_U8, 0, &mut h), MBA_OK);
            assert_eq!(mba_handle_error(h, std::ptr::null_mut(), 8), MBA_E_NULL);
            assert_eq!(mba_handle_error(h, std::ptr::null_mut(), 0), MBA_OK);
            let mut o = mba_options {
                ..std::mem::zeroed()
            };
            assert_eq!(mba_options_init(&mut o), MBA_OK);
            o.elem_type = MBA_TYPE_U8;
            o.ndim = 2;
            o.shape[0] = 2;
            o.shape[1] = 3;
            let mut s = 0;
            assert_eq!(mba_anon_ex(&o, &mut s), MBA_OK);
            let mut dims = [7u64; 2];
            assert_eq!(
                mba_shape(s, dims.as_mut_ptr(), 2, std::ptr::null_mut()),
                MBA_E_NULL
            );
            assert_eq!(dims, [7, 7], "out-parameters are written only on success");
            assert_eq!(mba_close(s), MBA_OK);
        }
        assert_eq!(mba_unpin(i32::MIN), MBA_E_HANDLE);
        assert_eq!(mba_unpin(0), MBA_E_HANDLE);
        assert_eq!(mba_close(h), MBA_OK);
    }
}

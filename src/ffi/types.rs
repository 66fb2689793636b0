//! The C ABI's constants (flags, element types, flush and advice modes),
//! its two extensible structs (`mba_options`, `mba_info`) and the
//! conversions from them to the Rust API's options.

use super::*;

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
pub const MBA_VERSION_MINOR: u32 = 3;
/// Patch version of the library.
pub const MBA_VERSION_PATCH: u32 = 1;
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

pub(super) fn elem(t: i32) -> Result<Option<ElemType>> {
    if t == MBA_TYPE_ANY {
        return Ok(None);
    }
    u32::try_from(t)
        .ok()
        .and_then(ElemType::from_code)
        .map(Some)
        .ok_or_else(|| Error::new(Code::Arg, format!("unknown element type {t}")))
}

pub(super) fn access(flags: u32) -> Result<Access> {
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

pub(super) fn options(flags: u32, t: i32, o: Option<&mba_options>) -> Result<Options> {
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
///
/// # Safety
/// `p` is NULL or points to `struct_size` readable bytes of an
/// `mba_options`.
pub(super) unsafe fn opts_ref(p: *const mba_options) -> Result<mba_options> {
    if p.is_null() {
        return Err(Error::new(Code::Null, "options pointer is NULL"));
    }
    // SAFETY: non-NULL; the caller's contract: struct_size readable bytes.
    unsafe { extensible::copy_in(p, "mba_options") }
}

/// Checks the output handle pointer of an opener *before* it opens,
/// creates or replaces anything, so a NULL pointer has no side effect.
pub(super) fn need_out(out_h: *mut mba_handle) -> Result<()> {
    if out_h.is_null() {
        return Err(Error::new(Code::Null, "output handle pointer is NULL"));
    }
    Ok(())
}

/// A caller's string buffer: NULL only when its length is 0.
pub(super) fn buf_arg(buf: *mut c_char, len: usize) -> Result<()> {
    if buf.is_null() && len != 0 {
        return Err(Error::new(Code::Null, "buffer pointer is NULL"));
    }
    Ok(())
}

/// Registers `a` as a new handle and stores it in *out_h.
///
/// # Safety
/// `out_h` is NULL or valid for a write of an `mba_handle`.
pub(super) unsafe fn publish(a: Array, out_h: *mut mba_handle) -> Result<()> {
    need_out(out_h)?;
    let h = handles::insert(a)?;
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    unsafe { out(out_h, h) }
}

/// The common shape of mba_open_ex, mba_anon_ex and mba_map_raw: reads the
/// caller's options, checks the output pointer before anything is opened,
/// runs `open` and publishes its array as a new handle; a failure's message
/// also goes to opts.errbuf.
///
/// # Safety
/// As [`run_opts`] for `opts`; `out_h` is NULL or writable.
pub(super) unsafe fn open_with_opts(
    opts: *const mba_options,
    out_h: *mut mba_handle,
    open: impl FnOnce(&mba_options) -> Result<Array>,
) -> c_int {
    let body = || {
        // SAFETY: C caller's options: NULL refused, else struct_size bytes.
        let o = unsafe { opts_ref(opts) }?;
        need_out(out_h)?;
        let a = open(&o)?;
        // SAFETY: out_h from the C caller: NULL refused, else writable.
        unsafe { publish(a, out_h) }
    };
    // SAFETY: opts as this function's contract.
    unsafe { run_opts(opts, body) }
}

/// Runs an open-like call and copies a failure message into opts.errbuf.
///
/// # Safety
/// `o` is NULL or an `mba_options` of `struct_size` readable bytes whose
/// `errbuf` is NULL or valid for `errbuf_len` bytes.
pub(super) unsafe fn run_opts(o: *const mba_options, f: impl FnOnce() -> Result<()>) -> c_int {
    let rc = run(f);
    if rc != MBA_OK && !o.is_null() {
        let (_, msg) = boundary::last();
        // SAFETY: C caller's options: NULL refused, else struct_size bytes.
        if let Ok(o) = unsafe { opts_ref(o) } {
            // SAFETY: C caller's buffer: NULL or valid for `len` bytes.
            unsafe { copy_str(&msg, o.errbuf, o.errbuf_len) };
        }
    }
    rc
}

pub(super) fn handle_flags(a: &Array) -> u32 {
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

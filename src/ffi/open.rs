//! Opening, creating, attaching and closing arrays; names and listing.

use super::*;

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
        // SAFETY: C caller's string: NULL refused, else NUL-terminated.
        let n = unsafe { str_arg(name, "name") }?;
        // SAFETY: out_h from the C caller: NULL refused, else writable.
        unsafe { publish(shm::open(n, &options(flags, elem_type, None)?)?, out_h) }
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
    let open = |o: &mba_options| {
        // SAFETY: C caller's string: NULL refused, else NUL-terminated.
        let n = unsafe { str_arg(name, "name") }?;
        shm::open(n, &options(o.flags, o.elem_type, Some(o))?)
    };
    // SAFETY: opts and out_h from the C caller (this function's contract).
    unsafe { open_with_opts(opts, out_h, open) }
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
        // SAFETY: out_h from the C caller: NULL refused, else writable.
        unsafe { publish(Array::anon(&o)?, out_h) }
    })
}

/// mba_anon with every option (elem_type, item_size, shape, initial_len,
/// capacity, max_len; flags must be 0). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_NEWER (opts from a newer mba.h sets
/// fields this library does not know), MBA_E_OVERFLOW, MBA_E_FULL,
/// MBA_E_NOSPACE, MBA_E_NOMEM, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_anon_ex(opts: *const mba_options, out_h: *mut mba_handle) -> c_int {
    let open = |o: &mba_options| {
        if o.flags != 0 {
            return Err(Error::new(Code::Arg, "mba_anon_ex takes no flags"));
        }
        Array::anon(&options(MBA_CREATE, o.elem_type, Some(o))?)
    };
    // SAFETY: opts and out_h from the C caller (this function's contract).
    unsafe { open_with_opts(opts, out_h, open) }
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
        // SAFETY: out_h from the C caller: NULL refused, else writable.
        unsafe { publish(Array::from_fd(fd, access(flags)?, elem(elem_type)?)?, out_h) }
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
    let open = |o: &mba_options| {
        // SAFETY: C caller's string: NULL refused, else NUL-terminated.
        let p = unsafe { str_arg(path, "path") }?;
        if o.flags & !(MBA_RDONLY | MBA_COW) != 0 {
            return Err(Error::new(
                Code::Arg,
                "mba_map_raw takes only MBA_RDONLY or MBA_COW",
            ));
        }
        let op = options(o.flags, o.elem_type, Some(o))?;
        let layout = op
            .layout
            .ok_or_else(|| Error::new(Code::Arg, "mba_map_raw needs an element type"))?;
        let rows = (o.initial_len != 0).then_some(o.initial_len);
        let path = shm::resolve(p)?;
        Array::map_raw(&path, &layout, o.offset, rows, op.access)
    };
    // SAFETY: opts and out_h from the C caller (this function's contract).
    unsafe { open_with_opts(opts, out_h, open) }
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
    // SAFETY: out-pointer from the C caller: NULL refused, else writable.
    with(h, |e| unsafe { out(out_fd, e.array.fd()) })
}

/// Removes the name of an array ("shm://NAME", "file://PATH" or a path).
/// Processes that have it open keep valid memory; new opens fail with
/// MBA_E_NOTFOUND. Refuses a file that is not an mba array
/// (MBA_E_NOTMBA). Thread-safe.
/// Errors: MBA_E_NULL, MBA_E_ARG, MBA_E_NOTFOUND, MBA_E_NOTMBA, MBA_E_PERM,
/// MBA_E_READONLY, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_unlink(name: *const c_char) -> c_int {
    // SAFETY: C caller's string: NULL refused, else NUL-terminated.
    run(|| shm::unlink(unsafe { str_arg(name, "name") }?))
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
            // SAFETY: out-pointer from the C caller: NULL refused, else writable.
            unsafe { out(out_needed, s.len() + 1) }?;
        }
        if len < s.len() + 1 || out_buf.is_null() {
            return Err(Error::new(
                Code::Overflow,
                format!("the list needs {} bytes", s.len() + 1),
            ));
        }
        // SAFETY: C caller's buffer: NULL or valid for `len` bytes.
        unsafe { copy_str(&s, out_buf, len) };
        Ok(())
    })
}

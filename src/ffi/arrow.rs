//! Export to Apache Arrow: the C data interface (ArrowSchema, ArrowArray)
//! and the C stream interface (ArrowArrayStream), zero-copy by default.
//! The building of schemas and arrays is in `arrow_build.rs`, the stream in
//! `arrow_stream.rs`; this file holds the C structs and the two exports
//! (cbindgen reads only this one). See docs/ARROW.md.

use super::arrow_build::{export_array, export_schema, Desc};
use super::arrow_stream::new_stream;
use super::*;

/// Arrow export flag: copy the elements into memory the library allocates
/// and frees (an immutable snapshot) instead of pointing into the mapping.
/// Required for MBA_TYPE_BOOL arrays (Arrow's booleans are bits, libmba's
/// are bytes: the copy packs them).
pub const MBA_ARROW_COPY: u32 = 2048;
/// Arrow export flag, mba_export_arrow_stream only: a live stream that
/// tails the array (each get_next returns the rows published since the
/// previous batch, waiting up to timeout_ns for new ones, then ends).
pub const MBA_ARROW_LIVE: u32 = 4096;
/// Arrow export flag: export a struct with the array as its one child
/// field (a record batch of one column), the form engines such as DuckDB
/// and Polars take as a table. Without it the array is exported as itself.
pub const MBA_ARROW_STRUCT: u32 = 8192;

/// The Arrow C data interface's schema, exactly as the Arrow specification
/// defines it (docs/format/CDataInterface in the Arrow documentation), in
/// the specification's ARROW_C_DATA_INTERFACE include guard so that it
/// coexists with Arrow's own headers (abi.h, nanoarrow). The producer (the
/// library) fills it; the consumer owns it and must call release once it
/// is done (release sets release to NULL; it releases the children that
/// have not been moved out).
#[repr(C)]
pub struct ArrowSchema {
    /// Type description ("i", "+w:3", "+s"...); owned by the producer.
    pub format: *const c_char,
    /// Field name (may be NULL); owned by the producer.
    pub name: *const c_char,
    /// Key/value metadata in Arrow's binary encoding (may be NULL).
    pub metadata: *const c_char,
    /// ARROW_FLAG_* bits (libmba sets none: no field is nullable).
    pub flags: i64,
    /// Number of children.
    pub n_children: i64,
    /// The children (n_children pointers).
    pub children: *mut *mut ArrowSchema,
    /// The dictionary's schema (always NULL here).
    pub dictionary: *mut ArrowSchema,
    /// Frees what the producer allocated; NULL once released.
    pub release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    /// The producer's data.
    pub private_data: *mut c_void,
}

/// The Arrow C data interface's array, exactly as the Arrow specification
/// defines it (in the same ARROW_C_DATA_INTERFACE guard as ArrowSchema).
/// Ownership as for ArrowSchema: the consumer calls release once; a child
/// may be moved out (copy the struct, set the original's release to NULL)
/// and released on its own.
#[repr(C)]
pub struct ArrowArray {
    /// Number of items (rows at the top level).
    pub length: i64,
    /// Number of nulls (always 0 here).
    pub null_count: i64,
    /// Logical offset into the buffers (always 0 here).
    pub offset: i64,
    /// Number of buffers.
    pub n_buffers: i64,
    /// Number of children.
    pub n_children: i64,
    /// The buffers (validity first; libmba's validity buffers are NULL).
    pub buffers: *mut *const c_void,
    /// The children (n_children pointers).
    pub children: *mut *mut ArrowArray,
    /// The dictionary (always NULL here).
    pub dictionary: *mut ArrowArray,
    /// Frees what the producer allocated; NULL once released.
    pub release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    /// The producer's data.
    pub private_data: *mut c_void,
}

/// The Arrow C stream interface's stream, exactly as the Arrow
/// specification defines it (docs/format/CStreamInterface), in its
/// ARROW_C_STREAM_INTERFACE include guard. A stream is used by one thread
/// at a time. get_schema and get_next return 0 or an errno value (EINVAL
/// for a released stream or a NULL out, EIO, ENOMEM...; get_last_error
/// then describes it, valid until the next call on the stream). End of
/// stream is a get_next that returns 0 with out->release == NULL.
#[repr(C)]
pub struct ArrowArrayStream {
    /// Stores the schema of every batch in *out (the caller releases it).
    pub get_schema: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowSchema) -> c_int>,
    /// Stores the next batch in *out (the caller releases it), or marks
    /// the end of the stream with out->release == NULL.
    pub get_next: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowArray) -> c_int>,
    /// The message of the last failed call, or NULL.
    pub get_last_error: Option<unsafe extern "C" fn(*mut ArrowArrayStream) -> *const c_char>,
    /// Frees the stream (batches already handed out stay valid); NULL once
    /// released.
    pub release: Option<unsafe extern "C" fn(*mut ArrowArrayStream)>,
    /// The producer's data.
    pub private_data: *mut c_void,
}

/// Exports rows [start, start+count) of the array as an Arrow array
/// (*out_array) and its type (*out_schema), following the Arrow C data
/// interface. count is clamped to the length published at the call
/// (count = UINT64_MAX: to the end); the result is a snapshot of that
/// range: rows appended later are not part of it.
/// Types: i8 "c", u8 "C", i16 "s", u16 "S", i32 "i", u32 "I", i64 "l",
/// u64 "L", f16 "e", f32 "f", f64 "g"; complex64/complex128 as
/// FixedSizeList<2> ("+w:2") of f32/f64; records as FixedSizeBinary
/// ("w:item_size"); bool as Arrow booleans ("b", bit-packed) with
/// MBA_ARROW_COPY only (MBA_E_TYPE without it: libmba's bools are bytes);
/// a row shape (d1, d2, ...) nests one FixedSizeList ("+w:d1") per
/// dimension around the element type. The field is named after the array
/// (the last component of its path or shm name without ".mba", else
/// "mba") and its metadata holds mba.type, mba.item_size and mba.shape.
/// No nulls: null_count is 0 and every validity buffer NULL.
/// Zero-copy (the default): the data buffer is the array's own memory,
/// mba_get_ptr + start * mba_row_size; the consumer sees later in-place
/// writes by any process (racy, as with mba_get_ptr), and the release
/// callback keeps the mapping alive, so the Arrow array stays valid after
/// mba_close until it is released. MBA_ARROW_COPY copies the rows into
/// 64-byte aligned memory the library frees at release. MBA_ARROW_STRUCT
/// wraps the array as the one child of a struct ("+s", a record batch).
/// The caller owns both structs on success and must call each one's
/// release callback exactly once (from any thread); on failure nothing is
/// written. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_ARG (unknown flag, or
/// MBA_ARROW_LIVE), MBA_E_INDEX (start beyond the length), MBA_E_TYPE
/// (bool without MBA_ARROW_COPY), MBA_E_OVERFLOW, MBA_E_NOMEM,
/// MBA_E_TRUNCATED (mba_sigbus_guard on and the file shrunk).
#[no_mangle]
pub unsafe extern "C" fn mba_export_arrow(
    h: mba_handle,
    start: u64,
    count: u64,
    flags: u32,
    out_array: *mut ArrowArray,
    out_schema: *mut ArrowSchema,
) -> c_int {
    with(h, |e| {
        if out_array.is_null() || out_schema.is_null() {
            return Err(Error::new(Code::Null, "out_array or out_schema is NULL"));
        }
        if flags & !(MBA_ARROW_COPY | MBA_ARROW_STRUCT) != 0 {
            return Err(Error::new(
                Code::Arg,
                format!("unknown or stream-only flags {flags:#x} for mba_export_arrow"),
            ));
        }
        let desc = Desc::of(&e.array, flags)?;
        let len = e.array.try_len()?;
        if start > len {
            return Err(Error::new(
                Code::Index,
                format!("start {start} is beyond the length {len}"),
            ));
        }
        let n = count.min(len - start);
        let a = export_array(&e.array, &desc, start, n)?;
        let s = export_schema(&desc);
        // SAFETY: both out-pointers are non-NULL and, per the contract,
        // valid for a write of their struct.
        unsafe {
            out_array.write(a);
            out_schema.write(s);
        }
        Ok(())
    })
}

/// Exports the array as an Arrow C stream (*out_stream). Default: a
/// finite snapshot stream of the rows published at the call (one batch,
/// none if the array is empty, then the end; timeout_ns is ignored).
/// MBA_ARROW_LIVE: a live stream that tails the array: each get_next
/// returns the rows published since the previous batch (the first batch:
/// every row so far), zero-copy; when there are none it waits for a change
/// as mba_wait does, up to timeout_ns from the call (< 0: forever, 0: only
/// looks), then reports the end (out->release == NULL). A later get_next
/// looks again, so a consumer may go on tailing after an end. If the array
/// shrinks below what was delivered, the stream goes on from the new
/// length. A signal handler that runs during the wait makes get_next
/// return a batch of 0 rows (call again to continue). Live streams need a
/// shared array (not copy-on-write or raw: MBA_E_NOTSUP) and hold their
/// own attachment to it, so they, and every batch, stay valid after
/// mba_close. MBA_ARROW_COPY and MBA_ARROW_STRUCT apply to every batch as
/// in mba_export_arrow (MBA_ARROW_STRUCT: a stream of record batches, what
/// engines take as a table). Types as in mba_export_arrow. The caller owns
/// the stream on success and must call its release callback once; a
/// stream is used by one thread at a time (the Arrow rule); batches and
/// schemas it hands out are independent of it. On failure nothing is
/// written. Thread-safe.
/// Errors: MBA_E_HANDLE, MBA_E_NULL, MBA_E_ARG (unknown flag),
/// MBA_E_TYPE (bool without MBA_ARROW_COPY), MBA_E_NOTSUP (MBA_ARROW_LIVE
/// on a copy-on-write or raw handle), MBA_E_OVERFLOW, MBA_E_NOMEM,
/// MBA_E_TRUNCATED, MBA_E_IO.
#[no_mangle]
pub unsafe extern "C" fn mba_export_arrow_stream(
    h: mba_handle,
    flags: u32,
    timeout_ns: i64,
    out_stream: *mut ArrowArrayStream,
) -> c_int {
    with(h, |e| {
        if out_stream.is_null() {
            return Err(Error::new(Code::Null, "out_stream is NULL"));
        }
        if flags & !(MBA_ARROW_COPY | MBA_ARROW_STRUCT | MBA_ARROW_LIVE) != 0 {
            return Err(Error::new(
                Code::Arg,
                format!("unknown flags {flags:#x} for mba_export_arrow_stream"),
            ));
        }
        let s = new_stream(&e.array, flags, timeout_ns)?;
        // SAFETY: non-NULL and, per the contract, valid for a write.
        unsafe { out_stream.write(s) };
        Ok(())
    })
}

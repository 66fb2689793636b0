//! Building the Arrow C data interface structs of an array (see arrow.rs
//! for the exports and docs/ARROW.md for the mapping).
//!
//! Ownership follows the Arrow specification: every struct the library
//! fills has a `private_data` box that owns its strings, its buffer and
//! child pointer arrays and the child structs themselves; the release
//! callback first releases the children still owned (a child moved out by
//! the consumer has `release == NULL` in our copy and is skipped: the
//! consumer releases the moved copy, whose own `private_data` is
//! independent), then frees the box and sets `release` to NULL. Each array
//! node holds its own reference (`Keep`) to the memory its buffers point
//! into (the mapping, or a copy), so any node may outlive the others and
//! the handle.

use super::arrow::{ArrowArray, ArrowSchema, MBA_ARROW_COPY, MBA_ARROW_STRUCT};
use crate::array::{Array, Mapping};
use crate::error::{Code, Error, Result};
use crate::format::ElemType;
use std::ffi::{c_void, CString};
use std::ptr;
use std::sync::Arc;

/// What an export looks like: derived once from the array's layout.
pub(super) struct Desc {
    /// FixedSizeList sizes, outermost first: the row shape, then 2 for a
    /// complex element.
    lists: Vec<u64>,
    /// Format string of the innermost type ("i", "w:12", "b").
    leaf: CString,
    /// The element is bool: packed into bits (copies only).
    bits: bool,
    /// Bytes of one row in the array.
    rb: u64,
    copy: bool,
    wrap: bool,
    name: CString,
    metadata: Vec<u8>,
}

/// The field name: the last component of the path (or shm name) without
/// ".mba"; "mba" when there is none.
fn field_name(path: Option<&str>) -> CString {
    let base = path
        .and_then(|p| p.rsplit('/').next())
        .map(|b| b.strip_suffix(".mba").unwrap_or(b))
        .filter(|b| !b.is_empty() && !b.contains('\0'))
        .unwrap_or("mba");
    CString::new(base).unwrap_or_default()
}

/// Arrow's binary metadata encoding: an int32 count, then for each pair
/// an int32 length and the bytes of the key, then of the value (native
/// byte order, as the specification says).
fn encode_metadata(pairs: &[(&str, String)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(pairs.len() as i32).to_ne_bytes());
    for (k, val) in pairs {
        for s in [k.as_bytes(), val.as_bytes()] {
            v.extend_from_slice(&(s.len() as i32).to_ne_bytes());
            v.extend_from_slice(s);
        }
    }
    v
}

impl Desc {
    /// The description of an export of `a` with `flags` (MBA_E_TYPE for a
    /// bool array without MBA_ARROW_COPY).
    pub(super) fn of(a: &Array, flags: u32) -> Result<Desc> {
        use ElemType::*;
        let l = a.layout();
        let copy = flags & MBA_ARROW_COPY != 0;
        let (leaf, pair) = match l.elem {
            I8 => ("c".to_string(), false),
            U8 => ("C".into(), false),
            I16 => ("s".into(), false),
            U16 => ("S".into(), false),
            I32 => ("i".into(), false),
            U32 => ("I".into(), false),
            I64 => ("l".into(), false),
            U64 => ("L".into(), false),
            F16 => ("e".into(), false),
            F32 => ("f".into(), false),
            F64 => ("g".into(), false),
            Complex64 => ("f".into(), true),
            Complex128 => ("g".into(), true),
            Record => (format!("w:{}", l.item_size), false),
            Bool if copy => ("b".into(), false),
            Bool => {
                return Err(Error::new(
                    Code::Type,
                    "a bool array is exported only with MBA_ARROW_COPY (Arrow's booleans are \
                     bits, libmba's are bytes)",
                ))
            }
        };
        let mut lists = l.row_shape.clone();
        if pair {
            lists.push(2);
        }
        let shape = l
            .row_shape
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let metadata = encode_metadata(&[
            ("mba.type", l.elem.name().to_string()),
            ("mba.item_size", l.item_size.to_string()),
            ("mba.shape", format!("[{shape}]")),
        ]);
        Ok(Desc {
            lists,
            leaf: CString::new(leaf).unwrap_or_default(),
            bits: l.elem == Bool,
            rb: a.row_bytes(),
            copy,
            wrap: flags & MBA_ARROW_STRUCT != 0,
            name: field_name(a.path()),
            metadata,
        })
    }
}

// ------------------------------------------------------------- schemas

struct SchemaPriv {
    format: CString,
    name: CString,
    metadata: Vec<u8>,
    children: Vec<*mut ArrowSchema>,
}

/// A schema node owning `children` (each boxed; freed by the release).
fn schema_node(
    format: CString,
    name: CString,
    metadata: Vec<u8>,
    children: Vec<ArrowSchema>,
) -> ArrowSchema {
    let children: Vec<*mut ArrowSchema> = children
        .into_iter()
        .map(|c| Box::into_raw(Box::new(c)))
        .collect();
    let mut p = Box::new(SchemaPriv {
        format,
        name,
        metadata,
        children,
    });
    let n = p.children.len();
    ArrowSchema {
        format: p.format.as_ptr(),
        name: p.name.as_ptr(),
        metadata: if p.metadata.is_empty() {
            ptr::null()
        } else {
            p.metadata.as_ptr().cast()
        },
        flags: 0,
        n_children: n as i64,
        children: if n == 0 {
            ptr::null_mut()
        } else {
            p.children.as_mut_ptr()
        },
        dictionary: ptr::null_mut(),
        release: Some(release_schema),
        // The heap blocks pointed to above do not move with the box.
        private_data: Box::into_raw(p).cast(),
    }
}

unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    // SAFETY: the consumer passes null or the (possibly moved) struct this
    // library filled, whose private_data came from Box::into_raw in
    // schema_node.
    if let Some(p) = unsafe { take_private::<_, SchemaPriv>(s) } {
        // SAFETY: the children came from Box::into_raw in schema_node and
        // are owned by this node.
        unsafe { release_children(&p.children) };
    }
}

/// An Arrow C struct of ours: a release callback and private data.
pub(super) trait Releasable: Sized {
    fn release_fn(&self) -> Option<unsafe extern "C" fn(*mut Self)>;
    fn private_data(&self) -> *mut c_void;
    /// Marks the struct released (no callback, no private data).
    fn mark_released(&mut self);
}

macro_rules! releasable {
    ($($t:ty),*) => {$(
        impl Releasable for $t {
            fn release_fn(&self) -> Option<unsafe extern "C" fn(*mut Self)> {
                self.release
            }
            fn private_data(&self) -> *mut c_void {
                self.private_data
            }
            fn mark_released(&mut self) {
                self.private_data = ptr::null_mut();
                self.release = None;
            }
        }
    )*};
}
releasable!(ArrowSchema, ArrowArray, super::arrow::ArrowArrayStream);

/// What every release callback does first: for a live struct (release
/// set), marks it released and gives back its private box; `None` for a
/// null or already released struct, or one without private data.
///
/// # Safety
/// `s` is null or a struct this library filled (possibly moved by the
/// consumer), valid for reads and writes, whose non-null private_data came
/// from `Box::<P>::into_raw` and is freed only through this function.
pub(super) unsafe fn take_private<S: Releasable, P>(s: *mut S) -> Option<Box<P>> {
    if s.is_null() {
        return None;
    }
    // SAFETY: valid for reads and writes (caller's guarantee).
    let s = unsafe { &mut *s };
    s.release_fn()?;
    let p = s.private_data();
    s.mark_released();
    // SAFETY: from Box::into_raw (caller's guarantee), and taken once: the
    // struct is marked released above.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p.cast::<P>()) })
}

/// Releases and frees the boxed children of a node (a child the consumer
/// moved out has release == NULL and is only freed).
///
/// # Safety
/// Each child came from `Box::into_raw` and is owned by the node being
/// released.
unsafe fn release_children<S: Releasable>(children: &[*mut S]) {
    for &c in children {
        // SAFETY: caller's guarantee; each is released then freed once.
        unsafe {
            if let Some(r) = (*c).release_fn() {
                r(c);
            }
            drop(Box::from_raw(c));
        }
    }
}

fn field_schema(d: &Desc, level: usize) -> ArrowSchema {
    let (name, metadata) = if level == 0 {
        (d.name.clone(), d.metadata.clone())
    } else {
        (c"item".to_owned(), Vec::new())
    };
    match d.lists.get(level) {
        Some(k) => schema_node(
            CString::new(format!("+w:{k}")).unwrap_or_default(),
            name,
            metadata,
            vec![field_schema(d, level + 1)],
        ),
        None => schema_node(d.leaf.clone(), name, metadata, Vec::new()),
    }
}

/// The schema of an export (the consumer releases it).
pub(super) fn export_schema(d: &Desc) -> ArrowSchema {
    let f = field_schema(d, 0);
    if d.wrap {
        schema_node(c"+s".to_owned(), CString::default(), Vec::new(), vec![f])
    } else {
        f
    }
}

// -------------------------------------------------------------- arrays

/// Library-owned, 64-byte aligned, zero-filled bytes (a copying export).
struct Buf {
    p: *mut u8,
    layout: std::alloc::Layout,
}

// SAFETY: a plain heap block, written only before it is shared.
unsafe impl Send for Buf {}
// SAFETY: as above.
unsafe impl Sync for Buf {}

impl Buf {
    fn new(n: u64) -> Result<Buf> {
        let size = usize::try_from(n.max(1))
            .ok()
            .and_then(|s| std::alloc::Layout::from_size_align(s, 64).ok())
            .ok_or_else(|| Error::new(Code::Overflow, format!("a copy of {n} bytes")))?;
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(size) };
        if p.is_null() {
            return Err(Error::new(
                Code::NoMem,
                format!("cannot allocate {n} bytes for the copy"),
            ));
        }
        Ok(Buf { p, layout: size })
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: allocated in Buf::new with this layout.
        unsafe { std::alloc::dealloc(self.p, self.layout) }
    }
}

/// What keeps an array node's buffers valid.
#[derive(Clone)]
enum Keep {
    Map(#[allow(dead_code)] Arc<Mapping>),
    Buf(#[allow(dead_code)] Arc<Buf>),
}

struct ArrayPriv {
    _keep: Keep,
    buffers: Vec<*const c_void>,
    children: Vec<*mut ArrowArray>,
}

/// An array node owning `children` (each boxed; freed by the release).
///
/// # Safety
/// Each of `buffers` is NULL or valid for reads of what the node's type
/// and length need, for as long as `keep` is alive: the consumer reads
/// them until it releases the node.
unsafe fn array_node(
    keep: &Keep,
    length: i64,
    buffers: Vec<*const c_void>,
    children: Vec<ArrowArray>,
) -> ArrowArray {
    let children: Vec<*mut ArrowArray> = children
        .into_iter()
        .map(|c| Box::into_raw(Box::new(c)))
        .collect();
    let mut p = Box::new(ArrayPriv {
        _keep: keep.clone(),
        buffers,
        children,
    });
    let n = p.children.len();
    ArrowArray {
        length,
        null_count: 0,
        offset: 0,
        n_buffers: p.buffers.len() as i64,
        n_children: n as i64,
        buffers: p.buffers.as_mut_ptr(),
        children: if n == 0 {
            ptr::null_mut()
        } else {
            p.children.as_mut_ptr()
        },
        dictionary: ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(p).cast(),
    }
}

unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    // SAFETY: null or the (possibly moved) struct this library filled,
    // whose private_data came from Box::into_raw in array_node.
    if let Some(p) = unsafe { take_private::<_, ArrayPriv>(a) } {
        // SAFETY: as in release_schema.
        unsafe { release_children(&p.children) };
        // Dropping `p` drops its reference to the mapping or the copy (an
        // unmap or a free if it was the last).
    }
}

/// A released (empty) array: what get_next stores at the end of a stream.
pub(super) fn released_array() -> ArrowArray {
    ArrowArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: ptr::null_mut(),
        children: ptr::null_mut(),
        dictionary: ptr::null_mut(),
        release: None,
        private_data: ptr::null_mut(),
    }
}

fn overflow() -> Error {
    Error::new(Code::Overflow, "the export's length exceeds INT64_MAX")
}

/// Rows [start, start+n) of `a` (the caller has checked them against the
/// length) as an Arrow array: zero-copy or copied per `d`.
pub(super) fn export_array(a: &Array, d: &Desc, start: u64, n: u64) -> Result<ArrowArray> {
    let rows = i64::try_from(n).map_err(|_| overflow())?;
    let bytes = n.checked_mul(d.rb).ok_or_else(overflow)?;
    let (keep, data): (Keep, *const u8) = if !d.copy {
        // Rows below the length are inside the mapping: no out-of-bounds
        // address is formed (wrapping_add for a length-0 export at the end).
        (
            Keep::Map(a.mapping()),
            a.as_ptr().wrapping_add((start * d.rb) as usize),
        )
    } else if d.bits {
        // One byte per element in the array: read them, pack them.
        let mut tmp: Vec<u8> = Vec::new();
        tmp.try_reserve_exact(bytes as usize)
            .map_err(|_| Error::new(Code::NoMem, format!("cannot allocate {bytes} bytes")))?;
        // SAFETY: `tmp` has room for `bytes` = n rows.
        unsafe {
            a.read_raw(start, n, tmp.as_mut_ptr())?;
            tmp.set_len(bytes as usize);
        }
        let b = Buf::new(bytes.div_ceil(8))?;
        for (i, v) in tmp.iter().enumerate() {
            if *v != 0 {
                // SAFETY: i / 8 < bytes.div_ceil(8), the buffer's size.
                unsafe { *b.p.add(i / 8) |= 1 << (i % 8) };
            }
        }
        let p = b.p;
        (Keep::Buf(Arc::new(b)), p)
    } else {
        let b = Buf::new(bytes)?;
        // SAFETY: the buffer holds `bytes` = n rows.
        unsafe { a.read_raw(start, n, b.p)? };
        let p = b.p;
        (Keep::Buf(Arc::new(b)), p)
    };
    // Lengths level by level: rows, rows*d1, rows*d1*d2, ...
    let mut lens = vec![rows];
    for &k in &d.lists {
        let next = i64::try_from(k)
            .ok()
            .and_then(|k| lens.last().unwrap().checked_mul(k))
            .ok_or_else(overflow)?;
        lens.push(next);
    }
    // SAFETY: `data` holds the n rows (lens.last() leaf items) for as
    // long as `keep` lives: rows below the length inside the mapping, or
    // the copy; validity buffers are NULL.
    let mut node = unsafe {
        array_node(
            &keep,
            *lens.last().unwrap(),
            vec![ptr::null(), data.cast()],
            Vec::new(),
        )
    };
    for level in (0..d.lists.len()).rev() {
        // SAFETY: only a NULL validity buffer.
        node = unsafe { array_node(&keep, lens[level], vec![ptr::null()], vec![node]) };
    }
    if d.wrap {
        // SAFETY: only a NULL validity buffer.
        node = unsafe { array_node(&keep, rows, vec![ptr::null()], vec![node]) };
    }
    Ok(node)
}

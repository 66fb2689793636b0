//! Element types (fixed codes independent of any language) and the row
//! layout they give.

use super::*;

/// Element types: fixed codes independent of any language.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    I8 = 1,
    U8 = 2,
    I16 = 3,
    U16 = 4,
    I32 = 5,
    U32 = 6,
    I64 = 7,
    U64 = 8,
    F32 = 9,
    F64 = 10,
    Bool = 11,
    Complex64 = 12,
    Complex128 = 13,
    F16 = 14,
    /// Opaque fixed-size record (a C struct); its size is the header's item size.
    Record = 15,
}

impl ElemType {
    /// All types, in code order.
    pub const ALL: [ElemType; 15] = [
        ElemType::I8,
        ElemType::U8,
        ElemType::I16,
        ElemType::U16,
        ElemType::I32,
        ElemType::U32,
        ElemType::I64,
        ElemType::U64,
        ElemType::F32,
        ElemType::F64,
        ElemType::Bool,
        ElemType::Complex64,
        ElemType::Complex128,
        ElemType::F16,
        ElemType::Record,
    ];

    /// The type with this code, if any.
    pub fn from_code(code: u32) -> Option<ElemType> {
        ElemType::ALL.iter().copied().find(|t| *t as u32 == code)
    }

    /// Item size of a fixed-size type; `None` for `Record`.
    pub fn fixed_size(self) -> Option<u64> {
        Some(match self {
            ElemType::I8 | ElemType::U8 | ElemType::Bool => 1,
            ElemType::I16 | ElemType::U16 | ElemType::F16 => 2,
            ElemType::I32 | ElemType::U32 | ElemType::F32 => 4,
            ElemType::I64 | ElemType::U64 | ElemType::F64 | ElemType::Complex64 => 8,
            ElemType::Complex128 => 16,
            ElemType::Record => return None,
        })
    }

    /// Short lowercase name ("u32", "record", ...).
    pub fn name(self) -> &'static str {
        match self {
            ElemType::I8 => "i8",
            ElemType::U8 => "u8",
            ElemType::I16 => "i16",
            ElemType::U16 => "u16",
            ElemType::I32 => "i32",
            ElemType::U32 => "u32",
            ElemType::I64 => "i64",
            ElemType::U64 => "u64",
            ElemType::F32 => "f32",
            ElemType::F64 => "f64",
            ElemType::Bool => "bool",
            ElemType::Complex64 => "complex64",
            ElemType::Complex128 => "complex128",
            ElemType::F16 => "f16",
            ElemType::Record => "record",
        }
    }

    /// True for the integer types (not bool).
    pub fn is_integer(self) -> bool {
        (self as u32) <= ElemType::U64 as u32
    }
}

/// Shape and type of one array: what the caller chooses at creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub elem: ElemType,
    /// Bytes of one element (one scalar, or one record).
    pub item_size: u64,
    /// Trailing dimensions of one row (empty for a flat array).
    pub row_shape: Vec<u64>,
}

impl Layout {
    /// A flat array of a fixed-size type.
    pub fn scalar(elem: ElemType) -> Result<Layout> {
        Layout::new(elem, 0, &[])
    }

    /// Validates a type, an item size (0 = the type's own) and a row shape.
    pub fn new(elem: ElemType, item_size: u64, row_shape: &[u64]) -> Result<Layout> {
        let item_size = match (elem.fixed_size(), item_size) {
            (Some(s), 0) => s,
            (Some(s), n) if n == s => s,
            (Some(s), n) => {
                return Err(Error::new(
                    Code::Arg,
                    format!(
                        "item size {n} does not match type {} (size {s})",
                        elem.name()
                    ),
                ))
            }
            (None, 0) => return Err(Error::new(Code::Arg, "a record type needs an item size")),
            (None, n) => n,
        };
        if item_size > MAX_ITEM_SIZE {
            return Err(Error::new(
                Code::Overflow,
                format!("item size {item_size} exceeds the limit {MAX_ITEM_SIZE}"),
            ));
        }
        if row_shape.len() > MAX_ROW_DIMS {
            return Err(Error::new(
                Code::Arg,
                format!(
                    "row shape has {} dimensions; the format allows {MAX_ROW_DIMS}",
                    row_shape.len()
                ),
            ));
        }
        let l = Layout {
            elem,
            item_size,
            row_shape: row_shape.to_vec(),
        };
        l.row_bytes_checked()?;
        Ok(l)
    }

    /// Elements per row (1 for a flat array).
    pub fn row_items(&self) -> u64 {
        self.row_shape.iter().product()
    }

    fn row_bytes_checked(&self) -> Result<u64> {
        let mut n = self.item_size;
        for &d in &self.row_shape {
            if d == 0 {
                return Err(Error::new(Code::Arg, "row dimensions must be at least 1"));
            }
            n = n
                .checked_mul(d)
                .filter(|&n| n <= MAX_ROW_BYTES)
                .ok_or_else(|| {
                    Error::new(
                        Code::Overflow,
                        format!("row size exceeds the limit {MAX_ROW_BYTES}"),
                    )
                })?;
        }
        Ok(n)
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> u64 {
        self.item_size * self.row_items()
    }
}

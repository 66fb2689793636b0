//! Conversions between scalar values and the bytes of one element, for the
//! typed fast paths (`append_i64`, `get_f64`, ...). Range-checked: a value
//! that does not fit the element type is refused, never wrapped.

use crate::error::{Code, Error, Result};
use crate::format::ElemType;

/// Bytes of one element, at most 16.
pub type Cell = [u8; 16];

fn range(v: impl std::fmt::Display, t: ElemType) -> Error {
    Error::new(
        Code::Overflow,
        format!("value {v} is out of range for element type {}", t.name()),
    )
}

/// The element bytes of integer `v` for type `t`, in the first bytes (in
/// memory order) of the returned word; `None` if it does not fit or the
/// type takes no integers. Register-only: the hot path of typed appends.
#[inline(always)]
pub fn int_bits(t: ElemType, v: i128) -> Option<u64> {
    let (bits, size) = match t {
        ElemType::I8 => (i8::try_from(v).ok()? as u8 as u64, 1),
        ElemType::U8 => (u8::try_from(v).ok()? as u64, 1),
        ElemType::I16 => (i16::try_from(v).ok()? as u16 as u64, 2),
        ElemType::U16 => (u16::try_from(v).ok()? as u64, 2),
        ElemType::I32 => (i32::try_from(v).ok()? as u32 as u64, 4),
        ElemType::U32 => (u32::try_from(v).ok()? as u64, 4),
        ElemType::I64 => (i64::try_from(v).ok()? as u64, 8),
        ElemType::U64 => (u64::try_from(v).ok()?, 8),
        ElemType::Bool if v == 0 || v == 1 => (v as u64, 1),
        ElemType::F32 => ((v as f32).to_bits() as u64, 4),
        ElemType::F64 => ((v as f64).to_bits(), 8),
        _ => return None,
    };
    Some(if cfg!(target_endian = "big") {
        bits << (64 - 8 * size)
    } else {
        bits
    })
}

/// The element bytes of double `v` for a float type (see [`int_bits`]).
#[inline(always)]
pub fn f64_bits(t: ElemType, v: f64) -> Option<u64> {
    let (bits, size) = match t {
        ElemType::F32 => ((v as f32).to_bits() as u64, 4),
        ElemType::F64 => (v.to_bits(), 8),
        _ => return None,
    };
    Some(if cfg!(target_endian = "big") {
        bits << (64 - 8 * size)
    } else {
        bits
    })
}

/// The one encoder's bits as a cell (the first bytes in memory order).
fn cell(bits: u64) -> Cell {
    let mut c = [0u8; 16];
    c[..8].copy_from_slice(&bits.to_ne_bytes());
    c
}

/// Encodes an integer for an integer, bool or float element type: the
/// bytes of [`int_bits`] (one encoder for every entry point, so an integer
/// stored into a float array is rounded once, to nearest even), or the
/// error that says why it has none.
pub fn from_int(t: ElemType, v: i128) -> Result<Cell> {
    match int_bits(t, v) {
        Some(b) => Ok(cell(b)),
        None if t.is_integer() || t == ElemType::Bool => Err(range(v, t)),
        None => Err(Error::new(
            Code::Type,
            format!("cannot store an integer in a {} array", t.name()),
        )),
    }
}

/// Encodes a double for a float element type: the bytes of [`f64_bits`].
pub fn from_f64(t: ElemType, v: f64) -> Result<Cell> {
    f64_bits(t, v).map(cell).ok_or_else(|| {
        Error::new(
            Code::Type,
            format!("cannot store a float in a {} array", t.name()),
        )
    })
}

/// Decodes an element of an integer or bool type.
pub fn to_int(t: ElemType, c: &Cell) -> Result<i128> {
    macro_rules! get {
        ($ty:ty) => {{
            let mut b = [0u8; std::mem::size_of::<$ty>()];
            b.copy_from_slice(&c[..std::mem::size_of::<$ty>()]);
            <$ty>::from_ne_bytes(b) as i128
        }};
    }
    Ok(match t {
        ElemType::I8 => get!(i8),
        ElemType::U8 | ElemType::Bool => get!(u8),
        ElemType::I16 => get!(i16),
        ElemType::U16 => get!(u16),
        ElemType::I32 => get!(i32),
        ElemType::U32 => get!(u32),
        ElemType::I64 => get!(i64),
        ElemType::U64 => get!(u64),
        _ => {
            return Err(Error::new(
                Code::Type,
                format!("a {} element is not an integer", t.name()),
            ))
        }
    })
}

/// Decodes an element of any real numeric type as a double.
pub fn to_f64(t: ElemType, c: &Cell) -> Result<f64> {
    match t {
        ElemType::F32 => Ok(f32::from_ne_bytes(c[..4].try_into().unwrap()) as f64),
        ElemType::F64 => Ok(f64::from_ne_bytes(c[..8].try_into().unwrap())),
        _ => to_int(t, c).map(|v| v as f64),
    }
}

impl ElemType {
    /// The element in `bytes` (one element, native byte order, as
    /// `Array::get` copies it) as an integer: integer and bool types only.
    pub fn decode_int(self, bytes: &[u8]) -> Result<i128> {
        to_int(self, &cell_of(bytes))
    }

    /// The element in `bytes` as a double: real numeric types only.
    pub fn decode_f64(self, bytes: &[u8]) -> Result<f64> {
        to_f64(self, &cell_of(bytes))
    }
}

/// `bytes` zero-padded (or cut) to a cell.
fn cell_of(bytes: &[u8]) -> Cell {
    let mut c: Cell = [0u8; 16];
    let n = bytes.len().min(c.len());
    c[..n].copy_from_slice(&bytes[..n]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_cells() {
        for t in ElemType::ALL {
            for v in [
                0i128,
                1,
                -1,
                127,
                255,
                65535,
                -32768,
                1 << 31,
                u32::MAX as i128,
                i64::MIN as i128,
                u64::MAX as i128,
            ] {
                match (int_bits(t, v), from_int(t, v)) {
                    (Some(b), Ok(c)) => assert_eq!(&b.to_ne_bytes()[..], &c[..8], "{t:?} {v}"),
                    (None, Err(_)) => {}
                    (b, c) => panic!("{t:?} {v}: {b:?} vs {c:?}"),
                }
            }
        }
    }

    #[test]
    fn ranges() {
        assert!(from_int(ElemType::U8, 256).is_err());
        assert!(from_int(ElemType::U32, -1).is_err());
        assert_eq!(
            to_int(
                ElemType::I64,
                &from_int(ElemType::I64, i64::MIN as i128).unwrap()
            )
            .unwrap(),
            i64::MIN as i128
        );
        assert_eq!(
            to_int(
                ElemType::U64,
                &from_int(ElemType::U64, u64::MAX as i128).unwrap()
            )
            .unwrap(),
            u64::MAX as i128
        );
        assert_eq!(
            from_int(ElemType::Complex64, 1).unwrap_err().code,
            Code::Type
        );
        assert_eq!(
            to_f64(ElemType::F32, &from_f64(ElemType::F32, 1.5).unwrap()).unwrap(),
            1.5
        );
        assert!(from_int(ElemType::Bool, 2).is_err());
    }
}

//! One element encoder (issue 15): every entry point that stores a scalar
//! (the Rust API, the C ABI's typed appends and sets)
//! gives the same bytes, equal to an independent oracle, on the
//! rounding and range edges of every scalar type. Found by the API review:
//! 2^53+2^29+1 into an f32 array gave 9007200328482816 through
//! mba_append_i64 but 9007199254740992 (rounded twice) through mba_set_i64.

use mba::ffi::*;
use mba::{Code, ElemType};

const TYPES: [(ElemType, i32); 11] = [
    (ElemType::I8, MBA_TYPE_I8),
    (ElemType::U8, MBA_TYPE_U8),
    (ElemType::I16, MBA_TYPE_I16),
    (ElemType::U16, MBA_TYPE_U16),
    (ElemType::I32, MBA_TYPE_I32),
    (ElemType::U32, MBA_TYPE_U32),
    (ElemType::I64, MBA_TYPE_I64),
    (ElemType::U64, MBA_TYPE_U64),
    (ElemType::F32, MBA_TYPE_F32),
    (ElemType::F64, MBA_TYPE_F64),
    (ElemType::Bool, MBA_TYPE_BOOL),
];

/// Integer sources: type limits, float rounding edges (2^24+1, 2^53+1,
/// halfway cases that round to even, 2^53+2^29+1 whose two-step rounding
/// differs from one-step).
fn ints() -> Vec<i128> {
    let mut v: Vec<i128> = vec![0, 1, -1, 2];
    for b in [7u32, 8, 15, 16, 31, 32, 63, 64] {
        let p = 1i128 << b;
        v.extend([p - 1, p, p + 1, -p, -p - 1]);
    }
    for p in [24u32, 25, 53, 54, 62] {
        let x = 1i128 << p;
        v.extend([x + 1, x + 2, x + 3, x - 1, -(x + 1)]);
    }
    v.extend([
        (1i128 << 53) + (1 << 29) + 1,
        (1i128 << 53) + (1 << 29),
        (1i128 << 53) + (1 << 29) - 1,
        (1i128 << 24) + 3,
        i64::MIN as i128,
        i64::MAX as i128,
        u64::MAX as i128,
    ]);
    v.retain(|x| *x >= i64::MIN as i128 && *x <= u64::MAX as i128);
    v
}

fn floats() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.5,
        0.1,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f32::MAX as f64 * 1.5,
        (f32::MAX as f64) + 1e20,
        1.0 + f64::EPSILON,
        1.0 + (f32::EPSILON as f64) / 2.0,
        1.0 + (f32::EPSILON as f64) * 1.5,
        16777217.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]
}

/// The oracle, written without the library's encoder: the element bytes
/// of integer `v`, or the status a store must give.
fn int_oracle(t: ElemType, v: i128) -> Result<Vec<u8>, Code> {
    fn fit<T: TryFrom<i128> + Copy>(v: i128, f: impl Fn(T) -> Vec<u8>) -> Result<Vec<u8>, Code> {
        T::try_from(v).map(f).map_err(|_| Code::Overflow)
    }
    match t {
        ElemType::I8 => fit(v, |x: i8| x.to_ne_bytes().to_vec()),
        ElemType::U8 => fit(v, |x: u8| x.to_ne_bytes().to_vec()),
        ElemType::I16 => fit(v, |x: i16| x.to_ne_bytes().to_vec()),
        ElemType::U16 => fit(v, |x: u16| x.to_ne_bytes().to_vec()),
        ElemType::I32 => fit(v, |x: i32| x.to_ne_bytes().to_vec()),
        ElemType::U32 => fit(v, |x: u32| x.to_ne_bytes().to_vec()),
        ElemType::I64 => fit(v, |x: i64| x.to_ne_bytes().to_vec()),
        ElemType::U64 => fit(v, |x: u64| x.to_ne_bytes().to_vec()),
        ElemType::Bool if v == 0 || v == 1 => Ok(vec![v as u8]),
        ElemType::Bool => Err(Code::Overflow),
        // Rust's integer-to-float `as` rounds once, to nearest even.
        ElemType::F32 => Ok((v as f32).to_ne_bytes().to_vec()),
        ElemType::F64 => Ok((v as f64).to_ne_bytes().to_vec()),
        _ => Err(Code::Type),
    }
}

fn f64_oracle(t: ElemType, v: f64) -> Result<Vec<u8>, Code> {
    match t {
        ElemType::F32 => Ok((v as f32).to_ne_bytes().to_vec()),
        ElemType::F64 => Ok(v.to_ne_bytes().to_vec()),
        _ => Err(Code::Type),
    }
}

fn code_of(rc: i32) -> Result<(), Code> {
    if rc == MBA_OK {
        return Ok(());
    }
    Err(match rc {
        MBA_E_OVERFLOW => Code::Overflow,
        MBA_E_TYPE => Code::Type,
        other => panic!("unexpected status {other}"),
    })
}

/// A fresh anonymous array of type `t` holding one zero element.
fn fresh(ct: i32) -> mba_handle {
    let mut h = 0;
    // SAFETY: `h` is a valid out-pointer.
    assert_eq!(unsafe { mba_anon(0, ct, 4, &mut h) }, MBA_OK);
    assert_eq!(mba_append_i64(h, 0), MBA_OK);
    h
}

/// Element `i` of `h` as bytes.
fn elem(h: mba_handle, i: u64, size: usize) -> Vec<u8> {
    let mut b = [0u8; 16];
    // SAFETY: `b` holds 16 bytes, more than one scalar element.
    assert_eq!(unsafe { mba_get(h, i, b.as_mut_ptr().cast()) }, MBA_OK);
    b[..size].to_vec()
}

type Store = (&'static str, fn(mba_handle, i128) -> Option<i32>);

/// Every entry point that stores an integer; `None` where the source type
/// cannot carry the value (e.g. a negative into a u64 function).
fn int_stores() -> Vec<Store> {
    vec![
        ("mba_append_i64", |h, v| {
            i64::try_from(v).ok().map(|x| mba_append_i64(h, x))
        }),
        ("mba_append_u64", |h, v| {
            u64::try_from(v).ok().map(|x| mba_append_u64(h, x))
        }),
        ("mba_set_i64", |h, v| {
            i64::try_from(v).ok().map(|x| mba_set_i64(h, 0, x))
        }),
        ("mba_set_u64", |h, v| {
            u64::try_from(v).ok().map(|x| mba_set_u64(h, 0, x))
        }),
    ]
}

type F64Store = (&'static str, fn(mba_handle, f64) -> i32);

fn f64_stores() -> Vec<F64Store> {
    vec![
        ("mba_append_f64", |h, v| mba_append_f64(h, v)),
        ("mba_set_f64", |h, v| mba_set_f64(h, 0, v)),
    ]
}

/// Where a store lands: sets write element 0, appends element 1.
fn slot(name: &str) -> u64 {
    if name.contains("set") {
        0
    } else {
        1
    }
}

#[test]
fn every_integer_entry_point_encodes_alike() {
    let mut checked = 0;
    for (t, ct) in TYPES {
        let size = t.fixed_size().unwrap() as usize;
        for v in ints() {
            let want = int_oracle(t, v);
            for (name, store) in int_stores() {
                let h = fresh(ct);
                let Some(rc) = store(h, v) else {
                    mba_close(h);
                    continue;
                };
                let got = code_of(rc).map(|()| elem(h, slot(name), size));
                let want = want.clone().map(|b| b[..size].to_vec());
                assert_eq!(got, want, "{name}({v}) into {t:?}");
                // The Rust API agrees too.
                mba_close(h);
                checked += 1;
            }
            let a = mba::Array::anon(&mba::Options::create(t)).unwrap();
            let got = a.append_int(v).map_err(|e| e.code).map(|()| {
                let mut b = vec![0u8; size];
                a.get(0, &mut b).unwrap();
                b
            });
            assert_eq!(
                got,
                want.clone().map(|b| b[..size].to_vec()),
                "Array::append_int({v}) into {t:?}"
            );
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn every_float_entry_point_encodes_alike() {
    for (t, ct) in TYPES {
        let size = t.fixed_size().unwrap() as usize;
        for v in floats() {
            let want = f64_oracle(t, v);
            for (name, store) in f64_stores() {
                let h = fresh(ct);
                let got = code_of(store(h, v)).map(|()| elem(h, slot(name), size));
                // NaN payloads compare as bytes: the oracle's are the same bits.
                assert_eq!(got, want, "{name}({v}) into {t:?}");
                mba_close(h);
            }
        }
    }
}

#[test]
fn the_case_the_review_found() {
    let v = (1i64 << 53) + (1 << 29) + 1;
    let h = fresh(MBA_TYPE_F32);
    assert_eq!(mba_append_i64(h, v), MBA_OK);
    assert_eq!(mba_set_i64(h, 0, v), MBA_OK);
    let mut a = 0f64;
    let mut b = 0f64;
    // SAFETY: valid out-pointers.
    unsafe {
        assert_eq!(mba_get_f64(h, 0, &mut a), MBA_OK);
        assert_eq!(mba_get_f64(h, 1, &mut b), MBA_OK);
    }
    assert_eq!((a, b), (9007200328482816.0, 9007200328482816.0));
    mba_close(h);
}

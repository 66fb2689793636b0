//! Unit tests of the header encoding and its checks.

use super::header::{wr_u16, wr_u32, wr_u64};
use super::*;

fn sample() -> Header {
    Header::new(
        Layout::new(ElemType::F32, 0, &[3, 4]).unwrap(),
        1000,
        0x1122,
        7,
    )
}

#[test]
fn crc_matches_zlib() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn roundtrip() {
    let h = sample();
    let (d, w) = Header::decode(&h.encode()).unwrap();
    assert_eq!(d, h);
    assert_eq!(w, Writability::ReadWrite);
    assert_eq!(d.row_bytes, 48);
}

#[test]
fn each_violation_has_its_code() {
    let good = sample().encode();
    let with = |f: &dyn Fn(&mut [u8])| {
        let mut b = good;
        f(&mut b);
        Header::decode(&b).unwrap_err().code
    };
    let recrc = |b: &mut [u8]| {
        let c = crc32(&b[..CRC_END]);
        wr_u32(b, OFF_CRC, c);
    };
    assert_eq!(with(&|b| b[0] = b'X'), Code::NotMba);
    assert_eq!(with(&|b| wr_u16(b, OFF_MAJOR, 2)), Code::Version);
    assert_eq!(with(&|b| b[100] ^= 1), Code::Corrupt);
    assert_eq!(
        with(&|b| {
            b[OFF_ORDER] = 3 - native_order();
            recrc(b)
        }),
        Code::ByteOrder
    );
    assert_eq!(
        with(&|b| {
            wr_u64(b, OFF_INCOMPAT, 1 << 40);
            recrc(b)
        }),
        Code::Feature
    );
    assert_eq!(
        with(&|b| {
            wr_u32(b, OFF_TYPE, 99);
            recrc(b)
        }),
        Code::Corrupt
    );
    assert_eq!(
        with(&|b| {
            wr_u64(b, OFF_SHAPE, 1 << 40);
            recrc(b)
        }),
        Code::Overflow
    );
    assert_eq!(
        with(&|b| {
            wr_u64(b, OFF_ROW_BYTES, 4);
            recrc(b)
        }),
        Code::Corrupt
    );
    assert_eq!(
        with(&|b| {
            wr_u64(b, OFF_DATA_OFFSET, 100);
            recrc(b)
        }),
        Code::Corrupt
    );
    assert_eq!(
        with(&|b| {
            wr_u64(b, OFF_MAX_LEN, u64::MAX);
            recrc(b)
        }),
        Code::Corrupt
    );
    assert_eq!(
        Header::decode(&good[..100]).unwrap_err().code,
        Code::Truncated
    );
    let mut b = good;
    wr_u64(&mut b, OFF_RO_COMPAT, 1 << 3);
    recrc(&mut b);
    assert_eq!(Header::decode(&b).unwrap().1, Writability::ReadOnly);
    let mut b = good;
    wr_u64(&mut b, OFF_COMPAT, 1 << 3);
    recrc(&mut b);
    assert_eq!(Header::decode(&b).unwrap().1, Writability::ReadWrite);
}

/// The cases FORMAT.md's validation list settles (issue 14, scenario 11).
#[test]
fn open_questions_have_one_verdict() {
    let good = sample().encode();
    let code = |b: &[u8]| Header::decode(b).unwrap_err().code;
    let recrc = |b: &mut [u8]| {
        let c = crc32(&b[..CRC_END]);
        wr_u32(b, OFF_CRC, c);
    };
    assert_eq!(code(&[]), Code::Truncated);
    assert_eq!(code(&good[..5]), Code::Truncated);
    assert_eq!(code(b"NOTMB"), Code::NotMba);
    assert_eq!(code(&good[..511]), Code::Truncated);
    let mut short = good[..16].to_vec();
    wr_u16(&mut short, OFF_MAJOR, 2);
    assert_eq!(code(&short), Code::Truncated);
    let with = |f: &dyn Fn(&mut [u8])| {
        let mut b = good;
        f(&mut b);
        recrc(&mut b);
        Header::decode(&b).map(|_| ()).map_err(|e| e.code)
    };
    // sample() has ndim 2: slot 2 and slot 7 lie past it.
    assert_eq!(with(&|b| wr_u64(b, OFF_SHAPE + 16, 1)), Err(Code::Corrupt));
    assert_eq!(with(&|b| wr_u64(b, OFF_SHAPE + 56, 5)), Err(Code::Corrupt));
    assert_eq!(with(&|b| wr_u64(b, OFF_MAX_LEN, 0)), Err(Code::Corrupt));
    let limit = Header::max_len_limit(48);
    assert_eq!(with(&|b| wr_u64(b, OFF_MAX_LEN, limit)), Ok(()));
    assert_eq!(
        with(&|b| wr_u64(b, OFF_MAX_LEN, limit + 1)),
        Err(Code::Corrupt)
    );
    assert_eq!(
        with(&|b| wr_u64(b, OFF_MAX_LEN, u64::MAX)),
        Err(Code::Corrupt)
    );
    let record = |item: u64| {
        with(&|b| {
            wr_u32(b, OFF_TYPE, ElemType::Record as u32);
            b[OFF_NDIM] = 0;
            wr_u64(b, OFF_SHAPE, 0);
            wr_u64(b, OFF_SHAPE + 8, 0);
            wr_u64(b, OFF_ITEM_SIZE, item);
            wr_u64(b, OFF_ROW_BYTES, item);
            wr_u64(b, OFF_MAX_LEN, 1);
        })
    };
    assert_eq!(record(MAX_ITEM_SIZE), Ok(()));
    assert_eq!(record(MAX_ITEM_SIZE + 1), Err(Code::Overflow));
    assert_eq!(record(0), Err(Code::Corrupt));
    assert_eq!(with(&|b| wr_u64(b, OFF_ITEM_SIZE, 0)), Err(Code::Corrupt));
    assert_eq!(with(&|b| wr_u64(b, OFF_ITEM_SIZE, 8)), Err(Code::Corrupt));
}

#[test]
fn item_size_overflow() {
    assert_eq!(
        Layout::new(ElemType::Record, MAX_ITEM_SIZE + 1, &[])
            .unwrap_err()
            .code,
        Code::Overflow
    );
    assert_eq!(
        Layout::new(ElemType::U8, 0, &[1 << 20, 1 << 20])
            .unwrap_err()
            .code,
        Code::Overflow
    );
    assert_eq!(
        Layout::new(ElemType::U32, 8, &[]).unwrap_err().code,
        Code::Arg
    );
}

//! The Rust side of the two-process C API test (`tests/api.rs`):
//!
//!     api_peer NAME COUNT MORE
//!
//! opens the array NAME that a C program wrote (int64 rows of shape [2],
//! row i = (i, i*i - 7)) with the `mba` crate, checks rows 0..COUNT, then
//! appends rows COUNT..COUNT+MORE by the same rule for a C program to read.
//! Prints the sum of the rows it read.

use mba::{ElemType, Options};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(args.len(), 4, "usage: api_peer NAME COUNT MORE");
    let name = &args[1];
    let count: i64 = args[2].parse().unwrap();
    let more: i64 = args[3].parse().unwrap();
    let a = mba::shm::open(
        name,
        &Options {
            expect: Some(ElemType::I64),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("opening {name}: {e:?}"));
    assert_eq!(a.layout().row_shape, vec![2]);
    assert_eq!(a.row_bytes(), 16);
    assert_eq!(a.len() as i64, count, "the length the C writer left");
    let mut sum: u64 = 0;
    let mut row = [0u8; 16];
    for i in 0..count {
        a.get(i as u64, &mut row).unwrap();
        let x = i64::from_ne_bytes(row[..8].try_into().unwrap());
        let y = i64::from_ne_bytes(row[8..].try_into().unwrap());
        assert_eq!((x, y), (i, i * i - 7), "row {i}");
        sum = sum.wrapping_add(x as u64).wrapping_add(y as u64);
    }
    let mut bytes = Vec::new();
    for i in count..count + more {
        bytes.extend_from_slice(&i.to_ne_bytes());
        bytes.extend_from_slice(&(i * i - 7).to_ne_bytes());
    }
    a.extend(&bytes).unwrap();
    a.flush(0, None, mba::Flush::Sync).unwrap();
    println!("rows={count} sum={sum}");
}

//! Unit tests of the Array API (real files and shared memory).

use super::*;

fn tmpdir() -> String {
    let d = format!(
        "{}/mba-unit-{}-{:x}",
        std::env::temp_dir().display(),
        std::process::id(),
        sys::random_u64()
    );
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn append_read_grow() {
    let d = tmpdir();
    let p = format!("{d}/a.mba");
    let a = Array::open(&p, &Options::create(ElemType::U32)).unwrap();
    for i in 0..100_000u32 {
        a.append(&i.to_ne_bytes()).unwrap();
    }
    assert_eq!(a.len(), 100_000);
    let b = Array::open(
        &p,
        &Options {
            expect: Some(ElemType::U32),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(b.get_int(99_999).unwrap(), 99_999);
    a.append_int(7).unwrap();
    assert_eq!(b.len(), 100_001);
    assert_eq!(b.get_int(100_000).unwrap(), 7);
    assert_eq!(b.get_int(100_001).unwrap_err().code, Code::Index);
    let e = Array::open(
        &p,
        &Options {
            expect: Some(ElemType::F32),
            ..Options::default()
        },
    );
    assert_eq!(e.err().unwrap().code, Code::Type);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn edits() {
    let a = Array::anon(&Options::create(ElemType::I64)).unwrap();
    for i in 0..10 {
        a.append_int(i).unwrap();
    }
    a.insert(2, &100i64.to_ne_bytes()).unwrap();
    a.remove(0, 1).unwrap();
    let mut o = [0u8; 8];
    a.pop(Some(&mut o)).unwrap();
    assert_eq!(i64::from_ne_bytes(o), 9);
    let v: Vec<i128> = (0..a.len()).map(|i| a.get_int(i).unwrap()).collect();
    assert_eq!(v, vec![1, 100, 2, 3, 4, 5, 6, 7, 8]);
    a.truncate(3).unwrap();
    assert_eq!(a.len(), 3);
    a.clear().unwrap();
    assert_eq!(a.pop(None).unwrap_err().code, Code::Empty);
    assert_eq!(
        a.append_int(i64::MAX as i128 + 1).unwrap_err().code,
        Code::Overflow
    );
}

#[test]
fn cow_snapshot_cannot_grow() {
    let d = tmpdir();
    let p = format!("{d}/c.mba");
    let w = Array::open(&p, &Options::create(ElemType::U32)).unwrap();
    for i in 0..3 {
        w.append_int(i).unwrap();
    }
    let c = Array::open(
        &p,
        &Options {
            access: Access::CopyOnWrite,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!((c.len(), c.capacity(), c.max_len()), (3, 3, 3));
    assert_eq!(c.append_int(7).unwrap_err().code, Code::Full);
    assert_eq!(c.reserve(4).unwrap_err().code, Code::Full);
    c.set_int(0, 99).unwrap();
    assert_eq!(w.get_int(0).unwrap(), 0);
    assert_eq!(w.capacity(), 1024, "the file's header is untouched");
    c.pop(None).unwrap();
    c.append_int(8).unwrap();
    assert_eq!(c.append_int(9).unwrap_err().code, Code::Full);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn fifo_is_refused_without_blocking() {
    let d = tmpdir();
    let p = format!("{d}/fifo");
    let c = sys::cstr(&p).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for access in [Access::ReadOnly, Access::ReadWrite, Access::CopyOnWrite] {
        let o = Options {
            access,
            ..Options::default()
        };
        assert_eq!(Array::open(&p, &o).err().unwrap().code, Code::Arg);
    }
    let l = Layout::scalar(ElemType::U8).unwrap();
    assert_eq!(
        Array::map_raw(&p, &l, 0, None, Access::ReadOnly)
            .err()
            .unwrap()
            .code,
        Code::Arg
    );
    std::fs::remove_dir_all(d).unwrap();
}

/// sys::pages_mapped sees this process's page tables: the rows of a new
/// array are not mapped until touched, then they are.
#[test]
fn pages_mapped_follows_first_touch() {
    let d = tmpdir();
    let p = format!("{d}/m.mba");
    let o = Options {
        initial_len: 4096,
        ..Options::create(ElemType::U64)
    };
    let a = Array::open(&p, &o).unwrap();
    let rows = a.row_ptr(0);
    assert!(!sys::pages_mapped(rows, 8), "untouched rows");
    assert!(!sys::pages_mapped(rows, 0), "an empty range");
    a.set_int(0, 1).unwrap();
    assert!(sys::pages_mapped(rows, 8), "row 0 after a store");
    assert!(
        !sys::pages_mapped(rows, 4096 * 8),
        "the last row is untouched"
    );
    std::fs::remove_dir_all(d).unwrap();
}

/// An extend of at least PREFAULT_BYTES into rows the file holds and this
/// process has mapped is copied through the mapping (not pwrite): the
/// other handles and the file see exactly the rows written.
#[test]
fn big_extend_into_mapped_rows() {
    let d = tmpdir();
    let p = format!("{d}/big.mba");
    let a = Array::open(&p, &Options::create(ElemType::U64)).unwrap();
    let n = (PREFAULT_BYTES / 8 + 1000) as usize;
    let first: Vec<u8> = (0..n as u64).flat_map(|i| (!i).to_ne_bytes()).collect();
    for c in first.chunks(64 << 10) {
        a.extend(c).unwrap(); // small extends: stores through the mapping
    }
    assert!(sys::pages_mapped(a.row_ptr(0), first.len()));
    a.clear().unwrap();
    let rows: Vec<u8> = (0..n as u64).flat_map(|i| (i * 3).to_ne_bytes()).collect();
    a.extend(&rows).unwrap();
    assert_eq!(a.len(), n as u64);
    let b = Array::open(&p, &Options::default()).unwrap();
    for i in [0, 1, n as u64 / 2, n as u64 - 1] {
        assert_eq!(b.get_int(i).unwrap(), (i * 3) as i128);
    }
    let file = std::fs::read(&p).unwrap();
    let off = a.data_offset as usize;
    assert!(
        file[off..off + rows.len()] == rows[..],
        "the file holds the rows"
    );
    std::fs::remove_dir_all(d).unwrap();
}

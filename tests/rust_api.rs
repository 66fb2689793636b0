//! The safe Rust API, as a Rust program uses it: real files in a scratch
//! directory, real threads.

mod common;
use common::unique;

use mba::{Access, Array, Code, ElemType, Flush, Kind, Layout, Options};
use std::sync::Arc;
use std::time::Duration;

fn scratch() -> String {
    let d = std::env::temp_dir().join(format!("mba-rust-{}-{:x}", std::process::id(), unique()));
    std::fs::create_dir_all(&d).unwrap();
    d.to_string_lossy().into_owned()
}

fn create(path: &str, t: ElemType) -> Array {
    Array::open(path, &Options::create(t)).unwrap()
}

fn open(path: &str, access: Access) -> mba::Result<Array> {
    Array::open(
        path,
        &Options {
            access,
            ..Options::default()
        },
    )
}

#[test]
fn two_handles_share_elements_and_growth() {
    let d = scratch();
    let p = format!("{d}/a");
    let w = create(&p, ElemType::U64);
    let r = open(&p, Access::ReadOnly).unwrap();
    let ptr = r.as_ptr();
    assert_eq!(r.len(), 0);
    for i in 0..200_000u64 {
        w.append(&i.to_ne_bytes()).unwrap();
    }
    assert!(w.capacity() >= 200_000);
    assert_eq!(r.len(), 200_000, "growth is visible without reopening");
    assert_eq!(r.as_ptr(), ptr, "the element pointer never moves");
    assert_eq!(r.get_int(199_999).unwrap(), 199_999);
    assert_eq!(r.append_int(1).unwrap_err().code, Code::ReadOnly);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn create_exclusive_and_replace() {
    let d = scratch();
    let p = format!("{d}/a");
    let a = create(&p, ElemType::I32);
    a.append_int(-5).unwrap();
    let excl = Options {
        exclusive: true,
        ..Options::create(ElemType::I32)
    };
    assert_eq!(Array::open(&p, &excl).err().unwrap().code, Code::Exists);
    // Creating over an existing array of another type is a type error.
    assert_eq!(
        Array::open(&p, &Options::create(ElemType::F64))
            .err()
            .unwrap()
            .code,
        Code::Type
    );
    let b = Array::open(
        &p,
        &Options {
            replace: true,
            ..Options::create(ElemType::F64)
        },
    )
    .unwrap();
    assert_eq!(b.len(), 0);
    assert_ne!(a.uuid(), b.uuid());
    // The old handle still works on the old (now unnamed) array.
    assert_eq!(a.get_int(0).unwrap(), -5);
    a.append_int(6).unwrap();
    let c = open(&p, Access::ReadWrite).unwrap();
    assert_eq!(c.layout().elem, ElemType::F64);
    assert_eq!(c.uuid(), b.uuid());
    assert_eq!(
        Array::open(&format!("{d}/missing"), &Options::default())
            .err()
            .unwrap()
            .code,
        Code::NotFound
    );
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn new_files_are_private_and_mode_is_exact() {
    use std::os::unix::fs::PermissionsExt;
    let d = scratch();
    let p = format!("{d}/a");
    let _a = create(&p, ElemType::U8);
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let q = format!("{d}/b");
    let _b = Array::open(
        &q,
        &Options {
            mode: 0o644,
            ..Options::create(ElemType::U8)
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(&q).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn copy_on_write_is_a_private_snapshot() {
    let d = scratch();
    let p = format!("{d}/a");
    let w = create(&p, ElemType::U32);
    for i in 0..10 {
        w.append_int(i).unwrap();
    }
    let c = open(&p, Access::CopyOnWrite).unwrap();
    assert_eq!(c.kind(), Kind::Private);
    c.set_int(0, 99).unwrap();
    assert_eq!(c.get_int(0).unwrap(), 99);
    assert_eq!(
        w.get_int(0).unwrap(),
        0,
        "copy-on-write writes never reach the file"
    );
    w.append_int(10).unwrap();
    assert_eq!(c.len(), 10, "the snapshot's length is fixed at open");
    assert_eq!(
        c.wait(c.seq(), Some(Duration::ZERO)).unwrap_err().code,
        Code::NotSup
    );
    c.flush(0, None, Flush::Sync).unwrap();
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn raw_file_with_offset_and_row_shape() {
    let d = scratch();
    let p = format!("{d}/raw.bin");
    let mut bytes = vec![0xEEu8; 12];
    for i in 0..6u16 {
        bytes.extend_from_slice(&i.to_ne_bytes());
    }
    bytes.push(0xAA); // an incomplete trailing row is not mapped
    std::fs::write(&p, &bytes).unwrap();
    let layout = Layout::new(ElemType::U16, 0, &[3]).unwrap();
    let a = Array::map_raw(&p, &layout, 12, None, Access::ReadWrite).unwrap();
    assert_eq!((a.len(), a.row_bytes(), a.kind()), (2, 6, Kind::Raw));
    let mut row = [0u8; 6];
    a.get(1, &mut row).unwrap();
    assert_eq!(row, [3, 0, 4, 0, 5, 0]);
    a.set(0, &[9, 0, 9, 0, 9, 0]).unwrap();
    assert_eq!(a.append(&row).unwrap_err().code, Code::Full);
    a.flush(0, None, Flush::Sync).unwrap();
    drop(a);
    assert_eq!(&std::fs::read(&p).unwrap()[12..18], &[9, 0, 9, 0, 9, 0]);
    let r = Array::map_raw(&p, &layout, 12, Some(3), Access::ReadOnly);
    assert_eq!(r.err().unwrap().code, Code::Truncated);
    let ro = Array::map_raw(&p, &layout, 12, Some(1), Access::ReadOnly).unwrap();
    assert_eq!(ro.set(0, &row).unwrap_err().code, Code::ReadOnly);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn rows_and_records() {
    let layout = Layout::new(ElemType::Record, 5, &[2]).unwrap();
    let a = Array::anon(&Options {
        layout: Some(layout),
        ..Options::create(ElemType::U8)
    })
    .unwrap();
    assert_eq!(a.row_bytes(), 10);
    a.append(b"abcdefghij").unwrap();
    a.extend(b"0123456789klmnopqrst").unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a.append(b"short").unwrap_err().code, Code::Arg);
    assert_eq!(a.append_int(1).unwrap_err().code, Code::Type);
    let mut out = [0u8; 10];
    a.get(2, &mut out).unwrap();
    assert_eq!(&out, b"klmnopqrst");
}

#[test]
fn max_len_and_reserve() {
    let o = Options {
        max_len: 100,
        ..Options::create(ElemType::U64)
    };
    let a = Array::anon(&o).unwrap();
    a.reserve(100).unwrap();
    assert_eq!(a.capacity(), 100);
    assert_eq!(a.reserve(101).unwrap_err().code, Code::Full);
    a.extend(&vec![0u8; 8 * 100]).unwrap();
    assert_eq!(a.append_int(1).unwrap_err().code, Code::Full);
    assert_eq!(a.len(), 100);
}

#[test]
fn threads_append_exactly_once() {
    let a = Arc::new(Array::anon(&Options::create(ElemType::U64)).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || {
                for i in 0..50_000u64 {
                    a.append_int(((t << 32) | i) as i128).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(a.len(), 200_000);
    let mut next = [0u64; 4];
    for i in 0..a.len() {
        let v = a.get_int(i).unwrap() as u64;
        let (t, s) = ((v >> 32) as usize, v & 0xffff_ffff);
        assert_eq!(s, next[t], "writer {t} out of order");
        next[t] += 1;
    }
}

#[test]
fn batch_lock_excludes_other_handles() {
    let d = scratch();
    let p = format!("{d}/a");
    let a = create(&p, ElemType::U32);
    let b = Arc::new(open(&p, Access::ReadWrite).unwrap());
    a.lock().unwrap();
    assert_eq!(a.lock().unwrap_err().code, Code::Busy);
    assert_eq!(b.try_lock().unwrap_err().code, Code::Busy);
    let b2 = b.clone();
    let t = std::thread::spawn(move || b2.append_int(2).unwrap());
    for i in 0..1000 {
        a.append_int(i).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(a.len(), 1000, "the other handle waits for the batch");
    a.unlock().unwrap();
    t.join().unwrap();
    assert_eq!(a.len(), 1001);
    assert_eq!(a.get_int(1000).unwrap(), 2);
    assert_eq!(a.unlock().unwrap_err().code, Code::NotLocked);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn wait_wakes_on_append_and_times_out() {
    let a = Arc::new(Array::anon(&Options::create(ElemType::U32)).unwrap());
    let s0 = a.seq();
    assert_eq!(
        a.wait(s0, Some(Duration::from_millis(10)))
            .unwrap_err()
            .code,
        Code::Timeout
    );
    let a2 = a.clone();
    let t = std::thread::spawn(move || a2.wait(s0, Some(Duration::from_secs(30))));
    std::thread::sleep(Duration::from_millis(20));
    a.append_int(1).unwrap();
    let s1 = t.join().unwrap().unwrap();
    assert!(s1 > s0);
    // Pops lower the length but still advance the counter.
    a.pop(None).unwrap();
    assert!(a.seq() > s1);
}

/// A timeout too large to add to the clock waits forever instead of
/// panicking (0.1.3: "overflow when adding duration to instant").
#[test]
fn wait_with_duration_max_waits_for_a_change() {
    let a = Arc::new(Array::anon(&Options::create(ElemType::U32)).unwrap());
    let s0 = a.seq();
    let a2 = a.clone();
    let t = std::thread::spawn(move || a2.wait(s0, Some(Duration::MAX)));
    std::thread::sleep(Duration::from_millis(20));
    a.append_int(1).unwrap();
    assert!(t.join().unwrap().unwrap() > s0);
}

#[test]
fn corrupt_headers_are_refused_without_damage() {
    use mba::format::*;
    let d = scratch();
    let p = format!("{d}/a");
    let a = create(&p, ElemType::U32);
    a.append_int(7).unwrap();
    drop(a);
    let good = std::fs::read(&p).unwrap();
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(Damage, Code)> = vec![
        (Box::new(|b| b[0] = b'Z'), Code::NotMba),
        (Box::new(|b| b[OFF_MAJOR] = 2), Code::Version),
        (Box::new(|b| b[OFF_TYPE] ^= 0x40), Code::Corrupt),
        (Box::new(|b| b.truncate(300)), Code::Truncated),
        (Box::new(|b| b.truncate(66_000)), Code::Truncated),
        (
            Box::new(|b| b[OFF_LEN..OFF_LEN + 8].copy_from_slice(&u64::MAX.to_le_bytes())),
            Code::Corrupt,
        ),
        (Box::new(|b| b.clear()), Code::Truncated),
    ];
    for (i, (damage, code)) in cases.iter().enumerate() {
        let q = format!("{d}/bad{i}");
        let mut b = good.clone();
        damage(&mut b);
        std::fs::write(&q, &b).unwrap();
        for access in [Access::ReadWrite, Access::ReadOnly, Access::CopyOnWrite] {
            assert_eq!(
                open(&q, access).err().map(|e| e.code),
                Some(*code),
                "case {i} {access:?}"
            );
        }
        assert_eq!(
            std::fs::read(&q).unwrap(),
            b,
            "case {i}: the file is unchanged"
        );
    }
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn shm_names_list_and_unlink() {
    let name = format!("shm://mba-rust-test-{}", std::process::id());
    let a = mba::shm::open(&name, &Options::create(ElemType::I16)).unwrap();
    a.append_int(-3).unwrap();
    assert!(mba::shm::list().unwrap().contains(&name));
    let b = mba::shm::open(
        &name,
        &Options {
            expect: Some(ElemType::I16),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(b.get_int(0).unwrap(), -3);
    mba::shm::unlink(&name).unwrap();
    assert!(!mba::shm::list().unwrap().contains(&name));
    assert_eq!(
        mba::shm::open(&name, &Options::default())
            .err()
            .unwrap()
            .code,
        Code::NotFound
    );
    b.append_int(4).unwrap();
    assert_eq!(a.len(), 2, "existing attachments stay valid after unlink");
    for bad in ["shm://", "shm://a/b", "shm://..", "http://x", ""] {
        assert_eq!(mba::shm::resolve(bad).unwrap_err().code, Code::Arg, "{bad}");
    }
}

#[test]
fn opens_of_one_file_share_one_mapping_per_access() {
    let d = scratch();
    let p = format!("{d}/a");
    let w = create(&p, ElemType::U32);
    w.append_int(7).unwrap();
    let w2 = open(&p, Access::ReadWrite).unwrap();
    assert_eq!(
        w2.as_ptr(),
        w.as_ptr(),
        "a second read-write open reuses the mapping"
    );
    assert_eq!(w2.fd(), w.fd(), "and its descriptor");
    let r = open(&p, Access::ReadOnly).unwrap();
    let r2 = open(&p, Access::ReadOnly).unwrap();
    assert_ne!(
        r.as_ptr(),
        w.as_ptr(),
        "read-only handles never get a writable mapping"
    );
    assert_eq!(r2.as_ptr(), r.as_ptr());
    assert_eq!(r2.append_int(1).unwrap_err().code, Code::ReadOnly);
    let c = open(&p, Access::CopyOnWrite).unwrap();
    assert_ne!(
        c.as_ptr(),
        w.as_ptr(),
        "copy-on-write snapshots are private"
    );
    // The type is checked on the shared path as on the full one.
    let typed = |t| Options {
        expect: Some(t),
        ..Options::default()
    };
    assert_eq!(
        Array::open(&p, &typed(ElemType::F32)).err().unwrap().code,
        Code::Type
    );
    assert_eq!(
        Array::open(&p, &typed(ElemType::U32)).unwrap().as_ptr(),
        w.as_ptr()
    );
    // Each handle has its own lock state and lifetime.
    w.lock().unwrap();
    assert_eq!(w2.try_lock().unwrap_err().code, Code::Busy);
    w.unlock().unwrap();
    drop(w);
    w2.append_int(8).unwrap();
    assert_eq!((r.len(), r2.get_int(1).unwrap()), (2, 8));
    // Growth by one handle: a handle opened afterwards verifies the new
    // capacity against the file before trusting it.
    for i in 0..100_000 {
        w2.append_int(i).unwrap();
    }
    let w3 = open(&p, Access::ReadWrite).unwrap();
    assert_eq!(w3.as_ptr(), w2.as_ptr());
    assert_eq!((w3.len(), w3.capacity()), (w2.len(), w2.capacity()));
    assert_eq!(w3.get_int(100_001).unwrap(), 99_999);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_replaced_or_deleted_name_is_never_served_from_an_old_mapping() {
    let d = scratch();
    let p = format!("{d}/a");
    let old = create(&p, ElemType::U32);
    old.append_int(1).unwrap();
    let repl = Options {
        replace: true,
        ..Options::create(ElemType::U64)
    };
    let new = Array::open(&p, &repl).unwrap();
    let again = open(&p, Access::ReadWrite).unwrap();
    assert_eq!(again.uuid(), new.uuid());
    assert_ne!(again.uuid(), old.uuid());
    assert_eq!(again.layout().elem, ElemType::U64);
    assert_eq!(again.as_ptr(), new.as_ptr());
    std::fs::remove_file(&p).unwrap();
    assert_eq!(
        open(&p, Access::ReadWrite).err().unwrap().code,
        Code::NotFound
    );
    assert_eq!(old.get_int(0).unwrap(), 1, "existing handles stay valid");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_shared_mapping_still_refuses_a_file_truncated_under_it() {
    let d = scratch();
    let p = format!("{d}/a");
    let w = create(&p, ElemType::U8);
    w.reserve(1 << 20).unwrap();
    // Another program cuts the file below the capacity its header claims
    // (beyond what this process has verified so far): the next open looks
    // at the file size instead of trusting the header.
    w.truncate(0).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(65536 + 4096).unwrap();
    let hdr = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    use std::os::unix::fs::FileExt;
    hdr.write_all_at(&(2u64 << 20).to_le_bytes(), 264).unwrap();
    assert_eq!(
        open(&p, Access::ReadWrite).err().unwrap().code,
        Code::Truncated
    );
    drop(w);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn large_extends_go_through_the_file_and_are_seen_by_every_mapping() {
    let d = scratch();
    let p = format!("{d}/big");
    let w = create(&p, ElemType::U64);
    let r = open(&p, Access::ReadOnly).unwrap(); // a mapping of its own
    w.append_int(5).unwrap();
    let rows: Vec<u8> = (0..1_000_000u64)
        .flat_map(|i| (i * 7).to_ne_bytes())
        .collect();
    w.extend(&rows).unwrap(); // 8 MB: past the 4 MiB threshold
    assert_eq!((w.len(), r.len()), (1_000_001, 1_000_001));
    assert!(w.capacity() >= 1_000_001 && r.capacity() >= 1_000_001);
    for i in [0u64, 1, 2, 500_000, 1_000_000] {
        let want = if i == 0 { 5 } else { (i - 1) * 7 };
        assert_eq!(r.get_int(i).unwrap(), want as i128);
        assert_eq!(w.get_int(i).unwrap(), want as i128);
    }
    // Appends after it grow as usual, and a second large extend lands
    // inside capacity already allocated.
    w.append_int(1).unwrap();
    w.reserve(w.len() + 2_000_000).unwrap();
    w.extend(&rows).unwrap();
    assert_eq!(r.len(), 2_000_002);
    assert_eq!(r.get_int(2_000_001).unwrap(), 999_999 * 7);
    // The file covers the capacity, and an anonymous (memfd) array takes
    // the same path.
    assert!(std::fs::metadata(&p).unwrap().len() >= 65536 + w.capacity() * 8);
    let a = Array::anon(&Options::create(ElemType::U64)).unwrap();
    a.extend(&rows).unwrap();
    assert_eq!(a.get_int(999_999).unwrap(), 999_999 * 7);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn concurrent_large_extends_land_whole_and_once() {
    let d = scratch();
    let p = format!("{d}/many");
    let a = Arc::new(create(&p, ElemType::U64));
    const ROWS: u64 = 600_000; // 4.8 MB per extend: the pwrite path
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                let h = open(&p, Access::ReadWrite).unwrap();
                for k in 0..3u64 {
                    let tag = (t * 3 + k) << 32;
                    let rows: Vec<u8> = (0..ROWS).flat_map(|i| (tag | i).to_ne_bytes()).collect();
                    h.extend(&rows).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(a.len(), 12 * ROWS);
    let mut seen = std::collections::HashSet::new();
    for c in 0..12 {
        let first = a.get_int(c * ROWS).unwrap() as u64;
        assert_eq!(first & 0xffff_ffff, 0, "every extend starts a run");
        assert!(seen.insert(first >> 32), "each extend lands once");
        for i in [1, ROWS / 2, ROWS - 1] {
            assert_eq!(a.get_int(c * ROWS + i).unwrap() as u64, first | i);
        }
    }
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn try_set_fast_writes_only_what_it_can_at_once() {
    let d = scratch();
    let p = format!("{d}/set");
    let w = create(&p, ElemType::I64);
    let r = open(&p, Access::ReadOnly).unwrap();
    let v = 7i64.to_ne_bytes();
    // SAFETY: `v` holds one row (8 bytes) in every call below.
    unsafe {
        assert!(
            !w.try_set_fast(0, v.as_ptr()),
            "empty array: nothing to set"
        );
        w.append_int(1).unwrap(); // also takes the handle's lock token
        w.append_int(2).unwrap();
        let s = r.seq();
        assert!(w.try_set_fast(1, v.as_ptr()));
        assert_eq!(r.get_int(1).unwrap(), 7, "seen through another handle");
        assert!(r.seq() > s, "the change counter moves");
        assert!(!w.try_set_fast(2, v.as_ptr()), "index == len");
        assert!(!w.try_set_fast(u64::MAX, v.as_ptr()));
        assert!(!r.try_set_fast(0, v.as_ptr()), "read-only handle");
        // Inside this thread's batch it writes without the lock word...
        w.lock().unwrap();
        assert!(w.try_set_fast(0, v.as_ptr()));
        // ...and another thread's attempt declines instead of waiting.
        let w = Arc::new(w);
        let w2 = w.clone();
        let other = std::thread::spawn(move || w2.try_set_fast(0, 9i64.to_ne_bytes().as_ptr()));
        assert!(!other.join().unwrap());
        w.unlock().unwrap();
        assert_eq!(r.get_int(0).unwrap(), 7);
        assert_eq!(w.len(), 2, "sets never change the length");
    }
    std::fs::remove_dir_all(d).unwrap();
}

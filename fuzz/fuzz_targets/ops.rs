//! Random operation sequences on one array through two handles (and a
//! read-only third), checked after every step against a `Vec` model: the
//! same length and the same rows through every handle, errors exactly where
//! the model says the operation is invalid, and the model unchanged then.
#![no_main]
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mba::{Access, Array, ElemType, Layout, Options};
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const RB: usize = 6; // rows of three u16
const MAX: u64 = 300; // max_len: growth past it must fail cleanly
type Row = [u8; RB];

#[derive(Arbitrary, Debug)]
enum Op {
    Append(bool, Row),
    Extend(bool, Vec<Row>),
    Pop(bool),
    Set(bool, u16, Row),
    Get(bool, u16),
    Insert(bool, u16, Vec<Row>),
    Remove(bool, u16, u8),
    Truncate(bool, u16),
    Reserve(bool, u16),
    Clear(bool),
    Reopen,
}

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mba-fuzz-ops-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&d)
            .expect("private temp dir");
        d
    })
}

fn rw(p: &str) -> Array {
    Array::open(p, &Options::default()).expect("second handle")
}

fuzz_target!(|ops: Vec<Op>| {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = dir().join(format!("a{}", N.fetch_add(1, Ordering::Relaxed)));
    let p = path.to_str().unwrap();
    let o = Options {
        create: true,
        exclusive: true,
        layout: Some(Layout::new(ElemType::U16, 2, &[3]).unwrap()),
        max_len: MAX,
        ..Options::default()
    };
    let a = Array::open(p, &o).expect("create");
    let mut b = rw(p);
    let ro = Array::open(
        p,
        &Options {
            access: Access::ReadOnly,
            ..Options::default()
        },
    )
    .expect("read-only handle");
    let mut m: Vec<Row> = Vec::new();
    for op in ops.iter().take(64) {
        step(&a, &mut b, p, &mut m, op);
        for h in [&a, &b, &ro] {
            check(h, &m);
        }
    }
    drop((a, b, ro));
    let _ = fs::remove_file(&path);
});

fn flat(rows: &[Row]) -> Vec<u8> {
    rows.iter().flatten().copied().collect()
}

fn step(a: &Array, b: &mut Array, p: &str, m: &mut Vec<Row>, op: &Op) {
    let h = |second: bool| if second { &*b } else { a };
    let len = m.len() as u64;
    match op {
        Op::Append(s, r) => {
            let ok = h(*s).append(r).is_ok();
            assert_eq!(ok, len < MAX, "append at {len}");
            if ok {
                m.push(*r);
            }
        }
        Op::Extend(s, rs) => {
            let ok = h(*s).extend(&flat(rs)).is_ok();
            assert_eq!(ok, len + rs.len() as u64 <= MAX, "extend {}", rs.len());
            if ok {
                m.extend_from_slice(rs);
            }
        }
        Op::Pop(s) => {
            let mut out = [0u8; RB];
            let ok = h(*s).pop(Some(&mut out)).is_ok();
            assert_eq!(ok, len > 0, "pop at {len}");
            if ok {
                assert_eq!(Some(out), m.pop(), "popped row");
            }
        }
        Op::Set(s, i, r) => {
            let ok = h(*s).set(*i as u64, r).is_ok();
            assert_eq!(ok, (*i as u64) < len, "set {i} of {len}");
            if ok {
                m[*i as usize] = *r;
            }
        }
        Op::Get(s, i) => {
            let mut out = [0u8; RB];
            let ok = h(*s).get(*i as u64, &mut out).is_ok();
            assert_eq!(ok, (*i as u64) < len, "get {i} of {len}");
            if ok {
                assert_eq!(out, m[*i as usize], "row {i}");
            }
        }
        Op::Insert(s, i, rs) => {
            let i = *i as u64;
            let ok = h(*s).insert(i, &flat(rs)).is_ok();
            assert_eq!(ok, i <= len && len + rs.len() as u64 <= MAX, "insert {i}");
            if ok {
                m.splice(i as usize..i as usize, rs.iter().copied());
            }
        }
        Op::Remove(s, i, n) => {
            let (i, n) = (*i as u64, *n as u64);
            let ok = h(*s).remove(i, n).is_ok();
            assert_eq!(ok, i + n <= len, "remove {i}+{n} of {len}");
            if ok {
                m.drain(i as usize..(i + n) as usize);
            }
        }
        Op::Truncate(s, n) => {
            h(*s).truncate(*n as u64).expect("truncate");
            m.truncate(*n as usize);
        }
        Op::Reserve(s, n) => {
            let ok = h(*s).reserve(*n as u64).is_ok();
            assert_eq!(ok, (*n as u64) <= MAX, "reserve {n}");
        }
        Op::Clear(s) => {
            h(*s).clear().expect("clear");
            m.clear();
        }
        Op::Reopen => *b = rw(p),
    }
}

fn check(h: &Array, m: &[Row]) {
    assert_eq!(h.len(), m.len() as u64, "length");
    let mut all = vec![0u8; m.len() * RB];
    h.read(0, &mut all).expect("read all");
    assert_eq!(all, flat(m), "contents");
}

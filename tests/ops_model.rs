//! Property test (issue 14): random operation sequences on one file-backed
//! array, through two read-write handles, checked after every step against a
//! `Vec` model; both handles (and a read-only third) see the same contents.
//! The same model as the cargo-fuzz target fuzz/fuzz_targets/ops.rs.
mod common;
use common::unique;

use mba::{Access, Array, ElemType, Layout, Options};
use proptest::prelude::*;

const MAX: u64 = 200;
type Row = [u8; 4];

#[derive(Clone, Debug)]
enum Op {
    Append(bool, Row),
    Extend(bool, Vec<Row>),
    Pop(bool),
    Set(bool, u8, Row),
    Insert(bool, u8, Vec<Row>),
    Remove(bool, u8, u8),
    Truncate(bool, u8),
    Reserve(bool, u16),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let row = any::<Row>();
    let rows = prop::collection::vec(any::<Row>(), 0..80);
    prop_oneof![
        (any::<bool>(), row).prop_map(|(s, r)| Op::Append(s, r)),
        (any::<bool>(), rows.clone()).prop_map(|(s, r)| Op::Extend(s, r)),
        any::<bool>().prop_map(Op::Pop),
        (any::<bool>(), any::<u8>(), row).prop_map(|(s, i, r)| Op::Set(s, i, r)),
        (any::<bool>(), any::<u8>(), rows).prop_map(|(s, i, r)| Op::Insert(s, i, r)),
        (any::<bool>(), any::<u8>(), 0u8..20).prop_map(|(s, i, n)| Op::Remove(s, i, n)),
        (any::<bool>(), any::<u8>()).prop_map(|(s, n)| Op::Truncate(s, n)),
        (any::<bool>(), 0u16..300).prop_map(|(s, n)| Op::Reserve(s, n)),
        Just(Op::Reopen),
    ]
}

fn flat(rows: &[Row]) -> Vec<u8> {
    rows.iter().flatten().copied().collect()
}

fn contents(h: &Array) -> Vec<u8> {
    let mut all = vec![0u8; h.len() as usize * 4];
    h.read(0, &mut all).unwrap();
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn ops_match_vec_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = std::env::temp_dir().join(format!("mba-prop-{}-{:x}", std::process::id(), unique()));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("a.mba");
        let p = path.to_str().unwrap();
        let create = Options {
            create: true,
            exclusive: true,
            layout: Some(Layout::scalar(ElemType::U32).unwrap()),
            max_len: MAX,
            ..Options::default()
        };
        let a = Array::open(p, &create).unwrap();
        let mut b = Array::open(p, &Options::default()).unwrap();
        let ro = Array::open(p, &Options { access: Access::ReadOnly, ..Options::default() }).unwrap();
        let mut m: Vec<Row> = Vec::new();
        for op in &ops {
            let len = m.len() as u64;
            let h = |s: bool| if s { &b } else { &a };
            match op {
                Op::Append(s, r) => {
                    prop_assert_eq!(h(*s).append(r).is_ok(), len < MAX);
                    if len < MAX { m.push(*r) }
                }
                Op::Extend(s, rs) => {
                    let ok = len + rs.len() as u64 <= MAX;
                    prop_assert_eq!(h(*s).extend(&flat(rs)).is_ok(), ok);
                    if ok { m.extend_from_slice(rs) }
                }
                Op::Pop(s) => {
                    let mut out = [0u8; 4];
                    prop_assert_eq!(h(*s).pop(Some(&mut out)).is_ok(), len > 0);
                    if len > 0 { prop_assert_eq!(Some(out), m.pop()) }
                }
                Op::Set(s, i, r) => {
                    let ok = (*i as u64) < len;
                    prop_assert_eq!(h(*s).set(*i as u64, r).is_ok(), ok);
                    if ok { m[*i as usize] = *r }
                }
                Op::Insert(s, i, rs) => {
                    let ok = *i as u64 <= len && len + rs.len() as u64 <= MAX;
                    prop_assert_eq!(h(*s).insert(*i as u64, &flat(rs)).is_ok(), ok);
                    if ok { m.splice(*i as usize..*i as usize, rs.iter().copied()); }
                }
                Op::Remove(s, i, n) => {
                    let ok = *i as u64 + *n as u64 <= len;
                    prop_assert_eq!(h(*s).remove(*i as u64, *n as u64).is_ok(), ok);
                    if ok { m.drain(*i as usize..(*i + *n) as usize); }
                }
                Op::Truncate(s, n) => {
                    h(*s).truncate(*n as u64).unwrap();
                    m.truncate(*n as usize);
                }
                Op::Reserve(s, n) => {
                    prop_assert_eq!(h(*s).reserve(*n as u64).is_ok(), *n as u64 <= MAX);
                }
                Op::Reopen => b = Array::open(p, &Options::default()).unwrap(),
            }
            for h in [&a, &b, &ro] {
                prop_assert_eq!(contents(h), flat(&m));
            }
        }
        drop((a, b, ro));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

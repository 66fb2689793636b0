//! Criterion micro-benchmarks of the core, in process (no FFI, no second
//! process): `Array::append` of one u32 (the multi-writer path: lock word,
//! copy, release store of `len`, unlock), the same inside one
//! `lock`/`unlock` batch, and the `lock` + `unlock` pair alone.
//! The cross-process figures, each beside its C floor, are in bench/
//! (`bash bench/run.sh`).
//!
//!     cargo bench --bench core              # full
//!     cargo bench --bench core -- --quick   # a few seconds per benchmark
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mba::{Array, ElemType, Options};

/// Rows appended between two `clear`s (the clear is not timed): the array
/// stays within a prefaulted 16 MiB, so growth and page faults are not
/// measured here.
const CHUNK: u64 = 4 << 20;

fn anon_u32() -> Array {
    let mut o = Options::create(ElemType::U32);
    o.capacity = CHUNK;
    let a = Array::anon(&o).expect("anonymous array");
    // Prefault the capacity once, as the C floor of bench/ does.
    for i in 0..CHUNK as u32 {
        a.append(&i.to_ne_bytes()).expect("append");
    }
    a.clear().expect("clear");
    a
}

/// Times `iters` calls of `f`, clearing the array (untimed) every CHUNK rows.
fn timed(a: &Array, iters: u64, mut f: impl FnMut(u32)) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        a.clear().expect("clear");
        let t0 = Instant::now();
        for i in 0..n as u32 {
            f(i);
        }
        total += t0.elapsed();
        left -= n;
    }
    total
}

fn append(c: &mut Criterion) {
    let a = anon_u32();
    c.bench_function("Array::append u32", |b| {
        b.iter_custom(|iters| {
            timed(&a, iters, |i| {
                a.append(std::hint::black_box(&i.to_ne_bytes())).unwrap()
            })
        })
    });
    c.bench_function("Array::append u32 inside lock/unlock", |b| {
        b.iter_custom(|iters| {
            a.lock().expect("lock");
            let t = timed(&a, iters, |i| {
                a.append(std::hint::black_box(&i.to_ne_bytes())).unwrap()
            });
            a.unlock().expect("unlock");
            t
        })
    });
}

fn lock_pair(c: &mut Criterion) {
    let a = anon_u32();
    c.bench_function("Array::lock + Array::unlock", |b| {
        b.iter(|| {
            a.lock().unwrap();
            a.unlock().unwrap();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500));
    targets = append, lock_pair
}
criterion_main!(benches);

//! Multi-process guarantees of libmba, proved with real processes and real
//! kills (no mocks): C programs from `ffi-tests/c/mp_*.c` linked against the
//! release libmba.so, the Rust writer `src/bin/mp_writer.rs` (the `mba`
//! crate), and `mp_rawwriter.c`, which follows docs/FORMAT.md without libmba.
//!
//! Records are 16 bytes: writer id, seq (1, 2, 3 ... per writer) and a check
//! word (see `ffi-tests/c/mp_common.h`), so every row tells who wrote it,
//! in which order, and whether it is complete.
//!
//! No test asserts a duration; every child has a generous deadline after
//! which it is killed and the test fails instead of hanging. The tests of
//! this file run one at a time (they share 2 cores). Set MBA_KILLS=1000 (or
//! run bench/crash-loop.sh) for a longer crash loop.

use mba::format::{LOCK_BASE, OFF_LEN, OFF_LOCK};
use mba::{Access, Array, ElemType, Layout, Options};
use mba_ffi_tests::proc::Proc;
use mba_ffi_tests::scratch;
use mba_ffi_tests::{c_prog, serial};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ harness

fn rust_writer() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mp_writer"))
}

fn rand_u64() -> u64 {
    mba_ffi_tests::random_u64()
}

/// State letter of a process in /proc (R, S, D, Z ...).
fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits (up to 10 s) until `pid` sleeps, so a wake-up really wakes it.
/// Not an assertion: if it never is seen asleep the test goes on.
fn until_sleeping(pid: i32) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if proc_state(pid) == Some('S') {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A named test array, removed when dropped.
struct TestArray {
    name: String,
    path: PathBuf,
    arr: Array,
    _dir: Option<DirGuard>,
}

struct DirGuard(PathBuf);
impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for TestArray {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

static NAME_SEQ: AtomicU32 = AtomicU32::new(0);

impl TestArray {
    /// A new array of 16-byte records: in /dev/shm (`shm`) or in a scratch
    /// directory, with a small initial capacity so that it grows under
    /// contention, and a bounded max_len so that nothing fills up.
    fn records(tag: &str, shm: bool, capacity: u64, max_len: u64) -> TestArray {
        Self::create(
            tag,
            shm,
            Layout::new(ElemType::Record, 16, &[]).unwrap(),
            capacity,
            max_len,
        )
    }

    fn u64s(tag: &str) -> TestArray {
        Self::create(
            tag,
            true,
            Layout::scalar(ElemType::U64).unwrap(),
            0,
            1 << 20,
        )
    }

    fn create(tag: &str, shm: bool, layout: Layout, capacity: u64, max_len: u64) -> TestArray {
        let uniq = format!(
            "mba-mp-{tag}-{}-{}-{:x}",
            std::process::id(),
            NAME_SEQ.fetch_add(1, Ordering::Relaxed),
            rand_u64() & 0xffff_ffff
        );
        let (name, path, dir) = if shm {
            (
                format!("shm://{uniq}"),
                PathBuf::from(format!("/dev/shm/{uniq}")),
                None,
            )
        } else {
            let d = scratch(tag);
            let p = d.join(format!("{uniq}.mba"));
            (p.display().to_string(), p, Some(DirGuard(d)))
        };
        let arr = mba::shm::open(
            &name,
            &Options {
                create: true,
                exclusive: true,
                layout: Some(layout),
                capacity,
                max_len,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        TestArray {
            name,
            path,
            arr,
            _dir: dir,
        }
    }

    /// A fresh handle (proves the array opens: header valid, len <= cap).
    fn reopen(&self) -> Array {
        mba::shm::open(
            &self.name,
            &Options {
                access: Access::ReadOnly,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("re-opening {}: {e}", self.name))
    }

    /// The lock word, read from the mapped header.
    fn lock_word(&self) -> u32 {
        // SAFETY: len_ptr points OFF_LEN bytes into the mapped header, whose
        // 4-byte lock word at OFF_LOCK is aligned and mapped as long as arr.
        unsafe {
            let hdr = (self.arr.len_ptr() as *const u8).sub(OFF_LEN);
            (*(hdr.add(OFF_LOCK) as *const std::sync::atomic::AtomicU32)).load(Ordering::SeqCst)
        }
    }
}

/// Is the byte lock of `token` held (its owner alive)? F_OFD_GETLK through a
/// description of our own, which holds no locks.
fn token_alive(path: &Path, token: u32) -> bool {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: an all-zero flock is valid; F_OFD_GETLK only writes into it.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = LOCK_BASE + token as i64;
    fl.l_len = 1;
    // SAFETY: valid descriptor and flock.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
    assert_eq!(r, 0, "F_OFD_GETLK");
    fl.l_type != libc::F_UNLCK as libc::c_short
}

fn check_word(writer: u32, seq: u32) -> u64 {
    let mut z = ((writer as u64) << 32) | seq as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Reads every row below len through `a` and checks: len <= capacity, each
/// row a complete record, each writer's seqs exactly 1, 2, 3 ... in array
/// order (so no record lost before a later one, none duplicated). Returns
/// writer -> number of records.
fn verify(a: &Array, what: &str) -> BTreeMap<u32, u32> {
    let len = a.len();
    let cap = a.capacity();
    assert!(len <= cap, "{what}: len {len} > capacity {cap}");
    let mut buf = vec![0u8; (len * 16) as usize];
    a.read(0, &mut buf).unwrap();
    let mut last: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, r) in buf.chunks_exact(16).enumerate() {
        let w = u32::from_ne_bytes(r[0..4].try_into().unwrap());
        let s = u32::from_ne_bytes(r[4..8].try_into().unwrap());
        let c = u64::from_ne_bytes(r[8..16].try_into().unwrap());
        assert!(
            w != 0 && s != 0 && c == check_word(w, s),
            "{what}: row {i} of {len} is not a complete record: writer {w} seq {s} check {c:#x}"
        );
        let l = last.entry(w).or_insert(0);
        assert_eq!(
            s,
            *l + 1,
            "{what}: row {i}: writer {w} has seq {s} after {} (lost, duplicated or reordered)",
            *l
        );
        *l = s;
    }
    last
}

/// How a writer process is made.
#[derive(Clone, Copy, Debug)]
enum Lang {
    C,
    Rust,
    Raw,
}

const MODES: [&str; 4] = ["append", "batch", "extend", "mixed"];

fn writer_cmd(lang: Lang, name: &str, id: u32, count: u64, mode: &str, go: bool) -> Command {
    let prog = match lang {
        Lang::C => c_prog("mp_writer"),
        Lang::Rust => rust_writer(),
        Lang::Raw => c_prog("mp_rawwriter"),
    };
    let mut c = Command::new(prog);
    c.arg(name).arg(id.to_string()).arg(count.to_string());
    if !matches!(lang, Lang::Raw) {
        c.arg(mode);
    }
    c.arg(rand_u64().to_string());
    if go {
        c.arg("go");
    }
    c
}

/// Runs the writers (lang, mode) with `count` records each, all released
/// together, plus a reader that opened at length 0; checks exactly-once.
fn exactly_once(tag: &str, shm: bool, writers: &[(Lang, &str)], count: u64, rdonly_reader: bool) {
    let ta = TestArray::records(tag, shm, 256, 1 << 24);
    let total = count * writers.len() as u64;
    let mut reader = Proc::spawn(
        format!("{tag} reader"),
        Command::new(c_prog("mp_reader")).args([
            ta.name.as_str(),
            &total.to_string(),
            "150",
            if rdonly_reader { "rdonly" } else { "rw" },
        ]),
    );
    let ready = reader.line(Duration::from_secs(30));
    assert!(ready.starts_with("ready len=0"), "{ready}");
    let mut procs: Vec<(u32, Proc)> = writers
        .iter()
        .enumerate()
        .map(|(i, (lang, mode))| {
            let id = i as u32 + 1;
            let what = format!("{tag} writer {id} ({lang:?} {mode})");
            (
                id,
                Proc::spawn(
                    what,
                    &mut writer_cmd(*lang, &ta.name, id, count, mode, true),
                ),
            )
        })
        .collect();
    for (_, p) in procs.iter_mut() {
        p.go();
    }
    for (id, p) in procs.iter_mut() {
        let out = p.success(Duration::from_secs(150));
        assert_eq!(
            out.last().map(String::as_str),
            Some(format!("done {id} {count}").as_str())
        );
    }
    let out = reader.success(Duration::from_secs(150));
    let got = verify(&ta.reopen(), tag);
    let want: BTreeMap<u32, u32> = (1..=writers.len() as u32)
        .map(|i| (i, count as u32))
        .collect();
    assert_eq!(got, want, "{tag}: records per writer");
    assert_eq!(ta.arr.len(), total);
    println!(
        "{tag}: {} writers x {count} records, exactly once, in order; reader: {}; capacity {}",
        writers.len(),
        out.join(" "),
        ta.arr.capacity()
    );
}

// ------------------------------------------------------------------- tests

/// Guarantee 1 (and 2): 2 processes, C and Rust, single appends and
/// mba_lock batches; a read-write reader opened at length 0 checks every
/// row as soon as the length covers it.
#[test]
fn exactly_once_2_writers() {
    let _s = serial();
    exactly_once(
        "eo2",
        false,
        &[(Lang::C, "append"), (Lang::Rust, "batch")],
        100_000,
        false,
    );
}

/// Guarantee 1: 4 processes (C and Rust; append, batch, extend, mixed),
/// shared memory, read-only reader.
#[test]
fn exactly_once_4_writers() {
    let _s = serial();
    let w: Vec<(Lang, &str)> = (0..4)
        .map(|i| (if i % 2 == 0 { Lang::C } else { Lang::Rust }, MODES[i]))
        .collect();
    exactly_once("eo4", true, &w, 100_000, true);
}

/// Guarantee 1: 8 processes on 2 cores (lock holders get preempted).
#[test]
fn exactly_once_8_writers() {
    let _s = serial();
    let w: Vec<(Lang, &str)> = (0..8)
        .map(|i| {
            (
                if i % 2 == 0 { Lang::C } else { Lang::Rust },
                MODES[(i + i / 4) % 4],
            )
        })
        .collect();
    exactly_once("eo8", false, &w, 100_000, false);
}

/// The specification is implementable: two writers that follow only
/// docs/FORMAT.md (mp_rawwriter.c, no libmba) append concurrently with
/// C and Rust libmba writers; every record lands exactly once.
#[test]
fn compatible_raw_writer() {
    let _s = serial();
    exactly_once(
        "compat",
        true,
        &[
            (Lang::Raw, ""),
            (Lang::C, "append"),
            (Lang::Raw, ""),
            (Lang::Rust, "mixed"),
            (Lang::C, "batch"),
        ],
        100_000,
        false,
    );
}

/// Guarantee 2: readers (read-write and read-only) that opened at length 0,
/// with the element pointer taken once, follow 1000x growth without
/// re-opening; the pointer never moves.
#[test]
fn readers_follow_growth() {
    let _s = serial();
    let ta = TestArray::records("growth", true, 256, 1 << 22);
    let mut readers: Vec<Proc> = ["rw", "rdonly"]
        .iter()
        .map(|m| {
            Proc::spawn(
                format!("reader {m}"),
                Command::new(c_prog("mp_reader")).args([ta.name.as_str(), "300000", "120", m]),
            )
        })
        .collect();
    for r in readers.iter_mut() {
        let l = r.line(Duration::from_secs(30));
        assert!(l.starts_with("ready len=0 cap=256"), "{l}");
    }
    let mut w1 = Proc::spawn(
        "C writer",
        &mut writer_cmd(Lang::C, &ta.name, 1, 200_000, "append", false),
    );
    let mut w2 = Proc::spawn(
        "Rust writer",
        &mut writer_cmd(Lang::Rust, &ta.name, 2, 100_000, "extend", false),
    );
    w1.success(Duration::from_secs(120));
    w2.success(Duration::from_secs(120));
    for r in readers.iter_mut() {
        let out = r.success(Duration::from_secs(120));
        let ok = out.last().cloned().unwrap_or_default();
        let growths: u64 = ok
            .split_whitespace()
            .find_map(|t| t.strip_prefix("growths="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(
            ok.starts_with("ok rows=300000") && growths > 0,
            "{}: {ok}",
            r.what
        );
        println!("{}: {ok}", r.what);
    }
    verify(&ta.reopen(), "growth");
}

/// SIGKILLs writers in the middle of 4 MiB extends, which the library
/// writes through the file with one pwrite before it publishes them: after
/// every kill each record is complete and there exactly once, a write cut
/// short leaves only invisible bytes past the length, and the writers that
/// come after reuse that space and take the dead writer's lock.
#[test]
fn crash_during_big_extends() {
    let _s = serial();
    let mut seed = rand_u64() | 1;
    let mut rnd = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    // 128 MiB on disk: room for 32 extends of 4 MiB, which two writers
    // cannot make within one round's sleep (each takes 1-2 ms here).
    let ta = TestArray::records("bigcrash", false, 256, 1 << 23);
    let (mut next_id, mut kills, mut cut_short, mut rounds) = (1u32, 0u32, 0u32, 0u32);
    let mut full = false;
    while !full && rounds < 40 {
        rounds += 1;
        let mut ws: Vec<Proc> = (0..2)
            .map(|_| {
                next_id += 1;
                Proc::spawn(
                    format!("big writer {next_id}"),
                    &mut writer_cmd(Lang::C, &ta.name, next_id, 0, "big", false),
                )
            })
            .collect();
        std::thread::sleep(Duration::from_micros(300 + rnd() % 3000));
        for w in ws.iter_mut() {
            match w.kill() {
                Some(st) if st.signal() == Some(libc::SIGKILL) => kills += 1,
                Some(st) => {
                    assert_eq!(st.code(), Some(3), "{} failed: {st:?}", w.what);
                    full = true;
                }
                None => {}
            }
        }
        let size = std::fs::metadata(&ta.path).unwrap().len();
        if size > 65536 + ta.arr.capacity() * 16 {
            cut_short += 1; // bytes written past the capacity, never published
        }
        verify(&ta.reopen(), &format!("big-extend crash round {rounds}"));
    }
    // A writer after the kills takes the lock and fills what is left.
    next_id += 1;
    let before = verify(&ta.reopen(), "before the last writer");
    let mut w = Proc::spawn(
        "post-crash batch writer",
        &mut writer_cmd(Lang::C, &ta.name, next_id, 0, "batch", false),
    );
    let (st, _) = w.finish(Duration::from_secs(120));
    assert_eq!(
        st.code(),
        Some(3),
        "the last writer fills the array: {st:?}"
    );
    let after = verify(&ta.reopen(), "after the last writer");
    assert_eq!(ta.arr.len(), ta.arr.max_len());
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "writer {k} changed");
    }
    println!(
        "big extends: {kills} SIGKILLs in {rounds} rounds, {cut_short} left bytes past the \
         capacity; the array then filled to {} records",
        ta.arr.len()
    );
    assert!(kills > 0, "no writer was killed");
    assert!(cut_short > 0, "no kill landed inside a write");
}

/// Guarantee 4: writers (C, Rust, and the FORMAT.md-only raw writer; single
/// appends, mba_lock batches, extends) are SIGKILLed at random instants,
/// some timed to land near a growth, while others keep appending. After
/// every kill the array opens; after every round each row below len is a
/// complete record, no record is duplicated, each writer's records are in
/// order with none missing before its last; and a new writer gets the lock.
#[test]
fn crash_loop() {
    let _s = serial();
    let target: u64 = std::env::var("MBA_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let started = Instant::now();
    let mut seed = rand_u64() | 1;
    println!("crash_loop: seed {seed}, {target} kills");
    let mut rnd = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut next_id: u32 = 1;
    let (mut kills, mut dead_holders, mut mid_growth, mut rounds, mut targeted) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut growths_total = 0u64;
    while kills < target {
        rounds += 1;
        let ta = TestArray::records("crash", rounds % 2 == 0, 256, 1 << 19);
        let spawn = |id: u32, r: u64| -> (Lang, Proc) {
            let lang = match r % 5 {
                0 | 1 => Lang::C,
                2 | 3 => Lang::Rust,
                _ => Lang::Raw,
            };
            let mode = MODES[(r / 5 % 4) as usize];
            let mut cmd = writer_cmd(lang, &ta.name, id, 0, mode, false);
            (
                lang,
                Proc::spawn(format!("crash writer {id} ({lang:?} {mode})"), &mut cmd),
            )
        };
        let mut slots: Vec<(Lang, Proc)> = (0..4)
            .map(|_| {
                next_id += 1;
                spawn(next_id, rnd())
            })
            .collect();
        let mut full = false;
        let mut round_kills = 0;
        let mut last_cap = ta.arr.capacity();
        // Inspect the array right after a kill: it opens, and if the lock
        // word names a dead token, count it (the next writer must recover).
        let inspect = |dead_holders: &mut u64, mid_growth: &mut u64| {
            let a = ta.reopen();
            assert!(a.len() <= a.capacity());
            let t = ta.lock_word();
            if t != 0 && !token_alive(&ta.path, t) && ta.lock_word() == t {
                *dead_holders += 1;
                let size = std::fs::metadata(&ta.path).unwrap().len();
                if size > 65536 + ta.arr.capacity() * 16 {
                    // space allocated, capacity not yet raised: died in growth
                    *mid_growth += 1;
                }
            }
        };
        while round_kills < 25 && kills < target && !full {
            for (lang, p) in slots.iter_mut() {
                if let Some(st) = p.try_status() {
                    assert_eq!(
                        st.code(),
                        Some(3),
                        "{} ({lang:?}) failed: {st:?}: {}",
                        p.what,
                        p.err_text()
                    );
                    full = true;
                }
            }
            if full {
                break;
            }
            if rnd() % 3 == 0 {
                // Aim at a growth: wait until the length nears the capacity.
                targeted += 1;
                let end = Instant::now() + Duration::from_millis(20);
                while Instant::now() < end {
                    let (l, c) = (ta.arr.len(), ta.arr.capacity());
                    if c != last_cap || c - l <= c / 32 {
                        break;
                    }
                    std::hint::spin_loop();
                }
            } else {
                std::thread::sleep(Duration::from_micros(rnd() % 3000));
            }
            let i = (rnd() % 4) as usize;
            let st = slots[i].1.kill();
            if let Some(st) = st {
                if st.signal() != Some(libc::SIGKILL) {
                    assert_eq!(
                        st.code(),
                        Some(3),
                        "{} failed: {st:?}: {}",
                        slots[i].1.what,
                        slots[i].1.err_text()
                    );
                    full = true;
                }
            }
            kills += 1;
            round_kills += 1;
            inspect(&mut dead_holders, &mut mid_growth);
            let c = ta.arr.capacity();
            if c != last_cap {
                growths_total += 1;
                last_cap = c;
            }
            next_id += 1;
            slots[i] = spawn(next_id, rnd());
        }
        for (_, p) in slots.iter_mut() {
            if let Some(st) = p.kill() {
                if st.signal() == Some(libc::SIGKILL) {
                    kills += 1;
                } else {
                    assert_eq!(
                        st.code(),
                        Some(3),
                        "{} failed: {st:?}: {}",
                        p.what,
                        p.err_text()
                    );
                }
            }
        }
        inspect(&mut dead_holders, &mut mid_growth);
        let before = verify(&ta.reopen(), &format!("crash round {rounds}"));
        // The lock is usable again: a new writer (in batch mode: it must
        // take the lock even if the array is full) finishes.
        next_id += 1;
        let mut w = Proc::spawn(
            "post-crash writer",
            &mut writer_cmd(Lang::C, &ta.name, next_id, 1000, "batch", false),
        );
        let (st, out) = w.finish(Duration::from_secs(60));
        let after = verify(&ta.reopen(), &format!("crash round {rounds} (after)"));
        match st.code() {
            Some(0) => assert_eq!(after.get(&next_id), Some(&1000), "{out:?}"),
            Some(3) => assert_eq!(
                ta.arr.len(),
                ta.arr.max_len(),
                "full but len < max_len: {out:?}"
            ),
            _ => panic!("post-crash writer failed: {st:?} {out:?} {}", w.err_text()),
        }
        for (k, v) in &before {
            assert_eq!(
                after.get(k),
                Some(v),
                "writer {k} changed after the crash round"
            );
        }
    }
    println!(
        "crash_loop: {kills} SIGKILLs in {rounds} rounds ({:.1} s); {dead_holders} left the lock \
         held by a dead writer (all recovered), {mid_growth} of them between fallocate and the \
         capacity store; {targeted} kills aimed at growth, {growths_total} growths seen",
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= target);
    assert!(
        dead_holders > 0,
        "no kill hit a lock holder: recovery was not exercised"
    );
}

/// Opening never fails while another process grows the array. (Regression:
/// the opener read the file size before the capacity word, so a growth in
/// between made a healthy array look truncated: MBA_E_TRUNCATED, "file
/// holds N rows but its header claims a capacity of 2N".)
#[test]
fn open_races_growth() {
    let _s = serial();
    let (mut opens, mut growths) = (0u64, 0u64);
    for round in 0..12 {
        let ta = TestArray::records("opengrow", round % 2 == 0, 256, 1 << 20);
        let mut w = Proc::spawn(
            "filling writer",
            &mut writer_cmd(Lang::C, &ta.name, 1, 0, "append", false),
        );
        let mut last_cap = 0;
        let end = Instant::now() + Duration::from_secs(60);
        while w.try_status().is_none() {
            assert!(Instant::now() < end, "writer did not fill the array");
            let a = mba::shm::open(
                &ta.name,
                &Options {
                    access: if opens % 2 == 0 {
                        Access::ReadOnly
                    } else {
                        Access::ReadWrite
                    },
                    ..Options::default()
                },
            )
            .unwrap_or_else(|e| panic!("open #{opens} during growth failed: {e}"));
            opens += 1;
            if a.capacity() != last_cap {
                growths += 1;
                last_cap = a.capacity();
            }
        }
        let (st, _) = w.finish(Duration::from_secs(10));
        assert_eq!(st.code(), Some(3), "{}", w.err_text());
        verify(&ta.reopen(), "opengrow");
    }
    println!("open_races_growth: {opens} opens during {growths}+ growths, all succeeded");
}

// ------------------------------------------------------- no space, rlimit

/// A 4 MiB tmpfs mounted for one test and always unmounted (even when the
/// test fails) by its guard. Never the real /tmp or /dev/shm.
struct TmpfsMount(PathBuf);

impl TmpfsMount {
    fn mount(tag: &str) -> Result<TmpfsMount, String> {
        let d = scratch(tag);
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs"])
            .arg(&d)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir(&d);
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(TmpfsMount(d))
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        if std::fs::remove_dir(&self.0).is_err() {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

/// Checks the array left by mp_nospace from this (another) process.
fn check_nospace_array(line: &str) {
    let name = line
        .split_whitespace()
        .find_map(|t| t.strip_prefix("name="))
        .unwrap();
    let rows: u64 = line
        .split_whitespace()
        .find_map(|t| t.strip_prefix("rows="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    let a = mba::shm::open(
        name,
        &Options {
            access: Access::ReadOnly,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(a.len(), rows);
    assert!(a.len() <= a.capacity());
    for i in 0..rows {
        assert_eq!(a.get_int(i).unwrap(), (i * 3 + 1) as i128, "row {i}");
    }
}

/// Guarantee 3 on a full filesystem: appends, extends, reserves and locked
/// batches fail with MBA_E_NOSPACE, the process lives (no SIGBUS), every
/// earlier element reads back (in this process and another), and appends
/// work again once space is freed.
#[test]
fn full_filesystem_gives_nospace() {
    let _s = serial();
    let prog = c_prog("mp_nospace");
    match TmpfsMount::mount("tmpfs") {
        Ok(m) => {
            let mut p = Proc::spawn("mp_nospace fill", Command::new(&prog).arg("fill").arg(&m.0));
            let (st, out) = p.finish(Duration::from_secs(60));
            assert!(
                st.success(),
                "mp_nospace fill: {st:?} (signal {:?}) {out:?} {}",
                st.signal(),
                p.err_text()
            );
            println!("full tmpfs: {}", out.join(" "));
            check_nospace_array(out.last().unwrap());
        }
        Err(why) => {
            // Not allowed to mount here: try a private mount namespace.
            let script = "mount -t tmpfs -o size=4m tmpfs \"$1\" && shift && exec \"$@\"";
            let d = scratch("tmpfs-ns");
            let _g = DirGuard(d.clone());
            let mut p = Proc::spawn(
                "unshare mp_nospace fill",
                Command::new("unshare")
                    .args(["-Urm", "sh", "-c", script, "sh"])
                    .arg(&d)
                    .arg(&prog)
                    .arg("fill")
                    .arg(&d),
            );
            let (st, out) = p.finish(Duration::from_secs(60));
            if out.is_empty() && !st.success() {
                println!(
                    "SKIPPED full_filesystem_gives_nospace: {why}; unshare -Urm: {}",
                    p.err_text()
                );
                return;
            }
            assert!(
                st.success(),
                "mp_nospace fill in a namespace: {st:?} {out:?} {}",
                p.err_text()
            );
            println!("full tmpfs (private mount namespace): {}", out.join(" "));
        }
    }
}

/// Guarantee 3 under RLIMIT_FSIZE (set in the child before appending): the
/// child gets MBA_E_NOSPACE, is not killed by SIGXFSZ, and the data stays.
#[test]
fn rlimit_fsize_gives_nospace() {
    let _s = serial();
    let d = scratch("rlimit");
    let _g = DirGuard(d.clone());
    let mut p = Proc::spawn(
        "mp_nospace rlimit",
        Command::new(c_prog("mp_nospace")).arg("rlimit").arg(&d),
    );
    let (st, out) = p.finish(Duration::from_secs(60));
    assert!(
        st.success(),
        "mp_nospace rlimit: {st:?} (signal {:?}) {out:?} {}",
        st.signal(),
        p.err_text()
    );
    println!("RLIMIT_FSIZE: {}", out.join(" "));
    check_nospace_array(out.last().unwrap());
}

// -------------------------------------------------------------------- fork

/// Guarantee 5: parent and two forked children append through the one
/// inherited handle at the same time (each child takes its own token).
#[test]
fn fork_children_append_concurrently() {
    let _s = serial();
    let ta = TestArray::records("fork", true, 256, 1 << 20);
    let mut p = Proc::spawn(
        "mp_fork concurrent",
        Command::new(c_prog("mp_fork")).args(["concurrent", &ta.name, "10"]),
    );
    p.success(Duration::from_secs(60));
    let got = verify(&ta.reopen(), "fork");
    assert_eq!(got, BTreeMap::from([(10, 20000), (11, 20000), (12, 20000)]));
}

/// Guarantee 5: the parent holds mba_lock; the child does not share that
/// ownership (trylock BUSY, unlock NOTLOCKED) and its append waits for the
/// parent's unlock.
#[test]
fn fork_child_waits_for_parents_lock() {
    let _s = serial();
    let ta = TestArray::records("forklock", false, 256, 1 << 20);
    let mut p = Proc::spawn(
        "mp_fork lockheld",
        Command::new(c_prog("mp_fork")).args(["lockheld", &ta.name, "20"]),
    );
    let out = p.success(Duration::from_secs(60));
    assert_eq!(out, vec!["ok lockheld".to_string()]);
    verify(&ta.reopen(), "forklock");
}

/// Guarantee 5 (and 4): the parent holds mba_lock and is SIGKILLed; the
/// forked child, which inherited the parent's descriptors, recovers the
/// lock (its inherited token descriptor was closed at fork, so the dead
/// parent's byte lock is really gone).
#[test]
fn fork_child_recovers_killed_parents_lock() {
    let _s = serial();
    let ta = TestArray::records("forkkill", true, 256, 1 << 20);
    let mut p = Proc::spawn(
        "mp_fork parentkilled",
        Command::new(c_prog("mp_fork")).args(["parentkilled", &ta.name, "30"]),
    );
    let l = p.line(Duration::from_secs(30));
    let child: i32 = l
        .strip_prefix("locked child=")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{l}"));
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            // SAFETY: kill(2); the pid is our grandchild (harmless if gone).
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
    let _k = KillOnDrop(child);
    assert_ne!(ta.lock_word(), 0, "the parent holds the lock");
    p.kill();
    // The child reports through the stdout it inherited.
    let got = p.line(Duration::from_secs(30));
    assert_eq!(got, "ok parentkilled: child recovered the lock");
    let v = verify(&ta.reopen(), "forkkill");
    assert_eq!(v, BTreeMap::from([(30, 2), (31, 2)]));
}

// -------------------------------------------------------------------- wait

fn waiter(ta: &TestArray, args: &[&str]) -> Proc {
    let mut p = Proc::spawn(
        format!("mp_wait {args:?}"),
        Command::new(c_prog("mp_wait")).arg(&ta.name).args(args),
    );
    let l = p.line(Duration::from_secs(30));
    assert!(l.starts_with("waiting seq="), "{l}");
    p
}

/// Guarantee 6: a read-write waiter (futex) and a read-only waiter (1 ms
/// slices) in other processes are woken by an append.
#[test]
fn wait_woken_by_append() {
    let _s = serial();
    for args in [&["30000"][..], &["30000", "rdonly"][..], &["-1"][..]] {
        let ta = TestArray::u64s("wait");
        let mut p = waiter(&ta, args);
        until_sleeping(p.pid());
        ta.arr.append_int(42).unwrap();
        let out = p.success(Duration::from_secs(30));
        assert!(out[0].starts_with("woken seq=1 len=1"), "{args:?}: {out:?}");
    }
}

/// Guarantee 6: a waiter is woken at mba_unlock of a batch by another
/// process (the appends under the lock changed the counter).
#[test]
fn wait_woken_by_batch_unlock() {
    let _s = serial();
    let ta = TestArray::u64s("waitbatch");
    let mut p = waiter(&ta, &["30000"]);
    until_sleeping(p.pid());
    ta.arr.lock().unwrap();
    for i in 0..10 {
        ta.arr.append_int(i).unwrap();
    }
    ta.arr.unlock().unwrap();
    let out = p.success(Duration::from_secs(30));
    assert!(out[0].starts_with("woken"), "{out:?}");
    println!("woken after a batch of 10: {}", out[0]);
}

/// Guarantee 6: MBA_E_TIMEOUT after the timeout (read-write, read-only, and
/// a zero timeout that only checks).
#[test]
fn wait_times_out() {
    let _s = serial();
    let ta = TestArray::u64s("waitto");
    for args in [&["50"][..], &["50", "rdonly"][..], &["0"][..]] {
        let mut p = waiter(&ta, args);
        let (st, out) = p.finish(Duration::from_secs(30));
        assert_eq!(
            (st.code(), out.clone()),
            (Some(4), vec!["timeout".to_string()]),
            "{args:?}"
        );
    }
}

/// Guarantee 6: a signal during an endless wait returns MBA_E_INTR; the
/// process, which has a handler, is not killed and runs it.
#[test]
fn wait_interrupted_by_signal() {
    let _s = serial();
    let ta = TestArray::u64s("waitintr");
    for args in [&["-1", "sig"][..], &["-1", "sig", "rdonly"][..]] {
        let mut p = waiter(&ta, args);
        until_sleeping(p.pid());
        // A signal can only interrupt the wait while it is blocked in the
        // kernel; one that lands between two of a read-only waiter's 1 ms
        // sleeps runs the handler but cannot end the wait (documented in
        // mba.h). So signal until the waiter returns, and require that it
        // returned MBA_E_INTR.
        let end = Instant::now() + Duration::from_secs(30);
        while p.try_status().is_none() && Instant::now() < end {
            p.signal(libc::SIGUSR1);
            std::thread::sleep(Duration::from_millis(20));
        }
        let (st, out) = p.finish(Duration::from_secs(5));
        assert_eq!(st.code(), Some(5), "{args:?}: {out:?} {}", p.err_text());
        assert_eq!(out.len(), 1, "{args:?}: {out:?}");
        assert!(out[0].starts_with("intr signals="), "{args:?}: {out:?}");
    }
}

/// Counts the futex(2) calls of `cmd` (and its threads) with strace -f -c.
/// None if strace cannot run here.
fn futex_calls(cmd: &[&std::ffi::OsStr]) -> Result<u64, String> {
    let log = scratch("strace").join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-c", "-e", "trace=futex", "-o"])
        .arg(&log)
        .args(cmd)
        .output()
        .map_err(|e| format!("strace: {e}"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
    if !out.status.success() {
        return Err(format!(
            "strace failed ({:?}): {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            text
        ));
    }
    // Summary rows: "% time seconds usecs/call calls [errors] syscall".
    Ok(text
        .lines()
        .filter(|l| l.trim_end().ends_with(" futex"))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum())
}

/// Guarantee 6: appenders make no futex wake-up call when nobody waits
/// (counted with strace), and do when a read-write waiter is registered
/// (the positive control shows the count is real).
#[test]
fn no_wake_syscall_without_waiters() {
    let _s = serial();
    if Command::new("strace").arg("-V").output().is_err() {
        println!("SKIPPED no_wake_syscall_without_waiters: strace is not installed");
        return;
    }
    let ta = TestArray::records("futex", true, 1 << 18, 1 << 20);
    let w = c_prog("mp_writer");
    let run = |id: &str| {
        futex_calls(&[
            w.as_os_str(),
            ta.name.as_ref(),
            id.as_ref(),
            "100000".as_ref(),
            "append".as_ref(),
            "1".as_ref(),
        ])
    };
    let quiet = match run("1") {
        Ok(n) => n,
        Err(e) => {
            println!("SKIPPED no_wake_syscall_without_waiters: strace cannot run here: {e}");
            return;
        }
    };
    assert_eq!(
        quiet, 0,
        "100,000 appends with no waiter made {quiet} futex calls"
    );
    // Positive control: a read-write waiter that keeps waiting.
    let mut p = Proc::spawn(
        "mp_wait loop",
        Command::new(c_prog("mp_wait")).args([ta.name.as_str(), "loop", "200000"]),
    );
    assert!(p.line(Duration::from_secs(30)).starts_with("waiting"));
    until_sleeping(p.pid());
    let busy = run("2").unwrap();
    p.success(Duration::from_secs(60));
    assert!(
        busy > 0,
        "a registered waiter was never woken (no futex call)"
    );
    println!("futex calls for 100,000 appends: {quiet} with no waiter, {busy} with a waiter");
    verify(&ta.reopen(), "futex");
}

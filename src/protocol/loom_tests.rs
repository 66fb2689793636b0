//! loom models of the protocol (`RUSTFLAGS="--cfg loom"`, run by
//! `scripts/suites/loom.sh`). The functions under test are the library's
//! own ([`super::acquire`], [`super::append_one`], [`super::release`], ...),
//! instantiated with loom's atomics instead of std's. Threads stand in for
//! processes; what the kernel provides is modelled as narrowly as it is
//! relied on:
//! - a token's byte lock is a flag per token (`alive`): set before the
//!   process starts, cleared with **release** when it "dies" (a thread
//!   that stops, holding whatever it held); `owner_alive` loads it with
//!   acquire (the kernel orders a dead process's stores before the release
//!   of its locks, and `F_OFD_GETLK` after it);
//! - the file's size is a relaxed word (`fstat`/`fallocate` are given no
//!   ordering of their own: the protocol must not need one);
//! - a futex is a mutex and a condition variable: the value is compared
//!   under the mutex, a wake takes it (what the kernel's hash bucket lock
//!   does);
//! - the rows are loom cells, so loom reports any row access that is not
//!   ordered after the write it reads or overwrites.
//!
//! A lost wake-up shows as a loom deadlock, a broken ordering as a failed
//! assertion or a causality violation on a cell.

use super::{
    acquire, append_one, publish, publish_capacity, published_capacity, published_len, release,
    sleep_registered, try_acquire, wake_sleeper, Append, Holder, LocalLock, Mem, Pause, Words,
};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

enum Loom {}

super::forward_word!(AtomicU32, u32);
super::forward_word!(AtomicU64, u64);

impl Mem for Loom {
    type U32 = AtomicU32;
    type U64 = AtomicU64;
    // Ask about the owner and sleep from the first round on: the schedule
    // does not change what the protocol does, only how long it takes.
    const SPINS: u32 = 1;
    const SHORT_SLEEPS: u32 = 1;
    // Polite for the first sleep, one confirming pause: both ways of
    // taking a free word are explored.
    const CONFIRM_PAUSES: u32 = 1;
    const POLITE_SLEEPS: u32 = 1;
    const SHORT_SLEEP: std::time::Duration = std::time::Duration::from_micros(20);
    const LONG_SLEEP: std::time::Duration = std::time::Duration::from_millis(1);
    fn fence(o: std::sync::atomic::Ordering) {
        loom::sync::atomic::fence(o)
    }
    fn pause(_: Pause) {
        // Two waiters yielding to each other can starve the holder forever
        // in loom's search (a schedule no real scheduler keeps up). After
        // a few pauses of one thread, stop branching in this execution: it
        // finishes on loom's default, fair schedule. Every interleaving up
        // to that point is still explored.
        PAUSES.with(|n| {
            n.set(n.get() + 1);
            if n.get() > MAX_PAUSES {
                loom::skip_branch();
            }
        });
        thread::yield_now()
    }
}

/// Pauses of a thread after which its execution stops branching.
const MAX_PAUSES: u32 = 4;

loom::thread_local! {
    static PAUSES: std::cell::Cell<u32> = std::cell::Cell::new(0);
}

/// Rows in the model's file.
const ROWS: usize = 4;

/// The model of one array file: its header words, its rows, the size the
/// kernel reports, the kernel's byte locks and the futex on `seq`.
struct File {
    lock: AtomicU32,
    lock_sleepers: AtomicU32,
    waiters: AtomicU32,
    len: AtomicU64,
    cap: AtomicU64,
    seq: AtomicU64,
    rows: [UnsafeCell<u64>; ROWS],
    /// Rows the file holds (what `fstat` reports).
    file_rows: AtomicU64,
    /// `alive[t]`: the byte lock of token `t` is held.
    alive: [AtomicBool; 4],
    futex: (Mutex<()>, Condvar),
    /// The futex on the `lock_sleepers` flag.
    lock_futex: (Mutex<()>, Condvar),
    /// Lock sleeps time out (return at once, as if the timeout expired):
    /// only in models with a writer that never wakes sleepers (a dead
    /// holder, an older library's writer). Elsewhere a sleep returns only
    /// when woken, so a lost wake-up is a loom deadlock.
    timeouts: AtomicBool,
    /// Lock sleeps that returned on a wake-up (not a timeout).
    lock_wakeups: AtomicUsize,
}

// SAFETY: the rows are loom cells standing for shared memory; loom checks
// that every access to them is ordered after the last write (that is what
// the models test); everything else in `File` is loom's own sync types.
unsafe impl Sync for File {}
// SAFETY: as above.
unsafe impl Send for File {}

impl Words for File {
    type M = Loom;
    fn lock_word(&self) -> &AtomicU32 {
        &self.lock
    }
    fn lock_sleepers_word(&self) -> &AtomicU32 {
        &self.lock_sleepers
    }
    fn lock_sleep(&self, _: std::time::Duration, _: bool) -> bool {
        if self.timeouts.load(Relaxed) {
            // A timeout: from a thread's first one on, its execution stops
            // branching (loom's default schedule finishes it). Every
            // interleaving up to a sleeper's first timeout is explored,
            // the liveness check and steal before its first sleep
            // included; the checks after a timeout run the same code on
            // the default schedule (the 3-thread dead-holder model took
            // over 13 minutes without this bound).
            loom::skip_branch();
            thread::yield_now();
            return true;
        }
        // FUTEX_WAIT on the flag, expecting 1: compared under the bucket's
        // lock.
        let g = self.lock_futex.0.lock().unwrap();
        if self.lock_sleepers.load(Relaxed) == 1 {
            drop(self.lock_futex.1.wait(g).unwrap());
            self.lock_wakeups.fetch_add(1, Relaxed);
        }
        false
    }
    fn lock_wake(&self) {
        let _g = self.lock_futex.0.lock().unwrap();
        self.lock_futex.1.notify_one();
    }
    fn waiters_word(&self) -> &AtomicU32 {
        &self.waiters
    }
    fn len_word(&self) -> &AtomicU64 {
        &self.len
    }
    fn cap_word(&self) -> &AtomicU64 {
        &self.cap
    }
    fn seq_word(&self) -> &AtomicU64 {
        &self.seq
    }
}

impl File {
    /// A file of `cap` allocated rows, none used, lock word `lock`.
    fn new(cap: u64, lock: u32) -> Arc<File> {
        Arc::new(File {
            lock: AtomicU32::new(lock),
            lock_sleepers: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            len: AtomicU64::new(0),
            cap: AtomicU64::new(cap),
            seq: AtomicU64::new(0),
            rows: std::array::from_fn(|_| UnsafeCell::new(0)),
            file_rows: AtomicU64::new(cap),
            alive: std::array::from_fn(|_| AtomicBool::new(false)),
            futex: (Mutex::new(()), Condvar::new()),
            lock_futex: (Mutex::new(()), Condvar::new()),
            timeouts: AtomicBool::new(false),
            lock_wakeups: AtomicUsize::new(0),
        })
    }

    fn write_row(&self, i: u64, v: u64) {
        // SAFETY: a loom cell; loom itself checks that no other access
        // races with this one.
        self.rows[i as usize].with_mut(|p| unsafe { *p = v })
    }

    fn read_row(&self, i: u64) -> u64 {
        // SAFETY: as in write_row.
        self.rows[i as usize].with(|p| unsafe { *p })
    }

    /// `FUTEX_WAIT` on `seq` expecting `seen`.
    fn futex_wait(&self, seen: u64) {
        let g = self.futex.0.lock().unwrap();
        if self.seq.load(Relaxed) == seen {
            drop(self.futex.1.wait(g).unwrap());
        }
    }

    /// `FUTEX_WAKE` on `seq`.
    fn futex_wake(&self) {
        let _g = self.futex.0.lock().unwrap();
        self.futex.1.notify_all();
    }
}

/// A writing handle of one process: its token (whose byte lock it holds),
/// its in-process lock, the capacity it has verified.
struct Proc {
    file: Arc<File>,
    token: u32,
    local: LocalLock<Loom>,
    verified: AtomicU64,
    recoveries: AtomicUsize,
}

impl Holder for Proc {
    type M = Loom;
    fn local(&self) -> &LocalLock<Loom> {
        &self.local
    }
    fn generation(&self) -> u64 {
        1
    }
    fn owner_alive(&self, owner: u32) -> bool {
        assert_ne!(owner, self.token, "asked the kernel about our own token");
        self.file.alive[owner as usize].load(Acquire)
    }
    fn recovered(&self) {
        self.recoveries.fetch_add(1, Relaxed);
    }
}

impl Proc {
    /// A process that has drawn token `token` (its byte lock taken).
    fn new(file: &Arc<File>, token: u32) -> Arc<Proc> {
        file.alive[token as usize].store(true, Release);
        Arc::new(Proc {
            file: file.clone(),
            token,
            local: LocalLock::default(),
            verified: AtomicU64::new(file.cap.load(Relaxed)),
            recoveries: AtomicUsize::new(0),
        })
    }

    fn lock(&self) {
        acquire(&*self.file, self.token, self);
    }

    /// Releases the lock and wakes waiters, as `Array::release` does.
    fn unlock(&self) {
        let r = release(&*self.file, self);
        if r.sleepers {
            wake_sleeper(&*self.file);
        }
        if r.waiters {
            self.file.futex_wake();
        }
    }

    /// Appends `v` under the lock already held, growing by one row first
    /// if needed, as `Array::append_raw` / `ensure` do: allocate, then
    /// publish the capacity, then write and publish the row.
    fn append_locked(&self, v: u64) {
        let f = &*self.file;
        let verified = self.verified.load(Relaxed);
        if append_one(
            f,
            || verified,
            |i| {
                f.write_row(i, v);
                true
            },
        ) == Append::Done
        {
            return;
        }
        let len = f.len.load(Relaxed);
        let need = len + 1;
        f.file_rows.store(need, Relaxed); // fallocate
        publish_capacity(f, need);
        self.verified.store(need, Relaxed);
        assert_eq!(
            append_one(
                f,
                || need,
                |i| {
                    f.write_row(i, v);
                    true
                }
            ),
            Append::Done
        );
    }

    /// `mba_append`: lock, append, unlock.
    fn append(&self, v: u64) {
        self.lock();
        self.append_locked(v);
        self.unlock();
    }

    /// Dies: the kernel drops the byte lock (after every store of ours).
    fn die(&self) {
        self.file.alive[self.token as usize].store(false, Release);
    }
}

/// A reader's view, as `Array::len` and `capacity` compute it: the
/// published length, re-verified against the file when it is past the
/// capacity this reader checked (`verified`), then every row below it.
/// Returns the rows it read.
fn read_all(file: &File, verified: &mut u64) -> Vec<u64> {
    let len = published_len(file);
    if len > *verified {
        let cap = published_capacity(file);
        assert!(cap >= len, "length {len} published before capacity {cap}");
        let size = file.file_rows.load(Relaxed); // fstat
        assert!(
            size >= cap,
            "capacity {cap} published before the file grew ({size})"
        );
        *verified = cap;
    }
    (0..len).map(|i| file.read_row(i)).collect()
}

/// A thread's work in a model.
type Job = Box<dyn FnOnce() + Send>;

/// Checks the jobs that `setup` returns, run concurrently, then its final
/// check, in every execution loom explores (preemptions bounded by
/// `LOOM_MAX_PREEMPTIONS`, 3 if unset). Each of the `n` jobs takes a turn
/// on the model's main thread (the one loom runs first), the others being
/// spawned in rotation: loom's search tracks only the last access to each
/// word, so it can miss a reordering against a thread that ran earlier
/// (loom issues 166, 392); starting from every thread covers that. Prints
/// the number of executions.
fn model(n: usize, setup: impl Fn() -> (Vec<Job>, Job) + Sync + Send + 'static) {
    let setup = std::sync::Arc::new(setup);
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for rot in 0..n {
        let mut b = loom::model::Builder::new();
        if b.preemption_bound.is_none() {
            b.preemption_bound = Some(3);
        }
        let (setup, r) = (setup.clone(), runs.clone());
        b.check(move || {
            r.fetch_add(1, Relaxed);
            let (mut jobs, check) = setup();
            assert_eq!(jobs.len(), n);
            jobs.rotate_left(rot);
            let first = jobs.remove(0);
            let ts: Vec<_> = jobs.into_iter().map(thread::spawn).collect();
            first();
            for t in ts {
                t.join().unwrap();
            }
            check();
        });
    }
    eprintln!("{} executions", runs.load(Relaxed));
}

/// The rows of `file` (sorted), read after every job has finished.
fn sorted_rows(file: &File) -> Vec<u64> {
    let mut v = 0;
    let mut rows = read_all(file, &mut v);
    rows.sort();
    rows
}

/// (a) Two processes and a second thread of the first one (sharing its
/// token and in-process lock) append under the lock: mutual exclusion, and
/// each holder's rows and words ordered before the next holder's accesses
/// (loom checks every row cell).
#[test]
fn loom_lock_excludes_threads_and_processes() {
    model(3, || {
        let file = File::new(ROWS as u64, 0);
        let p1 = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let p1b = p1.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || p1.append(10)),
            Box::new(move || p1b.append(11)),
            Box::new(move || p2.append(20)),
        ];
        let check = move || {
            assert_eq!(sorted_rows(&file), [10, 11, 20]);
            assert_eq!(file.seq.load(Relaxed), 3);
            assert_eq!(file.lock.load(Relaxed), 0);
        };
        (jobs, Box::new(check) as Job)
    });
}

/// (a) A holder dies: one complete row published, a second row's bytes
/// written but not published, the lock never released. Two live processes
/// wait; the one that finds the owner dead steals the word, the other
/// waits for it. The dead one's published row survives, its partial row is
/// overwritten, nothing races.
#[test]
fn loom_lock_dead_holder_is_recovered() {
    model(3, || {
        let file = File::new(ROWS as u64, 0);
        // The dead holder never wakes the sleepers: their timeouts do.
        file.timeouts.store(true, Relaxed);
        let dead = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let p3 = Proc::new(&file, 3);
        let (q2, q3) = (p2.clone(), p3.clone());
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                dead.lock();
                dead.append_locked(10);
                // A partial row: written, never published.
                let len = dead.file.len.load(Relaxed);
                dead.file.write_row(len, 99);
                dead.die();
            }),
            Box::new(move || q2.append(20)),
            Box::new(move || q3.append(30)),
        ];
        let check = move || {
            assert_eq!(sorted_rows(&file), [10, 20, 30]);
            // Stolen once, unless the dead one took the lock last (and
            // holds it still).
            let stolen = p2.recoveries.load(Relaxed) + p3.recoveries.load(Relaxed);
            let held = file.lock.load(Relaxed);
            assert_eq!((held, stolen), if held == 1 { (1, 0) } else { (0, 1) });
        };
        (jobs, Box::new(check) as Job)
    });
}

/// (a) A stale word equal to our own token (left by a dead process whose
/// token we have drawn, or damaged) is taken as it is; another process,
/// finding that token's byte lock held (by us), waits for our release.
#[test]
fn loom_lock_stale_own_token_is_taken() {
    model(2, || {
        let file = File::new(ROWS as u64, 1);
        let p1 = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let (q1, q2) = (p1.clone(), p2.clone());
        let jobs: Vec<Job> = vec![
            Box::new(move || q1.append(10)),
            Box::new(move || q2.append(20)),
        ];
        let check = move || {
            assert_eq!(sorted_rows(&file), [10, 20]);
            assert_eq!(p1.recoveries.load(Relaxed), 1);
            assert_eq!(p2.recoveries.load(Relaxed), 0);
        };
        (jobs, Box::new(check) as Job)
    });
}

/// (a) `mba_try_lock` against a holder: never both, and a failure holds
/// nothing (the in-process lock is free again).
#[test]
fn loom_try_lock_never_double_holds() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        let p1 = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let q2 = p2.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || p1.append(10)),
            Box::new(move || {
                if try_acquire(&q2.file.lock, q2.token, &*q2) {
                    q2.append_locked(20);
                    q2.unlock();
                }
            }),
        ];
        let check = move || {
            assert!(
                p2.local.try_lock(1),
                "a failed try_lock kept the in-process lock"
            );
            let rows = sorted_rows(&file);
            assert!(rows == [10] || rows == [10, 20], "{rows:?}");
        };
        (jobs, Box::new(check) as Job)
    });
}

/// (b) A reader that loads the length (acquire) sees every row below it:
/// complete, and ordered after its write (loom checks the cells).
#[test]
fn loom_publish_orders_rows_before_len() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        let w = Proc::new(&file, 1);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                w.append(10);
                w.append(11);
            }),
            Box::new(move || {
                let mut verified = ROWS as u64;
                let rows = read_all(&f, &mut verified);
                assert_eq!(rows, [10, 11][..rows.len()]);
            }),
        ];
        (jobs, Box::new(|| ()) as Job)
    });
}

/// (c) Growth: a writer appends past its capacity (allocate, publish the
/// capacity, then the row and the length). A reader that reads the
/// capacity (as open does) finds the file at least that long; one that
/// sees the longer length also sees the capacity and the file size that
/// back it.
#[test]
fn loom_growth_publishes_capacity_before_len() {
    model(2, || {
        let file = File::new(1, 0);
        let w = Proc::new(&file, 1);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                w.append(10);
                w.append(11);
            }),
            Box::new(move || {
                let cap = published_capacity(&*f);
                let size = f.file_rows.load(Relaxed); // fstat
                assert!(size >= cap, "capacity {cap} published before the file grew");
                let mut verified = 1;
                let rows = read_all(&f, &mut verified);
                assert_eq!(rows, [10, 11][..rows.len()]);
            }),
        ];
        (jobs, Box::new(|| ()) as Job)
    });
}

/// (d) A registered waiter and a writer: the waiter either sees the new
/// `seq` or is woken (a lost wake-up is a loom deadlock), and then sees the
/// row published with it.
#[test]
fn loom_wait_never_misses_a_change() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        let w = Proc::new(&file, 1);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || w.append(10)),
            Box::new(move || {
                let seen = 0;
                while f.seq.load(Acquire) == seen {
                    sleep_registered(&*f, seen, || f.futex_wait(seen));
                }
                let mut v = ROWS as u64;
                assert_eq!(read_all(&f, &mut v), [10]);
            }),
        ];
        (jobs, Box::new(|| ()) as Job)
    });
}

/// (d) A change in place (no new length) still bumps `seq` after the
/// rows, so a waiter that sees the new `seq` sees the new bytes.
#[test]
fn loom_seq_orders_in_place_writes() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        file.write_row(0, 1);
        file.len.store(1, Relaxed);
        let w = Proc::new(&file, 1);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                w.lock();
                w.file.write_row(0, 2);
                publish(&*w.file, None);
                w.unlock();
            }),
            Box::new(move || {
                if f.seq.load(Acquire) == 1 {
                    assert_eq!(f.read_row(0), 2);
                }
            }),
        ];
        (jobs, Box::new(|| ()) as Job)
    });
}

/// (b) Two processes append while a third reads: every row below the
/// length the reader loads is complete, whichever writer wrote it.
#[test]
fn loom_publish_two_writers_one_reader() {
    model(3, || {
        let file = File::new(ROWS as u64, 0);
        let p1 = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || p1.append(10)),
            Box::new(move || p2.append(20)),
            Box::new(move || {
                let mut verified = ROWS as u64;
                for r in read_all(&f, &mut verified) {
                    assert!(r == 10 || r == 20, "row {r}");
                }
            }),
        ];
        (jobs, Box::new(|| ()) as Job)
    });
}

/// (d) Two registered waiters and a writer: one wake-up call reaches both
/// (the count of waiters is shared), neither misses the change.
#[test]
fn loom_wait_two_waiters() {
    model(3, || {
        let file = File::new(ROWS as u64, 0);
        let w = Proc::new(&file, 1);
        let waiter = |f: Arc<File>| -> Job {
            Box::new(move || {
                while f.seq.load(Acquire) == 0 {
                    sleep_registered(&*f, 0, || f.futex_wait(0));
                }
                let mut v = ROWS as u64;
                assert_eq!(read_all(&f, &mut v), [10]);
            })
        };
        let jobs: Vec<Job> = vec![
            Box::new(move || w.append(10)),
            waiter(file.clone()),
            waiter(file.clone()),
        ];
        let check = move || assert_eq!(file.waiters.load(Relaxed), 0);
        (jobs, Box::new(check) as Job)
    });
}

/// (a) Sleeping writers: one process appends twice (so it may take the
/// word back with the same token while a sleeper is between its check and
/// its sleep), another once. Sleeps never time out in this model: a
/// sleeper left asleep after the last release is a loom deadlock.
#[test]
fn loom_lock_sleepers_never_miss_a_release() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        let p1 = Proc::new(&file, 1);
        let p2 = Proc::new(&file, 2);
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                p1.append(10);
                p1.append(11);
            }),
            Box::new(move || p2.append(20)),
        ];
        let check = move || {
            assert_eq!(sorted_rows(&file), [10, 11, 20]);
            assert_eq!(file.lock.load(Relaxed), 0);
        };
        (jobs, Box::new(check) as Job)
    });
}

/// (a) A writer of an older library (0.1.3, 0.2.0: it spins on the word
/// and releases it with a plain store, never looking at `lock_sleepers`)
/// and a sleeping writer of this one on the same array. The old writer
/// never wakes sleepers; their timeouts bound the wait. Mutual exclusion
/// and every row still hold.
#[test]
fn loom_lock_old_writer_and_sleepers() {
    model(2, || {
        let file = File::new(ROWS as u64, 0);
        file.timeouts.store(true, Relaxed);
        let old = Proc::new(&file, 1);
        let new = Proc::new(&file, 2);
        let jobs: Vec<Job> = vec![
            Box::new(move || {
                let f = &*old.file;
                // The old acquire: CAS, pausing between tries.
                while f.lock.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
                    Loom::pause(Pause::Spin);
                }
                old.append_locked(10);
                // The old release: store 0, fence, wake `seq` waiters only.
                f.lock.store(0, Release);
                loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
                if f.waiters.load(Relaxed) != 0 {
                    f.futex_wake();
                }
            }),
            Box::new(move || new.append(20)),
        ];
        let check = move || {
            assert_eq!(sorted_rows(&file), [10, 20]);
            assert_eq!(file.lock.load(Relaxed), 0);
        };
        (jobs, Box::new(check) as Job)
    });
}

/// Known limit, kept as a demonstration (ignored; run it with `--ignored`
/// under `--cfg loom`): a dead holder's token is drawn again by a new
/// process while a thief, having found it dead, is about to steal the
/// word. The new owner takes the word as stale, the thief's CAS succeeds
/// too, and both hold the lock (loom: concurrent writes to a row). Needs a
/// token drawn twice (`next_token` wrapping after 2^32 draws, or a forged
/// header); see `take_stale`.
#[test]
#[ignore = "known limit: a redrawn dead token (see take_stale)"]
fn loom_known_limit_redrawn_token_double_holder() {
    model(2, || {
        let file = File::new(ROWS as u64, 1); // token 1 died holding it
        file.timeouts.store(true, Relaxed);
        let p3 = Proc::new(&file, 3);
        let f = file.clone();
        let jobs: Vec<Job> = vec![
            Box::new(move || p3.append(30)),
            Box::new(move || Proc::new(&f, 1).append(10)), // draws token 1 again
        ];
        (
            jobs,
            Box::new(move || assert_eq!(sorted_rows(&file), [10, 30])) as Job,
        )
    });
}

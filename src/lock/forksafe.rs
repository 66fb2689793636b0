//! Locks for the library's in-process state that a forked child can
//! always take: `ForkLock` for the process-wide tables (taken by
//! `pthread_atfork` handlers around `fork`) and `GenLock` for per-handle
//! state (a holder from before the last fork is taken over).

use super::writer::{fork_gen, register_atfork};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::*};
use std::sync::Once;

/// A lock for the process-wide tables of the library (the handle table,
/// pins, the shared-mapping cache) that a forked child never inherits
/// taken: `pthread_atfork` handlers take every `ForkLock` before `fork` (in
/// registration order; no code holds two at once) and release them on both
/// sides afterwards. A `std::sync::Mutex` held by another thread at `fork`
/// stays locked forever in the child, whose next `mba_open` then hangs.
/// Held for a few microseconds at most: waiters yield.
pub struct ForkLock<T> {
    busy: AtomicBool,
    cell: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds `busy` for
// the whole access, so it moves between threads like a Mutex's value.
unsafe impl<T: Send> Sync for ForkLock<T> {}

/// The flags of every ForkLock used so far (fixed table: the atfork
/// handlers must not allocate or lock).
static FORK_LOCKS: [AtomicPtr<AtomicBool>; 8] = [const { AtomicPtr::new(ptr::null_mut()) }; 8];
static FORK_LOCKS_ATFORK: Once = Once::new();

fn spin_lock(b: &AtomicBool) {
    while b
        .compare_exchange_weak(false, true, Acquire, Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
}

extern "C" fn fork_locks_take() {
    for p in FORK_LOCKS.iter() {
        let b = p.load(Acquire);
        if !b.is_null() {
            // SAFETY: only pointers to the flags of 'static ForkLocks are stored.
            spin_lock(unsafe { &*b });
        }
    }
}

extern "C" fn fork_locks_release() {
    for p in FORK_LOCKS.iter() {
        let b = p.load(Acquire);
        if !b.is_null() {
            // SAFETY: as in fork_locks_take; this thread took it there.
            unsafe { &*b }.store(false, Release);
        }
    }
}

impl<T> ForkLock<T> {
    pub const fn new(value: T) -> Self {
        ForkLock {
            busy: AtomicBool::new(false),
            cell: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with the value, under the lock.
    pub fn with<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        let me = &self.busy as *const AtomicBool as *mut AtomicBool;
        if !FORK_LOCKS.iter().any(|p| p.load(Acquire) == me) {
            self.register(me);
        }
        spin_lock(&self.busy);
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(false, Release);
            }
        }
        let _u = Unlock(&self.busy);
        // SAFETY: `busy` is held: no other thread reaches the value.
        f(unsafe { &mut *self.cell.get() })
    }

    #[cold]
    fn register(&'static self, me: *mut AtomicBool) {
        FORK_LOCKS_ATFORK.call_once(|| {
            // SAFETY: registers plain extern "C" functions with no captured state.
            unsafe {
                libc::pthread_atfork(
                    Some(fork_locks_take),
                    Some(fork_locks_release),
                    Some(fork_locks_release),
                )
            };
        });
        // Two threads may race here: a slot holding `me` twice is harmless
        // only if never taken twice, so claim the first empty slot unless
        // another thread already stored `me`.
        for p in FORK_LOCKS.iter() {
            match p.compare_exchange(ptr::null_mut(), me, AcqRel, Acquire) {
                Ok(_) => return,
                Err(cur) if cur == me => return,
                Err(_) => continue,
            }
        }
        panic!("more than 8 ForkLocks");
    }
}

/// A lock for per-handle state, held for a moment, that a forked child can
/// always take: the lock word holds the fork generation of its holder, and
/// a holder from before the last fork does not exist in the child, so the
/// child takes the word over and is told (`inherited`), to discard what
/// that holder may have left half-done. (A `std::sync::Mutex` held by
/// another thread at fork stays locked forever in the child.)
pub struct GenLock<T> {
    word: AtomicU64,
    cell: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds the word
// for the whole access.
unsafe impl<T: Send> Sync for GenLock<T> {}

impl<T> GenLock<T> {
    pub const fn new(value: T) -> Self {
        GenLock {
            word: AtomicU64::new(0),
            cell: UnsafeCell::new(value),
        }
    }

    /// Runs `f(value, inherited)` under the lock; `inherited` is true when
    /// it was taken over from a thread of the parent process.
    pub fn with<R>(&self, f: impl FnOnce(&mut T, bool) -> R) -> R {
        // The generation must change in a child for the take-over to work.
        register_atfork();
        let g = fork_gen();
        let inherited = loop {
            let cur = self.word.load(Relaxed);
            if cur == g {
                std::thread::yield_now();
            } else if self
                .word
                .compare_exchange_weak(cur, g, Acquire, Relaxed)
                .is_ok()
            {
                break cur != 0;
            }
        };
        struct Unlock<'a>(&'a AtomicU64);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(0, Release);
            }
        }
        let _u = Unlock(&self.word);
        // SAFETY: the word is held: no other thread of this process reaches
        // the value (a holder from before a fork is not in this process).
        f(unsafe { &mut *self.cell.get() }, inherited)
    }
}

#[cfg(test)]
mod fork_tests {
    use super::*;
    use std::sync::mpsc::channel;

    /// A thread of the parent holds a GenLock at fork: the child takes it
    /// over at once (told it is inherited); the parent waits as usual.
    #[test]
    fn gen_lock_is_taken_over_in_a_forked_child() {
        static L: GenLock<u32> = GenLock::new(7);
        let (held_tx, held_rx) = channel();
        let (go_tx, go_rx) = channel::<()>();
        let t = std::thread::spawn(move || {
            L.with(|v, _| {
                *v = 8;
                held_tx.send(()).unwrap();
                go_rx.recv().unwrap();
            })
        });
        held_rx.recv().unwrap();
        // SAFETY: the child only uses atomics, sched_yield, alarm and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: async-signal-safe calls only.
            unsafe { libc::alarm(10) }; // a lock never taken over: die, not hang
            let ok = L.with(|v, inherited| inherited && *v == 8);
            // SAFETY: ends the child without running the parent's atexit work.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: waits for our own child; `st` is a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
        go_tx.send(()).unwrap();
        t.join().unwrap();
        assert!(
            libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            "child status {st:#x}"
        );
        L.with(|v, inherited| assert!(!inherited && *v == 8));
    }
}

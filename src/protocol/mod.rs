//! The cross-process protocol of a shared array (`docs/FORMAT.md` §4): the
//! writer lock word, publishing rows (length, then change counter), growth
//! (capacity before the length that needs it) and the waiter handshake.
//!
//! It is written once, generic over the atomic words it touches, so that
//! the code the library runs on a mapped header is the very code `loom`
//! explores (`cfg(loom)`, `loom_tests.rs`): there, threads stand in for
//! processes, loom atomics for the header words, loom cells for the rows
//! (so loom checks the happens-before of every row byte), and a flag the
//! test sets for the kernel's byte lock that tells a live token from a dead
//! one. loom cannot model a mapping, process death, futexes or OFD locks;
//! what the kernel contributes is stated where it is used (the liveness
//! check is an acquire of everything a dead owner wrote; a futex wait
//! compares the word under the kernel's lock).
//!
//! The library instantiates it with [`Native`]: std atomics cast from the
//! mapped header (`Words` is implemented by `Array`). Every function is
//! generic and inlined, so the abstraction costs nothing in a release
//! build. Each ordering carries its argument in a comment; the summary is
//! the "Memory orderings" section of `docs/DESIGN.md`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

mod lockword;
mod publish;

#[cfg(all(test, loom))]
mod loom_tests;

pub(crate) use lockword::{
    acquire, release, try_acquire, try_acquire_now, wake_sleeper, LocalLock, Released,
};
pub(crate) use publish::{
    append_one, publish, publish_capacity, published_capacity, published_len, sleep_registered,
    Append,
};

/// One atomic word of type `T`: the operations the protocol uses, with
/// their std meaning.
pub(crate) trait Word<T: Copy>: Send + Sync {
    fn new(v: T) -> Self;
    fn load(&self, o: Ordering) -> T;
    fn store(&self, v: T, o: Ordering);
    fn compare_exchange(&self, cur: T, new: T, ok: Ordering, err: Ordering) -> Result<T, T>;
    fn fetch_add(&self, v: T, o: Ordering) -> T;
    fn fetch_sub(&self, v: T, o: Ordering) -> T;
}

/// Implements [`Word`] for an atomic type by forwarding to its inherent
/// methods.
macro_rules! forward_word {
    ($atomic:ty, $t:ty) => {
        impl $crate::protocol::Word<$t> for $atomic {
            // (Ordering spelled out: the macro is used from other modules.)
            #[inline(always)]
            fn new(v: $t) -> Self {
                <$atomic>::new(v)
            }
            #[inline(always)]
            fn load(&self, o: ::std::sync::atomic::Ordering) -> $t {
                <$atomic>::load(self, o)
            }
            #[inline(always)]
            fn store(&self, v: $t, o: ::std::sync::atomic::Ordering) {
                <$atomic>::store(self, v, o)
            }
            #[inline(always)]
            fn compare_exchange(
                &self,
                cur: $t,
                new: $t,
                ok: ::std::sync::atomic::Ordering,
                err: ::std::sync::atomic::Ordering,
            ) -> Result<$t, $t> {
                <$atomic>::compare_exchange(self, cur, new, ok, err)
            }
            #[inline(always)]
            fn fetch_add(&self, v: $t, o: ::std::sync::atomic::Ordering) -> $t {
                <$atomic>::fetch_add(self, v, o)
            }
            #[inline(always)]
            fn fetch_sub(&self, v: $t, o: ::std::sync::atomic::Ordering) -> $t {
                <$atomic>::fetch_sub(self, v, o)
            }
        }
    };
}
#[cfg(all(test, loom))]
pub(crate) use forward_word;

forward_word!(AtomicU32, u32);
forward_word!(AtomicU64, u64);

/// How a waiting loop lets time pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pause {
    /// A CPU spin-loop hint.
    Spin,
    /// Give up the rest of the time slice.
    Yield,
    /// Sleep briefly (20 µs).
    Sleep,
}

/// A memory model: its atomic words, its fences, how its waiting loops
/// pause, and the writer lock's back-off schedule.
pub(crate) trait Mem: Sized + 'static {
    type U32: Word<u32>;
    type U64: Word<u64>;
    /// Spins before a lock waiter asks whether the owner is alive (if it
    /// published nothing meanwhile) and then sleeps ([`Words::lock_sleep`]),
    /// asking again after every sleep with nothing published.
    const SPINS: u32;
    /// Sleeps of at most [`Mem::SHORT_SLEEP`] (while the holder looks
    /// stuck and the sleeper found the flag clear; else at most
    /// [`Mem::LONG_SLEEP`]) before it too sleeps
    /// at most [`Mem::LONG_SLEEP`] at a time: the timeout bounds how late
    /// a waiter finds a dead holder (who never wakes it) and how long it
    /// waits for a writer of an older library (which never wakes
    /// sleepers, FORMAT.md §4.4).
    const SHORT_SLEEPS: u32;
    /// How long a *polite* lock waiter (one that has slept fewer than
    /// [`Mem::POLITE_SLEEPS`] times in this wait) watches a lock word it
    /// found free before it takes it: pauses ([`Pause::Spin`]) after which
    /// the word must still be free. A holder appending in a loop takes the
    /// word back within nanoseconds; only a holder that stopped (or was
    /// preempted between appends) leaves it free that long.
    const CONFIRM_PAUSES: u32;
    /// Sleeps after which a waiter stops being polite and takes the word
    /// the moment it finds it free (the bound on how long a writer
    /// appending in a loop keeps the others out).
    const POLITE_SLEEPS: u32;
    const SHORT_SLEEP: Duration;
    const LONG_SLEEP: Duration;
    fn fence(o: Ordering);
    fn pause(p: Pause);
}

/// The 32-bit word type of a memory model.
pub(crate) type W32<M> = <M as Mem>::U32;
/// The 64-bit word type of a memory model.
pub(crate) type W64<M> = <M as Mem>::U64;

/// The real machine: std atomics, std fences, the scheduler.
pub(crate) enum Native {}

impl Mem for Native {
    type U32 = AtomicU32;
    type U64 = AtomicU64;
    // 100 spins (a few µs: a running holder releases within
    // nanoseconds), then futex sleeps on the `lock_sleepers` flag, woken
    // by a release. While no change is published (the holder looks
    // stuck) a waiter asks whether the owner is alive (one F_OFD_GETLK,
    // ~0.5 µs) and sleeps 20 µs at a time, for its first ~10 ms of
    // waiting (a dead holder is found within ~20 µs; later within 1 ms);
    // otherwise 1 ms (woken in turn by the releases).
    const SPINS: u32 = 100;
    const SHORT_SLEEPS: u32 = 500;
    // ~0.8 µs on these machines (a pause is ~25 ns on AMD EPYC; ~40 ns on
    // recent Intel). Without it, 2 writers appending in loops on 2 cores
    // hand the lock to each other every few appends (each hand-off moves
    // the lock, `len`, `seq` and the row lines between the cores): 4-8x
    // slower than one writer alone (docs/DESIGN.md, "writer lock").
    const CONFIRM_PAUSES: u32 = 32;
    // Woken in turn by releases, a sleep is ~5-10 µs while the holder
    // works (at most LONG_SLEEP): a polite waiter gives way for ~4 of them.
    const POLITE_SLEEPS: u32 = 4;
    const SHORT_SLEEP: Duration = Duration::from_micros(20);
    const LONG_SLEEP: Duration = Duration::from_millis(1);
    #[inline(always)]
    fn fence(o: Ordering) {
        std::sync::atomic::fence(o)
    }
    #[inline]
    fn pause(p: Pause) {
        match p {
            Pause::Spin => std::hint::spin_loop(),
            Pause::Yield => std::thread::yield_now(),
            Pause::Sleep => std::thread::sleep(Duration::from_micros(20)),
        }
    }
}

/// The mutable header words the protocol shares between processes
/// (`docs/FORMAT.md` §2: `len`, `capacity`, `lock`, `lock_sleepers`,
/// `seq`, `waiters`), and the futex on the lock word.
pub(crate) trait Words {
    type M: Mem;
    fn lock_word(&self) -> &W32<Self::M>;
    /// Non-zero if a writer may be sleeping on the lock word (FORMAT.md
    /// §4.4).
    fn lock_sleepers_word(&self) -> &W32<Self::M>;
    /// `FUTEX_WAIT` on the `lock_sleepers` flag while it is 1, at most
    /// `timeout` (`precise`: with little timer slack; a waiter that has
    /// timed out before is polling a holder's liveness). `true` if it
    /// timed out. Spurious returns are allowed.
    fn lock_sleep(&self, timeout: Duration, precise: bool) -> bool;
    /// `FUTEX_WAKE` of one sleeper on the `lock_sleepers` flag.
    fn lock_wake(&self);
    fn waiters_word(&self) -> &W32<Self::M>;
    fn len_word(&self) -> &W64<Self::M>;
    fn cap_word(&self) -> &W64<Self::M>;
    fn seq_word(&self) -> &W64<Self::M>;
}

/// What the lock protocol needs from the writing handle that takes the
/// lock word: its in-process lock, the generation that lock is taken
/// with (the fork generation), and the kernel's word on another token.
pub(crate) trait Holder {
    type M: Mem;
    /// The handle's in-process lock (see [`LocalLock`]).
    fn local(&self) -> &LocalLock<Self::M>;
    /// The generation this process takes its in-process locks with.
    fn generation(&self) -> u64;
    /// Is the owner of token `owner` (read from the lock word; never our
    /// own) alive? `false` must be an **acquire** of everything the dead
    /// owner wrote: the kernel drops a dead process's byte lock only after
    /// its last store (process exit is a full barrier), and `F_OFD_GETLK`
    /// takes the lock that the kernel's release took. This, not the lock
    /// word (which the owner wrote with a plain acquire CAS), is what
    /// orders a dead owner's partial work before the thief's.
    fn owner_alive(&self, owner: u32) -> bool;
    /// Counts a recovery (statistics; tests read it).
    fn recovered(&self) {}
}

//! The writer lock word (`docs/FORMAT.md` §4.4) and the in-process lock a
//! thread takes before it.
//!
//! Orderings. Everything a holder does under the lock (rows, `len`,
//! `capacity`, `seq`) must happen before the next holder's accesses:
//! - a taker's successful CAS on the word is **acquire**, a holder's store
//!   of 0 is **release**: they synchronise, which is the whole argument for
//!   a live holder;
//! - a thief (stealing from a dead owner) reads a word that the owner
//!   wrote with its own *acquire* CAS, which releases nothing: the
//!   ordering comes from [`Holder::owner_alive`] (the kernel's byte lock);
//! - failed CASes and the polling load are relaxed: they only decide
//!   whether to try again, and a success is re-established by a CAS.

use super::{Holder, Mem, Pause, Word, Words, W32};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

/// A handle's in-process lock: 0 = free, else the generation (the fork
/// generation) of the holder. The threads of one handle share its token,
/// so the shared lock word alone cannot tell "a thread of this handle
/// holds it" from "a stale or forged word that happens to equal our
/// token"; a thread takes this lock before the shared word, so whoever
/// holds it knows that no other thread of the handle holds that word (see
/// [`acquire`]). A holder of an older generation (a thread of the parent,
/// before a fork) does not exist in this process: it is taken over.
pub(crate) struct LocalLock<M: Mem> {
    word: M::U64,
}

impl<M: Mem> Default for LocalLock<M> {
    fn default() -> Self {
        LocalLock {
            word: M::U64::new(0),
        }
    }
}

impl<M: Mem> LocalLock<M> {
    /// Takes the lock if it is free (one CAS; panic-free). Acquire: pairs
    /// with [`LocalLock::unlock`], so a thread of this handle sees what the
    /// previous one did to the handle's state.
    #[inline(always)]
    pub(crate) fn try_lock(&self, gen: u64) -> bool {
        self.word.compare_exchange(0, gen, Acquire, Relaxed).is_ok()
    }

    /// Takes the lock if it is free or held by an older generation (a
    /// thread of the parent before a fork); never waits.
    pub(crate) fn try_lock_or_take_over(&self, gen: u64) -> bool {
        let cur = self.word.load(Relaxed);
        cur != gen
            && self
                .word
                .compare_exchange(cur, gen, Acquire, Relaxed)
                .is_ok()
    }

    /// Takes the lock, waiting for another thread of this handle (spin,
    /// yield, then sleep: a batch may hold it for long).
    #[cold]
    pub(crate) fn lock(&self, gen: u64) {
        let mut n: u32 = 0;
        while !self.try_lock_or_take_over(gen) {
            M::pause(if n < 100 {
                Pause::Spin
            } else if n < 500 {
                Pause::Yield
            } else {
                Pause::Sleep
            });
            n = n.saturating_add(1);
        }
    }

    /// Release. [`release`] releases the shared word before this lock,
    /// and the next thread of this handle to take this lock may read the
    /// word with a plain load (`acquire_slow`) and treat our own token
    /// there as stale: it must not see the word as it was before our
    /// release. The SeqCst fence between the two stores in [`release`]
    /// already orders them (a fence before a relaxed store releases); this
    /// release keeps the rule local. (loom finds the double holder when
    /// both are dropped: the fence after this store and this store
    /// relaxed.)
    #[inline(always)]
    pub(crate) fn unlock(&self) {
        self.word.store(0, Release);
    }
}

/// Takes the lock word for token `t`, waiting as long as it takes.
///
/// A thread first takes the handle's in-process lock, so while it tries
/// for the shared word no other thread of this handle holds that word.
/// Then a word equal to `t` cannot be a holder of ours, nor of another
/// live process (the kernel's byte lock on `t` is ours): it is stale (a
/// forged or damaged word, or one left by a dead process whose token we
/// have since drawn), and is taken as it is. Any other non-zero word is
/// stolen once its token's owner is found dead.
#[inline]
pub(crate) fn acquire<W: Words, H: Holder<M = W::M>>(w: &W, t: u32, h: &H) {
    let g = h.generation();
    if h.local().try_lock(g) {
        // Acquire: synchronises with the previous holder's release store.
        // (Loaded first: a CAS that fails still takes the cache line from
        // the holder, who needs it for its release.)
        let word = w.lock_word();
        if word.load(Relaxed) == 0 && word.compare_exchange(0, t, Acquire, Relaxed).is_ok() {
            return;
        }
    } else {
        h.local().lock(g);
    }
    acquire_slow(w, t, h)
}

/// The fast path's lock: the in-process lock (generation `g`), then the
/// word for token `t`, each with one CAS; `false`, holding nothing, if
/// either is taken. Panic-free.
#[inline(always)]
pub(crate) fn try_acquire_now<H: Holder>(word: &W32<H::M>, t: u32, g: u64, h: &H) -> bool {
    if !h.local().try_lock(g) {
        return false;
    }
    // Acquire: as in `acquire`.
    if word.compare_exchange(0, t, Acquire, Relaxed).is_ok() {
        return true;
    }
    h.local().unlock();
    false
}

/// Tries once to take the lock word, stealing it from a dead owner (or
/// taking a stale word equal to our own token, see [`acquire`]).
pub(crate) fn try_acquire<H: Holder>(word: &W32<H::M>, t: u32, h: &H) -> bool {
    if !h.local().try_lock_or_take_over(h.generation()) {
        return false;
    }
    let ok = match word.compare_exchange(0, t, Acquire, Relaxed) {
        Ok(_) => true,
        Err(owner) => take_stale(word, owner, t, h),
    };
    if !ok {
        h.local().unlock();
    }
    ok
}

/// With the in-process lock held and `owner` (non-zero) read from the
/// word: takes the word if `owner` is our own token or a dead one.
///
/// Known limit: the steal is a CAS on the token's value, so if the dead
/// token is drawn again (`next_token` wrapped after 2^32 draws, or a
/// forged header) and its new owner takes the word between our liveness
/// check and our CAS, both hold it (the ignored loom model
/// `loom_known_limit_redrawn_token_double_holder` shows it). Only a
/// damaged or forged header, or 2^32 draws inside that window, brings a
/// dead token back, and whoever can write the header can damage the rows
/// anyway (docs/SECURITY.md: wrong data, never a crash or a hang); closing
/// it would need more than the token in the word (a format change).
fn take_stale<H: Holder>(word: &W32<H::M>, owner: u32, t: u32, h: &H) -> bool {
    let ok = if owner == t {
        // Stale (see `acquire`): the word already names us. Whoever wrote
        // it is dead, and what it wrote is ordered before us by the
        // kernel (we hold the byte lock it held); the acquire fence makes
        // the relaxed load that found the word order our accesses like a
        // successful CAS.
        H::M::fence(Acquire);
        true
    } else {
        // `owner_alive` returning false is the acquire of the dead
        // owner's work (see `Holder::owner_alive`); the CAS is acquire
        // for a word that was released and re-taken meanwhile.
        !h.owner_alive(owner) && word.compare_exchange(owner, t, Acquire, Relaxed).is_ok()
    };
    if ok {
        h.recovered();
    }
    ok
}

/// The slow path of [`acquire`], with the in-process lock held: spin
/// ([`Mem::SPINS`]), then sleep ([`sleep_on_lock`]). For its first
/// [`Mem::POLITE_SLEEPS`] sleeps a waiter is polite: it takes a free word
/// only if the word stays free for [`Mem::CONFIRM_PAUSES`] pauses, so a
/// holder appending in a loop keeps the lock (and its cache lines) rather
/// than handing it over every few appends; after them it takes the word
/// at once (the bound on that unfairness). A waiter that saw
/// no change published (`seq`) since it started spinning or since its
/// last sleep finds the holder *stuck*: only then does it ask whether
/// the owner is alive (a system call; a dead owner never wakes us, nor
/// does a writer of an older library, and neither publishes) and sleep
/// the short timeout. A live holder that publishes keeps its waiters in
/// long sleeps, woken by releases (so 8 writers on 2 cores do not poll).
/// A stale word equal to our own token is taken at once.
///
/// A waiter that has set `lock_sleepers` takes the lock with the flag set
/// again (Drepper's "locked, maybe with sleepers" state): a release clears
/// the flag as it wakes one sleeper, and others may still sleep, so the
/// release that follows ours must wake the next one.
#[cold]
fn acquire_slow<W: Words, H: Holder<M = W::M>>(w: &W, t: u32, h: &H) {
    let word = w.lock_word();
    let mut spins: u32 = 0;
    let mut sleeps: u32 = 0;
    let mut timed_out_before = false;
    // Found the flag clear once (see `sleep_on_lock`).
    let mut poller = false;
    // Relaxed: only compared, as a sign of the holder's progress.
    let mut seq = w.seq_word().load(Relaxed);
    let got = loop {
        let mut cur = word.load(Relaxed);
        if cur == 0 && sleeps < H::M::POLITE_SLEEPS {
            // Polite: take the word only if it stays free (see
            // `Mem::CONFIRM_PAUSES`); else the pauses count as spins.
            for _ in 0..H::M::CONFIRM_PAUSES {
                H::M::pause(Pause::Spin);
            }
            cur = word.load(Relaxed);
            if cur != 0 {
                spins = spins.saturating_add(H::M::CONFIRM_PAUSES);
            }
        }
        if cur == 0 {
            if word.compare_exchange(0, t, Acquire, Relaxed).is_ok() {
                break true;
            }
            continue;
        }
        if cur == t && take_stale(word, cur, t, h) {
            break true;
        }
        if spins < H::M::SPINS {
            spins += 1;
            H::M::pause(Pause::Spin);
            continue;
        }
        let now = w.seq_word().load(Relaxed);
        let stuck = now == seq;
        seq = now;
        if stuck && take_stale(word, cur, t, h) {
            break true;
        }
        let short = if stuck && sleeps < H::M::SHORT_SLEEPS {
            H::M::SHORT_SLEEP
        } else {
            H::M::LONG_SLEEP
        };
        sleeps = sleeps.saturating_add(1);
        let precise = stuck && timed_out_before;
        timed_out_before |= sleep_on_lock(w, cur, short, precise, &mut poller);
    };
    if got && sleeps > 0 {
        // Relaxed: read back by our own release (program order); a
        // sleeper does not rely on it (it set the flag itself).
        w.lock_sleepers_word().store(1, Relaxed);
    }
}

/// One sleep of a lock waiter that found `cur` in the lock word: sets the
/// `lock_sleepers` flag, and if the lock word still holds `cur`, sleeps
/// on the flag while it is 1. `true` if the sleep timed out.
///
/// The timeout: `short` for a `poller`, a waiter that has found the flag
/// clear (no other sleeper, or a release has just woken one) in this
/// wait: it finds a dead holder soon; [`Mem::LONG_SLEEP`] for the others
/// (releases wake them in turn, and one that times out still asks about
/// the holder), so that sleepers do not wake by the thousand per second
/// while a live holder works. `precise` (less timer slack) for a short
/// sleep after a timeout.
///
/// Orderings: setting the flag, a **SeqCst fence**, then the load of the
/// lock word: the sleeper half of a Dekker handshake with [`release`]
/// (store 0 into the word, SeqCst fence, load the flag), as in
/// [`super::sleep_registered`]: either the releaser sees the flag, clears
/// it and wakes a sleeper ([`wake_sleeper`]), or we see the word changed
/// and do not sleep. We sleep on the flag, not on the lock word: a
/// release that clears the flag between our check and our sleep makes
/// the sleep return at once (the futex compares the flag under the
/// kernel's lock), even if the same token has taken the lock word back
/// meanwhile (a thread of the same handle: sleeping on the lock word
/// expecting that token lost that wake-up, found by loom). A sleeper
/// woken while others still sleep sets the flag again before it sleeps
/// again or as it takes the lock ([`acquire_slow`]), so the next release
/// wakes the next one. Only a dead holder, a writer of an older library
/// (neither wakes anyone) or a woken waiter that dies before it runs
/// leaves a sleeper to its timeout.
fn sleep_on_lock<W: Words>(
    w: &W,
    cur: u32,
    short: Duration,
    precise: bool,
    poller: &mut bool,
) -> bool {
    let flag = w.lock_sleepers_word();
    *poller |= flag.load(Relaxed) == 0;
    flag.store(1, Relaxed);
    W::M::fence(SeqCst);
    let timeout = if *poller { short } else { W::M::LONG_SLEEP };
    w.lock_word().load(Relaxed) == cur && w.lock_sleep(timeout, precise && *poller)
}

/// After a [`release`] that found the `lock_sleepers` flag set: clears it
/// and wakes one sleeper (which sets it again if it must sleep again or
/// when it takes the lock, see [`acquire_slow`]; a writer about to sleep
/// finds the flag cleared and does not). Clearing it is what keeps
/// releases from making a system call each while the woken waiter waits
/// for a CPU.
#[cold]
pub(crate) fn wake_sleeper<W: Words>(w: &W) {
    w.lock_sleepers_word().store(0, Relaxed);
    w.lock_wake();
}

/// Who must be woken after [`release`]: waiters of `mba_wait` (a
/// `FUTEX_WAKE` of all on `seq`) and writers sleeping on the lock word
/// ([`wake_sleeper`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Released {
    pub(crate) waiters: bool,
    pub(crate) sleepers: bool,
}

impl Released {
    /// Someone must be woken.
    #[inline(always)]
    pub(crate) fn any(self) -> bool {
        self.waiters | self.sleepers
    }
}

/// Releases the lock word and the in-process lock after a change was
/// published; says who must be woken (the caller's job: waiters of
/// `seq`, and one writer sleeping on the lock word).
///
/// Orderings: the store of 0 is **release**, pairing with the next
/// taker's acquire CAS. Then a **SeqCst fence** before the relaxed loads
/// of `waiters` and `lock_sleepers`: the waker half of two Dekker
/// handshakes whose other halves are [`super::sleep_registered`]
/// (increment `waiters`, SeqCst fence, load `seq`) and [`sleep_on_lock`]
/// (set the `lock_sleepers` flag, SeqCst fence, load the lock word). The
/// fences are totally ordered; whichever comes second sees the other
/// side's store: either this load sees the waiter (and we wake it) or the
/// waiter's load sees the new `seq` or the free word (and it does not
/// sleep). A store followed by a load needs a full barrier; a
/// read-modify-write of the lock word (the `swap(SeqCst)` this used to
/// be) is one on x86 but is not a fence in the language's model, so the
/// relaxed load could have been satisfied before the `seq` store was
/// visible. On x86 the fence is one locked instruction on the stack, the
/// cost of the `xchg` it replaces.
#[inline(always)]
pub(crate) fn release<W: Words, H: Holder<M = W::M>>(w: &W, h: &H) -> Released {
    w.lock_word().store(0, Release);
    W::M::fence(SeqCst);
    h.local().unlock();
    Released {
        waiters: w.waiters_word().load(Relaxed) != 0,
        sleepers: w.lock_sleepers_word().load(Relaxed) != 0,
    }
}

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
pub(crate) fn acquire<H: Holder>(word: &W32<H::M>, t: u32, h: &H) {
    let g = h.generation();
    if h.local().try_lock(g) {
        // Acquire: synchronises with the previous holder's release store.
        if word.compare_exchange(0, t, Acquire, Relaxed).is_ok() {
            return;
        }
    } else {
        h.local().lock(g);
    }
    acquire_slow(word, t, h)
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

/// The slow path of [`acquire`], with the in-process lock held: spin, then
/// yield, then sleep (schedule in [`Mem`]), asking whether the owner is
/// alive from the yields on. A stale word equal to our own token is taken
/// at once.
#[cold]
fn acquire_slow<H: Holder>(word: &W32<H::M>, t: u32, h: &H) {
    let (spins, yields, every) = (H::M::SPINS, H::M::YIELDS, H::M::CHECK_EVERY);
    let mut n: u32 = 0;
    loop {
        let cur = word.load(Relaxed);
        if cur == 0 {
            if word.compare_exchange(0, t, Acquire, Relaxed).is_ok() {
                return;
            }
            continue;
        }
        if cur == t && take_stale(word, cur, t, h) {
            return;
        }
        if n < spins {
            n += 1;
            H::M::pause(Pause::Spin);
            continue;
        }
        let sleeping = n >= spins + yields;
        if (sleeping || n % every == 0) && take_stale(word, cur, t, h) {
            return;
        }
        if sleeping {
            H::M::pause(Pause::Sleep);
        } else {
            n += 1;
            H::M::pause(Pause::Yield);
        }
    }
}

/// Releases the lock word and the in-process lock after a change was
/// published; `true` if a waiter is registered and must be woken
/// (`FUTEX_WAKE` on `seq`, the caller's job).
///
/// Orderings: the store of 0 is **release**, pairing with the next
/// taker's acquire CAS. Then a **SeqCst fence** before the relaxed load of
/// `waiters`: the waker half of a Dekker handshake whose other half is
/// [`super::sleep_registered`] (increment `waiters`, SeqCst fence, load
/// `seq`). The two fences are totally ordered; whichever comes second
/// sees the other side's store: either this load sees the waiter (and we
/// wake it) or the waiter's load sees the new `seq` (and it does not
/// sleep). A store followed by a load needs a full barrier; a
/// read-modify-write of the lock word (the `swap(SeqCst)` this used to
/// be) is one on x86 but is not a fence in the language's model, so the
/// relaxed load could have been satisfied before the `seq` store was
/// visible. On x86 the fence is one locked instruction on the stack, the
/// cost of the `xchg` it replaces.
#[inline(always)]
pub(crate) fn release<W: Words, H: Holder<M = W::M>>(w: &W, h: &H) -> bool {
    w.lock_word().store(0, Release);
    W::M::fence(SeqCst);
    h.local().unlock();
    w.waiters_word().load(Relaxed) != 0
}

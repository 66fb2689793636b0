//! Publishing rows, growth and the waiter handshake (`docs/FORMAT.md`
//! §4.2, §4.3, §4.5).
//!
//! Only the holder of the writer lock stores `len`, `capacity` and `seq`,
//! so it reads them relaxed (the lock's acquire made the previous holder's
//! stores visible) and stores them without read-modify-writes. Readers
//! take no lock: their **acquire** loads pair with the holder's
//! **release** stores.

use super::{Mem, Word, Words};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// What [`append_one`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Append {
    /// The row was written and published.
    Done,
    /// It does not fit: nothing changed (the caller grows and retries).
    NoRoom,
    /// `write` refused to publish the bytes it wrote (the SIGBUS guard
    /// replaced the page under them): nothing was published.
    Discarded,
}

/// With the writer lock held: appends one row if row `len` lies below both
/// the header's capacity and `verified()` (the capacity this handle checked
/// against the file, read only when needed): `write(len)` stores the row's
/// bytes and says whether they may be published, then [`publish`] makes
/// them visible. Panic-free if `write` and `verified` are.
#[inline(always)]
pub(crate) fn append_one<W: Words>(
    w: &W,
    verified: impl FnOnce() -> u64,
    write: impl FnOnce(u64) -> bool,
) -> Append {
    // The words are located before `write`, which may store anywhere
    // (the compiler would otherwise reload the header pointer after it).
    let (lenw, seqw) = (w.len_word(), w.seq_word());
    // Relaxed: only the lock holder stores these words, and taking the
    // lock (acquire) ordered the previous holder's stores before us.
    let len = lenw.load(Relaxed);
    let cap = w.cap_word().load(Relaxed);
    if len < cap && cap <= verified() {
        if !write(len) {
            return Append::Discarded;
        }
        // The orderings of `publish`.
        lenw.store(len.wrapping_add(1), Release);
        bump::<W::M>(seqw);
        return Append::Done;
    }
    Append::NoRoom
}

/// `seq + 1` (release; see [`publish`]).
#[inline(always)]
fn bump<M: Mem>(seq: &M::U64) {
    seq.store(seq.load(Relaxed).wrapping_add(1), Release);
}

/// With the writer lock held, after the rows are written: stores the new
/// length (if it changed) and then `seq + 1`.
///
/// `len` is stored with **release**: a reader that loads it with acquire
/// ([`published_len`]) sees every row byte written before, so every row
/// below the length it loads is complete, and a writer killed before this
/// store leaves no partial row visible. `seq` (release) is stored after
/// `len`, so a waiter that sees the new `seq` (acquire) also sees the new
/// length. The store-load barrier that pairs `seq` with `waiters` is in
/// [`super::release`].
#[inline(always)]
pub(crate) fn publish<W: Words>(w: &W, new_len: Option<u64>) {
    if let Some(n) = new_len {
        w.len_word().store(n, Release);
    }
    bump::<W::M>(w.seq_word());
}

/// With the writer lock held, after the file has room for `cap` rows
/// (allocated or written): stores the new capacity, before any length
/// that needs it is published.
///
/// **Release**: a process that loads the capacity with acquire
/// ([`published_capacity`]) and then asks the kernel for the file's size
/// finds the space that was allocated before this store (it checks size
/// against capacity and would otherwise call the file truncated). And
/// since the later `len` store is a release too, a reader that sees a
/// length sees a capacity at least as large (it clamps the length to it).
#[inline(always)]
pub(crate) fn publish_capacity<W: Words>(w: &W, cap: u64) {
    w.cap_word().store(cap, Release);
}

/// The published length (no lock): **acquire**, pairing with the release
/// in [`publish`]; every row below it is complete. The caller clamps it to
/// its verified capacity.
#[inline(always)]
pub(crate) fn published_len<W: Words>(w: &W) -> u64 {
    w.len_word().load(Acquire)
}

/// The published capacity (no lock): **acquire**, pairing with the
/// release in [`publish_capacity`], so the file space behind it is visible
/// to a size check that follows.
#[inline(always)]
pub(crate) fn published_capacity<W: Words>(w: &W) -> u64 {
    w.cap_word().load(Acquire)
}

/// One sleep of a registered waiter that saw `seen` in `seq`: registers in
/// `waiters`, and runs `sleep` (a `FUTEX_WAIT` on `seq` expecting `seen`)
/// only if `seq` still is `seen`; then unregisters. `None` if it did not
/// sleep.
///
/// Orderings: the increment, a **SeqCst fence**, then the load of `seq`:
/// the waiter half of the Dekker handshake with [`super::release`]
/// (store `seq`, fence, load `waiters`). Of the two fences one is first;
/// the other side's load then sees the first side's store, so a change is
/// never missed: either the writer sees us registered and wakes us, or we
/// see its `seq` and do not sleep. If we sleep, the kernel compares `seq`
/// with `seen` under its own lock, so a wake-up between our load and the
/// sleep is not lost. The load is acquire so the caller, on a change,
/// sees what was published with it. The increment and decrement are
/// relaxed: the fence orders the increment, and a decrement seen late only
/// costs a needless wake-up.
pub(crate) fn sleep_registered<W: Words, R>(
    w: &W,
    seen: u64,
    sleep: impl FnOnce() -> R,
) -> Option<R> {
    let waiters = w.waiters_word();
    waiters.fetch_add(1, Relaxed);
    W::M::fence(SeqCst);
    let r = (w.seq_word().load(Acquire) == seen).then(sleep);
    waiters.fetch_sub(1, Relaxed);
    r
}

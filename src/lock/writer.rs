//! The writer lock shared by all processes (format v1, `docs/FORMAT.md` §4).
//!
//! A 32-bit lock word in the header holds the owner's *token* (0 = free) and
//! is taken with one compare-and-swap. Each writing handle owns a token and
//! holds an OFD write lock on the byte `LOCK_BASE + token` of the file
//! through a descriptor of its own. The kernel drops that byte lock when the
//! owner dies, so a waiter that has spun too long asks `F_OFD_GETLK` whether
//! the token's owner is still alive and, if not, steals the lock word.
//!
//! fork: an OFD lock belongs to the open file description, which a child
//! shares with its parent. A `pthread_atfork` child handler bumps a
//! generation counter and closes every inherited token descriptor, so the
//! child never keeps a dead parent's token alive and lazily takes a fresh
//! token of its own at its first write.

use crate::error::{Code, Error, Result};
use crate::format::LOCK_BASE;
use crate::protocol::{self, Holder, LocalLock, Native, Words};
use crate::sys;

use std::os::fd::{IntoRawFd, OwnedFd};

use super::GenLock;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::*};
use std::sync::Once;

/// Fork generation: bumped in every child. Starts at 1 so that 0 means
/// "never had a token".
static FORK_GEN: AtomicU64 = AtomicU64::new(1);

/// Descriptors (fd + 1; 0 = empty) of the token locks of this process, in a
/// fixed lock-free table so the atfork child handler can close them without
/// taking any lock.
const SLOTS: usize = 4096;
static TOKEN_FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static ATFORK: Once = Once::new();

extern "C" fn after_fork_child() {
    FORK_GEN.fetch_add(1, SeqCst);
    for s in TOKEN_FDS.iter() {
        let v = s.swap(0, SeqCst);
        if v > 0 {
            // SAFETY: close(2) is async-signal-safe; the descriptor was
            // inherited from the parent and is owned by this table.
            unsafe { libc::close(v - 1) };
        }
    }
}

/// Registers the atfork child handler that bumps the fork generation (and
/// closes inherited token descriptors); once per process.
pub(super) fn register_atfork() {
    ATFORK.call_once(|| {
        // SAFETY: registers a plain extern "C" function with no captured state.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_child)) };
    });
}

/// Current fork generation (cheap: one relaxed load).
#[inline]
pub fn fork_gen() -> u64 {
    FORK_GEN.load(Relaxed)
}

/// The token state of one handle.
pub struct Token {
    /// The token, valid while `gen == fork_gen()`.
    value: AtomicU32,
    gen: AtomicU64,
    /// Index into `TOKEN_FDS` of this handle's lock descriptor, or usize::MAX.
    slot: GenLock<usize>,
    /// The handle's in-process lock (taken with the fork generation; see
    /// [`LocalLock`]).
    local: LocalLock<Native>,
}

impl Default for Token {
    fn default() -> Self {
        Token {
            value: AtomicU32::new(0),
            gen: AtomicU64::new(0),
            slot: GenLock::new(usize::MAX),
            local: LocalLock::default(),
        }
    }
}

impl Token {
    /// A token that needs no kernel lock (private arrays: copy-on-write, raw).
    pub fn private() -> Token {
        Token {
            value: AtomicU32::new(1),
            gen: AtomicU64::new(u64::MAX),
            slot: GenLock::new(usize::MAX),
            local: LocalLock::default(),
        }
    }

    fn is_private(&self) -> bool {
        self.gen.load(Relaxed) == u64::MAX
    }

    /// This handle's token, taking one (and its byte lock) on first use and
    /// after a fork.
    #[inline]
    pub fn get(&self, next_token: &AtomicU32, file: &OwnedFd) -> Result<u32> {
        let g = self.gen.load(Acquire);
        if g == fork_gen() || g == u64::MAX {
            return Ok(self.value.load(Relaxed));
        }
        self.take(next_token, file)
    }

    /// The descriptor holding this handle's byte lock, if any.
    fn fd(&self) -> Option<i32> {
        let slot = self.slot.with(|s, _| *s);
        (slot < SLOTS)
            .then(|| TOKEN_FDS[slot].load(SeqCst) - 1)
            .filter(|fd| *fd >= 0)
    }

    #[cold]
    fn take(&self, next_token: &AtomicU32, file: &OwnedFd) -> Result<u32> {
        register_atfork();
        self.slot
            .with(|slot, _| self.take_locked(slot, next_token, file))
    }

    fn take_locked(&self, slot: &mut usize, next_token: &AtomicU32, file: &OwnedFd) -> Result<u32> {
        let g = fork_gen();
        if self.gen.load(Acquire) == g {
            return Ok(self.value.load(Relaxed));
        }
        // A slot still recorded here was taken before a fork: the atfork
        // child handler has closed its descriptor and emptied it, and the
        // index may since belong to another handle, so forget it.
        *slot = usize::MAX;
        let lock_fd = sys::reopen(file, libc::O_RDWR)?;
        let raw = lock_fd.into_raw_fd();
        // From here `raw` is owned by the table slot (or closed on error).
        let Some(idx) = TOKEN_FDS
            .iter()
            .position(|s| s.compare_exchange(0, raw + 1, SeqCst, SeqCst).is_ok())
        else {
            // SAFETY: `raw` is ours and stored nowhere else.
            unsafe { libc::close(raw) };
            return Err(Error::new(
                Code::NoMem,
                format!("more than {SLOTS} writing handles in this process"),
            ));
        };
        let give_back = || {
            let v = TOKEN_FDS[idx].swap(0, SeqCst);
            if v > 0 {
                // SAFETY: the table owned this descriptor.
                unsafe { libc::close(v - 1) };
            }
        };
        for _ in 0..100_000 {
            let t = next_token.fetch_add(1, Relaxed);
            if t == 0 {
                continue;
            }
            match sys::ofd_try_lock(raw, LOCK_BASE + t as i64) {
                Ok(true) => {
                    *slot = idx;
                    self.value.store(t, Relaxed);
                    self.gen.store(g, Release);
                    return Ok(t);
                }
                Ok(false) => continue,
                Err(e) => {
                    give_back();
                    return Err(e);
                }
            }
        }
        give_back();
        Err(Error::new(Code::Busy, "no free lock token"))
    }

    /// Releases the byte lock (on close).
    pub fn release(&self) {
        self.slot.with(|slot, _| {
            // Only a slot taken in this process (not inherited through fork)
            // is ours.
            if *slot < SLOTS && self.gen.load(Acquire) == fork_gen() {
                let v = TOKEN_FDS[*slot].swap(0, SeqCst);
                if v > 0 {
                    // SAFETY: the table owned this descriptor.
                    unsafe { libc::close(v - 1) };
                }
                *slot = usize::MAX;
            }
            self.gen.store(0, Release);
        });
    }
}

/// The lock protocol (`crate::protocol`) on the real machine: the handle's
/// in-process lock, the fork generation, and the kernel's byte locks.
impl Holder for Token {
    type M = Native;
    #[inline(always)]
    fn local(&self) -> &LocalLock<Native> {
        &self.local
    }
    #[inline(always)]
    fn generation(&self) -> u64 {
        fork_gen()
    }
    /// Is the owner of `owner` (a token read from the lock word, not our
    /// own) alive? A private array's word is only ever ours: never. Found
    /// dead, its byte lock was dropped by the kernel after the owner's last
    /// store, and `F_OFD_GETLK` saw that under the kernel's lock: the
    /// acquire `Holder::owner_alive` requires.
    fn owner_alive(&self, owner: u32) -> bool {
        if self.is_private() {
            return false;
        }
        match self.fd() {
            // An error (the kernel cannot tell) counts as alive.
            Some(fd) => sys::ofd_is_locked(fd, LOCK_BASE + owner as i64).unwrap_or(true),
            None => true,
        }
    }
    fn recovered(&self) {
        RECOVERIES.fetch_add(1, Relaxed);
    }
}

/// Statistics a test build can read (recoveries performed by this process).
pub static RECOVERIES: AtomicU64 = AtomicU64::new(0);

/// Takes the lock word of `w` for token `t` (the handle's token `tok`),
/// waiting as long as it takes (spinning, then sleeping on the word) and
/// stealing it from a dead owner ([`protocol::acquire`]).
#[inline]
pub(crate) fn acquire<W: Words<M = Native>>(w: &W, t: u32, tok: &Token) {
    protocol::acquire(w, t, tok)
}

/// The fast path's lock: the handle's token if it has one valid in this
/// process, the in-process lock and then the lock word, each with one CAS;
/// `false` (nothing held) if there is no token yet or either is taken.
/// Panic-free.
#[inline(always)]
pub fn try_acquire_fast(word: &AtomicU32, tok: &Token) -> bool {
    let g = fork_gen();
    let tg = tok.gen.load(Acquire);
    if tg != g && tg != u64::MAX {
        return false;
    }
    let t = tok.value.load(Relaxed);
    protocol::try_acquire_now(word, t, g, tok)
}

/// Tries once to take the lock word, stealing it from a dead owner (or
/// taking a stale word equal to our own token, see [`protocol::acquire`]).
pub fn try_acquire(word: &AtomicU32, t: u32, tok: &Token) -> bool {
    protocol::try_acquire(word, t, tok)
}

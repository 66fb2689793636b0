//! The opt-in SIGBUS guard: a mapped file that another process truncates
//! turns the library's next access to the lost pages into an error
//! (`Code::Truncated`), not a dead process.
//!
//! Checks alone cannot prevent the fault: the size can change right after
//! any check. So, when a program calls [`install`] (C: `mba_sigbus_guard`),
//! every access of the library to mapped memory (header words, elements,
//! the lock word) runs in a *guarded scope* ([`scope`]) that names the
//! [`Zone`] (the mapping) being accessed, and a process-wide SIGBUS handler
//! acts on a fault only if the faulting thread is inside a scope and the
//! address lies in that scope's zone: it maps an anonymous zero page over
//! the faulting page (`MAP_FIXED`, a raw `mmap` system call), marks the zone
//! *poisoned* and returns, so the interrupted instruction runs again,
//! harmlessly, on the zero page. The scope then reports the poisoning and
//! the call fails with `Code::Truncated`; a poisoned zone stays poisoned
//! (every later access fails the same way), since its memory no longer
//! mirrors the file. No `longjmp` ever crosses Rust frames.
//!
//! Every other SIGBUS (a fault outside any scope, e.g. at a raw pointer
//! from `mba_get_ptr`, or at an address outside the scope's zone, or a
//! signal sent with `kill`) goes to the handler that was installed before
//! ours, honouring its flags and mask; if that was the default action, the
//! default is restored and the fault happens again, killing the process as
//! it would have without us.
//!
//! The thread-local marker "this thread is inside a library access of
//! zone Z" is not Rust thread-local storage: the handler must not read TLS
//! (a thread-local of a `dlopen`ed library may be allocated lazily, with
//! `malloc`, at its first access in a thread, which a signal handler must
//! not do), and a TLS lookup (`__tls_get_addr` in a shared library) would
//! cost more than the rest of a scope. Each thread instead owns one entry
//! of a fixed static table (`SLOTS`, 4,096 entries), found from its thread
//! pointer (`%fs:0` on x86-64, `pthread_self` elsewhere) by a hash, usually
//! at the first probe; a thread claims its entry at its first guarded
//! access, outside any signal handler, and frees it at exit (a TLS
//! destructor). A thread that finds the table full runs unguarded. The
//! handler allocates nothing, takes no lock, and makes only system calls
//! (`mmap`; and `sigaction`, `sigprocmask`, `raise` when it chains).
//!
//! Cost: with the guard off and no zone poisoned, a scope is one relaxed
//! load of a global and a branch. With it on, a read of the thread
//! pointer, a multiply, a load and compare of the slot's owner, two stores
//! of the marker and a load of the zone's flag (a few nanoseconds).
//!
//! Flags: `SA_SIGINFO` (the handler needs `si_addr`, `si_code`),
//! `SA_ONSTACK` (the Go runtime requires it of every handler in a cgo
//! program: a Go thread's signal must run on its alternate stack, and a
//! handler we chain to, Go's, checks that), no `SA_NODEFER` (a second
//! SIGBUS inside the handler would be a bug of ours; blocked, the kernel
//! kills the process instead of recursing), no `SA_RESETHAND`.

use crate::error::{Code, Error, Result};
use crate::sys::thread_key;
use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{
    compiler_fence, AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering::*,
};

/// A mapped region the guard can repair: its page-aligned bounds, the
/// protection of its pages, and whether a fault has poisoned it.
pub struct Zone {
    lo: usize,
    hi: usize,
    prot: i32,
    poisoned: AtomicBool,
}

impl Zone {
    /// The zone of `len` bytes mapped at `base` (which may lie inside its
    /// first page: raw mappings start at any offset).
    pub fn new(base: *const u8, len: usize, writable: bool) -> Zone {
        let page = crate::sys::page_size();
        let b = base as usize;
        Zone {
            lo: b - b % page,
            hi: if len == 0 {
                b - b % page
            } else {
                b.saturating_add(len)
            },
            prot: if writable {
                libc::PROT_READ | libc::PROT_WRITE
            } else {
                libc::PROT_READ
            },
            poisoned: AtomicBool::new(false),
        }
    }

    /// True once a fault in this zone has been repaired with a zero page:
    /// its memory no longer mirrors the file, and every library access
    /// through it fails with `Code::Truncated`. A poisoned mapping must not
    /// be handed to new handles.
    #[inline(always)]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Relaxed)
    }
}

/// `STATE` bits: the guard is installed; some zone has been poisoned.
const INSTALLED: u8 = 1;
const POISON_SEEN: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(0);

/// True if scopes need to do anything (the guard is on, or a zone was
/// poisoned while it was): one relaxed load.
#[inline(always)]
pub fn active() -> bool {
    STATE.load(Relaxed) != 0
}

/// Runs `f` as a library access to `z`: `None` if `z` is (or becomes, by a
/// fault during `f`) poisoned, in which case `f`'s result is dropped.
/// Panic-free itself; `f` may unwind (the marker is restored).
#[inline(always)]
pub fn scope<R>(z: &Zone, f: impl FnOnce() -> R) -> Option<R> {
    if !active() {
        return Some(f());
    }
    scope_slow(z, f)
}

/// The guard's error for a poisoned zone.
#[cold]
pub fn truncated() -> Error {
    Error::new(
        Code::Truncated,
        "the mapped file was truncated by another process while mapped here \
         (SIGBUS caught by the guard); close this handle",
    )
}

// ------------------------------------------------------------ thread slots

/// One thread's scope marker: `owner` is the thread's key (0 = free),
/// `zone` the zone its current scope accesses (null outside scopes).
struct Slot {
    owner: AtomicUsize,
    zone: AtomicPtr<Zone>,
}

const NSLOTS: usize = 4096;
static SLOTS: [Slot; NSLOTS] = [const {
    Slot {
        owner: AtomicUsize::new(0),
        zone: AtomicPtr::new(ptr::null_mut()),
    }
}; NSLOTS];

thread_local! {
    /// Frees this thread's slot when the thread exits (registered at its
    /// first guarded access).
    static RELEASE: SlotRelease = const { SlotRelease };
}

struct SlotRelease;
impl Drop for SlotRelease {
    fn drop(&mut self) {
        if let Some(s) = find(thread_key()) {
            s.zone.store(ptr::null_mut(), Relaxed);
            s.owner.store(0, Release);
        }
    }
}

/// Where a thread's search for its slot starts: the top bits of a
/// Fibonacci hash of its key (thread pointers are spaced by stack sizes,
/// so their low bits alone would crowd a few slots).
#[inline(always)]
fn start_of(key: usize) -> usize {
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % NSLOTS
}

/// Slots probed inline before the full search.
const NEAR: usize = 4;

/// The slot `key` owns, if any. No allocation, no lock, no thread-local
/// storage: usable in the signal handler.
#[inline(always)]
fn find(key: usize) -> Option<&'static Slot> {
    let s0 = start_of(key);
    (0..NSLOTS)
        .map(|k| &SLOTS[(s0 + k) % NSLOTS])
        .find(|s| s.owner.load(Relaxed) == key)
}

/// The calling thread's slot: usually its home slot or one of the next
/// few (a load and a compare each), else searched for or claimed.
#[inline(always)]
fn my_slot() -> Option<&'static Slot> {
    let key = thread_key();
    let s0 = start_of(key);
    for k in 0..NEAR {
        let s = &SLOTS[(s0 + k) % NSLOTS];
        if s.owner.load(Relaxed) == key {
            return Some(s);
        }
    }
    claim(key)
}

/// Finds or claims a slot for this thread (outside any signal handler):
/// `None` if the table is full or the thread is exiting.
#[cold]
#[inline(never)]
fn claim(key: usize) -> Option<&'static Slot> {
    // Registers the exit-time release first; refused while exiting.
    if RELEASE.try_with(|_| ()).is_err() {
        return None;
    }
    // A slot still marked with our key belonged to a dead thread whose
    // thread pointer we inherited without its release running: ours now.
    let s0 = start_of(key);
    let s = find(key).or_else(|| {
        (0..NSLOTS)
            .map(|k| &SLOTS[(s0 + k) % NSLOTS])
            .find(|s| s.owner.compare_exchange(0, key, AcqRel, Relaxed).is_ok())
    })?;
    s.zone.store(ptr::null_mut(), Relaxed);
    Some(s)
}

#[inline]
fn scope_slow<R>(z: &Zone, f: impl FnOnce() -> R) -> Option<R> {
    if z.is_poisoned() {
        return None;
    }
    let Some(slot) = my_slot() else {
        // No slot: unguarded (a fault here reaches the previous handler).
        let r = f();
        return (!z.is_poisoned()).then_some(r);
    };
    struct Restore<'a>(&'a Slot, *mut Zone);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            compiler_fence(SeqCst);
            self.0.zone.store(self.1, Relaxed);
        }
    }
    let _r = Restore(slot, slot.zone.load(Relaxed));
    slot.zone.store(z as *const Zone as *mut Zone, Relaxed);
    // The handler runs on this thread: a compiler fence orders the marker
    // before the accesses (and the accesses before the restore).
    compiler_fence(SeqCst);
    let r = f();
    drop(_r);
    (!z.is_poisoned()).then_some(r)
}

// ------------------------------------------------------------- the handler

/// The disposition we replaced (read by the handler; written only while
/// our handler is not installed).
struct Prev(UnsafeCell<libc::sigaction>);
// SAFETY: written only under INSTALL_LOCK while our handler is not the
// installed one; read by the handler.
unsafe impl Sync for Prev {}
static PREV: Prev = Prev(UnsafeCell::new(
    // SAFETY: an all-zero sigaction is SIG_DFL with an empty mask.
    unsafe { std::mem::zeroed() },
));
/// The previous disposition was a one-shot handler (`SA_RESETHAND`) and
/// has been called: it now counts as `SIG_DFL`.
static PREV_SPENT: AtomicBool = AtomicBool::new(false);
/// Our handler is the installed disposition (it may be disabled).
static OURS: AtomicBool = AtomicBool::new(false);
static INSTALL_LOCK: AtomicBool = AtomicBool::new(false);
static PAGE: AtomicUsize = AtomicUsize::new(4096);

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: errno is this thread's; restored before returning.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    if !unsafe { repair(info) } {
        // SAFETY: as above; forwards the kernel's arguments.
        unsafe { chain(sig, info, ctx) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Replaces the faulting page with a zero page if the fault is a library
/// access of this thread to its current zone. Async-signal-safe.
unsafe fn repair(info: *mut libc::siginfo_t) -> bool {
    if STATE.load(Relaxed) & INSTALLED == 0 || info.is_null() {
        return false;
    }
    // SAFETY: the kernel's siginfo (caller).
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // A fault on a page past end-of-file (or one the filesystem could not
    // back): BUS_ADRERR. Not alignment (BUS_ADRALN), hardware errors
    // (BUS_MCEERR_*) or a signal sent by a process (si_code <= 0).
    if code != libc::BUS_ADRERR {
        return false;
    }
    let Some(slot) = find(thread_key()) else {
        return false;
    };
    let z = slot.zone.load(Relaxed);
    if z.is_null() {
        return false;
    }
    // SAFETY: a zone stays alive while a scope names it (the scope borrows
    // it), and this thread is inside that scope.
    let z = unsafe { &*z };
    if addr < z.lo || addr >= z.hi {
        return false;
    }
    let page = PAGE.load(Relaxed);
    let start = addr - addr % page;
    // Async-signal safety: mmap is not on POSIX's list of async-signal-safe
    // functions, but on Linux it is a single system call that takes only
    // kernel locks (mmap_lock, which the faulting access does not hold when
    // the signal is delivered: the kernel drops it before it sends SIGBUS)
    // and touches no user-space state. We issue it with `syscall` rather
    // than through libc's wrapper, so no libc lock or allocator is involved
    // either; its only side effect on failure, errno, is restored by
    // `on_sigbus`. JVMs repair faults on mapped buffers the same way.
    // MAP_FIXED replaces exactly the faulting page of our own mapping (the
    // page lies inside the zone, which stays mapped while the scope that
    // names it is running on this thread); other threads reading that page
    // see zeros instead of a fault, and only library scopes ever look at
    // it, and they fail once the zone is poisoned.
    // SAFETY: as above: a page of our own mapping, replaced by anonymous
    // memory with the mapping's protection.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mmap,
            start,
            page,
            z.prot,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1i64,
            0i64,
        )
    };
    if r as usize != start {
        return false;
    }
    z.poisoned.store(true, Relaxed);
    STATE.fetch_or(POISON_SEEN, Relaxed);
    true
}

/// Hands the signal to the previous disposition. Async-signal-safe.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: PREV is not written while our handler is installed.
    let prev = unsafe { &*PREV.0.get() };
    // A one-shot (SA_RESETHAND) previous handler that already ran: the
    // kernel would have reset it to the default action by now.
    let h = if PREV_SPENT.load(Relaxed) {
        libc::SIG_DFL
    } else {
        prev.sa_sigaction
    };
    // SAFETY: the kernel's siginfo.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        if h == libc::SIG_IGN && code <= 0 {
            return; // a sent signal, ignored as before
        }
        // The default action: restore it; a fault then happens again on
        // return and kills the process as it would have; a sent signal
        // (blocked while we run) is sent again and delivered on return.
        // (A fault cannot be ignored: the kernel kills anyway.)
        // SAFETY: plain system calls on local data.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(sig, &dfl, ptr::null_mut());
            OURS.store(false, Relaxed);
            if code <= 0 {
                libc::raise(sig);
            }
        }
        return;
    }
    // A handler: run it with the mask it asked for. It may siglongjmp out
    // (a program's own fault recovery): that skips `on_sigbus` and this
    // function, whose frames own nothing with a destructor. (Faults we
    // chain come from outside library accesses, except the impossible
    // case of a library access faulting outside its own mapping; a jump
    // out of that would skip library frames, as it would without us.)
    // SAFETY: sigset and sigprocmask calls on local data; the function
    // pointer is the one the previous owner installed, with the signature
    // its flags declare.
    unsafe {
        let mut mask = prev.sa_mask;
        let mut old: libc::sigset_t = std::mem::zeroed();
        if prev.sa_flags & libc::SA_RESETHAND != 0 {
            PREV_SPENT.store(true, Relaxed);
        }
        if prev.sa_flags & libc::SA_NODEFER == 0 {
            libc::sigaddset(&mut mask, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &mask, &mut old);
        if prev.sa_flags & libc::SA_NODEFER != 0 {
            let mut one: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut one);
            libc::sigaddset(&mut one, sig);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, ptr::null_mut());
        }
        if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                std::mem::transmute(h);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
            f(sig);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
    }
}

// ------------------------------------------------------ install, uninstall

fn with_install_lock<R>(f: impl FnOnce() -> R) -> R {
    while INSTALL_LOCK
        .compare_exchange_weak(false, true, Acquire, Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
    let r = f();
    INSTALL_LOCK.store(false, Release);
    r
}

fn current() -> Result<libc::sigaction> {
    // SAFETY: reads the disposition into local memory.
    unsafe {
        let mut cur: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, ptr::null(), &mut cur) != 0 {
            return Err(Error::last_os("sigaction(SIGBUS)"));
        }
        Ok(cur)
    }
}

/// Installs the process-wide SIGBUS guard (idempotent). The previous
/// disposition is kept and receives every SIGBUS that is not a fault of a
/// library access. Installed with `SA_SIGINFO | SA_ONSTACK` (the Go runtime
/// requires `SA_ONSTACK` of handlers in a cgo program; a thread with an
/// alternate signal stack runs it there) and without `SA_NODEFER`.
pub fn install() -> Result<()> {
    with_install_lock(|| {
        PAGE.store(crate::sys::page_size(), Relaxed);
        if OURS.load(Relaxed) {
            // Still installed (perhaps under a handler installed since,
            // which may chain to ours): switch it back on. Installing it
            // again would make it chain to that handler, and that one to
            // ours, forever.
            STATE.fetch_or(INSTALLED, Relaxed);
            return Ok(());
        }
        let before = current()?;
        // SAFETY: our handler is not installed: nothing reads PREV.
        unsafe { *PREV.0.get() = before };
        PREV_SPENT.store(false, Relaxed);
        // SAFETY: a valid sigaction for a plain extern "C" handler.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags =
                libc::SA_SIGINFO | libc::SA_ONSTACK | (before.sa_flags & libc::SA_RESTART);
            libc::sigemptyset(&mut sa.sa_mask);
            STATE.fetch_or(INSTALLED, Relaxed);
            if libc::sigaction(libc::SIGBUS, &sa, ptr::null_mut()) != 0 {
                STATE.fetch_and(!INSTALLED, Relaxed);
                return Err(Error::last_os("sigaction(SIGBUS)"));
            }
        }
        OURS.store(true, Relaxed);
        Ok(())
    })
}

/// Turns the guard off: restores the previous disposition if ours is still
/// the installed one; if another handler was installed over ours since
/// (and may chain to it), ours stays but only forwards. Zones already
/// poisoned stay poisoned.
pub fn uninstall() -> Result<()> {
    with_install_lock(|| {
        STATE.fetch_and(!INSTALLED, Relaxed);
        if !OURS.load(Relaxed) {
            return Ok(());
        }
        if current()?.sa_sigaction == on_sigbus as *const () as usize {
            // SAFETY: restores the disposition we replaced.
            if unsafe { libc::sigaction(libc::SIGBUS, PREV.0.get(), ptr::null_mut()) } != 0 {
                return Err(Error::last_os("sigaction(SIGBUS)"));
            }
            OURS.store(false, Relaxed);
        }
        Ok(())
    })
}

/// True while the guard is installed and on.
#[cfg(test)]
fn is_installed() -> bool {
    STATE.load(Relaxed) & INSTALLED != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn disposition() -> usize {
        current().unwrap().sa_sigaction
    }

    /// One test (the guard is process-wide): install/uninstall restore the
    /// previous disposition and are idempotent; a fault inside a scope on a
    /// file truncated under its mapping is repaired and poisons the zone,
    /// on several threads at once.
    #[test]
    fn install_scope_repair() {
        let before = disposition();
        install().unwrap();
        install().unwrap();
        assert!(is_installed());
        assert_eq!(disposition(), on_sigbus as *const () as usize);

        let page = crate::sys::page_size();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    let fd = crate::sys::memfd("mba-guard-test").unwrap();
                    // SAFETY: plain calls on a fresh descriptor; the
                    // mapping is private to this test and unmapped below.
                    unsafe {
                        assert_eq!(libc::ftruncate(fd.as_raw_fd(), (4 * page) as i64), 0);
                        let p = libc::mmap(
                            ptr::null_mut(),
                            4 * page,
                            libc::PROT_READ | libc::PROT_WRITE,
                            libc::MAP_SHARED,
                            fd.as_raw_fd(),
                            0,
                        ) as *mut u8;
                        assert_ne!(p as isize, -1);
                        p.add(3 * page).write_volatile(7);
                        let z = Zone::new(p, 4 * page, true);
                        assert_eq!(scope(&z, || p.add(3 * page).read_volatile()), Some(7));
                        // Another process would do this; the kernel does not
                        // care who truncates.
                        assert_eq!(libc::ftruncate(fd.as_raw_fd(), page as i64), 0);
                        assert_eq!(scope(&z, || p.read_volatile()), Some(0));
                        assert_eq!(scope(&z, || p.add(3 * page).read_volatile()), None);
                        assert!(z.is_poisoned());
                        // Poisoned for good, even for the page still in the file.
                        assert_eq!(scope(&z, || p.read_volatile()), None);
                        libc::munmap(p.cast(), 4 * page);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }

        uninstall().unwrap();
        uninstall().unwrap();
        assert!(!is_installed());
        assert_eq!(disposition(), before);
    }
}

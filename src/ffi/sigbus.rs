//! `mba_sigbus_guard`: the C switch of the opt-in SIGBUS guard
//! (`crate::guard`).

use super::boundary::run;
use crate::guard;
use std::ffi::c_int;

/// Turns the process-wide SIGBUS guard on (enable != 0) or off (0).
/// Idempotent and thread-safe (calls are serialised); off by default.
///
/// Without the guard, a process that another process truncates an array
/// under (ftruncate of a named array or its file while it is mapped here)
/// dies of SIGBUS at its next access to the lost pages: no size check can
/// close the window between the check and the access. With the guard on,
/// a fault inside the library's own access to one of its mappings (any
/// call that reads or writes elements or header words: mba_get, mba_read,
/// mba_get_i64/_u64/_f64, mba_append*, mba_extend, mba_set*, mba_write,
/// mba_insert, mba_remove, mba_pop, mba_len, mba_capacity, mba_seq,
/// mba_wait, mba_lock, ...) makes that call return MBA_E_TRUNCATED: the
/// handler maps anonymous zero pages over the faulting page, marks the
/// mapping poisoned and returns; nothing is published from the zero page
/// and no longjmp is involved. Every later call on any handle sharing that
/// mapping returns MBA_E_TRUNCATED too (mba_close it; a new mba_open maps
/// the file afresh and validates it, and mba_try_append* return
/// MBA_E_BUSY, sending the caller to mba_append, which reports it).
///
/// The handler acts on nothing else: a SIGBUS outside a library access
/// (in particular a fault through a pointer from mba_get_ptr, mba_len_ptr
/// or mba_describe: those accesses are yours and the guard does not cover
/// them), a fault at an address outside the mapping being accessed, or a
/// SIGBUS sent by kill(), goes to the disposition that was installed when
/// the guard was first enabled: that handler is called (sa_sigaction or
/// sa_handler, with its sa_mask and SA_NODEFER honoured), SIG_IGN ignores
/// a sent signal, and SIG_DFL is restored so that the fault kills the
/// process as it would have without libmba. Enable the guard after
/// installing your own SIGBUS handlers (an interpreter's fault handler, a crash
/// reporter): it chains to what it finds. The handler is installed with
/// SA_SIGINFO | SA_ONSTACK (the Go runtime requires SA_ONSTACK of every
/// handler in a cgo program) and without SA_NODEFER.
///
/// Disabling restores the previous disposition if the guard's handler is
/// still the installed one; if a handler was installed over it since (and
/// may chain to it), the guard's handler stays installed but only forwards.
/// Mappings already poisoned stay poisoned. Works under AddressSanitizer
/// (its SIGBUS handler becomes the previous disposition).
///
/// Cost: with the guard off, one relaxed load and a branch per access; on,
/// a few nanoseconds (a thread-local marker set and cleared around each
/// access). Errors: MBA_E_ARG (sigaction refused, errno in the message).
#[no_mangle]
pub extern "C" fn mba_sigbus_guard(enable: c_int) -> c_int {
    run(|| {
        if enable != 0 {
            guard::install()
        } else {
            guard::uninstall()
        }
    })
}

//! Hostile neighbours (issue 14): C programs built against the real
//! `libmba.so`, each checking one scenario in real child processes.
//!
//! - `api_lockword.c`: a lock word naming no live holder, whatever its
//!   value (the writer's own next token included), is recovered;
//! - `api_handles.c`: a closed handle stays invalid across more than
//!   40,000 later opens with 1,000 handles live.
//!
//! Each program gets a scratch directory and a unique shared-memory
//! prefix (as in `api.rs`) and exits 0 only if all its checks passed.

use mba_ffi_tests::{compile_c, scratch};
use std::process::{Command, Output};

fn show(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Compiles `ffi-tests/c/<name>.c` (with `extra` flags), runs it with a
/// scratch directory and shared-memory prefix (and `env`), asserts that it
/// passed and left nothing in /dev/shm; returns its output.
pub fn run_c(name: &str, extra: &[&str], env: &[(&str, &str)]) -> String {
    let exe = compile_c(
        name,
        &[&format!("{}.c", name.trim_end_matches("_asan"))],
        extra,
    );
    let dir = scratch(name);
    let prefix = format!(
        "mba-robust-{name}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    );
    let out = Command::new(&exe)
        .arg(&dir)
        .arg(&prefix)
        .envs(env.iter().copied())
        .output()
        .expect("running a C test program");
    let mut left = Vec::new();
    for e in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.trim_start_matches('.').starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
            left.push(n);
        }
    }
    assert!(out.status.success(), "{name} failed\n{}", show(&out));
    assert!(left.is_empty(), "{name} left {left:?} in /dev/shm");
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Scenario 4: every dangerous lock-word value, in a child process bounded
/// by alarm(5). Before the fix the first four cases and the two forged
/// ones hung (killed by SIGALRM).
#[test]
fn lock_word_naming_no_live_holder_is_recovered() {
    let out = run_c("api_lockword", &[], &[]);
    assert!(out.contains("fresh-bitflip"), "{out}");
}

/// Scenario 6: 1,000 handles live, one closed, 45,000 open/close cycles:
/// the closed number stays MBA_E_HANDLE and writes nowhere (before the fix
/// it was live again at cycle 32,767); more than 4,095 live handles is
/// MBA_E_NOMEM.
#[test]
fn closed_handle_stays_invalid_through_45000_opens() {
    let out = run_c("api_handles", &[], &[]);
    assert!(out.contains("stayed invalid through 45000 opens"), "{out}");
}

/// Writers sleep on the lock word (FORMAT.md 4.4, compat bit LOCK_SLEEP):
/// three writers blocked behind a holder sleep in FUTEX_WAIT with the
/// `lock_sleepers` flag set; an unlock wakes them all in turn; a
/// SIGKILLed holder (who wakes nobody) is found by their bounded sleeps.
/// Before the protocol (0.2.0) no writer slept in FUTEX_WAIT, the flag
/// stayed 0 and the compat bits were 0: 5 of its 68 checks failed.
#[test]
fn writers_sleep_on_the_lock_and_survive_a_killed_holder() {
    let _s = mba_ffi_tests::serial();
    let out = run_c("api_locksleep", &[], &[]);
    assert!(out.contains("sigkill: holder SIGKILLed"), "{out}");
}

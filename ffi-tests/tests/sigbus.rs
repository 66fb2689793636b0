//! The opt-in SIGBUS guard (`mba_sigbus_guard`, issue 14: "SIGBUS from a
//! mapping that another process shrinks") and the memfd seal, in real
//! processes: C programs from `ffi-tests/c/sigbus_*.c` linked against the
//! release libmba.so, whose forked children truncate the victim's arrays
//! (`/dev/shm` objects, or a memfd reopened through `/proc/PID/fd/N`).
//! Python (faulthandler), Go (cgo) and AddressSanitizer runs of the same
//! guard are in `scripts/suites/sigbus.sh`.

use mba_ffi_tests::compile_c;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;

fn prog(name: &str) -> PathBuf {
    static M: Mutex<()> = Mutex::new(());
    let _g = M.lock().unwrap_or_else(|e| e.into_inner());
    compile_c(name, &[&format!("{name}.c")], &[])
}

fn prefix(tag: &str) -> String {
    format!(
        "mba-sigbus-{tag}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    )
}

/// Runs `sigbus_victim MODE PREFIX`; removes any array it left behind.
fn victim(mode: &str) -> Output {
    let p = prefix(mode);
    let out = Command::new(prog("sigbus_victim"))
        .args([mode, &p])
        .output()
        .expect("running sigbus_victim");
    for e in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(&p) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    out
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// With the guard on, each of 14 library calls (reads, copy-outs, appends,
/// extends, edits, the length, the counter, a wait) on a freshly truncated
/// array returns MBA_E_TRUNCATED, the process survives, and later calls on
/// the same handle (and opens of the same name) stay errors.
#[test]
fn guard_turns_foreign_truncation_into_truncated() {
    let o = victim("guard");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("ok\n"), "{t}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("survived ")
            .count(),
        14,
        "{t}"
    );
}

/// The control: the same access without the guard kills the process with
/// SIGBUS (so the test above can fail).
#[test]
fn without_guard_the_access_dies_of_sigbus() {
    let o = victim("off");
    assert_eq!(o.status.signal(), Some(libc::SIGBUS), "{}", text(&o));
}

/// A handler installed before the guard still gets every SIGBUS that is not
/// a fault of a library access: a sent one (kill) and a fault through the
/// raw pointer of mba_get_ptr (it exits with 42); it never sees the fault
/// the guard repaired.
#[test]
fn faults_outside_library_accesses_reach_the_previous_handler() {
    let o = victim("chain");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(42), "{t}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("FAIL"), "{t}");
    assert!(out.contains("own handler: fault"), "{t}");
}

/// With no handler before the guard (SIG_DFL), a raw-pointer fault still
/// kills the process with SIGBUS, as it would without libmba.
#[test]
fn raw_pointer_fault_under_default_disposition_still_kills() {
    let o = victim("dfl");
    let t = text(&o);
    assert_eq!(o.status.signal(), Some(libc::SIGBUS), "{t}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("FAIL"), "{t}");
    assert!(out.contains("touching the raw pointer"), "{t}");
}

/// mba_anon's memfd is sealed against shrinking: another process that
/// reopens it through /proc/PID/fd/N gets EPERM from ftruncate (growth
/// stays allowed), and the owner reads everything without a signal.
#[test]
fn anon_memfd_cannot_be_shrunk_by_another_process() {
    let o = Command::new(prog("sigbus_memfd"))
        .output()
        .expect("running sigbus_memfd");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("ok\n"), "{t}");
}

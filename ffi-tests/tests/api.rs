//! The C API, exercised by C programs (`ffi-tests/c/api_*.c`) compiled with
//! `-Wall -Wextra -Werror -pedantic` against the real `libmba.so`.
//!
//! Each program gets a scratch directory and a unique shared-memory prefix,
//! checks the library with its own assertions (see `api_test.h`) and exits
//! 0 only if all passed; this driver shows its output on failure and
//! checks that it left nothing in /dev/shm.

use mba_ffi_tests::{compile_c, repo, scratch};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

/// Compiles each program once per test run (different programs in
/// parallel).
fn program(name: &str, sources: &[&str]) -> PathBuf {
    type Slots = Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>;
    static BUILT: OnceLock<Slots> = OnceLock::new();
    let slot = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    slot.get_or_init(|| compile_c(name, sources, &[])).clone()
}

/// A shared-memory name prefix unique to this run and tag.
fn shm_prefix(tag: &str) -> String {
    format!(
        "mba-api-{tag}-{}-{:x}",
        std::process::id(),
        mba::sys::random_u64() & 0xffff_ffff
    )
}

/// Removes and returns the /dev/shm entries left with this prefix.
fn shm_leftovers(prefix: &str) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/dev/shm") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            // Also temporary files of a creation ('.' + name + ".mba-tmp...").
            if n.starts_with(prefix) || n.trim_start_matches('.').starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
                v.push(n);
            }
        }
    }
    v
}

fn show(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a C test program with a scratch directory and a shared-memory
/// prefix; asserts that it passed and cleaned up after itself.
fn run_c(name: &str, sources: &[&str]) -> String {
    let exe = program(name, sources);
    let dir = scratch(name);
    let prefix = shm_prefix(name);
    let out = Command::new(&exe)
        .arg(&dir)
        .arg(&prefix)
        .output()
        .expect("running a C test program");
    let left = shm_leftovers(&prefix);
    assert!(out.status.success(), "{name} failed\n{}", show(&out));
    assert!(left.is_empty(), "{name} left shared-memory objects behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn c_meta_version_strerror_options_errors() {
    run_c("api_meta", &["api_meta.c"]);
}

#[test]
fn c_open_names_readonly_cow_anon_raw() {
    run_c("api_open", &["api_open.c"]);
}

#[test]
fn c_data_types_records_shapes_edits_flush() {
    run_c("api_data", &["api_data.c"]);
}

#[test]
fn c_sync_lock_wait_pin_threads() {
    run_c("api_sync", &["api_sync.c"]);
}

#[test]
fn c_bad_input_handles_damaged_files_system_refusals() {
    run_c("api_bad", &["api_bad.c"]);
}

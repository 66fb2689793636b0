//! Helpers shared by the tests in `ffi-tests/tests`: locating the built
//! `libmba.so`, compiling C programs against it with the `cc` crate's
//! compiler detection, and scratch directories.

pub mod creator;
pub mod proc;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Directory holding the release `libmba.so` (and a `libmba.so.0` link for
/// its SONAME). Set `MBA_LIB_DIR` to test another build.
pub fn lib_dir() -> PathBuf {
    let d = std::env::var_os("MBA_LIB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/release"));
    if std::env::var_os("MBA_LIB_DIR").is_none() {
        refresh_uplifted(&d);
    }
    let so = d.join("libmba.so");
    assert!(
        so.exists(),
        "{} is missing: run `cargo build --release` first",
        so.display()
    );
    let link = d.join("libmba.so.0");
    if std::fs::symlink_metadata(&link).is_err() {
        let _ = std::os::unix::fs::symlink("libmba.so", &link);
    }
    d
}

/// `cargo test -p mba-ffi-tests` rebuilds `target/<profile>/deps/libmba.so`
/// but only `cargo build` copies it up to `target/<profile>/libmba.so`: if
/// the copy in `deps` is newer, put it in place (atomically), so the tests
/// never run against a stale library.
fn refresh_uplifted(d: &Path) {
    let so = d.join("libmba.so");
    let deps = d.join("deps/libmba.so");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(new) = mtime(&deps) else { return };
    if mtime(&so).is_some_and(|old| old >= new) {
        return;
    }
    let tmp = d.join(format!(".libmba.so.tmp.{}", std::process::id()));
    if std::fs::copy(&deps, &tmp).is_ok() && std::fs::rename(&tmp, &so).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// A fresh scratch directory (removed by the caller or left for inspection
/// on failure). Small files only: never fill /tmp.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mba-test-{tag}-{}-{}",
        std::process::id(),
        random_u64()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles C sources from `ffi-tests/c` (plus `extra` flags) into an
/// executable linked against libmba.so, with `-Wall -Wextra -Werror
/// -pedantic`. Returns its path.
pub fn compile_c(name: &str, sources: &[&str], extra: &[&str]) -> PathBuf {
    let c = repo().join("ffi-tests/c");
    let paths: Vec<PathBuf> = sources.iter().map(|s| c.join(s)).collect();
    compile_c_files(name, &paths, extra)
}

/// Like [`compile_c`], for C sources anywhere (e.g. `examples-c/`), with
/// the same flags and include path (`include/` and `ffi-tests/c`).
pub fn compile_c_files(name: &str, sources: &[PathBuf], extra: &[&str]) -> PathBuf {
    let out_dir = repo().join("target/ffi-tests-bin");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .target(env!("MBA_TARGET"))
        .host(env!("MBA_TARGET"))
        .opt_level(2)
        .get_compiler();
    let lib = lib_dir();
    let mut cmd: Command = compiler.to_command();
    cmd.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-D_GNU_SOURCE",
        "-g",
    ]);
    cmd.arg("-I").arg(repo().join("include"));
    cmd.arg("-I").arg(repo().join("ffi-tests/c"));
    for s in sources {
        cmd.arg(s);
    }
    cmd.args(extra);
    cmd.arg("-o").arg(&exe);
    cmd.arg(format!("-L{}", lib.display()))
        .arg("-lmba")
        .arg("-lpthread");
    cmd.arg(format!("-Wl,-rpath,{}", lib.display()));
    let st = cmd.status().expect("running the C compiler");
    assert!(st.success(), "compiling {sources:?} failed");
    exe
}

/// 64 random bits from the kernel (for unique scratch names).
pub fn random_u64() -> u64 {
    let mut v = 0u64;
    // SAFETY: getrandom writes at most 8 bytes into `v`.
    let n = unsafe { libc::getrandom((&mut v as *mut u64).cast(), 8, 0) };
    assert_eq!(n, 8, "getrandom");
    v
}

/// Is byte `offset` of the open file `fd` write-locked by another open
/// file description (an OFD lock, as creators and writers hold)?
pub fn ofd_is_locked(fd: std::os::fd::RawFd, offset: i64) -> bool {
    // SAFETY: an all-zero flock is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset;
    fl.l_len = 1;
    // SAFETY: `fl` is a valid, writable flock; F_OFD_GETLK writes into it.
    let rc = unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut fl) };
    assert_eq!(
        rc,
        0,
        "fcntl(F_OFD_GETLK): {}",
        std::io::Error::last_os_error()
    );
    fl.l_type != libc::F_UNLCK as libc::c_short
}

/// Serialises the tests of one test binary that must not overlap (they
/// share 2 cores, or one resource); a panicked holder does not poison it.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static M: std::sync::Mutex<()> = std::sync::Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

/// The C program `ffi-tests/c/NAME.c`, compiled once per test binary.
pub fn c_prog(name: &str) -> PathBuf {
    static CACHE: std::sync::Mutex<std::collections::BTreeMap<String, PathBuf>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let mut c = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    c.entry(name.to_string())
        .or_insert_with(|| compile_c(name, &[&format!("{name}.c")], &[]))
        .clone()
}

/// Does the test run as root (needed for mounts and a second uid)?
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

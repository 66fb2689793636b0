//! Leaked names (issue 14, scenario 12): `mba_gc` through the C ABI
//! (`ffi-tests/c/api_gc.c`) and `mba::gc` from Rust, against real child
//! processes that hold a creator's lock or map an array, and real SIGKILL.

use mba::gc::{self, GcOptions, TempState, Usage};
use mba::{Array, ElemType, Options};
use mba_ffi_tests::creator::LiveCreator;
use mba_ffi_tests::{compile_c, scratch};
use std::ffi::CString;
use std::process::Command;
use std::time::Duration;

#[test]
fn c_gc_spares_live_creators_and_used_arrays() {
    let exe = compile_c("api_gc", &["api_gc.c"], &[]);
    let dir = scratch("api_gc");
    let prefix = format!("mba-gc-{}", std::process::id());
    let out = Command::new(&exe).arg(&dir).arg(&prefix).output().unwrap();
    assert!(
        out.status.success(),
        "api_gc failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rust_scan_reports_and_remove_stale_waits_for_the_grace_period() {
    let dir = scratch("gc-rust");
    let d = dir.to_str().unwrap();
    let tmp = dir.join(format!(".x.mba-tmp.{}.abc1", std::process::id()));
    let mut child = LiveCreator::spawn(&tmp);
    let arr_path = dir.join("a.mba");
    let a = Array::open(arr_path.to_str().unwrap(), &Options::create(ElemType::U32)).unwrap();
    a.append_int(5).unwrap();

    let s = gc::scan(d).unwrap();
    assert_eq!(s.temps.len(), 1);
    let t = &s.temps[0];
    assert_eq!(
        (t.state, t.target.as_str(), t.pid),
        (TempState::Live, "x", std::process::id())
    );
    assert_eq!(s.arrays.len(), 1);
    let me = std::process::id();
    assert_eq!(s.arrays[0].usage, Usage::InUse(vec![me]));
    let h = s.arrays[0].header.as_ref().unwrap();
    assert_eq!((h.layout.elem, h.len), (ElemType::U32, 1));

    let quick = GcOptions {
        min_age: Duration::from_millis(300),
        ..GcOptions::default()
    };
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(gc::gc(d, &quick).unwrap().removed.len(), 0, "live creator");
    child.kill();
    assert_eq!(gc::scan(d).unwrap().temps[0].state, TempState::Young);
    assert_eq!(
        gc::scan_with(d, &quick).unwrap().temps[0].state,
        TempState::Stale
    );
    // The default grace (5 s) still protects the freshly killed creator's
    // file, whose ctime is older than 300 ms only.
    assert_eq!(gc::remove_stale(d).unwrap(), 0);
    assert!(tmp.exists());
    let r = gc::gc(d, &quick).unwrap();
    assert_eq!(r.removed, vec![tmp.clone()]);
    assert!(!tmp.exists());

    // The array: in use while we hold it, removed with `unused` once not.
    let unused = GcOptions {
        unused: true,
        ..quick.clone()
    };
    assert_eq!(gc::gc(d, &unused).unwrap().removed.len(), 0);
    drop(a);
    let s = gc::scan(d).unwrap();
    assert_eq!(s.arrays[0].usage, Usage::Unused);
    assert_eq!(
        gc::gc(d, &quick).unwrap().removed.len(),
        0,
        "only on request"
    );
    assert_eq!(gc::gc(d, &unused).unwrap().removed, vec![arr_path.clone()]);
    assert!(!arr_path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn temp_names_parse_strictly() {
    assert_eq!(gc::parse_temp_name(".a.b.mba-tmp.12.ff"), Some(("a.b", 12)));
    assert_eq!(gc::parse_temp_name(".a.mba-tmp.12.fg"), None);
    assert_eq!(gc::parse_temp_name("a.mba-tmp.12.ff"), None);
    assert_eq!(gc::parse_temp_name("..mba-tmp.12.ff"), None);
    assert_eq!(gc::parse_temp_name(".a.mba-tmp.x.ff"), None);
    assert_eq!(gc::parse_temp_name(".a.mba-tmp.12"), None);
}

/// gc removes only the caller's own leftovers: root leaves uid 65534's
/// stale temporary file alone, and uid 65534 (through the C ABI, in a
/// process of its own started with setpriv) leaves root's alone, in a
/// sticky world-writable directory like /dev/shm.
#[test]
fn gc_never_removes_another_users_files() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test runs a second uid with setpriv: run it as root"
    );
    let dir = scratch("gc-uids");
    std::fs::create_dir_all(&dir).unwrap();
    let c = CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::chmod(c.as_ptr(), 0o1777) }, 0);
    let mine = dir.join(".a.mba-tmp.1.ab");
    let theirs = dir.join(".b.mba-tmp.2.cd");
    std::fs::write(&mine, b"x").unwrap();
    std::fs::write(&theirs, b"x").unwrap();
    let t = CString::new(theirs.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::chown(t.as_ptr(), 65534, 65534) }, 0);
    let d = dir.to_str().unwrap();
    let force = GcOptions {
        min_age: Duration::ZERO,
        ..GcOptions::default()
    };
    let r = gc::gc(d, &force).unwrap();
    assert_eq!(r.removed, vec![mine.clone()]);
    assert!(theirs.exists() && r.failed.is_empty());

    // Root's file again; uid 65534 runs mba_gc(dir, MBA_GC_FORCE).
    std::fs::write(&mine, b"x").unwrap();
    let lib = mba_ffi_tests::lib_dir().join("libmba.so");
    let py = format!(
        "import ctypes,sys\nl=ctypes.CDLL({:?})\nn=ctypes.c_uint64(99)\n\
         rc=l.mba_gc({:?}.encode(),{},ctypes.byref(n))\nprint(rc,n.value)\n",
        lib.to_str().unwrap(),
        d,
        mba::ffi::MBA_GC_FORCE
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &py,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Its own stale file is removed, root's is not.
    assert_eq!(said.trim(), "0 1");
    assert!(mine.exists() && !theirs.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

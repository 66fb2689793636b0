//! The `mba` binary, run in real processes against real files in a private
//! directory: round trips, inspection that changes nothing, leftovers of
//! killed creators (removed) and of live ones (never touched), damaged
//! files, `watch` until SIGINT, exit statuses.

use mba::{Array, ElemType, Options};
use mba_ffi_tests::creator::LiveCreator;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mba(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mba"))
        .args(args)
        .output()
        .expect("run mba")
}

fn ok(args: &[&str]) -> String {
    let o = mba(args);
    assert!(
        o.status.success(),
        "mba {args:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn status(args: &[&str]) -> (i32, String) {
    let o = mba(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(tag: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("mba-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

fn p(d: &Path, f: &str) -> String {
    d.join(f).to_str().unwrap().to_string()
}

#[test]
fn create_append_dump_round_trip() {
    let d = scratch("rt");
    let a = p(&d.0, "a.mba");
    ok(&["create", &a, "i32"]);
    ok(&["append", &a, "1", "-2", "3"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mba"))
        .args(["append", &a])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"4 5\n6\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(ok(&["dump", &a]), "1\n-2\n3\n4\n5\n6\n");
    assert_eq!(ok(&["dump", &a, "--range", "-2:"]), "5\n6\n");
    assert_eq!(
        ok(&["dump", &a, "--range", "1:3", "--format", "jsonl"]),
        "-2\n3\n"
    );
    // Rows of a shape, and floats: written by the library, read by the CLI.
    let m = p(&d.0, "m.mba");
    ok(&["create", &m, "f64", "--shape", "3"]);
    let arr = Array::open(&m, &Options::default()).unwrap();
    let row: Vec<u8> = [1.5f64, -0.25, 1e300]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    arr.append(&row).unwrap();
    assert_eq!(ok(&["dump", &m]), "1.5 -0.25 1e300\n");
    assert_eq!(ok(&["dump", &m, "--format", "csv"]), "1.5,-0.25,1e300\n");
    assert_eq!(
        ok(&["dump", &m, "--format", "jsonl"]),
        "[1.5,-0.25,1e300]\n"
    );
    let info = ok(&["info", &m]);
    for want in [
        "type         f64[3]",
        "len          1",
        "row size     24 bytes",
        "lock holder  none",
    ] {
        assert!(info.contains(want), "{want:?} in\n{info}");
    }
    // Out of range for the type: refused, nothing appended.
    let (code, err) = status(&["append", &a, "99999999999"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("out of range"), "{err}");
    assert_eq!(ok(&["dump", &a]).lines().count(), 6);
}

#[test]
fn inspection_changes_nothing() {
    let d = scratch("ro");
    let a = p(&d.0, "a.mba");
    ok(&["create", &a, "u64"]);
    ok(&["append", &a, "7", "8"]);
    let before = std::fs::read(&a).unwrap();
    let m0 = std::fs::metadata(&a).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    ok(&["info", &a]);
    ok(&["dump", &a]);
    ok(&["check", &a]);
    ok(&["ls", d.0.to_str().unwrap()]);
    let mut w = Command::new(env!("CARGO_BIN_EXE_mba"))
        .args(["watch", &a, "--all"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: a child of ours.
    unsafe { libc::kill(w.id() as i32, libc::SIGINT) };
    assert!(w.wait().unwrap().success());
    let m1 = std::fs::metadata(&a).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), before, "bytes changed");
    assert_eq!(
        (m0.mtime(), m0.mtime_nsec()),
        (m1.mtime(), m1.mtime_nsec()),
        "mtime changed"
    );
}

#[test]
fn watch_prints_rows_as_they_arrive_and_exits_on_ctrl_c() {
    let d = scratch("watch");
    let a = p(&d.0, "a.mba");
    ok(&["create", &a, "i64"]);
    ok(&["append", &a, "1"]);
    let mut w = Command::new(env!("CARGO_BIN_EXE_mba"))
        .args(["watch", &a])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(w.stdout.take().unwrap()).lines();
    let arr = Array::open(&a, &Options::default()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    for v in [10, 20, 30] {
        arr.append_int(v).unwrap();
    }
    // Only the new rows (no --all), in order.
    let t = Instant::now();
    let got: Vec<String> = (0..3).map(|_| lines.next().unwrap().unwrap()).collect();
    assert_eq!(got, ["10", "20", "30"]);
    assert!(t.elapsed() < Duration::from_secs(5));
    // SAFETY: a child of ours.
    unsafe { libc::kill(w.id() as i32, libc::SIGINT) };
    assert!(w.wait().unwrap().success(), "Ctrl-C is a clean exit");
}

#[test]
fn check_reports_a_damaged_file() {
    let d = scratch("check");
    let a = p(&d.0, "a.mba");
    ok(&["create", &a, "u8"]);
    let mut b = std::fs::read(&a).unwrap();
    b[48] ^= 0xff; // item_size: the header CRC no longer matches
    std::fs::write(&a, &b).unwrap();
    let o = mba(&["check", &a]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("damaged"), "{out}");
    // Cut short: also damaged.
    std::fs::write(&a, &b[..100]).unwrap();
    assert_eq!(mba(&["check", &a]).status.code(), Some(1));
    // Not an array at all.
    std::fs::write(&a, b"hello").unwrap();
    assert_eq!(mba(&["check", &a]).status.code(), Some(1));
}

#[test]
fn exit_statuses_and_messages() {
    let d = scratch("exit");
    let (code, err) = status(&["info", &p(&d.0, "missing.mba")]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("No such file"), "{err}");
    let (code, err) = status(&["create", &p(&d.0, "x.mba"), "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown element type"), "{err}");
    let (code, _) = status(&["frobnicate"]);
    assert_eq!(code, 2);
    let a = p(&d.0, "a.mba");
    ok(&["create", &a, "u8"]);
    let (code, err) = status(&["create", &a, "u8"]);
    assert_eq!(code, 5, "{err}");
    let (code, err) = status(&["dump", &a, "--range", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(ok(&["--help"]).contains("Exit status"));
}

#[test]
fn ls_and_gc_leftovers_never_a_live_creators() {
    let d = scratch("gc");
    let dir = d.0.to_str().unwrap();
    let live = p(&d.0, &format!(".a.mba-tmp.{}.ab12", std::process::id()));
    let mut creator = LiveCreator::spawn(Path::new(&live));
    let dead = p(&d.0, ".b.mba-tmp.1.cd34");
    std::fs::write(&dead, b"x").unwrap();
    ok(&["create", &p(&d.0, "keep.mba"), "u8"]);
    let ls = ok(&["ls", dir]);
    assert!(ls.contains("creating (its creator is alive)"), "{ls}");
    assert!(ls.contains(".b.mba-tmp.1.cd34"), "{ls}");
    assert!(ls.contains("keep.mba") && ls.contains("ok"), "{ls}");
    // Dry run: lists, removes nothing.
    let out = ok(&["gc", dir, "--dry-run", "--force"]);
    assert!(
        out.contains("would remove") && out.contains(".b.mba-tmp.1.cd34"),
        "{out}"
    );
    assert!(Path::new(&dead).exists());
    // Without --force the fresh leftover is inside the grace period.
    ok(&["gc", dir]);
    assert!(Path::new(&dead).exists());
    let out = ok(&["gc", dir, "--force"]);
    assert!(out.contains("removed 1 file(s)"), "{out}");
    assert!(!Path::new(&dead).exists());
    assert!(
        Path::new(&live).exists(),
        "a live creator's file was removed"
    );
    assert!(
        Path::new(&p(&d.0, "keep.mba")).exists(),
        "arrays stay without --unused"
    );
    // Its creator killed: now a leftover that gc removes.
    creator.kill();
    ok(&["gc", dir, "--force"]);
    assert!(!Path::new(&live).exists());
    let arr = Array::open(&p(&d.0, "keep.mba"), &Options::create(ElemType::U8)).unwrap();
    ok(&["gc", dir, "--force", "--unused"]);
    assert!(
        Path::new(&p(&d.0, "keep.mba")).exists(),
        "in use by this process"
    );
    drop(arr);
    ok(&["gc", dir, "--force", "--unused"]);
    assert!(!Path::new(&p(&d.0, "keep.mba")).exists());
}

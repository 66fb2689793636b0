//! Hostile neighbours (issue 14): another process truncates or sparsely
//! grows an array we have open, another user squats its name or plants a
//! symbolic link there, a creator is caught (or killed) mid-creation. Each
//! case runs real separate processes — C programs from
//! `ffi-tests/c/hostile_*.c` linked against the release libmba.so, a second
//! uid through `setpriv`, a small tmpfs mounted for the test — and must end
//! in a documented status code: never a signal, a hang or a silent success.
//!
//! Needs root (mount, setpriv, the fs.protected_symlinks sysctl) for the
//! cases that say so; they fail with a message otherwise. The creation-lock
//! case needs `strace` (to hold a creator inside its `fallocate`).
//! The tests of this file run one at a time.

use mba::{ElemType, Layout, Options};
use mba_ffi_tests::proc::Proc;
use mba_ffi_tests::scratch;
use mba_ffi_tests::{c_prog, is_root, serial};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ harness

fn uniq(tag: &str) -> String {
    format!(
        "mba-hz-{tag}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    )
}

/// Waits for the exit within `t` (else kills it and fails) and requires
/// status 0 and "ok" as the last line.
fn ok(p: &mut Proc, t: Duration) {
    let (st, _) = p.finish(t);
    assert!(
        st.success() && p.seen.last().map(String::as_str) == Some("ok"),
        "{}: {st:?}{}\n{}",
        p.what,
        st.signal()
            .map_or(String::new(), |s| format!(" (killed by signal {s})")),
        p.report()
    );
}

/// Runs `cmd` to completion within `t`; returns (exit status, stdout).
fn run(what: &str, cmd: &mut Command, t: Duration) -> (std::process::ExitStatus, String) {
    let mut p = Proc::spawn(what, cmd);
    let (st, _) = p.finish(t);
    (st, p.seen.join("\n"))
}

/// `setpriv` as uid/gid 65534 (nobody), no supplementary groups.
fn as_nobody(exe: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ]);
    c.arg(exe);
    c
}

/// Entries of `dir` whose names contain `part`.
fn entries_with(dir: &Path, part: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(part))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `/dev/shm` entries whose names contain `part` (also on panic).
struct ShmClean(String);
impl Drop for ShmClean {
    fn drop(&mut self) {
        for n in entries_with(Path::new("/dev/shm"), &self.0) {
            let _ = std::fs::remove_file(Path::new("/dev/shm").join(n));
        }
    }
}

struct DirClean(PathBuf);
impl Drop for DirClean {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A 4 MiB tmpfs mounted on a scratch directory, unmounted when dropped.
struct Tmpfs(PathBuf);
impl Tmpfs {
    fn mount(tag: &str) -> Tmpfs {
        let d = scratch(tag);
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs"])
            .arg(&d)
            .status()
            .expect("running mount");
        assert!(st.success(), "mount -t tmpfs failed (this test needs root)");
        Tmpfs(d)
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        if std::fs::remove_dir(&self.0).is_err() {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

/// Sets a sysctl under /proc/sys for the guard's life, then restores it.
struct Sysctl(PathBuf, String);
impl Sysctl {
    fn set(path: &str, value: &str) -> Sysctl {
        let p = PathBuf::from(path);
        let old = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::write(&p, value).unwrap_or_else(|e| panic!("setting {path}: {e} (needs root)"));
        Sysctl(p, old.trim().to_string())
    }
}
impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, &self.1);
    }
}

const T: Duration = Duration::from_secs(30);

// ------------------------------------------------------------- scenario 1

/// Another process truncates two arrays this process has open (one to 1000
/// rows, one to 0 bytes). New opens in this process, which reuse the cached
/// mappings, must fail with MBA_E_TRUNCATED (0.1.3: the open succeeded and
/// the next read died with SIGBUS, or the open itself did); growth, flush,
/// truncate and a wait's sleep of the open handles fail with
/// MBA_E_TRUNCATED, and then reads past the new end give MBA_E_INDEX.
#[test]
fn foreign_truncation_is_seen_by_new_opens_and_rare_paths() {
    let _s = serial();
    for shm in [true, false] {
        let (n1, n2, p1, p2, _guard): (String, String, PathBuf, PathBuf, Box<dyn std::any::Any>) =
            if shm {
                let (a, b) = (uniq("trunc1"), uniq("trunc2"));
                (
                    format!("shm://{a}"),
                    format!("shm://{b}"),
                    Path::new("/dev/shm").join(&a),
                    Path::new("/dev/shm").join(&b),
                    Box::new((ShmClean(a), ShmClean(b))),
                )
            } else {
                let d = scratch("trunc");
                let (a, b) = (d.join("a.mba"), d.join("b.mba"));
                (
                    a.display().to_string(),
                    b.display().to_string(),
                    a,
                    b,
                    Box::new(DirClean(d)),
                )
            };
        let mut p = Proc::spawn(
            format!("hostile_truncate {n1} {n2}"),
            Command::new(c_prog("hostile_truncate")).args([&n1, &n2]),
        );
        p.expect_line("ready", T);
        // The truncating process is this test process: not the C program.
        let f = std::fs::OpenOptions::new().write(true).open(&p1).unwrap();
        f.set_len(65536 + 1000 * 8).unwrap();
        let f2 = std::fs::OpenOptions::new().write(true).open(&p2).unwrap();
        f2.set_len(0).unwrap();
        p.send("go\n");
        ok(&mut p, T);
        println!(
            "foreign truncation ({}): {:?}",
            if shm { "shm" } else { "file" },
            p.seen
        );
    }
}

// ------------------------------------------------------------- scenario 2

/// On a full 4 MiB tmpfs, a foreign writer grows the array with ftruncate
/// and raises its capacity (and later its length) in the header: appends
/// must fail with MBA_E_NOSPACE and read-only reads past the allocated rows
/// with MBA_E_INDEX, never SIGBUS; once space is back a read-write open
/// allocates the holes. (0.1.3: SIGBUS at the first append past the
/// allocated rows.)
#[test]
fn sparse_capacity_on_a_full_tmpfs_gives_codes_not_sigbus() {
    let _s = serial();
    assert!(is_root(), "this test mounts a tmpfs: run it as root");
    let fs = Tmpfs::mount("sparse");
    let mut p = Proc::spawn(
        "hostile_sparse",
        Command::new(c_prog("hostile_sparse")).arg(&fs.0),
    );
    ok(&mut p, Duration::from_secs(60));
}

/// libmba's own files pass the cheap allocation test (st_blocks * 512 >=
/// st_size) on tmpfs (/dev/shm) and on the scratch filesystem (ext4 here),
/// after creation, growth and a large extend: so the open path never takes
/// them for sparse (SEEK_HOLE would, on ext4, for unwritten extents).
#[test]
fn own_files_pass_the_allocation_test() {
    let _s = serial();
    let d = scratch("alloc");
    let _dc = DirClean(d.clone());
    let shm = uniq("alloc");
    let _sc = ShmClean(shm.clone());
    for (name, path) in [
        (d.join("a.mba").display().to_string(), d.join("a.mba")),
        (format!("shm://{shm}"), Path::new("/dev/shm").join(&shm)),
    ] {
        let a = mba::shm::open(
            &name,
            &Options {
                create: true,
                exclusive: true,
                layout: Some(Layout::scalar(ElemType::U64).unwrap()),
                capacity: 1000,
                max_len: 1 << 24,
                ..Options::default()
            },
        )
        .unwrap();
        let check = |what: &str| {
            let m = std::fs::metadata(&path).unwrap();
            assert!(
                m.blocks() * 512 >= m.size(),
                "{name} {what}: {} blocks for {} bytes",
                m.blocks(),
                m.size()
            );
        };
        check("after creation");
        for i in 0..100_000u64 {
            a.append(&i.to_le_bytes()).unwrap();
        }
        check("after growth");
        let big = vec![7u8; 8 << 20];
        a.extend(&big).unwrap();
        check("after a large extend");
        // A read-only handle trusts every row.
        let r = mba::shm::open(
            &name,
            &Options {
                access: mba::Access::ReadOnly,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(r.len(), a.len());
        assert_eq!(r.capacity(), a.capacity());
    }
}

// ------------------------------------------------------------- scenario 3

/// uid 65534 creates shm://NAME first (a valid array, mode 0666). Our
/// MBA_CREATE (open-or-create) must refuse it with MBA_E_OWNER (0.1.3:
/// silently adopted it), MBA_CREATE|MBA_FOREIGN and a plain attach work.
#[test]
fn squatted_name_is_refused_unless_foreign() {
    let _s = serial();
    assert!(
        is_root(),
        "this test runs a second uid with setpriv: run it as root"
    );
    let n = uniq("squat");
    let _c = ShmClean(n.clone());
    let name = format!("shm://{n}");
    let (st, out) = run(
        "squat as uid 65534",
        as_nobody(&c_prog("hostile_open")).args(["squat", &name]),
        T,
    );
    assert!(st.success(), "squatter failed: {out}");
    let m = std::fs::metadata(Path::new("/dev/shm").join(&n)).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (65534, 0o666));
    let mut p = Proc::spawn(
        "hostile_open adopt",
        Command::new(c_prog("hostile_open")).args(["adopt", &name]),
    );
    ok(&mut p, T);
    // Nothing changed the squatter's file.
    let m2 = std::fs::metadata(Path::new("/dev/shm").join(&n)).unwrap();
    assert_eq!((m2.uid(), m2.ino(), m2.size()), (65534, m.ino(), m.size()));
}

// ------------------------------------------------------------- scenario 5

/// `mba_open(name, flags)` in a new process (within 10 s, else it hangs:
/// 0.1.3 looped at 100 % CPU on a dangling symlink with MBA_CREATE);
/// returns its status line.
fn open_status(name: &str, flags: u32) -> String {
    let (st, out) = run(
        &format!("open {name} {flags}"),
        Command::new(c_prog("hostile_open")).args(["open", name, &flags.to_string()]),
        Duration::from_secs(10),
    );
    assert!(st.success(), "open {name}: {st:?}\n{out}");
    out.lines().next().unwrap_or("").to_string()
}

const CREATE: u32 = 1;
const RDONLY: u32 = 4;
const FOREIGN: u32 = 64;

/// A symbolic link at the name is refused with MBA_E_PERM at once, with
/// and without MBA_CREATE, dangling or pointing at a real array, planted by
/// us or by another user with fs.protected_symlinks=0; no temporary file is
/// left behind and nothing is created at the link's target.
#[test]
fn symlink_at_the_name_is_refused_without_looping() {
    let _s = serial();
    assert!(
        is_root(),
        "this test sets fs.protected_symlinks and runs a second uid: run it as root"
    );
    let n = uniq("link");
    let _c = ShmClean(n.clone());
    let shm = Path::new("/dev/shm");
    let target = shm.join(format!("{n}-target"));
    let link = shm.join(&n);

    // Our own dangling link, in /dev/shm and in a directory.
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for flags in [CREATE, 0, RDONLY] {
        let s = open_status(&format!("shm://{n}"), flags);
        assert!(s.starts_with("MBA_E_PERM"), "flags {flags}: {s}");
    }
    assert!(entries_with(shm, ".mba-tmp.")
        .iter()
        .all(|e| !e.contains(&n)));
    assert!(!target.exists());
    std::fs::remove_file(&link).unwrap();
    let d = scratch("link");
    let _dc = DirClean(d.clone());
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("l.mba")).unwrap();
    let s = open_status(&d.join("l.mba").display().to_string(), CREATE);
    assert!(s.starts_with("MBA_E_PERM"), "{s}");
    assert_eq!(entries_with(&d, "mba-tmp"), Vec::<String>::new());
    assert!(!d.join("nowhere").exists());

    // Another user's links, with the kernel's protection off.
    let _sysctl = Sysctl::set("/proc/sys/fs/protected_symlinks", "0");
    let ours = shm.join(format!("{n}-ours"));
    let a = mba::shm::open(&format!("shm://{n}-ours"), &Options::create(ElemType::U64)).unwrap();
    a.append(&5u64.to_le_bytes()).unwrap();
    for to in [&target, &ours] {
        let mut ln = Command::new("setpriv");
        ln.args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
            "ln",
            "-s",
        ])
        .arg(to)
        .arg(&link);
        assert!(ln.status().unwrap().success(), "ln -s as uid 65534");
        assert_eq!(std::fs::symlink_metadata(&link).unwrap().uid(), 65534);
        for flags in [CREATE, CREATE | FOREIGN, 0, RDONLY] {
            let s = open_status(&format!("shm://{n}"), flags);
            assert!(
                s.starts_with("MBA_E_PERM"),
                "link to {to:?}, flags {flags}: {s}"
            );
        }
        assert!(!target.exists());
        assert!(entries_with(shm, ".mba-tmp.")
            .iter()
            .all(|e| !e.contains(&n)));
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(a.len(), 1);
    drop(a);
    let _ = std::fs::remove_file(&ours);
}

// ------------------------------------------------------------ scenario 12

/// Is byte 0 of `path` write-locked by another open file description?
fn byte0_locked(path: &Path) -> bool {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    mba_ffi_tests::ofd_is_locked(f.as_raw_fd(), 0)
}

/// Polls `dir` (up to 10 s) for a temporary file of `base`.
fn find_tmp(dir: &Path, base: &str) -> Option<PathBuf> {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let prefix = format!(".{base}.mba-tmp.");
        if let Some(n) = entries_with(dir, &prefix).into_iter().next() {
            return Some(dir.join(n));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// A creator held for 2 s inside its `fallocate` (strace fault injection)
/// has its temporary file `.NAME.mba-tmp.*` write-locked on byte 0 (0.1.3:
/// no lock, so a collector could not tell it from a leftover); the final
/// file carries no lock; a creator killed mid-creation leaves a temporary
/// file whose lock is gone — what a collector may remove.
#[test]
fn creation_lock_tells_live_creations_from_leftovers() {
    let _s = serial();
    let has_strace = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(has_strace, "this test needs strace (Debian package strace)");
    let d = scratch("clock");
    let _dc = DirClean(d.clone());
    let held = |file: &str| {
        Proc::spawn(
            format!("hostile_open hold {file} under strace"),
            Command::new("strace")
                .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fallocate"])
                .args(["-e", "inject=fallocate:delay_enter=2000000"])
                .arg(c_prog("hostile_open"))
                .args(["hold", &d.join(file).display().to_string()]),
        )
    };

    let mut p = held("live.mba");
    p.expect_line("pid ", T);
    let tmp = find_tmp(&d, "live.mba").expect("no temporary file appeared");
    assert!(
        byte0_locked(&tmp),
        "{tmp:?}: a creation in progress holds no lock"
    );
    p.expect_line("created", T);
    assert!(!tmp.exists(), "{tmp:?} still there after the creation");
    assert!(
        !byte0_locked(&d.join("live.mba")),
        "the final file kept the creation lock"
    );
    p.send("\n");
    ok(&mut p, T);

    let mut k = held("killed.mba");
    let pid: i32 = k.expect_line("pid ", T)[4..].trim().parse().unwrap();
    let tmp = find_tmp(&d, "killed.mba").expect("no temporary file appeared");
    assert!(byte0_locked(&tmp));
    // SAFETY: kill(2) of the creator, our grandchild.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let end = Instant::now() + T;
    while byte0_locked(&tmp) {
        assert!(Instant::now() < end, "the killed creator's lock stayed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(tmp.exists(), "the leftover of a killed creator is gone");
    assert!(!d.join("killed.mba").exists());
}

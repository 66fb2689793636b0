//! Resource exhaustion in real processes: a memory cgroup too small for an
//! array, a full ext4 image, an address-space limit below the reservation,
//! and a process out of file descriptors. Each ends in a documented error
//! code, the process lives, and the elements written before stay intact.
//!
//! Memory limits are only ever reached inside a small memory cgroup that
//! the test makes (cgroup v1 memory controller, or v2 where only that
//! exists) and removes after: never the machine's memory. Tests that need
//! root (cgroups, mounts) print SKIPPED and pass without it.

use mba_ffi_tests::scratch;
use mba_ffi_tests::{c_prog, is_root, serial};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs a child to completion within `limit` (killed after it); returns
/// its output.
fn run(what: &str, cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            // SAFETY: plain kill of our own child, which has not been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = t.join();
            panic!("{what}: still running after {limit:?}, killed");
        }
    };
    let _ = t.join();
    out
}

fn show(o: &Output) -> String {
    format!(
        "status: {:?} (signal {:?})\n--- stdout\n{}--- stderr\n{}",
        o.status,
        o.status.signal(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that a child exited 0 (not killed by a signal); returns stdout.
fn ok(what: &str, o: &Output) -> String {
    assert!(o.status.success(), "{what}\n{}", show(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn shm_name(tag: &str) -> String {
    format!(
        "mba-exh-{tag}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    )
}

/// Removes /dev/shm/NAME when dropped.
struct ShmGuard(String);
impl Drop for ShmGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(Path::new("/dev/shm").join(&self.0));
    }
}

// ------------------------------------------------------------ memory cgroup

/// A fresh memory cgroup with a hard limit, removed when dropped. Only
/// children are moved into it (they write their own pid to `procs()`).
struct MemCgroup {
    dir: PathBuf,
    v1: bool,
}

impl MemCgroup {
    fn new(limit: u64) -> Result<MemCgroup, String> {
        if !is_root() {
            return Err("not root".into());
        }
        let tag = format!(
            "mba-test-{}-{:x}",
            std::process::id(),
            mba_ffi_tests::random_u64() & 0xffff_ffff
        );
        let v1 = Path::new("/sys/fs/cgroup/memory");
        if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(&tag);
            std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            let cg = MemCgroup { dir, v1: true };
            cg.write("memory.limit_in_bytes", limit)?;
            if cg.dir.join("memory.memsw.limit_in_bytes").exists() {
                cg.write("memory.memsw.limit_in_bytes", limit)?;
            }
            return Ok(cg);
        }
        for top in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            let top = Path::new(top);
            let ctl = std::fs::read_to_string(top.join("cgroup.controllers")).unwrap_or_default();
            if !ctl.split_whitespace().any(|c| c == "memory") {
                continue;
            }
            let _ = std::fs::write(top.join("cgroup.subtree_control"), "+memory");
            let dir = top.join(&tag);
            std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            let cg = MemCgroup { dir, v1: false };
            cg.write("memory.max", limit)?;
            if cg.dir.join("memory.swap.max").exists() {
                cg.write("memory.swap.max", 0)?;
            }
            return Ok(cg);
        }
        Err("no cgroup memory controller (v1 or v2) is mounted".into())
    }

    fn write(&self, file: &str, v: u64) -> Result<(), String> {
        std::fs::write(self.dir.join(file), v.to_string())
            .map_err(|e| format!("writing {}/{file}: {e}", self.dir.display()))
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// How many processes the kernel's OOM killer has killed in it.
    fn oom_kills(&self) -> u64 {
        let f = if self.v1 {
            "memory.oom_control"
        } else {
            "memory.events"
        };
        std::fs::read_to_string(self.dir.join(f))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove the cgroup {}", self.dir.display());
    }
}

const MIB: u64 = 1 << 20;

/// Runs `mp_memlimit` in a fresh 64 MiB memory cgroup: it must succeed
/// (MBA_E_NOMEM where the memory runs out, its data intact), and the OOM
/// killer must not have run.
fn memlimit_child(args: &[&str]) -> Option<String> {
    let cg = match MemCgroup::new(64 * MIB) {
        Ok(cg) => cg,
        Err(why) => {
            println!("SKIPPED: {why}");
            return None;
        }
    };
    let procs = cg.procs();
    let o = run(
        "mp_memlimit",
        Command::new(c_prog("mp_memlimit")).arg(&procs).args(args),
        Duration::from_secs(60),
    );
    let kills = cg.oom_kills();
    let text = ok(&format!("mp_memlimit {args:?} in a 64 MiB cgroup"), &o);
    assert_eq!(kills, 0, "the OOM killer ran in the cgroup\n{}", show(&o));
    assert!(text.contains("memory cgroup"), "{text}");
    Some(text)
}

/// Scenario 7: mba_anon with a capacity of 256 MiB inside a 64 MiB memory
/// cgroup returns MBA_E_NOMEM with a message naming the cgroup and the
/// numbers (0.1.3: the OOM killer killed the process in fallocate).
#[test]
fn anon_above_the_memory_cgroup_limit_gives_nomem() {
    let _s = serial();
    if let Some(t) = memlimit_child(&["anon"]) {
        println!("{t}");
    }
}

/// Scenario 7: appends to a shm:// array inside a 64 MiB memory cgroup
/// stop with MBA_E_NOMEM below the limit; every element appended before
/// reads back (0.1.3: the OOM killer).
#[test]
fn shm_appends_past_the_memory_cgroup_limit_give_nomem() {
    let _s = serial();
    let name = shm_name("append");
    let _g = ShmGuard(name.clone());
    if let Some(t) = memlimit_child(&["append", &format!("shm://{name}")]) {
        println!("{t}");
    }
}

/// Scenario 7: 8 MiB extends (which grow the file with pwrite, not
/// fallocate) inside a 64 MiB memory cgroup: MBA_E_NOMEM, data intact.
#[test]
fn shm_extends_past_the_memory_cgroup_limit_give_nomem() {
    let _s = serial();
    let name = shm_name("extend");
    let _g = ShmGuard(name.clone());
    if let Some(t) = memlimit_child(&["extend", &format!("shm://{name}")]) {
        println!("{t}");
    }
}

// ------------------------------------------------------ process limits

/// Runs `mp_limits MODE DIR` (with extra environment) in a scratch
/// directory; returns its output.
fn limits_child(mode: &str, env: &[(&str, &str)]) -> Output {
    let d = scratch(&format!("limits-{mode}"));
    let mut cmd = Command::new(c_prog("mp_limits"));
    cmd.arg(mode).arg(&d).env_remove("MBA_RESERVE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = run(
        &format!("mp_limits {mode}"),
        &mut cmd,
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_dir_all(&d);
    o
}

/// RLIMIT_AS below the default 64 GiB reservation: creating an array
/// returns MBA_E_NOMEM with a message that names RLIMIT_AS and
/// MBA_RESERVE (0.1.3: "mmap: Cannot allocate memory"); no descriptor or
/// temporary file leaks; an array opened before stays intact and writable.
#[test]
fn rlimit_as_below_the_reservation_gives_nomem_with_advice() {
    let _s = serial();
    let o = limits_child("as", &[]);
    println!("{}", ok("mp_limits as", &o));
}

/// MBA_RESERVE sets the reservation of arrays created without max_len
/// (files and anonymous arrays), an explicit max_len wins, and an invalid
/// value makes opens fail with MBA_E_ARG and a message naming it.
#[test]
fn mba_reserve_sets_the_default_reservation() {
    let _s = serial();
    let t = ok("mp_limits reserve (default)", &limits_child("reserve", &[]));
    assert!(
        t.contains("u32_max_len=17179869184 f64_max_len=8589934592"),
        "{t}"
    );
    let t = ok(
        "mp_limits reserve MBA_RESERVE=1G",
        &limits_child("reserve", &[("MBA_RESERVE", "1G")]),
    );
    assert!(
        t.contains("u32_max_len=268435456 f64_max_len=134217728"),
        "{t}"
    );
    let t = ok(
        "mp_limits reserve MBA_RESERVE=8192",
        &limits_child("reserve", &[("MBA_RESERVE", "8192")]),
    );
    assert!(t.contains("u32_max_len=2048 f64_max_len=1024"), "{t}");
    for bad in ["lots", "1.5G", "100", "65T", "12Q"] {
        let t = ok(
            &format!("mp_limits reserve MBA_RESERVE={bad}"),
            &limits_child("reserve", &[("MBA_RESERVE", bad)]),
        );
        // MBA_E_ARG is -3.
        assert!(t.contains("refused open=-3 anon=-3"), "{bad}: {t}");
        assert!(t.contains("MBA_RESERVE"), "{bad}: {t}");
    }
}

/// Out of file descriptors (RLIMIT_NOFILE = open descriptors + 0..5):
/// create, open, anonymous and copy-on-write opens either work or return
/// MBA_E_NOMEM (0.1.3: MBA_E_IO), appends likewise; no descriptor and no
/// temporary file leaks, and earlier arrays stay intact.
#[test]
fn out_of_descriptors_gives_nomem_without_leaks() {
    let _s = serial();
    let o = limits_child("emfile", &[]);
    println!("{}", ok("mp_limits emfile", &o));
}

// -------------------------------------------------------- full ext4 image

/// A 16 MiB ext4 filesystem in a loop image, mounted on a scratch
/// directory; unmounted and removed when dropped.
struct Ext4Mount {
    dir: PathBuf,
    image: PathBuf,
}

impl Ext4Mount {
    fn new() -> Result<Ext4Mount, String> {
        if !is_root() {
            return Err("not root".into());
        }
        let base = scratch("ext4");
        let image = base.join("fs.img");
        let dir = base.join("mnt");
        std::fs::create_dir(&dir).unwrap();
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(16 * MIB).unwrap();
        drop(f);
        let sh = |cmd: &mut Command| -> Result<(), String> {
            let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
            if o.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{cmd:?}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
        };
        let made = sh(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(&image))
        .and_then(|()| {
            sh(Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&dir))
        });
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&base);
            return Err(e);
        }
        Ok(Ext4Mount { dir, image })
    }
}

impl Drop for Ext4Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(self.image.parent().unwrap());
    }
}

/// Free bytes of the filesystem holding `p`.
fn free_bytes(p: &Path) -> u64 {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: an all-zero statvfs is valid; statvfs only writes into it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statvfs.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

/// A full ext4 filesystem (a 16 MiB loop image, filled up to 3 MiB before
/// the test, which fills the rest): appends, extends and reserves fail
/// with MBA_E_NOSPACE, the process lives, every earlier element reads back
/// (in the process and from this one) and appends work again once space
/// is freed (mp_nospace.c, as for the full tmpfs).
#[test]
fn full_ext4_image_gives_nospace() {
    let _s = serial();
    let m = match Ext4Mount::new() {
        Ok(m) => m,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    // Leave about 3 MiB: the program's 8 MiB extend must not fit.
    let free = free_bytes(&m.dir);
    let pad = free.saturating_sub(3 * MIB);
    let f = std::fs::File::create(m.dir.join("pad")).unwrap();
    // SAFETY: plain syscall on our file.
    let r = unsafe { libc::fallocate(std::os::fd::AsRawFd::as_raw_fd(&f), 0, 0, pad as i64) };
    assert_eq!(r, 0, "fallocate pad");
    drop(f);
    let o = run(
        "mp_nospace fill (ext4)",
        Command::new(c_prog("mp_nospace")).arg("fill").arg(&m.dir),
        Duration::from_secs(120),
    );
    let t = ok("mp_nospace fill on a full ext4 image", &o);
    println!("full ext4: {t}");
    let line = t.lines().last().unwrap();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    let (name, rows): (String, u64) = (field("name="), field("rows=").parse().unwrap());
    let a = mba::shm::open(
        &name,
        &mba::Options {
            access: mba::Access::ReadOnly,
            ..mba::Options::default()
        },
    )
    .unwrap();
    assert_eq!(a.len(), rows);
    for i in 0..rows {
        assert_eq!(a.get_int(i).unwrap(), (i * 3 + 1) as i128, "row {i}");
    }
}

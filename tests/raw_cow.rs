//! `map_raw` in copy-on-write mode needs only read access to the file
//! (issue 15: it opened the file read-write, so a private map of a file
//! one may only read failed). The file lives on a tmpfs remounted
//! read-only, which refuses write access even to root: a real OS refusal.

use mba::{Access, Array, Code, ElemType, Layout};
use std::process::Command;

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn copy_on_write_map_of_a_read_only_file() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, 0, "mounts a tmpfs: run as root");
    let dir = std::env::temp_dir().join(format!("mba-rawcow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    assert!(sh(&["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d]));
    struct Unmount(String);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _u = Unmount(d.to_string());
    let path = dir.join("raw.bin");
    let vals: Vec<u8> = (1u32..=8).flat_map(|v| v.to_ne_bytes()).collect();
    std::fs::write(&path, &vals).unwrap();
    assert!(sh(&["mount", "-o", "remount,ro", d]));
    let p = path.to_str().unwrap();
    let l = Layout::scalar(ElemType::U32).unwrap();

    // Read-write needs write access: refused by the OS, a clear error.
    let e = Array::map_raw(p, &l, 0, None, Access::ReadWrite)
        .err()
        .unwrap();
    assert!(matches!(e.code, Code::ReadOnly | Code::Perm), "{e:?}");
    // Copy-on-write: maps, reads the file, writes stay private.
    let a = Array::map_raw(p, &l, 0, None, Access::CopyOnWrite).unwrap();
    assert_eq!(a.len(), 8);
    assert_eq!(a.get_int(7).unwrap(), 8);
    a.set_int(0, 99).unwrap();
    assert_eq!(a.get_int(0).unwrap(), 99);
    assert_eq!(std::fs::read(&path).unwrap(), vals);
    drop(a);
    let r = Array::map_raw(p, &l, 0, None, Access::ReadOnly).unwrap();
    assert_eq!(r.get_int(0).unwrap(), 1);
}

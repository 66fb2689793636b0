//! Open of arbitrary bytes as a file: the input (after two control fields)
//! becomes a file in a private temporary directory, opened read-only,
//! read-write and copy-on-write through the public Rust API, then read,
//! appended to and popped. Any outcome is fine except a signal or a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mba::format::{crc32, CRC_END, OFF_CRC};
use mba::{Access, Array, Options};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mba-fuzz-open-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&d)
            .expect("private temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    // flags bit 0: fix the header checksum; bit 1: set the file size to
    // `size` (sparse growth or truncation); bit 2: skip the append.
    let flags = data[0];
    let size = u32::from_le_bytes(data[1..5].try_into().unwrap()) as u64 % (1 << 20);
    let mut body = data[5..].to_vec();
    if flags & 1 != 0 && body.len() >= CRC_END + 4 {
        let crc = crc32(&body[..CRC_END]);
        body[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }
    static N: AtomicU64 = AtomicU64::new(0);
    let path = dir().join(format!("a{}", N.fetch_add(1, Ordering::Relaxed)));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("temp file");
        f.write_all(&body).expect("write");
        if flags & 2 != 0 {
            f.set_len(size).expect("set_len");
        }
    }
    let p = path.to_str().unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite, Access::CopyOnWrite] {
        let o = Options {
            access,
            ..Options::default()
        };
        if let Ok(a) = Array::open(p, &o) {
            exercise(&a, flags & 4 == 0);
        }
    }
    let _ = fs::remove_file(&path);
});

fn exercise(a: &Array, append: bool) {
    let rb = a.row_bytes() as usize;
    let mut row = vec![0u8; rb];
    let len = a.len();
    let _ = a.capacity();
    for i in [0, len / 2, len.saturating_sub(1), len, u64::MAX] {
        let _ = a.get(i, &mut row);
    }
    if rb <= 4096 {
        let mut many = vec![0u8; rb * (len.min(64) as usize)];
        let _ = a.read(0, &mut many);
    }
    if append && a.is_writable() {
        row.iter_mut().for_each(|b| *b = 0x5a);
        if a.append(&row).is_ok() {
            let mut back = vec![0u8; rb];
            // Another process may not change the file here: the row must read back.
            if a.get(a.len() - 1, &mut back).is_ok() {
                assert_eq!(back, row, "appended row reads back");
            }
            let _ = a.pop(None);
        }
        let _ = a.reserve(len.saturating_add(3));
        let _ = a.truncate(len);
    }
}

//! mp_writer (Rust) - the Rust twin of `ffi-tests/c/mp_writer.c`: appends
//! self-describing 16-byte records through the `mba` crate's safe API, so
//! the multi-process tests mix C and Rust writers on one array.
//!
//! usage: mp_writer NAME ID COUNT MODE SEED [go]   (see mp_writer.c)
//! Exit status: 0 done, 3 the array is full, 2 any other error.

use mba::{Code, ElemType, Options};
use std::io::Read;

fn check(writer: u32, seq: u32) -> u64 {
    let mut z = ((writer as u64) << 32) | seq as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn record(writer: u32, seq: u32) -> [u8; 16] {
    let mut r = [0u8; 16];
    r[0..4].copy_from_slice(&writer.to_ne_bytes());
    r[4..8].copy_from_slice(&seq.to_ne_bytes());
    r[8..16].copy_from_slice(&check(writer, seq).to_ne_bytes());
    r
}

fn die(msg: String) -> ! {
    eprintln!("mp_writer.rs: {msg}");
    std::process::exit(2)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        die("usage: mp_writer NAME ID COUNT MODE SEED [go]".into());
    }
    let id: u32 = a[2].parse().unwrap_or(0);
    let count: u64 = a[3].parse().unwrap_or(0);
    let mode = match a[4].as_str() {
        "append" => 0,
        "batch" => 1,
        "extend" => 2,
        "mixed" => 3,
        m => die(format!("bad mode {m}")),
    };
    if id == 0 {
        die("bad id".into());
    }
    let mut rng: u64 = a[5]
        .parse::<u64>()
        .unwrap_or(1)
        .wrapping_mul(2_654_435_761)
        .wrapping_add(id as u64 + 1);
    let mut rand = move || {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let arr = mba::shm::open(
        &a[1],
        &Options {
            expect: Some(ElemType::Record),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| die(format!("open {}: {e}", a[1])));
    if arr.row_bytes() != 16 {
        die(format!("row size {}", arr.row_bytes()));
    }
    if a.get(6).map(String::as_str) == Some("go") {
        let mut b = [0u8; 1];
        let _ = std::io::stdin().read(&mut b);
    }
    let mut seq: u64 = 1;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 16);
    loop {
        if count != 0 && seq > count {
            break;
        }
        let m = if mode == 3 { rand() % 3 } else { mode };
        let mut n = if m == 0 { 1 } else { 1 + rand() % 64 };
        if count != 0 && seq + n - 1 > count {
            n = count - seq + 1;
        }
        let mut done = 0;
        let res = match m {
            2 => {
                buf.clear();
                for i in 0..n {
                    buf.extend_from_slice(&record(id, (seq + i) as u32));
                }
                arr.extend(&buf).map(|()| done = n)
            }
            1 => {
                arr.lock().unwrap_or_else(|e| die(format!("lock: {e}")));
                let mut r = Ok(());
                for i in 0..n {
                    r = arr.append(&record(id, (seq + i) as u32));
                    if r.is_err() {
                        break;
                    }
                    done += 1;
                }
                arr.unlock().unwrap_or_else(|e| die(format!("unlock: {e}")));
                r
            }
            _ => arr.append(&record(id, seq as u32)).map(|()| done = 1),
        };
        seq += done;
        match res {
            Ok(()) => {}
            Err(e) if e.code == Code::Full => {
                println!("full {id} {}", seq - 1);
                std::process::exit(3);
            }
            Err(e) => die(format!("writer {id}: append failed at seq {seq}: {e}")),
        }
    }
    println!("done {id} {}", seq - 1);
}

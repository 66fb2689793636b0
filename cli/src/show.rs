//! The read-only commands' output: `ls`, `info`, `check` and one row of
//! `dump`/`watch`.

use crate::{open_ro, resolve, Fail, Format, Res, EXIT_DAMAGED, EXIT_OTHER};
use mba::format::{self, ElemType};
use mba::gc::{self, TempState, Usage};
use mba::Array;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};

fn human(bytes: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < U.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", U[u])
    }
}

fn type_text(l: &format::Layout) -> String {
    let mut s = l.elem.name().to_string();
    if l.elem == ElemType::Record {
        s = format!("record{}", l.item_size);
    }
    if !l.row_shape.is_empty() {
        let d: Vec<String> = l.row_shape.iter().map(u64::to_string).collect();
        s = format!("{s}[{}]", d.join("x"));
    }
    s
}

pub fn ls(dir: &str) -> Res {
    let s = gc::scan(dir)?;
    println!(
        "{:<32} {:<14} {:>12} {:>12} {:>10} {:>6}  STATE",
        "NAME", "TYPE", "LEN", "CAPACITY", "SIZE", "UID"
    );
    for a in &s.arrays {
        let usage = match &a.usage {
            Usage::InUse(p) => format!("in use ({} process(es))", p.len()),
            Usage::Unused => "unused".to_string(),
            Usage::Unknown => "use unknown".to_string(),
        };
        match &a.header {
            Ok(h) => println!(
                "{:<32} {:<14} {:>12} {:>12} {:>10} {:>6}  ok, {usage}",
                a.name,
                type_text(&h.layout),
                h.len,
                h.capacity,
                human(a.allocated),
                a.uid
            ),
            Err(e) => println!(
                "{:<32} {:<14} {:>12} {:>12} {:>10} {:>6}  damaged: {}",
                a.name,
                "?",
                "?",
                "?",
                human(a.allocated),
                a.uid,
                e.message
            ),
        }
    }
    for t in &s.temps {
        let state = match t.state {
            TempState::Live => "creating (its creator is alive)",
            TempState::Young => "leftover? (changed < 5 s ago)",
            TempState::Stale => "leftover (its creator is gone: mba gc removes it)",
            TempState::Unknown => "leftover? (cannot inspect: another user's)",
        };
        let name = t.path.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "{:<32} {:<14} {:>12} {:>12} {:>10} {:>6}  {state}, pid {}",
            name,
            "-",
            "-",
            "-",
            human(t.allocated),
            t.uid,
            t.pid
        );
    }
    Ok(())
}

/// The raw header bytes of an array file (read with `pread`: no mapping).
fn raw_header(path: &str) -> std::result::Result<(std::fs::File, Vec<u8>), Fail> {
    let f = std::fs::File::open(path).map_err(|e| Fail(EXIT_OTHER, format!("{path}: {e}")))?;
    let mut b = vec![0u8; format::HEADER_SIZE as usize];
    f.read_exact_at(&mut b, 0)
        .map_err(|e| Fail(EXIT_DAMAGED, format!("{path}: header: {e}")))?;
    Ok((f, b))
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

pub fn info(name: &str) -> Res {
    // Validates the header as every open does (a damaged array fails here).
    let a = open_ro(name)?;
    let path = mba::shm::resolve(&resolve(name))?;
    let (f, b) = raw_header(&path)?;
    let m = f
        .metadata()
        .map_err(|e| Fail(EXIT_OTHER, format!("{path}: {e}")))?;
    let l = a.layout();
    let token = u32_at(&b, format::OFF_LOCK);
    let holder = if token == 0 {
        "none".to_string()
    } else {
        match gc::token_alive(f.as_fd(), token) {
            Ok(true) => format!("token {token} (alive)"),
            Ok(false) => format!("token {token} (dead: the next writer recovers it)"),
            Err(e) => format!("token {token} (unknown: {})", e.message),
        }
    };
    let created = u64_at(&b, format::OFF_CREATED_NS);
    let rows = [
        ("name", resolve(name)),
        ("path", path.clone()),
        (
            "format",
            format!(
                "{}.{} (features: compat {:#x}, ro_compat {:#x}, incompat {:#x})",
                u16_at(&b, format::OFF_MAJOR),
                u16_at(&b, format::OFF_MINOR),
                u64_at(&b, format::OFF_COMPAT),
                u64_at(&b, format::OFF_RO_COMPAT),
                u64_at(&b, format::OFF_INCOMPAT)
            ),
        ),
        ("type", type_text(l)),
        ("item size", format!("{} bytes", l.item_size)),
        ("row size", format!("{} bytes", a.row_bytes())),
        ("len", a.try_len()?.to_string()),
        ("capacity", a.try_capacity()?.to_string()),
        ("max len", a.max_len().to_string()),
        (
            "data offset",
            u64_at(&b, format::OFF_DATA_OFFSET).to_string(),
        ),
        ("uuid", format!("{:016x}", a.uuid())),
        (
            "created",
            format!(
                "{}.{:09} s since the epoch",
                created / 1_000_000_000,
                created % 1_000_000_000
            ),
        ),
        ("lock holder", holder),
        ("next token", u32_at(&b, format::OFF_NEXT_TOKEN).to_string()),
        ("seq", u64_at(&b, format::OFF_SEQ).to_string()),
        ("waiters", u32_at(&b, format::OFF_WAITERS).to_string()),
        (
            "file",
            format!(
                "{} ({} allocated), owner uid {}, mode {:04o}",
                human(m.size()),
                human(m.blocks() * 512),
                m.uid(),
                m.mode() & 0o7777
            ),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<12} {v}");
    }
    Ok(())
}

pub fn check(name: &str) -> Res {
    let a = match open_ro(name) {
        Ok(a) => a,
        Err(Fail(st, msg)) => {
            println!("{}: damaged or unreadable: {msg}", resolve(name));
            return Err(Fail(st, format!("{}: {msg}", resolve(name))));
        }
    };
    let mut problems = Vec::new();
    let path = mba::shm::resolve(&resolve(name))?;
    let (f, b) = raw_header(&path)?;
    let size = f.metadata().map(|m| m.size()).unwrap_or(0);
    let (len, cap) = (
        u64_at(&b, format::OFF_LEN),
        u64_at(&b, format::OFF_CAPACITY),
    );
    let need =
        u64_at(&b, format::OFF_DATA_OFFSET).saturating_add(cap.saturating_mul(a.row_bytes()));
    if len > cap {
        problems.push(format!("len {len} exceeds capacity {cap}"));
    }
    if cap > a.max_len() {
        problems.push(format!("capacity {cap} exceeds max_len {}", a.max_len()));
    }
    if size < need {
        problems.push(format!(
            "the file holds {size} bytes, its capacity needs {need}"
        ));
    }
    let token = u32_at(&b, format::OFF_LOCK);
    let stale = token != 0 && matches!(gc::token_alive(f.as_fd(), token), Ok(false));
    if problems.is_empty() {
        println!(
            "{}: ok ({}, {len} rows{})",
            resolve(name),
            type_text(a.layout()),
            if stale {
                "; the lock names a dead writer, the next writer recovers it"
            } else {
                ""
            }
        );
        return Ok(());
    }
    for p in &problems {
        println!("{}: {p}", resolve(name));
    }
    Err(Fail(
        EXIT_DAMAGED,
        format!("{}: {} problem(s)", resolve(name), problems.len()),
    ))
}

/// Prints row `i` of `a`.
pub fn row(out: &mut impl Write, a: &Array, i: u64, format: Format) -> Res {
    let l = a.layout();
    let mut buf = vec![0u8; a.row_bytes() as usize];
    a.get(i, &mut buf)?;
    let isz = l.item_size as usize;
    let mut items = Vec::with_capacity(buf.len() / isz.max(1));
    for chunk in buf.chunks(isz.max(1)) {
        items.push(item(l.elem, chunk, format));
    }
    let line = match format {
        Format::Text => items.join(" "),
        Format::Csv => items.join(","),
        Format::Jsonl if l.row_shape.is_empty() && items.len() == 1 => items.remove(0),
        Format::Jsonl => format!("[{}]", items.join(",")),
    };
    writeln!(out, "{line}").map_err(|e| Fail(EXIT_OTHER, e.to_string()))
}

fn item(t: ElemType, bytes: &[u8], format: Format) -> String {
    match t {
        ElemType::F32 | ElemType::F64 => match t.decode_f64(bytes) {
            Ok(v) if !v.is_finite() && format == Format::Jsonl => "null".into(),
            // Debug is the shortest text that reads back exactly (1e300, 0.1).
            Ok(v) => format!("{v:?}"),
            Err(_) => "?".into(),
        },
        ElemType::Bool if format == Format::Jsonl => (if bytes.first().is_some_and(|b| *b != 0) {
            "true"
        } else {
            "false"
        })
        .into(),
        t if t.is_integer() || t == ElemType::Bool => t
            .decode_int(bytes)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| "?".into()),
        // complex, f16 and records: their bytes, in hex.
        _ => {
            let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if format == Format::Jsonl {
                format!("\"{h}\"")
            } else {
                h
            }
        }
    }
}

//! `mba`: inspect, create, fill, watch and clean up memory-backed arrays
//! from the shell. Built only on the crate's public Rust API (`mba::Array`,
//! `mba::shm`, `mba::gc`). Inspection commands (ls, info, dump, check,
//! watch) open read-only and change nothing: no lock is taken, no byte is
//! written. See docs/CLI.md.

mod show;

use clap::{Parser, Subcommand, ValueEnum};
use mba::gc::{self, GcOptions};
use mba::{Access, Array, Code, ElemType, Error, Layout, Options};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit statuses (also in `mba --help` and docs/CLI.md).
pub(crate) const EXIT_DAMAGED: u8 = 1;
const EXIT_NOTFOUND: u8 = 3;
const EXIT_PERM: u8 = 4;
pub(crate) const EXIT_OTHER: u8 = 5;

#[derive(Parser)]
#[command(
    name = "mba",
    version,
    about = "Inspect, create, fill, watch and clean up memory-backed arrays (libmba).",
    after_help = "NAME is shm://NAME (a bare NAME means that), file://PATH or a path \
(anything with a '/').\n\nExit status: 0 ok; 1 damaged array (check, or any command \
that finds one); 2 usage error; 3 no such array; 4 permission denied or another \
user's object; 5 any other error (the message says which)."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the arrays in /dev/shm (or DIR) and the leftovers of
    /// interrupted creations.
    Ls {
        /// Directory to list (default /dev/shm).
        dir: Option<String>,
    },
    /// Remove the leftovers of interrupted creations of your own uid
    /// (never a live creator's, never another user's).
    Gc {
        /// Directory to clean (default /dev/shm).
        dir: Option<String>,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Also remove your arrays that no process maps or has open.
        #[arg(long)]
        unused: bool,
        /// No 5-second grace period for files changed just now (only when
        /// no creator can be running).
        #[arg(long)]
        force: bool,
    },
    /// Every header field of an array: type, shape, sizes, lock holder and
    /// whether it is alive, waiters, version.
    Info { name: String },
    /// Print elements, one row per line.
    Dump {
        name: String,
        /// Rows A:B (Python-style: either end may be omitted, negatives
        /// count from the end).
        #[arg(long, default_value = ":", allow_hyphen_values = true)]
        range: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Create an array (fails if the name exists).
    Create {
        name: String,
        /// Element type: i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 bool (or
        /// int8 ... float64, double).
        #[arg(value_name = "TYPE")]
        elem: String,
        /// Row shape, e.g. 3 or 2x3 (each row holds that many elements).
        #[arg(long)]
        shape: Option<String>,
        /// Rows of space to reserve at once.
        #[arg(long, default_value_t = 0)]
        capacity: u64,
        /// File mode (octal), default 0600.
        #[arg(long, default_value = "0600")]
        mode: String,
    },
    /// Append values (from the arguments, or whitespace-separated on
    /// stdin) to a flat array.
    Append {
        name: String,
        #[arg(allow_negative_numbers = true)]
        values: Vec<String>,
    },
    /// Remove the name of an array (processes that have it open keep it).
    Rm { name: String },
    /// Validate an array file and report every problem found; exit 1 if
    /// it is damaged.
    Check { name: String },
    /// Print rows as they are appended (woken by the array's wait), until
    /// Ctrl-C.
    Watch {
        name: String,
        /// Print the rows already there first.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Csv,
    Jsonl,
}

/// A command's failure: the exit status and the message.
pub(crate) struct Fail(u8, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let status = match e.code {
            Code::NotFound => EXIT_NOTFOUND,
            Code::Perm | Code::Owner | Code::ReadOnly => EXIT_PERM,
            Code::NotMba
            | Code::Truncated
            | Code::Corrupt
            | Code::Version
            | Code::Feature
            | Code::ByteOrder => EXIT_DAMAGED,
            _ => EXIT_OTHER,
        };
        Fail(status, e.message)
    }
}

pub(crate) type Res = std::result::Result<(), Fail>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Ls { dir } => show::ls(&dir.unwrap_or_else(|| gc::shm_dir().to_string())),
        Cmd::Gc {
            dir,
            dry_run,
            unused,
            force,
        } => gc_cmd(
            &dir.unwrap_or_else(|| gc::shm_dir().to_string()),
            dry_run,
            unused,
            force,
        ),
        Cmd::Info { name } => show::info(&name),
        Cmd::Dump {
            name,
            range,
            format,
        } => dump(&name, &range, format),
        Cmd::Create {
            name,
            elem,
            shape,
            capacity,
            mode,
        } => create(&name, &elem, shape.as_deref(), capacity, &mode),
        Cmd::Append { name, values } => append(&name, values),
        Cmd::Rm { name } => mba::shm::unlink(&resolve(&name)).map_err(Fail::from),
        Cmd::Check { name } => show::check(&name),
        Cmd::Watch { name, all, format } => watch(&name, all, format),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(status, msg)) => {
            let _ = std::io::stdout().flush();
            eprintln!("mba: {msg}");
            ExitCode::from(status)
        }
    }
}

/// `shm://NAME`, `file://PATH` and paths as they are; a bare name means
/// `shm://NAME`.
pub(crate) fn resolve(name: &str) -> String {
    if name.contains("://") || name.contains('/') {
        name.to_string()
    } else {
        format!("shm://{name}")
    }
}

/// Opens an array read-only (inspection never writes).
pub(crate) fn open_ro(name: &str) -> std::result::Result<Array, Fail> {
    let o = Options {
        access: Access::ReadOnly,
        ..Options::default()
    };
    Ok(mba::shm::open(&resolve(name), &o)?)
}

fn parse_type(s: &str) -> std::result::Result<ElemType, Fail> {
    let t = match s.to_ascii_lowercase().as_str() {
        "i8" | "int8" => ElemType::I8,
        "u8" | "uint8" => ElemType::U8,
        "i16" | "int16" => ElemType::I16,
        "u16" | "uint16" => ElemType::U16,
        "i32" | "int32" | "int" => ElemType::I32,
        "u32" | "uint32" => ElemType::U32,
        "i64" | "int64" | "long" => ElemType::I64,
        "u64" | "uint64" => ElemType::U64,
        "f32" | "float32" | "float" => ElemType::F32,
        "f64" | "float64" | "double" => ElemType::F64,
        "bool" => ElemType::Bool,
        _ => {
            return Err(Fail(
                2,
                format!(
                    "unknown element type {s:?} (use i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 bool)"
                ),
            ))
        }
    };
    Ok(t)
}

fn create(name: &str, elem: &str, shape: Option<&str>, capacity: u64, mode: &str) -> Res {
    let t = parse_type(elem)?;
    let dims: Vec<u64> = match shape {
        None => vec![],
        Some(s) => s
            .split(['x', ','])
            .map(|d| d.trim().parse::<u64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Fail(2, format!("bad --shape {s:?} (e.g. 3 or 2x3)")))?,
    };
    let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .map_err(|_| Fail(2, format!("bad --mode {mode:?} (octal, e.g. 0644)")))?;
    let item = t.fixed_size().unwrap_or(0);
    let o = Options {
        create: true,
        exclusive: true,
        mode,
        layout: Some(Layout::new(t, item, &dims)?),
        capacity,
        ..Options::default()
    };
    mba::shm::open(&resolve(name), &o)?;
    Ok(())
}

fn append(name: &str, values: Vec<String>) -> Res {
    let a = mba::shm::open(&resolve(name), &Options::default())?;
    let t = a.layout().elem;
    if !a.layout().row_shape.is_empty() {
        return Err(Fail(
            EXIT_OTHER,
            "append takes values for flat arrays only (this one has rows)".into(),
        ));
    }
    let one = |v: &str| -> Res {
        match t {
            ElemType::F32 | ElemType::F64 => {
                let x: f64 = v
                    .parse()
                    .map_err(|_| Fail(2, format!("{v:?} is not a number")))?;
                a.append_f64(x)?;
            }
            ElemType::Bool => {
                let x = match v {
                    "1" | "true" => 1,
                    "0" | "false" => 0,
                    _ => return Err(Fail(2, format!("{v:?} is not a bool (0/1/true/false)"))),
                };
                a.append_int(x)?;
            }
            _ => {
                let x: i128 = v
                    .parse()
                    .map_err(|_| Fail(2, format!("{v:?} is not an integer")))?;
                a.append_int(x)?;
            }
        }
        Ok(())
    };
    if values.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| Fail(EXIT_OTHER, format!("stdin: {e}")))?;
            for v in line.split_whitespace() {
                one(v)?;
            }
        }
    } else {
        for v in &values {
            one(v)?;
        }
    }
    Ok(())
}

/// `A:B` with Python's meaning, clamped to `len`.
fn parse_range(s: &str, len: u64) -> std::result::Result<(u64, u64), Fail> {
    let bad = || Fail(2, format!("bad --range {s:?} (A:B, e.g. 0:10, -5:, :)"));
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let end = |x: &str, dflt: u64| -> std::result::Result<u64, Fail> {
        if x.is_empty() {
            return Ok(dflt);
        }
        let v: i128 = x.parse().map_err(|_| bad())?;
        Ok(if v < 0 {
            (len as i128 + v).max(0) as u64
        } else {
            (v as u64).min(len)
        })
    };
    let (a, b) = (end(a, 0)?, end(b, len)?);
    Ok((a, b.max(a)))
}

fn dump(name: &str, range: &str, format: Format) -> Res {
    let a = open_ro(name)?;
    let (from, to) = parse_range(range, a.try_len()?)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in from..to {
        show::row(&mut out, &a, i, format)?;
    }
    out.flush().map_err(|e| Fail(EXIT_OTHER, e.to_string()))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn watch(name: &str, all: bool, format: Format) -> Res {
    let a = open_ro(name)?;
    // SAFETY: installs an async-signal-safe handler (one atomic store).
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_sigint as *const () as libc::sighandler_t);
    }
    let mut next = if all { 0 } else { a.try_len()? };
    let mut out = std::io::stdout().lock();
    while !STOP.load(Ordering::Relaxed) {
        let seq = a.try_seq()?;
        let len = a.try_len()?;
        while next < len {
            show::row(&mut out, &a, next, format)?;
            next += 1;
        }
        out.flush().map_err(|e| Fail(EXIT_OTHER, e.to_string()))?;
        // Bounded, so Ctrl-C is seen within 200 ms even if nothing comes.
        match a.wait(seq, Some(Duration::from_millis(200))) {
            Ok(_) => {}
            Err(e) if matches!(e.code, Code::Timeout | Code::Interrupted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn gc_cmd(dir: &str, dry_run: bool, unused: bool, force: bool) -> Res {
    let o = GcOptions {
        unused,
        dry_run,
        min_age: if force { Duration::ZERO } else { gc::GRACE },
    };
    let r = gc::gc(dir, &o)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for p in &r.removed {
        println!("{verb} {}", p.display());
    }
    println!("{verb} {} file(s)", r.removed.len());
    if let Some((p, e)) = r.failed.first() {
        return Err(Fail(
            EXIT_PERM,
            format!("could not remove {}: {}", p.display(), e.message),
        ));
    }
    Ok(())
}

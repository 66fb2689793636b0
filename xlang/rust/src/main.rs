//! mbax: the Rust program of the cross-language suite (xlang/README.md),
//! written with the public Rust API of the mba crate.
//!
//! ```text
//! mbax create NAME TYPE            TYPE: u64, i64, i32 or f64
//! mbax append NAME START COUNT     appends START .. START+COUNT-1, one call each
//! mbax read NAME                   prints every element, one per line
//! mbax wait NAME N TIMEOUT_MS      waits until the length is at least N
//! ```
//!
//! With `MBA_XLANG_GATE=GATE` in the environment, append first meets the
//! other appender at a barrier: it appends one element to the u64 array
//! GATE and waits until GATE holds 2, so that two appenders start together.

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mba::{Array, ElemType, Options};

fn parse_type(s: &str) -> Option<ElemType> {
    match s {
        "u64" => Some(ElemType::U64),
        "i64" => Some(ElemType::I64),
        "i32" => Some(ElemType::I32),
        "f64" => Some(ElemType::F64),
        _ => None,
    }
}

fn num(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

fn open(name: &str) -> Result<Array, String> {
    mba::shm::open(name, &Options::default()).map_err(|e| format!("open {name}: {e}"))
}

/// Waits until `a` holds at least `want` rows, or `ms` milliseconds pass.
fn wait_len(a: &Array, want: u64, ms: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        // The counter before the length: nothing is missed.
        let seen = a.seq();
        if a.len() >= want {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("wait: timed out at length {}", a.len()));
        }
        match a.wait(seen, Some(left)) {
            Ok(_) => {}
            Err(e) if matches!(e.code, mba::Code::Timeout | mba::Code::Interrupted) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
    }
}

/// The barrier of `MBA_XLANG_GATE` (see the top of this file).
fn gate() -> Result<(), String> {
    let Ok(name) = std::env::var("MBA_XLANG_GATE") else {
        return Ok(());
    };
    let g = open(&name)?;
    g.append_int(1).map_err(|e| format!("gate: {e}"))?;
    wait_len(&g, 2, 10_000)
}

fn run(args: &[String]) -> Result<(), String> {
    let (verb, name) = match args {
        [_, verb, name, ..] => (verb.as_str(), name.as_str()),
        _ => return Err("usage: mbax create|append|read|wait NAME ...".into()),
    };
    match (verb, &args[3..]) {
        ("create", [t]) => {
            let elem = parse_type(t).ok_or_else(|| format!("unknown type {t}"))?;
            let o = Options {
                exclusive: true,
                ..Options::create(elem)
            };
            mba::shm::open(name, &o).map_err(|e| format!("create {name}: {e}"))?;
        }
        ("append", [start, count]) => {
            let a = open(name)?;
            let (start, count) = (num(start)?, num(count)?);
            let float = a.layout().elem == ElemType::F64;
            gate()?;
            for v in start..start + count {
                let r = if float {
                    a.append_f64(v as f64)
                } else {
                    a.append_int(i128::from(v))
                };
                r.map_err(|e| format!("append: {e}"))?;
            }
        }
        ("read", []) => {
            let a = open(name)?;
            let float = a.layout().elem == ElemType::F64;
            let mut out = BufWriter::new(std::io::stdout().lock());
            for i in 0..a.len() {
                let line = if float {
                    let d = a.get_f64(i).map_err(|e| format!("get: {e}"))?;
                    if d == (d as i64) as f64 {
                        format!("{}", d as i64)
                    } else {
                        format!("{d}")
                    }
                } else {
                    a.get_int(i).map_err(|e| format!("get: {e}"))?.to_string()
                };
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            out.flush().map_err(|e| e.to_string())?;
        }
        ("wait", [n, ms]) => {
            let a = open(name)?;
            wait_len(&a, num(n)? as u64, num(ms)? as u64)?;
        }
        _ => return Err(format!("bad arguments for {verb}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mbax(rust): {e}");
            ExitCode::FAILURE
        }
    }
}

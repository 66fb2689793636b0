//! The C API, exercised by C programs (`ffi-tests/c/api_*.c`) compiled with
//! `-Wall -Wextra -Werror -pedantic` against the real `libmba.so`.
//!
//! Each program gets a scratch directory and a unique shared-memory prefix,
//! checks the library with its own assertions (see `api_test.h`) and exits
//! 0 only if all passed; this driver shows its output on failure and
//! checks that it left nothing in /dev/shm.

use mba_ffi_tests::{compile_c, repo, scratch};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

/// Compiles each program once per test run (different programs in
/// parallel).
fn program(name: &str, sources: &[&str]) -> PathBuf {
    type Slots = Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>;
    static BUILT: OnceLock<Slots> = OnceLock::new();
    let slot = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    slot.get_or_init(|| compile_c(name, sources, &[])).clone()
}

/// A shared-memory name prefix unique to this run and tag.
fn shm_prefix(tag: &str) -> String {
    format!(
        "mba-api-{tag}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    )
}

/// Removes and returns the /dev/shm entries left with this prefix.
fn shm_leftovers(prefix: &str) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/dev/shm") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            // Also temporary files of a creation ('.' + name + ".mba-tmp...").
            if n.starts_with(prefix) || n.trim_start_matches('.').starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
                v.push(n);
            }
        }
    }
    v
}

fn show(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a C test program with a scratch directory and a shared-memory
/// prefix; asserts that it passed and cleaned up after itself.
fn run_c(name: &str, sources: &[&str]) -> String {
    let exe = program(name, sources);
    let dir = scratch(name);
    let prefix = shm_prefix(name);
    let out = Command::new(&exe)
        .arg(&dir)
        .arg(&prefix)
        .output()
        .expect("running a C test program");
    let left = shm_leftovers(&prefix);
    assert!(out.status.success(), "{name} failed\n{}", show(&out));
    assert!(
        left.is_empty(),
        "{name} left shared-memory objects behind: {left:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn c_meta_version_strerror_options_errors() {
    run_c("api_meta", &["api_meta.c"]);
}

#[test]
fn c_open_names_readonly_cow_anon_raw() {
    run_c("api_open", &["api_open.c"]);
}

#[test]
fn c_data_types_records_shapes_edits_flush() {
    run_c("api_data", &["api_data.c"]);
}

#[test]
fn c_sync_lock_wait_pin_threads() {
    run_c("api_sync", &["api_sync.c"]);
}

#[test]
fn c_bad_input_handles_damaged_files_system_refusals() {
    run_c("api_bad", &["api_bad.c"]);
}

/// Runs a program to completion; asserts success; returns its stdout.
fn run_ok(exe: &Path, args: &[&str]) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed\n{}",
        exe.display(),
        show(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// "rows=N sum=S" for rows 0..n of (i, i*i - 7), as the programs print it.
fn rows_line(n: i64) -> String {
    let sum = (0..n).fold(0u64, |s, i| {
        s.wrapping_add(i as u64).wrapping_add((i * i - 7) as u64)
    });
    format!("rows={n} sum={sum}")
}

/// One C program writes an array, a separate C program maps it and reads
/// the same elements, a Rust program (the `mba` crate) reads what C wrote
/// and writes more, which C reads: for a shm:// name and for a file.
#[test]
fn c_two_processes_and_rust_share_one_array() {
    let w = program("api_xproc_writer", &["api_xproc_writer.c"]);
    let r = program("api_xproc_reader", &["api_xproc_reader.c"]);
    let peer = Path::new(env!("CARGO_BIN_EXE_api_peer"));
    let dir = scratch("xproc");
    let prefix = shm_prefix("xproc");
    let d = dir.to_str().unwrap();
    for name in [
        format!("shm://{prefix}-rows"),
        format!("file://{d}/rows.mba"),
    ] {
        let n = name.as_str();
        run_ok(&w, &[d, &prefix, n, "0", "1000"]);
        let out = run_ok(&r, &[d, &prefix, n, "1000"]);
        assert!(out.contains(&rows_line(1000)), "C reader: {out}");
        let out = run_ok(peer, &[n, "1000", "500"]);
        assert!(out.contains(&rows_line(1000)), "Rust reader: {out}");
        // C appends after Rust; C reads all, then removes the name.
        run_ok(&w, &[d, &prefix, n, "1500", "100"]);
        let out = run_ok(&r, &[d, &prefix, n, "1600", "unlink"]);
        assert!(out.contains(&rows_line(1600)), "C reader after Rust: {out}");
    }
    let left = shm_leftovers(&prefix);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        !dir.join("rows.mba").exists(),
        "the reader unlinked the file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader follows a writer that runs at the same time, with mba_wait.
#[test]
fn c_reader_follows_concurrent_writer() {
    let w = program("api_xproc_writer", &["api_xproc_writer.c"]);
    let r = program("api_xproc_reader", &["api_xproc_reader.c"]);
    let dir = scratch("follow");
    let prefix = shm_prefix("follow");
    let d = dir.to_str().unwrap();
    let name = format!("shm://{prefix}-live");
    let reader = Command::new(&r)
        .args([d, &prefix, &name, "20000", "follow", "unlink"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    run_ok(&w, &[d, &prefix, &name, "0", "20000"]);
    let out = reader.wait_with_output().unwrap();
    assert!(out.status.success(), "reader failed\n{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&rows_line(20000)), "{text}");
    let left = shm_leftovers(&prefix);
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every function of mba.h is called, and every status code expected, by
/// the C tests: a function or code added to the header without a test
/// fails here.
#[test]
fn c_tests_cover_every_function_and_error_code() {
    let header = std::fs::read_to_string(repo().join("include/mba.h")).unwrap();
    let mut functions = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for line in header.lines() {
        let l = line.trim_start();
        if l.starts_with('*') || l.starts_with("/*") {
            continue;
        }
        if let Some(rest) = l.strip_prefix("#define MBA_E_") {
            codes.insert(format!("MBA_E_{}", rest.split_whitespace().next().unwrap()));
        }
        if let Some(i) = l.find("mba_") {
            let name: String = l[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if l[i + name.len()..].starts_with('(') {
                functions.insert(name);
            }
        }
    }
    assert!(functions.len() >= 60, "{functions:?}");
    assert!(codes.len() >= 27, "{codes:?}");
    let mut src = String::new();
    for e in std::fs::read_dir(repo().join("ffi-tests/c"))
        .unwrap()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("api_") && n.ends_with(".c") {
            src.push_str(&std::fs::read_to_string(e.path()).unwrap());
        }
    }
    let uncalled: Vec<&String> = functions
        .iter()
        .filter(|f| !src.contains(&format!("{f}(")))
        .collect();
    assert!(
        uncalled.is_empty(),
        "functions no C test calls: {uncalled:?}"
    );
    // MBA_E_PANIC (a caught internal panic) has no input that causes it;
    // its message is checked with the others.
    let unexpected: Vec<&String> = codes
        .iter()
        .filter(|c| *c != "MBA_E_PANIC" && !src.contains(&format!("EXPECT({c},")))
        .collect();
    assert!(
        unexpected.is_empty(),
        "status codes no C test expects: {unexpected:?}"
    );
    assert!(src.contains("mba_strerror(MBA_E_PANIC)"));
}

// ------------------------------------------------------------- fixture
//
// ffi-tests/fixtures/v1-u32x3.mba: a format v1.0 array written once by
// `generate_fixture` (run it with `cargo test -p mba-ffi-tests --test api
// -- --ignored generate_fixture` only if the format itself changes, which
// needs a new major version). The tests below check it byte by byte
// against docs/FORMAT.md and check that the library still reads it: an
// accidental change of the layout fails them.

const FIXTURE: &str = "ffi-tests/fixtures/v1-u32x3.mba";
const FIXTURE_UUID: u64 = 0x0123_4567_89ab_cdef;
const FIXTURE_CREATED_NS: u64 = 1_700_000_000_123_456_789;
/// The header checksum of the fixture, as written by libmba 0.1.0.
const FIXTURE_CRC: u32 = 0x197b_8a6a;
const FIXTURE_ROWS: [[u32; 3]; 4] = [[1, 2, 3], [11, 12, 13], [21, 22, 23], [31, 32, 33]];

fn le(b: &[u8], off: usize, n: usize) -> u64 {
    b[off..off + n]
        .iter()
        .rev()
        .fold(0u64, |v, &x| (v << 8) | x as u64)
}

#[test]
#[ignore = "writes the committed fixture; run only on purpose"]
fn generate_fixture() {
    use mba::{Array, ElemType, Layout, Options};
    let dir = scratch("fixture-gen");
    let p = dir.join("f.mba");
    let a = Array::open(
        p.to_str().unwrap(),
        &Options {
            create: true,
            layout: Some(Layout::new(ElemType::U32, 0, &[3]).unwrap()),
            max_len: 1000,
            ..Options::default()
        },
    )
    .unwrap();
    for r in FIXTURE_ROWS {
        let b: Vec<u8> = r.iter().flat_map(|v| v.to_le_bytes()).collect();
        a.append(&b).unwrap();
    }
    a.flush(0, None, mba::Flush::Sync).unwrap();
    drop(a);
    let mut b = std::fs::read(&p).unwrap();
    // Fixed identity and time, so that the file is reproducible.
    b[144..152].copy_from_slice(&FIXTURE_UUID.to_le_bytes());
    b[152..160].copy_from_slice(&FIXTURE_CREATED_NS.to_le_bytes());
    let crc = mba::format::crc32(&b[..188]);
    b[188..192].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(repo().join(FIXTURE), &b).unwrap();
    eprintln!(
        "wrote {FIXTURE} ({} bytes), header crc {crc:#010x}",
        b.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every byte of the fixture, against docs/FORMAT.md section 2.
#[test]
fn fixture_bytes_follow_the_documented_layout() {
    let b = std::fs::read(repo().join(FIXTURE)).unwrap();
    let capacity = 4096 / 12; // libmba's initial capacity: 4 KiB of rows
    assert_eq!(
        b.len(),
        65536 + capacity * 12,
        "file size: data offset + capacity rows"
    );
    assert_eq!(&b[0..8], b"\x89MBA\r\n\x1a\n", "magic");
    assert_eq!(le(&b, 8, 2), 1, "major version");
    assert_eq!(le(&b, 10, 2), 0, "minor version");
    assert_eq!(le(&b, 12, 4), 512, "header size");
    assert_eq!(le(&b, 16, 8), 0, "compat features");
    assert_eq!(le(&b, 24, 8), 0, "ro_compat features");
    assert_eq!(le(&b, 32, 8), 0, "incompat features");
    assert_eq!(le(&b, 40, 4), 6, "type code (u32)");
    assert_eq!(b[44], 1, "byte order (little-endian)");
    assert_eq!(b[45], 1, "ndim");
    assert_eq!(le(&b, 46, 2), 0, "reserved");
    assert_eq!(le(&b, 48, 8), 4, "item size");
    assert_eq!(le(&b, 56, 8), 12, "row bytes");
    assert_eq!(le(&b, 64, 8), 65536, "data offset");
    assert_eq!(le(&b, 72, 8), 1000, "max_len");
    assert_eq!(le(&b, 80, 8), 3, "shape[0]");
    for i in 1..8 {
        assert_eq!(le(&b, 80 + 8 * i, 8), 0, "shape[{i}] past ndim");
    }
    assert_eq!(le(&b, 144, 8), FIXTURE_UUID, "uuid");
    assert_eq!(le(&b, 152, 8), FIXTURE_CREATED_NS, "created_ns");
    assert!(b[160..188].iter().all(|&x| x == 0), "reserved 160..188");
    assert_eq!(
        le(&b, 188, 4),
        mba::format::crc32(&b[..188]) as u64,
        "header CRC"
    );
    assert_eq!(le(&b, 188, 4), FIXTURE_CRC as u64, "header CRC value");
    assert!(b[192..256].iter().all(|&x| x == 0), "reserved 192..256");
    assert_eq!(le(&b, 256, 8), 4, "len");
    assert_eq!(le(&b, 264, 8), capacity as u64, "capacity");
    assert_eq!(le(&b, 272, 8), 4, "durable_len (after a synchronous flush)");
    assert!(b[280..320].iter().all(|&x| x == 0), "reserved 280..320");
    assert_eq!(le(&b, 320, 4), 0, "lock (free)");
    assert_eq!(le(&b, 324, 4), 2, "next_token (one writer took token 1)");
    assert!(b[328..384].iter().all(|&x| x == 0), "reserved 328..384");
    assert_eq!(le(&b, 384, 8), 4, "seq (four appends)");
    assert_eq!(le(&b, 392, 4), 0, "waiters");
    assert!(b[396..65536].iter().all(|&x| x == 0), "reserved 396..65536");
    for (i, r) in FIXTURE_ROWS.iter().enumerate() {
        for (k, v) in r.iter().enumerate() {
            assert_eq!(le(&b, 65536 + 12 * i + 4 * k, 4), *v as u64, "row {i}[{k}]");
        }
    }
    // The library encodes the same immutable header today, but for the
    // compat bit LOCK_SLEEP it sets in arrays it creates since 0.2.0
    // (FORMAT.md §3; the fixture predates it, and stays valid).
    let layout = mba::Layout::new(mba::ElemType::U32, 0, &[3]).unwrap();
    let mut h = mba::format::Header::new(layout, 1000, FIXTURE_UUID, FIXTURE_CREATED_NS);
    assert_eq!(
        h.compat,
        mba::format::COMPAT_LOCK_SLEEP,
        "compat bits of a new array"
    );
    h.compat = 0;
    assert_eq!(
        &h.encode()[..192],
        &b[..192],
        "Header::encode of the same array"
    );
    let (d, w) = mba::format::Header::decode(&b[..512]).unwrap();
    assert_eq!(d, h);
    assert_eq!(w, mba::format::Writability::ReadWrite);
}

/// The library still opens the fixture (read-only in place; read-write,
/// appending, on a copy) and reads the expected elements, through the C
/// ABI (a C program) and through the Rust API.
#[cfg(target_endian = "little")]
#[test]
fn fixture_opens_and_reads() {
    let fixture = repo().join(FIXTURE);
    let before = std::fs::read(&fixture).unwrap();
    let exe = program("api_fixture", &["api_fixture.c"]);
    let dir = scratch("fixture");
    let prefix = shm_prefix("fixture");
    let out = Command::new(&exe)
        .arg(&dir)
        .arg(&prefix)
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(out.status.success(), "api_fixture failed\n{}", show(&out));
    // Rust API.
    let a = mba::Array::open(
        fixture.to_str().unwrap(),
        &mba::Options {
            access: mba::Access::ReadOnly,
            expect: Some(mba::ElemType::U32),
            ..mba::Options::default()
        },
    )
    .unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a.uuid(), FIXTURE_UUID);
    let mut row = [0u8; 12];
    a.get(3, &mut row).unwrap();
    assert_eq!(row, [31, 0, 0, 0, 32, 0, 0, 0, 33, 0, 0, 0]);
    drop(a);
    assert_eq!(
        std::fs::read(&fixture).unwrap(),
        before,
        "the fixture is unchanged"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------- examples

/// examples-c/writer.c and reader.c build with every warning an error and
/// run together: the reader sees every reading, then removes the array.
#[test]
fn examples_c_writer_and_reader() {
    let ex = repo().join("examples-c");
    let w = mba_ffi_tests::compile_c_files("example_writer", &[ex.join("writer.c")], &[]);
    let r = mba_ffi_tests::compile_c_files("example_reader", &[ex.join("reader.c")], &[]);
    let prefix = shm_prefix("example");
    let name = format!("shm://{prefix}");
    let reader = Command::new(&r)
        .arg(&name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wout = run_ok(&w, &[&name, "5"]);
    let rout = reader.wait_with_output().unwrap();
    assert!(rout.status.success(), "reader failed\n{}", show(&rout));
    let text = String::from_utf8_lossy(&rout.stdout);
    assert!(
        wout.contains("writer: done: 5 readings and an end marker"),
        "{wout}"
    );
    for i in 1..=5 {
        assert!(
            text.contains(&format!("reader: got reading {i}: ")),
            "{text}"
        );
    }
    assert!(!text.contains("reading 6"), "{text}");
    assert!(
        text.contains("end marker after 5 readings; removing"),
        "{text}"
    );
    let left = shm_leftovers(&prefix);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `make demo` (what examples-c/demo.sh runs after building the library).
#[test]
fn examples_c_make_demo() {
    if Command::new("make").arg("--version").output().is_err() {
        eprintln!("make is not installed: skipped");
        return;
    }
    let lib = mba_ffi_tests::lib_dir();
    let out = Command::new("make")
        .args(["-s", "--no-print-directory", "-C"])
        .arg(repo().join("examples-c"))
        .arg("demo")
        .arg(format!("MBA_LIB={}", lib.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "make demo failed\n{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("writer: done: 10 readings"), "{text}");
    assert!(text.contains("reader: got reading 10: "), "{text}");
    assert!(
        text.contains("reader: end marker after 10 readings; removing"),
        "{text}"
    );
}

/// The C tests again, built with AddressSanitizer and UBSan: the library
/// must never write past a caller's buffer (outputs, error messages, lists)
/// nor read past one. Skipped where the compiler has no sanitizers.
#[test]
fn c_tests_under_sanitizers() {
    let probe = scratch("asan-probe");
    let src = probe.join("p.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let has_asan = cc::Build::new()
        .cargo_metadata(false)
        .target(env!("MBA_TARGET"))
        .host(env!("MBA_TARGET"))
        .opt_level(0)
        .get_compiler()
        .to_command()
        .args(["-fsanitize=address,undefined"])
        .arg(&src)
        .arg("-o")
        .arg(probe.join("p"))
        .output()
        .is_ok_and(|o| o.status.success());
    std::fs::remove_dir_all(&probe).unwrap();
    if !has_asan {
        eprintln!("the C compiler has no AddressSanitizer: skipped");
        return;
    }
    let flags = [
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer",
        "-O1",
    ];
    for name in ["api_meta", "api_open", "api_data", "api_sync", "api_bad"] {
        let exe = compile_c(&format!("{name}_asan"), &[&format!("{name}.c")], &flags);
        let dir = scratch(name);
        let prefix = shm_prefix(&format!("{name}-asan"));
        let out = Command::new(&exe)
            .arg(&dir)
            .arg(&prefix)
            // t_name's strings are never freed, on purpose.
            .env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
            // see api_sync.c: fork while another thread mallocs, under ASan
            .env("MBA_TEST_ASAN", "1")
            .output()
            .unwrap();
        let left = shm_leftovers(&prefix);
        assert!(
            out.status.success(),
            "{name} under sanitizers\n{}",
            show(&out)
        );
        assert!(left.is_empty(), "{name} left {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The Arrow export (`mba_export_arrow`, `mba_export_arrow_stream`) from C:
//! `ffi-tests/c/api_arrow.c`, a consumer of the Arrow C data and stream
//! interface structs, run plainly and under valgrind memcheck (no error,
//! no definite leak: every release callback frees what the export
//! allocated, and nothing is touched after it is freed). The header's
//! Arrow structs are also checked to coexist with a copy of Arrow's own
//! definitions in either include order.

use mba_ffi_tests::{compile_c, repo, scratch};
use std::process::Command;

fn shm_prefix(tag: &str) -> String {
    format!(
        "mba-arrow-{tag}-{}-{:x}",
        std::process::id(),
        mba_ffi_tests::random_u64() & 0xffff_ffff
    )
}

fn leftovers(prefix: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.trim_start_matches('.').starts_with(prefix) {
            let _ = std::fs::remove_file(e.path());
            v.push(n);
        }
    }
    v
}

/// Runs api_arrow (optionally under a tool) and checks that it passed and
/// left nothing in /dev/shm.
fn run(tool: &[&str], tag: &str, live: &str) -> String {
    let exe = compile_c(&format!("api_arrow_{tag}"), &["api_arrow.c"], &[]);
    let dir = scratch(tag);
    let prefix = shm_prefix(tag);
    let mut cmd = if tool.is_empty() {
        Command::new(&exe)
    } else {
        let mut c = Command::new(tool[0]);
        c.args(&tool[1..]).arg(&exe);
        // Valgrind refuses libmba's default 64 GiB reservation.
        c.env("MBA_RESERVE", "256M");
        c
    };
    let out = cmd
        .arg(&dir)
        .arg(&prefix)
        .arg(live)
        .output()
        .expect("running api_arrow");
    let text = format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let left = leftovers(&prefix);
    assert!(out.status.success(), "api_arrow {tool:?} failed\n{text}");
    assert!(left.is_empty(), "left in /dev/shm: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    text
}

#[test]
fn c_consumer_types_zero_copy_lifetime_streams_live_tail() {
    let out = run(&[], "plain", "20000");
    assert!(out.contains("live: 20000 elements"), "{out}");
    assert!(out.contains(", 0 failures"), "{out}");
}

#[test]
fn c_consumer_under_valgrind_no_errors_no_leaks() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed: skipped (apt-get install valgrind)");
        return;
    }
    let out = run(
        &[
            "valgrind",
            "-q",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--child-silent-after-fork=yes",
        ],
        "valgrind",
        "20000",
    );
    assert!(out.contains("live: 20000 elements"), "{out}");
    assert!(out.contains(", 0 failures"), "{out}");
}

/// mba.h and a copy of the Arrow specification's definitions (as Arrow's
/// abi.h and nanoarrow carry them, inside the canonical guards) compile
/// together in either order, as C and C++, with every warning an error.
#[test]
fn header_coexists_with_arrows_own_definitions() {
    let dir = scratch("arrow-hdr");
    let arrow = "#ifndef ARROW_C_DATA_INTERFACE\n#define ARROW_C_DATA_INTERFACE\n\
        #define ARROW_FLAG_DICTIONARY_ORDERED 1\n#define ARROW_FLAG_NULLABLE 2\n\
        #define ARROW_FLAG_MAP_KEYS_SORTED 4\n\
        struct ArrowSchema { const char* format; const char* name; const char* metadata;\n\
          int64_t flags; int64_t n_children; struct ArrowSchema** children;\n\
          struct ArrowSchema* dictionary; void (*release)(struct ArrowSchema*);\n\
          void* private_data; };\n\
        struct ArrowArray { int64_t length; int64_t null_count; int64_t offset;\n\
          int64_t n_buffers; int64_t n_children; const void** buffers;\n\
          struct ArrowArray** children; struct ArrowArray* dictionary;\n\
          void (*release)(struct ArrowArray*); void* private_data; };\n\
        #endif\n\
        #ifndef ARROW_C_STREAM_INTERFACE\n#define ARROW_C_STREAM_INTERFACE\n\
        struct ArrowArrayStream {\n\
          int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);\n\
          int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);\n\
          const char* (*get_last_error)(struct ArrowArrayStream*);\n\
          void (*release)(struct ArrowArrayStream*); void* private_data; };\n\
        #endif\n";
    std::fs::write(dir.join("abi.h"), format!("#include <stdint.h>\n{arrow}")).unwrap();
    let body = "int main(void) { struct ArrowArray a; struct ArrowSchema s;\n\
        struct ArrowArrayStream st; (void)a; (void)s; (void)st;\n\
        return (int)sizeof(struct ArrowArray) + ARROW_FLAG_NULLABLE + MBA_ARROW_COPY\n\
        - (int)(10 * sizeof(int64_t)) - 2 - 2048; }\n";
    let mut n = 0;
    for (ext, cc, std) in [("c", "cc", "-std=c11"), ("cpp", "c++", "-std=c++11")] {
        if Command::new(cc).arg("--version").output().is_err() {
            continue;
        }
        for (k, order) in [
            "#include <mba.h>\n#include \"abi.h\"\n",
            "#include \"abi.h\"\n#include <mba.h>\n",
        ]
        .iter()
        .enumerate()
        {
            let src = dir.join(format!("t{k}.{ext}"));
            std::fs::write(&src, format!("{order}{body}")).unwrap();
            let o = Command::new(cc)
                .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"])
                .arg("-I")
                .arg(repo().join("include"))
                .arg("-I")
                .arg(&dir)
                .arg(&src)
                .arg("-o")
                .arg(dir.join(format!("t{k}{ext}.o")))
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{cc} {std} with {order:?}:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 2, "no C compiler");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Rust definitions of the structs have the C layout of the
/// specification (ten 8-byte fields; five pointers for the stream).
#[test]
fn struct_layouts_match_the_specification() {
    use mba::ffi::{ArrowArray, ArrowArrayStream, ArrowSchema};
    use std::mem::{offset_of, size_of};
    assert_eq!(size_of::<ArrowSchema>(), 72);
    assert_eq!(offset_of!(ArrowSchema, flags), 24);
    assert_eq!(offset_of!(ArrowSchema, release), 56);
    assert_eq!(size_of::<ArrowArray>(), 80);
    assert_eq!(offset_of!(ArrowArray, buffers), 40);
    assert_eq!(offset_of!(ArrowArray, release), 64);
    assert_eq!(size_of::<ArrowArrayStream>(), 40);
    assert_eq!(offset_of!(ArrowArrayStream, release), 24);
}

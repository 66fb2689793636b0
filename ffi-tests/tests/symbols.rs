//! The binary interface of the built library: `ffi-tests/symbols.txt` lists
//! every function `libmba.so` exports (sorted; regenerate it with
//! `MBA_UPDATE_SYMBOLS=1 cargo test -p mba-ffi-tests --test symbols` and
//! review the change: removing a symbol breaks every program linked to
//! libmba.so.0). Also: the SONAME, and the static library.

use mba_ffi_tests::{lib_dir, repo, scratch};
use std::collections::BTreeSet;
use std::process::Command;

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd} (binutils): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (type letter, name) of every defined dynamic symbol of libmba.so.
fn dynamic_symbols() -> Vec<(String, String)> {
    let so = lib_dir().join("libmba.so");
    tool("nm", &["-D", "--defined-only", so.to_str().unwrap()])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Names without their version (checked separately below).
            let name = f.get(2).map(|n| n.split('@').next().unwrap_or(n));
            (f.len() == 3).then(|| (f[1].to_string(), name.unwrap().to_string()))
        })
        .collect()
}

#[test]
fn exported_symbols_match_symbols_txt() {
    let syms = dynamic_symbols();
    let text: BTreeSet<String> = syms
        .iter()
        .filter(|(t, _)| t == "T")
        .map(|(_, n)| n.clone())
        .collect();
    // Nothing but the C API leaks out: no Rust symbols, no data.
    // (The version node of src/ffi/mba.map is an absolute symbol.)
    let foreign: Vec<String> = syms
        .iter()
        .filter(|(t, n)| !(t == "A" && n.starts_with("MBA_")))
        .filter(|(t, n)| !n.starts_with("mba_") || (t != "T" && t != "W"))
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    assert!(
        foreign.is_empty(),
        "libmba.so exports symbols other than mba_* functions:\n{}",
        foreign.join("\n")
    );
    let path = repo().join("ffi-tests/symbols.txt");
    let list = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = list.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let generated: String = text.iter().map(|s| format!("{s}\n")).collect();
    if std::env::var("MBA_UPDATE_SYMBOLS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    assert_eq!(
        lines, sorted,
        "symbols.txt must be sorted and without duplicates"
    );
    for l in &lines {
        assert!(
            l.starts_with("mba_") && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "symbols.txt holds only mba_* function names, not {l:?}"
        );
    }
    let listed: BTreeSet<String> = lines.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = listed.difference(&text).collect();
    let extra: Vec<&String> = text.difference(&listed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "libmba.so's exports differ from ffi-tests/symbols.txt\n\
         listed but not exported (an ABI break!): {missing:?}\n\
         exported but not listed: {extra:?}\n\
         If intended: MBA_UPDATE_SYMBOLS=1 cargo test -p mba-ffi-tests --test symbols"
    );
}

#[test]
fn soname_is_libmba_so_0() {
    let so = lib_dir().join("libmba.so");
    let d = tool("readelf", &["-d", so.to_str().unwrap()]);
    let soname: Vec<&str> = d.lines().filter(|l| l.contains("(SONAME)")).collect();
    assert_eq!(soname.len(), 1, "one SONAME entry:\n{d}");
    assert!(
        soname[0].contains("[libmba.so.0]"),
        "SONAME is libmba.so.0: {}",
        soname[0]
    );
    // Programs linked with -lmba record the SONAME, not the file name.
    let src = write_probe();
    let exe = mba_ffi_tests::compile_c_files("symbols_soname", std::slice::from_ref(&src), &[]);
    std::fs::remove_dir_all(src.parent().unwrap()).unwrap();
    let needed = tool("readelf", &["-d", exe.to_str().unwrap()]);
    assert!(
        needed.contains("Shared library: [libmba.so.0]"),
        "a program linked with -lmba needs libmba.so.0:\n{needed}"
    );
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "the probe runs against libmba.so.0");
}

fn write_probe() -> std::path::PathBuf {
    let dir = scratch("sym");
    let src = dir.join("probe.c");
    std::fs::write(
        &src,
        "#include <mba.h>\n#include <string.h>\n\
         int main(void) {\n\
           mba_handle h; int rc = mba_anon(0, MBA_TYPE_U32, 0, &h);\n\
           if (rc != MBA_OK || mba_append_u64(h, 7) != MBA_OK) return 1;\n\
           uint64_t v = 0; if (mba_get_u64(h, 0, &v) != MBA_OK || v != 7) return 2;\n\
           return mba_close(h) == MBA_OK && strcmp(mba_version_string(), \"\") != 0 ? 0 : 3;\n\
         }\n",
    )
    .unwrap();
    src
}

#[test]
fn static_library_has_the_api_and_links() {
    let a = lib_dir().join("libmba.a");
    assert!(a.exists(), "{} is missing", a.display());
    // readelf, not nm: objects that carry LLVM bitcode make nm ask the LLVM
    // gold plugin, which may be too old to read them.
    let syms = tool("readelf", &["-s", "--wide", a.to_str().unwrap()]);
    let defined = |name: &str| {
        syms.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 8 && f[7] == name && f[3] == "FUNC" && f[4] == "GLOBAL" && f[6] != "UND"
        })
    };
    assert!(defined("mba_open"), "libmba.a defines mba_open");
    let list = std::fs::read_to_string(repo().join("ffi-tests/symbols.txt")).unwrap();
    for s in list.lines() {
        assert!(defined(s), "libmba.a defines {s}");
    }
    // A C program links statically against it and runs.
    let src = write_probe();
    let exe = src.with_file_name("probe_static");
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .target(env!("MBA_TARGET"))
        .host(env!("MBA_TARGET"))
        .opt_level(1)
        .get_compiler();
    let st = compiler
        .to_command()
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg(&src)
        .arg(&a)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .unwrap();
    assert!(st.success(), "linking against libmba.a");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "the statically linked probe runs");
    std::fs::remove_dir_all(src.parent().unwrap()).unwrap();
}

/// Symbol versioning (issue 15): every exported function carries the
/// version node of src/ffi/mba.map as its default version, so a later
/// release can change one function and keep the old one for binaries
/// linked to this ABI. Checked on the built library, since a version
/// script that the linker silently ignores (rustc passes its own) leaves
/// the symbols unversioned: that is what this test catches.
#[test]
fn every_export_carries_the_version_node() {
    let so = lib_dir().join("libmba.so");
    let out = tool("readelf", &["--dyn-syms", "-W", so.to_str().unwrap()]);
    let map = std::fs::read_to_string(repo().join("src/ffi/mba.map")).unwrap();
    let (node, named) = version_nodes(&map);
    let mut versioned = 0;
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        if f.len() < 8 || f[4] != "GLOBAL" || f[6] == "UND" || f[3] == "OBJECT" && f[6] == "ABS" {
            continue;
        }
        let name = f[7];
        if f[6] == "ABS" && name.starts_with("MBA_") {
            continue; // the version node itself
        }
        let bare = name.split('@').next().unwrap_or(name);
        let want = named.get(bare).unwrap_or(&node);
        assert!(
            name.starts_with("mba_") && name.ends_with(&format!("@@{want}")),
            "export {name} does not carry its version {want}:\n{l}"
        );
        versioned += 1;
    }
    let listed = std::fs::read_to_string(repo().join("ffi-tests/symbols.txt")).unwrap();
    assert_eq!(
        versioned,
        listed.lines().count(),
        "every function of symbols.txt is versioned"
    );
    // And a C program linked to the library records the version it needs.
    let exe = scratch("symver").join("needs");
    let c = exe.with_extension("c");
    std::fs::write(
        &c,
        "#include <mba.h>\nint main(void) { return mba_version() == 0; }\n",
    )
    .unwrap();
    let inc = repo().join("include");
    tool(
        "cc",
        &[
            c.to_str().unwrap(),
            "-I",
            inc.to_str().unwrap(),
            "-L",
            lib_dir().to_str().unwrap(),
            "-lmba",
            "-o",
            exe.to_str().unwrap(),
        ],
    );
    let needs = tool("readelf", &["-V", "-W", exe.to_str().unwrap()]);
    assert!(
        needs.contains(&format!("Name: {node}")),
        "the program does not record {node}:\n{needs}"
    );
}

/// The version nodes of mba.map: the node whose pattern `mba_*` covers
/// every function not named elsewhere, and the functions a later node
/// names exactly (an exact name wins over a pattern in GNU ld).
fn version_nodes(map: &str) -> (String, std::collections::HashMap<String, String>) {
    let mut current = None;
    let mut default = None;
    let mut named = std::collections::HashMap::new();
    // The script's one comment comes first and ends with "*/".
    let body = map.rsplit_once("*/").map_or(map, |(_, b)| b);
    for l in body.lines().map(str::trim) {
        if let Some(n) = l.strip_suffix(" {") {
            current = Some(n.to_string());
        } else if let Some(sym) = l.strip_suffix(';') {
            let node = current.clone().expect("a symbol outside a node");
            if sym == "mba_*" {
                default = Some(node);
            } else if sym.starts_with("mba_") {
                named.insert(sym.to_string(), node);
            }
        }
    }
    (default.expect("a node with the pattern mba_*"), named)
}

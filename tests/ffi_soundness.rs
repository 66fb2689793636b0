//! No safe Rust function of the C ABI layer can dereference a raw pointer
//! (issue 15): every export that takes a pointer is `unsafe extern "C"`,
//! and every helper in `src/ffi` that takes one is an `unsafe fn`, except
//! the few listed below that only compare it with NULL. A source check:
//! it reads every file under `src/ffi` and fails naming each offender.

use std::path::Path;

/// Safe helpers that take a raw pointer but never dereference it.
const NULL_CHECKS_ONLY: &[&str] = &["buf", "buf_arg", "need_out"];

/// (name, is_unsafe, parameter text) of every `fn` in `src`.
fn functions(src: &str) -> Vec<(String, bool, String)> {
    let mut v = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("fn ") {
        let before = &rest[..i];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let prefix = &rest[line_start..i];
        let after = &rest[i + 3..];
        rest = after;
        // Only item definitions: the prefix is visibility/qualifiers only.
        if !prefix.split_whitespace().all(|w| {
            [
                "pub",
                "pub(crate)",
                "pub(super)",
                "unsafe",
                "extern",
                "\"C\"",
                "const",
            ]
            .contains(&w)
        }) {
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = after.find('(') else {
            continue;
        };
        let mut depth = 0;
        let mut end = open;
        for (j, c) in after[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let params = after[open + 1..end].to_string();
        v.push((
            name,
            prefix.split_whitespace().any(|w| w == "unsafe"),
            params,
        ));
    }
    v
}

#[test]
fn no_safe_ffi_function_takes_a_raw_pointer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut bad = Vec::new();
    let mut seen = 0;
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().and_then(|x| x.to_str()) == Some("rs") {
                files.push(p);
            }
        }
    }
    for p in files {
        let src = std::fs::read_to_string(&p).unwrap();
        for (name, is_unsafe, params) in functions(&src) {
            seen += 1;
            let raw = params.contains("*const") || params.contains("*mut");
            if raw && !is_unsafe && !NULL_CHECKS_ONLY.contains(&name.as_str()) {
                bad.push(format!(
                    "{}: fn {name}({params})",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(seen > 80, "found only {seen} functions in src/ffi");
    assert!(
        bad.is_empty(),
        "safe functions taking raw pointers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_source_check_finds_a_safe_pointer_taker() {
    let src = "pub extern \"C\" fn mba_x(h: i32, out_n: *mut u64) -> c_int {}\n\
               pub unsafe extern \"C\" fn mba_y(p: *const u8) -> c_int {}\n";
    let f = functions(src);
    assert_eq!(f.len(), 2);
    assert!(!f[0].1 && f[0].2.contains("*mut"));
    assert!(f[1].1);
}

//! The naming rule that the preamble of `include/mba.h` states, checked on
//! the committed header itself (its mechanical parts):
//!
//! - names: `mba_` + lowercase words joined by single underscores for
//!   functions and types, `MBA_` + uppercase words for constants, and no
//!   glued spellings (`trylock`, `itemsize`, ...);
//! - every function returns `int`, except the documented three, and its
//!   comment has an `Errors:` line naming only real `MBA_E_*` codes
//!   (`MBA_E_HANDLE` for every function that takes a handle, except
//!   `mba_try_append`, which never reports);
//! - argument order: the handle first; position before count before the
//!   source buffer; out-parameters (and only they, the writable pointers)
//!   named `out_*` and last, followed at most by the size of an `out_`
//!   buffer (`len`, `cap`);
//! - constants: an enumeration's values carry their group
//!   (`MBA_E_`, `MBA_TYPE_`, `MBA_FLUSH_`, `MBA_ADVISE_`, ...); the other
//!   constants are bit flags, each a distinct single bit.

use mba_ffi_tests::repo;
use std::collections::BTreeSet;

/// Functions that cannot fail and return their value, not a status.
const NO_STATUS: [&str; 3] = ["mba_version", "mba_version_string", "mba_strerror"];
/// Prefixes of enumerations, limits and versions.
const GROUPS: [&str; 7] = [
    "MBA_E_",
    "MBA_TYPE_",
    "MBA_FLUSH_",
    "MBA_ADVISE_",
    "MBA_VERSION_",
    "MBA_FORMAT_",
    "MBA_MAX_",
];
/// Spellings that glue words the rule separates.
const GLUED: [&str; 8] = [
    "trylock", "itemsize", "rowsize", "rowbytes", "fromfd", "getptr", "lenptr", "maxlen",
];

struct Param {
    ty: String,
    name: String,
}

struct Function {
    name: String,
    ret: String,
    params: Vec<Param>,
    doc: String,
}

/// The text of a `/** ... */` comment without its ` * ` margins.
fn comment_text(c: &str) -> String {
    c.trim_start_matches("/**")
        .trim_end_matches("*/")
        .lines()
        .map(|l| l.trim().trim_start_matches('*').trim())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a C parameter (`const void *src`) into type and name.
fn param(p: &str) -> Param {
    let p = p.trim();
    let cut = p
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    Param {
        ty: p[..cut].trim().to_string(),
        name: p[cut..].to_string(),
    }
}

/// The exported functions of the header, each with the comment before it.
fn functions(h: &str) -> Vec<Function> {
    let body = &h[h.find("extern \"C\" {").expect("extern \"C\" block")..];
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(s) = rest.find("/**") {
        let e = s + rest[s..].find("*/").unwrap() + 2;
        let doc = comment_text(&rest[s..e]);
        let after = &rest[e..];
        let semi = after.find(';').unwrap();
        let decl = after[..semi]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        rest = &after[semi..];
        let Some(open) = decl.find('(') else { continue };
        let head = decl[..open].trim();
        let name_at = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        let name = head[name_at.map_or(0, |i| i + 1)..].to_string();
        if !name.starts_with("mba_") {
            continue;
        }
        let ret = head[..name_at.map_or(0, |i| i + 1)].trim().to_string();
        let inner = decl[open + 1..decl.rfind(')').unwrap()].trim();
        let params = if inner == "void" || inner.is_empty() {
            Vec::new()
        } else {
            inner.split(',').map(param).collect()
        };
        out.push(Function {
            name,
            ret,
            params,
            doc,
        });
    }
    out
}

/// (name, value) of every `#define MBA_...` with a numeric value.
fn constants(h: &str) -> Vec<(String, i64)> {
    h.lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (n, v) = (it.next()?, it.next()?);
            (n.starts_with("MBA_") && n != "MBA_H").then(|| (n.to_string(), v.parse().ok()))
        })
        .map(|(n, v)| {
            (
                n.clone(),
                v.unwrap_or_else(|| panic!("{n} is not a number")),
            )
        })
        .collect()
}

fn header() -> String {
    std::fs::read_to_string(repo().join("include/mba.h")).unwrap()
}

fn is_words(s: &str, upper: bool) -> bool {
    !s.is_empty()
        && s.split('_').all(|w| {
            !w.is_empty()
                && w.chars().all(|c| {
                    c.is_ascii_digit()
                        || if upper {
                            c.is_ascii_uppercase()
                        } else {
                            c.is_ascii_lowercase()
                        }
                })
        })
}

/// The codes named in the `Errors:` line of a comment (it may wrap onto
/// the next lines, up to the comment's end), or `None` without one.
fn errors_line(doc: &str) -> Option<BTreeSet<String>> {
    let i = doc.find("Errors:")?;
    let text = &doc[i..];
    Some(
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("MBA_E_"))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn names_are_lowercase_words_or_uppercase_constants() {
    let h = header();
    let mut bad = Vec::new();
    for f in functions(&h) {
        let rest = f.name.strip_prefix("mba_").unwrap();
        if !is_words(rest, false) {
            bad.push(format!("{}: not mba_ + lowercase words", f.name));
        }
        for g in GLUED {
            if rest.split('_').any(|w| w == g) {
                bad.push(format!("{}: '{g}' glues words the rule separates", f.name));
            }
        }
    }
    for (n, _) in constants(&h) {
        if !is_words(n.strip_prefix("MBA_").unwrap(), true) {
            bad.push(format!("{n}: not MBA_ + uppercase words"));
        }
    }
    for t in h
        .lines()
        .filter_map(|l| l.strip_prefix("typedef "))
        .filter_map(|l| l.split_whitespace().last())
    {
        let t = t.trim_end_matches(';').trim_end_matches('{').trim();
        if t.starts_with("mba_") && !is_words(&t[4..], false) {
            bad.push(format!("type {t}: not mba_ + lowercase words"));
        }
    }
    assert!(
        bad.is_empty(),
        "names against the rule:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_function_returns_a_status_and_lists_its_errors() {
    let h = header();
    let codes: BTreeSet<String> = constants(&h)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("MBA_E_"))
        .collect();
    let fns = functions(&h);
    assert!(fns.len() > 40, "parsed only {} functions", fns.len());
    let mut bad = Vec::new();
    for f in &fns {
        let listed = errors_line(&f.doc);
        if NO_STATUS.contains(&f.name.as_str()) {
            if f.ret == "int" || listed.is_some() {
                bad.push(format!("{}: documented as returning no status", f.name));
            }
            continue;
        }
        if f.ret != "int" {
            bad.push(format!("{}: returns {}, not an int status", f.name, f.ret));
        }
        let Some(listed) = listed else {
            bad.push(format!("{}: no Errors: line in its comment", f.name));
            continue;
        };
        for c in listed.difference(&codes) {
            bad.push(format!(
                "{}: Errors: names {c}, which is no status code",
                f.name
            ));
        }
        let takes_handle = f.params.iter().any(|p| p.ty == "mba_handle");
        if takes_handle && f.name != "mba_try_append" && !listed.contains("MBA_E_HANDLE") {
            bad.push(format!(
                "{}: takes a handle, Errors: lacks MBA_E_HANDLE",
                f.name
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A pointer parameter through which the function writes.
fn writable(p: &Param) -> bool {
    p.ty.ends_with("**") || (p.ty.ends_with('*') && !p.ty.starts_with("const"))
}

#[test]
fn arguments_follow_one_order() {
    let mut bad = Vec::new();
    for f in functions(&header()) {
        let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
        let at = |n: &str| names.iter().position(|x| *x == n);
        if let Some(i) = f.params.iter().position(|p| p.ty == "mba_handle") {
            if i != 0 {
                bad.push(format!("{}: the handle is not the first argument", f.name));
            }
        }
        for p in &f.params {
            if writable(p) != p.name.starts_with("out_") {
                bad.push(format!(
                    "{}: {} {}: out-parameters, and only they, are named out_*",
                    f.name, p.ty, p.name
                ));
            }
        }
        if let Some(first) = names.iter().position(|n| n.starts_with("out_")) {
            for (k, n) in names.iter().enumerate().skip(first) {
                let size_of_prev = (*n == "len" || *n == "cap")
                    && names
                        .get(k.wrapping_sub(1))
                        .is_some_and(|p| p.starts_with("out_"));
                if !n.starts_with("out_") && !size_of_prev {
                    bad.push(format!("{}: {n} comes after an out-parameter", f.name));
                }
            }
        }
        let pos = at("i").or(at("start"));
        if let (Some(p), Some(n)) = (pos, at("n")) {
            if n != p + 1 {
                bad.push(format!(
                    "{}: the count n does not follow the position",
                    f.name
                ));
            }
        }
        if let (Some(n), Some(s)) = (at("n"), at("src")) {
            if s < n {
                bad.push(format!(
                    "{}: the source buffer comes before its count",
                    f.name
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn constants_are_grouped_or_distinct_bit_flags() {
    let mut bits = 0i64;
    let mut bad = Vec::new();
    for (n, v) in constants(&header()) {
        if n == "MBA_OK" || GROUPS.iter().any(|g| n.starts_with(g)) {
            continue;
        }
        if v <= 0 || v & (v - 1) != 0 {
            bad.push(format!(
                "{n} = {v}: an ungrouped constant must be a bit flag"
            ));
        } else if bits & v != 0 {
            bad.push(format!("{n} = {v}: bit already taken by another flag"));
        }
        bits |= v;
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_preamble_states_the_rule() {
    let h = header();
    let pre = &h[..h.find("#ifndef MBA_H").unwrap()];
    for needle in [
        "NAMES AND ARGUMENT ORDER",
        "Errors:",
        "out_",
        "MBA_<GROUP>_<NAME>",
    ] {
        assert!(
            pre.contains(needle),
            "the preamble of mba.h lacks {needle:?}"
        );
    }
}

#[test]
fn the_parser_reads_what_it_checks() {
    let h = "extern \"C\" {\n/**\n * Does.\n * Errors: MBA_E_HANDLE,\n * MBA_E_NULL.\n */\n\
             int mba_x(mba_handle h, const void *src,\n uint64_t n, char *out_buf, size_t len);\n";
    let f = functions(h);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, "mba_x");
    assert_eq!(f[0].ret, "int");
    let names: Vec<&str> = f[0].params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["h", "src", "n", "out_buf", "len"]);
    assert!(!writable(&f[0].params[1]) && writable(&f[0].params[3]));
    assert_eq!(
        errors_line(&f[0].doc)
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["MBA_E_HANDLE", "MBA_E_NULL"]
    );
    assert!(writable(&param("const void **out_spec")));
}

/// (code, function) of every `EXPECT(MBA_E_X, mba_f(` in the C tests.
fn expected_in_c_tests() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let dir = repo().join("ffi-tests/c");
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if !matches!(p.extension().and_then(|x| x.to_str()), Some("c" | "h")) {
            continue;
        }
        let s = std::fs::read_to_string(&p).unwrap();
        for (i, _) in s.match_indices("EXPECT(") {
            let rest = &s[i + 7..];
            let Some((code, rest)) = rest.split_once(',') else {
                continue;
            };
            let code = code.trim();
            let rest = rest.trim_start();
            let Some(open) = rest.find('(') else { continue };
            let f = &rest[..open];
            if code.starts_with("MBA_E_") && f.starts_with("mba_") && is_words(&f[4..], false) {
                let file = p.file_name().unwrap().to_string_lossy().into_owned();
                out.push((code.to_string(), f.to_string(), file));
            }
        }
    }
    out
}

#[test]
fn errors_lines_cover_the_codes_the_c_tests_expect() {
    let fns = functions(&header());
    let seen = expected_in_c_tests();
    assert!(
        seen.len() > 100,
        "found only {} EXPECT(code, call)s",
        seen.len()
    );
    let mut bad = BTreeSet::new();
    for (code, f, file) in seen {
        let Some(func) = fns.iter().find(|x| x.name == f) else {
            continue;
        };
        if let Some(listed) = errors_line(&func.doc) {
            if !listed.contains(&code) {
                bad.insert(format!(
                    "{f} returns {code} in {file}, its Errors: line lacks it"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{}",
        bad.into_iter().collect::<Vec<_>>().join("\n")
    );
}

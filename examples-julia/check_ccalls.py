#!/usr/bin/env python3
"""Checks the ccall declarations of examples-julia/Mba.jl against
include/mba.h, since Julia cannot be installed where libmba is tested
(the module is "signature-checked, not run").

For every `ccall((:mba_NAME, libmba), Ret, (Arg1, Arg2, ...), v1, v2, ...)`:
  - mba_NAME is a function of mba.h and the library is `libmba`;
  - Ret matches the C return type and each ArgN the C parameter type, by the
    rules of Julia's C interface on Linux x86-64/arm64 (Cint = int = int32_t,
    mba_handle = int32_t, Ptr{X} or Ref{X} = X*, Cstring = const char * only,
    Ptr{Cvoid} = void *, Csize_t = size_t, Julia struct Foo = struct mba_foo);
  - the argument-type tuple is a tuple (a single type needs its trailing
    comma) with as many types as C has parameters, and as many values follow;
  - a Julia `struct X` whose C counterpart `struct mba_x` exists has the same
    fields, in the same order, of matching types (NTuple{8,UInt64} =
    uint64_t[8]), so their memory layouts agree;
  - the functions and structs a binding needs are all declared (REQUIRED).

    check_ccalls.py [--header include/mba.h] [--self-test] FILE.jl...

--self-test also checks that each of a set of deliberate mistakes, made in a
copy of the first file, is caught. Standard library only.
"""
import argparse
import re
import sys

REQUIRED_FUNCS = {
    "mba_open", "mba_open_ex", "mba_anon_ex", "mba_map_raw", "mba_close", "mba_unlink",
    "mba_len", "mba_append", "mba_extend", "mba_get", "mba_get_ptr", "mba_pin", "mba_unpin",
    "mba_seq", "mba_wait", "mba_strerror", "mba_last_error", "mba_handle_error",
    "mba_options_init", "mba_describe",
}
REQUIRED_STRUCTS = {"Options", "Info"}

# C scalar spellings -> one canonical name (LP64 Linux: int is 32 bits).
C_BASE = {
    "int": "int32", "int32_t": "int32", "mba_handle": "int32", "unsigned": "uint32",
    "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64", "int16_t": "int16",
    "uint16_t": "uint16", "int8_t": "int8", "uint8_t": "uint8", "size_t": "size_t",
    "double": "double", "float": "float", "void": "void", "char": "char",
}
# Julia type names -> the canonical C names each may stand for.
JL_BASE = {
    "Cint": {"int32"}, "Int32": {"int32"}, "Cuint": {"uint32"}, "UInt32": {"uint32"},
    "Int64": {"int64"}, "Clonglong": {"int64"}, "UInt64": {"uint64"},
    "Culonglong": {"uint64"}, "Int16": {"int16"}, "Cshort": {"int16"},
    "UInt16": {"uint16"}, "Cushort": {"uint16"}, "Int8": {"int8", "char"},
    "Cchar": {"char", "int8"}, "UInt8": {"uint8", "char"}, "Cuchar": {"uint8", "char"},
    "Csize_t": {"size_t"}, "UInt": {"size_t"}, "Float64": {"double"}, "Cdouble": {"double"},
    "Float32": {"float"}, "Cfloat": {"float"}, "Cvoid": {"void"}, "Nothing": {"void"},
}


class CType:
    """A C type reduced to what a binding must match: base, pointer depth,
    whether the pointee is const, array length (struct fields)."""

    def __init__(self, base, depth=0, const=False, array=None):
        self.base, self.depth, self.const, self.array = base, depth, const, array

    def __str__(self):
        s = ("const " if self.const else "") + self.base + " " + "*" * self.depth
        return s.strip() + (f"[{self.array}]" if self.array else "")


def c_type(text):
    text = " ".join(text.replace("*", " * ").split())
    depth = text.count("*")
    words = [w for w in text.replace("*", " ").split() if w]
    const = "const" in words
    words = [w for w in words if w not in ("const", "struct")]
    if len(words) != 1:
        raise ValueError(f"cannot read C type {text!r}")
    w = words[0]
    base = C_BASE.get(w, "struct " + w if w.startswith("mba_") else w)
    return CType(base, depth, const)


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_header(text):
    """-> ({name: (ret CType, [param CType])}, {struct name: [(field, CType)]})"""
    code = strip_c_comments(text)
    funcs = {}
    proto = re.compile(r"^[ \t]*((?:const\s+)?[A-Za-z_]\w*(?:\s*\*)*)\s*\b(mba_\w+)\s*\(([^;{}]*?)\)\s*;",
                       re.M)
    for m in proto.finditer(code):
        ret, name, params = m.group(1), m.group(2), m.group(3).strip()
        try:
            args = []
            if params and params != "void":
                for p in params.split(","):
                    p = p.strip()
                    pm = re.match(r"^(.*?)([A-Za-z_]\w*)$", p)
                    if not pm or not pm.group(1).strip():
                        raise ValueError(f"{name}: cannot read parameter {p!r}")
                    args.append(c_type(pm.group(1)))
            funcs[name] = (c_type(ret), args)
        except ValueError as e:  # e.g. a function-pointer parameter
            funcs[name] = str(e)  # an error only if Mba.jl calls it
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(mba_\w+)\s*\{(.*?)\}\s*\w+\s*;", code, re.S):
        fields = []
        for decl in m.group(2).split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if fp:  # a function pointer: not matched field by field
                fields.append((fp.group(1), CType("fnptr", 1)))
                continue
            fm = re.match(r"^(.*?)(\w+)\s*(?:\[(\d+)\])?$", decl)
            try:
                t = c_type(fm.group(1)) if fm else None
            except ValueError:
                t = None
            if t is None:
                fields = f"cannot read field {decl!r}"  # an error only if a Julia struct maps here
                break
            t.array = int(fm.group(3)) if fm.group(3) else None
            fields.append((fm.group(2), t))
        structs[m.group(1)] = fields
    return funcs, structs


# --- Julia side ----------------------------------------------------------

def scan_close(text, i):
    """Index of the bracket closing the one at text[i]; skips strings,
    characters and comments."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[i]]]
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "#":
            j = text.find("\n", j)
            if j < 0:
                break
        elif c == '"':
            j += 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
        elif c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if c != stack.pop():
                raise ValueError(f"unbalanced {c!r} at offset {j}")
            if not stack:
                return j
        j += 1
    raise ValueError(f"unclosed bracket at offset {i}")


def split_top(text):
    """Splits at the commas outside brackets and strings."""
    parts, depth, cur, j = [], 0, [], 0
    while j < len(text):
        c = text[j]
        if c == '"':
            k = j + 1
            while k < len(text) and text[k] != '"':
                k += 2 if text[k] == "\\" else 1
            cur.append(text[j:k + 1])
            j = k + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        j += 1
    parts.append("".join(cur).strip())
    return parts


def strip_jl_comments(text):
    """Blanks out # comments (not inside strings), keeping offsets."""
    out, j, n = list(text), 0, len(text)
    while j < n:
        c = text[j]
        if c == '"':
            j += 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
        elif c == "#":
            k = text.find("\n", j)
            k = n if k < 0 else k
            for x in range(j, k):
                out[x] = " "
            j = k
        j += 1
    return "".join(out)


def parse_ccalls(text):
    """-> [(line, name, lib, ret, [types] or None (not a tuple), n values, raw)]"""
    calls = []
    code = strip_jl_comments(text)
    for m in re.finditer(r"(@?)\bccall\s*\(", code):
        line = code.count("\n", 0, m.start()) + 1
        if m.group(1):
            calls.append((line, None, None, None, None, 0, "@ccall is not checked: use ccall"))
            continue
        end = scan_close(code, m.end() - 1)
        args = split_top(code[m.end():end])
        if len(args) < 3:
            calls.append((line, None, None, None, None, 0, code[m.start():end + 1]))
            continue
        fm = re.fullmatch(r"\(\s*:(\w+)\s*,\s*(.+?)\s*\)", args[0], re.S)
        name, lib = (fm.group(1), fm.group(2)) if fm else (None, None)
        tm = args[2]
        types = None
        if tm.startswith("(") and scan_close(tm, 0) == len(tm) - 1:
            inner = tm[1:-1].strip()
            if inner == "":
                types = []
            else:
                parts = split_top(inner)
                if parts[-1] == "":  # trailing comma: a tuple
                    types = parts[:-1]
                elif len(parts) > 1:
                    types = parts
                # else (X) is X, not a tuple: types stays None
        values = [a for a in args[3:] if a != ""]
        calls.append((line, name, lib, " ".join(args[1].split()), types, len(values),
                      code[m.start():end + 1]))
    return calls


def jl_type(t):
    """-> (set of C bases, depth, kind) with kind 'ref', 'ptr', 'cstring' or
    'plain' for the outermost wrapper; array length for NTuple."""
    t = "".join(t.split())
    m = re.fullmatch(r"(Ptr|Ref)\{(.+)\}", t)
    if m:
        bases, depth, _, arr = jl_type(m.group(2))
        return bases, depth + 1, m.group(1).lower(), arr
    m = re.fullmatch(r"NTuple\{(\d+),(.+)\}", t)
    if m:
        bases, depth, kind, _ = jl_type(m.group(2))
        return bases, depth, kind, int(m.group(1))
    if t == "Cstring":
        return {"char"}, 1, "cstring", None
    if t in JL_BASE:
        return JL_BASE[t], 0, "plain", None
    if re.fullmatch(r"[A-Z]\w*", t):  # a struct of the module: Foo = struct mba_foo
        return {"struct mba_" + t.lower()}, 0, "plain", None
    raise ValueError(f"unknown Julia type {t!r}")


def match(ct, jt, where):
    """None if the Julia type jt can stand for the C type ct, else why not."""
    try:
        bases, depth, kind, arr = jl_type(jt)
    except ValueError as e:
        return str(e)
    if ct.base not in bases or ct.depth != depth or (ct.array or None) != arr:
        return f"{jt} does not match C {ct}"
    if kind == "cstring" and (ct.depth != 1 or not ct.const):
        return f"Cstring is for a const char * the library reads, not C {ct}"
    if kind == "ref" and where == "return":
        return f"Ref is not a return type (C {ct}): use Ptr"
    if kind == "ref" and where == "field":
        return f"a struct field is a Ptr, not a Ref (C {ct})"
    if kind == "cstring" and where == "field":
        return f"a struct field is a Ptr, not a Cstring (C {ct})"
    return None


def parse_jl_structs(text):
    """-> {name: [(field, type)]} for `struct X ... end` without inner blocks."""
    code = strip_jl_comments(text)
    out = {}
    for m in re.finditer(r"^\s*(?:mutable\s+)?struct\s+(\w+)\s*\n(.*?)^\s*end\b", code, re.S | re.M):
        fields = []
        for line in m.group(2).splitlines():
            line = line.strip()
            if not line:
                continue
            fm = re.fullmatch(r"(\w+)::(.+)", line)
            if not fm:
                fields = None  # has methods or untyped fields: not a C struct
                break
            fields.append((fm.group(1), fm.group(2).strip()))
        if fields is not None:
            out[m.group(1)] = fields
    return out


def check(jl_text, header_text, filename="Mba.jl"):
    """-> list of error strings (empty: all good)"""
    funcs, cstructs = parse_header(header_text)
    errors = []
    seen = set()
    for line, name, lib, ret, types, nvals, raw in parse_ccalls(jl_text):
        at = f"{filename}:{line}"
        if name is None:
            errors.append(f"{at}: cannot read this ccall: {' '.join(raw.split())[:100]}")
            continue
        seen.add(name)
        if name not in funcs:
            errors.append(f"{at}: {name} is not a function of mba.h")
            continue
        if lib != "libmba":
            errors.append(f"{at}: {name}: library is {lib}, not libmba")
        if isinstance(funcs[name], str):
            errors.append(f"{at}: mba.h: {funcs[name]}")
            continue
        cret, cargs = funcs[name]
        why = match(cret, ret, "return")
        if why:
            errors.append(f"{at}: {name}: return type: {why}")
        if types is None:
            errors.append(f"{at}: {name}: the argument types are not a tuple "
                          "(a single type needs a trailing comma: (Cint,))")
            continue
        if len(types) != len(cargs):
            errors.append(f"{at}: {name}: {len(types)} argument types, C has {len(cargs)}")
        else:
            for k, (ct, jt) in enumerate(zip(cargs, types), 1):
                why = match(ct, jt, "argument")
                if why:
                    errors.append(f"{at}: {name}: argument {k}: {why}")
        if nvals != len(types):
            errors.append(f"{at}: {name}: {nvals} values passed for {len(types)} argument types")
    for name in sorted(REQUIRED_FUNCS - seen):
        errors.append(f"{filename}: no ccall of {name}")
    jstructs = parse_jl_structs(jl_text)
    for jname in sorted(REQUIRED_STRUCTS - set(jstructs)):
        errors.append(f"{filename}: no struct {jname}")
    for jname, jfields in sorted(jstructs.items()):
        cname = "mba_" + jname.lower()
        if cname not in cstructs:
            continue
        cfields = cstructs[cname]
        if isinstance(cfields, str):
            errors.append(f"{filename}: struct {jname}: mba.h: struct {cname}: {cfields}")
            continue
        if [f for f, _ in jfields] != [f for f, _ in cfields]:
            errors.append(f"{filename}: struct {jname}: fields {[f for f, _ in jfields]} "
                          f"differ from struct {cname}: {[f for f, _ in cfields]}")
            continue
        for (f, jt), (_, ct) in zip(jfields, cfields):
            why = match(ct, jt, "field")
            if why:
                errors.append(f"{filename}: struct {jname}.{f}: {why}")
    return errors


def syntax_errors(jl_text, filename="Mba.jl"):
    """Julia syntax errors found by tree-sitter-julia (a parser, not Julia:
    it proves the file parses, nothing about what it does). None when the
    tree_sitter and tree_sitter_julia modules are not installed."""
    try:
        import tree_sitter
        import tree_sitter_julia
    except ImportError:
        return None
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))
    src = jl_text.encode()
    errors, stack = [], [parser.parse(src).root_node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            what = "missing " + n.type if n.is_missing else "cannot parse"
            text = src[n.start_byte:n.end_byte].decode(errors="replace").split("\n")[0][:60]
            errors.append(f"{filename}:{n.start_point[0] + 1}: syntax: {what}: {text!r}")
        stack.extend(reversed(n.children))
    return errors


# --- self-test: each deliberate mistake must be caught ----------------------

def in_call(name, old, new):
    """A mutation replacing the first `old` (a whole word where it starts
    and ends with one) inside the ccall of `name`."""
    pat = re.escape(old)
    pat = (r"\b" if re.match(r"\w", old) else "") + pat + (r"\b" if re.search(r"\w$", old) else "")

    def mutate(text):
        i = text.find(f"ccall((:{name},")
        if i < 0:
            return text
        j = scan_close(text, i + len("ccall"))
        seg = text[i:j + 1]
        return text[:i] + re.sub(pat, lambda _: new, seg, count=1) + text[j + 1:]
    return mutate


def in_struct(name, old, new):
    def mutate(text):
        m = re.search(rf"^struct {name}\n.*?^end", text, re.S | re.M)
        if not m:
            return text
        return text[:m.start()] + m.group(0).replace(old, new, 1) + text[m.end():]
    return mutate


MUTATIONS = [
    ("wrong argument type (timeout Int64 -> Int32)", in_call("mba_wait", "Int64", "Int32"), "mba_wait: argument 3"),
    ("signedness (flags UInt32 -> Int32)", in_call("mba_open", "UInt32", "Int32"), "mba_open: argument 2"),
    ("pointer depth (Ref{Ptr{Cvoid}} -> Ref{Cvoid})", in_call("mba_get_ptr", "Ref{Ptr{Cvoid}}", "Ref{Cvoid}"), "mba_get_ptr: argument 2"),
    ("Cstring for an output buffer", in_call("mba_last_error", "Ptr{UInt8}", "Cstring"), "mba_last_error: argument 1"),
    ("one argument type too few", in_call("mba_extend", "UInt64, ", ""), "mba_extend: 2 argument types, C has 3"),
    ("one value too few", in_call("mba_seq", "handle(a), s)", "handle(a))"), "mba_seq: 1 values passed for 2"),
    ("a single type without its trailing comma", in_call("mba_strerror", "(Cint,)", "(Cint)"), "mba_strerror: the argument types are not a tuple"),
    ("unknown function name", in_call("mba_len", ":mba_len,", ":mba_length,"), "mba_length is not a function of mba.h"),
    ("wrong return type (Cint -> Cvoid)", in_call("mba_close", "Cint", "Cvoid"), "mba_close: return type"),
    ("wrong return type (Cstring -> Ptr{Cvoid})", in_call("mba_version_string", "Cstring", "Ptr{Cvoid}"), "mba_version_string: return type"),
    ("wrong library", in_call("mba_flush", "libmba)", "\"libc\")"), "mba_flush: library"),
    ("struct field of the wrong type", in_struct("Options", "mode::UInt32", "mode::UInt64"), "struct Options.mode"),
    ("struct field missing", in_struct("Info", "    uuid::UInt64\n", ""), "struct Info: fields"),
    ("struct array length", in_struct("Info", "NTuple{8,UInt64}", "NTuple{4,UInt64}"), "struct Info.shape"),
    ("a required wrapper missing", lambda t: t.replace("(:mba_unpin, libmba)", "(:mba_close, libmba)"), "no ccall of mba_unpin"),
]


SYNTAX_MUTATIONS = [
    ("a missing closing parenthesis", in_call("mba_len", "handle(a), n)", "handle(a), n"), "syntax"),
    ("a missing end", lambda t: t.replace("        yield()\n    end\n", "        yield()\n", 1), "syntax"),
]


def self_test(jl_text, header_text, filename, syntax=False):
    failures = 0
    base = check(jl_text, header_text, filename)
    if base:
        print(f"FAILED self-test: the unmodified {filename} has errors")
        return 1
    for desc, mutate, expect in MUTATIONS + (SYNTAX_MUTATIONS if syntax else []):
        bad = mutate(jl_text)
        if bad == jl_text:
            print(f"FAILED self-test: {desc}: the mutation did not apply")
            failures += 1
            continue
        errs = syntax_errors(bad, filename) if expect == "syntax" else check(bad, header_text, filename)
        hit = [e for e in errs if expect in e]
        if hit:
            print(f"ok     self-test: {desc}: caught: {hit[0]}")
        else:
            print(f"FAILED self-test: {desc}: not caught (expected {expect!r}; got {errs})")
            failures += 1
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--header", default="include/mba.h")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--syntax", action="store_true",
                    help="also parse each file with tree-sitter-julia (must be installed)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    header = open(a.header, encoding="utf-8").read()
    failed = 0
    for f in a.files:
        text = open(f, encoding="utf-8").read()
        errs = check(text, header, f)
        n = len(parse_ccalls(text))
        for e in errs:
            print(e)
        print(("ok     " if not errs else "FAILED ") + f"{f}: {n} ccalls checked against {a.header}")
        failed += bool(errs)
        if a.syntax:
            serrs = syntax_errors(text, f)
            if serrs is None:
                print("FAILED --syntax: the tree_sitter and tree_sitter_julia modules are not installed")
                return 1
            for e in serrs:
                print(e)
            print(("ok     " if not serrs else "FAILED ") + f"{f}: Julia syntax (tree-sitter-julia)")
            failed += bool(serrs)
    if a.self_test:
        failed += self_test(open(a.files[0], encoding="utf-8").read(), header, a.files[0], a.syntax)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# The README's code blocks, run as written (issue 13), so the README cannot
# rot. A fenced block is run when its info string carries a `test` word:
#
#   ```c test=hello.c        a file: written verbatim to that path
#   ```rust test=~/x/main.rs  (relative to the repository root; ~ is $HOME)
#   ```sh test               commands: run with bash -euo pipefail
#
# Blocks run in README order from the repository root, each `sh` block in a
# bash of its own, with HOME set to a fresh temporary directory (so
# `make install PREFIX=$HOME/.local`, venvs and `cargo new ~/x` stay out of
# the real home) and the build cache of the repository shared
# (CARGO_TARGET_DIR=target) so a Rust block does not rebuild the world.
# Files the blocks write into the repository are removed at the end.
# One case per `sh` block; last line `N passed, N failed`.
set -uo pipefail
ROOT=${MBA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"

work=$(mktemp -d)
written=()
cleanup() {
    for f in "${written[@]}"; do rm -f -- "$f"; done
    rm -f -- hello                     # the C block's program
    rm -rf -- "$work"
}
trap cleanup EXIT

export REAL_HOME=$HOME
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export CARGO_TARGET_DIR=$ROOT/target
export HOME=$work/home
mkdir -p "$HOME"
unset MBA_LIBRARY PYTHONPATH LD_LIBRARY_PATH PKG_CONFIG_PATH

# Split README.md into blocks: a directory of numbered files plus a list.
python3 - "$ROOT/README.md" "$work/blocks" <<'EOF'
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
text = open(src).read()
n = 0
with open(os.path.join(out, "list"), "w") as lst:
    for m in re.finditer(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", text, re.S | re.M):
        lang, info, body = m.group(1), m.group(2).split(), m.group(3)
        tag = [w for w in info if w == "test" or w.startswith("test=")]
        if not tag:
            continue
        n += 1
        line = text[:m.start()].count("\n") + 1
        target = tag[0][5:] if tag[0].startswith("test=") else "-"
        with open(os.path.join(out, "%03d" % n), "w") as f:
            f.write(body)
        lst.write("%03d\t%s\t%s\t%d\n" % (n, lang, target, line))
EOF

pass=0
fail=0
while IFS=$'\t' read -r id lang target line; do
    body=$work/blocks/$id
    if [ "$target" != - ]; then
        dest=${target/#\~/$HOME}
        mkdir -p "$(dirname "$dest")"
        case $dest in /*) ;; *) written+=("$ROOT/$dest") ;; esac
        cp "$body" "$dest"
        echo "== README.md:$line: wrote $target"
        continue
    fi
    if [ "$lang" != sh ]; then
        echo "== README.md:$line: a '$lang' block marked test needs test=FILE" >&2
        fail=$((fail + 1))
        continue
    fi
    echo "== README.md:$line: running"
    sed 's/^/   $ /' "$body"
    if (cd "$ROOT" && bash -euo pipefail "$body") >"$work/out" 2>&1; then
        sed 's/^/   | /' "$work/out" | tail -n 20
        echo "ok     README.md:$line"
        pass=$((pass + 1))
    else
        sed 's/^/   | /' "$work/out" | tail -n 40
        echo "FAILED README.md:$line"
        fail=$((fail + 1))
    fi
done <"$work/blocks/list"

if [ $((pass + fail)) -eq 0 ]; then
    echo "no README block is marked test" >&2
    fail=1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/bash
# The cross-language suite (xlang/README.md): one small program per
# language (C, Rust, Python, Go) with the same verbs (create, append,
# read, wait), driven pair by pair on real shm:// arrays:
#  - written by X, read by Y, for all 16 ordered pairs: X creates (the
#    element type rotates over u64, i64, i32, f64), Y starts waiting for
#    the elements before X appends them one call each, Y's wait must end,
#    and X's and Y's reads must both equal START..START+COUNT-1, element for
#    element;
#  - X and Y appending at once (the 10 pairs, a language with itself too):
#    disjoint ranges from two processes at the same time (they meet at a
#    barrier, MBA_XLANG_GATE, once started, then append one call each; the
#    number of switches between the ranges is printed), then every
#    language reads the array: all four reads must be identical and hold
#    each value of both ranges exactly once, each range in its own order.
# Needs: gcc, golang-go (>= 1.19), python3, cargo (the Rust program is
# built by `cargo build --release --workspace`).
set -uo pipefail
. "$(dirname "$0")/common.bash"
suite_init xlang
TAG="mba-xlang-$$"
trap 'rm -f /dev/shm/"$TAG"-*' EXIT
export MBA_LIBRARY="$LIB" PYTHONPATH="$ROOT/examples-python"
start_s=$SECONDS

# ------------------------------------------------------------- build
LANGS="c rust python go"
declare -A BIN
if gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$ROOT/include" xlang/c/mbax.c -L"$LIBDIR" -lmba \
    -Wl,-rpath,"$LIBDIR" -o "$WORK/mbax-c" 2>"$WORK/build.out"; then
    BIN[c]="$WORK/mbax-c"
else bad "build: C" "$WORK/build.out"; fi
RUSTBIN="$(dirname "$LIB")/mbax"
if [ ! -x "$RUSTBIN" ] || [ "$RUSTBIN" -ot xlang/rust/src/main.rs ]; then
    cargo build --release -q -p mba-xlang >"$WORK/build.out" 2>&1 || bad "build: Rust" "$WORK/build.out"
    RUSTBIN="$ROOT/target/release/mbax"
fi
[ -x "$RUSTBIN" ] && BIN[rust]="$RUSTBIN"
BIN[python]="$PY $ROOT/xlang/python/mbax.py"
if command -v go >/dev/null; then
    if (cd xlang/go && GOCACHE="$WORK/go-cache" GOPATH="$WORK/gopath" GOPROXY=off GOFLAGS=-mod=mod \
        CGO_CFLAGS="-I$ROOT/include" CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR" \
        go build -o "$WORK/mbax-go" .) >"$WORK/build.out" 2>&1; then
        BIN[go]="$WORK/mbax-go"
    else bad "build: Go" "$WORK/build.out"; fi
else
    bad "build: the go command is missing (Debian: apt-get install golang-go)"
fi

# x LANG VERB NAME ARGS...: runs LANG's program (10 s deadline).
x() {
    local l=$1
    shift
    [ -n "${BIN[$l]:-}" ] || { echo "no $l program" >&2; return 127; }
    # shellcheck disable=SC2086
    timeout 10 ${BIN[$l]} "$@"
}

# ------------------------------------------------ written by X, read by Y
TYPES=(u64 i64 i32 f64)
COUNT=200
i=0
for w in $LANGS; do
    for r in $LANGS; do
        t=${TYPES[$((i % 4))]}
        case $t in u64) start=1099511627776 ;; i64) start=-9000000000 ;; i32) start=-100 ;; f64) start=-50 ;; esac
        i=$((i + 1))
        n="shm://$TAG-$w-$r"
        what="$w writes $t, $r reads"
        seq -- "$start" $((start + COUNT - 1)) >"$WORK/expect"
        if ! x "$w" create "$n" "$t" 2>"$WORK/err"; then bad "$what: create" "$WORK/err"; continue; fi
        x "$r" wait "$n" $COUNT 10000 2>"$WORK/wait.err" &
        waiter=$!
        sleep 0.05
        if ! x "$w" append "$n" "$start" $COUNT 2>"$WORK/err"; then
            bad "$what: append" "$WORK/err"
            wait $waiter
            continue
        fi
        if ! wait $waiter; then bad "$what: $r's wait for $COUNT elements" "$WORK/wait.err"; continue; fi
        x "$r" read "$n" >"$WORK/read-r" 2>"$WORK/err" || { bad "$what: read" "$WORK/err"; continue; }
        x "$w" read "$n" >"$WORK/read-w" 2>"$WORK/err" || { bad "$what: writer's read" "$WORK/err"; continue; }
        if cmp -s "$WORK/expect" "$WORK/read-r" && cmp -s "$WORK/expect" "$WORK/read-w"; then
            ok "$what: $r waited, both read the same $COUNT elements"
        else
            diff "$WORK/expect" "$WORK/read-r" >"$WORK/err"
            bad "$what: elements differ" "$WORK/err"
        fi
        rm -f "/dev/shm/$TAG-$w-$r"
    done
done

# ------------------------------------------------ X and Y appending at once
EACH=2000
set -- $LANGS
langs=("$@")
for ((a = 0; a < 4; a++)); do
    for ((b = a; b < 4; b++)); do
        p=${langs[$a]} q=${langs[$b]}
        t=$([ $((a + b)) -ge 4 ] && echo i64 || echo u64)
        n="shm://$TAG-both-$p-$q"
        what="$p and $q append $t at once"
        if ! x "$p" create "$n" "$t" 2>"$WORK/err"; then bad "$what: create" "$WORK/err"; continue; fi
        # Both meet at a barrier (MBA_XLANG_GATE) after starting up, so that
        # the appends really overlap.
        gate="shm://$TAG-gate-$p-$q"
        x c create "$gate" u64 2>"$WORK/err" || { bad "$what: gate" "$WORK/err"; continue; }
        MBA_XLANG_GATE="$gate" x "$p" append "$n" 0 $EACH 2>"$WORK/err1" &
        j1=$!
        MBA_XLANG_GATE="$gate" x "$q" append "$n" 1000000 $EACH 2>"$WORK/err2" &
        j2=$!
        wait $j1 || { bad "$what: $p's append" "$WORK/err1"; wait $j2; continue; }
        wait $j2 || { bad "$what: $q's append" "$WORK/err2"; continue; }
        { seq 0 $((EACH - 1)); seq 1000000 $((1000000 + EACH - 1)); } >"$WORK/expect"
        good=1
        for r in $LANGS; do
            if ! x "$r" read "$n" >"$WORK/read-$r" 2>"$WORK/err"; then good=0; bad "$what: $r's read" "$WORK/err"; break; fi
        done
        [ $good = 1 ] || continue
        same=1
        for r in $LANGS; do cmp -s "$WORK/read-c" "$WORK/read-$r" || same=0; done
        # Each range in its own order; together, every value exactly once.
        awk '$1 < 1000000' "$WORK/read-c" >"$WORK/low"
        awk '$1 >= 1000000' "$WORK/read-c" >"$WORK/high"
        switches=$(awk 'NR > 1 && (($1 < 1000000) != (prev < 1000000)) { s++ } { prev = $1 } END { print s + 0 }' "$WORK/read-c")
        if [ $same = 1 ] && sort -n "$WORK/read-c" | cmp -s - <(sort -n "$WORK/expect") &&
            cmp -s "$WORK/low" <(seq 0 $((EACH - 1))) &&
            cmp -s "$WORK/high" <(seq 1000000 $((1000000 + EACH - 1))); then
            ok "$what: 4 languages read the same $((2 * EACH)) elements, each once ($switches switches between the writers)"
        else
            bad "$what: reads differ or elements lost/duplicated (same=$same)"
        fi
        rm -f "/dev/shm/$TAG-both-$p-$q" "/dev/shm/$TAG-gate-$p-$q"
    done
done

echo "  (xlang: $((SECONDS - start_s)) s)"
finish

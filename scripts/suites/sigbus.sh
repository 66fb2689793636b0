#!/bin/bash
# The opt-in SIGBUS guard (mba_sigbus_guard, issue 14) inside other
# runtimes' processes: Python with faulthandler on, a Go (cgo) program, and
# a C program under AddressSanitizer. In each, another process truncates an
# array the program has mapped; a library call must return MBA_E_TRUNCATED
# (Python: mba.FormatError), a fault outside the library must still reach
# the handler that was there before (faulthandler, the Go runtime, ASan),
# and the same access without the guard must kill the process (the control).
# The C and memfd cases without another runtime are cargo tests
# (ffi-tests/tests/sigbus.rs). Needs: python3 + numpy (MBA_PYTHON), golang-go
# (>= 1.19), gcc with libasan, coreutils truncate.
set -uo pipefail
. "$(dirname "$0")/common.bash"
suite_init sigbus
TAG="mba-sigbus-sh-$$-$RANDOM"
trap 'rm -f /dev/shm/"$TAG"*' EXIT

# run NAME CMD...: runs with a deadline, output (stdout+stderr) in $WORK/out,
# status in $rc.
run() {
    local name=$1
    shift
    timeout 120 "$@" >"$WORK/out" 2>&1
    rc=$?
    echo "  ($name: status $rc)"
}
has() { grep -q -- "$1" "$WORK/out"; }
last_is_ok() { [ "$(tail -n 1 "$WORK/out")" = "ok" ]; }

# ------------------------------------------------------------- Python
export MBA_LIBRARY="$LIB"
PYT="$ROOT/ffi-tests/python/sigbus_faulthandler.py"
run py-guard "$PY" "$PYT" guard "$TAG-py1"
if [ $rc -eq 0 ] && last_is_ok && ! has "Fatal Python error"; then
    ok "python+faulthandler: guarded accesses raise FormatError (TRUNCATED)"
else bad "python+faulthandler: guarded accesses raise FormatError (TRUNCATED)" "$WORK/out"; fi
run py-off "$PY" "$PYT" off "$TAG-py2"
if [ $rc -eq 135 ] && has "Fatal Python error: Bus error"; then
    ok "python+faulthandler: without the guard the append dies of SIGBUS (control)"
else bad "python+faulthandler: without the guard the append dies of SIGBUS (control)" "$WORK/out"; fi
run py-raw "$PY" "$PYT" raw "$TAG-py3"
if [ $rc -eq 135 ] && has "touching a numpy view" && has "Fatal Python error: Bus error"; then
    ok "python+faulthandler: a raw (numpy view) fault still reaches faulthandler"
else bad "python+faulthandler: a raw (numpy view) fault still reaches faulthandler" "$WORK/out"; fi

# ------------------------------------------------------------- Go (cgo)
if command -v go >/dev/null; then
    export GOCACHE="$WORK/go-cache" GOPATH="$WORK/go" GOPROXY=off GOFLAGS=-mod=mod
    export CGO_CFLAGS="-I$ROOT/include" CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR"
    run go-build bash -c "cd '$ROOT/ffi-tests/go/sigbus' && go build -o '$WORK/go-sigbus' ."
    if [ $rc -ne 0 ]; then
        bad "go: build" "$WORK/out"
    else
        run go-guard "$WORK/go-sigbus" "$TAG-go1"
        if [ $rc -eq 0 ] && last_is_ok && has "go runtime got the raw fault" &&
            ! has "SA_ONSTACK" && ! has "signal arrived during cgo execution"; then
            ok "go: guarded cgo calls return TRUNCATED on 4 threads; raw faults reach the Go runtime"
        else bad "go: guarded cgo calls return TRUNCATED on 4 threads; raw faults reach the Go runtime" "$WORK/out"; fi
        run go-off "$WORK/go-sigbus" "$TAG-go2" off
        if [ $rc -ne 0 ] && has "SIGBUS" && ! has "survived without the guard"; then
            ok "go: without the guard the cgo call dies of SIGBUS (control)"
        else bad "go: without the guard the cgo call dies of SIGBUS (control)" "$WORK/out"; fi
    fi
else
    rm -f "$WORK/out"
    bad "go: the go command is missing (Debian package golang-go)" "$WORK/out"
fi

# ------------------------------------------------- AddressSanitizer (C)
run asan-build gcc -g -fsanitize=address -fno-omit-frame-pointer -Wall -Wextra -Werror \
    -I"$ROOT/include" "$ROOT/ffi-tests/c/sigbus_victim.c" -L"$LIBDIR" -lmba \
    -Wl,-rpath,"$LIBDIR" -o "$WORK/victim-asan"
if [ $rc -ne 0 ]; then
    bad "asan: build" "$WORK/out"
else
    run asan-guard "$WORK/victim-asan" guard "$TAG-a1"
    if [ $rc -eq 0 ] && last_is_ok && ! has "AddressSanitizer"; then
        ok "asan: 14 guarded calls return TRUNCATED under ASan's own SIGBUS handler"
    else bad "asan: 14 guarded calls return TRUNCATED under ASan's own SIGBUS handler" "$WORK/out"; fi
    run asan-chain "$WORK/victim-asan" chain "$TAG-a2"
    if [ $rc -eq 42 ] && has "own handler: fault" && ! has "FAIL"; then
        ok "asan: a raw fault reaches the program's own handler"
    else bad "asan: a raw fault reaches the program's own handler" "$WORK/out"; fi
    run asan-dfl "$WORK/victim-asan" dfl "$TAG-a3"
    if [ $rc -ne 0 ] && has "AddressSanitizer: BUS" && has "touching the raw pointer"; then
        ok "asan: a raw fault reaches ASan's handler (the previous disposition)"
    else bad "asan: a raw fault reaches ASan's handler (the previous disposition)" "$WORK/out"; fi
    run asan-off "$WORK/victim-asan" off "$TAG-a4"
    if [ $rc -ne 0 ] && has "AddressSanitizer: BUS" && ! has "survived without the guard"; then
        ok "asan: without the guard the library call dies (control)"
    else bad "asan: without the guard the library call dies (control)" "$WORK/out"; fi
fi

finish

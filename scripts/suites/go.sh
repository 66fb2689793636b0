#!/bin/bash
# The Go binding (go/, package mba): gofmt, go vet and go test -v (which
# also runs the C program xlang/c/mbax.c and the Python one
# xlang/python/mbax.py against the same arrays), then the race detector.
# Counts one case for gofmt, one for go vet, one per test function
# (--- PASS / --- FAIL lines of go test -v) and one for the -race run.
# Needs: golang-go (>= 1.19; standard library only, no network), gcc.
set -uo pipefail
. "$(dirname "$0")/common.bash"
suite_init go

if ! command -v go >/dev/null; then
    bad "the go command is missing (Debian: apt-get install golang-go)"
    echo "$passed passed, $failed failed"
    exit 1
fi
export GOCACHE="$WORK/cache" GOPATH="$WORK/gopath" GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
export CGO_ENABLED=1 CGO_CFLAGS="-I$ROOT/include" CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR"
export MBA_LIBRARY="$LIB"
echo "  ($(go version))"
cd "$ROOT/go"

unformatted=$(gofmt -l . "$ROOT/xlang/go")
if [ -z "$unformatted" ]; then ok "gofmt"; else bad "gofmt: $unformatted"; fi
if go vet ./... >"$WORK/vet.out" 2>&1 && (cd "$ROOT/xlang/go" && go vet ./...) >>"$WORK/vet.out" 2>&1; then
    ok "go vet (go/ and xlang/go)"
else
    sed 's/^/    | /' "$WORK/vet.out"
    bad "go vet"
fi

timeout 150 go test -count=1 -v . >"$WORK/test.out" 2>&1
rc=$?
while read -r status name _; do
    if [ "$status" = "PASS:" ]; then ok "go test $name"; else bad "go test $name"; fi
done < <(grep -E '^--- (PASS|FAIL):' "$WORK/test.out" | sed 's/^--- //')
# go test's own summary lines.
grep -E '^(PASS|FAIL|ok |FAIL\s)' "$WORK/test.out" | sed 's/^/  go test: /'
if [ $rc -ne 0 ]; then
    sed 's/^/    | /' "$WORK/test.out" | tail -40
    grep -qE '^--- FAIL' "$WORK/test.out" || bad "go test (status $rc)"
fi

if timeout 150 go test -count=1 -race . >"$WORK/race.out" 2>&1; then
    ok "go test -race"
else
    sed 's/^/    | /' "$WORK/race.out" | tail -40
    bad "go test -race"
fi

finish

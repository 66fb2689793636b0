#!/usr/bin/env bash
# `make install` into a temporary prefix, then build and run C programs
# against the installed copy only (pkg-config, shared and --static), and
# check `pkg-config --modversion mba` against mba_version().
set -uo pipefail
cd "${MBA_ROOT:-$(dirname "$0")/../..}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $*" >&2; fi; }
make -s install PREFIX="$tmp/prefix" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; echo "0 passed, 1 failed"; exit 1; }
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cat > "$tmp/app.c" <<'C'
#include <stdio.h>
#include <mba.h>
int main(void) {
    mba_handle h;
    if (mba_anon(0, MBA_TYPE_U64, 0, &h) != MBA_OK) return 1;
    for (uint64_t i = 0; i < 10; i++) mba_append_u64(h, i);
    uint64_t len; mba_len(h, &len);
    uint32_t v = mba_version();
    printf("%u.%u.%u %s %llu\n", v >> 16, (v >> 8) & 255, v & 255, mba_version_string(), (unsigned long long)len);
    return mba_close(h) == MBA_OK && len == 10 ? 0 : 1;
}
C
links() { [ "$(readlink "$tmp/prefix/lib/libmba.so.0")" = "libmba.so.$1" ] && [ "$(readlink "$tmp/prefix/lib/libmba.so")" = libmba.so.0 ]; }
ver=$(pkg-config --modversion mba)
check links "$ver"
check cc -o "$tmp/app" "$tmp/app.c" $(pkg-config --cflags --libs mba) -Wl,-rpath,"$tmp/prefix/lib"
out=$("$tmp/app") ; check test "$out" = "$ver $ver 10"
check cc -o "$tmp/app-static" "$tmp/app.c" $(pkg-config --cflags mba) "$tmp/prefix/lib/libmba.a" $(pkg-config --static --libs-only-l mba | sed 's/-lmba//')
out=$("$tmp/app-static"); check test "$out" = "$ver $ver 10"
check sh -c "! ldd '$tmp/app' | grep -q target/release"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

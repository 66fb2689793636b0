# Sourced (never run) by scripts/suites/*.sh: the set-up they share.
#
#   . "$(dirname "$0")/common.bash"; suite_init NAME
#
# sets ROOT (the repo, also the working directory), LIB and LIBDIR (the
# libmba.so under test), PY (the test venv's python), WORK (an empty-or-reused
# scratch directory target/NAME-suite) and the counters behind ok/bad/finish.
suite_init() {
    ROOT="${MBA_ROOT:-$(pwd)}"
    cd "$ROOT" || exit 1
    LIB="${MBA_LIBRARY:-$ROOT/target/release/libmba.so}"
    LIBDIR="$(dirname "$LIB")"
    PY="${MBA_PYTHON:-python3}"
    WORK="$ROOT/target/$1-suite"
    mkdir -p "$WORK"
    passed=0
    failed=0
}
ok() { echo "PASS $1"; passed=$((passed + 1)); }
# bad MESSAGE [FILE [LINES]]: a failure, with the last LINES (25) of FILE.
bad() {
    echo "FAIL $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    | /' "$2" | tail -n "${3:-25}"
    failed=$((failed + 1))
}
# The last line test-all.sh reads, and the status.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

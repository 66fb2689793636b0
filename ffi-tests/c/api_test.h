/*
 * api_test.h - the small harness shared by the C API tests (api_*.c).
 *
 * Each test program is run by ffi-tests/tests/api.rs as
 *     prog SCRATCH_DIR SHM_PREFIX [more arguments]
 * and exits 0 only if every check passed. A check that fails prints the
 * call, the expected and actual status, and the library's detailed
 * message, and the program goes on (so one run shows every failure).
 *
 * Every status assertion is written EXPECT(MBA_E_xxx, call) or OK(call):
 * api.rs greps these sources to prove that every function of mba.h is
 * called and every error code is expected somewhere.
 */
#ifndef API_TEST_H
#define API_TEST_H

#include <mba.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int t_checks;
static int t_failures;
static const char *t_dir = ".";
static const char *t_prefix = "mba-api";

static inline const char *t_code_name(int rc)
{
    switch (rc) {
    case MBA_OK: return "MBA_OK";
    case MBA_E_NULL: return "MBA_E_NULL";
    case MBA_E_HANDLE: return "MBA_E_HANDLE";
    case MBA_E_ARG: return "MBA_E_ARG";
    case MBA_E_TYPE: return "MBA_E_TYPE";
    case MBA_E_NOTMBA: return "MBA_E_NOTMBA";
    case MBA_E_TRUNCATED: return "MBA_E_TRUNCATED";
    case MBA_E_CORRUPT: return "MBA_E_CORRUPT";
    case MBA_E_VERSION: return "MBA_E_VERSION";
    case MBA_E_FEATURE: return "MBA_E_FEATURE";
    case MBA_E_BYTEORDER: return "MBA_E_BYTEORDER";
    case MBA_E_OVERFLOW: return "MBA_E_OVERFLOW";
    case MBA_E_INDEX: return "MBA_E_INDEX";
    case MBA_E_READONLY: return "MBA_E_READONLY";
    case MBA_E_NOSPACE: return "MBA_E_NOSPACE";
    case MBA_E_FULL: return "MBA_E_FULL";
    case MBA_E_EXISTS: return "MBA_E_EXISTS";
    case MBA_E_NOTFOUND: return "MBA_E_NOTFOUND";
    case MBA_E_PERM: return "MBA_E_PERM";
    case MBA_E_IO: return "MBA_E_IO";
    case MBA_E_TIMEOUT: return "MBA_E_TIMEOUT";
    case MBA_E_INTR: return "MBA_E_INTR";
    case MBA_E_EMPTY: return "MBA_E_EMPTY";
    case MBA_E_NOTSUP: return "MBA_E_NOTSUP";
    case MBA_E_NOMEM: return "MBA_E_NOMEM";
    case MBA_E_BUSY: return "MBA_E_BUSY";
    case MBA_E_NOTLOCKED: return "MBA_E_NOTLOCKED";
    case MBA_E_PANIC: return "MBA_E_PANIC";
    case MBA_E_OWNER: return "MBA_E_OWNER";
    case MBA_E_NEWER: return "MBA_E_NEWER";
    default: return "(not a status code)";
    }
}

static inline int t_expect(int want, int got, const char *call, const char *file, int line)
{
    t_checks++;
    if (want == got)
        return 1;
    char msg[512];
    mba_last_error(msg, sizeof msg);
    fprintf(stderr, "%s:%d: %s\n    expected %s, got %s (%d): %s\n", file, line, call,
            t_code_name(want), t_code_name(got), got, msg);
    t_failures++;
    return 0;
}

static inline int t_check(int ok, const char *what, const char *file, int line)
{
    t_checks++;
    if (!ok) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
        t_failures++;
    }
    return ok;
}

static inline int t_check_u64(uint64_t got, uint64_t want, const char *what, const char *file, int line)
{
    t_checks++;
    if (got != want) {
        fprintf(stderr, "%s:%d: %s is %" PRIu64 " (%#" PRIx64 "), expected %" PRIu64
                " (%#" PRIx64 ")\n", file, line, what, got, got, want, want);
        t_failures++;
        return 0;
    }
    return 1;
}

static inline int t_check_i64(int64_t got, int64_t want, const char *what, const char *file, int line)
{
    t_checks++;
    if (got != want) {
        fprintf(stderr, "%s:%d: %s is %" PRId64 ", expected %" PRId64 "\n", file, line, what,
                got, want);
        t_failures++;
        return 0;
    }
    return 1;
}

/* The status of call must be code. Evaluates to 1 if it is. */
#define EXPECT(code, call) t_expect((code), (call), #call, __FILE__, __LINE__)
#define OK(call) EXPECT(MBA_OK, call)
#define CHECK(cond) t_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_U64(got, want) t_check_u64((uint64_t)(got), (uint64_t)(want), #got, __FILE__, __LINE__)
#define CHECK_I64(got, want) t_check_i64((int64_t)(got), (int64_t)(want), #got, __FILE__, __LINE__)

/* Stops the program at once (a precondition of the following checks). */
#define REQUIRE(cond)                                                             \
    do {                                                                          \
        if (!CHECK(cond)) {                                                       \
            fprintf(stderr, "%s:%d: cannot go on\n", __FILE__, __LINE__);         \
            exit(2);                                                              \
        }                                                                         \
    } while (0)

static inline void t_init(int argc, char **argv)
{
    if (argc > 1)
        t_dir = argv[1];
    if (argc > 2)
        t_prefix = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int t_done(const char *prog)
{
    printf("%s: %d checks, %d failures\n", prog, t_checks, t_failures);
    return t_failures == 0 ? 0 : 1;
}

/* A formatted name, in memory of its own. Never freed (tests are short),
 * but kept reachable from a list, so that LeakSanitizer and valgrind
 * (scripts/suites/sanitize.sh) report no leak for it. */
static inline char *t_name(const char *fmt, ...)
{
    static char **all;
    static size_t n, cap;
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n == cap) {
        char **grown = realloc(all, (cap ? 2 * cap : 64) * sizeof *all);
        if (!grown)
            abort();
        all = grown;
        cap = cap ? 2 * cap : 64;
    }
    char *s = malloc(strlen(b) + 1);
    if (!s)
        abort();
    all[n++] = s;
    return strcpy(s, b);
}

/* A path in the scratch directory. */
#define T_PATH(leaf) t_name("%s/%s", t_dir, (leaf))
/* A unique shared-memory name ("shm://PREFIX-leaf") and its /dev/shm path. */
#define T_SHM(leaf) t_name("shm://%s-%s", t_prefix, (leaf))
#define T_SHM_PATH(leaf) t_name("/dev/shm/%s-%s", t_prefix, (leaf))

/* Whole-file helpers (small files only). */
static inline unsigned char *t_read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    size_t got = 0;
    while (b && got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!b || got != n) {
        free(b);
        return NULL;
    }
    *size = n;
    return b;
}

static inline int t_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = n ? write(fd, data, n) : 0;
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* 1 if the file at path holds exactly these bytes. */
static inline int t_file_is(const char *path, const unsigned char *want, size_t n)
{
    size_t m = 0;
    unsigned char *b = t_read_file(path, &m);
    int same = b && m == n && memcmp(b, want, n) == 0;
    free(b);
    return same;
}

/* ---------------------------------------------------------------- format
 * The header layout of docs/FORMAT.md, restated independently of the
 * library so that damaged files can be made byte by byte. */
#define H_MAGIC 0
#define H_MAJOR 8
#define H_MINOR 10
#define H_HEADER_SIZE 12
#define H_COMPAT 16
#define H_RO_COMPAT 24
#define H_INCOMPAT 32
#define H_TYPE 40
#define H_ORDER 44
#define H_NDIM 45
#define H_ITEM_SIZE 48
#define H_ROW_BYTES 56
#define H_DATA_OFFSET 64
#define H_MAX_LEN 72
#define H_SHAPE 80
#define H_UUID 144
#define H_CREATED_NS 152
#define H_CRC 188
#define H_CRC_END 188
#define H_LEN 256
#define H_CAPACITY 264
#define H_DURABLE_LEN 272
#define H_LOCK 320
#define H_NEXT_TOKEN 324
#define H_SEQ 384
#define H_WAITERS 392
#define H_SIZE 512
#define H_DATA 65536

static inline void t_put_le(unsigned char *b, size_t off, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[off + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t t_get_le(const unsigned char *b, size_t off, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)b[off + (size_t)i] << (8 * i);
    return v;
}

/* zlib's CRC-32 (IEEE 802.3, reflected, init and final xor ~0). */
static inline uint32_t t_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* Recomputes the header checksum after an edit of bytes 0..188. */
static inline void t_recrc(unsigned char *b)
{
    t_put_le(b, H_CRC, t_crc32(b, H_CRC_END), 4);
}

#endif /* API_TEST_H */

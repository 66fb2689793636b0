/*
 * api_bad.c - bad input, each case with its own status code, never a
 * crash, never a change to the file: NULL for every pointer argument,
 * closed, stale and invented handles for every function that takes one,
 * damaged and foreign files (checked byte for byte afterwards), and the
 * system's refusals (no space, no address space, no permission, a bad
 * descriptor).
 */
#include "api_test.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* A child process runs a part of the test; its checks count there, its
 * exit status here. */
#define IN_CHILD(...)                                                  \
    do {                                                               \
        fflush(stdout);                                                \
        fflush(stderr);                                                \
        pid_t pid_ = fork();                                           \
        REQUIRE(pid_ >= 0);                                            \
        if (pid_ == 0) {                                               \
            t_failures = 0;                                            \
            __VA_ARGS__;                                               \
            fflush(stderr);                                            \
            _exit(t_failures == 0 ? 0 : 1);                            \
        }                                                              \
        int st_;                                                       \
        REQUIRE(waitpid(pid_, &st_, 0) == pid_);                       \
        CHECK(WIFEXITED(st_) && WEXITSTATUS(st_) == 0);                \
    } while (0)

/* Every function that takes a handle, called with h and otherwise valid
 * arguments, must return want; outputs stay untouched. */
static void all_handle_functions(mba_handle h, int want)
{
    char buf[64] = "untouched";
    uint64_t u = 4242, row = 1, rows[2] = {1, 2};
    int64_t i = 4242;
    double d = 42.0;
    int32_t t = 4242, pin = 4242;
    uint32_t f = 4242, nd = 4242;
    int fd = 4242;
    void *p = &u;
    const uint64_t *lp = &u;
    EXPECT(want, mba_handle_error(h, buf, sizeof buf));
    EXPECT(want, mba_fd(h, &fd));
    EXPECT(want, mba_append(h, &row));
    EXPECT(want, mba_extend(h, 2, rows));
    EXPECT(want, mba_append_i64(h, 1));
    EXPECT(want, mba_append_u64(h, 1));
    EXPECT(want, mba_append_f64(h, 1.0));
    EXPECT(want, mba_pop(h, &row));
    EXPECT(want, mba_pop(h, NULL));
    EXPECT(want, mba_set(h, 0, &row));
    EXPECT(want, mba_write(h, 0, 1, rows));
    EXPECT(want, mba_set_i64(h, 0, 1));
    EXPECT(want, mba_set_u64(h, 0, 1));
    EXPECT(want, mba_set_f64(h, 0, 1.0));
    EXPECT(want, mba_insert(h, 0, 1, rows));
    EXPECT(want, mba_remove(h, 0, 1));
    EXPECT(want, mba_truncate(h, 0));
    EXPECT(want, mba_clear(h));
    EXPECT(want, mba_reserve(h, 10));
    EXPECT(want, mba_get(h, 0, &row));
    EXPECT(want, mba_read(h, 0, 1, rows));
    EXPECT(want, mba_get_i64(h, 0, &i));
    EXPECT(want, mba_get_u64(h, 0, &u));
    EXPECT(want, mba_get_f64(h, 0, &d));
    EXPECT(want, mba_len(h, &u));
    EXPECT(want, mba_capacity(h, &u));
    EXPECT(want, mba_max_len(h, &u));
    EXPECT(want, mba_elem_type(h, &t));
    EXPECT(want, mba_item_size(h, &u));
    EXPECT(want, mba_row_size(h, &u));
    EXPECT(want, mba_shape(h, rows, 2, &nd));
    EXPECT(want, mba_flags(h, &f));
    EXPECT(want, mba_uuid(h, &u));
    EXPECT(want, mba_get_ptr(h, &p));
    EXPECT(want, mba_len_ptr(h, &lp));
    EXPECT(want, mba_pin(h, &pin));
    EXPECT(want, mba_flush(h, MBA_FLUSH_SYNC));
    EXPECT(want, mba_flush_range(h, 0, 0, MBA_FLUSH_SYNC));
    EXPECT(want, mba_mlock(h));
    EXPECT(want, mba_munlock(h));
    EXPECT(want, mba_advise(h, MBA_ADVISE_NORMAL));
    EXPECT(want, mba_lock(h));
    EXPECT(want, mba_try_lock(h));
    EXPECT(want, mba_unlock(h));
    EXPECT(want, mba_seq(h, &u));
    EXPECT(want, mba_wait(h, 0, 0, &u));
    EXPECT(want, mba_wait(h, 0, -1, NULL));
    EXPECT(want, mba_close(h));
    CHECK(strcmp(buf, "untouched") == 0);
    CHECK(u == 4242 && i == 4242 && d == 42.0 && t == 4242 && pin == 4242);
    CHECK(f == 4242 && nd == 4242 && fd == 4242 && p == &u && lp == &u);
    CHECK(rows[0] == 1 && rows[1] == 2 && row == 1);
}

static void test_bad_handles(void)
{
    /* Invented: never valid (0 and negatives), or slots and generations
     * never handed out. */
    const mba_handle invented[] = {0, -1, -2, INT32_MIN, INT32_MAX, 1, 65535, 0x7fff0001};
    for (size_t k = 0; k < sizeof invented / sizeof invented[0]; k++)
        all_handle_functions(invented[k], MBA_E_HANDLE);
    /* Closed, and closed twice. */
    mba_handle h, g;
    OK(mba_anon(0, MBA_TYPE_U64, 0, &h));
    OK(mba_append_u64(h, 1));
    OK(mba_close(h));
    EXPECT(MBA_E_HANDLE, mba_close(h));
    all_handle_functions(h, MBA_E_HANDLE);
    /* Stale: the slot is reused by a new handle, which is a different
     * number; the old number stays invalid and never reaches the new one. */
    OK(mba_anon(0, MBA_TYPE_U64, 0, &g));
    CHECK(g != h);
    EXPECT(MBA_E_HANDLE, mba_append_u64(h, 5));
    EXPECT(MBA_E_HANDLE, mba_close(h));
    uint64_t n;
    OK(mba_len(g, &n));
    CHECK_U64(n, 0);
    /* Closing an invented handle does not disturb a live one. */
    EXPECT(MBA_E_HANDLE, mba_close(g + (1 << 16)));
    EXPECT(MBA_E_HANDLE, mba_close(g ^ 1));
    OK(mba_append_u64(g, 7));
    OK(mba_close(g));
}

static void test_null_pointers(void)
{
    const char *p = T_PATH("null.mba");
    mba_handle h, s, out = 4242;
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_U32;
    o.ndim = 1;
    o.shape[0] = 2;
    OK(mba_anon_ex(&o, &s)); /* a row-shaped array for mba_shape */
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U32, &h));
    for (int i = 0; i < 3; i++)
        OK(mba_append_i64(h, i));
    size_t n0;
    unsigned char *before = t_read_file(p, &n0);
    REQUIRE(before != NULL);

    /* Openers. None opens, creates or replaces anything. */
    EXPECT(MBA_E_NULL, mba_open(NULL, 0, MBA_TYPE_ANY, &out));
    EXPECT(MBA_E_NULL, mba_open(p, 0, MBA_TYPE_ANY, NULL));
    EXPECT(MBA_E_NULL, mba_open(p, MBA_REPLACE, MBA_TYPE_I8, NULL));
    EXPECT(MBA_E_NULL, mba_open(T_PATH("never.mba"), MBA_CREATE, MBA_TYPE_I8, NULL));
    CHECK(access(T_PATH("never.mba"), F_OK) != 0);
    EXPECT(MBA_E_NULL, mba_open(T_SHM("never"), MBA_CREATE, MBA_TYPE_I8, NULL));
    CHECK(access(T_SHM_PATH("never"), F_OK) != 0);
    mba_options c;
    OK(mba_options_init(&c));
    c.flags = MBA_CREATE;
    c.elem_type = MBA_TYPE_U8;
    EXPECT(MBA_E_NULL, mba_open_ex(NULL, &c, &out));
    EXPECT(MBA_E_NULL, mba_open_ex(p, NULL, &out));
    EXPECT(MBA_E_NULL, mba_open_ex(T_PATH("never.mba"), &c, NULL));
    CHECK(access(T_PATH("never.mba"), F_OK) != 0);
    c.flags = 0;
    EXPECT(MBA_E_NULL, mba_anon(0, MBA_TYPE_U8, 0, NULL));
    EXPECT(MBA_E_NULL, mba_anon_ex(NULL, &out));
    EXPECT(MBA_E_NULL, mba_anon_ex(&c, NULL));
    int fd;
    OK(mba_fd(h, &fd));
    EXPECT(MBA_E_NULL, mba_open_fd(fd, 0, MBA_TYPE_ANY, NULL));
    EXPECT(MBA_E_NULL, mba_map_raw(NULL, &c, &out));
    EXPECT(MBA_E_NULL, mba_map_raw(p, NULL, &out));
    EXPECT(MBA_E_NULL, mba_map_raw(p, &c, NULL));
    CHECK(out == 4242);
    EXPECT(MBA_E_NULL, mba_options_init(NULL));
    EXPECT(MBA_E_NULL, mba_unlink(NULL));
    size_t need;
    EXPECT(MBA_E_NULL, mba_list(NULL, 4096, &need));
    /* Functions of a handle. */
    EXPECT(MBA_E_NULL, mba_fd(h, NULL));
    EXPECT(MBA_E_NULL, mba_append(h, NULL));
    EXPECT(MBA_E_NULL, mba_extend(h, 1, NULL));
    EXPECT(MBA_E_NULL, mba_set(h, 0, NULL));
    EXPECT(MBA_E_NULL, mba_write(h, 0, 1, NULL));
    EXPECT(MBA_E_NULL, mba_insert(h, 0, 1, NULL));
    EXPECT(MBA_E_NULL, mba_get(h, 0, NULL));
    EXPECT(MBA_E_NULL, mba_read(h, 0, 1, NULL));
    EXPECT(MBA_E_NULL, mba_get_i64(h, 0, NULL));
    EXPECT(MBA_E_NULL, mba_get_u64(h, 0, NULL));
    EXPECT(MBA_E_NULL, mba_get_f64(h, 0, NULL));
    EXPECT(MBA_E_NULL, mba_len(h, NULL));
    EXPECT(MBA_E_NULL, mba_capacity(h, NULL));
    EXPECT(MBA_E_NULL, mba_max_len(h, NULL));
    EXPECT(MBA_E_NULL, mba_elem_type(h, NULL));
    EXPECT(MBA_E_NULL, mba_item_size(h, NULL));
    EXPECT(MBA_E_NULL, mba_row_size(h, NULL));
    uint32_t nd = 4242;
    uint64_t dims[2] = {4242, 4242};
    EXPECT(MBA_E_NULL, mba_shape(s, NULL, 2, &nd));
    EXPECT(MBA_E_NULL, mba_shape(s, dims, 2, NULL));
    CHECK(nd == 4242 && dims[0] == 4242); /* written only on success */
    EXPECT(MBA_E_NULL, mba_flags(h, NULL));
    EXPECT(MBA_E_NULL, mba_uuid(h, NULL));
    EXPECT(MBA_E_NULL, mba_get_ptr(h, NULL));
    EXPECT(MBA_E_NULL, mba_len_ptr(h, NULL));
    EXPECT(MBA_E_NULL, mba_pin(h, NULL));
    EXPECT(MBA_E_NULL, mba_seq(h, NULL));
    EXPECT(MBA_E_NULL, mba_handle_error(h, NULL, 16));
    /* Where NULL is allowed. */
    EXPECT(MBA_E_EMPTY, mba_pop(s, NULL));
    OK(mba_wait(h, 0, 0, NULL));
    CHECK(mba_last_error(NULL, 100) == MBA_E_EMPTY); /* NULL buf: just the code */
    OK(mba_extend(h, 0, NULL));
    OK(mba_read(h, 0, 0, NULL));
    OK(mba_write(h, 0, 0, NULL));
    OK(mba_insert(h, 0, 0, NULL));
    OK(mba_shape(h, NULL, 0, &nd));
    /* The array and its file are unchanged. */
    uint64_t len;
    OK(mba_len(h, &len));
    CHECK_U64(len, 3);
    OK(mba_close(h));
    OK(mba_close(s));
    CHECK(t_file_is(p, before, n0));
    free(before);
    /* A name that is not UTF-8. */
    EXPECT(MBA_E_ARG, mba_open("\xff\xfe.mba", MBA_CREATE, MBA_TYPE_U8, &out));
}

/* --------------------------------------------------------- damaged files */

static unsigned char *good;
static size_t good_len;

/* Writes a damaged copy, tries every way of opening it, then checks that
 * the file is byte-for-byte what was written. */
static void try_damaged(const char *what, const unsigned char *bytes, size_t n, int want_rw,
                        int want_ro)
{
    const char *p = T_PATH("damaged.mba");
    unlink(p);
    REQUIRE(t_write_file(p, bytes, n) == 0);
    mba_handle h = 4242;
    int rc;
    if (!EXPECT(want_rw, rc = mba_open(p, 0, MBA_TYPE_ANY, &h)))
        fprintf(stderr, "    (case: %s, read-write)\n", what);
    if (rc == MBA_OK)
        OK(mba_close(h));
    if (!EXPECT(want_rw, rc = mba_open(p, MBA_CREATE, MBA_TYPE_U32, &h)))
        fprintf(stderr, "    (case: %s, create)\n", what);
    if (rc == MBA_OK)
        OK(mba_close(h));
    if (!EXPECT(want_ro, rc = mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &h)))
        fprintf(stderr, "    (case: %s, read-only)\n", what);
    if (rc == MBA_OK)
        OK(mba_close(h));
    if (!EXPECT(want_ro, rc = mba_open(p, MBA_COW, MBA_TYPE_ANY, &h)))
        fprintf(stderr, "    (case: %s, copy-on-write)\n", what);
    if (rc == MBA_OK)
        OK(mba_close(h));
    int fd = open(p, O_RDWR);
    REQUIRE(fd >= 0);
    if (!EXPECT(want_rw, rc = mba_open_fd(fd, 0, MBA_TYPE_ANY, &h)))
        fprintf(stderr, "    (case: %s, from_fd)\n", what);
    if (rc == MBA_OK)
        OK(mba_close(h));
    close(fd);
    if (!CHECK(t_file_is(p, bytes, n)))
        fprintf(stderr, "    (case: %s: the file was changed)\n", what);
    unlink(p);
}

static unsigned char *copy_good(void)
{
    unsigned char *b = malloc(good_len);
    REQUIRE(b != NULL);
    memcpy(b, good, good_len);
    return b;
}

/* A damaged copy of the intact file: up to four little-endian fields
 * overwritten (width 0 ends the list), then optionally a new checksum. */
struct damage {
    const char *what;
    struct {
        size_t off;
        uint64_t val;
        int width;
    } edits[4];
    int recrc, want_rw, want_ro;
};

static void try_damage(const struct damage *d)
{
    unsigned char *b = copy_good();
    for (int i = 0; i < 4 && d->edits[i].width; i++)
        t_put_le(b, d->edits[i].off, d->edits[i].val, d->edits[i].width);
    if (d->recrc)
        t_recrc(b);
    try_damaged(d->what, b, good_len, d->want_rw, d->want_ro);
    free(b);
}

static void test_damaged_files(void)
{
    const char *gp = T_PATH("good.mba");
    mba_handle h;
    OK(mba_open(gp, MBA_CREATE, MBA_TYPE_U32, &h));
    for (int i = 0; i < 5; i++)
        OK(mba_append_i64(h, 100 + i));
    uint64_t cap;
    OK(mba_capacity(h, &cap));
    OK(mba_close(h));
    good = t_read_file(gp, &good_len);
    REQUIRE(good != NULL && good_len >= H_DATA + cap * 4);
    CHECK(t_crc32(good, H_CRC_END) == (uint32_t)t_get_le(good, H_CRC, 4));
    CHECK(t_crc32((const unsigned char *)"123456789", 9) == 0xCBF43926u);

    /* The intact file opens every way. */
    try_damaged("intact", good, good_len, MBA_OK, MBA_OK);
    /* Wrong type on open. */
    EXPECT(MBA_E_TYPE, mba_open(gp, 0, MBA_TYPE_I32, &h));
    EXPECT(MBA_E_TYPE, mba_open(gp, MBA_RDONLY, MBA_TYPE_F32, &h));
    CHECK(t_file_is(gp, good, good_len));

    /* Not an array at all. */
    const char *text = "just some text, certainly not an mba array\n";
    try_damaged("text file", (const unsigned char *)text, strlen(text), MBA_E_NOTMBA,
                MBA_E_NOTMBA);
    /* Empty, and cut short at various points. */
    try_damaged("empty file", good, 0, MBA_E_TRUNCATED, MBA_E_TRUNCATED);
    try_damaged("magic only", good, 8, MBA_E_TRUNCATED, MBA_E_TRUNCATED);
    try_damaged("100 bytes", good, 100, MBA_E_TRUNCATED, MBA_E_TRUNCATED);
    try_damaged("header only", good, H_SIZE, MBA_E_TRUNCATED, MBA_E_TRUNCATED);
    try_damaged("no data", good, H_DATA, MBA_E_TRUNCATED, MBA_E_TRUNCATED);
    try_damaged("shorter than capacity", good, H_DATA + 5 * 4, MBA_E_TRUNCATED,
                MBA_E_TRUNCATED);
    /* One field (or a few) of the intact file changed: each case lists its
     * edits, whether the checksum is recomputed afterwards, and the codes
     * of the read-write and read-only opens. */
    const uint64_t max_len = t_get_le(good, H_MAX_LEN, 8);
    const struct damage cases[] = {
        {"bad magic", {{0, 'X', 1}}, 0, MBA_E_NOTMBA, MBA_E_NOTMBA},
        /* Inconsistent mutable words (not covered by the checksum). */
        {"len > capacity", {{H_LEN, cap + 1, 8}}, 0, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"len and capacity past the file's end",
         {{H_LEN, 1000000, 8}, {H_CAPACITY, 1000000, 8}}, 0, MBA_E_TRUNCATED, MBA_E_TRUNCATED},
        {"capacity > max_len", {{H_LEN, 0, 8}, {H_CAPACITY, max_len + 1, 8}}, 0, MBA_E_CORRUPT,
         MBA_E_CORRUPT},
        /* Versions. */
        {"major 2, old checksum", {{H_MAJOR, 2, 2}}, 0, MBA_E_VERSION, MBA_E_VERSION},
        {"major 2", {{H_MAJOR, 2, 2}}, 1, MBA_E_VERSION, MBA_E_VERSION},
        {"major 0", {{H_MAJOR, 0, 2}}, 1, MBA_E_VERSION, MBA_E_VERSION},
        {"a later minor version", {{H_MINOR, 7, 2}}, 1, MBA_OK, MBA_OK},
        /* Feature flags. */
        {"unknown incompat feature", {{H_INCOMPAT, 1, 8}}, 1, MBA_E_FEATURE, MBA_E_FEATURE},
        {"unknown incompat feature (bit 63)", {{H_INCOMPAT, 1ull << 63, 8}}, 1, MBA_E_FEATURE,
         MBA_E_FEATURE},
        {"unknown ro_compat feature", {{H_RO_COMPAT, 1ull << 5, 8}}, 1, MBA_E_FEATURE, MBA_OK},
        {"unknown compat feature", {{H_COMPAT, 1ull << 7, 8}}, 1, MBA_OK, MBA_OK},
        /* Byte order. */
        {"foreign byte order", {{H_ORDER, good[H_ORDER] == 1 ? 2 : 1, 1}}, 1, MBA_E_BYTEORDER,
         MBA_E_BYTEORDER},
        {"byte order 0", {{H_ORDER, 0, 1}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        /* Checksum. */
        {"damaged checksum (uuid changed)", {{H_UUID, good[H_UUID] ^ 0x01u, 1}}, 0, MBA_E_CORRUPT,
         MBA_E_CORRUPT},
        {"damaged checksum (crc changed)", {{H_CRC, good[H_CRC] ^ 0x80u, 1}}, 0, MBA_E_CORRUPT,
         MBA_E_CORRUPT},
        /* Sizes and shapes. */
        {"item size over the limit",
         {{H_TYPE, MBA_TYPE_RECORD, 4}, {H_ITEM_SIZE, (1u << 20) + 1, 8},
          {H_ROW_BYTES, (1u << 20) + 1, 8}},
         1, MBA_E_OVERFLOW, MBA_E_OVERFLOW},
        {"row size over the limit",
         {{H_NDIM, 2, 1}, {H_SHAPE, 1u << 20, 8}, {H_SHAPE + 8, 1u << 20, 8}, {H_ROW_BYTES, 0, 8}},
         1, MBA_E_OVERFLOW, MBA_E_OVERFLOW},
        {"row_bytes inconsistent", {{H_ROW_BYTES, 8, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"item size wrong for the type", {{H_ITEM_SIZE, 8, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"unknown type code", {{H_TYPE, 99, 4}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"type code 0", {{H_TYPE, 0, 4}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"ndim 9", {{H_NDIM, 9, 1}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"a zero row dimension", {{H_NDIM, 1, 1}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"header size 100", {{H_HEADER_SIZE, 100, 4}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"data offset 100", {{H_DATA_OFFSET, 100, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"data offset 2^40", {{H_DATA_OFFSET, 1ull << 40, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"max_len 0", {{H_MAX_LEN, 0, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
        {"max_len 2^64-1", {{H_MAX_LEN, UINT64_MAX, 8}}, 1, MBA_E_CORRUPT, MBA_E_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        try_damage(&cases[i]);
    CHECK(sizeof cases / sizeof cases[0] == 29);

    /* A file with an unknown ro_compat feature: read-only opens read the
     * elements. */
    unsigned char *b = copy_good();
    t_put_le(b, H_RO_COMPAT, 1ull << 5, 8);
    t_recrc(b);
    {
        const char *p = T_PATH("rocompat.mba");
        REQUIRE(t_write_file(p, b, good_len) == 0);
        OK(mba_open(p, MBA_RDONLY, MBA_TYPE_U32, &h));
        int64_t v;
        OK(mba_get_i64(h, 4, &v));
        CHECK(v == 104);
        EXPECT(MBA_E_READONLY, mba_append_i64(h, 1));
        OK(mba_close(h));
        int fd = open(p, O_RDONLY);
        OK(mba_open_fd(fd, MBA_RDONLY, MBA_TYPE_ANY, &h));
        OK(mba_close(h));
        close(fd);
        CHECK(t_file_is(p, b, good_len));
        unlink(p);
    }
    free(b);
    /* A data offset of 4096 (allowed by the format) is honoured. */
    b = malloc(4096 + cap * 4);
    REQUIRE(b != NULL);
    memset(b, 0, 4096);
    memcpy(b, good, H_SIZE);
    memcpy(b + 4096, good + H_DATA, cap * 4);
    t_put_le(b, H_DATA_OFFSET, 4096, 8);
    t_recrc(b);
    try_damaged("data offset 4096", b, 4096 + cap * 4, MBA_OK, MBA_OK);
    {
        const char *p = T_PATH("off4096.mba");
        REQUIRE(t_write_file(p, b, 4096 + cap * 4) == 0);
        OK(mba_open(p, MBA_RDONLY, MBA_TYPE_U32, &h));
        int64_t v;
        OK(mba_get_i64(h, 0, &v));
        CHECK(v == 100);
        OK(mba_close(h));
        unlink(p);
    }
    free(b);

    /* The same codes, each asserted on its own. */
    {
        const char *p = T_PATH("each.mba");
        mba_handle x;
        b = copy_good();
        t_put_le(b, H_MAJOR, 9, 2);
        t_recrc(b);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_VERSION, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        t_put_le(b, H_INCOMPAT, 2, 8);
        t_recrc(b);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_FEATURE, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        t_put_le(b, H_RO_COMPAT, 2, 8);
        t_recrc(b);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_FEATURE, mba_open(p, 0, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        b[H_ORDER] = b[H_ORDER] == 1 ? 2 : 1;
        t_recrc(b);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_BYTEORDER, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        b[H_CREATED_NS] ^= 0xFF; /* no new checksum */
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_CORRUPT, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        t_put_le(b, H_LEN, cap + 1, 8);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_CORRUPT, mba_open(p, 0, MBA_TYPE_ANY, &x));
        REQUIRE(t_write_file(p, b, H_DATA) == 0);
        EXPECT(MBA_E_TRUNCATED, mba_open(p, 0, MBA_TYPE_ANY, &x));
        REQUIRE(t_write_file(p, "#!/bin/sh\n", 10) == 0);
        EXPECT(MBA_E_NOTMBA, mba_open(p, 0, MBA_TYPE_ANY, &x));
        memcpy(b, good, H_SIZE);
        t_put_le(b, H_TYPE, MBA_TYPE_RECORD, 4);
        t_put_le(b, H_ITEM_SIZE, 1ull << 40, 8);
        t_put_le(b, H_ROW_BYTES, 1ull << 40, 8);
        t_recrc(b);
        REQUIRE(t_write_file(p, b, good_len) == 0);
        EXPECT(MBA_E_OVERFLOW, mba_open(p, 0, MBA_TYPE_ANY, &x));
        free(b);
        unlink(p);
    }

    /* An index out of range changes nothing either. */
    OK(mba_open(gp, 0, MBA_TYPE_U32, &h));
    OK(mba_append_i64(h, 105)); /* takes the handle's lock token */
    OK(mba_pop(h, NULL));
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    size_t n1;
    unsigned char *snap = t_read_file(gp, &n1);
    REQUIRE(snap != NULL);
    uint32_t v = 1;
    EXPECT(MBA_E_INDEX, mba_set(h, 5, &v));
    EXPECT(MBA_E_INDEX, mba_set_i64(h, UINT64_MAX, 1));
    EXPECT(MBA_E_INDEX, mba_write(h, 4, 2, &v));
    EXPECT(MBA_E_INDEX, mba_remove(h, 5, 1));
    EXPECT(MBA_E_INDEX, mba_insert(h, 6, 1, &v));
    EXPECT(MBA_E_INDEX, mba_get(h, 5, &v));
    EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, -1));
    EXPECT(MBA_E_ARG, mba_flush(h, 12345));
    CHECK(t_file_is(gp, snap, n1));
    free(snap);
    OK(mba_close(h));
    free(good);
}

/* ----------------------------------------------- refusals by the system */

static void test_no_space(void)
{
    /* RLIMIT_FSIZE stands for a full disk: growth is refused with
     * MBA_E_NOSPACE (never SIGXFSZ), and the array is unchanged. */
    IN_CHILD({
        struct rlimit rl = {1 << 20, 1 << 20};
        REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        mba_handle h;
        const char *p = T_PATH("nospace.mba");
        OK(mba_open(p, MBA_CREATE, MBA_TYPE_U32, &h));
        OK(mba_append_i64(h, 1));
        EXPECT(MBA_E_NOSPACE, mba_reserve(h, 1u << 20));
        uint32_t *many = calloc(1u << 19, 4);
        REQUIRE(many != NULL);
        EXPECT(MBA_E_NOSPACE, mba_extend(h, 1u << 19, many));
        free(many);
        uint64_t n;
        OK(mba_len(h, &n));
        CHECK_U64(n, 1);
        OK(mba_append_i64(h, 2)); /* still usable */
        OK(mba_close(h));
        /* A creation that cannot get its space leaves nothing behind. */
        mba_options o;
        OK(mba_options_init(&o));
        o.flags = MBA_CREATE;
        o.elem_type = MBA_TYPE_U64;
        o.capacity = 1u << 20;
        EXPECT(MBA_E_NOSPACE, mba_open_ex(T_PATH("big.mba"), &o, &h));
        CHECK(access(T_PATH("big.mba"), F_OK) != 0);
        o.flags = 0;
        EXPECT(MBA_E_NOSPACE, mba_anon_ex(&o, &h));
        unlink(p);
    });
}

/* Bytes of address space in use (VmSize), or 0. */
static uint64_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %" SCNu64 " kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static void test_no_address_space(void)
{
    /* Each handle reserves max_len rows of address space (64 GiB by
     * default): under RLIMIT_AS that fails with MBA_E_NOMEM. */
    const char *p = T_PATH("nomem.mba");
    mba_handle h;
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U8, &h));
    OK(mba_close(h));
    IN_CHILD({
        uint64_t lim = vm_size() + (256u << 20);
        struct rlimit rl = {lim, lim};
        REQUIRE(setrlimit(RLIMIT_AS, &rl) == 0);
        mba_handle g;
        EXPECT(MBA_E_NOMEM, mba_open(p, 0, MBA_TYPE_ANY, &g));
        EXPECT(MBA_E_NOMEM, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &g));
        EXPECT(MBA_E_NOMEM, mba_anon(0, MBA_TYPE_U8, 0, &g));
        /* A small reservation still fits. */
        mba_options o;
        OK(mba_options_init(&o));
        o.elem_type = MBA_TYPE_U8;
        o.max_len = 4096;
        OK(mba_anon_ex(&o, &g));
        OK(mba_close(g));
    });
    unlink(p);
}

static void test_no_permission(void)
{
    /* A memfd sealed against writing cannot be mapped for writing. */
    const char *gp = T_PATH("perm.mba");
    mba_handle h;
    OK(mba_open(gp, MBA_CREATE, MBA_TYPE_U8, &h));
    OK(mba_append_i64(h, 9));
    OK(mba_close(h));
    size_t n;
    unsigned char *b = t_read_file(gp, &n);
    REQUIRE(b != NULL);
    int fd = memfd_create("mba-api-sealed", MFD_ALLOW_SEALING);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, b, n) == (ssize_t)n);
    REQUIRE(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    EXPECT(MBA_E_PERM, mba_open_fd(fd, 0, MBA_TYPE_ANY, &h));
    OK(mba_open_fd(fd, MBA_RDONLY, MBA_TYPE_U8, &h)); /* reading is allowed */
    int64_t v;
    OK(mba_get_i64(h, 0, &v));
    CHECK(v == 9);
    OK(mba_close(h));
    close(fd);
    free(b);
    /* A file the process may not open: as root, drop privileges first. */
    REQUIRE(chmod(gp, 0600) == 0);
    IN_CHILD({
        if (geteuid() == 0) {
            REQUIRE(setgid(65534) == 0);
            REQUIRE(setuid(65534) == 0);
        } else {
            REQUIRE(chmod(gp, 0) == 0);
        }
        mba_handle g;
        EXPECT(MBA_E_PERM, mba_open(gp, MBA_RDONLY, MBA_TYPE_ANY, &g));
        EXPECT(MBA_E_PERM, mba_open(gp, 0, MBA_TYPE_ANY, &g));
        EXPECT(MBA_E_PERM, mba_unlink(gp));
    });
    CHECK(access(gp, F_OK) == 0);
    unlink(gp);
}

static void test_bad_descriptors(void)
{
    mba_handle h;
    EXPECT(MBA_E_IO, mba_open_fd(-1, 0, MBA_TYPE_ANY, &h));
    int fd = open("/dev/null", O_RDWR);
    REQUIRE(fd >= 0);
    EXPECT(MBA_E_ARG, mba_open_fd(fd, 0, MBA_TYPE_ANY, &h)); /* not a regular file */
    close(fd);
    EXPECT(MBA_E_IO, mba_open_fd(fd, 0, MBA_TYPE_ANY, &h));  /* closed */
    EXPECT(MBA_E_ARG, mba_open_fd(0, 1u << 9, MBA_TYPE_ANY, &h));
}

/* A large extend is written through the file (pwrite): an unreadable
 * source is then an error the kernel reports, not a crash, and nothing of
 * it becomes visible. */
static void test_unreadable_source(void)
{
    const char *p = T_PATH("unreadable.mba");
    mba_handle h;
    OK(mba_open(p, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
    OK(mba_append_i64(h, 1));
    size_t bytes = 8u << 20;
    void *src = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(src != MAP_FAILED);
    EXPECT(MBA_E_ARG, mba_extend(h, bytes / 8, src));
    /* Readable for its first half only: still nothing is published. */
    REQUIRE(mprotect(src, bytes / 2, PROT_READ) == 0);
    EXPECT(MBA_E_ARG, mba_extend(h, bytes / 8, src));
    uint64_t n = 0;
    OK(mba_len(h, &n));
    CHECK_U64(n, 1);
    OK(mba_append_i64(h, 2));
    int64_t v = 0;
    OK(mba_get_i64(h, 1, &v));
    CHECK_I64(v, 2);
    REQUIRE(munmap(src, bytes) == 0);
    OK(mba_close(h));
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    test_bad_handles();
    test_null_pointers();
    test_damaged_files();
    test_no_space();
    test_no_address_space();
    test_no_permission();
    test_bad_descriptors();
    test_unreadable_source();
    return t_done("api_bad");
}

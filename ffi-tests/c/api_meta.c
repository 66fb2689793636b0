/*
 * api_meta.c - version, status messages, options, and the three ways to
 * read a detailed error message (thread-local, per handle, errbuf).
 */
#include "api_test.h"

#include <pthread.h>
#include <signal.h>

static void test_version(void)
{
    uint32_t v = mba_version();
    CHECK_U64(v, ((uint32_t)MBA_VERSION_MAJOR << 16) | ((uint32_t)MBA_VERSION_MINOR << 8) |
                     (uint32_t)MBA_VERSION_PATCH);
    const char *s = mba_version_string();
    REQUIRE(s != NULL);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MBA_VERSION_MAJOR, MBA_VERSION_MINOR,
             MBA_VERSION_PATCH);
    CHECK(strcmp(s, want) == 0);
    CHECK(mba_version_string() == s); /* static, the same every time */
    CHECK(MBA_FORMAT_MAJOR == 1);
}

/* Every status code has its own fixed, non-empty message; anything else
 * gives "unknown status code". */
static void test_strerror(void)
{
    const char *msgs[1 - MBA_E_NEWER];
    for (int c = 0; c >= MBA_E_NEWER; c--) {
        const char *m = mba_strerror(c);
        REQUIRE(m != NULL);
        CHECK(strlen(m) > 0);
        CHECK(strcmp(m, "unknown status code") != 0);
        CHECK(mba_strerror(c) == m);
        msgs[-c] = m;
        for (int d = 0; d < -c; d++)
            CHECK(strcmp(msgs[d], m) != 0);
    }
    CHECK(strcmp(mba_strerror(MBA_OK), "success") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NULL), "a required pointer argument is NULL") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_HANDLE), "invalid, closed or foreign handle") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_ARG), "invalid argument") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_TYPE), "element type mismatch") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NOTMBA), "not an mba array") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_TRUNCATED), "file is truncated") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_CORRUPT), "header is damaged or inconsistent") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_VERSION), "unsupported format version") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_FEATURE), "unsupported format feature") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_BYTEORDER), "foreign byte order") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_OVERFLOW), "size or value overflow") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_INDEX), "index out of range") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_READONLY), "read-only") == 0);
    CHECK(strstr(mba_strerror(MBA_E_NOSPACE), "no space left") != NULL);
    CHECK(strcmp(mba_strerror(MBA_E_FULL), "array is full or has a fixed length") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_EXISTS), "name already exists") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NOTFOUND), "no such array") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_PERM), "permission denied") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_IO), "operating-system error") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_TIMEOUT), "timed out") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_INTR), "interrupted by a signal") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_EMPTY), "array is empty") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NOTSUP), "not supported by this handle") == 0);
    CHECK(strstr(mba_strerror(MBA_E_NOMEM), "out of memory") != NULL);
    CHECK(strcmp(mba_strerror(MBA_E_BUSY), "lock is busy") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NOTLOCKED), "lock is not held by this thread") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_PANIC), "internal error") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_OWNER), "the object belongs to another user") == 0);
    CHECK(strcmp(mba_strerror(MBA_E_NEWER),
                 "the caller set fields this library version does not know") == 0);
    int unknown[] = {1, 2, 100, MBA_E_NEWER - 1, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(strcmp(mba_strerror(unknown[i]), "unknown status code") == 0);
}

static void test_options_init(void)
{
    mba_options o;
    memset(&o, 0xAB, sizeof o);
    OK(mba_options_init(&o));
    CHECK_U64(o.struct_size, sizeof(mba_options));
    CHECK_U64(o.flags, 0);
    CHECK_U64(o.mode, 0);
    CHECK_I64(o.elem_type, MBA_TYPE_ANY);
    CHECK_U64(o.item_size, 0);
    CHECK_U64(o.ndim, 0);
    CHECK_U64(o.reserved0, 0);
    for (int i = 0; i < MBA_MAX_ROW_DIMS; i++)
        CHECK_U64(o.shape[i], 0);
    CHECK_U64(o.initial_len, 0);
    CHECK_U64(o.capacity, 0);
    CHECK_U64(o.max_len, 0);
    CHECK_U64(o.offset, 0);
    CHECK(o.errbuf == NULL);
    CHECK_U64(o.errbuf_len, 0);
    EXPECT(MBA_E_NULL, mba_options_init(NULL));
    /* A struct not initialised by mba_options_init is refused. */
    mba_options z;
    memset(&z, 0, sizeof z);
    z.elem_type = MBA_TYPE_U8;
    mba_handle h = 12345;
    EXPECT(MBA_E_ARG, mba_anon_ex(&z, &h));
    CHECK(h == 12345);
    z.struct_size = 3;
    EXPECT(MBA_E_ARG, mba_anon_ex(&z, &h));
    CHECK(h == 12345);

    /* An older caller's struct (built against an mba.h whose mba_options
     * ended before max_len): the fields it has are used, the newer ones
     * read as zero. The bytes past its end are garbage here (errbuf would
     * point at address 1): they must never be read. */
    mba_options old;
    memset(&old, 0xEE, sizeof old);
    old.struct_size = (uint32_t)offsetof(mba_options, max_len);
    old.flags = 0;
    old.mode = 0;
    old.elem_type = MBA_TYPE_U16;
    old.item_size = 0;
    old.ndim = 0;
    old.reserved0 = 0;
    memset(old.shape, 0, sizeof old.shape);
    old.initial_len = 3;
    old.capacity = 10;
    OK(mba_anon_ex(&old, &h));
    uint64_t n = 0;
    OK(mba_len(h, &n));
    CHECK_U64(n, 3);
    OK(mba_close(h));
    old.elem_type = 12345;                 /* fails: errbuf must stay unread */
    EXPECT(MBA_E_ARG, mba_anon_ex(&old, &h));

    /* A newer caller's struct: larger, accepted while its extra bytes are
     * zero; any non-zero extra byte is MBA_E_NEWER and nothing is done. */
    struct {
        mba_options o;
        unsigned char extra[64];
    } big;
    memset(&big, 0, sizeof big);
    OK(mba_options_init(&big.o));
    big.o.struct_size = sizeof big;
    big.o.elem_type = MBA_TYPE_U8;
    OK(mba_anon_ex(&big.o, &h));
    OK(mba_close(h));
    big.extra[17] = 1;
    h = 12345;
    EXPECT(MBA_E_NEWER, mba_anon_ex(&big.o, &h));
    CHECK(h == 12345);
    {
        char msg[256];
        mba_last_error(msg, sizeof msg);
        CHECK(strstr(msg, "not zero") != NULL);
    }
    big.o.struct_size = 5000;              /* beyond any plausible size */
    EXPECT(MBA_E_ARG, mba_anon_ex(&big.o, &h));
}

struct thread_err {
    int code;
    char msg[256];
    mba_handle h;
    int herr_rc;
    char hmsg[256];
};

static void *other_thread(void *p)
{
    struct thread_err *t = p;
    /* A new thread has no last error of its own yet. */
    t->code = mba_last_error(t->msg, sizeof t->msg);
    /* ...but sees the per-handle message from any thread. */
    t->herr_rc = mba_handle_error(t->h, t->hmsg, sizeof t->hmsg);
    return NULL;
}

static void test_error_messages(void)
{
    char buf[256];
    mba_handle h;
    OK(mba_anon(0, MBA_TYPE_U8, 0, &h));

    /* Thread-local last error: the code and message of the last failure. */
    EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, 300));
    CHECK(mba_last_error(buf, sizeof buf) == MBA_E_OVERFLOW);
    CHECK(strstr(buf, "300") != NULL);
    CHECK(strstr(buf, "u8") != NULL);
    /* buf may be NULL when len is 0; the code is still returned. */
    CHECK(mba_last_error(NULL, 0) == MBA_E_OVERFLOW);
    /* Truncated and NUL-terminated. */
    memset(buf, 'x', sizeof buf);
    CHECK(mba_last_error(buf, 5) == MBA_E_OVERFLOW);
    CHECK(strlen(buf) == 4);
    CHECK(buf[5] == 'x');
    memset(buf, 'x', sizeof buf);
    CHECK(mba_last_error(buf, 1) == MBA_E_OVERFLOW);
    CHECK(buf[0] == '\0' && buf[1] == 'x');
    /* A later success does not clear it: it is the last *failed* call. */
    OK(mba_append_i64(h, 3));
    CHECK(mba_last_error(buf, sizeof buf) == MBA_E_OVERFLOW);
    /* A later failure replaces it. */
    uint64_t v;
    EXPECT(MBA_E_INDEX, mba_get_u64(h, 99, &v));
    CHECK(mba_last_error(buf, sizeof buf) == MBA_E_INDEX);
    CHECK(strstr(buf, "99") != NULL);

    /* Per handle: the last failure on that handle, from any thread. */
    EXPECT(MBA_E_EMPTY, (mba_clear(h), mba_pop(h, NULL)));
    char hm[256];
    OK(mba_handle_error(h, hm, sizeof hm));
    CHECK(strstr(hm, "empty") != NULL);
    OK(mba_handle_error(h, NULL, 0));
    memset(hm, 'x', sizeof hm);
    OK(mba_handle_error(h, hm, 3));
    CHECK(strlen(hm) == 2 && hm[3] == 'x');
    EXPECT(MBA_E_HANDLE, mba_handle_error(0, hm, sizeof hm));
    EXPECT(MBA_E_HANDLE, mba_handle_error(-1, hm, sizeof hm));
    /* A failure on another handle does not touch this handle's message. */
    mba_handle g;
    OK(mba_anon(0, MBA_TYPE_U8, 0, &g));
    EXPECT(MBA_E_OVERFLOW, mba_append_i64(g, -1));
    OK(mba_handle_error(h, hm, sizeof hm));
    CHECK(strstr(hm, "empty") != NULL);
    /* A handle with no failure yet has an empty message. */
    mba_handle f;
    OK(mba_anon(0, MBA_TYPE_U8, 0, &f));
    memset(hm, 'x', sizeof hm);
    OK(mba_handle_error(f, hm, sizeof hm));
    CHECK(hm[0] == '\0');

    struct thread_err t;
    memset(&t, 0, sizeof t);
    t.h = h;
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, other_thread, &t) == 0);
    pthread_join(th, NULL);
    CHECK(t.code == MBA_OK);
    CHECK(t.msg[0] == '\0');
    CHECK(t.herr_rc == MBA_OK);
    CHECK(strstr(t.hmsg, "empty") != NULL);

    /* A NULL buffer with a length is refused (and is itself a failure on
     * the handle). */
    EXPECT(MBA_E_NULL, mba_handle_error(h, NULL, sizeof hm));
    OK(mba_handle_error(h, hm, sizeof hm));
    CHECK(strstr(hm, "NULL") != NULL);

    /* errbuf: the _ex and raw openers copy their failure message there. */
    mba_options o;
    OK(mba_options_init(&o));
    char eb[128];
    memset(eb, 'x', sizeof eb);
    o.errbuf = eb;
    o.errbuf_len = sizeof eb;
    o.elem_type = MBA_TYPE_U32;
    mba_handle x = 777;
    EXPECT(MBA_E_NOTFOUND, mba_open_ex(T_PATH("no/such/dir/a.mba"), &o, &x));
    CHECK(x == 777);
    CHECK(strstr(eb, "no/such/dir") != NULL);
    CHECK(strlen(eb) < sizeof eb);
    memset(eb, 'x', sizeof eb);
    o.errbuf_len = 8;
    EXPECT(MBA_E_NOTFOUND, mba_map_raw(T_PATH("missing.bin"), &o, &x));
    CHECK(strlen(eb) == 7 && eb[8] == 'x');
    memset(eb, 'x', sizeof eb);
    o.errbuf_len = sizeof eb;
    o.flags = 1u << 20;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &x));
    CHECK(strstr(eb, "flags") != NULL);
    /* A success leaves errbuf alone. */
    memset(eb, 'x', sizeof eb);
    o.flags = 0;
    OK(mba_anon_ex(&o, &x));
    CHECK(eb[0] == 'x');
    /* errbuf NULL with a length is ignored, not dereferenced. */
    o.errbuf = NULL;
    o.flags = 1u << 20;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &x));

    OK(mba_close(x));
    OK(mba_close(f));
    OK(mba_close(g));
    OK(mba_close(h));
}

/* mba_sigbus_guard: idempotent on and off, any nonzero value turns it on,
 * and off restores exactly the disposition it found (here a handler of our
 * own). Its effect on truncated arrays: sigbus_victim.c (tests/sigbus.rs). */
static void own_sigbus(int sig)
{
    (void)sig;
}

static void test_sigbus_guard(void)
{
    struct sigaction mine, cur;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = own_sigbus;
    sigemptyset(&mine.sa_mask);
    struct sigaction before;
    REQUIRE(sigaction(SIGBUS, &mine, &before) == 0);
    OK(mba_sigbus_guard(1));
    OK(mba_sigbus_guard(7));
    REQUIRE(sigaction(SIGBUS, NULL, &cur) == 0);
    CHECK(cur.sa_handler != own_sigbus);
    CHECK((cur.sa_flags & SA_ONSTACK) != 0);
    CHECK((cur.sa_flags & SA_SIGINFO) != 0);
    OK(mba_sigbus_guard(0));
    OK(mba_sigbus_guard(0));
    REQUIRE(sigaction(SIGBUS, NULL, &cur) == 0);
    CHECK(cur.sa_handler == own_sigbus);
    REQUIRE(sigaction(SIGBUS, &before, NULL) == 0);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    test_version();
    test_strerror();
    test_options_init();
    test_error_messages();
    test_sigbus_guard();
    return t_done("api_meta");
}

/*
 * api_open.c - opening and naming arrays: create, exclusive, replace,
 * read-only, copy-on-write, shm:// and file:// names, mba_list and
 * mba_unlink, anonymous arrays shared by descriptor, raw files.
 */
#include "api_test.h"

#include <sys/wait.h>

static uint64_t len_of(mba_handle h)
{
    uint64_t n = UINT64_MAX;
    OK(mba_len(h, &n));
    return n;
}

static int64_t at(mba_handle h, uint64_t i)
{
    int64_t v = INT64_MIN;
    OK(mba_get_i64(h, i, &v));
    return v;
}

/* The default reservation: 64 GiB, or MBA_RESERVE (set for valgrind, see
 * scripts/suites/sanitizers.sh; digits and one K/M/G/T suffix). */
static uint64_t default_reserve(void)
{
    const char *e = getenv("MBA_RESERVE");
    if (!e || !*e)
        return 1ull << 36;
    char *end;
    uint64_t v = strtoull(e, &end, 10);
    switch (*end) {
    case 'K': case 'k': return v << 10;
    case 'M': case 'm': return v << 20;
    case 'G': case 'g': return v << 30;
    case 'T': case 't': return v << 40;
    default: return v;
    }
}

static void test_create_and_reopen(void)
{
    const char *p = T_PATH("a.mba");
    mba_handle h, g;
    EXPECT(MBA_E_NOTFOUND, mba_open(p, 0, MBA_TYPE_U32, &h));
    EXPECT(MBA_E_NOTFOUND, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &h));
    /* Creating needs a type. */
    EXPECT(MBA_E_ARG, mba_open(p, MBA_CREATE, MBA_TYPE_ANY, &h));
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U32, &h));
    CHECK(h > 0);
    CHECK_U64(len_of(h), 0);
    int32_t t = -1;
    OK(mba_elem_type(h, &t));
    CHECK(t == MBA_TYPE_U32);
    uint64_t n;
    OK(mba_item_size(h, &n));
    CHECK_U64(n, 4);
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 4);
    uint32_t f = 99;
    OK(mba_flags(h, &f));
    CHECK_U64(f, 0);
    /* A new array is mode 0600. */
    struct stat st;
    REQUIRE(stat(p, &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    /* Its data starts at 64 KiB, with real space for the capacity. */
    uint64_t cap;
    OK(mba_capacity(h, &cap));
    CHECK(cap >= 1);
    CHECK((uint64_t)st.st_size >= H_DATA + cap * 4);
    uint64_t maxl;
    OK(mba_max_len(h, &maxl));
    CHECK_U64(maxl, default_reserve() / 4); /* default: 64 GiB worth of rows */
    for (int i = 0; i < 5; i++)
        OK(mba_append_i64(h, i * 10));

    /* Reopen: with the right type, with MBA_TYPE_ANY, or MBA_CREATE of the same
     * type (which opens the existing array, keeping its data). */
    OK(mba_open(p, 0, MBA_TYPE_U32, &g));
    CHECK_U64(len_of(g), 5);
    CHECK_I64(at(g, 4), 40);
    OK(mba_close(g));
    OK(mba_open(p, 0, MBA_TYPE_ANY, &g));
    OK(mba_elem_type(g, &t));
    CHECK(t == MBA_TYPE_U32);
    OK(mba_close(g));
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U32, &g));
    CHECK_U64(len_of(g), 5);
    OK(mba_close(g));
    /* Wrong type: MBA_E_TYPE, whether or not creating. */
    g = 4242;
    EXPECT(MBA_E_TYPE, mba_open(p, 0, MBA_TYPE_F32, &g));
    CHECK(g == 4242); /* out-parameters are written only on success */
    EXPECT(MBA_E_TYPE, mba_open(p, MBA_CREATE, MBA_TYPE_I32, &g));
    EXPECT(MBA_E_TYPE, mba_open(p, MBA_RDONLY, MBA_TYPE_U8, &g));
    /* Exclusive creation of an existing name. */
    EXPECT(MBA_E_EXISTS, mba_open(p, MBA_CREATE | MBA_EXCL, MBA_TYPE_U32, &g));
    CHECK_U64(len_of(h), 5);
    /* Bad flags and types. */
    EXPECT(MBA_E_ARG, mba_open(p, 1u << 10, MBA_TYPE_U32, &g));
    EXPECT(MBA_E_ARG, mba_open(p, MBA_RDONLY | MBA_COW, MBA_TYPE_U32, &g));
    EXPECT(MBA_E_ARG, mba_open(p, 0, 99, &g));
    EXPECT(MBA_E_ARG, mba_open(p, 0, -1, &g));
    EXPECT(MBA_E_ARG, mba_open(T_PATH("new.mba"), MBA_CREATE, MBA_TYPE_RECORD, &g)); /* needs item_size */
    EXPECT(MBA_E_ARG, mba_open(T_PATH("ro.mba"), MBA_CREATE | MBA_RDONLY, MBA_TYPE_U8, &g));
    EXPECT(MBA_E_ARG, mba_open("", 0, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_ARG, mba_open("ftp://x", 0, MBA_TYPE_ANY, &g));
    /* Exclusive creation of a new name works; the temporary file is gone. */
    OK(mba_open(T_PATH("x.mba"), MBA_CREATE | MBA_EXCL, MBA_TYPE_I8, &g));
    OK(mba_close(g));
    OK(mba_close(h));
    /* A directory is not an array, however it is opened. */
    EXPECT(MBA_E_ARG, mba_open(t_dir, MBA_RDONLY, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_ARG, mba_open(t_dir, 0, MBA_TYPE_ANY, &g));
    /* A FIFO is refused, never waited on. */
    const char *fifo = T_PATH("fifo");
    REQUIRE(mkfifo(fifo, 0600) == 0);
    EXPECT(MBA_E_ARG, mba_open(fifo, MBA_RDONLY, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_ARG, mba_open(fifo, 0, MBA_TYPE_ANY, &g));
    unlink(fifo);
}

static void test_mode_and_options(void)
{
    mba_options o;
    mba_handle h;
    struct stat st;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE;
    o.elem_type = MBA_TYPE_I16;
    o.mode = 0640;
    o.initial_len = 3;
    o.capacity = 5000;
    o.max_len = 10000;
    const char *p = T_PATH("opts.mba");
    mode_t old = umask(0077);
    OK(mba_open_ex(p, &o, &h));
    umask(old);
    REQUIRE(stat(p, &st) == 0);
    CHECK((st.st_mode & 07777) == 0640); /* exactly, not masked by the umask */
    CHECK_U64(len_of(h), 3);
    CHECK_I64(at(h, 2), 0); /* initial rows are zero */
    uint64_t n;
    OK(mba_capacity(h, &n));
    CHECK(n >= 5000);
    CHECK((uint64_t)st.st_size >= H_DATA + 5000 * 2);
    OK(mba_max_len(h, &n));
    CHECK_U64(n, 10000);
    OK(mba_close(h));
    /* Mode bits outside 0777 are refused. */
    o.mode = 04755;
    EXPECT(MBA_E_ARG, mba_open_ex(T_PATH("suid.mba"), &o, &h));
    o.mode = 0;
    /* Capacity above max_len is clamped to it. */
    o.capacity = 50;
    o.max_len = 20;
    o.initial_len = 0;
    OK(mba_open_ex(T_PATH("clamp.mba"), &o, &h));
    OK(mba_capacity(h, &n));
    CHECK_U64(n, 20);
    OK(mba_close(h));
    /* Reserved fields and ndim limits. */
    o.max_len = 0;
    o.capacity = 0;
    o.ndim = MBA_MAX_ROW_DIMS + 1;
    EXPECT(MBA_E_ARG, mba_open_ex(T_PATH("dims.mba"), &o, &h));
}

/* MBA_REPLACE publishes a new empty array under the name; handles of the
 * old one keep valid memory and their data. */
static void test_replace(void)
{
    const char *p = T_PATH("r.mba");
    mba_handle old, neu, again;
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U32, &old));
    for (int i = 1; i <= 3; i++)
        OK(mba_append_i64(old, i));
    uint32_t *optr;
    OK(mba_get_ptr(old, (void **)&optr));
    uint64_t uold, unew, uagain;
    OK(mba_uuid(old, &uold));
    CHECK(uold != 0);
    EXPECT(MBA_E_ARG, mba_open(p, MBA_REPLACE, MBA_TYPE_ANY, &neu)); /* needs a type */
    OK(mba_open(p, MBA_REPLACE, MBA_TYPE_I64, &neu));
    OK(mba_uuid(neu, &unew));
    CHECK(unew != uold);
    CHECK_U64(len_of(neu), 0);
    /* The old handle still works, on the old (now unnamed) array. */
    CHECK_U64(len_of(old), 3);
    CHECK(optr[0] == 1 && optr[1] == 2 && optr[2] == 3);
    OK(mba_append_i64(old, 4));
    CHECK_U64(len_of(old), 4);
    CHECK(optr[3] == 4);
    /* New opens see the new array. */
    OK(mba_open(p, 0, MBA_TYPE_ANY, &again));
    OK(mba_uuid(again, &uagain));
    CHECK_U64(uagain, unew);
    int32_t t;
    OK(mba_elem_type(again, &t));
    CHECK(t == MBA_TYPE_I64);
    CHECK_U64(len_of(again), 0);
    OK(mba_append_i64(neu, -5));
    CHECK_I64(at(again, 0), -5);
    /* Replacing works with MBA_CREATE too, and on a missing name. */
    OK(mba_close(again));
    OK(mba_open(T_PATH("r2.mba"), MBA_REPLACE | MBA_CREATE, MBA_TYPE_U8, &again));
    OK(mba_close(again));
    OK(mba_close(neu));
    OK(mba_close(old));
}

static void test_read_only(void)
{
    const char *p = T_PATH("ro.mba");
    mba_handle w, r;
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_I32, &w));
    OK(mba_append_i64(w, 7));
    OK(mba_open(p, MBA_RDONLY, MBA_TYPE_I32, &r));
    uint32_t f;
    OK(mba_flags(r, &f));
    CHECK_U64(f, MBA_RDONLY);
    CHECK_U64(len_of(r), 1);
    CHECK_I64(at(r, 0), 7);
    /* Growth by the writer is seen at the next call. */
    for (int i = 0; i < 2000; i++)
        OK(mba_append_i64(w, i));
    CHECK_U64(len_of(r), 2001);
    CHECK_I64(at(r, 2000), 1999);
    const int32_t *rp;
    OK(mba_get_ptr(r, (void **)&rp));
    CHECK(rp[0] == 7 && rp[2000] == 1999);
    /* Every write is refused with MBA_E_READONLY. */
    int32_t v = 1, buf[2] = {1, 2};
    EXPECT(MBA_E_READONLY, mba_append(r, &v));
    EXPECT(MBA_E_READONLY, mba_extend(r, 2, buf));
    EXPECT(MBA_E_READONLY, mba_append_i64(r, 1));
    EXPECT(MBA_E_READONLY, mba_append_u64(r, 1));
    EXPECT(MBA_E_READONLY, mba_pop(r, NULL));
    EXPECT(MBA_E_READONLY, mba_set(r, 0, &v));
    EXPECT(MBA_E_READONLY, mba_write(r, 0, 2, buf));
    EXPECT(MBA_E_READONLY, mba_set_i64(r, 0, 1));
    EXPECT(MBA_E_READONLY, mba_set_u64(r, 0, 1));
    EXPECT(MBA_E_READONLY, mba_insert(r, 0, 2, buf));
    EXPECT(MBA_E_READONLY, mba_remove(r, 0, 1));
    EXPECT(MBA_E_READONLY, mba_truncate(r, 0));
    EXPECT(MBA_E_READONLY, mba_clear(r));
    EXPECT(MBA_E_READONLY, mba_reserve(r, 100000));
    EXPECT(MBA_E_READONLY, mba_lock(r));
    EXPECT(MBA_E_READONLY, mba_try_lock(r));
    CHECK_U64(len_of(w), 2001);
    /* Reads, flushes and hints work. */
    OK(mba_flush(r, MBA_FLUSH_SYNC));
    OK(mba_advise(r, MBA_ADVISE_WILLNEED));
    uint64_t s;
    OK(mba_seq(r, &s));
    EXPECT(MBA_E_TIMEOUT, mba_wait(r, s, 0, NULL));
    OK(mba_close(r));
    /* A file without write permission opens read-only. */
    REQUIRE(chmod(p, 0400) == 0);
    OK(mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &r));
    OK(mba_close(r));
    REQUIRE(chmod(p, 0600) == 0);
    OK(mba_close(w));
}

/* Copy-on-write: a private snapshot whose writes never reach the file,
 * whose length is fixed at open, and which cannot wait. */
static void test_copy_on_write(void)
{
    const char *p = T_PATH("cow.mba");
    mba_handle w, c;
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_I64, &w));
    for (int i = 0; i < 10; i++)
        OK(mba_append_i64(w, i));
    OK(mba_flush(w, MBA_FLUSH_SYNC));
    size_t n0;
    unsigned char *before = t_read_file(p, &n0);
    REQUIRE(before != NULL);
    OK(mba_open(p, MBA_COW, MBA_TYPE_I64, &c));
    uint32_t f;
    OK(mba_flags(c, &f));
    CHECK_U64(f, MBA_COW);
    OK(mba_set_i64(c, 0, 99));
    CHECK_I64(at(c, 0), 99);
    CHECK_I64(at(w, 0), 0);
    int64_t *cp;
    OK(mba_get_ptr(c, (void **)&cp));
    cp[1] = 1234; /* direct writes are private too */
    CHECK_I64(at(w, 1), 1);
    /* The length is fixed: no growth, and the writer's growth is unseen. */
    EXPECT(MBA_E_FULL, mba_append_i64(c, 1));
    int64_t more[3] = {1, 2, 3};
    EXPECT(MBA_E_FULL, mba_extend(c, 3, more));
    EXPECT(MBA_E_FULL, mba_insert(c, 0, 1, more));
    EXPECT(MBA_E_FULL, mba_reserve(c, 11));
    uint64_t n;
    OK(mba_capacity(c, &n));
    CHECK_U64(n, 10);
    OK(mba_max_len(c, &n));
    CHECK_U64(n, 10);
    const uint64_t *clp;
    OK(mba_len_ptr(c, &clp));
    CHECK_U64(*clp, 10);
    OK(mba_append_i64(w, 10));
    CHECK_U64(len_of(c), 10);
    CHECK_U64(*clp, 10); /* a private copy of the length word */
    CHECK_U64(len_of(w), 11);
    /* Waiting is not supported; flush is a no-op. */
    uint64_t s;
    OK(mba_seq(c, &s));
    EXPECT(MBA_E_NOTSUP, mba_wait(c, s, 0, NULL));
    EXPECT(MBA_E_NOTSUP, mba_wait(c, s, 1000000, NULL));
    OK(mba_flush(c, MBA_FLUSH_SYNC));
    /* Locking works, privately. */
    OK(mba_lock(c));
    OK(mba_try_lock(w)); /* the file's lock is free */
    OK(mba_unlock(w));
    OK(mba_unlock(c));
    OK(mba_close(c));
    OK(mba_close(w));
    /* Nothing of it reached the file except the writer's append. */
    size_t n1;
    unsigned char *after = t_read_file(p, &n1);
    REQUIRE(after != NULL && n1 == n0);
    CHECK(memcmp(before + H_DATA, after + H_DATA, 10 * 8) == 0);
    free(before);
    free(after);
    /* A copy-on-write open needs no write permission. */
    REQUIRE(chmod(p, 0400) == 0);
    OK(mba_open(p, MBA_COW, MBA_TYPE_ANY, &c));
    OK(mba_set_i64(c, 0, 5));
    OK(mba_close(c));
    REQUIRE(chmod(p, 0600) == 0);
}

/* Is "shm://NAME\n" in the list? */
static int listed(const char *name)
{
    size_t need = 0;
    int rc = mba_list(NULL, 0, &need);
    if (rc != MBA_E_OVERFLOW && rc != MBA_OK)
        return -1;
    /* Other tests may create arrays meanwhile: leave some room. */
    size_t len = need + 65536;
    char *buf = malloc(len);
    if (!buf)
        return -1;
    rc = mba_list(buf, len, &need);
    int found = -1;
    if (rc == MBA_OK) {
        char line[600];
        snprintf(line, sizeof line, "%s\n", name);
        /* a whole line: at the start or after a newline */
        const char *q = buf;
        found = 0;
        while ((q = strstr(q, line)) != NULL) {
            if (q == buf || q[-1] == '\n') {
                found = 1;
                break;
            }
            q++;
        }
        CHECK(strlen(buf) + 1 == need);
        CHECK(buf[0] == '\0' || buf[strlen(buf) - 1] == '\n');
    }
    free(buf);
    return found;
}

static void test_shm_names(void)
{
    const char *name = T_SHM("seg");
    const char *path = T_SHM_PATH("seg");
    mba_handle h, g;
    OK(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U16, &h));
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    OK(mba_append_i64(h, 65535));
    /* "shm:///NAME" is the same object. */
    OK(mba_open(t_name("shm:///%s-seg", t_prefix), 0, MBA_TYPE_U16, &g));
    CHECK_I64(at(g, 0), 65535);
    OK(mba_close(g));
    CHECK(listed(name) == 1);
    /* The list: a size query, too small a buffer, and a NULL buffer. */
    size_t need = 0;
    int rc = mba_list(NULL, 0, &need);
    CHECK(rc == MBA_E_OVERFLOW);
    EXPECT(MBA_E_OVERFLOW, mba_list(NULL, 0, NULL));
    CHECK(need > strlen(name));
    char small[4];
    memset(small, 'x', sizeof small);
    EXPECT(MBA_E_OVERFLOW, mba_list(small, sizeof small, &need));
    CHECK(small[0] == 'x'); /* nothing written */
    EXPECT(MBA_E_NULL, mba_list(NULL, 1 << 20, &need));
    /* Unlink: the name goes, the attachment stays valid. */
    OK(mba_unlink(name));
    CHECK(stat(path, &st) != 0 && errno == ENOENT);
    EXPECT(MBA_E_NOTFOUND, mba_open(name, 0, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_NOTFOUND, mba_unlink(name));
    CHECK(listed(name) == 0);
    OK(mba_append_i64(h, 1));
    CHECK_U64(len_of(h), 2);
    CHECK_I64(at(h, 0), 65535);
    OK(mba_close(h));
    /* Invalid shared-memory names. */
    EXPECT(MBA_E_ARG, mba_open("shm://", MBA_CREATE, MBA_TYPE_U8, &g));
    EXPECT(MBA_E_ARG, mba_open("shm://a/b", MBA_CREATE, MBA_TYPE_U8, &g));
    EXPECT(MBA_E_ARG, mba_open("shm://..", MBA_CREATE, MBA_TYPE_U8, &g));
    EXPECT(MBA_E_ARG, mba_open("shm://.hidden", MBA_CREATE, MBA_TYPE_U8, &g));
    EXPECT(MBA_E_ARG, mba_unlink("shm://"));
    /* A file in /dev/shm that is not an array is neither listed nor
     * unlinked. */
    const char *junk = T_SHM_PATH("junk");
    REQUIRE(t_write_file(junk, "not an array, just text", 23) == 0);
    EXPECT(MBA_E_NOTMBA, mba_unlink(T_SHM("junk")));
    CHECK(stat(junk, &st) == 0);
    CHECK(listed(T_SHM("junk")) == 0);
    EXPECT(MBA_E_NOTMBA, mba_open(T_SHM("junk"), 0, MBA_TYPE_ANY, &g));
    unlink(junk);
}

static void test_file_names(void)
{
    const char *plain = T_PATH("f.mba");
    const char *url = t_name("file://%s", plain);
    mba_handle h, g;
    OK(mba_open(url, MBA_CREATE, MBA_TYPE_F64, &h));
    OK(mba_append_f64(h, 2.5));
    OK(mba_open(plain, 0, MBA_TYPE_F64, &g));
    double d = 0;
    OK(mba_get_f64(g, 0, &d));
    CHECK(d == 2.5);
    OK(mba_close(g));
    /* A relative path is relative to the working directory. */
    char cwd[512];
    REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
    REQUIRE(chdir(t_dir) == 0);
    OK(mba_open("f.mba", 0, MBA_TYPE_ANY, &g));
    OK(mba_close(g));
    OK(mba_open("file://f.mba", 0, MBA_TYPE_ANY, &g));
    OK(mba_close(g));
    REQUIRE(chdir(cwd) == 0);
    OK(mba_unlink(url));
    EXPECT(MBA_E_NOTFOUND, mba_open(plain, 0, MBA_TYPE_ANY, &g));
    OK(mba_append_f64(h, 3.5));
    CHECK_U64(len_of(h), 2);
    OK(mba_close(h));
    /* unlink refuses a file that is not an array. */
    const char *txt = T_PATH("notes.txt");
    REQUIRE(t_write_file(txt, "hello", 5) == 0);
    EXPECT(MBA_E_NOTMBA, mba_unlink(txt));
    CHECK(t_file_is(txt, (const unsigned char *)"hello", 5));
    EXPECT(MBA_E_NOTFOUND, mba_unlink(T_PATH("nothing-here")));
}

/* Anonymous arrays: shared through the descriptor, across fork, and with
 * another program through the descriptor it inherits. */
static void test_anon_and_fd(void)
{
    mba_handle a, b;
    OK(mba_anon(0, MBA_TYPE_U16, 0, &a));
    uint32_t f;
    OK(mba_flags(a, &f));
    CHECK_U64(f, 0);
    OK(mba_append_i64(a, 11));
    int fd = -1;
    OK(mba_fd(a, &fd));
    CHECK(fd >= 0);
    OK(mba_open_fd(fd, 0, MBA_TYPE_U16, &b));
    CHECK_I64(at(b, 0), 11);
    OK(mba_append_i64(b, 22));
    CHECK_U64(len_of(a), 2);
    CHECK_I64(at(a, 1), 22);
    uint64_t ua, ub;
    OK(mba_uuid(a, &ua));
    OK(mba_uuid(b, &ub));
    CHECK(ua == ub && ua != 0);
    int fdb;
    OK(mba_fd(b, &fdb));
    CHECK(fdb != fd); /* duplicated */
    OK(mba_close(b));
    CHECK(fcntl(fd, F_GETFD) != -1); /* the caller's descriptor stays open */
    /* Read-only and copy-on-write attachments. */
    OK(mba_open_fd(fd, MBA_RDONLY, MBA_TYPE_ANY, &b));
    EXPECT(MBA_E_READONLY, mba_append_i64(b, 1));
    OK(mba_close(b));
    OK(mba_open_fd(fd, MBA_COW, MBA_TYPE_ANY, &b));
    OK(mba_set_i64(b, 0, 5));
    CHECK_I64(at(a, 0), 11);
    OK(mba_close(b));
    /* Wrong type, creation flags, bad descriptors. */
    EXPECT(MBA_E_TYPE, mba_open_fd(fd, 0, MBA_TYPE_I16, &b));
    EXPECT(MBA_E_ARG, mba_open_fd(fd, MBA_CREATE, MBA_TYPE_U16, &b));
    EXPECT(MBA_E_ARG, mba_open_fd(fd, MBA_REPLACE, MBA_TYPE_U16, &b));
    EXPECT(MBA_E_IO, mba_open_fd(-1, 0, MBA_TYPE_ANY, &b));
    EXPECT(MBA_E_IO, mba_open_fd(1000000, 0, MBA_TYPE_ANY, &b));
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    EXPECT(MBA_E_ARG, mba_open_fd(pfd[0], 0, MBA_TYPE_ANY, &b)); /* not a regular file */
    close(pfd[0]);
    close(pfd[1]);
    /* A regular file that is no array. */
    const char *txt = T_PATH("plain.txt");
    REQUIRE(t_write_file(txt, "0123456789", 10) == 0);
    int tfd = open(txt, O_RDONLY);
    EXPECT(MBA_E_NOTMBA, mba_open_fd(tfd, MBA_RDONLY, MBA_TYPE_ANY, &b));
    close(tfd);

    /* A forked child keeps using the inherited handle, and attaches anew
     * through the descriptor. */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        bad |= mba_append_i64(a, 33) != MBA_OK;
        mba_handle c;
        bad |= mba_open_fd(fd, 0, MBA_TYPE_U16, &c) != MBA_OK;
        bad |= mba_append_i64(c, 44) != MBA_OK;
        bad |= mba_close(c) != MBA_OK;
        _exit(bad);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_U64(len_of(a), 4);
    CHECK_I64(at(a, 2), 33);
    CHECK_I64(at(a, 3), 44);

    /* An anonymous array cannot be shrunk behind the library's back. */
    CHECK(ftruncate(fd, 0) != 0);

    /* mba_anon_ex: shapes, records, initial length; no flags. */
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_F32;
    o.ndim = 2;
    o.shape[0] = 2;
    o.shape[1] = 3;
    o.initial_len = 4;
    o.max_len = 100;
    OK(mba_anon_ex(&o, &b));
    CHECK_U64(len_of(b), 4);
    uint64_t n;
    OK(mba_row_size(b, &n));
    CHECK_U64(n, 24);
    OK(mba_max_len(b, &n));
    CHECK_U64(n, 100);
    OK(mba_close(b));
    o.flags = MBA_CREATE;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &b));
    o.flags = 0;
    o.elem_type = MBA_TYPE_ANY;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &b));
    EXPECT(MBA_E_ARG, mba_anon(0, MBA_TYPE_ANY, 0, &b));
    EXPECT(MBA_E_ARG, mba_anon(0, 77, 0, &b));
    EXPECT(MBA_E_ARG, mba_anon(0, MBA_TYPE_RECORD, 0, &b)); /* a record needs an item size */
    /* A capacity: room for it at once. */
    OK(mba_anon(0, MBA_TYPE_U8, 100000, &b));
    OK(mba_capacity(b, &n));
    CHECK(n >= 100000);
    OK(mba_close(b));
    OK(mba_close(a));
}

/* A raw binary file (no header) mapped at an offset, as a fixed-length
 * typed array, with writes flushed back to the file. */
static void test_map_raw(void)
{
    const char *p = T_PATH("raw.bin");
    unsigned char file[16 + 10 * 4 + 3];
    memset(file, 0xEE, 16);
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t v = 1000 + i;
        memcpy(file + 16 + 4 * i, &v, 4);
    }
    memset(file + 56, 0xDD, 3); /* a partial row at the end */
    REQUIRE(t_write_file(p, file, sizeof file) == 0);
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_U32;
    o.offset = 16;
    mba_handle h;
    OK(mba_map_raw(p, &o, &h));
    uint32_t f;
    OK(mba_flags(h, &f));
    CHECK_U64(f, MBA_RAW);
    CHECK_U64(len_of(h), 10); /* every complete row */
    uint64_t n;
    OK(mba_capacity(h, &n));
    CHECK_U64(n, 10);
    OK(mba_max_len(h, &n));
    CHECK_U64(n, 10);
    OK(mba_uuid(h, &n));
    CHECK_U64(n, 0);
    CHECK_I64(at(h, 0), 1000);
    CHECK_I64(at(h, 9), 1009);
    const uint64_t *rlp;
    OK(mba_len_ptr(h, &rlp));
    CHECK_U64(*rlp, 10); /* raw files have no header: a private length word */
    /* Writes go to the file (shared mapping) and flush writes them back. */
    OK(mba_set_u64(h, 3, 777));
    uint32_t *ptr;
    OK(mba_get_ptr(h, (void **)&ptr));
    ptr[4] = 888;
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    OK(mba_flush_range(h, 3, 2, MBA_FLUSH_ASYNC));
    EXPECT(MBA_E_INDEX, mba_flush_range(h, 9, 2, MBA_FLUSH_SYNC));
    size_t sz;
    unsigned char *b = t_read_file(p, &sz);
    REQUIRE(b != NULL && sz == sizeof file);
    uint32_t v3, v4;
    memcpy(&v3, b + 16 + 12, 4);
    memcpy(&v4, b + 16 + 16, 4);
    CHECK(v3 == 777 && v4 == 888);
    CHECK(b[0] == 0xEE && b[15] == 0xEE && b[56] == 0xDD); /* bytes around untouched */
    free(b);
    /* The length never grows; waiting is not supported. */
    EXPECT(MBA_E_FULL, mba_append_u64(h, 1));
    uint32_t two[2] = {1, 2};
    EXPECT(MBA_E_FULL, mba_extend(h, 2, two));
    EXPECT(MBA_E_FULL, mba_insert(h, 0, 1, two));
    EXPECT(MBA_E_FULL, mba_reserve(h, 11));
    uint64_t s;
    OK(mba_seq(h, &s));
    EXPECT(MBA_E_NOTSUP, mba_wait(h, s, 0, NULL));
    OK(mba_close(h));

    /* initial_len: rows to map; more than the file holds is truncated. */
    o.initial_len = 4;
    OK(mba_map_raw(p, &o, &h));
    CHECK_U64(len_of(h), 4);
    OK(mba_close(h));
    o.initial_len = 11;
    EXPECT(MBA_E_TRUNCATED, mba_map_raw(p, &o, &h));
    o.initial_len = 0;
    /* A row shape: rows of 2 u32 (8 bytes): 5 complete rows. */
    o.ndim = 1;
    o.shape[0] = 2;
    OK(mba_map_raw(p, &o, &h));
    CHECK_U64(len_of(h), 5);
    uint32_t row[2];
    OK(mba_get(h, 1, row));
    CHECK(row[0] == 1002 && row[1] == 777);
    OK(mba_get(h, 2, row));
    CHECK(row[0] == 888 && row[1] == 1005);
    OK(mba_close(h));
    o.ndim = 0;
    /* An odd, unaligned offset. */
    o.offset = 17;
    o.elem_type = MBA_TYPE_U8;
    OK(mba_map_raw(p, &o, &h));
    CHECK_U64(len_of(h), sizeof file - 17);
    OK(mba_set_u64(h, 0, 0x42));
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    OK(mba_close(h));
    b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    CHECK(b[17] == 0x42);
    free(b);
    /* An offset at the end maps nothing; past the end is refused. */
    o.offset = sizeof file;
    OK(mba_map_raw(p, &o, &h));
    CHECK_U64(len_of(h), 0);
    OK(mba_close(h));
    o.offset = sizeof file + 1;
    EXPECT(MBA_E_ARG, mba_map_raw(p, &o, &h));
    o.offset = 16;
    o.elem_type = MBA_TYPE_U32;
    /* Read-only and copy-on-write raw mappings. */
    o.flags = MBA_RDONLY;
    OK(mba_map_raw(p, &o, &h));
    OK(mba_flags(h, &f));
    CHECK_U64(f, MBA_RAW | MBA_RDONLY);
    EXPECT(MBA_E_READONLY, mba_set_u64(h, 0, 1));
    OK(mba_close(h));
    o.flags = MBA_COW;
    b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    uint32_t v0, w0;
    memcpy(&w0, b + 16, 4);
    free(b);
    OK(mba_map_raw(p, &o, &h));
    OK(mba_flags(h, &f));
    CHECK_U64(f, MBA_RAW | MBA_COW); /* copy-on-write, of a raw file */
    OK(mba_set_u64(h, 0, 5));
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    OK(mba_close(h));
    b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    memcpy(&v0, b + 16, 4);
    CHECK(v0 == w0); /* the copy-on-write write stayed private */
    free(b);
    /* Bad options. */
    o.flags = MBA_CREATE;
    EXPECT(MBA_E_ARG, mba_map_raw(p, &o, &h));
    o.flags = MBA_RDONLY | MBA_COW;
    EXPECT(MBA_E_ARG, mba_map_raw(p, &o, &h));
    o.flags = 0;
    o.elem_type = MBA_TYPE_ANY;
    EXPECT(MBA_E_ARG, mba_map_raw(p, &o, &h));
    o.elem_type = MBA_TYPE_U32;
    EXPECT(MBA_E_NOTFOUND, mba_map_raw(T_PATH("none.bin"), &o, &h));
    o.flags = MBA_RDONLY;
    EXPECT(MBA_E_ARG, mba_map_raw(t_dir, &o, &h)); /* not a regular file */
    o.flags = 0;
    /* shm:// names resolve for raw files too. */
    const char *sp = T_SHM_PATH("raw");
    REQUIRE(t_write_file(sp, file, sizeof file) == 0);
    OK(mba_map_raw(T_SHM("raw"), &o, &h));
    CHECK_U64(len_of(h), 10);
    OK(mba_close(h));
    unlink(sp);
}

/* Handles of one process that open the same file with the same access
 * share one mapping (and descriptor); each keeps its own lifetime, lock and
 * errors; read-only and copy-on-write handles never share a writable
 * mapping; a deleted or replaced name is never served from an old one. */
static void test_shared_mappings(void)
{
    const char *p = T_PATH("shared.mba");
    mba_handle a, b, r, r2, c, g;
    OK(mba_open(p, MBA_CREATE | MBA_EXCL, MBA_TYPE_I64, &a));
    OK(mba_append_i64(a, 11));
    OK(mba_open(p, 0, MBA_TYPE_ANY, &b));
    void *pa = NULL, *pb = NULL, *pr = NULL, *pr2 = NULL, *pc = NULL;
    OK(mba_get_ptr(a, &pa));
    OK(mba_get_ptr(b, &pb));
    CHECK(pa == pb);
    int fa = -1, fb = -2;
    OK(mba_fd(a, &fa));
    OK(mba_fd(b, &fb));
    CHECK(fa == fb && fa >= 0);
    OK(mba_open(p, MBA_RDONLY, MBA_TYPE_I64, &r));
    OK(mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &r2));
    OK(mba_get_ptr(r, &pr));
    OK(mba_get_ptr(r2, &pr2));
    CHECK(pr != pa && pr == pr2);
    EXPECT(MBA_E_READONLY, mba_append_i64(r2, 1));
    OK(mba_open(p, MBA_COW, MBA_TYPE_ANY, &c));
    OK(mba_get_ptr(c, &pc));
    CHECK(pc != pa && pc != pr);
    /* The type is checked on the shared path too. */
    g = 4242;
    EXPECT(MBA_E_TYPE, mba_open(p, 0, MBA_TYPE_F64, &g));
    EXPECT(MBA_E_TYPE, mba_open(p, MBA_RDONLY, MBA_TYPE_U8, &g));
    CHECK(g == 4242);
    /* Locks are per handle. */
    OK(mba_lock(a));
    EXPECT(MBA_E_BUSY, mba_try_lock(b));
    OK(mba_unlock(a));
    /* Closing one handle leaves the others (and a pin) working. */
    int32_t pin = 0;
    OK(mba_pin(b, &pin));
    OK(mba_close(a));
    OK(mba_append_i64(b, 22));
    CHECK_U64(len_of(r), 2);
    CHECK_I64(at(r2, 1), 22);
    OK(mba_close(b));
    CHECK(((volatile int64_t *)pb)[1] == 22); /* pinned: still mapped */
    OK(mba_open(p, 0, MBA_TYPE_I64, &b));
    OK(mba_get_ptr(b, &pa));
    CHECK(pa == pb); /* the pinned mapping is the one reused */
    OK(mba_unpin(pin));
    /* Growth by one handle is seen by a handle opened afterwards. */
    for (int i = 0; i < 100000; i++)
        OK(mba_append_i64(b, i));
    OK(mba_open(p, 0, MBA_TYPE_I64, &g));
    CHECK_U64(len_of(g), 100002);
    CHECK_I64(at(g, 100001), 99999);
    OK(mba_close(g));
    /* A replaced name: the next open gets the new array. */
    uint64_t u_old = 0, u_new = 1, u = 2;
    OK(mba_uuid(b, &u_old));
    mba_handle n;
    OK(mba_open(p, MBA_CREATE | MBA_REPLACE, MBA_TYPE_I64, &n));
    OK(mba_uuid(n, &u_new));
    OK(mba_open(p, 0, MBA_TYPE_ANY, &g));
    OK(mba_uuid(g, &u));
    CHECK(u == u_new && u != u_old);
    CHECK_U64(len_of(g), 0);
    OK(mba_close(g));
    /* A deleted name: not found, although this process still maps it. */
    OK(mba_unlink(p));
    EXPECT(MBA_E_NOTFOUND, mba_open(p, 0, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_NOTFOUND, mba_open(p, MBA_RDONLY, MBA_TYPE_ANY, &g));
    CHECK_U64(len_of(b), 100002);
    OK(mba_close(n));
    OK(mba_close(b));
    OK(mba_close(r));
    OK(mba_close(r2));
    OK(mba_close(c));
}

/* Names are never followed through a symbolic link at their last
 * component (MBA_E_PERM, at once: a dangling link with MBA_CREATE used to
 * loop forever); open-or-create refuses another user's object with
 * MBA_E_OWNER unless MBA_FOREIGN (the cross-user cases with real uids are
 * in ffi-tests/tests/hostile.rs; here root hands a file to uid 65534). */
static void test_symlinks_and_owner(void)
{
    const char *p = T_PATH("target.mba"), *l = T_PATH("link.mba"), *d = T_PATH("dangling.mba");
    mba_handle h, g = 4242;
    OK(mba_open(p, MBA_CREATE | MBA_EXCL, MBA_TYPE_I64, &h));
    OK(mba_append_i64(h, 5));
    REQUIRE(symlink(p, l) == 0);
    EXPECT(MBA_E_PERM, mba_open(l, 0, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_PERM, mba_open(l, MBA_RDONLY, MBA_TYPE_ANY, &g));
    EXPECT(MBA_E_PERM, mba_open(l, MBA_CREATE, MBA_TYPE_I64, &g));
    REQUIRE(symlink(T_PATH("nowhere.mba"), d) == 0);
    EXPECT(MBA_E_PERM, mba_open(d, MBA_CREATE, MBA_TYPE_I64, &g));
    EXPECT(MBA_E_EXISTS, mba_open(d, MBA_CREATE | MBA_EXCL, MBA_TYPE_I64, &g));
    CHECK(g == 4242);
    struct stat st;
    CHECK(lstat(T_PATH("nowhere.mba"), &st) != 0); /* nothing created through it */
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_I64;
    EXPECT(MBA_E_PERM, mba_map_raw(l, &o, &g));
    REQUIRE(unlink(l) == 0 && unlink(d) == 0);
    /* MBA_FOREIGN only makes sense when opening by name. */
    int fd = -1;
    OK(mba_fd(h, &fd));
    EXPECT(MBA_E_ARG, mba_open_fd(fd, MBA_FOREIGN, MBA_TYPE_ANY, &g));
    /* Our own array, even group/world-writable, is adopted. */
    REQUIRE(chmod(p, 0666) == 0);
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_I64, &g));
    OK(mba_close(g));
    if (geteuid() == 0) {
        REQUIRE(chown(p, 65534, 65534) == 0);
        g = 4242;
        /* From the shared mapping (h is open) and from the file. */
        EXPECT(MBA_E_OWNER, mba_open(p, MBA_CREATE, MBA_TYPE_I64, &g));
        OK(mba_close(h));
        EXPECT(MBA_E_OWNER, mba_open(p, MBA_CREATE, MBA_TYPE_I64, &g));
        EXPECT(MBA_E_OWNER, mba_open(p, MBA_CREATE | MBA_RDONLY, MBA_TYPE_I64, &g));
        CHECK(g == 4242);
        OK(mba_open(p, MBA_CREATE | MBA_FOREIGN, MBA_TYPE_I64, &g));
        CHECK_I64(at(g, 0), 5);
        OK(mba_close(g));
        OK(mba_open(p, 0, MBA_TYPE_I64, &h)); /* a plain attach stays allowed */
    }
    OK(mba_close(h));
    OK(mba_unlink(p));
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    test_create_and_reopen();
    test_mode_and_options();
    test_replace();
    test_read_only();
    test_copy_on_write();
    test_shm_names();
    test_file_names();
    test_anon_and_fd();
    test_map_raw();
    test_shared_mappings();
    test_symlinks_and_owner();
    return t_done("api_open");
}

/*
 * api_arrow.c - the Arrow export (mba_export_arrow, mba_export_arrow_stream)
 * seen by a C consumer of the Arrow C data and stream interface structs:
 * format strings, names, metadata, children, buffers and values for every
 * element type and a row shape; zero-copy (the data buffer is the array's
 * memory) against MBA_ARROW_COPY; arrays and streams used after mba_close;
 * moving a child out; the snapshot stream; a live stream tailing an array
 * a child process appends to (every element exactly once, then the end
 * after the timeout); bad input. Run by ffi-tests/tests/arrow.rs, also
 * under valgrind (no error, no leak).
 *
 *     api_arrow SCRATCH_DIR SHM_PREFIX [LIVE_ELEMENTS]
 *     api_arrow --writer SHM_NAME LIVE_ELEMENTS   (the writer child)
 */
#include "api_test.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

/* The value of key in Arrow's binary metadata encoding (NULL if absent),
 * copied into buf. */
static const char *meta_get(const char *md, const char *key, char *buf, size_t cap)
{
    if (!md)
        return NULL;
    int32_t n, kl, vl;
    memcpy(&n, md, 4);
    md += 4;
    for (int32_t i = 0; i < n; i++) {
        memcpy(&kl, md, 4);
        const char *k = md + 4;
        md = k + kl;
        memcpy(&vl, md, 4);
        const char *v = md + 4;
        md = v + vl;
        if ((size_t)kl == strlen(key) && memcmp(k, key, (size_t)kl) == 0 && (size_t)vl < cap) {
            memcpy(buf, v, (size_t)vl);
            buf[vl] = 0;
            return buf;
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Row i, byte j of the test arrays: a pattern any type can hold. */
static unsigned char pattern(uint64_t i, uint64_t j)
{
    return (unsigned char)(i * 7 + j * 3 + 1);
}

static mba_handle make(const char *path, int32_t type, uint64_t item_size, uint32_t ndim,
                       const uint64_t *shape, uint64_t rows)
{
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = type;
    o.item_size = item_size;
    o.ndim = ndim;
    for (uint32_t d = 0; d < ndim; d++)
        o.shape[d] = shape[d];
    mba_handle h = 0;
    REQUIRE(mba_open_ex(path, &o, &h) == MBA_OK);
    uint64_t rb;
    OK(mba_row_size(h, &rb));
    unsigned char *buf = malloc(rows * rb + 1);
    REQUIRE(buf != NULL);
    for (uint64_t i = 0; i < rows; i++)
        for (uint64_t j = 0; j < rb; j++)
            buf[i * rb + j] = type == MBA_TYPE_BOOL ? (unsigned char)((i + j) % 3 == 0)
                                                    : pattern(i, j);
    OK(mba_extend(h, rows, buf));
    free(buf);
    return h;
}

/* The primitive formats, in the order of the type codes. */
static const struct {
    int32_t type;
    const char *fmt, *name;
} prims[] = {
    {MBA_TYPE_I8, "c", "i8"},   {MBA_TYPE_U8, "C", "u8"},   {MBA_TYPE_I16, "s", "i16"},
    {MBA_TYPE_U16, "S", "u16"}, {MBA_TYPE_I32, "i", "i32"}, {MBA_TYPE_U32, "I", "u32"},
    {MBA_TYPE_I64, "l", "i64"}, {MBA_TYPE_U64, "L", "u64"}, {MBA_TYPE_F16, "e", "f16"},
    {MBA_TYPE_F32, "f", "f32"}, {MBA_TYPE_F64, "g", "f64"},
};

/* Every primitive type, zero-copy and copied, over a middle range. */
static void test_primitives(void)
{
    for (size_t t = 0; t < sizeof prims / sizeof prims[0]; t++) {
        char leaf[64], md[64];
        snprintf(leaf, sizeof leaf, "prim_%s.mba", prims[t].name);
        mba_handle h = make(T_PATH(leaf), prims[t].type, 0, 0, NULL, 10);
        void *base;
        uint64_t rb;
        OK(mba_get_ptr(h, &base));
        OK(mba_row_size(h, &rb));
        for (int copy = 0; copy < 2; copy++) {
            struct ArrowArray a;
            struct ArrowSchema s;
            if (!OK(mba_export_arrow(h, 3, 5, copy ? MBA_ARROW_COPY : 0, &a, &s)))
                continue;
            CHECK(strcmp(s.format, prims[t].fmt) == 0);
            snprintf(leaf, sizeof leaf, "prim_%s", prims[t].name);
            CHECK(s.name && strcmp(s.name, leaf) == 0);
            CHECK(meta_get(s.metadata, "mba.type", md, sizeof md) &&
                  strcmp(md, prims[t].name) == 0);
            CHECK(meta_get(s.metadata, "mba.shape", md, sizeof md) && strcmp(md, "[]") == 0);
            CHECK_I64(s.n_children, 0);
            CHECK_I64(s.flags, 0);
            CHECK(s.dictionary == NULL && s.release != NULL);
            CHECK_I64(a.length, 5);
            CHECK_I64(a.null_count, 0);
            CHECK_I64(a.offset, 0);
            CHECK_I64(a.n_buffers, 2);
            CHECK_I64(a.n_children, 0);
            CHECK(a.buffers[0] == NULL);
            const unsigned char *d = a.buffers[1];
            if (copy) {
                CHECK(d != (const unsigned char *)base + 3 * rb);
                CHECK((uintptr_t)d % 64 == 0);
            } else {
                CHECK(d == (const unsigned char *)base + 3 * rb);
            }
            int same = 1;
            for (uint64_t i = 0; i < 5; i++)
                for (uint64_t j = 0; j < rb; j++)
                    same &= d[i * rb + j] == pattern(i + 3, j);
            CHECK(same);
            a.release(&a);
            s.release(&s);
            CHECK(a.release == NULL && s.release == NULL);
        }
        OK(mba_close(h));
    }
    /* Values as their C types. */
    mba_handle h;
    OK(mba_open(T_PATH("vals.mba"), MBA_CREATE, MBA_TYPE_I32, &h));
    for (int i = 0; i < 100; i++)
        OK(mba_append_i64(h, i * 1000 - 50000));
    struct ArrowArray a;
    struct ArrowSchema s;
    OK(mba_export_arrow(h, 0, UINT64_MAX, 0, &a, &s));
    CHECK_I64(a.length, 100);
    const int32_t *v = a.buffers[1];
    CHECK_I64(v[0], -50000);
    CHECK_I64(v[99], 49000);
    a.release(&a);
    s.release(&s);
    OK(mba_close(h));
    mba_handle f;
    OK(mba_open(T_PATH("valf.mba"), MBA_CREATE, MBA_TYPE_F64, &f));
    OK(mba_append_f64(f, 2.5));
    OK(mba_append_f64(f, -1e300));
    OK(mba_export_arrow(f, 0, UINT64_MAX, MBA_ARROW_COPY, &a, &s));
    const double *dv = a.buffers[1];
    CHECK(strcmp(s.format, "g") == 0 && dv[0] == 2.5 && dv[1] == -1e300);
    a.release(&a);
    s.release(&s);
    OK(mba_close(f));
}

/* A row shape (2, 3) of u32: FixedSizeList<2> of FixedSizeList<3> of
 * uint32, every level over the same buffer; complex, records, bool. */
static void test_nested(void)
{
    uint64_t shape[2] = {2, 3};
    mba_handle h = make(T_PATH("shape.mba"), MBA_TYPE_U32, 0, 2, shape, 4);
    void *base;
    OK(mba_get_ptr(h, &base));
    struct ArrowArray a;
    struct ArrowSchema s;
    char md[64];
    OK(mba_export_arrow(h, 1, 2, 0, &a, &s));
    CHECK(strcmp(s.format, "+w:2") == 0 && strcmp(s.name, "shape") == 0);
    CHECK(meta_get(s.metadata, "mba.shape", md, sizeof md) && strcmp(md, "[2, 3]") == 0);
    REQUIRE(s.n_children == 1 && a.n_children == 1);
    struct ArrowSchema *s1 = s.children[0];
    CHECK(strcmp(s1->format, "+w:3") == 0 && strcmp(s1->name, "item") == 0);
    CHECK(s1->metadata == NULL);
    REQUIRE(s1->n_children == 1);
    CHECK(strcmp(s1->children[0]->format, "I") == 0);
    CHECK_I64(a.length, 2);
    CHECK_I64(a.n_buffers, 1);
    CHECK(a.buffers[0] == NULL);
    struct ArrowArray *a1 = a.children[0];
    CHECK_I64(a1->length, 4);
    REQUIRE(a1->n_children == 1);
    struct ArrowArray *a2 = a1->children[0];
    CHECK_I64(a2->length, 12);
    CHECK_I64(a2->n_buffers, 2);
    CHECK(a2->buffers[1] == (const char *)base + 1 * 24);
    /* Move the innermost child out (the spec's rule): release the parent
     * first; the moved child stays valid until its own release. */
    struct ArrowArray moved = *a2;
    a2->release = NULL;
    struct ArrowSchema smoved = *s1->children[0];
    s1->children[0]->release = NULL;
    a.release(&a);
    s.release(&s);
    OK(mba_close(h));
    const unsigned char *d = moved.buffers[1];
    CHECK(d[0] == pattern(1, 0) && d[47] == pattern(2, 23));
    CHECK(strcmp(smoved.format, "I") == 0);
    moved.release(&moved);
    smoved.release(&smoved);
    CHECK(moved.release == NULL && smoved.release == NULL);

    /* complex128: FixedSizeList<2> of float64. */
    mba_handle c = make(T_PATH("cplx.mba"), MBA_TYPE_COMPLEX128, 0, 0, NULL, 3);
    OK(mba_export_arrow(c, 0, UINT64_MAX, 0, &a, &s));
    CHECK(strcmp(s.format, "+w:2") == 0 && strcmp(s.children[0]->format, "g") == 0);
    CHECK(meta_get(s.metadata, "mba.type", md, sizeof md) && strcmp(md, "complex128") == 0);
    CHECK_I64(a.children[0]->length, 6);
    a.release(&a);
    s.release(&s);
    OK(mba_close(c));
    c = make(T_PATH("cplx64.mba"), MBA_TYPE_COMPLEX64, 0, 0, NULL, 3);
    OK(mba_export_arrow(c, 0, UINT64_MAX, 0, &a, &s));
    CHECK(strcmp(s.format, "+w:2") == 0 && strcmp(s.children[0]->format, "f") == 0);
    a.release(&a);
    s.release(&s);
    OK(mba_close(c));

    /* Records: FixedSizeBinary(item size). */
    mba_handle r = make(T_PATH("rec.mba"), MBA_TYPE_RECORD, 12, 0, NULL, 5);
    OK(mba_get_ptr(r, &base));
    OK(mba_export_arrow(r, 2, 10, 0, &a, &s));
    CHECK(strcmp(s.format, "w:12") == 0);
    CHECK(meta_get(s.metadata, "mba.item_size", md, sizeof md) && strcmp(md, "12") == 0);
    CHECK_I64(a.length, 3);
    CHECK(a.buffers[1] == (const char *)base + 24);
    a.release(&a);
    s.release(&s);
    OK(mba_close(r));

    /* bool: refused zero-copy, bit-packed when copied. */
    mba_handle b = make(T_PATH("bool.mba"), MBA_TYPE_BOOL, 0, 0, NULL, 20);
    EXPECT(MBA_E_TYPE, mba_export_arrow(b, 0, UINT64_MAX, 0, &a, &s));
    OK(mba_export_arrow(b, 1, UINT64_MAX, MBA_ARROW_COPY, &a, &s));
    CHECK(strcmp(s.format, "b") == 0);
    CHECK_I64(a.length, 19);
    const unsigned char *bits = a.buffers[1];
    int same = 1;
    for (int i = 0; i < 19; i++)
        same &= ((bits[i / 8] >> (i % 8)) & 1) == ((i + 1) % 3 == 0);
    CHECK(same);
    a.release(&a);
    s.release(&s);
    OK(mba_close(b));

    /* MBA_ARROW_STRUCT: a record batch of one column. */
    h = make(T_PATH("batch.mba"), MBA_TYPE_I16, 0, 0, NULL, 6);
    OK(mba_export_arrow(h, 0, UINT64_MAX, MBA_ARROW_STRUCT, &a, &s));
    CHECK(strcmp(s.format, "+s") == 0 && s.n_children == 1);
    CHECK(strcmp(s.children[0]->format, "s") == 0 && strcmp(s.children[0]->name, "batch") == 0);
    CHECK(a.length == 6 && a.n_children == 1 && a.n_buffers == 1 && a.children[0]->length == 6);
    a.release(&a);
    s.release(&s);
    OK(mba_close(h));
}

/* Zero-copy sees later writes, a copy does not; both outlive mba_close;
 * the range is a snapshot clamped to the length. */
static void test_lifetime(void)
{
    const char *name = T_SHM("life");
    mba_handle h;
    REQUIRE(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h) == MBA_OK);
    for (uint64_t i = 0; i < 1000; i++)
        OK(mba_append_u64(h, i));
    struct ArrowArray z, c, e;
    struct ArrowSchema zs, cs, es;
    OK(mba_export_arrow(h, 0, UINT64_MAX, 0, &z, &zs));
    OK(mba_export_arrow(h, 0, UINT64_MAX, MBA_ARROW_COPY, &c, &cs));
    OK(mba_export_arrow(h, 1000, 5, 0, &e, &es)); /* start == len: empty */
    CHECK_I64(e.length, 0);
    OK(mba_set_u64(h, 7, 777));
    OK(mba_append_u64(h, 1000)); /* not part of either snapshot */
    OK(mba_close(h));
    OK(mba_unlink(name));
    const uint64_t *zv = z.buffers[1], *cv = c.buffers[1];
    CHECK_I64(z.length, 1000);
    CHECK_I64(c.length, 1000);
    CHECK_U64(zv[7], 777); /* in-place writes are visible zero-copy */
    CHECK_U64(cv[7], 7);   /* and not in the copy */
    CHECK_U64(zv[999], 999);
    CHECK_U64(cv[999], 999);
    /* Released in another order than exported, after the close. */
    c.release(&c);
    zs.release(&zs);
    z.release(&z);
    cs.release(&cs);
    e.release(&e);
    es.release(&es);
}

/* A finite snapshot stream: the schema, one batch, the end. */
static void test_snapshot_stream(void)
{
    mba_handle h;
    OK(mba_open(T_PATH("snap.mba"), MBA_CREATE, MBA_TYPE_F32, &h));
    for (int i = 0; i < 50; i++)
        OK(mba_append_f64(h, i * 0.5));
    void *base;
    OK(mba_get_ptr(h, &base));
    struct ArrowArrayStream st;
    OK(mba_export_arrow_stream(h, MBA_ARROW_STRUCT, 0, &st));
    OK(mba_append_f64(h, 99)); /* after the snapshot */
    OK(mba_close(h));
    struct ArrowSchema s;
    CHECK_I64(st.get_schema(&st, &s), 0);
    CHECK(strcmp(s.format, "+s") == 0 && strcmp(s.children[0]->format, "f") == 0);
    s.release(&s);
    struct ArrowArray a;
    CHECK_I64(st.get_next(&st, &a), 0);
    REQUIRE(a.release != NULL);
    CHECK_I64(a.length, 50);
    CHECK(a.children[0]->buffers[1] == base);
    CHECK(((const float *)a.children[0]->buffers[1])[49] == 24.5f);
    struct ArrowArray end;
    CHECK_I64(st.get_next(&st, &end), 0);
    CHECK(end.release == NULL);
    st.release(&st);
    CHECK(st.release == NULL);
    /* The batch outlives the stream and the handle. */
    CHECK(((const float *)a.children[0]->buffers[1])[1] == 0.5f);
    a.release(&a);
    /* An empty array: no batch. Released without reading: nothing leaks. */
    OK(mba_open(T_PATH("snap0.mba"), MBA_CREATE, MBA_TYPE_U8, &h));
    OK(mba_export_arrow_stream(h, 0, 0, &st));
    CHECK_I64(st.get_next(&st, &end), 0);
    CHECK(end.release == NULL);
    st.release(&st);
    OK(mba_export_arrow_stream(h, MBA_ARROW_COPY, 0, &st));
    st.release(&st);
    OK(mba_append_u64(h, 1));
    OK(mba_export_arrow_stream(h, 0, 0, &st)); /* a batch never fetched */
    st.release(&st);
    OK(mba_close(h));
}

#define LIVE_FIRST 10
/* Elements the writer child appends: argv[3], else 20000. */
static uint32_t LIVE_N = 20000;
static const char *t_argv0;
#define LIVE_TIMEOUT_NS 2000000000LL

/* The writer child (the program run with --writer): appends LIVE_FIRST..LIVE_N-1 in batches of varying
 * size with short pauses, then exits. */
static int writer(const char *name)
{
    mba_handle h;
    if (mba_open(name, 0, MBA_TYPE_U32, &h) != MBA_OK)
        return 3;
    uint32_t buf[512];
    uint32_t next = LIVE_FIRST;
    for (int k = 0; next < LIVE_N; k++) {
        uint32_t n = (uint32_t)(k * 37 % 500) + 1;
        if (n > LIVE_N - next)
            n = LIVE_N - next;
        for (uint32_t i = 0; i < n; i++)
            buf[i] = next + i;
        if (mba_extend(h, n, buf) != MBA_OK)
            return 4;
        next += n;
        if (k % 8 == 0)
            usleep(2000);
    }
    return mba_close(h) == MBA_OK ? 0 : 5;
}

/* A live stream tails an array a child process appends to: every element
 * exactly once and in order, zero-copy, after mba_close of the handle
 * that made it; then the end, after the timeout. */
static void test_live_stream(void)
{
    const char *name = T_SHM("live");
    mba_handle h;
    REQUIRE(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U32, &h) == MBA_OK);
    for (uint32_t i = 0; i < LIVE_FIRST; i++)
        OK(mba_append_u64(h, i)); /* there before the stream */
    void *base;
    OK(mba_get_ptr(h, &base));
    struct ArrowArrayStream st;
    OK(mba_export_arrow_stream(h, MBA_ARROW_LIVE, LIVE_TIMEOUT_NS, &st));
    OK(mba_close(h)); /* the stream has its own attachment */
    struct ArrowSchema s;
    CHECK_I64(st.get_schema(&st, &s), 0);
    CHECK(strcmp(s.format, "I") == 0);
    CHECK(strlen(s.name) > 5 && strcmp(s.name + strlen(s.name) - 5, "-live") == 0);
    s.release(&s);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* A program of its own (this one, run as the writer): also not
         * traced when the test runs under valgrind. */
        char n[32];
        snprintf(n, sizeof n, "%u", (unsigned)LIVE_N);
        execl(t_argv0, t_argv0, "--writer", name, n, (char *)NULL);
        _exit(127);
    }
    uint64_t expect = 0, batches = 0;
    int in_order = 1, zero_copy = 1;
    double last = now_s();
    for (;;) {
        struct ArrowArray a;
        int rc = st.get_next(&st, &a);
        if (!CHECK_I64(rc, 0))
            break;
        if (a.release == NULL)
            break;
        const uint32_t *v = a.buffers[1];
        zero_copy &= v == (const uint32_t *)base + expect;
        for (int64_t i = 0; i < a.length; i++)
            in_order &= v[i] == expect++;
        a.release(&a);
        batches++;
        last = now_s();
    }
    double waited = now_s() - last;
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_U64(expect, LIVE_N);
    CHECK(batches <= LIVE_N);
    CHECK(in_order);
    CHECK(zero_copy);
    CHECK(batches > 1);
    CHECK(waited >= 1.9); /* the end comes after the timeout */
    printf("live: %" PRIu64 " elements in %" PRIu64 " batches; end after %.2f s\n", expect,
           batches, waited);
    /* The end is not final: new rows come in a later get_next. */
    OK(mba_open(name, 0, MBA_TYPE_U32, &h));
    OK(mba_append_u64(h, LIVE_N));
    struct ArrowArray a;
    CHECK_I64(st.get_next(&st, &a), 0);
    if (CHECK(a.release != NULL)) {
        CHECK_I64(a.length, 1);
        CHECK_U64(((const uint32_t *)a.buffers[1])[0], LIVE_N);
        a.release(&a);
    }
    st.release(&st);
    OK(mba_close(h));
    OK(mba_unlink(name));
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal handler running during the wait ends get_next with a batch of
 * 0 rows (not an end, not an error). */
static void test_live_signal(void)
{
    mba_handle h;
    OK(mba_open(T_PATH("sig.mba"), MBA_CREATE, MBA_TYPE_I64, &h));
    OK(mba_append_i64(h, 5));
    struct ArrowArrayStream st;
    OK(mba_export_arrow_stream(h, MBA_ARROW_LIVE | MBA_ARROW_COPY, 3000000000LL, &st));
    struct ArrowArray a;
    CHECK_I64(st.get_next(&st, &a), 0);
    void *base;
    OK(mba_get_ptr(h, &base));
    CHECK(a.release != NULL && a.length == 1 && a.buffers[1] != base); /* copied */
    a.release(&a);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = now_s();
    CHECK_I64(st.get_next(&st, &a), 0);
    double took = now_s() - t0;
    sigaction(SIGALRM, &old, NULL);
    if (CHECK(a.release != NULL)) {
        CHECK_I64(a.length, 0);
        a.release(&a);
    }
    CHECK(took < 2.5);
    st.release(&st);
    OK(mba_close(h));
}

/* Bad input: NULL out-pointers, bad handles, start beyond the length,
 * flags, live streams of copy-on-write handles, released structs. */
static void test_bad(void)
{
    mba_handle h;
    const char *p = T_PATH("bad.mba");
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U16, &h));
    OK(mba_append_u64(h, 1));
    OK(mba_append_u64(h, 2));
    struct ArrowArray a;
    struct ArrowSchema s;
    struct ArrowArrayStream st;
    a.length = 42;
    s.flags = 42;
    EXPECT(MBA_E_NULL, mba_export_arrow(h, 0, 1, 0, NULL, &s));
    EXPECT(MBA_E_NULL, mba_export_arrow(h, 0, 1, 0, &a, NULL));
    EXPECT(MBA_E_NULL, mba_export_arrow_stream(h, 0, 0, NULL));
    EXPECT(MBA_E_HANDLE, mba_export_arrow(0, 0, 1, 0, &a, &s));
    EXPECT(MBA_E_HANDLE, mba_export_arrow(h + 1, 0, 1, 0, &a, &s));
    EXPECT(MBA_E_HANDLE, mba_export_arrow_stream(-1, 0, 0, &st));
    EXPECT(MBA_E_INDEX, mba_export_arrow(h, 3, 1, 0, &a, &s));
    EXPECT(MBA_E_INDEX, mba_export_arrow(h, UINT64_MAX, UINT64_MAX, 0, &a, &s));
    EXPECT(MBA_E_ARG, mba_export_arrow(h, 0, 1, MBA_ARROW_LIVE, &a, &s));
    EXPECT(MBA_E_ARG, mba_export_arrow(h, 0, 1, 1u << 30, &a, &s));
    EXPECT(MBA_E_ARG, mba_export_arrow_stream(h, MBA_CREATE, 0, &st));
    CHECK_I64(a.length, 42); /* nothing written on failure */
    CHECK_I64(s.flags, 42);
    mba_handle cow;
    OK(mba_open(p, MBA_COW, MBA_TYPE_ANY, &cow));
    EXPECT(MBA_E_NOTSUP, mba_export_arrow_stream(cow, MBA_ARROW_LIVE, 0, &st));
    OK(mba_export_arrow_stream(cow, 0, 0, &st)); /* a snapshot is fine */
    st.release(&st);
    OK(mba_export_arrow(cow, 0, UINT64_MAX, 0, &a, &s));
    CHECK_I64(a.length, 2);
    OK(mba_close(cow));
    CHECK_U64(((const uint16_t *)a.buffers[1])[1], 2);
    /* A release callback called again on a released struct does nothing. */
    void (*rel)(struct ArrowArray *) = a.release;
    rel(&a);
    rel(&a);
    void (*srel)(struct ArrowSchema *) = s.release;
    srel(&s);
    srel(&s);
    /* Stream callbacks: NULL outs, and a released stream, are EINVAL. */
    OK(mba_export_arrow_stream(h, MBA_ARROW_LIVE, 0, &st));
    CHECK_I64(st.get_schema(&st, NULL), EINVAL);
    CHECK(st.get_last_error(&st) != NULL);
    CHECK_I64(st.get_next(&st, NULL), EINVAL);
    CHECK_I64(st.get_next(&st, &a), 0);
    CHECK(a.release != NULL && a.length == 2);
    a.release(&a);
    CHECK_I64(st.get_next(&st, &a), 0); /* timeout 0: the end at once */
    CHECK(a.release == NULL);
    void (*strel)(struct ArrowArrayStream *) = st.release;
    st.release(&st);
    CHECK_I64(st.get_next(&st, &a), EINVAL);
    CHECK_I64(st.get_schema(&st, &s), EINVAL);
    CHECK(st.get_last_error(&st) == NULL);
    strel(&st);
    OK(mba_close(h));
    EXPECT(MBA_E_HANDLE, mba_export_arrow_stream(h, 0, 0, &st));
}

int main(int argc, char **argv)
{
    t_argv0 = argv[0];
    if (argc == 4 && strcmp(argv[1], "--writer") == 0) {
        LIVE_N = (uint32_t)strtoul(argv[3], NULL, 10);
        return writer(argv[2]);
    }
    t_init(argc, argv);
    if (argc > 3)
        LIVE_N = (uint32_t)strtoul(argv[3], NULL, 10);
    static const struct {
        void (*f)(void);
        const char *name;
    } tests[] = {
        {test_primitives, "primitives"}, {test_nested, "nested"},
        {test_lifetime, "lifetime"},     {test_snapshot_stream, "snapshot_stream"},
        {test_live_stream, "live_stream"}, {test_live_signal, "live_signal"},
        {test_bad, "bad"},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        double t0 = now_s();
        tests[i].f();
        printf("%s: %.2f s\n", tests[i].name, now_s() - t0);
    }
    return t_done("api_arrow");
}

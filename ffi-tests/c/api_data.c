/*
 * api_data.c - elements: the typed fast paths of every type (with range
 * errors at the 64-bit extremes), records and row shapes, every edit
 * (append/extend/pop/set/write/insert/remove/truncate/clear/reserve),
 * capacity and max_len, pointers, flush, mlock and advise.
 */
#include "api_test.h"

#include <math.h>

static uint64_t len_of(mba_handle h)
{
    uint64_t n = UINT64_MAX;
    OK(mba_len(h, &n));
    return n;
}

static uint64_t seq_of(mba_handle h)
{
    uint64_t s = 0;
    OK(mba_seq(h, &s));
    return s;
}

struct int_type {
    int32_t code;
    const char *name;
    int is_signed;
    int64_t min;  /* for unsigned types: 0 */
    uint64_t max;
    size_t size;
};

static const struct int_type INT_TYPES[] = {
    {MBA_TYPE_I8, "i8", 1, INT8_MIN, INT8_MAX, 1},
    {MBA_TYPE_U8, "u8", 0, 0, UINT8_MAX, 1},
    {MBA_TYPE_I16, "i16", 1, INT16_MIN, INT16_MAX, 2},
    {MBA_TYPE_U16, "u16", 0, 0, UINT16_MAX, 2},
    {MBA_TYPE_I32, "i32", 1, INT32_MIN, INT32_MAX, 4},
    {MBA_TYPE_U32, "u32", 0, 0, UINT32_MAX, 4},
    {MBA_TYPE_I64, "i64", 1, INT64_MIN, INT64_MAX, 8},
    {MBA_TYPE_U64, "u64", 0, 0, UINT64_MAX, 8},
    {MBA_TYPE_BOOL, "bool", 0, 0, 1, 1},
};

/* The typed fast paths on one integer (or bool) type. */
static void test_int_type(const struct int_type *t)
{
    mba_handle h;
    OK(mba_anon(0, t->code, 0, &h));
    uint64_t n;
    OK(mba_item_size(h, &n));
    CHECK_U64(n, t->size);
    /* The extremes of the type fit... */
    OK(mba_append_i64(h, t->min));                       /* row 0 */
    OK(mba_append_u64(h, t->max));                       /* row 1 */
    if (t->max <= INT64_MAX)
        OK(mba_append_i64(h, (int64_t)t->max));          /* row 2 */
    else
        OK(mba_append_u64(h, t->max));
    OK(mba_append_u64(h, 0));                            /* row 3 */
    /* ...one past them does not, and the array is unchanged. */
    uint64_t before = len_of(h), s0 = seq_of(h);
    if (t->min > INT64_MIN)
        EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, t->min - 1));
    if (t->max < UINT64_MAX)
        EXPECT(MBA_E_OVERFLOW, mba_append_u64(h, t->max + 1));
    if (t->code != MBA_TYPE_U64)
        EXPECT(MBA_E_OVERFLOW, mba_append_u64(h, UINT64_MAX));
    if (t->code != MBA_TYPE_I64)
        EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, INT64_MIN));
    if (!t->is_signed) {
        EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, -1));
    }
    if (t->code == MBA_TYPE_I64)
        EXPECT(MBA_E_OVERFLOW, mba_append_u64(h, (uint64_t)INT64_MAX + 1));
    /* Doubles go only to float arrays. */
    EXPECT(MBA_E_TYPE, mba_append_f64(h, 1.0));
    CHECK_U64(len_of(h), before);
    CHECK_U64(seq_of(h), s0); /* a refused write is no change */
    /* C ints: in range for i32 and wider only. */
    if (t->size >= 4) {
        OK(mba_append_i64(h, t->is_signed ? INT32_MIN : 0));
        OK(mba_append_i64(h, INT32_MAX));
        OK(mba_pop(h, NULL));
        OK(mba_pop(h, NULL));
    } else {
        EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, INT32_MAX));
        EXPECT(MBA_E_OVERFLOW, mba_append_i64(h, INT32_MIN));
    }
    CHECK_U64(len_of(h), before);

    /* Reading back, with range checks on the way out. */
    int64_t i = 12345;
    uint64_t u = 12345;
    double d = 0;
    if (t->is_signed) {
        OK(mba_get_i64(h, 0, &i));
        CHECK_I64(i, t->min);
        u = 12345;
        EXPECT(MBA_E_OVERFLOW, mba_get_u64(h, 0, &u)); /* negative */
        CHECK_U64(u, 12345);                          /* untouched */
    } else {
        OK(mba_get_u64(h, 0, &u));
        CHECK_U64(u, 0);
    }
    OK(mba_get_u64(h, 1, &u));
    CHECK_U64(u, t->max);
    if (t->max > INT64_MAX) {
        i = 12345;
        EXPECT(MBA_E_OVERFLOW, mba_get_i64(h, 1, &i)); /* UINT64_MAX > INT64_MAX */
        CHECK_I64(i, 12345);
    } else {
        OK(mba_get_i64(h, 1, &i));
        CHECK_I64(i, (int64_t)t->max);
    }
    OK(mba_get_f64(h, 1, &d));
    CHECK(d == (double)t->max);
    OK(mba_get_f64(h, 0, &d));
    CHECK(d == (double)t->min);
    /* Element bytes are the native integers. */
    const unsigned char *p;
    OK(mba_get_ptr(h, (void **)&p));
    uint64_t raw = 0;
    memcpy(&raw, p + t->size, t->size);
    CHECK_U64(raw, t->max);
    /* Out of range: MBA_E_INDEX, output untouched. */
    uint64_t len = len_of(h);
    i = 777;
    EXPECT(MBA_E_INDEX, mba_get_i64(h, len, &i));
    CHECK_I64(i, 777);
    EXPECT(MBA_E_INDEX, mba_get_u64(h, len, &u));
    EXPECT(MBA_E_INDEX, mba_get_f64(h, len, &d));
    EXPECT(MBA_E_INDEX, mba_get_i64(h, UINT64_MAX, &i));
    /* Setters: the same ranges. */
    OK(mba_set_i64(h, 3, t->min));
    OK(mba_get_i64(h, 3, &i));
    CHECK_I64(i, t->min);
    OK(mba_set_u64(h, 3, t->max));
    OK(mba_get_u64(h, 3, &u));
    CHECK_U64(u, t->max);
    if (t->min > INT64_MIN)
        EXPECT(MBA_E_OVERFLOW, mba_set_i64(h, 3, t->min - 1));
    if (t->max < UINT64_MAX)
        EXPECT(MBA_E_OVERFLOW, mba_set_u64(h, 3, t->max + 1));
    EXPECT(MBA_E_TYPE, mba_set_f64(h, 3, 0.5));
    OK(mba_get_u64(h, 3, &u));
    CHECK_U64(u, t->max); /* unchanged by the refused sets */
    EXPECT(MBA_E_INDEX, mba_set_i64(h, len, 0));
    EXPECT(MBA_E_INDEX, mba_set_u64(h, len, 0));
    CHECK_U64(len_of(h), len);
    OK(mba_close(h));
}

static void test_float_types(void)
{
    const int32_t codes[2] = {MBA_TYPE_F32, MBA_TYPE_F64};
    for (int k = 0; k < 2; k++) {
        mba_handle h;
        OK(mba_anon(0, codes[k], 0, &h));
        OK(mba_append_f64(h, 1.5));
        OK(mba_append_f64(h, -0.25));
        OK(mba_append_i64(h, -7));                 /* ints are converted */
        OK(mba_append_i64(h, INT64_MIN));
        OK(mba_append_u64(h, UINT64_MAX));
        double d;
        OK(mba_get_f64(h, 0, &d));
        CHECK(d == 1.5);
        OK(mba_get_f64(h, 1, &d));
        CHECK(d == -0.25);
        OK(mba_get_f64(h, 2, &d));
        CHECK(d == -7.0);
        OK(mba_get_f64(h, 3, &d));
        CHECK(d == (double)INT64_MIN);
        OK(mba_get_f64(h, 4, &d));
        CHECK(d > 1.8e19 && d < 1.9e19);
        /* Floats are not integers. */
        int64_t i = 5;
        uint64_t u = 5;
        EXPECT(MBA_E_TYPE, mba_get_i64(h, 0, &i));
        EXPECT(MBA_E_TYPE, mba_get_u64(h, 0, &u));
        CHECK(i == 5 && u == 5);
        OK(mba_set_f64(h, 0, 2.0));
        OK(mba_set_i64(h, 1, 3));
        OK(mba_set_u64(h, 2, 4));
        OK(mba_get_f64(h, 1, &d));
        CHECK(d == 3.0);
        EXPECT(MBA_E_INDEX, mba_set_f64(h, 5, 1.0));
        EXPECT(MBA_E_INDEX, mba_get_f64(h, 5, &d));
        /* The element bytes are IEEE binary32/binary64. */
        const void *p;
        OK(mba_get_ptr(h, (void **)&p));
        if (codes[k] == MBA_TYPE_F32)
            CHECK(((const float *)p)[0] == 2.0f);
        else
            CHECK(((const double *)p)[0] == 2.0);
        OK(mba_close(h));
    }
}

/* Types without typed access: f16, complex, records. */
static void test_untyped_types(void)
{
    const int32_t codes[3] = {MBA_TYPE_F16, MBA_TYPE_COMPLEX64, MBA_TYPE_COMPLEX128};
    const uint64_t sizes[3] = {2, 8, 16};
    for (int k = 0; k < 3; k++) {
        mba_handle h;
        OK(mba_anon(0, codes[k], 0, &h));
        uint64_t n;
        OK(mba_item_size(h, &n));
        CHECK_U64(n, sizes[k]);
        unsigned char e[16];
        memset(e, 0x3C, sizeof e);
        OK(mba_append(h, e));
        EXPECT(MBA_E_TYPE, mba_append_i64(h, 1));
        EXPECT(MBA_E_TYPE, mba_append_u64(h, 1));
        EXPECT(MBA_E_TYPE, mba_append_f64(h, 1.0));
        EXPECT(MBA_E_TYPE, mba_set_i64(h, 0, 1));
        EXPECT(MBA_E_TYPE, mba_set_u64(h, 0, 1));
        EXPECT(MBA_E_TYPE, mba_set_f64(h, 0, 1.0));
        int64_t i;
        uint64_t u;
        double d;
        EXPECT(MBA_E_TYPE, mba_get_i64(h, 0, &i));
        EXPECT(MBA_E_TYPE, mba_get_u64(h, 0, &u));
        EXPECT(MBA_E_TYPE, mba_get_f64(h, 0, &d));
        CHECK_U64(len_of(h), 1);
        unsigned char back[16];
        OK(mba_get(h, 0, back));
        CHECK(memcmp(back, e, sizes[k]) == 0);
        OK(mba_close(h));
    }
}

struct rec {
    double x;
    int32_t id;
    char tag[4];
};

static void test_records(void)
{
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE;
    o.elem_type = MBA_TYPE_RECORD;
    o.item_size = sizeof(struct rec);
    const char *p = T_PATH("rec.mba");
    mba_handle h, g;
    OK(mba_open_ex(p, &o, &h));
    int32_t t;
    OK(mba_elem_type(h, &t));
    CHECK(t == MBA_TYPE_RECORD);
    uint64_t n;
    OK(mba_item_size(h, &n));
    CHECK_U64(n, sizeof(struct rec));
    OK(mba_row_size(h, &n));
    CHECK_U64(n, sizeof(struct rec));
    struct rec r[4] = {{1.5, 1, "ab"}, {2.5, 2, "cd"}, {3.5, 3, "ef"}, {4.5, 4, "gh"}};
    OK(mba_append(h, &r[0]));
    OK(mba_extend(h, 3, &r[1]));
    struct rec back;
    OK(mba_get(h, 2, &back));
    CHECK(back.x == 3.5 && back.id == 3 && strcmp(back.tag, "ef") == 0);
    struct rec all[4];
    OK(mba_read(h, 0, 4, all));
    CHECK(memcmp(all, r, sizeof r) == 0);
    /* Another handle: by the type alone, or with the same item size. */
    OK(mba_open(p, 0, MBA_TYPE_RECORD, &g));
    OK(mba_get(g, 3, &back));
    CHECK(back.id == 4);
    OK(mba_close(g));
    OK(mba_open_ex(p, &o, &g)); /* MBA_CREATE with the same layout opens it */
    CHECK_U64(len_of(g), 4);
    OK(mba_close(g));
    /* A record of another size is another type. */
    o.item_size = 24;
    EXPECT(MBA_E_TYPE, mba_open_ex(p, &o, &g));
    /* Records need a size, within the limits. */
    o.item_size = 0;
    EXPECT(MBA_E_ARG, mba_open_ex(T_PATH("rec0.mba"), &o, &g));
    o.item_size = (1u << 20) + 1;
    EXPECT(MBA_E_OVERFLOW, mba_open_ex(T_PATH("recbig.mba"), &o, &g));
    o.item_size = 1u << 20; /* the largest allowed item */
    o.max_len = 4;
    o.flags = 0;
    OK(mba_anon_ex(&o, &g));
    OK(mba_close(g));
    /* A fixed-size type with another item size is refused. */
    o.elem_type = MBA_TYPE_U32;
    o.item_size = 8;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &g));
    o.item_size = 4; /* its own size is accepted */
    OK(mba_anon_ex(&o, &g));
    OK(mba_close(g));
    OK(mba_close(h));
}

static void test_row_shapes(void)
{
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_U32;
    o.ndim = 1;
    o.shape[0] = 3;
    mba_handle h;
    OK(mba_anon_ex(&o, &h));
    uint64_t n;
    OK(mba_item_size(h, &n));
    CHECK_U64(n, 4);
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 12);
    uint64_t dims[MBA_MAX_ROW_DIMS];
    uint32_t nd = 99;
    OK(mba_shape(h, dims, MBA_MAX_ROW_DIMS, &nd));
    CHECK(nd == 1 && dims[0] == 3);
    /* A row is appended whole. */
    uint32_t row[3] = {1, 2, 3}, rows[6] = {4, 5, 6, 7, 8, 9};
    OK(mba_append(h, row));
    OK(mba_extend(h, 2, rows));
    CHECK_U64(len_of(h), 3); /* lengths count rows */
    uint32_t got[9];
    OK(mba_read(h, 0, 3, got));
    for (uint32_t i = 0; i < 9; i++)
        CHECK(got[i] == i + 1);
    OK(mba_get(h, 2, got));
    CHECK(got[0] == 7 && got[2] == 9);
    uint32_t *ptr;
    OK(mba_get_ptr(h, (void **)&ptr));
    CHECK(ptr[3] == 4 && ptr[8] == 9);
    /* Typed access needs a flat array. */
    EXPECT(MBA_E_TYPE, mba_append_u64(h, 1));
    EXPECT(MBA_E_TYPE, mba_append_i64(h, 1));
    int64_t v;
    EXPECT(MBA_E_TYPE, mba_get_i64(h, 0, &v));
    EXPECT(MBA_E_TYPE, mba_set_i64(h, 0, 1));
    /* Edits move whole rows. */
    uint32_t ins[3] = {70, 71, 72};
    OK(mba_insert(h, 1, 1, ins));
    OK(mba_get(h, 1, got));
    CHECK(got[0] == 70 && got[2] == 72);
    OK(mba_remove(h, 0, 1));
    OK(mba_pop(h, got));
    CHECK(got[0] == 7 && got[1] == 8 && got[2] == 9);
    CHECK_U64(len_of(h), 2);
    OK(mba_close(h));

    /* Two dimensions; dims capped by cap; NULL dims with cap 0. */
    o.elem_type = MBA_TYPE_F64;
    o.ndim = 2;
    o.shape[0] = 2;
    o.shape[1] = 5;
    OK(mba_anon_ex(&o, &h));
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 80);
    dims[0] = dims[1] = 0;
    OK(mba_shape(h, dims, 1, &nd));
    CHECK(nd == 2 && dims[0] == 2 && dims[1] == 0);
    OK(mba_shape(h, NULL, 0, &nd));
    CHECK(nd == 2);
    OK(mba_close(h));
    /* A flat array has no row dimensions. */
    OK(mba_anon(0, MBA_TYPE_U8, 0, &h));
    OK(mba_shape(h, dims, MBA_MAX_ROW_DIMS, &nd));
    CHECK(nd == 0);
    OK(mba_close(h));
    /* Eight dimensions is the most; zero dimensions and huge rows fail. */
    o.ndim = MBA_MAX_ROW_DIMS;
    for (int i = 0; i < MBA_MAX_ROW_DIMS; i++)
        o.shape[i] = 2;
    o.elem_type = MBA_TYPE_U8;
    OK(mba_anon_ex(&o, &h));
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 256);
    OK(mba_close(h));
    o.ndim = MBA_MAX_ROW_DIMS + 1;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &h));
    o.ndim = 2;
    o.shape[0] = 4;
    o.shape[1] = 0;
    EXPECT(MBA_E_ARG, mba_anon_ex(&o, &h));
    o.shape[0] = 1u << 20;
    o.shape[1] = (1u << 10) + 1; /* a row just over 1 GiB */
    EXPECT(MBA_E_OVERFLOW, mba_anon_ex(&o, &h));
    o.shape[0] = UINT64_MAX;
    o.shape[1] = UINT64_MAX; /* the product overflows 64 bits */
    EXPECT(MBA_E_OVERFLOW, mba_anon_ex(&o, &h));
}

static int64_t at(mba_handle h, uint64_t i)
{
    int64_t v = INT64_MIN;
    OK(mba_get_i64(h, i, &v));
    return v;
}

/* Checks the whole content of an i32 array. */
static int is(mba_handle h, const int32_t *want, uint64_t n)
{
    if (len_of(h) != n)
        return 0;
    for (uint64_t i = 0; i < n; i++)
        if (at(h, i) != want[i])
            return 0;
    return 1;
}

static void test_edits(void)
{
    mba_handle h;
    OK(mba_anon(0, MBA_TYPE_I32, 0, &h));
    int32_t ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint64_t s = seq_of(h);
    OK(mba_extend(h, 10, ten));
    CHECK(seq_of(h) > s);
    OK(mba_extend(h, 0, NULL)); /* nothing */
    OK(mba_extend(h, 0, ten));
    CHECK(is(h, ten, 10));
    /* insert: before i; at the length it appends; past it, MBA_E_INDEX. */
    int32_t two[2] = {100, 101};
    OK(mba_insert(h, 2, 2, two));
    int32_t w1[12] = {0, 1, 100, 101, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(is(h, w1, 12));
    OK(mba_insert(h, 12, 1, two));
    CHECK(at(h, 12) == 100);
    EXPECT(MBA_E_INDEX, mba_insert(h, 14, 1, two));
    EXPECT(MBA_E_INDEX, mba_insert(h, UINT64_MAX, 1, two));
    OK(mba_insert(h, 0, 0, NULL));
    OK(mba_insert(h, 0, 0, two));
    CHECK_U64(len_of(h), 13);
    /* remove [i, i+n) */
    OK(mba_remove(h, 12, 1));
    OK(mba_remove(h, 2, 2));
    CHECK(is(h, ten, 10));
    s = seq_of(h);
    OK(mba_remove(h, 5, 0)); /* nothing */
    CHECK_U64(seq_of(h), s);
    EXPECT(MBA_E_INDEX, mba_remove(h, 10, 1));
    EXPECT(MBA_E_INDEX, mba_remove(h, 5, 6));
    EXPECT(MBA_E_INDEX, mba_remove(h, 1, UINT64_MAX)); /* i + n overflows */
    EXPECT(MBA_E_INDEX, mba_remove(h, UINT64_MAX, 2));
    CHECK(is(h, ten, 10));
    /* read [start, start+n) */
    int32_t buf[12];
    memset(buf, 0x55, sizeof buf);
    OK(mba_read(h, 3, 4, buf));
    CHECK(buf[0] == 3 && buf[3] == 6);
    CHECK(buf[4] == 0x55555555); /* nothing past the range */
    OK(mba_read(h, 10, 0, buf));  /* an empty range at the end */
    OK(mba_read(h, 10, 0, NULL));
    EXPECT(MBA_E_INDEX, mba_read(h, 11, 0, buf));
    EXPECT(MBA_E_INDEX, mba_read(h, 0, 11, buf));
    EXPECT(MBA_E_INDEX, mba_read(h, 8, 3, buf));
    EXPECT(MBA_E_INDEX, mba_read(h, UINT64_MAX, 2, buf));
    int32_t one;
    EXPECT(MBA_E_INDEX, mba_get(h, 10, &one));
    EXPECT(MBA_E_INDEX, mba_get(h, UINT64_MAX, &one));
    OK(mba_get(h, 9, &one));
    CHECK(one == 9);
    /* write and set */
    int32_t w[3] = {-1, -2, -3};
    OK(mba_write(h, 7, 3, w));
    CHECK(at(h, 7) == -1 && at(h, 9) == -3);
    EXPECT(MBA_E_INDEX, mba_write(h, 8, 3, w));
    EXPECT(MBA_E_INDEX, mba_write(h, UINT64_MAX, 2, w));
    OK(mba_write(h, 10, 0, NULL));
    int32_t v = 42;
    OK(mba_set(h, 0, &v));
    CHECK(at(h, 0) == 42);
    EXPECT(MBA_E_INDEX, mba_set(h, 10, &v));
    CHECK_U64(len_of(h), 10);
    /* pop */
    int32_t out = 0;
    OK(mba_pop(h, &out));
    CHECK(out == -3);
    OK(mba_pop(h, NULL));
    CHECK_U64(len_of(h), 8);
    /* truncate only lowers; clear empties; pop of empty fails */
    s = seq_of(h);
    OK(mba_truncate(h, 100));
    CHECK_U64(len_of(h), 8);
    CHECK_U64(seq_of(h), s);
    OK(mba_truncate(h, 3));
    CHECK_U64(len_of(h), 3);
    CHECK(seq_of(h) > s);
    s = seq_of(h);
    OK(mba_clear(h));
    CHECK_U64(len_of(h), 0);
    CHECK(seq_of(h) > s);
    OK(mba_clear(h));
    out = 1234;
    EXPECT(MBA_E_EMPTY, mba_pop(h, &out));
    CHECK(out == 1234);
    EXPECT(MBA_E_EMPTY, mba_pop(h, NULL));
    EXPECT(MBA_E_INDEX, mba_get(h, 0, &one));
    /* huge counts overflow before anything is read */
    EXPECT(MBA_E_OVERFLOW, mba_extend(h, UINT64_MAX / 2, ten));
    EXPECT(MBA_E_OVERFLOW, mba_insert(h, 0, UINT64_MAX / 2, ten));
    CHECK_U64(len_of(h), 0);
    OK(mba_close(h));
}

static void test_capacity_and_max_len(void)
{
    mba_handle h;
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE;
    o.elem_type = MBA_TYPE_U64;
    o.max_len = 5;
    const char *p = T_PATH("max.mba");
    OK(mba_open_ex(p, &o, &h));
    uint64_t n;
    OK(mba_max_len(h, &n));
    CHECK_U64(n, 5);
    OK(mba_capacity(h, &n));
    CHECK_U64(n, 5); /* clamped to max_len */
    for (int i = 0; i < 4; i++)
        OK(mba_append_u64(h, (uint64_t)i));
    uint64_t two[2] = {7, 8};
    EXPECT(MBA_E_FULL, mba_extend(h, 2, two)); /* all or nothing */
    CHECK_U64(len_of(h), 4);
    EXPECT(MBA_E_FULL, mba_insert(h, 0, 2, two));
    CHECK_U64(len_of(h), 4);
    OK(mba_append_u64(h, 4));
    EXPECT(MBA_E_FULL, mba_append_u64(h, 5));
    EXPECT(MBA_E_FULL, mba_append(h, &two[0]));
    EXPECT(MBA_E_FULL, mba_reserve(h, 6));
    OK(mba_reserve(h, 5));
    CHECK_U64(len_of(h), 5);
    OK(mba_close(h));
    /* An initial length above max_len; max_len above the format's limit. */
    o.initial_len = 6;
    EXPECT(MBA_E_FULL, mba_open_ex(T_PATH("max2.mba"), &o, &h));
    o.initial_len = 0;
    o.max_len = (1ull << 46) / 8 + 1;
    EXPECT(MBA_E_OVERFLOW, mba_open_ex(T_PATH("max3.mba"), &o, &h));

    /* reserve allocates for real without changing the length. */
    OK(mba_anon(0, MBA_TYPE_U32, 0, &h));
    OK(mba_append_u64(h, 1));
    uint64_t s = seq_of(h);
    OK(mba_reserve(h, 300000));
    OK(mba_capacity(h, &n));
    CHECK(n >= 300000);
    CHECK_U64(len_of(h), 1);
    OK(mba_reserve(h, 10)); /* less than the capacity: nothing to do */
    int fd;
    OK(mba_fd(h, &fd));
    struct stat st;
    REQUIRE(fstat(fd, &st) == 0);
    CHECK((uint64_t)st.st_size >= H_DATA + 300000 * 4);
    CHECK((uint64_t)st.st_blocks * 512 >= 300000 * 4); /* not sparse */
    CHECK_U64(seq_of(h), s);
    /* Growth: the element pointer never moves. */
    uint32_t *p0;
    OK(mba_get_ptr(h, (void **)&p0));
    for (uint32_t i = 0; i < 400000; i++)
        if (mba_append_u64(h, i) != MBA_OK) {
            CHECK(0);
            break;
        }
    uint32_t *p1;
    OK(mba_get_ptr(h, (void **)&p1));
    CHECK(p0 == p1);
    CHECK(p1[0] == 1 && p1[400000] == 399999);
    OK(mba_capacity(h, &n));
    CHECK(n >= 400001);
    OK(mba_close(h));
}

static void test_pointers(void)
{
    mba_handle h, g;
    const char *p = T_PATH("ptr.mba");
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_I64, &h));
    OK(mba_open(p, 0, MBA_TYPE_I64, &g));
    const uint64_t *lp;
    OK(mba_len_ptr(h, &lp));
    CHECK_U64(__atomic_load_n(lp, __ATOMIC_ACQUIRE), 0);
    OK(mba_append_i64(g, 5));
    OK(mba_append_i64(g, 6));
    CHECK_U64(__atomic_load_n(lp, __ATOMIC_ACQUIRE), 2); /* shared, live */
    int64_t *e;
    OK(mba_get_ptr(h, (void **)&e));
    CHECK(e[0] == 5 && e[1] == 6);
    e[1] = 60; /* a store through the pointer is seen by every handle */
    CHECK(at(g, 1) == 60);
    OK(mba_close(g));
    /* The length word is the header's word at offset 256. */
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    size_t sz;
    unsigned char *b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    CHECK_U64(t_get_le(b, H_LEN, 8), 2);
    free(b);
    OK(mba_close(h));
}

static void test_flush_mlock_advise(void)
{
    const char *p = T_PATH("flush.mba");
    mba_handle h;
    OK(mba_open(p, MBA_CREATE, MBA_TYPE_U16, &h));
    for (int i = 0; i < 100; i++)
        OK(mba_append_i64(h, i));
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    size_t sz;
    unsigned char *b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    CHECK_U64(t_get_le(b, H_DURABLE_LEN, 8), 100); /* the durable length */
    CHECK_U64(t_get_le(b, H_DATA + 2 * 99, 2), 99);
    free(b);
    OK(mba_append_i64(h, 100));
    OK(mba_flush(h, MBA_FLUSH_ASYNC));
    OK(mba_flush(h, MBA_FLUSH_INVALIDATE));
    OK(mba_flush_range(h, 50, 10, MBA_FLUSH_SYNC));
    OK(mba_flush_range(h, 50, 10, MBA_FLUSH_ASYNC));
    OK(mba_flush_range(h, 101, 0, MBA_FLUSH_SYNC));
    OK(mba_flush_range(h, 0, 0, MBA_FLUSH_INVALIDATE));
    EXPECT(MBA_E_INDEX, mba_flush_range(h, 0, 102, MBA_FLUSH_SYNC));
    EXPECT(MBA_E_INDEX, mba_flush_range(h, 102, 0, MBA_FLUSH_SYNC));
    EXPECT(MBA_E_INDEX, mba_flush_range(h, UINT64_MAX, 2, MBA_FLUSH_SYNC));
    EXPECT(MBA_E_ARG, mba_flush(h, 0));
    EXPECT(MBA_E_ARG, mba_flush(h, 3));
    EXPECT(MBA_E_ARG, mba_flush(h, -1));
    EXPECT(MBA_E_ARG, mba_flush(h, MBA_FLUSH_SYNC | MBA_FLUSH_ASYNC));
    EXPECT(MBA_E_ARG, mba_flush_range(h, 0, 1, 8));
    b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    CHECK_U64(t_get_le(b, H_DURABLE_LEN, 8), 100); /* only a whole-array sync sets it */
    free(b);
    OK(mba_flush_range(h, 0, 101, MBA_FLUSH_SYNC)); /* the whole array, as a range */
    b = t_read_file(p, &sz);
    REQUIRE(b != NULL);
    CHECK_U64(t_get_le(b, H_DURABLE_LEN, 8), 101);
    free(b);

    OK(mba_mlock(h));
    OK(mba_append_i64(h, 1));
    OK(mba_munlock(h));
    OK(mba_munlock(h)); /* twice is harmless */
    OK(mba_advise(h, MBA_ADVISE_NORMAL));
    OK(mba_advise(h, MBA_ADVISE_RANDOM));
    OK(mba_advise(h, MBA_ADVISE_SEQUENTIAL));
    OK(mba_advise(h, MBA_ADVISE_WILLNEED));
    EXPECT(MBA_E_ARG, mba_advise(h, 4));
    EXPECT(MBA_E_ARG, mba_advise(h, -1));
    EXPECT(MBA_E_ARG, mba_advise(h, 9)); /* MADV_REMOVE's number: never passed on */
    /* Hints never change the contents. */
    int64_t v;
    OK(mba_get_i64(h, 99, &v));
    CHECK(v == 99);
    OK(mba_close(h));
    /* mlock and advise on an anonymous array too. */
    OK(mba_anon(0, MBA_TYPE_U8, 0, &h));
    OK(mba_mlock(h));
    OK(mba_munlock(h));
    OK(mba_advise(h, MBA_ADVISE_SEQUENTIAL));
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    OK(mba_close(h));
}

static void test_describe_and_try_append(void)
{
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_U16;
    o.ndim = 2;
    o.shape[0] = 2;
    o.shape[1] = 3;
    o.max_len = 1000;
    mba_handle h;
    OK(mba_anon_ex(&o, &h));
    mba_info info;
    memset(&info, 0xAB, sizeof info);
    info.struct_size = 3;
    EXPECT(MBA_E_ARG, mba_describe(h, &info));
    EXPECT(MBA_E_NULL, mba_describe(h, NULL));
    /* An older caller's (smaller) mba_info: only its fields are written,
     * and struct_size says how many bytes were. */
    info.struct_size = (uint32_t)offsetof(mba_info, capacity);
    OK(mba_describe(h, &info));
    CHECK_U64(info.struct_size, offsetof(mba_info, capacity));
    CHECK(info.elem_type == MBA_TYPE_U16 && info.ndim == 2 && info.shape[1] == 3);
    {
        const unsigned char *b = (const unsigned char *)&info;
        for (size_t k = offsetof(mba_info, capacity); k < sizeof info; k++)
            CHECK(b[k] == 0xAB);
    }
    /* A newer caller's (larger) one: our fields, the rest untouched. */
    struct {
        mba_info i;
        unsigned char extra[32];
    } big;
    memset(&big, 0xAB, sizeof big);
    big.i.struct_size = sizeof big;
    OK(mba_describe(h, &big.i));
    CHECK_U64(big.i.struct_size, sizeof(mba_info));
    CHECK(big.extra[0] == 0xAB && big.extra[31] == 0xAB);
    info.struct_size = sizeof info;
    OK(mba_describe(h, &info));
    CHECK(info.struct_size == sizeof info);
    CHECK(info.elem_type == MBA_TYPE_U16 && info.flags == 0 && info.ndim == 2);
    CHECK_U64(info.item_size, 2);
    CHECK_U64(info.row_size, 12);
    CHECK(info.shape[0] == 2 && info.shape[1] == 3 && info.shape[2] == 0 && info.shape[7] == 0);
    CHECK_U64(info.max_len, 1000);
    uint64_t cap, u;
    void *p;
    const uint64_t *lp;
    int fd;
    OK(mba_capacity(h, &cap));
    CHECK_U64(info.capacity, cap);
    OK(mba_uuid(h, &u));
    CHECK_U64(info.uuid, u);
    OK(mba_get_ptr(h, &p));
    CHECK(info.data == p);
    OK(mba_len_ptr(h, &lp));
    CHECK(info.len_ptr == lp);
    OK(mba_fd(h, &fd));
    CHECK(info.fd == fd && info.reserved0 == 0);
    /* Typed appends need a flat array. */
    EXPECT(MBA_E_TYPE, mba_append_i64(h, 1));
    OK(mba_close(h));
    EXPECT(MBA_E_HANDLE, mba_describe(h, &info));

    mba_handle g, g2;
    OK(mba_anon(0, MBA_TYPE_U8, 0, &g));
    uint8_t byte = 2;
    /* The first write takes the handle's lock token: never done at once. */
    EXPECT(MBA_E_BUSY, mba_try_append(g, &byte));
    EXPECT(MBA_E_OVERFLOW, mba_append_i64(g, 256));
    OK(mba_append_i64(g, 1));
    OK(mba_try_append(g, &byte));
    EXPECT(MBA_E_BUSY, mba_try_append(g, NULL));
    int gfd;
    OK(mba_fd(g, &gfd));
    OK(mba_open_fd(gfd, 0, MBA_TYPE_U8, &g2));
    OK(mba_append_i64(g2, 3)); /* g2 takes its own token */
    OK(mba_lock(g));
    byte = 9;
    EXPECT(MBA_E_BUSY, mba_try_append(g2, &byte)); /* held by g: never waits */
    OK(mba_unlock(g));
    OK(mba_try_append(g2, &byte)); /* free again: appended at once */
    OK(mba_close(g2));
    uint64_t len;
    OK(mba_len(g, &len));
    CHECK_U64(len, 4);
    int64_t v;
    OK(mba_get_i64(g, 2, &v));
    CHECK_I64(v, 3);
    OK(mba_get_i64(g, 3, &v));
    CHECK_I64(v, 9);
    OK(mba_close(g));
    EXPECT(MBA_E_BUSY, mba_try_append(g, &byte)); /* closed handle */
    EXPECT(MBA_E_BUSY, mba_try_append(0, &byte));
}

/* mba_try_append declines, changing nothing, wherever mba_append would
 * wait, grow or report an error (lock held by another handle, growth,
 * read-only and invalid handles); the lock holder's own thread goes on.
 * The blocking typed appends report row shapes and types without typed
 * access. */
static void test_try_append_busy(void)
{
    mba_handle g, g2, r;
    OK(mba_anon(0, MBA_TYPE_F64, 0, &g));
    OK(mba_append_f64(g, 1.0)); /* g takes its lock token */
    int fd;
    OK(mba_fd(g, &fd));
    OK(mba_open_fd(fd, 0, MBA_TYPE_F64, &g2));
    OK(mba_append_f64(g2, 2.0)); /* g2 takes its own */
    double v = 3.0;
    OK(mba_try_append(g2, &v));
    OK(mba_lock(g));
    uint64_t s = seq_of(g);
    v = 9.0;
    EXPECT(MBA_E_BUSY, mba_try_append(g2, &v)); /* held by g: never waits */
    CHECK_U64(len_of(g), 3);
    CHECK_U64(seq_of(g), s);
    v = 4.0;
    OK(mba_try_append(g, &v)); /* the holder's own thread goes on */
    OK(mba_unlock(g));
    v = 5.0;
    OK(mba_try_append(g2, &v));
    double d = 0;
    for (int i = 0; i < 5; i++) {
        OK(mba_get_f64(g, (uint64_t)i, &d));
        CHECK(d == i + 1.0);
    }
    /* Growth: at capacity it declines; the blocking call grows. */
    uint64_t cap;
    OK(mba_capacity(g, &cap));
    v = 7.0;
    while (len_of(g) < cap)
        OK(mba_try_append(g, &v));
    s = seq_of(g);
    EXPECT(MBA_E_BUSY, mba_try_append(g, &v));
    CHECK_U64(len_of(g), cap);
    CHECK_U64(seq_of(g), s);
    OK(mba_append_f64(g, 8.0));
    OK(mba_try_append(g, &v)); /* room again */
    CHECK_U64(len_of(g), cap + 2);
    /* Read-only: declined, then reported by the general path. */
    OK(mba_open_fd(fd, MBA_RDONLY, MBA_TYPE_F64, &r));
    EXPECT(MBA_E_BUSY, mba_try_append(r, &v));
    EXPECT(MBA_E_READONLY, mba_append(r, &v));
    EXPECT(MBA_E_READONLY, mba_append_f64(r, 1.0));
    EXPECT(MBA_E_READONLY, mba_append_i64(r, 1));
    CHECK_U64(len_of(g), cap + 2);
    OK(mba_close(r));
    OK(mba_close(g2));
    OK(mba_close(g));
    /* Invalid and closed handles. */
    EXPECT(MBA_E_BUSY, mba_try_append(g, &v));
    EXPECT(MBA_E_BUSY, mba_try_append(0, &v));
    EXPECT(MBA_E_BUSY, mba_try_append(-1, &v));
    EXPECT(MBA_E_HANDLE, mba_append_f64(g, 1.0));
    /* Row shapes: rows through mba_try_append; no typed access. */
    mba_options o;
    OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_F64;
    o.ndim = 1;
    o.shape[0] = 2;
    OK(mba_anon_ex(&o, &g));
    const double row[2] = {1, 2};
    OK(mba_append(g, row)); /* the token */
    OK(mba_try_append(g, row));
    EXPECT(MBA_E_TYPE, mba_append_f64(g, 1.0));
    EXPECT(MBA_E_TYPE, mba_append_i64(g, 1));
    CHECK_U64(len_of(g), 2);
    OK(mba_close(g));
    const int32_t untyped[3] = {MBA_TYPE_F16, MBA_TYPE_COMPLEX64, MBA_TYPE_COMPLEX128};
    for (int k = 0; k < 3; k++) {
        OK(mba_anon(0, untyped[k], 0, &g));
        unsigned char e[16] = {0};
        OK(mba_append(g, e));
        EXPECT(MBA_E_TYPE, mba_append_f64(g, 1.0));
        EXPECT(MBA_E_TYPE, mba_append_u64(g, 1));
        CHECK_U64(len_of(g), 1);
        OK(mba_close(g));
    }
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    for (size_t i = 0; i < sizeof INT_TYPES / sizeof INT_TYPES[0]; i++)
        test_int_type(&INT_TYPES[i]);
    test_float_types();
    test_untyped_types();
    test_records();
    test_row_shapes();
    test_edits();
    test_capacity_and_max_len();
    test_pointers();
    test_flush_mlock_advise();
    test_describe_and_try_append();
    test_try_append_busy();
    return t_done("api_data");
}

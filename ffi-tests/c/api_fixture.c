/*
 * api_fixture.c - the committed format v1.0 fixture still opens:
 *     api_fixture DIR PREFIX FIXTURE_PATH
 * reads it read-only and copy-on-write in place (never changing it), and
 * read-write on a copy in DIR, where it also grows.
 */
#include "api_test.h"

static const uint32_t ROWS[4][3] = {{1, 2, 3}, {11, 12, 13}, {21, 22, 23}, {31, 32, 33}};

static void check_content(mba_handle h)
{
    int32_t t;
    OK(mba_elem_type(h, &t));
    CHECK(t == MBA_TYPE_U32);
    uint64_t dims[8], n;
    uint32_t nd;
    OK(mba_shape(h, dims, 8, &nd));
    CHECK(nd == 1 && dims[0] == 3);
    OK(mba_item_size(h, &n));
    CHECK_U64(n, 4);
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 12);
    OK(mba_len(h, &n));
    CHECK_U64(n, 4);
    OK(mba_uuid(h, &n));
    CHECK_U64(n, 0x0123456789abcdefull);
    uint32_t rows[4][3];
    OK(mba_read(h, 0, 4, rows));
    CHECK(memcmp(rows, ROWS, sizeof rows) == 0);
    const uint32_t *p;
    OK(mba_get_ptr(h, (void **)&p));
    CHECK(p[0] == 1 && p[11] == 33);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    REQUIRE(argc == 4);
    const char *fx = argv[3];
    size_t n0;
    unsigned char *orig = t_read_file(fx, &n0);
    REQUIRE(orig != NULL);
    mba_handle h;
    REQUIRE(OK(mba_open(fx, MBA_RDONLY, MBA_TYPE_U32, &h)));
    check_content(h);
    uint64_t n;
    OK(mba_max_len(h, &n));
    CHECK_U64(n, 1000);
    OK(mba_capacity(h, &n));
    CHECK_U64(n, 341);
    OK(mba_close(h));
    OK(mba_open(fx, MBA_COW, MBA_TYPE_ANY, &h));
    check_content(h);
    uint32_t row[3] = {7, 8, 9};
    OK(mba_set(h, 0, row));
    OK(mba_close(h));
    CHECK(t_file_is(fx, orig, n0));

    /* Read-write on a copy: it grows past its capacity and max_len holds. */
    const char *cp = T_PATH("copy.mba");
    REQUIRE(t_write_file(cp, orig, n0) == 0);
    OK(mba_open(cp, 0, MBA_TYPE_U32, &h));
    check_content(h);
    for (uint32_t i = 4; i < 1000; i++) {
        uint32_t r[3] = {10 * i + 1, 10 * i + 2, 10 * i + 3};
        if (!OK(mba_append(h, r)))
            break;
    }
    EXPECT(MBA_E_FULL, mba_append(h, row));
    OK(mba_get(h, 999, row));
    CHECK(row[0] == 9991 && row[2] == 9993);
    OK(mba_close(h));
    free(orig);
    return t_done("api_fixture");
}

/*
 * api_xproc_writer.c - one side of the two-process test (api.rs):
 *     api_xproc_writer DIR PREFIX NAME FIRST COUNT
 * creates (if needed) the array NAME of int64 rows of shape [2] and appends
 * rows FIRST .. FIRST+COUNT-1, row i being (i, i*i - 7), half of them one
 * by one and half in batches under the lock.
 */
#include "api_test.h"

int main(int argc, char **argv)
{
    t_init(argc, argv);
    REQUIRE(argc == 6);
    const char *name = argv[3];
    int64_t first = strtoll(argv[4], NULL, 10), count = strtoll(argv[5], NULL, 10);
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE;
    o.elem_type = MBA_TYPE_I64;
    o.ndim = 1;
    o.shape[0] = 2;
    mba_handle h;
    REQUIRE(OK(mba_open_ex(name, &o, &h)));
    uint64_t len;
    OK(mba_len(h, &len));
    CHECK_U64(len, (uint64_t)first);
    int64_t i = first;
    while (i < first + count) {
        if ((i / 100) % 2 == 0) {
            int64_t row[2] = {i, i * i - 7};
            OK(mba_append(h, row));
            i++;
        } else {
            int64_t rows[2 * 50];
            int k = 0;
            for (; k < 50 && i < first + count; k++, i++) {
                rows[2 * k] = i;
                rows[2 * k + 1] = i * i - 7;
            }
            OK(mba_lock(h));
            OK(mba_extend(h, (uint64_t)k, rows));
            OK(mba_unlock(h));
        }
    }
    OK(mba_flush(h, MBA_FLUSH_SYNC));
    OK(mba_close(h));
    return t_done("api_xproc_writer");
}

/*
 * api_xproc_reader.c - the other side of the two-process test (api.rs):
 *     api_xproc_reader DIR PREFIX NAME COUNT [follow] [unlink]
 * maps the array NAME (read-only) and checks that rows 0 .. COUNT-1 are
 * (i, i*i - 7). With "follow" it first waits for NAME to exist, then
 * follows the writer with mba_wait until COUNT rows are there. With
 * "unlink" it removes the name at the end. Prints the sum of the rows.
 */
#include "api_test.h"

#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    REQUIRE(argc >= 5);
    const char *name = argv[3];
    uint64_t count = strtoull(argv[4], NULL, 10);
    int follow = 0, unlink_at_end = 0;
    for (int a = 5; a < argc; a++) {
        follow |= strcmp(argv[a], "follow") == 0;
        unlink_at_end |= strcmp(argv[a], "unlink") == 0;
    }
    alarm(60);
    mba_handle h;
    int rc;
    while ((rc = mba_open(name, MBA_RDONLY, MBA_TYPE_I64, &h)) == MBA_E_NOTFOUND && follow)
        sleep_ms(2);
    REQUIRE(OK(rc));
    uint64_t dims[2], n;
    uint32_t nd;
    OK(mba_shape(h, dims, 2, &nd));
    CHECK(nd == 1 && dims[0] == 2);
    OK(mba_row_size(h, &n));
    CHECK_U64(n, 16);
    const int64_t *base;
    OK(mba_get_ptr(h, (void **)&base));
    uint64_t next = 0, sum = 0, wakeups = 0;
    int bad = 0;
    for (;;) {
        uint64_t seen, len;
        OK(mba_seq(h, &seen));
        OK(mba_len(h, &len));
        for (; next < len && next < count; next++) {
            int64_t row[2];
            OK(mba_get(h, next, row));
            int64_t i = (int64_t)next;
            if (row[0] != i || row[1] != i * i - 7 || base[2 * next] != i)
                bad++;
            sum += (uint64_t)row[0] + (uint64_t)row[1];
        }
        if (next >= count || !follow)
            break;
        rc = mba_wait(h, seen, 10 * 1000000000LL, NULL);
        if (rc == MBA_E_TIMEOUT) {
            fprintf(stderr, "no progress for 10 s at row %" PRIu64 "\n", next);
            break;
        }
        OK(rc);
        wakeups++;
    }
    CHECK(bad == 0);
    CHECK_U64(next, count);
    if (unlink_at_end)
        OK(mba_unlink(name));
    OK(mba_close(h));
    printf("rows=%" PRIu64 " sum=%" PRIu64 "\n", next, sum);
    return t_done("api_xproc_reader");
}

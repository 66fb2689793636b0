/* hostile_truncate - another process truncates an array that this process
 * has open (issue 14, scenario 1). libmba 0.1.3 reused its cached mapping
 * for a new mba_open without looking at the file size again (the open
 * succeeded, the next read past the new end died with SIGBUS), and growth
 * re-allocated the truncated space as zeros as if nothing had happened.
 *
 * usage: hostile_truncate NAME1 NAME2
 *   creates both (u64), prints "ready", waits for a line on stdin; by then
 *   the driver has cut NAME1 to 1000 rows and NAME2 to 0 bytes.
 */
#include "hostile.h"

#define ROWS 100000

static uint64_t val(uint64_t i)
{
    return i * 3 + 1;
}

static mba_handle make(const char *name)
{
    static uint64_t chunk[ROWS];
    mba_handle h;
    HZ_OK(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
    for (uint64_t i = 0; i < ROWS; i++)
        chunk[i] = val(i);
    HZ_OK(mba_extend(h, ROWS, chunk));
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        HZ_DIE("usage: hostile_truncate NAME1 NAME2");
    const char *name = argv[1], *name2 = argv[2];
    mba_handle h = make(name), h2 = make(name2), r, g;
    HZ_OK(mba_open(name, MBA_RDONLY, MBA_TYPE_U64, &r));
    uint64_t seq = 0, v = 0, n = 0;
    HZ_OK(mba_seq(r, &seq));
    HZ_SAY("ready");
    hz_wait_line();

    /* New opens in this process must look at the file again: these are
     * served from the cached mappings (h, r and h2 keep them alive). */
    g = -1;
    HZ_EXPECT(MBA_E_TRUNCATED, mba_open(name, 0, MBA_TYPE_U64, &g));
    if (g > 0)
        mba_close(g);
    g = -1;
    HZ_EXPECT(MBA_E_TRUNCATED, mba_open(name, MBA_RDONLY, MBA_TYPE_U64, &g));
    if (g > 0)
        mba_close(g);
    g = -1;
    HZ_EXPECT(MBA_E_TRUNCATED, mba_open(name2, 0, MBA_TYPE_U64, &g)); /* header gone */
    if (g > 0)
        mba_close(g);

    /* The rare paths of the open handles re-check the size: growth, flush,
     * truncate, a wait's sleep fail with MBA_E_TRUNCATED, and afterwards
     * the handles see only the rows the file still holds. */
    HZ_EXPECT(MBA_E_TRUNCATED, mba_reserve(h, 2 * ROWS));
    HZ_EXPECT(MBA_E_TRUNCATED, mba_flush(h, MBA_FLUSH_SYNC));
    HZ_OK(mba_len(h, &n));
    HZ_CHECK(n == 1000);
    HZ_OK(mba_get(h, 999, &v));
    HZ_CHECK(v == val(999));
    HZ_EXPECT(MBA_E_INDEX, mba_get(h, 1000, &v));
    HZ_EXPECT(MBA_E_INDEX, mba_get(h, ROWS - 1, &v));
    v = 5;
    HZ_EXPECT(MBA_E_TRUNCATED, mba_append(h, &v));
    HZ_EXPECT(MBA_E_TRUNCATED, mba_truncate(h, 10));
    HZ_EXPECT(MBA_E_TRUNCATED, mba_wait(r, seq, 20 * 1000 * 1000, &seq));
    HZ_EXPECT(MBA_E_INDEX, mba_get(r, 5000, &v));
    HZ_OK(mba_get(r, 10, &v));
    HZ_CHECK(v == val(10));
    /* The file is still the cut one: nothing re-grew it with zeros. */
    struct stat st;
    const char *path = strncmp(name, "shm://", 6) == 0 ? NULL : name;
    char buf[4096];
    if (!path) {
        snprintf(buf, sizeof buf, "/dev/shm/%s", name + 6);
        path = buf;
    }
    if (stat(path, &st) != 0)
        HZ_DIE("stat %s", path);
    HZ_CHECK(st.st_size == HZ_DATA + 1000 * 8);

    HZ_OK(mba_close(h));
    HZ_OK(mba_close(r));
    HZ_OK(mba_close(h2));
    return hz_done();
}

/*
 * compat.c - one program, built twice: against libmba 0.1.3 (commit
 * 8403e2e: its mba.h and libmba.so) and against this tree. Processes of
 * both builds append to one live array at the same time, and each then
 * checks every row, its own and the others' (scripts/suites/compat.sh).
 *
 *   compat write NAME ID N   append N values (ID << 32 | i), i = 0..N-1,
 *                            in batches, then check (ID 1..3)
 *   compat check NAME N [W]  every value of writers 1..W (default 2)
 *                            exactly once, in order per writer; len == W*N
 */
#include <mba.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which mba.h this build saw: 0.2 renamed the element type constants
 * (MBA_U64 -> MBA_TYPE_U64); the calls used here kept their names and
 * arguments. */
#ifdef MBA_TYPE_U64
#define BUILD "this tree"
#else
#define BUILD "commit 8403e2e"
#define MBA_TYPE_U64 MBA_U64
#endif

static int fail(const char *what, int rc)
{
    char msg[256] = "";
    mba_last_error(msg, sizeof msg);
    fprintf(stderr, "compat: %s: %s (%d): %s\n", what, mba_strerror(rc), rc, msg);
    return 1;
}

/* Checks the rows written by writers 1 and 2: for each, values i appear
 * in increasing order without gaps, up to its count so far. */
static int check(mba_handle h, uint64_t want_each, int exact, uint64_t writers)
{
    uint64_t len = 0;
    int rc = mba_len(h, &len);
    if (rc)
        return fail("mba_len", rc);
    uint64_t next[4] = {0, 0, 0, 0};
    for (uint64_t i = 0; i < len; i++) {
        uint64_t v = 0;
        rc = mba_get(h, i, &v);
        if (rc)
            return fail("mba_get", rc);
        uint64_t id = v >> 32, k = v & 0xffffffffu;
        if (id < 1 || id > 3 || k != next[id]) {
            fprintf(stderr, "compat: row %" PRIu64 " holds %" PRIx64 " (writer %" PRIu64
                    " expected %" PRIu64 ")\n", i, v, id, id <= 3 ? next[id] : 0);
            return 1;
        }
        next[id]++;
    }
    int short_by = 0;
    for (uint64_t w = 1; w <= writers; w++)
        short_by |= next[w] != want_each;
    if (exact && (len != writers * want_each || short_by)) {
        fprintf(stderr, "compat: len %" PRIu64 ", writers 1..3 %" PRIu64 " %" PRIu64
                " %" PRIu64 ", want %" PRIu64 " each of %" PRIu64 "\n", len, next[1], next[2],
                next[3], want_each, writers);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *name = argv[2];
    mba_handle h;
    int rc;
    if (strcmp(argv[1], "write") == 0 && argc == 5) {
        uint64_t id = strtoull(argv[3], NULL, 10), n = strtoull(argv[4], NULL, 10);
        rc = mba_open(name, MBA_CREATE, MBA_TYPE_U64, &h);
        if (rc)
            return fail("mba_open", rc);
        printf("writer %" PRIu64 ": libmba %s, %s\n", id, mba_version_string(), BUILD);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = id << 32 | i;
            if (i % 64 == 0) {
                /* a batch under the lock, then single appends */
                rc = mba_lock(h);
                if (rc)
                    return fail("mba_lock", rc);
                for (int j = 0; j < 16 && i < n; j++, i++) {
                    v = id << 32 | i;
                    rc = mba_append(h, &v);
                    if (rc)
                        return fail("mba_append (batch)", rc);
                }
                rc = mba_unlock(h);
                if (rc)
                    return fail("mba_unlock", rc);
                i--;
                continue;
            }
            rc = mba_append(h, &v);
            if (rc)
                return fail("mba_append", rc);
        }
        int bad = check(h, n, 0, 3);
        mba_close(h);
        return bad;
    }
    if (strcmp(argv[1], "check") == 0) {
        uint64_t n = strtoull(argv[3], NULL, 10);
        uint64_t writers = argc > 4 ? strtoull(argv[4], NULL, 10) : 2;
        if (writers < 1 || writers > 3)
            return 2;
        rc = mba_open(name, 0, MBA_TYPE_U64, &h);
        if (rc)
            return fail("mba_open", rc);
        int bad = check(h, n, 1, writers);
        mba_close(h);
        if (!bad)
            printf("checked %" PRIu64 " rows with libmba %s, %s\n", writers * n,
                   mba_version_string(), BUILD);
        return bad;
    }
    return 2;
}

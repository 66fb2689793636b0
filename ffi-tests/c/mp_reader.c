/* mp_reader - a reader that opens an array (usually at length 0), takes the
 * element pointer ONCE, and then follows the growth made by other processes
 * without re-opening, checking every row as soon as the length covers it.
 *
 * usage: mp_reader NAME TOTAL TIMEOUT_S [rdonly]
 *   waits (mba_wait) until the length reaches TOTAL; for every new row i
 *   below the length it checks, through the pointer taken at open and
 *   through mba_get, that the record is complete (mp_valid) and that each
 *   writer's seq numbers arrive in order, each exactly once (1, 2, 3 ...).
 * Prints "ready" when the pointer is taken, then "ok ..." and exits 0, or
 * prints the violation and exits 1 (2 on an unexpected error or timeout).
 */
#include "mp_common.h"

#define MAXW 65536

static uint32_t last_seq[MAXW];

int main(int argc, char **argv)
{
    if (argc < 4)
        MP_DIE("usage: mp_reader NAME TOTAL TIMEOUT_S [rdonly]");
    const char *name = argv[1];
    uint64_t total = strtoull(argv[2], NULL, 10);
    uint64_t deadline = mp_now_ns() + strtoull(argv[3], NULL, 10) * 1000000000ull;
    int rdonly = argc > 4 && !strcmp(argv[4], "rdonly");

    mba_handle h = mp_open_records(name, rdonly ? MBA_RDONLY : 0);
    void *p0;
    MP_OK(mba_get_ptr(h, &p0));
    const mp_rec *base = p0;
    uint64_t len0, cap0;
    MP_OK(mba_len(h, &len0));
    MP_OK(mba_capacity(h, &cap0));
    printf("ready len=%llu cap=%llu\n", (unsigned long long)len0, (unsigned long long)cap0);
    fflush(stdout);

    uint64_t seen_len = 0, seq = 0, waits = 0, growths = 0, cap_last = cap0;
    MP_OK(mba_seq(h, &seq));
    while (seen_len < total) {
        uint64_t len;
        MP_OK(mba_len(h, &len));
        uint64_t cap;
        MP_OK(mba_capacity(h, &cap));
        if (len > cap) {
            printf("FAIL len %llu > capacity %llu\n", (unsigned long long)len,
                   (unsigned long long)cap);
            return 1;
        }
        if (cap != cap_last) {
            growths++;
            cap_last = cap;
        }
        for (; seen_len < len; seen_len++) {
            const mp_rec *r = &base[seen_len]; /* the pointer from open */
            mp_rec g;
            MP_OK(mba_get(h, seen_len, &g));
            if (!mp_valid(r) || memcmp(r, &g, sizeof g) != 0) {
                printf("FAIL row %llu incomplete: writer=%u seq=%u check=%llx\n",
                       (unsigned long long)seen_len, r->writer, r->seq,
                       (unsigned long long)r->check);
                return 1;
            }
            uint32_t w = r->writer % MAXW;
            if (r->seq != last_seq[w] + 1) {
                printf("FAIL row %llu: writer %u seq %u after %u\n",
                       (unsigned long long)seen_len, r->writer, r->seq, last_seq[w]);
                return 1;
            }
            last_seq[w] = r->seq;
        }
        if (seen_len >= total)
            break;
        if (mp_now_ns() > deadline)
            MP_DIE("timeout at length %llu of %llu", (unsigned long long)seen_len,
                   (unsigned long long)total);
        uint64_t now_seq;
        int rc = mba_wait(h, seq, 1000000000, &now_seq);
        waits++;
        if (rc == MBA_OK)
            seq = now_seq;
        else if (rc != MBA_E_TIMEOUT)
            MP_OK(rc);
    }
    void *p1;
    MP_OK(mba_get_ptr(h, &p1));
    if (p1 != p0) {
        printf("FAIL element pointer moved: %p -> %p\n", p0, p1);
        return 1;
    }
    printf("ok rows=%llu waits=%llu growths=%llu cap=%llu\n", (unsigned long long)seen_len,
           (unsigned long long)waits, (unsigned long long)growths,
           (unsigned long long)cap_last);
    MP_OK(mba_close(h));
    return 0;
}

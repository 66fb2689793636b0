/* mp_writer - appends self-describing records (mp_common.h) to an existing
 * array, for the multi-process tests.
 *
 * usage: mp_writer NAME ID COUNT MODE SEED [go]
 *   NAME   array name (path or shm://NAME), holding 16-byte records
 *   ID     writer id (> 0), unique in the test
 *   COUNT  records to append (seq 1..COUNT); 0 = until the array is full
 *   MODE   append  - one mba_append per record (multi-writer path)
 *          batch   - mba_lock, 1..64 mba_append, mba_unlock
 *          extend  - one mba_extend of 1..64 records
 *          mixed   - a random one of the above for each step
 *          big     - one mba_extend of 262,144 records (4 MiB: the
 *                    library writes it through the file with pwrite)
 *   SEED   PRNG seed (batch sizes, modes)
 *   go     wait for a byte on stdin before starting (start barrier)
 *
 * Exit status: 0 done, 3 the array is full (MBA_E_FULL), 2 any other error.
 */
#include "mp_common.h"

enum { M_APPEND, M_BATCH, M_EXTEND, M_MIXED, M_BIG };

#define BIG_N 262144u

int main(int argc, char **argv)
{
    if (argc < 6)
        MP_DIE("usage: mp_writer NAME ID COUNT MODE SEED [go]");
    const char *name = argv[1];
    uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t count = strtoull(argv[3], NULL, 10);
    const char *ms = argv[4];
    uint64_t rng = strtoull(argv[5], NULL, 10) * 2654435761u + id + 1;
    int mode = !strcmp(ms, "append")   ? M_APPEND
               : !strcmp(ms, "batch")  ? M_BATCH
               : !strcmp(ms, "extend") ? M_EXTEND
               : !strcmp(ms, "mixed")  ? M_MIXED
               : !strcmp(ms, "big")    ? M_BIG
                                       : -1;
    if (mode < 0 || id == 0)
        MP_DIE("bad mode or id");

    mba_handle h = mp_open_records(name, 0);
    uint64_t rb;
    MP_OK(mba_row_size(h, &rb));
    if (rb != sizeof(mp_rec))
        MP_DIE("row size %llu, expected %zu", (unsigned long long)rb, sizeof(mp_rec));
    if (argc > 6 && !strcmp(argv[6], "go"))
        mp_wait_go();

    uint64_t seq = 1; /* next seq to append */
    mp_rec small[64];
    mp_rec *buf = small;
    if (mode == M_BIG && !(buf = malloc(BIG_N * sizeof(mp_rec))))
        MP_DIE("out of memory");
    for (;;) {
        if (count && seq > count)
            break;
        int m = mode == M_MIXED ? (int)(mp_rand(&rng) % 3) : mode;
        uint64_t n = m == M_APPEND ? 1 : m == M_BIG ? BIG_N : 1 + mp_rand(&rng) % 64;
        if (count && seq + n - 1 > count)
            n = count - seq + 1;
        int rc = MBA_OK;
        uint64_t done = 0;
        if (m == M_EXTEND || m == M_BIG) {
            for (uint64_t i = 0; i < n; i++)
                buf[i] = mp_make(id, (uint32_t)(seq + i));
            rc = mba_extend(h, n, buf);
            if (rc == MBA_OK)
                done = n;
        } else if (m == M_BATCH) {
            MP_OK(mba_lock(h));
            for (uint64_t i = 0; i < n; i++) {
                mp_rec r = mp_make(id, (uint32_t)(seq + i));
                rc = mba_append(h, &r);
                if (rc != MBA_OK)
                    break;
                done++;
            }
            MP_OK(mba_unlock(h));
        } else {
            mp_rec r = mp_make(id, (uint32_t)seq);
            rc = mba_append(h, &r);
            if (rc == MBA_OK)
                done = 1;
        }
        seq += done;
        if (rc == MBA_E_FULL) {
            printf("full %u %llu\n", id, (unsigned long long)(seq - 1));
            return 3;
        }
        if (rc != MBA_OK) {
            char msg[256];
            mba_last_error(msg, sizeof msg);
            MP_DIE("writer %u: append failed at seq %llu: %d %s", id,
                   (unsigned long long)seq, rc, msg);
        }
    }
    MP_OK(mba_close(h));
    printf("done %u %llu\n", id, (unsigned long long)(seq - 1));
    return 0;
}

/* mp_memlimit - memory-backed growth never wakes the OOM killer: inside a
 * small memory cgroup (made by the test), an anonymous array (memfd) or a
 * shm:// array that would not fit fails with MBA_E_NOMEM, the process
 * lives, and every element appended before stays intact.
 *
 * usage: mp_memlimit PROCS anon            mba_anon of 256 MiB, then of 1 MiB
 *        mp_memlimit PROCS append NAME     u64 appends to shm NAME until one fails
 *        mp_memlimit PROCS extend NAME     8 MiB extends (written through the
 *                                          file) to shm NAME until one fails
 * PROCS is the cgroup.procs file of the test's cgroup: the program moves
 * itself there before anything else ("-": stay where it is).
 * Prints "ok ..." and exits 0 on success; 1 on a violated guarantee.
 */
#include <fcntl.h>

#include "mp_common.h"

#define MIB (1024ull * 1024ull)

static void join_cgroup(const char *procs)
{
    if (!strcmp(procs, "-"))
        return;
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        MP_DIE("open %s: %s", procs, strerror(errno));
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (write(fd, pid, (size_t)n) != n)
        MP_DIE("joining the cgroup %s: %s", procs, strerror(errno));
    close(fd);
}

static void last_error(char *msg, size_t len)
{
    mba_last_error(msg, len);
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

int main(int argc, char **argv)
{
    if (argc < 3)
        MP_DIE("usage: mp_memlimit PROCS anon|append NAME|extend NAME");
    setvbuf(stdout, NULL, _IOLBF, 0);
    join_cgroup(argv[1]);
    const char *mode = argv[2];
    char msg[512];

    if (!strcmp(mode, "anon")) {
        mba_handle h;
        int rc = mba_anon(0, MBA_TYPE_U8, 256 * MIB, &h);
        if (rc != MBA_E_NOMEM)
            FAIL("mba_anon of 256 MiB returned %d (%s), expected MBA_E_NOMEM", rc,
                 mba_strerror(rc));
        last_error(msg, sizeof msg);
        /* Something that fits still works. */
        MP_OK(mba_anon(0, MBA_TYPE_U64, MIB / 8, &h));
        for (uint64_t i = 0; i < 1000; i++)
            MP_OK(mba_append_u64(h, i * 3 + 1));
        mp_check_filled(h, 1000);
        MP_OK(mba_close(h));
        printf("ok anon message=%s\n", msg);
        return 0;
    }
    if (argc < 4)
        MP_DIE("%s needs a NAME", mode);
    int is_extend = !strcmp(mode, "extend");
    if (!is_extend && strcmp(mode, "append"))
        MP_DIE("unknown mode %s", mode);

    mba_handle h;
    MP_OK(mba_open(argv[3], MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
    uint64_t n = 0;
    int rc;
    if (is_extend) {
        /* 8 MiB per call: large extends go through pwrite, not the mapping. */
        enum { K = 1 << 20 };
        uint64_t *chunk = malloc(K * sizeof *chunk);
        if (!chunk)
            MP_DIE("malloc");
        for (;;) {
            for (uint64_t i = 0; i < K; i++)
                chunk[i] = (n + i) * 3 + 1;
            rc = mba_extend(h, K, chunk);
            if (rc != MBA_OK)
                break;
            n += K;
            if (n * 8 > 1024 * MIB)
                FAIL("1 GiB appended inside a 64 MiB cgroup");
        }
        free(chunk);
    } else {
        for (;;) {
            rc = mba_append_u64(h, n * 3 + 1);
            if (rc != MBA_OK)
                break;
            n++;
            if (n * 8 > 1024 * MIB)
                FAIL("1 GiB appended inside a 64 MiB cgroup");
        }
    }
    last_error(msg, sizeof msg);
    if (rc != MBA_E_NOMEM)
        FAIL("%s failed with %d (%s: %s), expected MBA_E_NOMEM", mode, rc, mba_strerror(rc),
             msg);
    if (n == 0)
        FAIL("no append succeeded at all");
    mp_check_filled(h, n);
    /* reserve fails the same way and changes nothing. */
    rc = mba_reserve(h, n + 64 * MIB);
    if (rc != MBA_E_NOMEM)
        FAIL("reserve failed with %d (%s), expected MBA_E_NOMEM", rc, mba_strerror(rc));
    mp_check_filled(h, n);
    uint64_t cap;
    MP_OK(mba_capacity(h, &cap));
    MP_OK(mba_close(h));
    printf("ok %s rows=%llu capacity=%llu message=%s\n", mode, (unsigned long long)n,
           (unsigned long long)cap, msg);
    return 0;
}

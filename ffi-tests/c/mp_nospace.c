/* mp_nospace - growth never kills a process: on a full filesystem (a small
 * tmpfs mounted by the test) or under RLIMIT_FSIZE, appends fail with
 * MBA_E_NOSPACE, the process lives (no SIGBUS, no SIGXFSZ), and every
 * element appended before stays intact.
 *
 * usage: mp_nospace fill DIR        DIR is on a small tmpfs: a filler file
 *                                   takes 1 MiB, the array takes the rest
 *        mp_nospace rlimit DIR      RLIMIT_FSIZE = 1 MiB, set before appending
 * Prints "ok ..." and exits 0 on success; 1 on a violated guarantee.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include "mp_common.h"

/* Appends i*3+1 until an append fails; returns how many succeeded and the
 * failing status in *rc. Fills most of the space with extends of halving
 * size (single appends near a full tmpfs are slow: see bench/README.md),
 * then single appends until one fails. */
static uint64_t fill(mba_handle h, int *rc)
{
    static uint64_t chunk[65536];
    uint64_t n = 0;
    for (uint64_t k = 65536; k >= 64; k /= 2) {
        for (;;) {
            for (uint64_t i = 0; i < k; i++)
                chunk[i] = (n + i) * 3 + 1;
            int r = mba_extend(h, k, chunk);
            if (r == MBA_E_NOSPACE)
                break;
            MP_OK(r);
            n += k;
        }
    }
    for (;;) {
        uint64_t v = n * 3 + 1;
        int r = mba_append(h, &v);
        if (r != MBA_OK) {
            *rc = r;
            return n;
        }
        n++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        MP_DIE("usage: mp_nospace fill|rlimit DIR");
    const char *mode = argv[1];
    char name[4096], filler[4096];
    snprintf(name, sizeof name, "%s/full-%d.mba", argv[2], (int)getpid());
    snprintf(filler, sizeof filler, "%s/filler-%d", argv[2], (int)getpid());

    int is_fill = !strcmp(mode, "fill");
    if (is_fill) {
        /* 1 MiB of real data in a separate file, to free it later. */
        int fd = open(filler, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
            MP_DIE("create filler");
        static char block[65536];
        memset(block, 0xab, sizeof block);
        for (int i = 0; i < 16; i++)
            if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
                MP_DIE("write filler");
        close(fd);
    }
    mba_handle h;
    MP_OK(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
    if (!is_fill) {
        struct rlimit rl = {1 << 20, 1 << 20};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            MP_DIE("setrlimit");
    }

    /* A large extend (8 MiB: written through the file, not a mapping) that
     * cannot fit fails cleanly: nothing becomes visible, and the space a
     * partial write took is used by the appends that follow. */
    static uint64_t big[1 << 20];
    for (uint64_t i = 0; i < (1 << 20); i++)
        big[i] = 9;
    int rc = mba_extend(h, 1 << 20, big);
    if (rc != MBA_E_NOSPACE)
        FAIL("8 MiB extend on a fresh array failed with %d (%s), expected MBA_E_NOSPACE", rc,
             mba_strerror(rc));
    mp_check_filled(h, 0);
    uint64_t n = fill(h, &rc);
    if (rc != MBA_E_NOSPACE)
        FAIL("append failed with %d (%s), expected MBA_E_NOSPACE", rc, mba_strerror(rc));
    if (n == 0)
        FAIL("no append succeeded at all");
    mp_check_filled(h, n);

    /* extend and reserve fail the same way and change nothing. */
    static uint64_t chunk[100000];
    for (uint64_t i = 0; i < 100000; i++)
        chunk[i] = 7;
    rc = mba_extend(h, 100000, chunk);
    if (rc != MBA_E_NOSPACE)
        FAIL("extend failed with %d (%s), expected MBA_E_NOSPACE", rc, mba_strerror(rc));
    rc = mba_reserve(h, n + 1000000);
    if (rc != MBA_E_NOSPACE)
        FAIL("reserve failed with %d (%s), expected MBA_E_NOSPACE", rc, mba_strerror(rc));
    rc = mba_extend(h, 1 << 20, big);
    if (rc != MBA_E_NOSPACE)
        FAIL("8 MiB extend failed with %d (%s), expected MBA_E_NOSPACE", rc, mba_strerror(rc));
    mp_check_filled(h, n);
    /* a batch under mba_lock too */
    MP_OK(mba_lock(h));
    uint64_t extra = 0;
    for (;;) {
        uint64_t v = (n + extra) * 3 + 1;
        rc = mba_append(h, &v);
        if (rc != MBA_OK)
            break;
        extra++;
    }
    MP_OK(mba_unlock(h));
    if (rc != MBA_E_NOSPACE)
        FAIL("locked append failed with %d, expected MBA_E_NOSPACE", rc);
    n += extra;
    mp_check_filled(h, n);

    /* A second handle (as another process would) opens and reads it all. */
    mba_handle h2;
    MP_OK(mba_open(name, MBA_RDONLY, MBA_TYPE_U64, &h2));
    mp_check_filled(h2, n);
    MP_OK(mba_close(h2));

    uint64_t after = 0;
    double after_us = 0;
    if (is_fill) {
        /* Space comes back: the array is still usable. */
        if (unlink(filler) != 0)
            MP_DIE("unlink filler");
        uint64_t t0 = mp_now_ns();
        for (; after < 1000; after++) {
            uint64_t v = (n + after) * 3 + 1;
            rc = mba_append(h, &v);
            if (rc != MBA_OK)
                FAIL("append after freeing space failed: %d (%s)", rc, mba_strerror(rc));
        }
        after_us = (double)(mp_now_ns() - t0) / 1e3 / (double)after;
        n += after;
        mp_check_filled(h, n);
    }
    sigset_t pend;
    sigpending(&pend);
    if (sigismember(&pend, SIGXFSZ))
        FAIL("SIGXFSZ left pending");
    uint64_t cap;
    MP_OK(mba_capacity(h, &cap));
    MP_OK(mba_close(h));
    /* The array stays for the test to read back from another process. */
    printf("ok %s rows=%llu capacity=%llu us_per_append_after_freeing=%.1f name=%s\n", mode,
           (unsigned long long)n, (unsigned long long)cap, after_us, name);
    return 0;
}

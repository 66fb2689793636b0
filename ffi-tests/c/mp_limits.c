/* mp_limits - process limits end in an error code, never in a crash or a
 * leak: an address-space limit below the reservation, the MBA_RESERVE
 * setting, and a process out of file descriptors.
 *
 * usage: mp_limits as DIR        RLIMIT_AS = VmSize + 512 MiB, then opens
 *        mp_limits reserve DIR   creates arrays without max_len and prints
 *                                their max_len (the test sets MBA_RESERVE)
 *        mp_limits emfile DIR    opens under RLIMIT_NOFILE = open fds + k
 * Prints "ok ..." and exits 0 on success; 1 on a violated guarantee.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "mp_common.h"

static char msg[1024];

static void last_error(void)
{
    mba_last_error(msg, sizeof msg);
}

static uint64_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

/* Fills every free descriptor number below the highest open one (with
 * /dev/null), so that RLIMIT_NOFILE = highest + 1 + k leaves exactly k
 * descriptors to spare. Returns highest + 1. */
static int fill_fd_gaps(void)
{
    int hi = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        MP_DIE("opendir /proc/self/fd");
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != self && atoi(e->d_name) > hi)
            hi = atoi(e->d_name);
    closedir(d);
    for (int fd = 0; fd < hi; fd++)
        if (fcntl(fd, F_GETFD) < 0 && dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), fd) < 0)
            MP_DIE("dup2");
    /* The /dev/null descriptors opened above landed in gaps too. */
    return hi + 1;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        MP_DIE("opendir /proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Entries of dir whose name contains "mba-tmp" (temporary files of a
 * creation that a failure must remove). */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        MP_DIE("opendir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "mba-tmp"))
            n++;
    closedir(d);
    return n;
}

static void check_rows(mba_handle h, uint64_t n)
{
    uint64_t len;
    MP_OK(mba_len(h, &len));
    if (len != n)
        FAIL("length %llu, expected %llu", (unsigned long long)len, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        MP_OK(mba_get(h, i, &v));
        if (v != i * 3 + 1)
            FAIL("element %llu is %llu", (unsigned long long)i, (unsigned long long)v);
    }
}

static void mode_as(const char *dir)
{
    char path[4096], big[4096];
    snprintf(path, sizeof path, "%s/as-small.mba", dir);
    snprintf(big, sizeof big, "%s/as-big.mba", dir);
    /* An array made before the limit, with a small reservation. */
    mba_options o;
    MP_OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = MBA_TYPE_U64;
    o.max_len = 1 << 20;
    mba_handle h;
    MP_OK(mba_open_ex(path, &o, &h));
    for (uint64_t i = 0; i < 1000; i++)
        MP_OK(mba_append_u64(h, i * 3 + 1));

    uint64_t lim = vm_size() + (512ull << 20);
    struct rlimit rl = {lim, lim};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        MP_DIE("setrlimit");
    int fds = count_fds();

    /* The default reservation (64 GiB) cannot be mapped: MBA_E_NOMEM, and
     * the message says why and what to change. */
    mba_handle g;
    int rc = mba_open(big, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &g);
    last_error();
    if (rc != MBA_E_NOMEM)
        FAIL("create under RLIMIT_AS returned %d (%s: %s), expected MBA_E_NOMEM", rc,
             mba_strerror(rc), msg);
    if (!strstr(msg, "RLIMIT_AS") || !strstr(msg, "MBA_RESERVE"))
        FAIL("the message does not name RLIMIT_AS and MBA_RESERVE: %s", msg);
    printf("create: %s\n", msg);
    rc = mba_anon(0, MBA_TYPE_U8, 0, &g);
    if (rc != MBA_E_NOMEM)
        FAIL("mba_anon under RLIMIT_AS returned %d, expected MBA_E_NOMEM", rc);
    if (count_fds() != fds)
        FAIL("%d descriptors after the failures, %d before", count_fds(), fds);
    if (count_tmp(dir))
        FAIL("a temporary file of the failed creation is left in %s", dir);
    /* (libmba 0.1.3 links a new array under its name before mapping it,
     * so a failed mapping leaves an empty array behind: reported.) */
    if (access(big, F_OK) == 0)
        printf("note: the failed creation left %s behind\n", big);

    /* The array made before is intact and usable. */
    check_rows(h, 1000);
    MP_OK(mba_append_u64(h, 1000 * 3 + 1));
    check_rows(h, 1001);
    MP_OK(mba_close(h));
    printf("ok as limit=%llu\n", (unsigned long long)lim);
}

static void mode_reserve(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/reserve.mba", dir);
    mba_handle h;
    int rc = mba_open(path, MBA_CREATE | MBA_EXCL, MBA_TYPE_U32, &h);
    if (rc != MBA_OK) {
        last_error();
        int rc2 = mba_anon(0, MBA_TYPE_U32, 0, &h);
        printf("refused open=%d anon=%d message=%s\n", rc, rc2, msg);
        return;
    }
    uint64_t a, b;
    MP_OK(mba_max_len(h, &a));
    for (uint64_t i = 0; i < 1000; i++)
        MP_OK(mba_append_i64(h, (int)i));
    MP_OK(mba_close(h));
    MP_OK(mba_anon(0, MBA_TYPE_F64, 0, &h));
    MP_OK(mba_max_len(h, &b));
    MP_OK(mba_close(h));
    /* An explicit max_len wins over the setting. */
    mba_options o;
    MP_OK(mba_options_init(&o));
    o.elem_type = MBA_TYPE_U8;
    o.max_len = 12345;
    MP_OK(mba_anon_ex(&o, &h));
    uint64_t c;
    MP_OK(mba_max_len(h, &c));
    MP_OK(mba_close(h));
    if (c != 12345)
        FAIL("explicit max_len 12345 became %llu", (unsigned long long)c);
    printf("ok reserve u32_max_len=%llu f64_max_len=%llu\n", (unsigned long long)a,
           (unsigned long long)b);
}

static void mode_emfile(const char *dir)
{
    char path[4096];
    /* One array made before, to reopen under the limit. */
    snprintf(path, sizeof path, "%s/emfile-0.mba", dir);
    mba_handle h0;
    MP_OK(mba_open(path, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h0));
    for (uint64_t i = 0; i < 100; i++)
        MP_OK(mba_append_u64(h0, i * 3 + 1));
    MP_OK(mba_close(h0));

    struct rlimit old;
    if (getrlimit(RLIMIT_NOFILE, &old) != 0)
        MP_DIE("getrlimit");
    int top = fill_fd_gaps();
    int base = count_fds();
    int ok = 0, refused = 0;
    for (int k = 0; k < 6; k++) {
        /* k descriptors to spare: 0 = none at all. */
        struct rlimit rl = {(rlim_t)(top + k), old.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            MP_DIE("setrlimit RLIMIT_NOFILE %d", top + k);
        mba_handle hs[4];
        int rcs[4];
        snprintf(path, sizeof path, "%s/emfile-new-%d.mba", dir, k);
        rcs[0] = mba_open(path, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &hs[0]);
        snprintf(path, sizeof path, "%s/emfile-0.mba", dir);
        rcs[1] = mba_open(path, 0, MBA_TYPE_U64, &hs[1]);
        rcs[2] = mba_anon(0, MBA_TYPE_U64, 0, &hs[2]);
        rcs[3] = mba_open(path, MBA_COW, MBA_TYPE_U64, &hs[3]);
        for (int i = 0; i < 4; i++) {
            if (rcs[i] == MBA_OK) {
                ok++;
                /* A write needs a lock descriptor too: fine or a code. */
                int w = i == 3 ? MBA_OK : mba_append_u64(hs[i], 7);
                if (w != MBA_OK && w != MBA_E_NOMEM)
                    FAIL("append under RLIMIT_NOFILE=%d returned %d (%s)", top + k, w,
                         mba_strerror(w));
                if (i == 1 && w == MBA_OK)
                    MP_OK(mba_truncate(hs[i], 100));
                MP_OK(mba_close(hs[i]));
            } else {
                refused++;
                if (rcs[i] != MBA_E_NOMEM) {
                    last_error();
                    FAIL("call %d under RLIMIT_NOFILE=%d returned %d (%s: %s), expected "
                         "MBA_E_NOMEM",
                         i, top + k, rcs[i], mba_strerror(rcs[i]), msg);
                }
            }
        }
        if (setrlimit(RLIMIT_NOFILE, &old) != 0)
            MP_DIE("restoring RLIMIT_NOFILE");
        printf("RLIMIT_NOFILE=%d: create %d, open %d, anon %d, cow %d\n", top + k, rcs[0],
               rcs[1], rcs[2], rcs[3]);
        if (count_fds() != base)
            FAIL("%d descriptors open after round %d, %d before", count_fds(), k, base);
    }
    if (!refused)
        FAIL("no call was refused: the test did not reach EMFILE");
    if (count_tmp(dir))
        FAIL("a temporary file of a failed creation is left in %s", dir);
    /* Every name that exists is a complete array; the first one intact. */
    for (int k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/emfile-new-%d.mba", dir, k);
        if (access(path, F_OK) == 0) {
            mba_handle h;
            MP_OK(mba_open(path, MBA_RDONLY, MBA_TYPE_U64, &h));
            MP_OK(mba_close(h));
        }
    }
    snprintf(path, sizeof path, "%s/emfile-0.mba", dir);
    MP_OK(mba_open(path, 0, MBA_TYPE_U64, &h0));
    check_rows(h0, 100);
    MP_OK(mba_close(h0));
    mba_last_error(msg, sizeof msg);
    printf("ok emfile calls_ok=%d refused=%d\n", ok, refused);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        MP_DIE("usage: mp_limits as|reserve|emfile DIR");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "as"))
        mode_as(argv[2]);
    else if (!strcmp(argv[1], "reserve"))
        mode_reserve(argv[2]);
    else if (!strcmp(argv[1], "emfile"))
        mode_emfile(argv[2]);
    else
        MP_DIE("unknown mode %s", argv[1]);
    return 0;
}

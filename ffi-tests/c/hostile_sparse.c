/* hostile_sparse - another process grows an array sparsely (ftruncate and
 * a larger capacity in the header, no allocation) on a full filesystem
 * (issue 14, scenario 2). libmba 0.1.3 trusted the capacity because the
 * size was right: the next append past the allocated rows, and a read-only
 * read of a hole, died with SIGBUS.
 *
 * usage: hostile_sparse DIR     (DIR: a small tmpfs of its own, ~4 MiB)
 * Prints "ok" as its last line (exit 0) when every call returned a status.
 */
#include <sys/wait.h>

#include "hostile.h"

#define CAP 1024           /* rows allocated at creation: 8 KiB */
#define SPARSE (1u << 18)  /* rows the foreign writer claims: 2 MiB */

static uint64_t val(uint64_t i)
{
    return i * 3 + 1;
}

/* In a child process (a foreign writer, no libmba): grow the file to
 * SPARSE rows with ftruncate and claim them as capacity (and, with
 * claim_len, as length). */
static void foreign_grow(const char *path, int claim_len)
{
    pid_t pid = fork();
    if (pid < 0)
        HZ_DIE("fork");
    if (pid == 0) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        uint64_t cap = SPARSE;
        if (fd < 0 || ftruncate(fd, HZ_DATA + (off_t)SPARSE * 8) != 0 ||
            pwrite(fd, &cap, 8, HZ_OFF_CAPACITY) != 8 ||
            (claim_len && pwrite(fd, &cap, 8, HZ_OFF_LEN) != 8))
            _exit(3);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        HZ_DIE("the foreign writer failed");
}

/* Fills the filesystem of DIR with a file, to the last byte. */
static void fill_fs(const char *filler)
{
    int fd = open(filler, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        HZ_DIE("create %s", filler);
    static char block[65536];
    memset(block, 0xab, sizeof block);
    for (size_t sz = sizeof block; sz >= 1; sz /= 2)
        while (write(fd, block, sz) == (ssize_t)sz) {
        }
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        HZ_DIE("usage: hostile_sparse DIR");
    char path[4096], filler[4096];
    snprintf(path, sizeof path, "%s/sparse.mba", argv[1]);
    snprintf(filler, sizeof filler, "%s/filler", argv[1]);

    mba_options o;
    HZ_OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = MBA_TYPE_U64;
    o.capacity = CAP;
    mba_handle h, g, r, c;
    HZ_OK(mba_open_ex(path, &o, &h));
    uint64_t n, v, cap;
    for (uint64_t i = 0; i < 1000; i++) {
        v = val(i);
        HZ_OK(mba_append(h, &v));
    }
    HZ_OK(mba_capacity(h, &cap));
    HZ_CHECK(cap == CAP);
    fill_fs(filler);
    foreign_grow(path, 0);

    /* Read-write: the rows up to CAP are allocated; the next append would
     * store into a hole of a full tmpfs. It must fail with MBA_E_NOSPACE. */
    int rc = MBA_OK;
    for (n = 1000; n < 4 * CAP && rc == MBA_OK; n++) {
        v = val(n);
        rc = mba_append(h, &v);
    }
    HZ_EXPECT(MBA_E_NOSPACE, rc);
    HZ_CHECK(n - 1 == CAP);
    HZ_OK(mba_len(h, &n));
    HZ_CHECK(n == CAP);
    for (uint64_t i = 0; i < CAP; i++) {
        HZ_OK(mba_get(h, i, &v));
        HZ_CHECK(v == val(i));
        if (v != val(i))
            break;
    }
    v = 7;
    HZ_EXPECT(MBA_E_NOSPACE, mba_extend(h, 1, &v));
    HZ_EXPECT(MBA_E_NOSPACE, mba_reserve(h, CAP + 1));
    /* A new read-write handle would have to fill the holes: it cannot. */
    HZ_EXPECT(MBA_E_NOSPACE, mba_open(path, 0, MBA_TYPE_U64, &g));

    /* Read-only: the foreign writer now also claims SPARSE rows exist.
     * Reads of the rows past the allocated ones fail with MBA_E_INDEX. */
    foreign_grow(path, 1);
    HZ_OK(mba_open(path, MBA_RDONLY, MBA_TYPE_U64, &r));
    HZ_OK(mba_len(r, &n));
    HZ_CHECK(n == CAP);
    HZ_OK(mba_get(r, CAP - 1, &v));
    HZ_CHECK(v == val(CAP - 1));
    HZ_EXPECT(MBA_E_INDEX, mba_get(r, CAP, &v));
    HZ_EXPECT(MBA_E_INDEX, mba_get(r, SPARSE / 2, &v));
    HZ_EXPECT(MBA_E_INDEX, mba_get(r, SPARSE - 1, &v));
    HZ_EXPECT(MBA_E_INDEX, mba_get(h, SPARSE - 1, &v));
    HZ_OK(mba_open(path, MBA_COW, MBA_TYPE_U64, &c));
    HZ_EXPECT(MBA_E_INDEX, mba_get(c, SPARSE - 1, &v));
    HZ_OK(mba_close(c));

    /* Space comes back: a read-write open fills the holes and works. */
    if (unlink(filler) != 0)
        HZ_DIE("unlink %s", filler);
    HZ_OK(mba_open(path, 0, MBA_TYPE_U64, &g));
    HZ_OK(mba_len(g, &n));
    HZ_CHECK(n == SPARSE);
    HZ_OK(mba_get(g, SPARSE - 1, &v));
    HZ_CHECK(v == 0);
    HZ_OK(mba_get(g, CAP - 1, &v));
    HZ_CHECK(v == val(CAP - 1));
    v = 11;
    HZ_OK(mba_append(g, &v));
    struct stat st;
    if (stat(path, &st) != 0)
        HZ_DIE("stat");
    HZ_CHECK((uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size);
    HZ_OK(mba_close(g));
    HZ_OK(mba_close(r));
    HZ_OK(mba_close(h));
    unlink(path);
    return hz_done();
}

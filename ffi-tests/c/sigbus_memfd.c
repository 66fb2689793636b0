/* sigbus_memfd - an anonymous array (mba_anon, a memfd) is sealed against
 * shrinking (F_SEAL_SHRINK): another process that reopens it through
 * /proc/PID/fd/N cannot ftruncate it smaller (EPERM), may still make it
 * larger, and the owner, without the SIGBUS guard, reads every element
 * afterwards without a signal. Driven by ffi-tests/tests/sigbus.rs.
 *
 * usage: sigbus_memfd
 * Prints "ok" (exit 0) or "failed N" (exit 1) as its last line.
 */
#include "hostile.h"

#include <sys/wait.h>

#define ROWS 100000

int main(void)
{
    mba_handle h;
    static uint64_t chunk[ROWS];
    HZ_OK(mba_anon(0, MBA_TYPE_U64, 0, &h));
    for (uint64_t i = 0; i < ROWS; i++)
        chunk[i] = i * 5 + 2;
    HZ_OK(mba_extend(h, ROWS, chunk));
    int fd = -1;
    HZ_OK(mba_fd(h, &fd));
    struct stat st0;
    if (fstat(fd, &st0) != 0)
        HZ_DIE("fstat");

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), fd);
    pid_t pid = fork();
    if (pid < 0)
        HZ_DIE("fork");
    if (pid == 0) {
        /* The other process: exec'd afresh would do the same; it reopens
         * the memfd by its /proc path (a new open file description). */
        int f = open(path, O_RDWR);
        if (f < 0)
            _exit(10);
        if (ftruncate(f, 4096) == 0)
            _exit(11); /* shrunk: the seal is missing */
        if (errno != EPERM)
            _exit(12);
        if (ftruncate(f, 0) == 0)
            _exit(13);
        if (ftruncate(f, st0.st_size + 65536) != 0) /* growth stays allowed */
            _exit(14);
        _exit(0);
    }
    int ws = 0;
    if (waitpid(pid, &ws, 0) != pid)
        HZ_DIE("waitpid");
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        printf("FAIL the other process: status %d (11/13: it shrank the memfd; 12: not "
               "EPERM; 14: growth refused)\n",
               WIFEXITED(ws) ? WEXITSTATUS(ws) : -WTERMSIG(ws));
        hz_failures++;
    }
    struct stat st1;
    if (fstat(fd, &st1) != 0)
        HZ_DIE("fstat");
    HZ_CHECK(st1.st_size >= st0.st_size);

    /* Every element is still there (a shrink would have been SIGBUS here:
     * the guard is off). */
    uint64_t n = 0, v = 0, bad = 0;
    HZ_OK(mba_len(h, &n));
    HZ_CHECK(n == ROWS);
    for (uint64_t i = 0; i < n; i += 97) {
        HZ_OK(mba_get(h, i, &v));
        bad += v != i * 5 + 2;
    }
    HZ_OK(mba_get(h, ROWS - 1, &v));
    HZ_CHECK(v == (uint64_t)(ROWS - 1) * 5 + 2);
    HZ_CHECK(bad == 0);
    HZ_OK(mba_append_u64(h, 1));
    HZ_OK(mba_close(h));
    return hz_done();
}

/* mp_fork - handles inherited through fork(2).
 *
 * usage: mp_fork concurrent NAME ID   parent appends (takes its token), forks
 *                                     two children; parent and children
 *                                     append 20,000 records each through the
 *                                     inherited handle (ids ID, ID+1, ID+2)
 *        mp_fork lockheld NAME ID     parent holds mba_lock; the child's
 *                                     trylock is BUSY, its unlock NOTLOCKED,
 *                                     its append waits for the parent's
 *                                     unlock (it lands after the parent's
 *                                     last record)
 *        mp_fork parentkilled NAME ID parent takes mba_lock, forks, prints
 *                                     "locked child=PID" and sleeps; the test
 *                                     SIGKILLs it; the child sees it die and
 *                                     its append recovers the lock
 * Prints "ok ..." and exits 0, or "FAIL ..." and exits 1.
 */
#include <signal.h>
#include <sys/wait.h>

#include "mp_common.h"

/* Unlike mp_common.h's FAIL: flushes and _exits (forked children). */
#undef FAIL
#define FAIL(...)                                                            \
    do {                                                                     \
        printf("FAIL " __VA_ARGS__);                                         \
        printf("\n");                                                        \
        fflush(stdout);                                                      \
        _exit(1);                                                            \
    } while (0)

static void append_n(mba_handle h, uint32_t id, uint32_t from, uint32_t n)
{
    for (uint32_t s = from; s < from + n; s++) {
        mp_rec r = mp_make(id, s);
        MP_OK(mba_append(h, &r));
    }
}

static int reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        MP_DIE("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        MP_DIE("usage: mp_fork concurrent|lockheld|parentkilled NAME ID");
    const char *mode = argv[1];
    uint32_t id = (uint32_t)strtoul(argv[3], NULL, 10);
    mba_handle h = mp_open_records(argv[2], 0);
    alarm(60); /* never hang the suite */

    if (!strcmp(mode, "concurrent")) {
        append_n(h, id, 1, 10); /* the parent has its token before fork */
        pid_t kids[2];
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            if (kids[k] < 0)
                MP_DIE("fork");
            if (kids[k] == 0) {
                alarm(60);
                append_n(h, id + 1 + (uint32_t)k, 1, 20000);
                _exit(0);
            }
        }
        append_n(h, id, 11, 19990);
        for (int k = 0; k < 2; k++)
            if (reap(kids[k]) != 0)
                FAIL("child %d failed", k);
        printf("ok concurrent\n");
        return 0;
    }

    if (!strcmp(mode, "lockheld")) {
        append_n(h, id, 1, 1);
        MP_OK(mba_lock(h));
        append_n(h, id, 2, 1);
        int p[2];
        if (pipe(p) != 0)
            MP_DIE("pipe");
        pid_t kid = fork();
        if (kid == 0) {
            alarm(60);
            close(p[0]);
            int rc = mba_try_lock(h);
            if (rc != MBA_E_BUSY)
                FAIL("child: trylock while the parent holds the lock gave %d", rc);
            rc = mba_unlock(h);
            if (rc != MBA_E_NOTLOCKED)
                FAIL("child: unlock of the parent's lock gave %d", rc);
            if (write(p[1], "r", 1) != 1)
                MP_DIE("write");
            append_n(h, id + 1, 1, 1); /* must wait for the parent */
            /* and then the child can take the lock of its own */
            MP_OK(mba_lock(h));
            append_n(h, id + 1, 2, 1);
            MP_OK(mba_unlock(h));
            _exit(0);
        }
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            FAIL("child died before appending");
        /* Give a child that wrongly shared our lock time to get through. */
        usleep(100000);
        uint64_t len;
        MP_OK(mba_len(h, &len));
        if (len != 2)
            FAIL("the child appended while the parent held the lock (len %llu)",
                 (unsigned long long)len);
        append_n(h, id, 3, 1); /* still under our lock: skips locking */
        MP_OK(mba_unlock(h));
        if (reap(kid) != 0)
            FAIL("child failed");
        MP_OK(mba_len(h, &len));
        if (len != 5)
            FAIL("length %llu, expected 5", (unsigned long long)len);
        mp_rec r;
        MP_OK(mba_get(h, 2, &r));
        if (r.writer != id || r.seq != 3)
            FAIL("row 2 is writer %u seq %u: the child got in before the unlock", r.writer,
                 r.seq);
        MP_OK(mba_get(h, 3, &r));
        if (r.writer != id + 1 || r.seq != 1)
            FAIL("row 3 is writer %u seq %u", r.writer, r.seq);
        printf("ok lockheld\n");
        return 0;
    }

    if (!strcmp(mode, "parentkilled")) {
        append_n(h, id, 1, 1);
        MP_OK(mba_lock(h));
        append_n(h, id, 2, 1);
        int p[2];
        if (pipe(p) != 0)
            MP_DIE("pipe");
        pid_t kid = fork();
        if (kid == 0) {
            alarm(60);
            close(p[1]);
            char c;
            while (read(p[0], &c, 1) > 0) {
            } /* EOF: the parent is dead */
            append_n(h, id + 1, 1, 1); /* recovers the dead parent's lock */
            uint64_t len;
            MP_OK(mba_len(h, &len));
            mp_rec r;
            MP_OK(mba_get(h, len - 1, &r));
            if (len != 3 || r.writer != id + 1)
                FAIL("child: length %llu, last writer %u", (unsigned long long)len, r.writer);
            MP_OK(mba_lock(h)); /* and the lock works normally afterwards */
            append_n(h, id + 1, 2, 1);
            MP_OK(mba_unlock(h));
            printf("ok parentkilled: child recovered the lock\n");
            fflush(stdout);
            _exit(0);
        }
        close(p[0]);
        printf("locked child=%d\n", (int)kid);
        fflush(stdout);
        for (;;)
            pause();
    }
    MP_DIE("unknown mode %s", mode);
}

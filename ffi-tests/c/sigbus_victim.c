/* sigbus_victim - another process truncates an array this process has
 * mapped, and the opt-in SIGBUS guard (mba_sigbus_guard) must turn the
 * library's next access into MBA_E_TRUNCATED (issue 14, the paragraph
 * after scenario 12). Driven by ffi-tests/tests/sigbus.rs, also built
 * with -fsanitize=address by scripts/suites/sigbus.sh.
 *
 * usage: sigbus_victim MODE PREFIX
 *   guard  for each library call below: a fresh shm array "PREFIX-k" of
 *          ROWS u64, a forked child (a separate process) opens it by its
 *          /dev/shm path and ftruncates it, then the call must return
 *          MBA_E_TRUNCATED, the process survives, and later calls on the
 *          same handle (even of rows the file still holds) stay errors.
 *   off    the guard stays off: the first mba_get past the new end must
 *          kill the process with SIGBUS (proves the test can fail).
 *   chain  a SIGBUS handler of our own is installed first, then the guard:
 *          a guarded fault never reaches ours, a SIGBUS sent with kill()
 *          does, and a fault through the raw pointer from mba_get_ptr
 *          reaches ours (which exits with status 42).
 *   dfl    the guard is on, then a raw-pointer fault: the previous
 *          disposition was SIG_DFL, so the process dies of SIGBUS.
 * Prints "ok" (exit 0) or "failed N" (exit 1) as its last line.
 */
#include "hostile.h"

#include <signal.h>
#include <sys/wait.h>

#define ROWS 100000
#define KEEP (65536 + 8192) /* bytes left: the 64 KiB header region and the first 1,024 rows */

static char prefix[200];

static void path_of(int k, char *buf, size_t n)
{
    snprintf(buf, n, "/dev/shm/%s-%d", prefix, k);
}

/* A fresh array of ROWS u64 (and room for more), its name in name. */
static mba_handle make(int k, char *name, size_t n)
{
    static uint64_t chunk[ROWS];
    mba_handle h;
    snprintf(name, n, "shm://%s-%d", prefix, k);
    HZ_OK(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
    for (uint64_t i = 0; i < ROWS; i++)
        chunk[i] = i * 3 + 1;
    HZ_OK(mba_reserve(h, 2 * ROWS));
    HZ_OK(mba_extend(h, ROWS, chunk));
    return h;
}

/* Another process (a forked child touching nothing of ours) truncates the
 * array's file to `keep` bytes. */
static void truncate_by_child(int k, off_t keep)
{
    char p[300];
    path_of(k, p, sizeof p);
    pid_t pid = fork();
    if (pid < 0)
        HZ_DIE("fork");
    if (pid == 0) {
        int fd = open(p, O_RDWR);
        _exit(fd < 0 || ftruncate(fd, keep) != 0 ? 1 : 0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        HZ_DIE("truncating child failed (status %d)", st);
}

static void cleanup(int k, mba_handle h)
{
    char name[300];
    snprintf(name, sizeof name, "shm://%s-%d", prefix, k);
    char p[300];
    mba_close(h);
    path_of(k, p, sizeof p);
    unlink(p); /* (mba_unlink refuses what is no longer an array) */
    (void)name;
}

enum op { GET, READ, GET_I64, GET_F64, APPEND, APPEND_U64, EXTEND, POP, SET, WRITE, INSERT,
          LEN0, SEQ0, WAIT0, NOPS };
static const char *op_name[] = {"get", "read", "get_i64", "get_f64", "append", "append_u64",
                                "extend", "pop", "set", "write", "insert", "len(header gone)",
                                "seq(header gone)", "wait(header gone)"};

static int run_op(mba_handle h, enum op op)
{
    uint64_t v = 7, buf[16] = {0}, n = 0;
    int64_t i64 = 0;
    double d = 0;
    switch (op) {
    case GET: return mba_get(h, ROWS - 1, &v);
    case READ: return mba_read(h, ROWS - 16, 16, buf);
    case GET_I64: return mba_get_i64(h, ROWS - 1, &i64);
    case GET_F64: return mba_get_f64(h, ROWS - 1, &d);
    case APPEND: return mba_append(h, &v);
    case APPEND_U64: return mba_append_u64(h, 9);
    case EXTEND: return mba_extend(h, 16, buf);
    case POP: return mba_pop(h, &v);
    case SET: return mba_set(h, ROWS - 1, &v);
    case WRITE: return mba_write(h, ROWS - 16, 16, buf);
    case INSERT: return mba_insert(h, ROWS - 1, 1, buf);
    case LEN0: return mba_len(h, &n);
    case SEQ0: return mba_seq(h, &n);
    case WAIT0: return mba_wait(h, 12345, 0, &n);
    default: return 0;
    }
}

static int mode_guard(void)
{
    HZ_OK(mba_sigbus_guard(1));
    HZ_OK(mba_sigbus_guard(1)); /* idempotent */
    for (int op = 0; op < NOPS; op++) {
        char name[300];
        mba_handle h = make(op, name, sizeof name);
        truncate_by_child(op, op >= LEN0 ? 0 : KEEP);
        uint64_t v = 0, n = 0;
        if (op < LEN0) /* row 0 is still in the file: readable until a fault */
            HZ_OK(mba_get(h, 0, &v));
        int rc = run_op(h, (enum op)op);
        if (rc != MBA_E_TRUNCATED) {
            printf("FAIL %s after truncation -> %d (%s), expected MBA_E_TRUNCATED\n",
                   op_name[op], rc, mba_strerror(rc));
            hz_failures++;
        }
        /* Poisoned for good: every later access fails, even of row 0 (still
         * in the file) and the length; nothing reads the zero pages as data. */
        HZ_EXPECT(MBA_E_TRUNCATED, mba_get(h, 0, &v));
        HZ_EXPECT(MBA_E_TRUNCATED, mba_len(h, &n));
        HZ_EXPECT(MBA_E_TRUNCATED, mba_append(h, &v));
        HZ_EXPECT(MBA_E_BUSY, mba_try_append(h, &v));
        HZ_EXPECT(MBA_E_TRUNCATED, run_op(h, (enum op)op));
        /* A second handle on the same mapping shares the verdict; a new
         * open validates the file afresh. */
        mba_handle g = -1;
        HZ_EXPECT(MBA_E_TRUNCATED, mba_open(name, 0, MBA_TYPE_U64, &g));
        if (g > 0)
            mba_close(g);
        cleanup(op, h);
        HZ_SAY("survived %s", op_name[op]);
    }
    HZ_OK(mba_sigbus_guard(0));
    HZ_OK(mba_sigbus_guard(0));
    return hz_done();
}

static int mode_off(void)
{
    char name[300];
    mba_handle h = make(0, name, sizeof name);
    truncate_by_child(0, KEEP);
    HZ_SAY("reading");
    uint64_t v = 0;
    int rc = mba_get(h, ROWS - 1, &v);
    printf("FAIL survived without the guard (mba_get -> %d)\n", rc);
    cleanup(0, h);
    return 3;
}

static volatile sig_atomic_t own_sent, own_faults;

static void own_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (si->si_code <= 0) { /* sent with kill() */
        own_sent++;
        return;
    }
    own_faults++;
    static const char msg[] = "own handler: fault\n";
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
    _exit(42);
}

static int mode_chain(int dfl)
{
    if (!dfl) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = own_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, NULL) != 0)
            HZ_DIE("sigaction");
    }
    HZ_OK(mba_sigbus_guard(1));
    char name[300];
    mba_handle h = make(0, name, sizeof name);
    void *p = NULL;
    HZ_OK(mba_get_ptr(h, &p));
    truncate_by_child(0, KEEP);
    uint64_t v = 0;
    HZ_EXPECT(MBA_E_TRUNCATED, mba_get(h, ROWS - 1, &v));
    HZ_CHECK(own_faults == 0);
    if (!dfl) {
        kill(getpid(), SIGBUS);
        HZ_CHECK(own_sent == 1);
    }
    HZ_SAY("touching the raw pointer");
    /* A page the library never touched: still past the end of the file. */
    volatile uint64_t *raw = (volatile uint64_t *)p;
    v = raw[ROWS / 2];
    printf("FAIL survived a raw-pointer fault (read %llu)\n", (unsigned long long)v);
    cleanup(0, h);
    return 3;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        HZ_DIE("usage: sigbus_victim guard|off|chain|dfl PREFIX");
    snprintf(prefix, sizeof prefix, "%s", argv[2]);
    if (!strcmp(argv[1], "guard"))
        return mode_guard();
    if (!strcmp(argv[1], "off"))
        return mode_off();
    if (!strcmp(argv[1], "chain"))
        return mode_chain(0);
    if (!strcmp(argv[1], "dfl"))
        return mode_chain(1);
    HZ_DIE("unknown mode %s", argv[1]);
}

/*
 * api_locksleep.c - writers sleep on the lock word (FORMAT.md 4.4,
 * compat bit LOCK_SLEEP), are woken by a release, and still find a
 * SIGKILLed holder (which wakes nobody) through their bounded sleeps.
 *
 * 1. A new array carries compat bit 0 (LOCK_SLEEP).
 * 2. A holder takes mba_lock; three writer processes block in mba_append.
 *    While they wait, the lock_sleepers flag (offset 328) is set and each
 *    is seen inside FUTEX_WAIT (/proc/PID/syscall; before the protocol
 *    they spun, yielded and slept in nanosleep, the flag untouched). The
 *    holder unlocks: every waiter appends and exits, the flag is clear.
 * 3. The same, but the holder is SIGKILLed while the three sleep: every
 *    waiter finds it dead and appends, within 2 s in all.
 * Every child runs under alarm(): a hang is a SIGALRM death (a failure).
 */
#include "api_test.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define H_LOCK_SLEEPERS 328
#define WAITERS 3

static uint32_t *header_word(mba_handle h, size_t off)
{
    const uint64_t *lp = NULL;
    OK(mba_len_ptr(h, &lp));
    return (uint32_t *)((unsigned char *)(uintptr_t)lp - H_LEN + off);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The system call the process is in (/proc/PID/syscall), -1 if none. */
static long in_syscall(pid_t pid)
{
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long nr = -1;
    if (fgets(buf, sizeof buf, f) && buf[0] >= '0' && buf[0] <= '9')
        nr = strtol(buf, NULL, 10);
    fclose(f);
    return nr;
}

/* A writer: opens, appends its id (blocking behind the holder), exits. */
static void waiter(const char *path, int64_t id)
{
    alarm(10);
    mba_handle h = 0;
    if (mba_open(path, 0, MBA_TYPE_I64, &h) != MBA_OK)
        _exit(2);
    _exit(mba_append_i64(h, id) == MBA_OK ? 0 : 3);
}

/* One scenario: kill (1) or unlock (0) the holder while WAITERS sleep. */
static void scenario(const char *leaf, int kill_holder)
{
    const char *path = T_PATH(leaf);
    mba_handle h = 0;
    REQUIRE(OK(mba_open(path, MBA_CREATE, MBA_TYPE_I64, &h)));
    OK(mba_append_i64(h, 0)); /* this handle's token, drawn now */
    uint32_t *sleepers = header_word(h, H_LOCK_SLEEPERS);
    uint32_t *lock = header_word(h, H_LOCK);

    int ready[2], go[2];
    REQUIRE(pipe(ready) == 0 && pipe(go) == 0);
    pid_t holder = fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        alarm(20);
        mba_handle hh = 0;
        char c;
        if (mba_open(path, 0, MBA_TYPE_I64, &hh) != MBA_OK || mba_lock(hh) != MBA_OK)
            _exit(2);
        if (write(ready[1], "L", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(mba_unlock(hh) == MBA_OK ? 0 : 3);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    pid_t w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = fork();
        REQUIRE(w[i] >= 0);
        if (w[i] == 0)
            waiter(path, 1 + i);
    }
    /* All three seen asleep in FUTEX_WAIT, the flag set, within 5 s. */
    double t0 = now_ms();
    int seen = 0, in_futex[WAITERS] = {0};
    uint32_t flag = 0;
    while (seen < WAITERS && now_ms() - t0 < 5000) {
        for (int i = 0; i < WAITERS; i++)
            if (!in_futex[i] && in_syscall(w[i]) == SYS_futex) {
                in_futex[i] = 1;
                seen++;
            }
        flag = __atomic_load_n(sleepers, __ATOMIC_SEQ_CST);
        usleep(200);
    }
    flag = __atomic_load_n(sleepers, __ATOMIC_SEQ_CST);
    printf("%s: %d of %d writers seen in FUTEX_WAIT after %.1f ms, lock_sleepers %u\n", leaf,
           seen, WAITERS, now_ms() - t0, flag);
    CHECK_U64(seen, WAITERS);
    CHECK(flag != 0);

    double t1 = now_ms();
    if (kill_holder)
        kill(holder, SIGKILL);
    else
        REQUIRE(write(go[1], "U", 1) == 1);
    int ok = 1, st = 0;
    for (int i = 0; i < WAITERS; i++) {
        REQUIRE(waitpid(w[i], &st, 0) == w[i]);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    double ms = now_ms() - t1;
    REQUIRE(waitpid(holder, &st, 0) == holder);
    printf("%s: holder %s, %d waiters appended in %.2f ms%s\n", leaf,
           kill_holder ? "SIGKILLed" : "unlocked", WAITERS, ms, ok ? "" : " (a waiter FAILED)");
    CHECK(ok);
    CHECK(kill_holder ? WIFSIGNALED(st) : WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(ms < 2000);

    uint64_t n = 0;
    OK(mba_len(h, &n));
    CHECK_U64(n, 1 + WAITERS);
    int64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v = -1;
        OK(mba_get_i64(h, i, &v));
        sum += v;
    }
    CHECK_I64(sum, 1 + 2 + 3);
    CHECK_U64(__atomic_load_n(lock, __ATOMIC_SEQ_CST), 0);
    CHECK_U64(__atomic_load_n(sleepers, __ATOMIC_SEQ_CST), 0);
    /* And the array is still usable by this process. */
    OK(mba_append_i64(h, 7));
    OK(mba_close(h));
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    unlink(path);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    {
        const char *path = T_PATH("compat-bit");
        mba_handle h = 0;
        REQUIRE(OK(mba_open(path, MBA_CREATE, MBA_TYPE_I64, &h)));
        uint64_t compat = 0;
        memcpy(&compat, (unsigned char *)header_word(h, H_COMPAT), 8);
        printf("compat bits of a new array: %#llx\n", (unsigned long long)compat);
        CHECK_U64(compat, 1);
        OK(mba_close(h));
        unlink(path);
    }
    scenario("unlock", 0);
    scenario("sigkill", 1);
    return t_done("api_locksleep");
}

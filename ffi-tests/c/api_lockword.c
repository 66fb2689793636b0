/*
 * api_lockword.c - a lock word that names no live holder is always
 * recovered, whatever its value (issue 14, scenario 4).
 *
 * FORMAT.md 4.4: a writer draws its token from next_token (fetch-add,
 * skipping 0 and any token whose byte lock another description holds),
 * so in a fresh file the first writer draws 1. Before the fix, a lock
 * word equal to the token the writer draws (one flipped bit in a fresh
 * file) made every append spin forever: the writer took the word for a
 * holder of its own. Each case below runs in a child process under
 * alarm(): a hang is a SIGALRM death, reported as a failure.
 */
#include "api_test.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

enum mode {
    BEFORE_OPEN,  /* the word is damaged in the file before the writer opens it */
    FORGED_OWN,   /* the word is set to the writer's own token after it drew it */
    FORGED_LOCK,  /* the same, then mba_lock / mba_try_lock instead of appends */
    THREADS       /* no damage: four threads of one handle keep mutual exclusion */
};

struct lcase {
    const char *leaf;
    uint32_t next_token;
    uint32_t lock;
    enum mode mode;
};

static const struct lcase cases[] = {
    /* The case: a fresh file, bit 0 of the lock word flipped: the
     * token the first writer draws. */
    {"fresh-bitflip", 1, 1, BEFORE_OPEN},
    {"next-7fffffff", 0x7fffffffu, 0x7fffffffu, BEFORE_OPEN},
    /* next_token about to wrap: the writer draws 0xffffffff. */
    {"next-ffffffff", 0xffffffffu, 0xffffffffu, BEFORE_OPEN},
    /* next_token 0: the writer skips 0 and draws 1. */
    {"next-0", 0, 1, BEFORE_OPEN},
    /* Tokens of nobody alive (not the writer's own): recovered by the
     * liveness check (these passed before the fix too). */
    {"dead-high", 1, 0x80000001u, BEFORE_OPEN},
    {"dead-low", 5, 3, BEFORE_OPEN},
    /* A foreign process writes the writer's own token into the word while
     * the writer does not hold it. */
    {"forged-own", 1, 0, FORGED_OWN},
    {"forged-own-lock", 1, 0, FORGED_LOCK},
    {"threads", 1, 0, THREADS},
};

static uint32_t *header_word(mba_handle h, size_t off)
{
    const uint64_t *lp = NULL;
    OK(mba_len_ptr(h, &lp));
    return (uint32_t *)((unsigned char *)(uintptr_t)lp - H_LEN + off);
}

static void *append_many(void *p)
{
    mba_handle h = *(mba_handle *)p;
    for (int i = 0; i < 20000; i++)
        if (mba_append_i64(h, i) != MBA_OK)
            return (void *)1;
    return NULL;
}

/* The child: open, write, check; exits 0 on success. */
static int child(const char *path, const struct lcase *c)
{
    alarm(5);
    t_failures = 0; /* this process's own checks only */
    mba_handle h = 0;
    if (!OK(mba_open(path, 0, MBA_TYPE_I64, &h)))
        return 2;
    switch (c->mode) {
    case BEFORE_OPEN:
        for (int i = 0; i < 3; i++)
            OK(mba_append_i64(h, i));
        break;
    case FORGED_OWN: {
        OK(mba_append_i64(h, 0)); /* draws the token */
        uint32_t own = __atomic_load_n(header_word(h, H_NEXT_TOKEN), __ATOMIC_SEQ_CST) - 1;
        CHECK(own == 1);
        __atomic_store_n(header_word(h, H_LOCK), own, __ATOMIC_SEQ_CST);
        OK(mba_append_i64(h, 1));
        __atomic_store_n(header_word(h, H_LOCK), own, __ATOMIC_SEQ_CST);
        OK(mba_append_i64(h, 2));
        break;
    }
    case FORGED_LOCK: {
        OK(mba_append_i64(h, 0));
        uint32_t own = __atomic_load_n(header_word(h, H_NEXT_TOKEN), __ATOMIC_SEQ_CST) - 1;
        __atomic_store_n(header_word(h, H_LOCK), own, __ATOMIC_SEQ_CST);
        OK(mba_try_lock(h));
        OK(mba_append_i64(h, 1));
        OK(mba_unlock(h));
        __atomic_store_n(header_word(h, H_LOCK), own, __ATOMIC_SEQ_CST);
        OK(mba_lock(h));
        OK(mba_append_i64(h, 2));
        OK(mba_unlock(h));
        break;
    }
    case THREADS: {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            REQUIRE(pthread_create(&t[i], NULL, append_many, &h) == 0);
        for (int i = 0; i < 4; i++) {
            void *r = NULL;
            pthread_join(t[i], &r);
            CHECK(r == NULL);
        }
        uint64_t n = 0;
        OK(mba_len(h, &n));
        CHECK_U64(n, 80000);
        OK(mba_close(h));
        return t_failures ? 1 : 0;
    }
    }
    uint64_t n = 0;
    OK(mba_len(h, &n));
    CHECK_U64(n, 3);
    for (uint64_t i = 0; i < 3; i++) {
        int64_t v = -1;
        OK(mba_get_i64(h, i, &v));
        CHECK_I64(v, (int64_t)i);
    }
    /* Released: the word is free again. */
    CHECK(__atomic_load_n(header_word(h, H_LOCK), __ATOMIC_SEQ_CST) == 0);
    OK(mba_close(h));
    return t_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct lcase *c = &cases[k];
        const char *path = T_PATH(c->leaf);
        mba_handle h = 0;
        REQUIRE(OK(mba_open(path, MBA_CREATE, MBA_TYPE_I64, &h)));
        OK(mba_close(h));
        /* The mutable words are outside the header checksum: edit them in
         * the file as a foreign process (or a flipped bit) would. */
        unsigned char w[4];
        int fd = open(path, O_RDWR);
        REQUIRE(fd >= 0);
        t_put_le(w, 0, c->next_token, 4);
        REQUIRE(pwrite(fd, w, 4, H_NEXT_TOKEN) == 4);
        t_put_le(w, 0, c->lock, 4);
        REQUIRE(pwrite(fd, w, 4, H_LOCK) == 4);
        close(fd);

        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            _exit(child(path, c));
        int st = 0;
        REQUIRE(waitpid(pid, &st, 0) == pid);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        printf("%-16s next_token %#010x lock %#010x: %s in %.1f ms\n", c->leaf,
               (unsigned)c->next_token, (unsigned)c->lock,
               ok ? "ok" : (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) ? "HUNG (killed after 5 s)"
                                                                        : "FAILED",
               ms);
        CHECK(ok);
        unlink(path);
    }
    return t_done("api_lockword");
}

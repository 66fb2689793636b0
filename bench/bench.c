/* bench.c - libmba benchmarks and the C floors they are compared with.
 * Built and run by bench/run.sh; every figure is printed as
 *     RESULT <key> <value> <unit>
 * See bench/README.md for what each figure means.
 *
 * usage: bench <test> [args]
 *   floor            plain non-inlined C append (release store of len) into a
 *                    prefaulted MAP_SHARED mapping, ns per element
 *   floorlock        the same inside a CAS + xchg lock (our lock design, in C)
 *   floorlock4       4 processes contending for that C lock, ns per append
 *   ofd              kernel OFD byte-lock round trip (lock + unlock)
 *   futexfloor       wake-up latency of a bare shared futex between two
 *                    processes (the floor of "wake")
 *   append           mba_append of one u32, uncontended
 *   batch            mba_lock, mba_append loop, mba_unlock, ns per element
 *   extend           mba_extend in chunks of 1024, ns per element
 *   contend4         4 processes, mba_append, ns per append in aggregate
 *   recovery         lock recovery after SIGKILL of a holder, us, beside
 *                    kill -> reaped and a waiter the kernel wakes (F_OFD_SETLKW)
 *   wake             mba_wait wake-up latency, us (p50/p90/p99)
 *   handoff N        C producer -> C consumer, N u64 one at a time; the
 *                    consumer reads len and the elements directly and calls
 *                    mba_wait when caught up: after ~2000 polls, and (second
 *                    figure) at once
 *   consume NAME N   consumer only (for the Python ctypes producer)
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define REPS ((int)qn(3, 3)) /* best of 3 per call; run.sh repeats the calls */

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* Best of the repetitions: the least disturbed run (other processes share
 * the machine); used for the CPU-bound per-element figures. */
static double best(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

/* ------------------------------------------------------------- C floors */

struct shared {
    _Atomic uint32_t lock;
    uint32_t pad0[15];
    _Atomic uint64_t len;
    uint64_t pad1[7];
    _Atomic uint32_t waiters;
    uint32_t pad2[15];
    uint32_t data[];
};

static struct shared *shared_map(size_t elems)
{
    size_t bytes = sizeof(struct shared) + elems * 4;
    int fd = memfd_create("floor", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0)
        exit(2);
    struct shared *s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED)
        exit(2);
    memset(s, 0, bytes); /* prefault */
    close(fd);
    return s;
}

__attribute__((noinline)) static void floor_append(struct shared *s, uint32_t v)
{
    uint64_t n = atomic_load_explicit(&s->len, memory_order_relaxed);
    s->data[n] = v;
    atomic_store_explicit(&s->len, n + 1, memory_order_release);
}

static void wake_if_waiters(struct shared *s)
{
    if (atomic_load_explicit(&s->waiters, memory_order_relaxed))
        fprintf(stderr, "unexpected waiter\n");
}

__attribute__((noinline)) static void floor_locked_append(struct shared *s, uint32_t v)
{
    uint32_t z = 0;
    if (!atomic_compare_exchange_strong_explicit(&s->lock, &z, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        for (int n = 0;; n++) {
            z = 0;
            if (atomic_load_explicit(&s->lock, memory_order_relaxed) == 0 &&
                atomic_compare_exchange_strong_explicit(&s->lock, &z, 1, memory_order_acquire,
                                                        memory_order_relaxed))
                break;
            if (n > 100)
                sched_yield();
        }
    }
    uint64_t n = atomic_load_explicit(&s->len, memory_order_relaxed);
    s->data[n] = v;
    atomic_store_explicit(&s->len, n + 1, memory_order_release);
    atomic_exchange(&s->lock, 0);
    wake_if_waiters(s);
}

#define NFLOOR ((uint32_t)qn(10000000u, 100))

static void bench_floor(int locked)
{
    struct shared *s = shared_map(NFLOOR);
    double r[7];
    for (int k = 0; k < REPS; k++) {
        atomic_store(&s->len, 0);
        uint64_t t0 = now_ns();
        if (locked)
            for (uint32_t i = 0; i < NFLOOR; i++)
                floor_locked_append(s, i);
        else
            for (uint32_t i = 0; i < NFLOOR; i++)
                floor_append(s, i);
        r[k] = (double)(now_ns() - t0) / NFLOOR;
    }
    result(locked ? "floor_lock_append_ns" : "floor_append_ns", best(r, REPS), "ns");
}

#define NCONT ((uint32_t)qn(2000000u, 100))

static void bench_floorlock4(void)
{
    struct shared *s = shared_map(4 * NCONT);
    double r[3];
    for (int k = 0; k < 3; k++) {
        atomic_store(&s->len, 0);
        int go[2];
        if (pipe(go) != 0)
            exit(2);
        pid_t kids[4];
        for (int p = 0; p < 4; p++) {
            if ((kids[p] = fork()) == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) < 0)
                    _exit(2);
                for (uint32_t i = 0; i < NCONT; i++)
                    floor_locked_append(s, i);
                _exit(0);
            }
        }
        close(go[0]);
        usleep(20000);
        uint64_t t0 = now_ns();
        close(go[1]); /* EOF releases all four */
        for (int p = 0; p < 4; p++)
            waitpid(kids[p], NULL, 0);
        r[k] = (double)(now_ns() - t0) / (4.0 * NCONT);
        if (atomic_load(&s->len) != 4ull * NCONT)
            fprintf(stderr, "floorlock4: lost appends\n");
    }
    result("floor_lock_4proc_ns", median(r, 3), "ns");
}

static void bench_ofd(void)
{
    char path[] = "/tmp/mba-bench-ofd-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        exit(2);
    unlink(path);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_whence = SEEK_SET;
    fl.l_start = 1ll << 40;
    fl.l_len = 1;
    const int n = 200000;
    double r[3];
    for (int k = 0; k < 3; k++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            fl.l_type = F_WRLCK;
            fcntl(fd, F_OFD_SETLK, &fl);
            fl.l_type = F_UNLCK;
            fcntl(fd, F_OFD_SETLK, &fl);
        }
        r[k] = (double)(now_ns() - t0) / n;
    }
    result("ofd_lock_roundtrip_ns", median(r, 3), "ns");
}

/* ---------------------------------------------------------- libmba */

static void bench_append(void)
{
    mba_handle h;
    OK(mba_anon(0, MBA_TYPE_U32, NFLOOR, &h));
    void *p;
    OK(mba_get_ptr(h, &p));
    memset(p, 0, (size_t)NFLOOR * 4); /* prefault like the floor */
    double r[7];
    for (int k = 0; k < REPS; k++) {
        OK(mba_clear(h));
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < NFLOOR; i++)
            mba_append(h, &i);
        r[k] = (double)(now_ns() - t0) / NFLOOR;
    }
    uint64_t len;
    OK(mba_len(h, &len));
    if (len != NFLOOR)
        fprintf(stderr, "append: len %llu\n", (unsigned long long)len);
    result("mba_append_ns", best(r, REPS), "ns");
    /* including growth from an empty array, for information */
    for (int k = 0; k < 3; k++) {
        mba_handle g;
        OK(mba_anon(0, MBA_TYPE_U32, 0, &g));
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < NFLOOR; i++)
            mba_append(g, &i);
        r[k] = (double)(now_ns() - t0) / NFLOOR;
        OK(mba_close(g));
    }
    result("mba_append_with_growth_ns", best(r, 3), "ns");

    for (int k = 0; k < REPS; k++) {
        OK(mba_clear(h));
        uint64_t t0 = now_ns();
        OK(mba_lock(h));
        for (uint32_t i = 0; i < NFLOOR; i++)
            mba_append(h, &i);
        OK(mba_unlock(h));
        r[k] = (double)(now_ns() - t0) / NFLOOR;
    }
    result("mba_lock_append_ns", best(r, REPS), "ns");

    static uint32_t chunk[1024];
    for (int k = 0; k < REPS; k++) {
        OK(mba_clear(h));
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < NFLOOR; i += 1024) {
            for (uint32_t j = 0; j < 1024; j++)
                chunk[j] = i + j;
            mba_extend(h, 1024, chunk);
        }
        r[k] = (double)(now_ns() - t0) / NFLOOR;
    }
    result("mba_extend1024_ns", best(r, REPS), "ns");
    OK(mba_close(h));
}

static void bench_contend4(void)
{
    mba_handle h = make_shm(MBA_TYPE_U32, 4ull * NCONT);
    double r[3];
    for (int k = 0; k < 3; k++) {
        OK(mba_clear(h));
        int go[2];
        if (pipe(go) != 0)
            exit(2);
        pid_t kids[4];
        for (int p = 0; p < 4; p++) {
            if ((kids[p] = fork()) == 0) {
                char c;
                close(go[1]);
                mba_handle c_h;
                OK(mba_open(shm_name, 0, MBA_TYPE_U32, &c_h));
                uint32_t v = 0;
                OK(mba_append(c_h, &v)); /* take a token before the start */
                if (read(go[0], &c, 1) < 0)
                    _exit(2);
                for (uint32_t i = 1; i < NCONT; i++)
                    mba_append(c_h, &i);
                _exit(0);
            }
        }
        close(go[0]);
        usleep(50000);
        uint64_t t0 = now_ns();
        close(go[1]);
        for (int p = 0; p < 4; p++)
            waitpid(kids[p], NULL, 0);
        r[k] = (double)(now_ns() - t0) / (4.0 * (NCONT - 1));
        uint64_t len;
        OK(mba_len(h, &len));
        if (len != 4ull * NCONT)
            fprintf(stderr, "contend4: len %llu\n", (unsigned long long)len);
    }
    result("mba_append_4proc_ns", median(r, 3), "ns");
    OK(mba_close(h));
    OK(mba_unlink(shm_name));
}

#define TRIALS ((int)qn(41, 8))

/* One trial of the kernel-notified floor of bench_recovery: ns from the
 * SIGKILL of a process holding an OFD write lock on a byte to a process
 * blocked in F_OFD_SETLKW on that byte having it. */
static uint64_t kernel_waiter_trial(const int ready[2], const int res[2])
{
    char path[] = "/tmp/mba-bench-kwait-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        exit(2);
    close(fd);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    char c;
    pid_t holder = fork();
    if (holder == 0) {
        int hfd = open(path, O_RDWR);
        if (hfd < 0 || fcntl(hfd, F_OFD_SETLK, &fl) != 0 || write(ready[1], "L", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    if (read(ready[0], &c, 1) != 1)
        exit(2);
    pid_t w = fork();
    if (w == 0) {
        int wfd = open(path, O_RDWR);
        if (wfd < 0 || write(ready[1], "W", 1) != 1)
            _exit(2);
        if (fcntl(wfd, F_OFD_SETLKW, &fl) != 0)
            _exit(2);
        uint64_t t1 = now_ns();
        if (write(res[1], &t1, 8) != 8)
            _exit(2);
        _exit(0);
    }
    if (read(ready[0], &c, 1) != 1)
        exit(2);
    usleep(3000); /* the waiter is blocked in F_OFD_SETLKW */
    uint64_t t0 = now_ns(), t1;
    kill(holder, SIGKILL);
    if (read(res[0], &t1, 8) != 8)
        exit(2);
    waitpid(holder, NULL, 0);
    waitpid(w, NULL, 0);
    unlink(path);
    return t1 - t0;
}

static void bench_recovery(void)
{
    mba_handle h = make_shm(MBA_TYPE_U32, 0);
    uint32_t v = 1;
    OK(mba_append(h, &v));
    uint64_t waiting[TRIALS], fresh[TRIALS], death[TRIALS], kwait[TRIALS];
    for (int t = 0; t < TRIALS; t++) {
        int ready[2], res[2];
        if (pipe(ready) != 0 || pipe(res) != 0)
            exit(2);
        pid_t holder = fork();
        if (holder == 0) {
            mba_handle hh;
            OK(mba_open(shm_name, 0, MBA_TYPE_U32, &hh));
            OK(mba_lock(hh));
            if (write(ready[1], "L", 1) != 1)
                _exit(2);
            for (;;)
                pause();
        }
        char c;
        if (read(ready[0], &c, 1) != 1)
            exit(2);
        /* (a) a writer already blocked in mba_lock when the holder dies */
        pid_t w = fork();
        if (w == 0) {
            mba_handle wh;
            OK(mba_open(shm_name, 0, MBA_TYPE_U32, &wh));
            if (write(ready[1], "W", 1) != 1)
                _exit(2);
            OK(mba_lock(wh));
            uint64_t t1 = now_ns();
            OK(mba_unlock(wh));
            if (write(res[1], &t1, 8) != 8)
                _exit(2);
            _exit(0);
        }
        if (read(ready[0], &c, 1) != 1)
            exit(2);
        usleep(3000); /* the waiter is in its sleeping phase */
        uint64_t t0 = now_ns();
        kill(holder, SIGKILL);
        uint64_t t1;
        if (read(res[0], &t1, 8) != 8)
            exit(2);
        waiting[t] = t1 - t0;
        waitpid(holder, NULL, 0);
        waitpid(w, NULL, 0);
        /* (c) the floor of (a): a process blocked in the kernel on the
         * holder's OFD byte lock (F_OFD_SETLKW), woken by the death itself,
         * reporting through the same pipe: the two wake-ups (waiter, then
         * this process) that (a) pays too, without any polling. */
        kwait[t] = kernel_waiter_trial(ready, res);
        /* (b) a writer that arrives after the holder is dead and reaped */
        holder = fork();
        if (holder == 0) {
            mba_handle hh;
            OK(mba_open(shm_name, 0, MBA_TYPE_U32, &hh));
            OK(mba_lock(hh));
            if (write(ready[1], "L", 1) != 1)
                _exit(2);
            for (;;)
                pause();
        }
        if (read(ready[0], &c, 1) != 1)
            exit(2);
        t0 = now_ns();
        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
        death[t] = now_ns() - t0; /* the kernel's part: kill -> reaped */
        t0 = now_ns();
        OK(mba_lock(h));
        fresh[t] = now_ns() - t0;
        OK(mba_unlock(h));
        close(ready[0]);
        close(ready[1]);
        close(res[0]);
        close(res[1]);
    }
    qsort(waiting, TRIALS, 8, cmp_u64);
    qsort(fresh, TRIALS, 8, cmp_u64);
    qsort(death, TRIALS, 8, cmp_u64);
    qsort(kwait, TRIALS, 8, cmp_u64);
    result("recovery_kernel_waiter_p50_us", kwait[TRIALS / 2] / 1e3, "us");
    result("holder_death_p50_us", death[TRIALS / 2] / 1e3, "us");
    result("recovery_waiting_p50_us", waiting[TRIALS / 2] / 1e3, "us");
    result("recovery_waiting_p90_us", waiting[TRIALS * 9 / 10] / 1e3, "us");
    result("recovery_fresh_p50_us", fresh[TRIALS / 2] / 1e3, "us");
    result("recovery_fresh_p90_us", fresh[TRIALS * 9 / 10] / 1e3, "us");
    OK(mba_close(h));
    OK(mba_unlink(shm_name));
}

#define WAKES_MAX 2000
#define WAKES ((int)qn(WAKES_MAX, 20))

static void bench_wake(void)
{
    mba_handle h = make_shm(MBA_TYPE_U64, 4096);
    int ready[2];
    if (pipe(ready) != 0)
        exit(2);
    pid_t w = fork();
    if (w == 0) {
        mba_handle wh;
        OK(mba_open(shm_name, 0, MBA_TYPE_U64, &wh));
        static uint64_t lat[WAKES_MAX];
        uint64_t seq, got = 0, len = 0;
        OK(mba_seq(wh, &seq));
        if (write(ready[1], "R", 1) != 1)
            _exit(2);
        while (len < (uint64_t)WAKES) {
            int rc = mba_wait(wh, seq, 2000000000ll, &seq);
            uint64_t t1 = now_ns();
            if (rc == MBA_E_TIMEOUT)
                continue;
            OK(rc);
            uint64_t ts;
            OK(mba_len(wh, &len));
            OK(mba_get(wh, len - 1, &ts));
            lat[got++] = t1 - ts; /* from the newest append to the wake-up */
        }
        qsort(lat, got, 8, cmp_u64);
        result("wake_p50_us", lat[got / 2] / 1e3, "us");
        result("wake_p90_us", lat[got * 9 / 10] / 1e3, "us");
        result("wake_p99_us", lat[got * 99 / 100] / 1e3, "us");
        result("wake_samples", (double)got, "wakes");
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        exit(2);
    for (int i = 0; i < WAKES; i++) {
        usleep(300); /* let the waiter fall asleep again */
        uint64_t t = now_ns();
        OK(mba_append(h, &t));
    }
    int st;
    waitpid(w, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "wake: waiter failed (status %d)\n", st);
    OK(mba_close(h));
    OK(mba_unlink(shm_name));
}

/* The floor of mba_wait: a bare FUTEX_WAIT / FUTEX_WAKE pair on a shared
 * word, same protocol as bench_wake (value = time of the wake call). */
static void bench_futexfloor(void)
{
    struct shared *s = shared_map(16);
    _Atomic uint64_t *ts = (_Atomic uint64_t *)&s->data[0];
    int ready[2];
    if (pipe(ready) != 0)
        exit(2);
    pid_t w = fork();
    if (w == 0) {
        static uint64_t lat[WAKES_MAX];
        uint32_t seen = 0;
        uint64_t got = 0;
        if (write(ready[1], "R", 1) != 1)
            _exit(2);
        while (seen < (uint32_t)WAKES) {
            syscall(SYS_futex, &s->lock, FUTEX_WAIT, seen, NULL, NULL, 0);
            uint64_t t1 = now_ns();
            uint32_t cur = atomic_load(&s->lock);
            if (cur == seen)
                continue;
            seen = cur;
            lat[got++] = t1 - atomic_load(ts);
        }
        qsort(lat, got, 8, cmp_u64);
        result("futex_wake_p50_us", lat[got / 2] / 1e3, "us");
        result("futex_wake_p90_us", lat[got * 9 / 10] / 1e3, "us");
        result("futex_wake_p99_us", lat[got * 99 / 100] / 1e3, "us");
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        exit(2);
    for (int i = 0; i < WAKES; i++) {
        usleep(300);
        atomic_store(ts, now_ns());
        atomic_fetch_add(&s->lock, 1);
        syscall(SYS_futex, &s->lock, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
    }
    waitpid(w, NULL, 0);
}

/* Reads n u64 values 0..n-1 as they arrive: the length word and the
 * element pointer directly (no call per element), mba_wait when caught up. */
static int spin_polls = 2000; /* polls of len before mba_wait (0 = sleep at once) */

static uint64_t consume(mba_handle h, uint64_t n)
{
    int idle = 0;
    const uint64_t *lenp;
    void *p;
    OK(mba_len_ptr(h, &lenp));
    OK(mba_get_ptr(h, &p));
    const uint64_t *data = p;
    uint64_t i = 0, sum = 0, seq;
    OK(mba_seq(h, &seq));
    while (i < n) {
        uint64_t len = __atomic_load_n(lenp, __ATOMIC_ACQUIRE);
        if (len == i) {
            if (idle++ < spin_polls) {
                __builtin_ia32_pause();
                continue;
            }
            idle = 0;
            int rc = mba_wait(h, seq, 1000000000ll, &seq);
            if (rc != MBA_OK && rc != MBA_E_TIMEOUT)
                OK(rc);
            continue;
        }
        idle = 0;
        for (; i < len; i++)
            sum += data[i];
    }
    return sum;
}

static void bench_handoff(uint64_t n)
{
    mba_handle h = make_shm(MBA_TYPE_U64, n);
    int ready[2], done[2];
    if (pipe(ready) != 0 || pipe(done) != 0)
        exit(2);
    pid_t c = fork();
    if (c == 0) {
        mba_handle ch;
        OK(mba_open(shm_name, 0, MBA_TYPE_U64, &ch));
        if (write(ready[1], "R", 1) != 1)
            _exit(2);
        uint64_t sum = consume(ch, n);
        uint64_t t1 = now_ns();
        if (sum != n * (n - 1) / 2)
            _exit(3);
        if (write(done[1], &t1, 8) != 8)
            _exit(2);
        _exit(0);
    }
    char x;
    if (read(ready[0], &x, 1) != 1)
        exit(2);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        mba_append(h, &i);
    uint64_t t1;
    if (read(done[0], &t1, 8) != 8) {
        fprintf(stderr, "handoff: consumer failed\n");
        exit(2);
    }
    waitpid(c, NULL, 0);
    result(spin_polls ? "handoff_c_items_per_s" : "handoff_c_sleep_items_per_s",
           (double)n / ((double)(t1 - t0) / 1e9), "items/s");
    OK(mba_close(h));
    OK(mba_unlink(shm_name));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    srand((unsigned)now_ns());
    const char *t = argv[1];
    if (!strcmp(t, "floor"))
        bench_floor(0);
    else if (!strcmp(t, "floorlock"))
        bench_floor(1);
    else if (!strcmp(t, "floorlock4"))
        bench_floorlock4();
    else if (!strcmp(t, "ofd"))
        bench_ofd();
    else if (!strcmp(t, "append"))
        bench_append();
    else if (!strcmp(t, "contend4"))
        bench_contend4();
    else if (!strcmp(t, "recovery"))
        bench_recovery();
    else if (!strcmp(t, "futexfloor"))
        bench_futexfloor();
    else if (!strcmp(t, "wake"))
        bench_wake();
    else if (!strcmp(t, "handoff")) {
        uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
        bench_handoff(n); /* consumer polls briefly before sleeping */
        spin_polls = 0;
        bench_handoff(n); /* consumer sleeps in mba_wait at once */
    }
    else if (!strcmp(t, "consume")) {
        /* consume NAME N: prints "ready", then the seconds from the first
         * element's arrival... simply the end time, for the Python driver */
        mba_handle h;
        OK(mba_open(argv[2], 0, MBA_TYPE_U64, &h));
        uint64_t n = strtoull(argv[3], NULL, 10);
        printf("ready\n");
        fflush(stdout);
        uint64_t sum = consume(h, n);
        printf("done %llu %llu\n", (unsigned long long)sum, (unsigned long long)now_ns());
        return sum == n * (n - 1) / 2 ? 0 : 3;
    } else
        return 2;
    return 0;
}

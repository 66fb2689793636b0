/* figures.c - the figures of issue 18 that bench.c lacked, each with its C
 * floor. One measurement per invocation: bench/run.sh calls a figure and
 * its floor alternately, several times, and bench/report.py takes medians
 * and min-max over those repetitions. See bench/README.md.
 *
 * usage: figures <test> [args]
 *   oneway mba|floor|mbamlock|floorarray
 *                            one-way latency of one element, C producer ->
 *                            C consumer spinning on len (floor: one shared
 *                            cache line, stamp + sequence word; mbamlock:
 *                            pages mlocked first; floorarray: plain C into
 *                            a fresh shared array, same page faults)
 *   pssprep DIR BYTES        creates DIR/pss.mba, a u8 array of BYTES
 *   pss mba|mmap|private DIR 4 readers of DIR/pss.mba: total PSS (MiB)
 *   bulk LABEL DIR BYTES [rev]  extend BYTES into a fresh array in DIR vs
 *                            first-touch writes into a fresh MAP_SHARED
 *                            file; then mba_read in chunks vs memcpy
 *   growth LABEL DIR BYTES [rev]  the append that grows an array of
 *                            BYTES vs posix_fallocate of the bytes it
 *                            added; did the data pointer move? Then its
 *                            two parts apart (mba_reserve, the first
 *                            append) beside plain C on a file written the
 *                            same way (rev: plain C first)
 *   contend P                P processes mba_append to one array
 *   contendfloor P cas|futex the same with a plain-C lock (CAS + xchg with
 *                            sched_yield; spin-then-futex)
 *   wakeN N / futexN N       wake-up latency with N waiters (mba_wait /
 *                            bare FUTEX_WAIT)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static void *shared_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t v)
{
    return syscall(SYS_futex, w, op, v, NULL, NULL, 0);
}

/* ------------------------------------------------------------ one-way */

struct line {
    _Atomic uint64_t seq;
    _Atomic uint64_t stamp;
    char pad[48];
    _Atomic uint64_t ack; /* consumer -> producer: next may go */
    char pad2[56];
};

/* One-way latency. Modes:
 *   mba        libmba as users get it: each append writes a new address,
 *              so every 4 KiB page the producer reaches costs it a page
 *              fault (and the consumer one on its side);
 *   floor      one bare shared cache line (stamp + sequence word): no
 *              new memory, no page faults;
 *   mbamlock   libmba after mba_mlock by producer and consumer (pages
 *              resident and mapped before the run): what the floor does;
 *   floorarray plain C into a fresh shared array of the same size (a
 *              memfd, fallocated), a new address per element, then the
 *              sequence word: the same page faults as libmba.
 * Besides the percentiles it prints the minor faults of each side over the
 * run, how many of the iterations at or above the p99.9 wrote the first
 * element of a page, and the median latency of those first elements. */
static long minflt(void)
{
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_minflt;
}

static void oneway(const char *mode)
{
    int use_mba = !strcmp(mode, "mba") || !strcmp(mode, "mbamlock");
    int mlocked = !strcmp(mode, "mbamlock"), array = !strcmp(mode, "floorarray");
    CHECK(use_mba || array || !strcmp(mode, "floor"));
    uint64_t n = qn(20000, 40);
    struct line *l = shared_anon(sizeof *l);
    uint64_t *lat = shared_anon(n * 8);
    /* [0] producer faults, [1] consumer faults, [2] address of element 0 */
    _Atomic uint64_t *info = shared_anon(64);
    mba_handle h = -1;
    uint64_t *arr = NULL;
    if (use_mba)
        h = make_shm(MBA_TYPE_U64, n);
    if (mlocked)
        OK(mba_mlock(h));
    if (array) {
        int fd = memfd_create("mba-bench-oneway", MFD_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(posix_fallocate(fd, 0, (off_t)(n * 8)) == 0);
        arr = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(arr != MAP_FAILED);
        close(fd);
    }
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        const uint64_t *lenp = NULL, *data = arr;
        mba_handle ch = -1;
        if (use_mba) {
            void *p;
            OK(mba_open(shm_name, MBA_RDONLY, MBA_TYPE_U64, &ch));
            OK(mba_len_ptr(ch, &lenp));
            OK(mba_get_ptr(ch, &p));
            data = p;
            if (mlocked)
                OK(mba_mlock(ch));
        }
        if (data)
            atomic_store(&info[2], (uint64_t)(uintptr_t)data);
        long f0 = minflt();
        for (uint64_t i = 0; i < n; i++) {
            uint64_t t;
            if (use_mba) {
                while (__atomic_load_n(lenp, __ATOMIC_ACQUIRE) <= i)
                    __builtin_ia32_pause();
                t = now_ns();
                lat[i] = t - data[i];
            } else {
                while (atomic_load_explicit(&l->seq, memory_order_acquire) <= i)
                    __builtin_ia32_pause();
                t = now_ns();
                lat[i] = t - (array ? arr[i] : atomic_load_explicit(&l->stamp, memory_order_relaxed));
            }
            atomic_store_explicit(&l->ack, i + 1, memory_order_release);
        }
        atomic_store(&info[1], (uint64_t)(minflt() - f0));
        _exit(0);
    }
    long f0 = minflt();
    for (uint64_t i = 0; i < n; i++) {
        while (atomic_load_explicit(&l->ack, memory_order_acquire) < i)
            __builtin_ia32_pause();
        uint64_t t = now_ns();
        if (use_mba) {
            mba_append(h, &t);
        } else if (array) {
            arr[i] = t;
            atomic_store_explicit(&l->seq, i + 1, memory_order_release);
        } else {
            atomic_store_explicit(&l->stamp, t, memory_order_relaxed);
            atomic_store_explicit(&l->seq, i + 1, memory_order_release);
        }
    }
    long pf = minflt() - f0;
    int st;
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char key[96];
    snprintf(key, sizeof key, "oneway_%s", mode);
    /* the slow iterations: how many of those at or above the p99.9 wrote
     * the first element of a page (before percentiles() sorts lat) */
    uint64_t *s = malloc(n * 8);
    CHECK(s != NULL);
    memcpy(s, lat, n * 8);
    qsort(s, n, 8, cmp_u64);
    size_t at = (size_t)(0.999 * (double)n);
    uint64_t thr = s[at < n ? at : n - 1], base = atomic_load(&info[2]);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), slow = 0, slow_start = 0;
    free(s);
    uint64_t *ps = malloc((n / (page / 8) + 2) * 8), nps = 0;
    CHECK(ps != NULL);
    for (uint64_t i = 0; i < n; i++) {
        int start = base && (base + 8 * i) % page == 0;
        if (start)
            ps[nps++] = lat[i];
        if (lat[i] < thr)
            continue;
        slow++;
        slow_start += start;
    }
    qsort(ps, nps, 8, cmp_u64);
    uint64_t ps50 = nps ? ps[nps / 2] : 0;
    free(ps);
    percentiles(key, lat, n);
    resultf((double)pf, "faults", "%s_faults_producer", key);
    resultf((double)atomic_load(&info[1]), "faults", "%s_faults_consumer", key);
    resultf((double)((n * 8 + page - 1) / page), "pages", "%s_pages", key);
    resultf(slow ? 100.0 * (double)slow_start / (double)slow : 0, "%", "%s_p999_at_page_start_pct", key);
    if (nps) {
        /* the median latency of the elements that start a page */
        resultf((double)ps50 / 1e3, "us", "%s_page_start_p50_us", key);
    }
    if (use_mba) {
        OK(mba_close(h));
        OK(mba_unlink(shm_name));
    }
}

/* --------------------------------------------------------------- PSS */

static double pss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    double kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %lf kB", &kib) == 1)
            break;
    fclose(f);
    CHECK(kib >= 0);
    return kib;
}

static void pssprep(const char *dir, uint64_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pss.mba", dir);
    unlink(path);
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = MBA_TYPE_U8;
    o.capacity = bytes;
    o.max_len = bytes;
    mba_handle h;
    OK(mba_open_ex(path, &o, &h));
    static uint8_t chunk[1 << 20];
    memset(chunk, 0x5a, sizeof chunk);
    for (uint64_t done = 0; done < bytes;) {
        uint64_t k = bytes - done < sizeof chunk ? bytes - done : sizeof chunk;
        OK(mba_extend(h, k, chunk));
        done += k;
    }
    OK(mba_close(h));
}

/* One reader: maps (or copies) the array, reads every page, reports. */
static void pss_reader(const char *mode, const char *path, int ready_fd, int go_fd)
{
    volatile uint64_t sum = 0;
    const uint8_t *p = NULL;
    uint64_t n = 0;
    if (!strcmp(mode, "mba")) {
        mba_handle h;
        void *v;
        OK(mba_open(path, MBA_RDONLY, MBA_TYPE_U8, &h));
        OK(mba_len(h, &n));
        OK(mba_get_ptr(h, &v));
        p = v;
    } else {
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0);
        struct stat st;
        CHECK(fstat(fd, &st) == 0);
        n = (uint64_t)st.st_size;
        if (!strcmp(mode, "mmap")) {
            p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
            CHECK(p != MAP_FAILED);
        } else { /* private: the whole file read into this process's memory */
            uint8_t *b = malloc(n);
            CHECK(b != NULL);
            for (uint64_t done = 0; done < n;) {
                ssize_t r = pread(fd, b + done, n - done, (off_t)done);
                CHECK(r > 0);
                done += (uint64_t)r;
            }
            p = b;
        }
        close(fd);
    }
    for (uint64_t i = 0; i < n; i += 4096)
        sum += p[i];
    char c = 'R';
    CHECK(write(ready_fd, &c, 1) == 1);
    if (read(go_fd, &c, 1) < 0)
        _exit(2);
    _exit(sum == 0 ? 3 : 0);
}

static void pss(const char *mode, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pss.mba", dir);
    /* "private" readers run one at a time (their pages are not shared, so
     * the sum is the same) to keep 4 copies out of memory at once. */
    int together = strcmp(mode, "private") != 0;
    double total = 0;
    for (int round = 0; round < (together ? 1 : 4); round++) {
        int ready[2], go[2];
        CHECK(pipe(ready) == 0 && pipe(go) == 0);
        pid_t kids[4];
        int nk = together ? 4 : 1;
        for (int k = 0; k < nk; k++) {
            kids[k] = fork();
            CHECK(kids[k] >= 0);
            if (kids[k] == 0) {
                close(ready[0]);
                close(go[1]);
                pss_reader(mode, path, ready[1], go[0]);
            }
        }
        close(ready[1]);
        close(go[0]);
        char c;
        for (int k = 0; k < nk; k++)
            CHECK(read(ready[0], &c, 1) == 1);
        for (int k = 0; k < nk; k++)
            total += pss_kib(kids[k]);
        close(go[1]);
        for (int k = 0; k < nk; k++) {
            int st;
            waitpid(kids[k], &st, 0);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        close(ready[0]);
    }
    resultf(total / 1024.0, "MiB", "pss4_%s_mib", mode);
}

/* -------------------------------------------------------------- bulk */

#define CHUNK (1u << 20)

static double floor_write(const char *dir, uint64_t bytes, const uint8_t *src)
{
    char path[512];
    snprintf(path, sizeof path, "%s/floor.bin", dir);
    unlink(path);
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)bytes) == 0);
    uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    for (uint64_t done = 0; done < bytes; done += CHUNK)
        memcpy(p + done, src, bytes - done < CHUNK ? bytes - done : CHUNK);
    uint64_t t = now_ns() - t0;
    munmap(p, bytes);
    close(fd);
    unlink(path);
    return (double)bytes / (double)t; /* GB/s */
}

/* Extends bytes into a fresh array, then reads it back (mba_read in 1 MiB
 * chunks vs memcpy from its mapping: hot pages), closes and removes it. */
static double lib_write(const char *label, const char *dir, uint64_t bytes, const uint8_t *src)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bulk.mba", dir);
    unlink(path);
    uint64_t t0 = now_ns();
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = MBA_TYPE_U64;
    mba_handle h;
    OK(mba_open_ex(path, &o, &h));
    for (uint64_t done = 0; done < bytes; done += CHUNK)
        OK(mba_extend(h, (bytes - done < CHUNK ? bytes - done : CHUNK) / 8, src));
    uint64_t t = now_ns() - t0;
    uint64_t cap;
    OK(mba_capacity(h, &cap));
    resultf((double)cap * 8 / 1048576.0, "MiB", "bulk_capacity_%s_mib", label);

    uint8_t *dst = malloc(CHUNK);
    CHECK(dst != NULL);
    void *pv;
    OK(mba_get_ptr(h, &pv));
    const uint8_t *p = pv;
    uint64_t n = bytes / 8, per = CHUNK / 8;
    double rm = 0, rf = 0;
    for (int k = 0; k < 4; k++) { /* alternating, best of 2 each */
        int w = k & 1;
        uint64_t r0 = now_ns();
        for (uint64_t i = 0; i < n; i += per) {
            uint64_t c = n - i < per ? n - i : per;
            if (w)
                OK(mba_read(h, i, c, dst));
            else
                memcpy(dst, p + i * 8, c * 8);
            __asm__ volatile("" ::"r"(dst) : "memory");
        }
        double g = (double)bytes / (double)(now_ns() - r0);
        if (w)
            rm = g > rm ? g : rm;
        else
            rf = g > rf ? g : rf;
    }
    resultf(rm, "GB/s", "bulk_read_mba_%s_gbps", label);
    resultf(rf, "GB/s", "bulk_read_memcpy_%s_gbps", label);
    free(dst);
    OK(mba_close(h));
    unlink(path);
    return (double)bytes / (double)t;
}

static void bulk(const char *label, const char *dir, uint64_t bytes, int rev)
{
    uint8_t *src = malloc(CHUNK);
    CHECK(src != NULL);
    for (unsigned i = 0; i < CHUNK; i++)
        src[i] = (uint8_t)(i * 7 + 1);
    double f, m;
    if (rev) {
        m = lib_write(label, dir, bytes, src);
        f = floor_write(dir, bytes, src);
    } else {
        f = floor_write(dir, bytes, src);
        m = lib_write(label, dir, bytes, src);
    }
    resultf(f, "GB/s", "bulk_write_floor_%s_gbps", label);
    resultf(m, "GB/s", "bulk_write_mba_%s_gbps", label);
    free(src);
}

/* ------------------------------------------------------------ growth */

/* A fresh u64 array at `path` with the capacity `*cap` (rounded up by the
 * library) filled to it with mba_extend in chunks: the state before growth. */
static mba_handle growth_prep(const char *path, uint64_t *cap)
{
    static uint64_t chunk[CHUNK / 8];
    unlink(path);
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = MBA_TYPE_U64;
    o.capacity = *cap;
    mba_handle h;
    OK(mba_open_ex(path, &o, &h));
    OK(mba_capacity(h, cap));
    for (uint64_t done = 0; done < *cap; done += CHUNK / 8)
        OK(mba_extend(h, *cap - done < CHUNK / 8 ? *cap - done : CHUNK / 8, chunk));
    return h;
}

/* read_ahead_kb of the block device under dir (-1 if none): how much a
 * page fault into a file there may read around (on ext4, zero-fill of
 * allocated but unwritten blocks). */
static long readahead_kb(const char *dir)
{
    struct stat st;
    char p[160];
    if (stat(dir, &st) != 0)
        return -1;
    unsigned ma = (unsigned)(st.st_dev >> 8) & 0xfff, mi = (unsigned)((st.st_dev & 0xff) | ((st.st_dev >> 12) & 0xfff00));
    static const char *fmts[] = {"/sys/dev/block/%u:%u/queue/read_ahead_kb",
                                 "/sys/dev/block/%u:%u/../queue/read_ahead_kb"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, fmts[i], ma, mi);
        FILE *f = fopen(p, "r");
        long v = -1;
        if (f) {
            if (fscanf(f, "%ld", &v) != 1)
                v = -1;
            fclose(f);
        }
        if (v >= 0)
            return v;
    }
    return -1;
}

/* The floor of the growth step alone: posix_fallocate of `added` bytes
 * past `size` of a file whose first `size` bytes were just written
 * through a MAP_SHARED mapping (the state the array's file is in: data
 * written by mba_extend); then the first write into the new bytes. */
static void growth_floor_written(const char *fpath, uint64_t size, uint64_t added, uint64_t *ft,
                                 uint64_t *fault)
{
    static uint64_t chunk[CHUNK / 8];
    unlink(fpath);
    int fd = open(fpath, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(posix_fallocate(fd, 0, (off_t)size) == 0);
    size_t maplen = (size_t)(size + added);
    uint8_t *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    for (uint64_t done = 0; done < size; done += CHUNK)
        memcpy(m + done, chunk, size - done < CHUNK ? size - done : CHUNK);
    uint64_t t0 = now_ns();
    CHECK(posix_fallocate(fd, (off_t)size, (off_t)added) == 0);
    *ft = now_ns() - t0;
    t0 = now_ns();
    m[size] = 42;
    *fault = now_ns() - t0;
    munmap(m, maplen);
    close(fd);
    unlink(fpath);
}

static void growth(const char *label, const char *dir, uint64_t bytes, int rev)
{
    char path[512], fpath[512];
    snprintf(path, sizeof path, "%s/growth.mba", dir);
    snprintf(fpath, sizeof fpath, "%s/growth-floor.bin", dir);
    unlink(fpath);
    uint64_t cap0 = bytes / 8;
    mba_handle h = growth_prep(path, &cap0);
    void *p0, *p1;
    OK(mba_get_ptr(h, &p0));
    uint64_t v = 42, t0 = now_ns();
    OK(mba_append(h, &v)); /* the append that grows the array */
    uint64_t dt = now_ns() - t0;
    uint64_t cap1, next = 0, len;
    OK(mba_capacity(h, &cap1));
    OK(mba_get_ptr(h, &p1));
    /* the next append (no growth) and a check that the old data is intact */
    t0 = now_ns();
    OK(mba_append(h, &v));
    next = now_ns() - t0;
    OK(mba_len(h, &len));
    uint64_t last;
    OK(mba_get(h, cap0, &last));
    CHECK(len == cap0 + 2 && last == 42 && cap1 > cap0);
    uint64_t added = (cap1 - cap0) * 8;
    OK(mba_close(h));
    unlink(path);
    /* the floor: posix_fallocate of the same bytes past the same size */
    int fd = open(fpath, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(posix_fallocate(fd, 0, (off_t)(cap0 * 8 + 4096)) == 0);
    t0 = now_ns();
    CHECK(posix_fallocate(fd, (off_t)(cap0 * 8 + 4096), (off_t)added) == 0);
    uint64_t ft = now_ns() - t0;
    /* the floor's first write into the new bytes, through a mapping: the
     * page fault that an append across the step pays too */
    size_t maplen = (size_t)(cap0 * 8 + 4096 + added);
    uint8_t *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    t0 = now_ns();
    m[cap0 * 8 + 4096] = 42;
    uint64_t fault = now_ns() - t0;
    munmap(m, maplen);
    close(fd);
    unlink(fpath);
    /* The two parts of that append, apart: the growth step alone
     * (mba_reserve of one more row: allocation and capacity, no row
     * written) on an array filled the same way, then the append into the
     * new bytes; beside it the same two parts in plain C on a file written
     * the same way. Their order alternates with `rev`. */
    uint64_t rt = 0, rfault = 0, wft = 0, wfault = 0;
    for (int k = 0; k < 2; k++) {
        if (k == rev) {
            uint64_t cap = bytes / 8, c2;
            h = growth_prep(path, &cap);
            CHECK(cap == cap0);
            t0 = now_ns();
            OK(mba_reserve(h, cap + 1));
            rt = now_ns() - t0;
            OK(mba_capacity(h, &c2));
            CHECK(c2 == cap1);
            t0 = now_ns();
            OK(mba_append(h, &v));
            rfault = now_ns() - t0;
            OK(mba_close(h));
            unlink(path);
        } else {
            growth_floor_written(fpath, cap0 * 8 + 4096, added, &wft, &wfault);
        }
    }
    resultf((double)dt / 1e3, "us", "growth_append_%s_us", label);
    resultf((double)ft / 1e3, "us", "growth_fallocate_%s_us", label);
    resultf((double)fault / 1e3, "us", "growth_floor_first_write_%s_us", label);
    resultf((double)next / 1e3, "us", "growth_next_append_%s_us", label);
    resultf((double)added / 1048576.0, "MiB", "growth_added_%s_mib", label);
    resultf(p0 != p1, "bool", "growth_ptr_moved_%s", label);
    resultf((double)rt / 1e3, "us", "growth_reserve_%s_us", label);
    resultf((double)rfault / 1e3, "us", "growth_reserve_first_append_%s_us", label);
    resultf((double)wft / 1e3, "us", "growth_fallocate_written_%s_us", label);
    resultf((double)wfault / 1e3, "us", "growth_written_first_write_%s_us", label);
    long ra = readahead_kb(dir);
    if (ra >= 0) {
        resultf((double)ra, "KiB", "growth_readahead_%s_kb", label);
    }
}

/* ----------------------------------------------------------- scaling */

struct lockline {
    _Atomic uint32_t lock;
    uint32_t pad[15];
    _Atomic uint64_t len;
    uint64_t pad1[7];
    uint32_t data[];
};

static void cas_lock(_Atomic uint32_t *l)
{
    uint32_t z = 0;
    if (atomic_compare_exchange_strong_explicit(l, &z, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    for (int n = 0;; n++) {
        z = 0;
        if (atomic_load_explicit(l, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(l, &z, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        if (n > 100)
            sched_yield();
    }
}

static void cas_unlock(_Atomic uint32_t *l)
{
    atomic_exchange(l, 0);
}

/* spin, then sleep: 0 free, 1 held, 2 held with sleepers (Drepper's mutex) */
static void futex_lock(_Atomic uint32_t *l)
{
    uint32_t c = 0;
    for (int n = 0; n < 100; n++) {
        c = 0;
        if (atomic_compare_exchange_strong_explicit(l, &c, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        __builtin_ia32_pause();
    }
    if (c != 2)
        c = atomic_exchange_explicit(l, 2, memory_order_acquire);
    while (c != 0) {
        futex(l, FUTEX_WAIT, 2);
        c = atomic_exchange_explicit(l, 2, memory_order_acquire);
    }
}

static void futex_unlock(_Atomic uint32_t *l)
{
    if (atomic_fetch_sub_explicit(l, 1, memory_order_release) != 1) {
        atomic_store_explicit(l, 0, memory_order_release);
        futex(l, FUTEX_WAKE, 1);
    }
}

/* kind: 0 mba, 1 cas floor, 2 futex floor */
static void contend(int procs, int kind)
{
    uint64_t total = qn(4000000, 100), each = total / (uint64_t)procs;
    total = each * (uint64_t)procs;
    struct lockline *s = NULL;
    mba_handle h = -1;
    if (kind == 0)
        h = make_shm(MBA_TYPE_U32, total + (uint64_t)procs);
    else
        s = shared_anon(sizeof *s + total * 4);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[8];
    for (int p = 0; p < procs; p++) {
        kids[p] = fork();
        CHECK(kids[p] >= 0);
        if (kids[p] == 0) {
            char c;
            close(go[1]);
            mba_handle ch = -1;
            if (kind == 0) {
                uint32_t v = 0;
                OK(mba_open(shm_name, 0, MBA_TYPE_U32, &ch));
                OK(mba_append(ch, &v)); /* takes a token before the start */
            }
            if (read(go[0], &c, 1) < 0)
                _exit(2);
            for (uint32_t i = 0; i < each; i++) {
                if (kind == 0) {
                    mba_append(ch, &i);
                    continue;
                }
                if (kind == 1)
                    cas_lock(&s->lock);
                else
                    futex_lock(&s->lock);
                uint64_t n = atomic_load_explicit(&s->len, memory_order_relaxed);
                s->data[n] = i;
                atomic_store_explicit(&s->len, n + 1, memory_order_release);
                if (kind == 1)
                    cas_unlock(&s->lock);
                else
                    futex_unlock(&s->lock);
            }
            _exit(0);
        }
    }
    close(go[0]);
    usleep(50000);
    uint64_t t0 = now_ns();
    close(go[1]);
    for (int p = 0; p < procs; p++) {
        int st;
        waitpid(kids[p], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    double per = (double)(now_ns() - t0) / (double)total;
    uint64_t len;
    if (kind == 0) {
        OK(mba_len(h, &len));
        len -= (uint64_t)procs;
        OK(mba_close(h));
        OK(mba_unlink(shm_name));
    } else {
        len = atomic_load(&s->len);
    }
    CHECK(len == total); /* no append lost */
    static const char *names[] = {"mba", "floor_cas", "floor_futex"};
    resultf(per, "ns", "contend_%s_%dproc_ns", names[kind], procs);
}

/* ------------------------------------------------------ N waiters */

static void wake_n(int waiters, int use_mba)
{
    uint64_t wakes = qn(300, 15);
    uint64_t *lat = shared_anon((size_t)waiters * wakes * 8);
    _Atomic uint64_t *got = shared_anon(4096);
    struct {
        _Atomic uint32_t word;
        uint32_t pad[15];
        _Atomic uint64_t stamp;
    } *f = shared_anon(4096);
    mba_handle h = -1;
    if (use_mba)
        h = make_shm(MBA_TYPE_U64, wakes + 1);
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t kids[16];
    for (int k = 0; k < waiters; k++) {
        kids[k] = fork();
        CHECK(kids[k] >= 0);
        if (kids[k] != 0)
            continue;
        uint64_t *mine = lat + (size_t)k * wakes, n = 0;
        if (use_mba) {
            mba_handle wh;
            uint64_t seq, len = 0;
            OK(mba_open(shm_name, 0, MBA_TYPE_U64, &wh));
            OK(mba_seq(wh, &seq));
            CHECK(write(ready[1], "R", 1) == 1);
            while (len < wakes) {
                int rc = mba_wait(wh, seq, 2000000000ll, &seq);
                uint64_t t1 = now_ns(), ts;
                if (rc == MBA_E_TIMEOUT)
                    continue;
                OK(rc);
                OK(mba_len(wh, &len));
                OK(mba_get(wh, len - 1, &ts));
                mine[n++] = t1 - ts;
            }
        } else {
            uint32_t seen = 0;
            CHECK(write(ready[1], "R", 1) == 1);
            while (seen < wakes) {
                futex(&f->word, FUTEX_WAIT, seen);
                uint64_t t1 = now_ns();
                uint32_t cur = atomic_load(&f->word);
                if (cur == seen)
                    continue;
                seen = cur;
                mine[n++] = t1 - atomic_load(&f->stamp);
            }
        }
        got[k] = n;
        _exit(0);
    }
    char c;
    for (int k = 0; k < waiters; k++)
        CHECK(read(ready[0], &c, 1) == 1);
    usleep(20000);
    /* one wake per ms (more with 16 waiters on 2 cores: all back asleep) */
    useconds_t gap = waiters > 4 ? 3000 : 1000;
    for (uint64_t i = 0; i < wakes; i++) {
        usleep(gap);
        uint64_t t = now_ns();
        if (use_mba) {
            OK(mba_append(h, &t));
        } else {
            atomic_store(&f->stamp, t);
            atomic_fetch_add(&f->word, 1);
            futex(&f->word, FUTEX_WAKE, 0x7fffffff);
        }
    }
    for (int k = 0; k < waiters; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* gather */
    uint64_t total = 0;
    for (int k = 0; k < waiters; k++) {
        memmove(lat + total, lat + (size_t)k * wakes, got[k] * 8);
        total += got[k];
    }
    char key[64];
    snprintf(key, sizeof key, "wake%d_%s", waiters, use_mba ? "mba" : "futex");
    percentiles(key, lat, total);
    if (use_mba) {
        OK(mba_close(h));
        OK(mba_unlink(shm_name));
    }
}

static uint64_t size_arg(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    switch (*end) {
    case 'G': case 'g': v <<= 30; break;
    case 'M': case 'm': v <<= 20; break;
    case 'K': case 'k': v <<= 10; break;
    default: break;
    }
    return v;
}

int main(int argc, char **argv)
{
    srand((unsigned)now_ns());
    const char *t = argc > 1 ? argv[1] : "";
#define ARG(i) (argc > (i) ? argv[i] : (fprintf(stderr, "missing argument\n"), exit(2), ""))
    if (!strcmp(t, "oneway"))
        oneway(ARG(2));
    else if (!strcmp(t, "pssprep"))
        pssprep(ARG(2), size_arg(ARG(3)));
    else if (!strcmp(t, "pss"))
        pss(ARG(2), ARG(3));
    else if (!strcmp(t, "bulk"))
        bulk(ARG(2), ARG(3), size_arg(ARG(4)), argc > 5 && !strcmp(argv[5], "rev"));
    else if (!strcmp(t, "growth"))
        growth(ARG(2), ARG(3), size_arg(ARG(4)), argc > 5 && !strcmp(argv[5], "rev"));
    else if (!strcmp(t, "contend"))
        contend(atoi(ARG(2)), 0);
    else if (!strcmp(t, "contendfloor"))
        contend(atoi(ARG(2)), !strcmp(ARG(3), "futex") ? 2 : 1);
    else if (!strcmp(t, "wakeN"))
        wake_n(atoi(ARG(2)), 1);
    else if (!strcmp(t, "futexN"))
        wake_n(atoi(ARG(2)), 0);
    else {
        fprintf(stderr, "usage: see the comment at the top of bench/figures.c\n");
        return 2;
    }
    return 0;
}

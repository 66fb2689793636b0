/* mp_rawwriter - a "compatible writer": appends records (mp_common.h) to an
 * array using ONLY the protocol of docs/FORMAT.md (sections 2 and 4): plain
 * open/mmap/fcntl/fallocate/futex and C11 atomics. It does not link libmba
 * and does not include mba.h; if it can run concurrently with libmba
 * writers without losing or duplicating a row, the specification is
 * implementable as written.
 *
 * usage: mp_rawwriter PATH ID COUNT SEED [go]
 *   PATH   a file path, or shm://NAME for /dev/shm/NAME
 *   appends records with seq 1..COUNT (0 = until max_len) in steps of 1..16 rows per lock hold
 *   (published with one store of len, like mba_extend).
 * Exit status: 0 done, 3 full (max_len reached), 2 error.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The record layout of mp_common.h, repeated so that this file needs no
 * libmba header at all. */
typedef struct {
    uint32_t writer, seq;
    uint64_t check;
} rec;

static uint64_t check_of(uint32_t w, uint32_t s)
{
    uint64_t z = ((uint64_t)w << 32) | s;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define DIE(...)                                                             \
    do {                                                                     \
        fprintf(stderr, "mp_rawwriter: " __VA_ARGS__);                       \
        fprintf(stderr, "\n");                                               \
        exit(2);                                                             \
    } while (0)

/* FORMAT.md section 2: offsets of the fields used here. */
enum {
    OFF_MAJOR = 8,
    OFF_HEADER_SIZE = 12,
    OFF_INCOMPAT = 32,
    OFF_ROW_BYTES = 56,
    OFF_DATA_OFFSET = 64,
    OFF_MAX_LEN = 72,
    OFF_LEN = 256,
    OFF_CAPACITY = 264,
    OFF_LOCK = 320,
    OFF_NEXT_TOKEN = 324,
    OFF_SEQ = 384,
    OFF_WAITERS = 392,
};
#define LOCK_BASE (1ll << 62)

static uint64_t rd64(const unsigned char *b, int o)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[o + i];
    return v;
}

static unsigned char *hdr;
static unsigned char *data;
static uint64_t row_bytes, data_offset, max_len;
static int fd, lockfd;
static uint32_t token;

#define A64(off) ((_Atomic uint64_t *)(hdr + (off)))
#define A32(off) ((_Atomic uint32_t *)(hdr + (off)))

static int byte_lock(int cmd, uint32_t t, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = F_WRLCK;
    fl->l_whence = SEEK_SET;
    fl->l_start = LOCK_BASE + (int64_t)t;
    fl->l_len = 1;
    return fcntl(lockfd, cmd, fl);
}

/* 4.4: a token is a number from next_token whose byte we hold locked. */
static void take_token(const char *path)
{
    lockfd = open(path, O_RDWR | O_CLOEXEC); /* our own file description */
    if (lockfd < 0)
        DIE("open %s for the token lock", path);
    for (;;) {
        uint32_t t = atomic_fetch_add(A32(OFF_NEXT_TOKEN), 1);
        if (t == 0)
            continue;
        struct flock fl;
        if (byte_lock(F_OFD_SETLK, t, &fl) == 0) {
            token = t;
            return;
        }
    }
}

/* Is the owner of token t alive (its byte locked by another description)? */
static int alive(uint32_t t)
{
    struct flock fl;
    if (byte_lock(F_OFD_GETLK, t, &fl) != 0)
        return 1;
    return fl.l_type != F_UNLCK;
}

static void lock_acquire(void)
{
    _Atomic uint32_t *w = A32(OFF_LOCK);
    for (unsigned n = 0;; n++) {
        uint32_t cur = 0;
        if (atomic_compare_exchange_strong_explicit(w, &cur, token, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        if (cur != 0 && n >= 100 && n % 8 == 0 && !alive(cur)) {
            /* the owner died: steal the word from its token */
            if (atomic_compare_exchange_strong_explicit(w, &cur, token, memory_order_acquire,
                                                        memory_order_relaxed))
                return;
        }
        if (n < 100)
            continue;
        else if (n < 500)
            sched_yield();
        else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

static void lock_release(void)
{
    atomic_exchange(A32(OFF_LOCK), 0); /* sequentially consistent */
    if (atomic_load_explicit(A32(OFF_WAITERS), memory_order_relaxed) != 0)
        syscall(SYS_futex, hdr + OFF_SEQ, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

/* 4.3: allocate real space first, then raise capacity. Returns 0 on
 * success, 3 if max_len is reached. */
static int grow(uint64_t need)
{
    uint64_t cap = atomic_load_explicit(A64(OFF_CAPACITY), memory_order_acquire);
    if (need <= cap)
        return 0;
    if (need > max_len)
        return 3;
    uint64_t step = cap > 65536 / row_bytes ? cap : 65536 / row_bytes;
    uint64_t want = cap + step > need ? cap + step : need;
    if (want > max_len)
        want = max_len;
    if (fallocate(fd, 0, 0, (off_t)(data_offset + want * row_bytes)) != 0)
        DIE("fallocate to %llu rows", (unsigned long long)want);
    atomic_store_explicit(A64(OFF_CAPACITY), want, memory_order_release);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        DIE("usage: mp_rawwriter PATH ID COUNT SEED [go]");
    char path[4096];
    if (!strncmp(argv[1], "shm://", 6))
        snprintf(path, sizeof path, "/dev/shm/%s", argv[1] + 6);
    else
        snprintf(path, sizeof path, "%s", argv[1]);
    uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t count = strtoull(argv[3], NULL, 10);
    uint64_t rng = strtoull(argv[4], NULL, 10) * 2654435761u + id + 1;

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        DIE("open %s", path);
    unsigned char h[512];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        DIE("short header");
    if (memcmp(h, "\x89MBA\r\n\x1a\n", 8) != 0)
        DIE("bad magic");
    if ((h[OFF_MAJOR] | h[OFF_MAJOR + 1] << 8) != 1)
        DIE("major version");
    if (rd64(h, OFF_INCOMPAT) != 0)
        DIE("incompatible features");
    (void)OFF_HEADER_SIZE;
    row_bytes = rd64(h, OFF_ROW_BYTES);
    data_offset = rd64(h, OFF_DATA_OFFSET);
    max_len = rd64(h, OFF_MAX_LEN);
    if (row_bytes != sizeof(rec))
        DIE("row size %llu", (unsigned long long)row_bytes);
    size_t maplen = (size_t)(data_offset + max_len * row_bytes);
    hdr = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (hdr == MAP_FAILED)
        DIE("mmap");
    data = hdr + data_offset;
    take_token(path);

    if (argc > 5 && !strcmp(argv[5], "go")) {
        char c;
        if (read(0, &c, 1) < 0)
            DIE("read go");
    }

    uint64_t seq = 1;
    while (!count || seq <= count) {
        uint64_t x = rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng = x;
        uint64_t n = 1 + (x * 0x2545F4914F6CDD1Dull) % 16;
        if (seq + n - 1 > count)
            n = count - seq + 1;

        lock_acquire();                                                      /* 4.2 step 1 */
        uint64_t len = atomic_load_explicit(A64(OFF_LEN), memory_order_relaxed);
        int rc = grow(len + n);                                              /* step 2 */
        if (rc) {
            lock_release();
            printf("full %u %llu\n", id, (unsigned long long)(seq - 1));
            return rc;
        }
        for (uint64_t i = 0; i < n; i++) {                                  /* step 3 */
            rec r = {id, (uint32_t)(seq + i), check_of(id, (uint32_t)(seq + i))};
            memcpy(data + (len + i) * row_bytes, &r, sizeof r);
        }
        atomic_store_explicit(A64(OFF_LEN), len + n, memory_order_release); /* step 4 */
        uint64_t s = atomic_load_explicit(A64(OFF_SEQ), memory_order_relaxed);
        atomic_store_explicit(A64(OFF_SEQ), s + 1, memory_order_release);  /* step 5 */
        lock_release();                                                      /* step 6 */
        seq += n;
    }
    printf("done %u %llu\n", id, (unsigned long long)(seq - 1));
    return 0;
}

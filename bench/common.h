/* common.h - helpers shared by bench/bench.c and bench/figures.c.
 * Every figure is printed as `RESULT <key> <value> <unit>`; latency
 * distributions are also written, one value per line, to
 * $MBA_BENCH_SAMPLES/<key>.txt (the CDF plots of bench/report.py).
 * MBA_BENCH_QUICK=1 shrinks every count (the smoke test of run.sh --quick). */
#ifndef MBA_BENCH_COMMON_H
#define MBA_BENCH_COMMON_H

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mba.h"

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define OK(call)                                                             \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != MBA_OK) {                                                 \
            char m_[256];                                                    \
            mba_last_error(m_, sizeof m_);                                   \
            fprintf(stderr, "%s:%d: %s -> %d %s\n", __FILE__, __LINE__, #call, \
                    rc_, m_);                                                \
            exit(2);                                                         \
        }                                                                    \
    } while (0)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            perror(#cond);                                                   \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(2);                                                         \
        }                                                                    \
    } while (0)

static inline int quick(void)
{
    const char *q = getenv("MBA_BENCH_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* n normally, n / div (at least 1) with MBA_BENCH_QUICK */
static inline uint64_t qn(uint64_t n, uint64_t div)
{
    if (!quick())
        return n;
    return n / div ? n / div : 1;
}

static inline int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline void result(const char *key, double v, const char *unit)
{
    printf("RESULT %s %.3f %s\n", key, v, unit);
    fflush(stdout);
}

/* result() with a key built printf-style from fmt. */
__attribute__((format(printf, 3, 4))) static inline void resultf(double v, const char *unit,
                                                                 const char *fmt, ...)
{
    char key[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    result(key, v, unit);
}

/* Sorts v and prints <key>_p50/_p99/_p999 (ns values, printed in us) and
 * writes the samples (us) for the CDF plot. */
static inline void percentiles(const char *key, uint64_t *v, size_t n)
{
    char k[160];
    qsort(v, n, 8, cmp_u64);
    static const struct { const char *suf; double q; } ps[] = {
        {"p50", 0.50}, {"p99", 0.99}, {"p999", 0.999}};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        size_t at = (size_t)(ps[i].q * (double)n);
        if (at >= n)
            at = n - 1;
        snprintf(k, sizeof k, "%s_%s_us", key, ps[i].suf);
        result(k, (double)v[at] / 1e3, "us");
    }
    const char *dir = getenv("MBA_BENCH_SAMPLES");
    if (!dir || !*dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", dir, key);
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.3f\n", (double)v[i] / 1e3);
    fclose(f);
}

/* A fresh shm:// array of `type` with room for `cap` elements, named
 * shm://mba-bench-PID-RANDOM (kept in shm_name for children and the final
 * unlink; scripts/suites/bench.sh checks that none is left behind). */
static char shm_name[128];

static inline mba_handle make_shm(int type, uint64_t cap)
{
    snprintf(shm_name, sizeof shm_name, "shm://mba-bench-%d-%d", (int)getpid(), rand());
    mba_options o;
    OK(mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_EXCL;
    o.elem_type = type;
    o.capacity = cap;
    mba_handle h;
    OK(mba_open_ex(shm_name, &o, &h));
    return h;
}

#endif

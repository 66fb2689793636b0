/* arrow_export.c - the cost of mba_export_arrow: zero-copy against
 * MBA_ARROW_COPY, for flat u32 arrays of 10^3 .. 10^8 elements (anonymous
 * arrays, filled before timing). One sample = one export of the whole
 * array plus the release of its ArrowArray and ArrowSchema; the figure is
 * the median of the samples, in microseconds. Zero-copy should cost the
 * same at every size; the copy grows with it.
 *
 * Printed as bench.c prints (for bench/run.sh):
 *     RESULT arrow_zero_copy_1e<k> <us> us
 *     RESULT arrow_copy_1e<k> <us> us
 *
 * usage: arrow_export [MAX_ELEMENTS]   (default 1e8; accepts 1e7 or 10000000)
 * build: gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/arrow_export.c \
 *            -o target/arrow_export -Ltarget/release \
 *            -Wl,-rpath,$PWD/target/release -lmba
 */
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of `reps` timed exports of the whole array with `flags`. */
static double median_export(mba_handle h, uint32_t flags, int reps, uint64_t n)
{
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        exit(1);
    for (int r = 0; r < reps; r++) {
        struct ArrowArray a;
        struct ArrowSchema s;
        double t0 = now_us();
        if (mba_export_arrow(h, 0, UINT64_MAX, flags, &a, &s) != MBA_OK) {
            fprintf(stderr, "mba_export_arrow failed\n");
            exit(1);
        }
        if ((uint64_t)a.length != n)
            exit(1);
        a.release(&a);
        s.release(&s);
        t[r] = now_us() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double m = t[reps / 2];
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    double max = argc > 1 ? strtod(argv[1], NULL) : 1e8;
    enum { CHUNK = 1 << 20 };
    uint32_t *buf = malloc(CHUNK * sizeof *buf);
    if (!buf)
        return 1;
    printf("%12s %16s %16s\n", "elements", "zero-copy (us)", "copy (us)");
    int k = 3;
    for (uint64_t n = 1000; (double)n <= max; n *= 10, k++) {
        mba_handle h;
        if (mba_anon(0, MBA_TYPE_U32, n, &h) != MBA_OK)
            return 1;
        for (uint64_t done = 0; done < n;) {
            uint64_t m = n - done < CHUNK ? n - done : CHUNK;
            for (uint64_t i = 0; i < m; i++)
                buf[i] = (uint32_t)(done + i);
            if (mba_extend(h, m, buf) != MBA_OK)
                return 1;
            done += m;
        }
        double zc = median_export(h, 0, 2001, n);
        /* About 2 s of copying at most per size, at least 5 samples. */
        int reps = n >= 10000000 ? 5 : n >= 1000000 ? 21 : 201;
        double cp = median_export(h, MBA_ARROW_COPY, reps, n);
        printf("%12llu %16.2f %16.2f\n", (unsigned long long)n, zc, cp);
        printf("RESULT arrow_zero_copy_1e%d %.2f us\n", k, zc);
        printf("RESULT arrow_copy_1e%d %.2f us\n", k, cp);
        mba_close(h);
    }
    free(buf);
    return 0;
}

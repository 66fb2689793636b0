/*
 * matrix.c - an N x 3 matrix of doubles that grows by rows (points in
 * space, say), stored row-major: row i is elements [3i, 3i+3).
 *
 *     ./matrix [ROWS]
 *
 * It creates an anonymous array (a memfd: shareable with a child or
 * through mba_fd/mba_open_fd, gone when the last user closes it) whose rows
 * have shape (3,), with room for only 4 rows at first. It appends rows one
 * at a time, then ROWS (default 1000) more in one batch, so the array grows
 * several times, and shows that the element pointer from mba_get_ptr did
 * not move: a pointer taken once stays valid for the life of the handle.
 *
 * Lengths, capacities and indexes count rows, not doubles.
 *
 * Build: cc -std=c11 matrix.c $(pkg-config --cflags --libs mba)
 */
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define K 3 /* columns: the row shape */

static void report(mba_handle h, const char *what, int rc)
{
    char msg[256] = "";
    if (h > 0)
        mba_handle_error(h, msg, sizeof msg);
    else
        mba_last_error(msg, sizeof msg);
    fprintf(stderr, "matrix: %s: %s (%s)\n", what, mba_strerror(rc), msg);
}

#define CHECK(h, call)                                                                   \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != MBA_OK) {                                                             \
            report((h), #call, rc_);                                                     \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

int main(int argc, char **argv)
{
    uint64_t more = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
    int status = 1;
    mba_handle h = 0;
    double *batch = NULL;

    mba_options o;
    CHECK(0, mba_options_init(&o));
    o.elem_type = MBA_TYPE_F64;
    o.ndim = 1;        /* each row is a 1-d block ... */
    o.shape[0] = K;    /* ... of K doubles */
    o.capacity = 4;    /* rows allocated now: growth will follow */
    o.max_len = 1u << 20; /* most rows ever (the address space reserved once) */
    CHECK(0, mba_anon_ex(&o, &h));

    uint32_t ndim;
    uint64_t dims[MBA_MAX_ROW_DIMS], row_size, cap0;
    CHECK(h, mba_shape(h, dims, MBA_MAX_ROW_DIMS, &ndim));
    CHECK(h, mba_row_size(h, &row_size));
    CHECK(h, mba_capacity(h, &cap0));
    printf("row shape (%llu,), %u dimension, %llu bytes per row\n", (unsigned long long)dims[0],
           (unsigned)ndim, (unsigned long long)row_size);

    /* Take the pointer once, while the array is empty. */
    double *m0;
    CHECK(h, mba_get_ptr(h, (void **)&m0));

    /* Rows one at a time: mba_append copies one row (K doubles). */
    for (int i = 0; i < 10; i++) {
        double row[K] = {i, i * 10.0, i * 100.0};
        CHECK(h, mba_append(h, row));
    }
    /* Then many rows at once: mba_extend copies n rows, all or nothing. */
    batch = malloc(more * K * sizeof *batch);
    if (!batch && more) {
        fprintf(stderr, "matrix: out of memory\n");
        goto out;
    }
    for (uint64_t i = 0; i < more; i++)
        for (int j = 0; j < K; j++)
            batch[i * K + j] = (double)(10 + i) * (j == 0 ? 1 : j == 1 ? 10 : 100);
    CHECK(h, mba_extend(h, more, batch));

    uint64_t len, cap;
    double *m;
    CHECK(h, mba_len(h, &len));
    CHECK(h, mba_capacity(h, &cap));
    CHECK(h, mba_get_ptr(h, (void **)&m));
    printf("shape %llu x %d (len %llu rows)\n", (unsigned long long)len, K,
           (unsigned long long)len);
    printf("capacity grew: %s; pointer moved: %s\n", cap > cap0 ? "yes" : "no",
           m == m0 ? "no" : "YES (bug)");

    /* Element (i, j) is m[i * K + j]. */
    for (uint64_t i = 0; i < len; i++) {
        if (i == 3 && len > 4) {
            printf("  ...\n");
            i = len - 1;
        }
        printf("  row %llu: %g %g %g\n", (unsigned long long)i, m[i * K], m[i * K + 1],
               m[i * K + 2]);
    }
    double col0 = 0;
    for (uint64_t i = 0; i < len; i++)
        col0 += m0[i * K]; /* through the pointer taken before any growth */
    printf("sum of column 0: %g\n", col0);
    status = m == m0 && cap > cap0 ? 0 : 1;

out:
    free(batch);
    if (h > 0 && mba_close(h) != MBA_OK)
        status = 1;
    return status;
}

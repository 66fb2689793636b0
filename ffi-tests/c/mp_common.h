/* mp_common.h - shared by the multi-process test programs (mp_*.c).
 *
 * Records are 16-byte MBA_TYPE_RECORD rows that describe themselves:
 *   writer  - a writer id unique in the test run (never 0)
 *   seq     - 1, 2, 3 ... per writer, in the order the writer appended
 *   check   - mp_check(writer, seq): a row that is not completely written
 *             (or written twice over) fails the check.
 * The same layout and check are used by ffi-tests/src/bin/mp_writer.rs and
 * by the verifier in ffi-tests/tests/multiprocess.rs.
 */
#ifndef MP_COMMON_H
#define MP_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mba.h"

typedef struct mp_rec {
    uint32_t writer;
    uint32_t seq;
    uint64_t check;
} mp_rec;

static inline uint64_t mp_mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t mp_check(uint32_t writer, uint32_t seq)
{
    return mp_mix(((uint64_t)writer << 32) | seq);
}

static inline mp_rec mp_make(uint32_t writer, uint32_t seq)
{
    mp_rec r;
    r.writer = writer;
    r.seq = seq;
    r.check = mp_check(writer, seq);
    return r;
}

static inline int mp_valid(const mp_rec *r)
{
    return r->writer != 0 && r->seq != 0 && r->check == mp_check(r->writer, r->seq);
}

static inline uint64_t mp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64* PRNG, seeded per process. */
static inline uint64_t mp_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

#define MP_DIE(...)                                                          \
    do {                                                                     \
        fprintf(stderr, "%s: ", __FILE__);                                   \
        fprintf(stderr, __VA_ARGS__);                                        \
        fprintf(stderr, "\n");                                               \
        exit(2);                                                             \
    } while (0)

/* Calls an mba function and dies with its detailed message unless it
 * returns MBA_OK. */
#define MP_OK(call)                                                          \
    do {                                                                     \
        int mp_rc_ = (call);                                                 \
        if (mp_rc_ != MBA_OK) {                                              \
            char mp_msg_[256];                                               \
            mba_last_error(mp_msg_, sizeof mp_msg_);                         \
            MP_DIE("%s:%d: %s -> %d (%s: %s)", __FILE__, __LINE__, #call,    \
                   mp_rc_, mba_strerror(mp_rc_), mp_msg_);                   \
        }                                                                    \
    } while (0)

/* Opens an existing array of mp_rec records. (With MBA_TYPE_RECORD instead of
 * MBA_TYPE_ANY, libmba 0.1.0 refuses the open with MBA_E_ARG, "a record type
 * needs an item size": reported; MBA_TYPE_ANY plus a check works everywhere.) */
static inline mba_handle mp_open_records(const char *name, uint32_t flags)
{
    mba_handle h;
    MP_OK(mba_open(name, flags, MBA_TYPE_ANY, &h));
    int32_t t;
    uint64_t rb;
    MP_OK(mba_elem_type(h, &t));
    MP_OK(mba_row_size(h, &rb));
    if (t != MBA_TYPE_RECORD || rb != sizeof(mp_rec))
        MP_DIE("%s: type %d, row size %llu: not an array of mp_rec", name, (int)t,
               (unsigned long long)rb);
    return h;
}

/* Blocks until the parent writes a byte to stdin (a start barrier, so that
 * all writers begin together), or returns at once if stdin is closed. */
static inline void mp_wait_go(void)
{
    char c;
    while (read(0, &c, 1) < 0 && errno == EINTR) {
    }
}

/* A failed expectation of the limit tests (mp_limits, mp_memlimit,
 * mp_nospace): one "FAIL ..." line on stdout, exit status 1. */
#define FAIL(...)                                                            \
    do {                                                                     \
        printf("FAIL " __VA_ARGS__);                                         \
        printf("\n");                                                        \
        exit(1);                                                             \
    } while (0)

/* After a write failed at a limit: the array must hold exactly its first n
 * elements, element i being i*3+1 (what mp_memlimit and mp_nospace append),
 * so a refused write lost nothing and published nothing. */
static inline void mp_check_filled(mba_handle h, uint64_t n)
{
    uint64_t len;
    MP_OK(mba_len(h, &len));
    if (len != n)
        FAIL("length %llu after the failure, expected %llu", (unsigned long long)len,
             (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        MP_OK(mba_get(h, i, &v));
        if (v != i * 3 + 1)
            FAIL("element %llu is %llu", (unsigned long long)i, (unsigned long long)v);
    }
}

#endif

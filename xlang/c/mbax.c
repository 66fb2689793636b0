/*
 * mbax.c - the C program of the cross-language suite (xlang/README.md).
 *
 *     mbax create NAME TYPE            TYPE: u64, i64, i32 or f64
 *     mbax append NAME START COUNT     appends START .. START+COUNT-1, one call each
 *     mbax read NAME                   prints every element, one per line
 *     mbax wait NAME N TIMEOUT_MS      waits until the length is at least N
 *
 * With MBA_XLANG_GATE=GATE in the environment, append first meets the
 * other appender at a barrier: it appends one element to the u64 array GATE
 * and waits until GATE holds 2, so that two appenders start together.
 *
 * Floats print as integers when they are integral (as every program of the
 * suite does), else with %.17g. Exit status 0, or 1 with a message.
 */
#define _POSIX_C_SOURCE 200809L
#include <mba.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what, int rc)
{
    char msg[256];
    mba_last_error(msg, sizeof msg);
    fprintf(stderr, "mbax(c): %s: %s (%s)\n", what, mba_strerror(rc), msg);
    return 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the length of h is at least want, or timeout_ms passes. */
static int wait_len(mba_handle h, uint64_t want, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint64_t n, seen;
    for (;;) {
        mba_seq(h, &seen); /* the counter before the length: nothing missed */
        mba_len(h, &n);
        if (n >= want)
            return 0;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "mbax(c): wait: timed out at length %" PRIu64 "\n", n);
            return 1;
        }
        int rc = mba_wait(h, seen, left * 1000000, NULL);
        if (rc != MBA_OK && rc != MBA_E_TIMEOUT && rc != MBA_E_INTR)
            return fail("wait", rc);
    }
}

/* The barrier of MBA_XLANG_GATE (see the top of this file). */
static int gate(void)
{
    const char *g = getenv("MBA_XLANG_GATE");
    if (!g)
        return 0;
    mba_handle h;
    int rc = mba_open(g, 0, MBA_TYPE_U64, &h);
    if (rc != MBA_OK)
        return fail("open gate", rc);
    if ((rc = mba_append_u64(h, 1)) != MBA_OK)
        return fail("append gate", rc);
    rc = wait_len(h, 2, 10000);
    mba_close(h);
    return rc;
}

static int parse_type(const char *s)
{
    if (!strcmp(s, "u64")) return MBA_TYPE_U64;
    if (!strcmp(s, "i64")) return MBA_TYPE_I64;
    if (!strcmp(s, "i32")) return MBA_TYPE_I32;
    if (!strcmp(s, "f64")) return MBA_TYPE_F64;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mbax create|append|read|wait NAME ...\n");
        return 2;
    }
    const char *verb = argv[1], *name = argv[2];
    mba_handle h;
    int rc;
    if (!strcmp(verb, "create") && argc == 4) {
        int t = parse_type(argv[3]);
        if (t < 0) {
            fprintf(stderr, "mbax(c): unknown type %s\n", argv[3]);
            return 2;
        }
        rc = mba_open(name, MBA_CREATE | MBA_EXCL, t, &h);
        if (rc != MBA_OK)
            return fail("create", rc);
        return mba_close(h) == MBA_OK ? 0 : 1;
    }
    rc = mba_open(name, 0, MBA_TYPE_ANY, &h);
    if (rc != MBA_OK)
        return fail("open", rc);
    int32_t t;
    mba_elem_type(h, &t);
    if (!strcmp(verb, "append") && argc == 5) {
        long long start = atoll(argv[3]), count = atoll(argv[4]);
        if (gate() != 0)
            return 1;
        for (long long v = start; v < start + count; v++) {
            rc = t == MBA_TYPE_F64 ? mba_append_f64(h, (double)v) : mba_append_i64(h, v);
            if (rc != MBA_OK)
                return fail("append", rc);
        }
    } else if (!strcmp(verb, "read") && argc == 3) {
        uint64_t n;
        mba_len(h, &n);
        for (uint64_t i = 0; i < n; i++) {
            if (t == MBA_TYPE_F64) {
                double d;
                if ((rc = mba_get_f64(h, i, &d)) != MBA_OK)
                    return fail("get", rc);
                if (d == (double)(long long)d)
                    printf("%lld\n", (long long)d);
                else
                    printf("%.17g\n", d);
            } else if (t == MBA_TYPE_U64) {
                uint64_t u;
                if ((rc = mba_get_u64(h, i, &u)) != MBA_OK)
                    return fail("get", rc);
                printf("%" PRIu64 "\n", u);
            } else {
                int64_t s;
                if ((rc = mba_get_i64(h, i, &s)) != MBA_OK)
                    return fail("get", rc);
                printf("%" PRId64 "\n", s);
            }
        }
    } else if (!strcmp(verb, "wait") && argc == 5) {
        if (wait_len(h, strtoull(argv[3], NULL, 10), atoll(argv[4])) != 0)
            return 1;
    } else {
        fprintf(stderr, "mbax(c): bad arguments for %s\n", verb);
        return 2;
    }
    return mba_close(h) == MBA_OK ? 0 : 1;
}

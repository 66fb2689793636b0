/*
 * writer.c - appends readings to a shared array that reader.c follows.
 *
 *     ./writer [NAME [COUNT]]
 *
 * NAME is "shm://NAME" (shared memory, /dev/shm/NAME), "file://PATH" or a
 * path; it defaults to shm://mba-demo-<uid>. The writer creates a fresh
 * array under NAME (replacing an old one), appends COUNT readings (default
 * 20), one every 100 ms, then an end marker, and exits. The array stays
 * until someone removes it (reader.c does, or mba_unlink, or rm).
 *
 * Build: cc -std=c11 -I../include writer.c -L../target/release -lmba
 */
#define _POSIX_C_SOURCE 200809L
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* One element of the array: a C struct stored as an MBA_TYPE_RECORD. Both
 * programs must agree on it (same compiler ABI). */
struct reading {
    uint64_t seq;     /* 1, 2, 3, ... */
    int64_t time_ns;  /* CLOCK_MONOTONIC when written (system-wide) */
    double celsius;
    uint32_t sensor;
    uint32_t last;    /* 1 in the end marker */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Prints a failed call with the library's detailed message. */
static int fail(const char *what, int rc)
{
    char msg[256];
    mba_last_error(msg, sizeof msg);
    fprintf(stderr, "writer: %s: %s (%s)\n", what, mba_strerror(rc), msg);
    return 1;
}

int main(int argc, char **argv)
{
    char def[64];
    snprintf(def, sizeof def, "shm://mba-demo-%u", (unsigned)getuid());
    const char *name = argc > 1 ? argv[1] : def;
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line at a time, even into a pipe */
    int count = argc > 2 ? atoi(argv[2]) : 20;

    mba_options o;
    mba_options_init(&o);               /* always: sets struct_size and defaults */
    o.flags = MBA_CREATE | MBA_REPLACE; /* a new, empty array, published atomically */
    o.elem_type = MBA_TYPE_RECORD;
    o.item_size = sizeof(struct reading);
    o.max_len = 1000000;                /* the most readings it can hold */

    mba_handle h;
    int rc = mba_open_ex(name, &o, &h);
    if (rc != MBA_OK)
        return fail("mba_open_ex", rc);
    printf("writer: created %s, an array of %zu-byte records\n", name, sizeof(struct reading));

    for (int i = 1; i <= count + 1; i++) {
        struct reading r = {
            .seq = (uint64_t)i,
            .time_ns = now_ns(),
            .celsius = 20.0 + (i * 37 % 100) / 25.0,
            .sensor = (uint32_t)(i % 3 + 1),
            .last = i > count,
        };
        /* One record, copied into the array and visible to every process
         * when the call returns. */
        rc = mba_append(h, &r);
        if (rc != MBA_OK)
            return fail("mba_append", rc);
        if (r.last)
            printf("writer: done: %d readings and an end marker\n", count);
        else
            printf("writer: appended reading %d of %d (sensor %u, %.2f C)\n", i, count,
                   (unsigned)r.sensor, r.celsius);
        if (i <= count) {
            struct timespec pause = {0, 100 * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    mba_close(h);
    return 0;
}

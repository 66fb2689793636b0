/* hostile.h - shared by the hostile_*.c programs, driven by
 * ffi-tests/tests/hostile.rs: another process (or user) truncates, grows
 * sparsely, squats or symlinks an array's name, and libmba must answer with
 * a status code, never a signal, a hang or a silent success.
 *
 * Each program prints "FAIL ..." lines for violated expectations and, as its
 * last line, "ok" (exit 0) or "failed N" (exit 1).
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "mba.h"

static int hz_failures;

/* The status of call must be want. */
#define HZ_EXPECT(want, call)                                                      \
    do {                                                                           \
        int hz_rc_ = (call);                                                       \
        if (hz_rc_ != (want)) {                                                    \
            char hz_msg_[512];                                                     \
            mba_last_error(hz_msg_, sizeof hz_msg_);                               \
            printf("FAIL %s:%d: %s -> %d (%s), expected %s: %s\n", __FILE__, __LINE__, \
                   #call, hz_rc_, mba_strerror(hz_rc_), #want, hz_msg_);           \
            fflush(stdout);                                                        \
            hz_failures++;                                                         \
        }                                                                          \
    } while (0)
#define HZ_OK(call) HZ_EXPECT(MBA_OK, call)

#define HZ_CHECK(cond)                                                             \
    do {                                                                           \
        if (!(cond)) {                                                             \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            fflush(stdout);                                                        \
            hz_failures++;                                                         \
        }                                                                          \
    } while (0)

#define HZ_DIE(...)                                                                \
    do {                                                                           \
        printf("FAIL ");                                                           \
        printf(__VA_ARGS__);                                                       \
        printf(" (errno %d: %s)\nfailed 1\n", errno, strerror(errno));             \
        exit(2);                                                                   \
    } while (0)

/* Prints a progress line and flushes it (the driver reads it at once). */
#define HZ_SAY(...)                                                                \
    do {                                                                           \
        printf(__VA_ARGS__);                                                       \
        printf("\n");                                                              \
        fflush(stdout);                                                            \
    } while (0)

/* Waits for one line on stdin (the driver's "go"). */
static inline void hz_wait_line(void)
{
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
    }
}

static inline int hz_done(void)
{
    if (hz_failures) {
        printf("failed %d\n", hz_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

/* Header offsets (docs/FORMAT.md section 2). */
#define HZ_OFF_LEN 256
#define HZ_OFF_CAPACITY 264
#define HZ_DATA 65536

#endif

/*
 * reader.c - follows the array that writer.c appends to, from another
 * process, without copying and without polling.
 *
 *     ./reader [NAME]
 *
 * NAME as for writer.c (default shm://mba-demo-<uid>). The reader waits for
 * NAME to appear, prints every reading as it arrives (waking up with
 * mba_wait), and when it sees the writer's end marker, removes the name
 * and exits. It gives up after 10 s without news.
 *
 * Build: cc -std=c11 -I../include reader.c -L../target/release -lmba
 */
#define _POSIX_C_SOURCE 200809L
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct reading { /* the same struct as in writer.c */
    uint64_t seq;
    int64_t time_ns;
    double celsius;
    uint32_t sensor;
    uint32_t last;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(const char *what, int rc)
{
    char msg[256];
    mba_last_error(msg, sizeof msg);
    fprintf(stderr, "reader: %s: %s (%s)\n", what, mba_strerror(rc), msg);
    return 1;
}

int main(int argc, char **argv)
{
    char def[64];
    snprintf(def, sizeof def, "shm://mba-demo-%u", (unsigned)getuid());
    const char *name = argc > 1 ? argv[1] : def;
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line at a time, even into a pipe */

    /* Attach, waiting up to 10 s for the writer to create the array.
     * Read-write so that mba_wait sleeps on a futex and wakes within
     * microseconds (an MBA_RDONLY handle works too, checking every ms). */
    mba_handle h;
    int rc;
    for (int tries = 0; (rc = mba_open(name, 0, MBA_TYPE_RECORD, &h)) == MBA_E_NOTFOUND; tries++) {
        if (tries == 0)
            printf("reader: waiting for %s to appear...\n", name);
        if (tries == 1000)
            break;
        struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (rc != MBA_OK)
        return fail("mba_open", rc);
    uint64_t item;
    mba_item_size(h, &item);
    if (item != sizeof(struct reading)) {
        fprintf(stderr, "reader: %s holds %llu-byte records, not readings\n", name,
                (unsigned long long)item);
        return 1;
    }
    printf("reader: attached to %s\n", name);

    /* The elements, in place: this address never changes, even when the
     * writer grows the array. Rows below mba_len are complete. */
    const struct reading *all;
    mba_get_ptr(h, (void **)&all);

    uint64_t next = 0;
    for (;;) {
        /* Read the change counter before the length: a change after this
         * point makes mba_wait return at once, so nothing is missed. */
        uint64_t seen, len;
        mba_seq(h, &seen);
        mba_len(h, &len);
        for (; next < len; next++) {
            const struct reading *r = &all[next];
            if (r->last) {
                printf("reader: end marker after %llu readings; removing %s\n",
                       (unsigned long long)next, name);
                mba_unlink(name); /* the name goes; mappings stay valid */
                mba_close(h);
                return 0;
            }
            printf("reader: got reading %llu: sensor %u, %.2f C (%.0f us after it was written)\n",
                   (unsigned long long)r->seq, (unsigned)r->sensor, r->celsius,
                   (double)(now_ns() - r->time_ns) / 1000.0);
        }
        rc = mba_wait(h, seen, 10 * 1000000000LL, NULL); /* sleep until it changes */
        if (rc == MBA_E_TIMEOUT) {
            fprintf(stderr, "reader: nothing new for 10 s; is the writer running?\n");
            mba_close(h);
            return 1;
        }
        if (rc != MBA_OK && rc != MBA_E_INTR)
            return fail("mba_wait", rc);
    }
}

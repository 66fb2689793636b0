/*
 * records.c - an array of C structs (MBA_TYPE_RECORD) in a file: create it,
 * append records one at a time and in a batch, then open it again
 * read-only, as another process would, and read the records back in place.
 *
 *     ./records [NAME]
 *
 * NAME: "shm://NAME", "file://PATH" or a path (default records.mba). The
 * array is removed at the end (mba_unlink).
 *
 * A record array stores each element as raw bytes of a fixed size: every
 * program that opens it must agree on the struct (same fields, same
 * compiler ABI). Fixed-width types (uint64_t, double, char[N]) and a size
 * checked at open time (mba_item_size) keep that honest.
 *
 * Build: cc -std=c11 records.c $(pkg-config --cflags --libs mba)
 */
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One element: 32 bytes, no padding. */
struct particle {
    uint64_t id;
    double x, y;
    char tag[8]; /* NUL-padded, not necessarily NUL-terminated */
};

static void report(mba_handle h, const char *what, int rc)
{
    char msg[256] = "";
    if (h > 0)
        mba_handle_error(h, msg, sizeof msg); /* this handle's last failure */
    else
        mba_last_error(msg, sizeof msg); /* this thread's last failure */
    fprintf(stderr, "records: %s: %s (%s)\n", what, mba_strerror(rc), msg);
}

#define CHECK(h, call)                                                                   \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != MBA_OK) {                                                             \
            report((h), #call, rc_);                                                     \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

static struct particle make(uint64_t id, const char *tag)
{
    struct particle p;
    memset(&p, 0, sizeof p); /* no stray bytes in the file */
    p.id = id;
    p.x = id * 1.5;
    p.y = -(double)id;
    size_t n = strlen(tag);
    memcpy(p.tag, tag, n < sizeof p.tag ? n : sizeof p.tag);
    return p;
}

static void print(const struct particle *p)
{
    printf("  id %llu  x %6.2f  y %6.2f  tag %.8s\n", (unsigned long long)p->id, p->x, p->y,
           p->tag);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "records.mba";
    int status = 1;
    mba_handle w = 0, r = 0;

    /* Create (or replace) the array: record elements of our struct's size.
     * max_len bounds its growth (and the address space each handle
     * reserves; the default is 64 GiB worth of rows). */
    mba_options o;
    CHECK(0, mba_options_init(&o));
    o.flags = MBA_CREATE | MBA_REPLACE;
    o.elem_type = MBA_TYPE_RECORD;
    o.item_size = sizeof(struct particle);
    o.max_len = 1u << 20;
    CHECK(0, mba_open_ex(name, &o, &w));

    /* One at a time: each append copies the struct in and is visible to
     * every process when it returns. */
    const char *tags[] = {"alpha", "beta", "gamma"};
    for (uint64_t i = 0; i < 3; i++) {
        struct particle p = make(i + 1, tags[i]);
        CHECK(w, mba_append(w, &p));
    }
    /* A batch: all or nothing, one lock. */
    struct particle batch[2] = {make(4, "delta"), make(5, "epsilon!")};
    CHECK(w, mba_extend(w, 2, batch));
    CHECK(w, mba_close(w));
    w = 0;

    /* Another process would do this: open by name, read-only, insisting on
     * a record array, and check the record size before trusting it. */
    CHECK(0, mba_open(name, MBA_RDONLY, MBA_TYPE_RECORD, &r));
    uint64_t item, len;
    CHECK(r, mba_item_size(r, &item));
    if (item != sizeof(struct particle)) {
        fprintf(stderr, "records: %s holds %llu-byte records, not particles\n", name,
                (unsigned long long)item);
        goto out;
    }
    CHECK(r, mba_len(r, &len));
    printf("%s: %llu records of %llu bytes\n", name, (unsigned long long)len,
           (unsigned long long)item);

    /* In place, by pointer: no copy. Rows below mba_len are complete. */
    const struct particle *all;
    CHECK(r, mba_get_ptr(r, (void **)&all));
    for (uint64_t i = 0; i < len; i++)
        print(&all[i]);

    /* Or copied out, one record by index (range-checked). */
    struct particle third;
    CHECK(r, mba_get(r, 2, &third));
    printf("record 2 copied out: id %llu, tag %.8s\n", (unsigned long long)third.id, third.tag);
    int rc = mba_get(r, len, &third);
    printf("record %llu: %s\n", (unsigned long long)len, mba_strerror(rc));
    status = rc == MBA_E_INDEX ? 0 : 1;

out:
    if (w > 0 && mba_close(w) != MBA_OK)
        status = 1;
    if (r > 0 && mba_close(r) != MBA_OK)
        status = 1;
    int rc3 = mba_unlink(name); /* the name goes; nothing else has it open */
    if (rc3 != MBA_OK && rc3 != MBA_E_NOTFOUND) {
        report(0, "mba_unlink", rc3);
        status = 1;
    }
    return status;
}

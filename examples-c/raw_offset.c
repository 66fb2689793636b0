/*
 * raw_offset.c - maps the numbers of a data file that another program
 * wrote (no libmba header) in place, without reading or copying them.
 *
 *     ./raw_offset [PATH [N]]
 *
 * Step 1 plays the "other program": it writes PATH (default raw_offset.bin)
 * as a 16-byte header of its own format, then N (default 1000) doubles in
 * little-endian byte order:
 *
 *     offset  0: "SENSDAT1"      8-byte magic
 *     offset  8: uint32 count    number of doubles that follow (LE)
 *     offset 12: uint32 flags    unused here
 *     offset 16: double[count]   the samples, 0.5, 1.5, 2.5, ... (LE)
 *
 * Step 2 reads the foreign header itself, then maps the doubles with
 * mba_map_raw at byte offset 16 and prints their count, first, last and
 * sum, through the element pointer (mba_get_ptr) and through mba_get_f64.
 * The file is removed at the end.
 *
 * mba_map_raw maps bytes as they are, in the host's byte order: the file's
 * little-endian doubles are read directly on a little-endian host (x86-64,
 * arm64), which is checked below. Keep the offset a multiple of the
 * element's alignment (8 for doubles) to dereference the pointer directly;
 * otherwise copy elements out with mba_get_f64 or memcpy.
 *
 * Build: cc -std=c11 raw_offset.c $(pkg-config --cflags --libs mba)
 */
#include <mba.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE 16

/* Prints a failed libmba call: the fixed message of its status code and
 * the detailed message (of the handle, when there is one). */
static void report(mba_handle h, const char *what, int rc)
{
    char msg[256] = "";
    if (h > 0)
        mba_handle_error(h, msg, sizeof msg);
    else
        mba_last_error(msg, sizeof msg);
    fprintf(stderr, "raw_offset: %s: %s (%s)\n", what, mba_strerror(rc), msg);
}

/* Every call is checked: on failure, report it and leave through `out`. */
#define CHECK(h, call)                                                                   \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != MBA_OK) {                                                             \
            report((h), #call, rc_);                                                     \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Step 1: what the other program does (plain stdio, no libmba). */
static int write_data_file(const char *path, uint32_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    unsigned char hdr[HEADER_SIZE] = "SENSDAT1";
    put_le32(hdr + 8, n);
    put_le32(hdr + 12, 0);
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    for (uint32_t i = 0; ok && i < n; i++) {
        double v = i + 0.5;
        uint64_t bits;
        unsigned char b[8];
        memcpy(&bits, &v, sizeof bits);
        put_le64(b, bits);
        ok = fwrite(b, 1, sizeof b, f) == sizeof b;
    }
    if (fclose(f) != 0 || !ok) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "raw_offset.bin";
    uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
    const uint16_t probe = 1;
    if (*(const unsigned char *)&probe != 1) {
        fprintf(stderr, "raw_offset: this example expects a little-endian host\n");
        return 1;
    }
    if (write_data_file(path, n) != 0)
        return 1;
    printf("wrote %s: a %d-byte header and %u little-endian doubles\n", path, HEADER_SIZE,
           (unsigned)n);

    int status = 1;
    mba_handle h = 0;

    /* Step 2: read the foreign header ourselves to learn the count. */
    unsigned char hdr[HEADER_SIZE];
    FILE *f = fopen(path, "rb");
    if (!f || fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, "SENSDAT1", 8) != 0) {
        fprintf(stderr, "raw_offset: %s: not a SENSDAT1 file\n", path);
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    uint32_t count = (uint32_t)hdr[8] | (uint32_t)hdr[9] << 8 | (uint32_t)hdr[10] << 16 |
                     (uint32_t)hdr[11] << 24;

    /* Map exactly `count` doubles starting at byte 16. MBA_RDONLY: we only
     * read (0 would map read-write, shared with the file; MBA_COW gives a
     * private copy). If the file were shorter than promised, the call
     * would fail with MBA_E_TRUNCATED instead of mapping garbage. */
    mba_options o;
    CHECK(0, mba_options_init(&o)); /* always first: sets struct_size and defaults */
    o.flags = MBA_RDONLY;
    o.elem_type = MBA_TYPE_F64;
    o.offset = HEADER_SIZE;
    o.initial_len = count; /* 0 would map every complete element of the file */
    CHECK(0, mba_map_raw(path, &o, &h));

    uint64_t len;
    uint32_t flags;
    CHECK(h, mba_len(h, &len));
    CHECK(h, mba_flags(h, &flags));
    printf("mapped %llu doubles at offset %d (raw: %s, read-only: %s)\n", (unsigned long long)len,
           HEADER_SIZE, flags & MBA_RAW ? "yes" : "no", flags & MBA_RDONLY ? "yes" : "no");

    /* The elements in place: a plain C array, valid until mba_close. */
    const double *x;
    CHECK(h, mba_get_ptr(h, (void **)&x));
    double sum = 0;
    for (uint64_t i = 0; i < len; i++)
        sum += x[i];

    double last = 0;
    if (len > 0)
        CHECK(h, mba_get_f64(h, len - 1, &last)); /* the same element, copied out */
    printf("first %.1f, last %.1f, sum %.1f\n", len > 0 ? x[0] : 0.0, last, sum);

    /* Appending is refused: this handle is read-only (MBA_E_READONLY), and
     * even a read-write raw mapping has a fixed length (MBA_E_FULL). */
    int rc = mba_append_f64(h, 1.0);
    printf("append to a raw mapping: %s\n", mba_strerror(rc));
    status = rc == MBA_E_READONLY || rc == MBA_E_FULL ? 0 : 1;

out:
    if (h > 0) {
        int rc2 = mba_close(h);
        if (rc2 != MBA_OK) {
            report(0, "mba_close", rc2);
            status = 1;
        }
    }
    remove(path); /* a raw file is not an mba array: plain remove, not mba_unlink */
    return status;
}

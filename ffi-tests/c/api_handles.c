/*
 * api_handles.c - a closed handle stays invalid (issue 14, scenario 6).
 *
 * 1,000 handles stay open; one more is closed; then 45,000 open/close
 * cycles run. After every open the closed number must still be refused
 * (MBA_E_HANDLE) and write nowhere. Before the fix (16-bit slot index,
 * 15-bit generation, the freed slot reused at once) the closed number
 * was live again after 32,767 cycles and its appends went to the array
 * opened in that cycle. Then: more handles than the table holds fail with
 * MBA_E_NOMEM, and the table recovers when they are closed.
 */
#include "api_test.h"

#define LIVE 1000
#define CYCLES 45000
#define TABLE 4095

static mba_handle live[TABLE + 8];

int main(int argc, char **argv)
{
    t_init(argc, argv);
    const char *a = T_PATH("a.mba");
    const char *b = T_PATH("b.mba");
    mba_handle h = 0;
    REQUIRE(OK(mba_open(a, MBA_CREATE, MBA_TYPE_I64, &h)));
    OK(mba_close(h));
    REQUIRE(OK(mba_open(b, MBA_CREATE, MBA_TYPE_I64, &h)));
    OK(mba_close(h));

    /* Opens of one file share one mapping: cheap, little address space. */
    for (int i = 0; i < LIVE; i++)
        REQUIRE(OK(mba_open(a, 0, MBA_TYPE_I64, &live[i])));
    mba_handle old = 0;
    REQUIRE(OK(mba_open(a, 0, MBA_TYPE_I64, &old)));
    OK(mba_close(old));

    int revived = 0;
    for (int c = 1; c <= CYCLES && !revived; c++) {
        mba_handle g = 0;
        if (!OK(mba_open(b, 0, MBA_TYPE_I64, &g)))
            break;
        uint64_t n = 0;
        int len_rc = mba_len(old, &n);
        int app_rc = mba_append_i64(old, c);
        uint64_t bl = UINT64_MAX;
        OK(mba_len(g, &bl));
        if (len_rc != MBA_E_HANDLE || app_rc != MBA_E_HANDLE || bl != 0) {
            fprintf(stderr,
                    "cycle %d: closed handle %d revived as %d (mba_len %d, mba_append_i64 %d, "
                    "b's length %" PRIu64 ")\n",
                    c, (int)old, (int)g, len_rc, app_rc, bl);
            revived = c;
        }
        OK(mba_close(g));
    }
    CHECK(revived == 0);
    if (!revived)
        printf("closed handle %d stayed invalid through %d opens with %d live\n", (int)old, CYCLES,
               LIVE);
    EXPECT(MBA_E_HANDLE, mba_close(old));
    uint64_t n = UINT64_MAX;
    OK(mba_len(live[0], &n));
    CHECK_U64(n, 0);

    /* The table holds 4,095 handles; the next open fails cleanly. */
    int got = LIVE;
    while (got < TABLE + 8) {
        int rc = mba_open(a, 0, MBA_TYPE_I64, &live[got]);
        if (rc != MBA_OK) {
            EXPECT(MBA_E_NOMEM, rc);
            break;
        }
        got++;
    }
    CHECK(got == TABLE);
    char msg[256];
    mba_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "too many open handles") != NULL);
    for (int i = 0; i < got; i++)
        OK(mba_close(live[i]));
    REQUIRE(OK(mba_open(a, 0, MBA_TYPE_I64, &h)));
    OK(mba_append_i64(h, 1));
    OK(mba_close(h));
    unlink(a);
    unlink(b);
    return t_done("api_handles");
}

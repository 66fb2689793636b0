/* hostile_open - names that another user squats or points elsewhere
 * (issue 14, scenarios 3, 5 and the creator side of 12).
 *
 * usage:
 *   hostile_open squat NAME         create NAME (u64, mode 0666) holding
 *                                   7 8 9, as whoever runs it
 *   hostile_open adopt NAME         NAME was squatted by another uid:
 *                                   MBA_CREATE must give MBA_E_OWNER (from
 *                                   the file and from a cached mapping),
 *                                   MBA_CREATE|MBA_FOREIGN and a plain open
 *                                   must work, and nothing may change
 *   hostile_open open NAME FLAGS    mba_open(NAME, FLAGS, MBA_TYPE_U64): prints
 *                                   the status name (exit 0)
 *   hostile_open hold NAME          prints "pid N", creates NAME exclusively,
 *                                   prints "created", waits for a line
 */
#include "hostile.h"

static const char *code_name(int rc)
{
    switch (rc) {
    case MBA_OK: return "MBA_OK";
    case MBA_E_PERM: return "MBA_E_PERM";
    case MBA_E_OWNER: return "MBA_E_OWNER";
    case MBA_E_EXISTS: return "MBA_E_EXISTS";
    case MBA_E_NOTFOUND: return "MBA_E_NOTFOUND";
    case MBA_E_ARG: return "MBA_E_ARG";
    default: return mba_strerror(rc);
    }
}

static void check_789(mba_handle h)
{
    uint64_t n = 0, v = 0;
    HZ_OK(mba_len(h, &n));
    HZ_CHECK(n == 3);
    for (uint64_t i = 0; i < 3 && i < n; i++) {
        HZ_OK(mba_get(h, i, &v));
        HZ_CHECK(v == 7 + i);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        HZ_DIE("usage: hostile_open squat|adopt|open|hold NAME");
    const char *cmd = argv[1], *name = argv[2];
    mba_handle h, g;
    if (!strcmp(cmd, "squat")) {
        mba_options o;
        HZ_OK(mba_options_init(&o));
        o.flags = MBA_CREATE | MBA_EXCL;
        o.mode = 0666;
        o.elem_type = MBA_TYPE_U64;
        HZ_OK(mba_open_ex(name, &o, &h));
        for (uint64_t v = 7; v <= 9; v++)
            HZ_OK(mba_append(h, &v));
        HZ_OK(mba_close(h));
    } else if (!strcmp(cmd, "adopt")) {
        g = -1;
        HZ_EXPECT(MBA_E_OWNER, mba_open(name, MBA_CREATE, MBA_TYPE_U64, &g));
        HZ_CHECK(g == -1);
        /* A plain attach of another user's array stays allowed. */
        HZ_OK(mba_open(name, 0, MBA_TYPE_U64, &h));
        check_789(h);
        /* With h open, the open below is served from its mapping. */
        HZ_EXPECT(MBA_E_OWNER, mba_open(name, MBA_CREATE, MBA_TYPE_U64, &g));
        HZ_EXPECT(MBA_E_OWNER, mba_open(name, MBA_CREATE | MBA_RDONLY, MBA_TYPE_U64, &g));
        HZ_CHECK(g == -1);
        HZ_OK(mba_open(name, MBA_CREATE | MBA_FOREIGN, MBA_TYPE_U64, &g));
        check_789(g);
        HZ_OK(mba_close(g));
        HZ_OK(mba_close(h));
        HZ_OK(mba_open(name, MBA_CREATE | MBA_FOREIGN, MBA_TYPE_U64, &g));
        check_789(g);
        HZ_OK(mba_close(g));
    } else if (!strcmp(cmd, "open")) {
        uint32_t f = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 0;
        int rc = mba_open(name, f, MBA_TYPE_U64, &h);
        char msg[512];
        mba_last_error(msg, sizeof msg);
        HZ_SAY("%s %s", code_name(rc), rc ? msg : "");
        if (rc == MBA_OK)
            HZ_OK(mba_close(h));
    } else if (!strcmp(cmd, "hold")) {
        HZ_SAY("pid %d", (int)getpid());
        HZ_OK(mba_open(name, MBA_CREATE | MBA_EXCL, MBA_TYPE_U64, &h));
        HZ_SAY("created");
        hz_wait_line();
        HZ_OK(mba_close(h));
    } else {
        HZ_DIE("unknown command %s", cmd);
    }
    return hz_done();
}

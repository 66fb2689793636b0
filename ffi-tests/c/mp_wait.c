/* mp_wait - mba_wait across processes.
 *
 * usage: mp_wait NAME TIMEOUT_MS [rdonly] [sig]
 *   opens NAME (read-only with "rdonly"), reads the change counter, prints
 *   "waiting seq=S" and calls mba_wait(seen=S, TIMEOUT_MS; -1 = forever).
 *   With "sig", a SIGUSR1 handler is installed first (without SA_RESTART).
 * Prints "woken seq=N len=L", "timeout" or "intr signals=K", and exits with
 * 0 (woken), 4 (MBA_E_TIMEOUT), 5 (MBA_E_INTR) or 2 (other error).
 *
 * usage: mp_wait NAME loop N
 *   a read-write waiter that keeps waiting until the length reaches N (used
 *   to make writers see a registered waiter).
 */
#include <signal.h>

#include "mp_common.h"

static volatile sig_atomic_t got;

static void on_usr1(int s)
{
    (void)s;
    got++;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        MP_DIE("usage: mp_wait NAME TIMEOUT_MS [rdonly] [sig] | NAME loop N");
    alarm(60);
    if (!strcmp(argv[2], "loop")) {
        uint64_t n = strtoull(argv[3], NULL, 10), len = 0, seq, wakes = 0;
        mba_handle h;
        MP_OK(mba_open(argv[1], 0, MBA_TYPE_ANY, &h));
        MP_OK(mba_seq(h, &seq));
        printf("waiting seq=%llu\n", (unsigned long long)seq);
        fflush(stdout);
        for (;;) {
            MP_OK(mba_len(h, &len));
            if (len >= n)
                break;
            int rc = mba_wait(h, seq, 1000000000, &seq);
            if (rc == MBA_OK)
                wakes++;
            else if (rc != MBA_E_TIMEOUT)
                MP_OK(rc);
        }
        printf("done wakes=%llu\n", (unsigned long long)wakes);
        return 0;
    }
    int64_t timeout_ms = strtoll(argv[2], NULL, 10);
    int rdonly = 0, sig = 0;
    for (int i = 3; i < argc; i++) {
        rdonly |= !strcmp(argv[i], "rdonly");
        sig |= !strcmp(argv[i], "sig");
    }
    if (sig) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART */
        if (sigaction(SIGUSR1, &sa, NULL) != 0)
            MP_DIE("sigaction");
    }
    mba_handle h;
    MP_OK(mba_open(argv[1], rdonly ? MBA_RDONLY : 0, MBA_TYPE_ANY, &h));
    uint64_t seen, now = 0;
    MP_OK(mba_seq(h, &seen));
    printf("waiting seq=%llu\n", (unsigned long long)seen);
    fflush(stdout);
    int64_t t = timeout_ms < 0 ? -1 : timeout_ms * 1000000;
    int rc = mba_wait(h, seen, t, &now);
    if (rc == MBA_OK) {
        uint64_t len;
        MP_OK(mba_len(h, &len));
        if (now == seen)
            MP_DIE("woken with the counter unchanged");
        printf("woken seq=%llu len=%llu\n", (unsigned long long)now, (unsigned long long)len);
        return 0;
    }
    if (rc == MBA_E_TIMEOUT) {
        printf("timeout\n");
        return 4;
    }
    if (rc == MBA_E_INTR) {
        printf("intr signals=%d\n", (int)got);
        return 5;
    }
    MP_OK(rc);
    return 2;
}

/*
 * api_gc.c - mba_gc: the temporary file of a creation is removed only once
 * its creator is dead (a real child process holding the creator's lock,
 * then SIGKILLed), arrays only with MBA_GC_UNUSED and only when no process
 * maps or opens them (a child that maps one and closes its descriptor
 * still counts), bad arguments.
 */
#include "api_test.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A child that does what a creator does (FORMAT.md 4.1): creates the
 * temporary file with O_CREAT|O_EXCL, takes an OFD write lock on its byte
 * 0, then (instead of writing and renaming it) sleeps until killed.
 * Returns its pid once the lock is held. */
static pid_t live_creator(const char *tmp)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        close(p[0]);
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            _exit(10);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = 0;
        fl.l_len = 1;
        if (fcntl(fd, F_OFD_SETLK, &fl) != 0)
            _exit(11);
        if (write(p[1], "r", 1) != 1)
            _exit(12);
        for (;;)
            pause();
    }
    close(p[1]);
    char c = 0;
    REQUIRE(read(p[0], &c, 1) == 1 && c == 'r');
    close(p[0]);
    return pid;
}

/* A child that maps the array file and closes its descriptor: only its
 * /proc/PID/maps shows that it uses the array. */
static pid_t mapper(const char *path)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        close(p[0]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            _exit(10);
        void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            _exit(11);
        close(fd);
        if (write(p[1], "r", 1) != 1)
            _exit(12);
        for (;;)
            pause();
    }
    close(p[1]);
    char c = 0;
    REQUIRE(read(p[0], &c, 1) == 1 && c == 'r');
    close(p[0]);
    return pid;
}

static void kill_child(pid_t pid)
{
    int st = 0;
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_temp_files(void)
{
    char *dir = T_PATH("gc-temp");
    REQUIRE(mkdir(dir, 0700) == 0);
    char *tmp = t_name("%s/.arr.mba-tmp.%d.5eed", dir, (int)getpid());
    pid_t pid = live_creator(tmp);
    uint64_t n = 99;
    /* Alive: kept, even forced. */
    OK(mba_gc(dir, 0, &n));
    CHECK_U64(n, 0);
    OK(mba_gc(dir, MBA_GC_FORCE | MBA_GC_UNUSED, &n));
    CHECK_U64(n, 0);
    CHECK(exists(tmp));
    kill_child(pid);
    /* Dead, but changed less than 5 s ago: kept unless forced. */
    OK(mba_gc(dir, 0, &n));
    CHECK_U64(n, 0);
    CHECK(exists(tmp));
    OK(mba_gc(dir, MBA_GC_FORCE | MBA_GC_DRY_RUN, &n));
    CHECK_U64(n, 1);
    CHECK(exists(tmp));
    OK(mba_gc(dir, MBA_GC_FORCE, &n));
    CHECK_U64(n, 1);
    CHECK(!exists(tmp));
    OK(mba_gc(dir, MBA_GC_FORCE, NULL));
    /* Files that only look alike are not temporary files of ours. */
    char *other = t_name("%s/.arr.mba-tmp.notapid.5eed", dir);
    REQUIRE(t_write_file(other, "x", 1) == 0);
    OK(mba_gc(dir, MBA_GC_FORCE | MBA_GC_UNUSED, &n));
    CHECK_U64(n, 0);
    CHECK(exists(other));
    unlink(other);
    rmdir(dir);
}

static void test_unused_arrays(void)
{
    char *dir = T_PATH("gc-arrays");
    REQUIRE(mkdir(dir, 0700) == 0);
    char *path = t_name("%s/a.mba", dir);
    char *name = t_name("file://%s", path);
    char *plain = t_name("%s/not-an-array", dir);
    REQUIRE(t_write_file(plain, "hello", 5) == 0);
    mba_handle h = 0;
    REQUIRE(OK(mba_open(name, MBA_CREATE, MBA_TYPE_U32, &h)));
    uint64_t n = 99;
    /* Open by this process: in use. */
    OK(mba_gc(dir, MBA_GC_UNUSED | MBA_GC_FORCE, &n));
    CHECK_U64(n, 0);
    OK(mba_close(h));
    /* Mapped by another process that closed its descriptor: in use. */
    pid_t pid = mapper(path);
    OK(mba_gc(dir, MBA_GC_UNUSED | MBA_GC_FORCE, &n));
    CHECK_U64(n, 0);
    CHECK(exists(path));
    kill_child(pid);
    /* Unused now, but only removed on request. */
    OK(mba_gc(dir, MBA_GC_FORCE, &n));
    CHECK_U64(n, 0);
    OK(mba_gc(dir, MBA_GC_UNUSED | MBA_GC_FORCE | MBA_GC_DRY_RUN, &n));
    CHECK_U64(n, 1);
    CHECK(exists(path));
    OK(mba_gc(dir, MBA_GC_UNUSED | MBA_GC_FORCE, &n));
    CHECK_U64(n, 1);
    CHECK(!exists(path));
    CHECK(exists(plain)); /* not an array: never touched */
    unlink(plain);
    rmdir(dir);
}

static void test_bad_arguments(void)
{
    uint64_t n = 7;
    EXPECT(MBA_E_ARG, mba_gc(t_dir, 0x80, &n));
    EXPECT(MBA_E_NOTFOUND, mba_gc(T_PATH("no-such-dir"), 0, &n));
    char *file = T_PATH("gc-file");
    REQUIRE(t_write_file(file, "x", 1) == 0);
    EXPECT(MBA_E_ARG, mba_gc(file, 0, &n));
    unlink(file);
    CHECK_U64(n, 7); /* out-parameter untouched on failure */
    /* NULL is /dev/shm; a dry run there changes nothing. */
    OK(mba_gc(NULL, MBA_GC_DRY_RUN, &n));
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    test_temp_files();
    test_unused_arrays();
    test_bad_arguments();
    return t_done("api_gc");
}

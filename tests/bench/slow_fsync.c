/*  slow_fsync: an LD_PRELOAD shim that makes every fsync and fdatasync wait
    TSR_SLOW_FSYNC_US microseconds (default 2500) before it runs, to measure
    on a fast disk what a slow one does to issuance (docs/benchmarks.md,
    "Where an issuance's time goes"). PostgreSQL's WAL flush is the fsync
    that matters; benchlib's fsync figure goes through the shim as well, so
    the tables say what the disk looked like.

        gcc -shared -fPIC -O2 -o /tmp/slow_fsync.so tests/bench/slow_fsync.c -ldl
        LD_PRELOAD=/tmp/slow_fsync.so /usr/bin/python3 tests/bench/bench_issue.py ...

    A benchmark tool only: not built by CMake, never used by the tests.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void
s_wait (void)
{
    static long wait_us = -1;
    if (wait_us < 0) {
        const char *text = getenv ("TSR_SLOW_FSYNC_US");
        wait_us = text ? strtol (text, NULL, 10) : 2500;
        if (wait_us < 0 || wait_us > 1000000)
            wait_us = 2500;
    }
    struct timespec delay = { wait_us / 1000000, (wait_us % 1000000) * 1000 };
    nanosleep (&delay, NULL);
}

int
fdatasync (int fd)
{
    static int (*real) (int);
    if (!real)
        real = (int (*) (int)) dlsym (RTLD_NEXT, "fdatasync");
    s_wait ();
    return real (fd);
}

int
fsync (int fd)
{
    static int (*real) (int);
    if (!real)
        real = (int (*) (int)) dlsym (RTLD_NEXT, "fsync");
    s_wait ();
    return real (fd);
}

/* Resource attacks. argv[1] = mode; every loop bounded in count and time.
   mem    : touch 1 MiB blocks, up to 4 GiB
   flood  : write to stdout for at most 30 s
   disk   : append 64 KiB blocks to ./fill until a write fails (at most 1 GiB)
   fds    : open /dev/null until it fails; prints "opened N errno E"
   xcpu   : busy loop for at most 30 s with SIGXCPU ignored by a handler
   sleep  : sleep 30 s
   recurse: unbounded recursion (the stack limit ends it)
   shm TAG: 24 files of 8 MiB in /dev/shm (RAM that no process maps) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void onxcpu(int s) { (void)s; }
static int deep(int n) { volatile char pad[1024]; pad[0] = (char)n; return n ? deep(n + 1) + pad[0] : 0; }
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "mem")) {
        for (int i = 0; i < 4096; i++) { char *p = malloc(1 << 20); if (!p) return 3; memset(p, i, 1 << 20); }
        printf("ESCAPED 4 GiB\n"); return 9;
    }
    if (!strcmp(m, "flood")) {
        static char buf[65536]; memset(buf, 'x', sizeof buf);
        double t0 = now();
        while (now() - t0 < 30) if (write(1, buf, sizeof buf) < 0) return 4;
        return 0;
    }
    if (!strcmp(m, "disk")) {
        static char buf[65536]; memset(buf, 'd', sizeof buf);
        int fd = open("fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) { perror("open"); return 3; }
        for (int i = 0; i < 16384; i++) if (write(fd, buf, sizeof buf) < 0) { printf("write failed errno %d\n", errno); return 5; }
        return 0;
    }
    if (!strcmp(m, "fds")) {
        int n = 0;
        for (int i = 0; i < 100000; i++) { if (open("/dev/null", O_RDONLY) < 0) break; n++; }
        printf("opened %d errno %d\n", n, errno);
        return 0;
    }
    if (!strcmp(m, "xcpu")) {
        struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = onxcpu;
        sigaction(SIGXCPU, &sa, 0);
        double t0 = now(); volatile unsigned long x = 0;
        while (now() - t0 < 30) x++;
        return 0;
    }
    if (!strcmp(m, "sleep")) { sleep(30); return 0; }
    if (!strcmp(m, "recurse")) return deep(1);
    if (!strcmp(m, "shm") && argc > 2) {
        static char buf[1 << 20]; memset(buf, 's', sizeof buf);
        int mib = 0;
        for (int i = 0; i < 24; i++) {
            char p[256]; snprintf(p, sizeof p, "/dev/shm/%s-%d", argv[2], i);
            int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) { printf("open %s errno %d\n", p, errno); break; }
            for (int k = 0; k < 8; k++) if (write(fd, buf, sizeof buf) > 0) mib++;
            close(fd);
        }
        printf("wrote %d MiB\n", mib);
        return 0;
    }
    return 2;
}

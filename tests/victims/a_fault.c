/* Faults. argv[1] = mode.
   stdout : write to stdout for at most 5 s (the reader is gone: SIGPIPE)
   stdin  : read stdin to its end (it never ends)
   pgrp   : setpgid(0,0), fork a child that does the same, both sleep 30 s
   forky  : fork children that fork and exit, for at most 30 s; pids in argv[2]
   churn  : 16 threads, each making and joining short threads, for at most 30 s */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *nop(void *a) { return a; }
static void *churn(void *a) {
    double t0 = now();
    while (now() - t0 < 30) { pthread_t t; if (pthread_create(&t, 0, nop, 0) == 0) pthread_join(t, 0); else usleep(1000); }
    return a;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "stdout")) {
        double t0 = now();
        while (now() - t0 < 5) if (write(1, "x\n", 2) < 0) return 4;
        return 0;
    }
    if (!strcmp(m, "stdin")) { char b[256]; while (read(0, b, sizeof b) > 0) {} return 0; }
    if (!strcmp(m, "pgrp")) {
        setpgid(0, 0);
        if (fork() == 0) { setpgid(0, 0); sleep(30); _exit(0); }
        sleep(30); return 0;
    }
    if (!strcmp(m, "forky")) {
        FILE *f = fopen(argc > 2 ? argv[2] : "started", "w");
        if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
        double t0 = now();
        while (now() - t0 < 30) {
            pid_t p = fork();
            if (p == 0) { if (fork() == 0) { usleep(20000); _exit(0); } usleep(20000); _exit(0); }
            if (p > 0) waitpid(p, 0, 0); else usleep(1000);
        }
        return 0;
    }
    if (!strcmp(m, "churn")) {
        FILE *f = fopen(argc > 2 ? argv[2] : "started", "w");
        if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
        pthread_t t[16];
        for (int i = 0; i < 16; i++) pthread_create(&t[i], 0, churn, 0);
        for (int i = 0; i < 16; i++) pthread_join(t[i], 0);
        return 0;
    }
    return 2;
}

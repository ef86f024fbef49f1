/* Leaving the process tree. argv[1] = mode; every loop bounded in count and time.
   setsid   : setsid + double fork; the grandchild writes its pid to argv[2] and sleeps 20 s
   bomb     : fork bomb; each process forks for at most 2 s, then sleeps 1 s
   nsbomb   : the same inside a new user namespace
   untraced : clone(CLONE_UNTRACED): exit 9 if a child was made
   clone3   : clone3: exit 9 if a child was made
   vfork    : vfork then exec argv[2] with the rest of argv
   threads  : 200 threads; after they all started, one tries socket() */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static volatile int started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *thr(void *a) {
    pthread_mutex_lock(&mu); started++; pthread_mutex_unlock(&mu);
    if ((intptr_t)a == 199) {
        for (int i = 0; i < 500 && started < 200; i++) usleep(10000);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        printf(s >= 0 ? "ESCAPED socket from thread 199\n" : "socket refused from thread\n");
    } else usleep(300000);
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(m, "setsid")) {
        pid_t p = fork();
        if (p < 0) { printf("fork refused errno %d\n", errno); return 0; }
        if (p == 0) {
            setsid();
            if (fork() == 0) {
                FILE *f = fopen(argc > 2 ? argv[2] : "pid", "w");
                if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
                for (int i = 0; i < 20; i++) sleep(1);
                _exit(0);
            }
            _exit(0);
        }
        waitpid(p, 0, 0);
        usleep(300000);
        return 0;
    }
    if (!strcmp(m, "nsbomb")) {
        /* A new user namespace first: RLIMIT_NPROC must still count the
           processes against the run's uid on the host. */
        printf("unshare(CLONE_NEWUSER) = %d\n", unshare(CLONE_NEWUSER));
        m = "bomb";
    }
    if (!strcmp(m, "bomb")) {
        double t0 = now(); int made = 0;
        for (int i = 0; i < 100000 && now() - t0 < 2; i++) {
            pid_t p = fork();
            if (p == 0) continue; /* the child keeps the start time: the whole bomb lasts 2 s */
            if (p > 0) made++; else usleep(1000);
        }
        sleep(1);
        while (wait(0) > 0) {}
        return 0;
    }
    if (!strcmp(m, "untraced")) {
        long r = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) { sleep(5); _exit(0); }
        if (r > 0) { printf("ESCAPED untraced child %ld\n", r); waitpid(r, 0, 0); return 9; }
        printf("clone(CLONE_UNTRACED) refused errno %d\n", errno); return 0;
    }
    if (!strcmp(m, "clone3")) {
        struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } a;
        memset(&a, 0, sizeof a); a.exit_signal = SIGCHLD;
        long r = syscall(435, &a, sizeof a);
        if (r == 0) { _exit(0); }
        if (r > 0) { printf("ESCAPED clone3 child %ld\n", r); waitpid(r, 0, 0); return 9; }
        printf("clone3 refused errno %d\n", errno); return 0;
    }
    if (!strcmp(m, "vfork")) {
        if (argc < 3) return 2;
        pid_t p = vfork();
        if (p == 0) { execv(argv[2], argv + 2); _exit(127); }
        if (p < 0) { printf("vfork refused errno %d\n", errno); return 0; }
        int st; waitpid(p, &st, 0);
        printf("child status %d\n", st);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 8;
    }
    if (!strcmp(m, "threads")) {
        pthread_t t[200]; int n = 0;
        for (intptr_t i = 0; i < 200; i++) {
            if (pthread_create(&t[i], 0, thr, (void *)i)) { printf("pthread_create %d failed\n", (int)i); break; }
            n++;
        }
        for (int i = 0; i < n; i++) pthread_join(t[i], 0);
        printf("threads %d\n", n);
        return 0;
    }
    return 2;
}

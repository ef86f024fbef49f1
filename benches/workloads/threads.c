/* threads: 8 pthreads, each doing 100,000 syscall(SYS_getppid). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>
static long iters;
static void *work(void *arg) {
    long acc = 0;
    for (long i = 0; i < iters; i++) acc += syscall(SYS_getppid);
    *(long *)arg = acc;
    return 0;
}
int main(int argc, char **argv) {
    /* optional argv[1]: iteration count (the harness's --scale); default as specified */
    iters = argc > 1 ? atol(argv[1]) : 100000;
    pthread_t t[8];
    long acc[8];
    for (int i = 0; i < 8; i++)
        if (pthread_create(&t[i], 0, work, &acc[i]) != 0) return 2;
    for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
    return 0;
}

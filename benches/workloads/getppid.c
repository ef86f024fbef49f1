/* getppid: 1,000,000 getppid() through syscall(2) so libc cannot cache it. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>
static long iters;
int main(int argc, char **argv) {
    /* optional argv[1]: iteration count (the harness's --scale); default as specified */
    iters = argc > 1 ? atol(argv[1]) : 1000000;
    long acc = 0;
    for (long i = 0; i < iters; i++) acc += syscall(SYS_getppid);
    return acc == 0 ? 1 : 0;
}

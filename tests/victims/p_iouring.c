/* io_uring_setup must be refused (ring operations bypass seccomp and ptrace). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char params[120]; memset(params, 0, sizeof params);
    long r = syscall(425, 8, params);
    printf("io_uring_setup = %ld errno %d\n", r, errno);
    return r >= 0 ? 9 : 0;
}

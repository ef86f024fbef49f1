/* x32 ABI number for socket: 41 | 0x40000000. Must kill the run. */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    long r = syscall(41 | 0x40000000L, 2, 1, 0);
    printf("x32 socket returned %ld\n", r);
    return 0;
}

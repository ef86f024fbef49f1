/* Attach to the pid in argv[1] (the supervisor): must be refused or kill the run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
int main(int argc, char **argv) {
    long r = ptrace(PTRACE_ATTACH, argc > 1 ? atoi(argv[1]) : 1, 0, 0);
    printf("ptrace = %ld errno %d\n", r, errno);
    return r == 0 ? 9 : 0;
}

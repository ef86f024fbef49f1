/* clone with CLONE_UNTRACED would escape the tracer; must fail with EPERM.
   Exit 0 when refused, 9 when a child was created. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    long r = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) { _exit(0); }
    if (r > 0) { waitpid(r, 0, 0); printf("untraced child %ld\n", r); return 9; }
    printf("clone(CLONE_UNTRACED) refused: errno %d\n", errno);
    return errno == EPERM ? 0 : 8;
}

/* clone3 must answer ENOSYS (flags live in memory the filter cannot read). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdint.h>
struct ca { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; };
int main(void) {
    struct ca a; memset(&a, 0, sizeof a); a.exit_signal = 17;
    long r = syscall(435, &a, sizeof a);
    if (r == 0) _exit(0);
    printf("clone3 = %ld errno %d\n", r, errno);
    return (r < 0 && errno == ENOSYS) ? 0 : 9;
}

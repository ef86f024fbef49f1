/* Reaching the supervisor or other runs. argv[1] = mode; the target is the
   parent (the supervisor) unless argv[2] names a pid.
   Prints "ESCAPED ..." and exits 9 when the attack worked.
   attach    : PTRACE_ATTACH (then PTRACE_SEIZE)
   traceme   : PTRACE_TRACEME, then raise SIGSTOP-free signals and exit
   vmwrite   : process_vm_writev one byte into the target
   procmem   : open /proc/PID/mem for writing, then reading
   killall   : kill(-1, SIGKILL)
   killparent: kill(getppid(), SIGKILL) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    /* The supervisor: the run's uid is 10000 (default uidplus) + its pid; getppid
       is not in the default policy. */
    pid_t target = argc > 2 ? atoi(argv[2]) : (pid_t)(geteuid() - 10000);
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(m, "attach")) {
        if (ptrace(PTRACE_ATTACH, target, 0, 0) == 0) { printf("ESCAPED attached to %d\n", target); return 9; }
        printf("attach refused errno %d\n", errno);
        if (ptrace(PTRACE_SEIZE, target, 0, 0) == 0) { printf("ESCAPED seized %d\n", target); return 9; }
        printf("seize refused errno %d\n", errno);
        return 0;
    }
    if (!strcmp(m, "traceme")) {
        long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("traceme = %ld errno %d\n", r, r ? errno : 0);
        raise(SIGCHLD); /* ignored by default: a stop if traced */
        printf("still running\n");
        return 0;
    }
    if (!strcmp(m, "vmwrite")) {
        char b = 0; char buf[1] = {0};
        struct iovec l = {buf, 1}, r = {&b, 1};
        /* an address of ours is mapped in the supervisor too (same binary? no):
           use the stack address; any success is an escape */
        long n = process_vm_writev(target, &l, 1, &r, 1, 0);
        if (n >= 0) { printf("ESCAPED process_vm_writev = %ld\n", n); return 9; }
        printf("process_vm_writev refused errno %d\n", errno);
        return 0;
    }
    if (!strcmp(m, "procmem")) {
        char p[64]; snprintf(p, sizeof p, "/proc/%d/mem", target);
        int fd = open(p, O_RDWR);
        if (fd >= 0) { printf("ESCAPED opened %s rw\n", p); return 9; }
        printf("open rw refused errno %d\n", errno);
        fd = open(p, O_RDONLY);
        if (fd >= 0) { printf("ESCAPED opened %s ro\n", p); return 9; }
        printf("open ro refused errno %d\n", errno);
        return 0;
    }
    if (!strcmp(m, "killall")) {
        long r = kill(-1, SIGKILL); /* kills ourselves too if allowed */
        printf("kill(-1) = %ld errno %d\n", r, errno);
        return 0;
    }
    if (!strcmp(m, "killparent")) {
        long r = kill(target, SIGKILL);
        if (r == 0) { printf("ESCAPED killed the parent\n"); return 9; }
        printf("kill(parent) refused errno %d\n", errno);
        return 0;
    }
    return 2;
}

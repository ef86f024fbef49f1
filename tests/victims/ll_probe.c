/* Probes a pid from inside the run: sched_getaffinity and prlimit64 answer
   ESRCH for a pid the run cannot name, and EPERM (or success) for one it
   can see, which tells it that the process exists.
   usage: ll_probe PID */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = atoi(argv[1]);
    cpu_set_t set;
    long r = syscall(SYS_sched_getaffinity, pid, sizeof set, &set);
    printf("affinity %s\n", r < 0 ? (errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM" : "other") : "ok");
    struct rlimit old;
    r = syscall(SYS_prlimit64, pid, RLIMIT_NOFILE, NULL, &old);
    printf("prlimit %s\n", r < 0 ? (errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM" : "other") : "ok");
    return 0;
}

/* Classic mode's attack surface: one call per family of the default
   filter (src/policy/baseline.rs). Prints "FAMILY ok" when the kernel did
   it, "FAMILY errno N" when refused. Everything it creates dies with it.
   usage: cl_surface FAMILY...   (userns keys perf uffd bpf personality
                                  io_uring kexec modules ptrace) */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r) {
    if (r < 0) printf("%s errno %d\n", what, errno);
    else printf("%s ok\n", what);
    fflush(stdout);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        long r = -1;
        if (!strcmp(f, "userns")) {
            /* clone first: after a successful unshare our ids have no
               mapping in the new namespace, and a second one fails. */
            pid_t c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
            if (c == 0) _exit(0);
            if (c > 0) waitpid(c, 0, 0);
            report("userns-clone", c);
            r = syscall(SYS_unshare, CLONE_NEWUSER);
        } else if (!strcmp(f, "keys")) {
            r = syscall(SYS_add_key, "user", "safeexec-test", "x", 1, -2 /* session */);
        } else if (!strcmp(f, "perf")) {
            struct perf_event_attr a;
            memset(&a, 0, sizeof a);
            a.size = sizeof a;
            a.type = PERF_TYPE_SOFTWARE;
            a.config = PERF_COUNT_SW_TASK_CLOCK;
            a.exclude_kernel = 1;
            a.exclude_hv = 1;
            r = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
        } else if (!strcmp(f, "uffd")) {
            r = syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */);
        } else if (!strcmp(f, "bpf")) {
            char attr[128];
            memset(attr, 0, sizeof attr);
            r = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr);
        } else if (!strcmp(f, "personality")) {
            r = syscall(SYS_personality, ADDR_NO_RANDOMIZE);
        } else if (!strcmp(f, "io_uring")) {
            char params[120];
            memset(params, 0, sizeof params);
            r = syscall(SYS_io_uring_setup, 4, params);
        } else if (!strcmp(f, "kexec")) {
            r = syscall(SYS_kexec_load, 0, 0, 0, 0);
        } else if (!strcmp(f, "modules")) {
            r = syscall(SYS_delete_module, "safeexec_none", 0);
        } else if (!strcmp(f, "ptrace")) {
            pid_t c = fork();
            if (c == 0) { pause(); _exit(0); }
            r = ptrace(PTRACE_ATTACH, c, 0, 0);
            kill(c, SIGKILL);
            waitpid(c, 0, 0);
        } else {
            printf("%s unknown\n", f);
            continue;
        }
        report(f, r);
    }
    return 0;
}

/* Not a timed workload: the reference mode `allow-all` of the benchmark.
 * Installs a seccomp filter that allows every call (one instruction, so the
 * kernel's per-number action cache answers every call) with the same flag
 * safeexec uses (SECCOMP_FILTER_FLAG_SPEC_ALLOW), then execs argv[1]: the
 * floor of any seccomp policy, without a supervisor. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow};
    if (argc < 2) {
        fprintf(stderr, "usage: allowall PROGRAM [ARGS]\n");
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) != 0) {
        perror("allowall: seccomp");
        return 126;
    }
    execv(argv[1], argv + 1);
    perror("allowall: execv");
    return 127;
}

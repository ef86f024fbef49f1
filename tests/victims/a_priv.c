/* Privilege attacks. argv[1] = mode. Prints "ESCAPED ..." and exits 9 when a
   privileged step worked; prints "refused ... errno N" and exits 0 otherwise.
   A mode whose call an unprivileged uid may make (keyctl, perf, userfaultfd,
   userns) prints "allowed ..." and exits 0: the test judges by mode.
   exec PATH : execv PATH (a setuid-root program)
   setuid | capset | chroot | mount DIR | userns | bpf | perf | keyctl | uffd */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#define REFUSED(what) do { printf("refused %s errno %d\n", what, errno); return 0; } while (0)
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(m, "exec")) { execv(argv[2], argv + 2); REFUSED("exec"); }
    if (!strcmp(m, "setuid")) {
        if (setuid(0) == 0 || geteuid() == 0) { printf("ESCAPED setuid(0)\n"); return 9; }
        REFUSED("setuid");
    }
    if (!strcmp(m, "capset")) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2]; memset(d, 0xff, sizeof d);
        if (syscall(SYS_capset, &h, d) == 0) { printf("ESCAPED capset\n"); return 9; }
        REFUSED("capset");
    }
    if (!strcmp(m, "chroot")) {
        mkdir("jail", 0755);
        if (chroot("jail") == 0) {
            for (int i = 0; i < 64; i++) chdir("..");
            if (chroot(".") == 0) { printf("ESCAPED chroot\n"); return 9; }
        }
        REFUSED("chroot");
    }
    if (!strcmp(m, "mount")) {
        const char *dir = argc > 2 ? argv[2] : ".";
        if (mount("none", dir, "tmpfs", 0, "size=64k") == 0) { printf("ESCAPED mount\n"); return 9; }
        int fd = syscall(SYS_fsopen, "tmpfs", 0);
        if (fd >= 0) { printf("allowed fsopen (no mount yet)\n"); }
        REFUSED("mount");
    }
    if (!strcmp(m, "userns")) {
        if (unshare(CLONE_NEWUSER) == 0) {
            /* Inside: root of a namespace that owns nothing; try a mount of the
               host's view, which must still fail (mount ns not unshared) */
            printf("allowed unshare(CLONE_NEWUSER)\n");
            if (unshare(CLONE_NEWNS) == 0 && mount("none", "/tmp", "tmpfs", 0, "size=64k") == 0)
                printf("allowed private tmpfs on /tmp in a new mount namespace\n");
            return 0;
        }
        REFUSED("unshare");
    }
    if (!strcmp(m, "bpf")) {
        char attr[128]; memset(attr, 0, sizeof attr);
        long r = syscall(SYS_bpf, 0 /* MAP_CREATE */, attr, sizeof attr);
        if (r >= 0) { printf("ESCAPED bpf\n"); return 9; }
        REFUSED("bpf");
    }
    if (!strcmp(m, "perf")) {
        char attr[128]; memset(attr, 0, sizeof attr);
        *(unsigned *)(attr + 4) = 128; /* size; type 0 = HARDWARE, config 0 = cycles */
        long r = syscall(SYS_perf_event_open, attr, -1, 0, -1, 0); /* every process on cpu 0 */
        if (r >= 0) { printf("ESCAPED perf_event_open system-wide\n"); return 9; }
        r = syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
        if (r >= 0) { printf("allowed perf_event_open on itself\n"); return 0; }
        REFUSED("perf_event_open");
    }
    if (!strcmp(m, "keyctl")) {
        long r = syscall(SYS_add_key, "user", "safeexec-test", "x", 1, -3 /* session */);
        if (r >= 0) { printf("allowed add_key %ld\n", r); return 0; }
        REFUSED("add_key");
    }
    if (!strcmp(m, "uffd")) {
        long r = syscall(SYS_userfaultfd, O_CLOEXEC);
        if (r >= 0) { printf("allowed userfaultfd\n"); return 0; }
        r = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
        if (r >= 0) { printf("allowed userfaultfd user-mode-only\n"); return 0; }
        REFUSED("userfaultfd");
    }
    return 2;
}

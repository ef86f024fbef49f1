/* Path-rule escapes, single-threaded (no race): every trick to write a 0666
   file (argv[1]) or to create something in a 0777 directory (argv[2]), both
   outside the working directory, where only the policy's path rules stand
   in the way. Prints one line per attempt; the oracles are the files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static void ok(const char *what, int r) { printf("%s = %d errno %d\n", what, r, r < 0 ? errno : 0); }
static void w(const char *what, int fd) {
    printf("%s = %d errno %d\n", what, fd, fd < 0 ? errno : 0);
    if (fd >= 0) { write(fd, "PWNED", 5); close(fd); }
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *canary = argv[1], *dir = argv[2];
    char b[1024], name[256];
    setvbuf(stdout, 0, _IONBF, 0);
    snprintf(name, sizeof name, "%s", canary); const char *base = basename(name);
    w("open", open(canary, O_WRONLY | O_APPEND));
    snprintf(b, sizeof b, "../%s", base); w("relative ..", open(b, O_WRONLY | O_APPEND));
    snprintf(b, sizeof b, "./../%s", base); w("./..", open(b, O_WRONLY | O_APPEND));
    snprintf(b, sizeof b, "/%s", canary); w("//", open(b, O_WRONLY | O_APPEND));
    snprintf(b, sizeof b, "/tmp/./../tmp/%s", base); w("/tmp/./../tmp", open(b, O_WRONLY | O_APPEND));
    w("O_RDONLY|O_TRUNC", open(canary, O_RDONLY | O_TRUNC));
    w("O_RDWR", open(canary, O_RDWR));
    w("creat", (int)syscall(SYS_creat, canary, 0644));
    int t = open("/tmp", O_RDONLY | O_DIRECTORY);
    printf("open /tmp dir = %d errno %d\n", t, t < 0 ? errno : 0);
    int r = open("/", O_RDONLY | O_DIRECTORY);
    printf("open / dir = %d errno %d\n", r, r < 0 ? errno : 0);
    if (t >= 0) w("openat(/tmp fd)", openat(t, base, O_WRONLY | O_APPEND));
    if (r >= 0) { snprintf(b, sizeof b, "%s", canary + 1); w("openat(/ fd)", openat(r, b, O_WRONLY | O_APPEND)); }
    struct open_how how; memset(&how, 0, sizeof how); how.flags = O_WRONLY | O_APPEND;
    w("openat2", syscall(SYS_openat2, AT_FDCWD, canary, &how, sizeof how));
    int p = open(canary, O_PATH);
    printf("O_PATH = %d errno %d\n", p, p < 0 ? errno : 0);
    if (p >= 0) {
        snprintf(b, sizeof b, "/proc/self/fd/%d", p); w("reopen O_PATH via /proc/self/fd", open(b, O_WRONLY | O_APPEND));
        snprintf(b, sizeof b, "/dev/fd/%d", p); w("reopen O_PATH via /dev/fd", open(b, O_WRONLY | O_APPEND));
    }
    printf("truncate = %d errno %d\n", truncate(canary, 0), errno);
    snprintf(b, sizeof b, "%s/new", dir); w("create in dir", open(b, O_WRONLY | O_CREAT, 0644));
    snprintf(b, sizeof b, "%s/sub", dir); printf("mkdir in dir = %d errno %d\n", mkdir(b, 0755), errno);
    w("local file", open("local", O_WRONLY | O_CREAT, 0644));
    snprintf(b, sizeof b, "%s/moved", dir); printf("rename out = %d errno %d\n", rename("local", b), errno);
    snprintf(b, sizeof b, "%s/moved2", dir); printf("renameat out = %d errno %d\n", renameat(AT_FDCWD, "local", t, b + 5), errno);
    mkdir("d", 0777);
    snprintf(b, sizeof b, "%s/d", dir); printf("rename dir out = %d errno %d\n", rename("d", b), errno);
    int tmpf = open(dir, O_WRONLY | O_TMPFILE, 0644);
    printf("O_TMPFILE in dir = %d errno %d\n", tmpf, tmpf < 0 ? errno : 0);
    /* With a policy that allows links and chdir: the path rules alone. */
    ok("symlink", symlink(canary, "s"));
    w("open through symlink", open("s", O_WRONLY | O_APPEND));
    ok("dir symlink", symlink(dir, "sd"));
    w("create through dir symlink", open("sd/new2", O_WRONLY | O_CREAT, 0644));
    ok("hard link", link(canary, "h"));
    w("open hard link", open("h", O_WRONLY | O_APPEND));
    printf("chdir .. = %d errno %d\n", chdir(".."), errno);
    w("open after chdir", open(base, O_WRONLY | O_APPEND));
    if (t >= 0) { printf("fchdir /tmp = %d errno %d\n", fchdir(t), errno); w("open after fchdir", open(base, O_WRONLY | O_APPEND)); }
    printf("done\n");
    return 0;
}

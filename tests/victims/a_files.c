/* File attacks. argv[1] = mode. Prints whatever it manages to read.
   read PATH...   : open and print each file
   links SECRET   : hard link and symlink SECRET into the working dir, read through them
   write PATH     : truncate, append to, rename and unlink PATH (a canary outside the dir)
   env            : print the environment
   stash TAG      : leave TAG files in /tmp, /var/tmp and /dev/shm for a later
                    run of the same uid (uids are reused when pids wrap) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
extern char **environ;
static void cat(const char *p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) { printf("open %s refused errno %d\n", p, errno); return; }
    char b[4096]; ssize_t n;
    printf("read %s:\n", p);
    while ((n = read(fd, b, sizeof b)) > 0) { for (ssize_t i = 0; i < n; i++) if (!b[i]) b[i] = ' '; fwrite(b, 1, n, stdout); }
    printf("\n"); close(fd);
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "read")) { for (int i = 2; i < argc; i++) cat(argv[i]); return 0; }
    if (!strcmp(m, "links")) {
        if (link(argv[2], "hard") == 0) printf("hard link made\n"); else printf("link refused errno %d\n", errno);
        if (symlink(argv[2], "soft") == 0) printf("symlink made\n"); else printf("symlink refused errno %d\n", errno);
        cat("hard"); cat("soft");
        return 0;
    }
    if (!strcmp(m, "write")) {
        int fd = open(argv[2], O_WRONLY | O_TRUNC);
        printf("open trunc = %d errno %d\n", fd, fd < 0 ? errno : 0);
        if (fd >= 0) write(fd, "PWNED", 5);
        fd = open(argv[2], O_WRONLY | O_APPEND);
        printf("open append = %d errno %d\n", fd, fd < 0 ? errno : 0);
        if (fd >= 0) write(fd, "PWNED", 5);
        printf("truncate = %d errno %d\n", truncate(argv[2], 0), errno);
        printf("rename = %d errno %d\n", rename(argv[2], "stolen"), errno);
        printf("unlink = %d errno %d\n", unlink(argv[2]), errno);
        printf("chmod = %d errno %d\n", chmod(argv[2], 0777), errno);
        return 0;
    }
    if (!strcmp(m, "stash")) {
        const char *dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
        char p[512];
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/%s", dirs[i], argv[2]);
            int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
            printf("stash %s = %d errno %d\n", p, fd, fd < 0 ? errno : 0);
            if (fd >= 0) { write(fd, "stash", 5); close(fd); }
        }
        return 0;
    }
    if (!strcmp(m, "env")) { for (char **e = environ; *e; e++) printf("%s\n", *e); return 0; }
    return 2;
}

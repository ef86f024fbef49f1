/* Opens a relative name for writing after changing directory to argv[1]:
   the supervisor must resolve it against the new working directory.
   Prints the open's result; exits 0 when the open was refused. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int fd0 = open(argv[2], O_RDONLY);      /* caches the first working directory */
    if (fd0 >= 0) close(fd0);
    if (chdir(argv[1]) != 0) { perror("chdir"); return 3; }
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0666);
    printf("open=%d\n", fd);
    return fd >= 0 ? 9 : 0;
}

/* Tries to write outside its working directory: prints each path created. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { printf("created %s\n", argv[i]); close(fd); }
    }
    return 0;
}

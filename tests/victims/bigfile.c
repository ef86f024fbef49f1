/* Writes argv[1] KiB (at most 1 GiB) to the file `big.out` in the cwd. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long kib = argc > 1 ? atol(argv[1]) : 1;
    if (kib < 0 || kib > (1L << 20)) kib = 1L << 20;
    int fd = open("big.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 2;
    char buf[1024];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < kib; i++)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 3;
    close(fd);
    return 0;
}

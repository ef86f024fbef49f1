/* write: 200,000 one-byte write() calls to /dev/null. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
static long iters;
int main(int argc, char **argv) {
    /* optional argv[1]: iteration count (the harness's --scale); default as specified */
    iters = argc > 1 ? atol(argv[1]) : 200000;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) return 2;
    char c = 'x';
    for (long i = 0; i < iters; i++)
        if (write(fd, &c, 1) != 1) return 3;
    close(fd);
    return 0;
}

/* open: 100,000 open("data.txt", O_RDONLY) + close() in the working directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
static long iters;
int main(int argc, char **argv) {
    /* optional argv[1]: iteration count (the harness's --scale); default as specified */
    iters = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = 0; i < iters; i++) {
        int fd = open("data.txt", O_RDONLY);
        if (fd < 0) return 2;
        close(fd);
    }
    return 0;
}

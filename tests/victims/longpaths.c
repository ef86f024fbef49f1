/* Opens a path of about 3.8 KiB (that does not exist) N times (argv[1],
 * default 2000, at most 100000), then prints "done N FAILED": a full trace
 * records each open with the whole path, several KiB per record. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 1 || n > 100000)
        n = 2000;
    static char path[3900];
    strcpy(path, "/tmp/");
    size_t len = strlen(path);
    while (len + 21 < sizeof path) {
        memcpy(path + len, "long-path-component/", 20);
        len += 20;
    }
    path[len] = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd >= 0)
            close(fd);
        else
            failed++;
    }
    printf("done %d %d\n", n, failed);
    return 0;
}

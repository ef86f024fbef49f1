/* Touches argv[1] MiB (at most 1024) through a volatile pointer, holds 1 ms.
   argv[2], if given: milliseconds (at most 10000) to sleep first. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 1;
    if (mib < 0 || mib > 1024) mib = 1024;
    long wait = argc > 2 ? atol(argv[2]) : 0;
    if (wait > 0 && wait <= 10000) usleep((useconds_t)wait * 1000);
    size_t n = (size_t)mib << 20;
    char *p = malloc(n);
    if (!p) return 2;
    memset(p, 1, n);
    volatile char *v = p;
    for (size_t i = 0; i < n; i += 4096) v[i] = (char)i;
    usleep(1000);
    return (n == 0 || v[n - 1] == 1) ? 0 : 5;
}

/* mem10: touches 10 MiB (memset), holds it 1 ms, exits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define SIZE (10u << 20)
int main(void) {
    char *p = malloc(SIZE);
    if (!p) return 2;
    memset(p, 1, SIZE);
    __asm__ volatile("" : : "r"(p) : "memory"); /* keep the pages: no malloc elision */
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, 0);
    return p[SIZE - 1] == 1 ? 0 : 3;
}

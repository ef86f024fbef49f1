/* busy: an endless busy loop that stops itself after 5 s of wall time (CPU limit check with --cpu 0.5). */
#include <time.h>
int main(void) {
    struct timespec t0, t;
    volatile unsigned long spin = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (int i = 0; i < 100000; i++) spin++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 5) return 0;
    }
}

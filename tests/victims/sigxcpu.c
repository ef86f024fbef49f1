/* Ignores SIGXCPU, then busy loops (stops by itself after 20 s). */
#include <signal.h>
#include <time.h>
static void ignore(int sig) { (void)sig; }
int main(void) {
    signal(SIGXCPU, ignore);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long x = 0;
    for (;;) {
        for (int i = 0; i < 1000000; i++) x++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 20) return 0;
    }
}

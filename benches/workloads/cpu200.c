/* cpu200: burns 200 ms of CPU (CLOCK_PROCESS_CPUTIME_ID) in a busy loop. */
#include <time.h>
int main(void) {
    struct timespec ts;
    volatile unsigned long spin = 0;
    for (;;) {
        for (int i = 0; i < 1000; i++) spin++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        if (ts.tv_sec * 1000000000L + ts.tv_nsec >= 200000000L) return 0;
    }
}

/* sleeper: sleeps 5 s (wall-clock limit check with --clock 1). */
#include <time.h>
int main(void) {
    struct timespec ts = {5, 0};
    while (nanosleep(&ts, &ts) != 0) {}
    return 0;
}

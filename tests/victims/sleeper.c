/* Sleeps argv[1] seconds (default 1, at most 60). */
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int s = argc > 1 ? atoi(argv[1]) : 1;
    if (s > 60) s = 60;
    if (s > 0) sleep((unsigned)s);
    return 0;
}

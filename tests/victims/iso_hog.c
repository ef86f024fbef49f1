/* Two processes, each touching 40 MiB, alive together for a moment. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t p = fork();
    if (p < 0) return 2;
    size_t n = 40u << 20;
    volatile char *m = malloc(n);
    if (!m) return 3;
    /* One write a page, through volatile so the compiler keeps it. */
    for (size_t i = 0; i < n; i += 4096) m[i] = 1;
    usleep(300000);
    if (p == 0) _exit(0);
    int st;
    waitpid(p, &st, 0);
    return 0;
}

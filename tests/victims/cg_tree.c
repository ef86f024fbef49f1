/* A process tree: argv[1] children, each touching argv[2] MiB and holding
 * it for argv[3] ms, the parent waiting for all of them. Exit 0 when every
 * child exited 0; 2 when a fork failed; 3 when a child did not exit 0. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 10;
    int hold_ms = argc > 3 ? atoi(argv[3]) : 300;
    if (n < 0 || n > 64 || mib > 1024 || hold_ms < 0 || hold_ms > 10000) return 4;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) return 2;
        if (p == 0) {
            volatile char *m = malloc(mib << 20);
            if (!m) _exit(5);
            /* One write a page, through volatile so the compiler keeps it. */
            for (size_t j = 0; j < (mib << 20); j += 4096) m[j] = 1;
            usleep(hold_ms * 1000);
            _exit(0);
        }
    }
    int bad = 0, st;
    for (int i = 0; i < n; i++) {
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    return bad ? 3 : 0;
}

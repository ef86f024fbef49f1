/* fork: 500 x (fork + _exit + waitpid). */
#include <sys/types.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>
static long iters;
int main(int argc, char **argv) {
    /* optional argv[1]: iteration count (the harness's --scale); default as specified */
    iters = argc > 1 ? atol(argv[1]) : 500;
    for (long i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) return 2;
        if (p == 0) _exit(0);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 3;
    }
    return 0;
}

/* Tries to fork: exits 0 when fork failed, 4 when it succeeded. */
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t p = fork();
    if (p < 0) return 0;
    if (p == 0) _exit(0);
    waitpid(p, 0, 0);
    return 4;
}

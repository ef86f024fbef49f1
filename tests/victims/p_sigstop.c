/* Stops itself, a child sends SIGCONT; a SIGTERM handler runs when raised. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
static volatile sig_atomic_t got;
static void h(int s) { (void)s; got = 1; }
int main(void) {
    signal(SIGTERM, h);
    raise(SIGTERM);
    if (!got) return 4;
    pid_t p = fork();
    if (p == 0) { usleep(200000); kill(getppid(), SIGCONT); _exit(0); }
    raise(SIGSTOP);            /* resumes when the child sends SIGCONT */
    waitpid(p, 0, 0);
    printf("stopped and continued\n");
    return 0;
}

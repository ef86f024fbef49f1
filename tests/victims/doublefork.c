/* fork; the child calls setsid and forks; the grandchild writes its pid to
 * gc.pid in the cwd and sleeps 30 s. The child exits at once; the first
 * process exits as soon as gc.pid exists (at most 2 s), so the pid is known. */
#include <stdio.h>
#include <unistd.h>
int main(void) {
    pid_t c = fork();
    if (c < 0) return 2;
    if (c > 0) {
        for (int i = 0; i < 200 && access("gc.pid", F_OK) != 0; i++) usleep(10000);
        return 0;
    }
    setsid();
    pid_t g = fork();
    if (g < 0) _exit(2);
    if (g > 0) _exit(0);
    FILE *f = fopen("gc.pid.tmp", "w");
    if (!f) _exit(3);
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    rename("gc.pid.tmp", "gc.pid");
    sleep(30);
    _exit(0);
}

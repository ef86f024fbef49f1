/* Waits (up to 5 s) for a pid in the file argv[1], sends it SIGKILL:
 * exits 0 when kill failed, 3 when it succeeded, 2 when no pid appeared. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int pid = 0;
    for (int i = 0; i < 500 && pid <= 0; i++) {
        FILE *f = fopen(argv[1], "r");
        if (f) {
            if (fscanf(f, "%d", &pid) != 1) pid = 0;
            fclose(f);
        }
        if (pid <= 0) usleep(10000);
    }
    if (pid <= 0) return 2;
    if (kill(pid, SIGKILL) != 0) {
        perror("kill");
        return 0;
    }
    return 3;
}

/* Forks children that sleep; writes their pids to argv[1]; then sleeps. */
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "pids", "w");
    for (int i = 0; i < 3; i++) { pid_t p = fork(); if (p == 0) { sleep(30); _exit(0); } if (f) fprintf(f, "%d\n", p); }
    if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
    sleep(30);
    return 0;
}

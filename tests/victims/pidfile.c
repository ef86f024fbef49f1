/* Writes its own pid to the file argv[1], sleeps 2 s, exits 0. */
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f) return 3;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    if (rename(tmp, argv[1]) != 0) return 4;
    sleep(2);
    return 0;
}

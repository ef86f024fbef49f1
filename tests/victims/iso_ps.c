/* Prints the numeric entries of /proc (one a line); with "kill", first
   sends SIGKILL to every process it may signal (kill(-1)). */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "kill") == 0) kill(-1, SIGKILL);
    DIR *d = opendir("/proc");
    if (!d) return 2;
    struct dirent *e;
    while ((e = readdir(d))) if (isdigit((unsigned char)e->d_name[0])) printf("%s\n", e->d_name);
    return 0;
}

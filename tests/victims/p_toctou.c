/* One thread flips a path between an allowed file and a forbidden one while
   the main thread opens it for writing. The kernel (uid, permissions) must
   still stop writes to argv[2] (a root-owned canary). Bounded: 2000 tries. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char path[512];
static const char *good, *bad;
static volatile int stop;
static void *flip(void *a) {
    (void)a;
    while (!stop) { strcpy(path, bad); strcpy(path, good); }
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    good = argv[1]; bad = argv[2]; strcpy(path, good);
    pthread_t t; pthread_create(&t, 0, flip, 0);
    int wins = 0, eacces = 0, eperm = 0;
    for (int i = 0; i < 2000; i++) {
        int fd = open(path, O_WRONLY | O_APPEND);
        if (fd >= 0) { write(fd, "X", 1); close(fd); }
        else if (errno == EACCES) eacces++;
        else if (errno == EPERM) eperm++;
    }
    stop = 1; pthread_join(t, 0);
    /* How many opens were refused, and how: the attack was tried. */
    printf("done %d eacces %d eperm %d\n", wins, eacces, eperm);
    return 0;
}

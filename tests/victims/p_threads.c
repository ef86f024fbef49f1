/* 8 threads each doing 10000 getppid(); prints the sum of their counts. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void *work(void *a) { (void)a; for (int i = 0; i < 10000; i++) syscall(SYS_getppid); return 0; }
int main(void) {
    pthread_t t[8];
    for (int i = 0; i < 8; i++) if (pthread_create(&t[i], 0, work, 0)) { perror("pthread_create"); return 3; }
    for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
    printf("threads done\n");
    return 0;
}

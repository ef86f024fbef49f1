/* Fills directories with files: argv[1] MiB (at most 1024) into each of
   argv[2..] (at most 32), in files of 8 MiB, until a write fails; then
   holds 300 ms (so the run's memory can be sampled) and prints how much
   it wrote. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long mib = atol(argv[1]);
    if (mib < 0 || mib > 1024) mib = 1024;
    static char buf[1 << 20];
    memset(buf, 'f', sizeof buf);
    long total = 0;
    for (int d = 2; d < argc && d < 34; d++) {
        mkdir(argv[d], 0700);
        long done = 0;
        for (int f = 0; done < mib && f < 128; f++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/safeexec-fill-%d", argv[d], f);
            int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) { printf("open %s errno %d\n", p, errno); break; }
            int k = 0;
            for (; k < 8 && done < mib; k++) {
                if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) break;
                done++;
            }
            close(fd);
            if (k < 8 && done < mib) break;
        }
        total += done;
    }
    usleep(300000);
    printf("wrote %ld MiB\n", total);
    return 0;
}

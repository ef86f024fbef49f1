/* Page tables without resident memory: maps argv[1] * 512 MiB (argv[1] at
   most 1024) read-only and reads one byte per 2 MiB, so that each read
   maps the shared zero page and allocates one 4 KiB page-table page:
   argv[1] MiB of page tables while RSS stays tiny. Then holds 200 ms and
   prints its VmPTE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 1;
    if (mib < 1 || mib > 1024) mib = 1024;
    size_t len = (size_t)mib << 29;
    char *p = mmap(0, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 3; }
    madvise(p, len, MADV_NOHUGEPAGE);
    volatile char *v = p;
    unsigned long sum = 0;
    for (size_t off = 0; off < len; off += (size_t)2 << 20) sum += v[off];
    usleep(200000);
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmPTE", 5) || !strncmp(line, "VmRSS", 5)) fputs(line, stdout);
    printf("sum %lu\n", sum);
    return 0;
}

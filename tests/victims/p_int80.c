/* i386 entry from a 64-bit process: int $0x80 with i386 socketcall (102),
   which is getuid's number on x86_64. Must kill the run (non-native ABI). */
#include <stdio.h>
int main(void) {
    long ret;
    unsigned long args[3] = {2, 1, 0};
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(102), "b"(1), "c"(args) : "memory");
    printf("int80 returned %ld\n", ret);
    return 0;
}

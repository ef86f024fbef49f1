/* Dies of SIGSEGV. */
#include <signal.h>
int main(void) {
    volatile int *p = (volatile int *)0;
    *p = 1;
    raise(SIGSEGV);
    return 0;
}

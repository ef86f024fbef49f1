/* Installed setuid root by the test: prints its real and effective uid. */
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid %d uid %d\n", (int)geteuid(), (int)getuid()); return 0; }

/* Prints hello and exits 0. */
#include <stdio.h>
int main(void) { puts("hello"); return 0; }

/* Writes one line to stderr, nothing to stdout. */
#include <stdio.h>
int main(void) { fputs("to stderr\n", stderr); return 0; }

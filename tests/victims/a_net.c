/* Network attacks. argv[1] = mode, argv[2] = port or abstract name.
   Prints "ESCAPED ..." and exits 9 when a connection was made; 0 when refused.
   connect  : socket + connect to 127.0.0.1:PORT
   raw      : the same through syscall(SYS_socket) / syscall(SYS_connect)
   unix     : connect to the abstract AF_UNIX socket "\0NAME"
   int80    : i386 socketcall(SOCKET) through int $0x80
   x32      : x32 socket number (41 | 0x40000000)
   iouring  : io_uring_setup */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
static struct sockaddr_in loop4(const char *port) {
    struct sockaddr_in a; memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons(atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1], *arg = argc > 2 ? argv[2] : "9";
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(m, "connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { printf("socket refused errno %d\n", errno); return 0; }
        struct sockaddr_in a = loop4(arg);
        if (connect(s, (void *)&a, sizeof a) == 0) { write(s, "LEAK", 4); printf("ESCAPED connect\n"); return 9; }
        printf("connect refused errno %d\n", errno); return 0;
    }
    if (!strcmp(m, "raw")) {
        long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        if (s < 0) { printf("socket refused errno %d\n", errno); return 0; }
        struct sockaddr_in a = loop4(arg);
        if (syscall(SYS_connect, s, &a, sizeof a) == 0) { printf("ESCAPED raw connect\n"); return 9; }
        printf("connect refused errno %d\n", errno); return 0;
    }
    if (!strcmp(m, "unix")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) { printf("socket refused errno %d\n", errno); return 0; }
        struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX;
        size_t n = strlen(arg); if (n > sizeof a.sun_path - 2) n = sizeof a.sun_path - 2;
        memcpy(a.sun_path + 1, arg, n);
        if (connect(s, (void *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n) == 0) {
            write(s, "LEAK", 4); printf("ESCAPED unix connect\n"); return 9;
        }
        printf("connect refused errno %d\n", errno); return 0;
    }
    if (!strcmp(m, "int80")) {
        long ret; unsigned long args[3] = {AF_INET, SOCK_STREAM, 0};
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(102), "b"(1), "c"(args) : "memory");
        printf("ESCAPED int80 returned %ld\n", ret); return 9;
    }
    if (!strcmp(m, "x32")) {
        long r = syscall(41 | 0x40000000L, AF_INET, SOCK_STREAM, 0);
        printf("ESCAPED x32 socket returned %ld\n", r); return 9;
    }
    if (!strcmp(m, "iouring")) {
        char params[120]; memset(params, 0, sizeof params);
        long r = syscall(425, 8, params);
        if (r >= 0) { printf("ESCAPED io_uring_setup = %ld\n", r); return 9; }
        printf("io_uring_setup refused errno %d\n", errno); return 0;
    }
    return 2;
}

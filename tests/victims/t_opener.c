#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    char buf[64];
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { read(fd, buf, sizeof buf); close(fd); }
    if (argc > 1) { int s = socket(AF_INET, SOCK_STREAM, 0); printf("socket %d\n", s); }
    printf("hello\n");
    return 0;
}

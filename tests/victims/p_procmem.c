/* Open /proc/<argv[1]>/mem and /proc/<argv[1]>/root/etc/hostname: refused. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char p[256]; int bad = 0;
    const char *what[] = {"mem", "root/etc/hostname", "fd/0", "environ"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "/proc/%s/%s", argc > 1 ? argv[1] : "1", what[i]);
        int fd = open(p, O_RDONLY);
        printf("%s = %d\n", p, fd);
        if (fd >= 0) bad = 1;
    }
    return bad ? 9 : 0;
}

#include <unistd.h>
#include <fcntl.h>
int main(void){int fd=open("/dev/null",O_WRONLY);for(long i=0;i<200000;i++)write(fd,"x",1);return 0;}

/*
 * bench/explore-checker.c - the minimal compiled checker of the explore
 * benchmark: open the state's data file (if any), read its first 4 KiB,
 * exit 0.  What a real checker costs beyond this is the program's own.
 */
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];
	int fd = open("data", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			return 1;
		close(fd);
	}
	return 0;
}

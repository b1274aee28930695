/*
 * tests/integration/engines/markfile.c - a stand-in for torn's shim in the
 * engine tests that run without torn: an LD_PRELOAD object defining
 * torn_mark(), which appends each mark as a line to $TORNKV_MARKFILE.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((visibility("default"))) void torn_mark(const char *fmt, ...)
{
	const char *path = getenv("TORNKV_MARKFILE");
	char line[1100];
	va_list ap;
	int n, fd;

	if (!path)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		(void)0;
	close(fd);
}

/* injector/trace_io.c - whole writes (see trace_io.h). */
#include "trace_io.h"

#include <errno.h>
#include <unistd.h>

/* One kernel call moves at most ~2 GiB; ask for 1 GiB at a time. */
#define TRACE_IO_MAX ((size_t)1 << 30)

static int write_some(int fd, const char *p, size_t n, off_t off, int positioned)
{
	while (n) {
		size_t ask = n > TRACE_IO_MAX ? TRACE_IO_MAX : n;
		ssize_t w = positioned ? pwrite(fd, p, ask, off) : write(fd, p, ask);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int trace_write_all(int fd, const void *p, size_t n)
{
	return write_some(fd, p, n, 0, 0);
}

int trace_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	return write_some(fd, p, n, off, 1);
}

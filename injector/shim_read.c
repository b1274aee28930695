/*
 * injector/shim_read.c - the reads: read, pread, readv, preadv, their
 * 64-bit twins and _FORTIFY_SOURCE's __read_chk, __pread_chk.
 *
 * Reads change nothing a crash could lose: they are not recorded, and are
 * interposed for faults only (posix/io/rw/read, ... : EIO on read, as
 * libfiu's POSIX preload has them).  Without faults a wrapper is one
 * predictable branch and the real call; with faults it fails the call when
 * a rule says so and the descriptor is a recorded one (shim_fault.c).
 * Reads are hand-written rather than generated (shim_calls.h H lines):
 * the generated wrappers' common entry (shim_begin, errno saved and put
 * back) costs some 60 instructions, too much for calls that record
 * nothing.
 */
#include <sys/uio.h>
#include <unistd.h>

#include "shim_int.h"

/* Fail this read on @fd?  1 with *@r the result (errno set), 0 to run the
 * real call.  Out of line: the call context (some 8 KiB) stays off the
 * fast path's stack frame, which then is a branch and a tail call. */
static __attribute__((noinline)) int rd_faulted(int fd, const char *point, const char *call,
						ssize_t *r)
{
	struct shim_call c;

	if (!shim_begin(&c))
		return 0;
	c.fd = fd;
	c.f = shim_fd_rec(fd);
	if (!c.f || !shim_fault_check(&c, point, call)) {
		errno = c.errno0;       /* the real call starts with the program's errno */
		return 0;
	}
	*r = (ssize_t)shim_fault_apply(&c, -1);
	c.err = errno;
	shim_finish(&c);
	errno = c.err;
	return 1;
}

#define SHIM_RD(point, call, real_call)                                      \
	do {                                                                 \
		ssize_t r_;                                                  \
                                                                             \
		if (__builtin_expect(shim_faults_on, 0) &&                   \
		    rd_faulted(fd, point, call, &r_))                        \
			return r_;                                           \
		return real_call;                                            \
	} while (0)

/* The fast path (no faults, the real function resolved) is two loads, two
 * branches and a tail call; everything else is out of line. */
#define SHIM_READ_FN(name, params, args, point)                                   \
	static __attribute__((noinline)) ssize_t slow_##name params               \
	{                                                                         \
		SHIM_RD(point, #name, SHIM_REAL(name) args);                      \
	}                                                                         \
	SHIM_EXPORT ssize_t name params                                           \
	{                                                                         \
		if (__builtin_expect(!shim_faults_on && shim_real_##name, 1))     \
			return shim_real_##name args;                             \
		return slow_##name args;                                          \
	}

SHIM_READ_FN(read, (int fd, void *buf, size_t n), (fd, buf, n), "posix/io/rw/read")
SHIM_READ_FN(__read_chk, (int fd, void *buf, size_t n, size_t cap), (fd, buf, n, cap),
	     "posix/io/rw/read")
SHIM_READ_FN(pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off),
	     "posix/io/rw/pread")
SHIM_READ_FN(pread64, (int fd, void *buf, size_t n, off64_t off), (fd, buf, n, off),
	     "posix/io/rw/pread")
SHIM_READ_FN(__pread_chk, (int fd, void *buf, size_t n, off_t off, size_t cap),
	     (fd, buf, n, off, cap), "posix/io/rw/pread")
SHIM_READ_FN(__pread64_chk, (int fd, void *buf, size_t n, off64_t off, size_t cap),
	     (fd, buf, n, off, cap), "posix/io/rw/pread")
SHIM_READ_FN(readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
	     "posix/io/rw/readv")
SHIM_READ_FN(preadv, (int fd, const struct iovec *iov, int cnt, off_t off),
	     (fd, iov, cnt, off), "posix/io/rw/preadv")
SHIM_READ_FN(preadv64, (int fd, const struct iovec *iov, int cnt, off64_t off),
	     (fd, iov, cnt, off), "posix/io/rw/preadv")

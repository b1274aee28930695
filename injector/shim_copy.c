/*
 * injector/shim_copy.c - writes whose bytes never pass through the program:
 * copy_file_range, splice, sendfile, and the clone ioctls (FICLONE,
 * FICLONERANGE).
 *
 * Sections: 1. copy_file_range and splice, 2. sendfile, 3. ioctl.
 *
 * cp(1) copies with copy_file_range (after trying FICLONE): without these
 * wrappers a copied file would be silently empty in the trace.  The kernel
 * moves the bytes from file to file, so the shim records the destination
 * range after the call by reading it back (shim_readback), under the lock
 * like every write: source TORN_SRC_PWRITE when the call names an offset,
 * TORN_SRC_WRITE when it writes at the file position.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. COPY_FILE_RANGE AND SPLICE
 * ========================================================================== */

typedef ssize_t (*copy_fn)(int, off64_t *, int, off64_t *, size_t, unsigned int);

/* Both move @len bytes from @fdin to @fdout, at *@offout or at (and
 * moving) the file position; splice into an O_APPEND file appends. */
static ssize_t copy_impl(copy_fn real, int fdin, off64_t *offin, int fdout, off64_t *offout,
			 size_t len, unsigned int flags)
{
	struct shim_call c;
	struct stat st;
	int64_t at;
	ssize_t r;

	if (!shim_begin(&c))
		return real(fdin, offin, fdout, offout, len, flags);
	c.f = shim_fd_rec(fdout);
	errno = c.errno0;
	if (!c.f)
		return real(fdin, offin, fdout, offout, len, flags);
	shim_lock(&c.lk);
	at = offout ? *offout : (int64_t)lseek(fdout, 0, SEEK_CUR);
	c.fd = fdout;
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, real == SHIM_REAL(splice) ? "posix/io/rw/splice" :
			     "posix/io/rw/copy_file_range",
			     real == SHIM_REAL(splice) ? "splice" : "copy_file_range")) {
		r = (ssize_t)shim_fault_apply(&c, -1);  /* nothing moved */
	} else {
		errno = c.errno0;
		r = real(fdin, offin, fdout, offout, len, flags);
	}
	c.err = errno;
	if (r > 0 && (c.f->oflags & O_APPEND) && fstat(fdout, &st) == 0)
		at = (int64_t)st.st_size - r;
	if (r > 0 && at >= 0)
		shim_readback(c.f, fdout, at, at + r, offout ? TORN_SRC_PWRITE : TORN_SRC_WRITE);
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT ssize_t copy_file_range(int fdin, off64_t *offin, int fdout, off64_t *offout,
				    size_t len, unsigned int flags)
{
	return copy_impl(SHIM_REAL(copy_file_range), fdin, offin, fdout, offout, len, flags);
}

SHIM_EXPORT ssize_t splice(int fdin, off64_t *offin, int fdout, off64_t *offout, size_t len,
			   unsigned int flags)
{
	return copy_impl(SHIM_REAL(splice), fdin, offin, fdout, offout, len, flags);
}

/* ==========================================================================
 * 2. SENDFILE
 * ========================================================================== */

/* The output descriptor's file position (its end for O_APPEND). */
static int64_t out_pos(const struct shim_fd *f, int fd)
{
	struct stat st;

	if (f->oflags & O_APPEND)
		return fstat(fd, &st) == 0 ? (int64_t)st.st_size : -1;
	return (int64_t)lseek(fd, 0, SEEK_CUR);
}

static ssize_t sendfile_impl(ssize_t (*real)(int, int, off64_t *, size_t), int out, int in,
			     off64_t *off, size_t n)
{
	struct shim_call c;
	int64_t at;
	ssize_t r;

	if (!shim_begin(&c))
		return real(out, in, off, n);
	c.f = shim_fd_rec(out);
	errno = c.errno0;
	if (!c.f)
		return real(out, in, off, n);
	shim_lock(&c.lk);
	at = out_pos(c.f, out);
	c.fd = out;
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/io/rw/sendfile", "sendfile"))
		r = (ssize_t)shim_fault_apply(&c, -1);  /* nothing moved */
	else {
		errno = c.errno0;
		r = real(out, in, off, n);
	}
	c.err = errno;
	if (r > 0 && at >= 0) {
		if (c.f->oflags & O_APPEND)
			at = out_pos(c.f, out) - r;
		shim_readback(c.f, out, at, at + r, TORN_SRC_WRITE);
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	return sendfile_impl((ssize_t(*)(int, int, off64_t *, size_t))SHIM_REAL(sendfile), out, in,
			     (off64_t *)off, n);
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
	return sendfile_impl(SHIM_REAL(sendfile64), out, in, off, n);
}

/* ==========================================================================
 * 3. IOCTL: the clone requests only
 * ==========================================================================
 *
 * FICLONE makes the destination a copy of the whole source (size
 * included): recorded as a truncate to 0 and the read-back of its new
 * contents.  FICLONERANGE shares a range: the read-back of that range
 * (length 0 means to the source's end).  Every other request passes
 * through without a look.
 */
SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct shim_call c;
	struct file_clone_range range;
	struct stat st;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req != FICLONE && req != FICLONERANGE) || !shim_begin(&c))
		return SHIM_REAL(ioctl)(fd, req, arg);
	c.f = shim_fd_rec(fd);
	errno = c.errno0;
	if (!c.f)
		return SHIM_REAL(ioctl)(fd, req, arg);
	if (req == FICLONERANGE)
		range = *(const struct file_clone_range *)arg;
	shim_lock(&c.lk);
	errno = c.errno0;
	r = SHIM_REAL(ioctl)(fd, req, arg);
	c.err = errno;
	if (r == 0 && req == FICLONE && fstat(fd, &st) == 0) {
		struct torn_event ev = { .type = TORN_EV_TRUNCATE };

		ev.handle = c.f->handle;
		ev.ino = c.f->ino;
		shim_emit(&ev);
		shim_readback(c.f, fd, 0, st.st_size, TORN_SRC_PWRITE);
	} else if (r == 0 && req == FICLONERANGE) {
		uint64_t end = range.dest_offset + range.src_length;

		if (range.src_length == 0 && fstat((int)range.src_fd, &st) == 0)
			end = range.dest_offset + ((uint64_t)st.st_size - range.src_offset);
		shim_readback(c.f, fd, (int64_t)range.dest_offset, (int64_t)end, TORN_SRC_PWRITE);
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

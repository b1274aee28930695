/*
 * injector/shim_stdio.c - stdio streams on recorded files.
 *
 * Sections: 1. what a stdio call moved to the file (the bracket),
 * 2. opening and closing streams, 3. writing, 4. flushing and seeking,
 * 5. the flush at exit.
 *
 * glibc's stdio writes through internal symbols (__write), never through
 * the PLT, so the write wrappers do not see it.  Instead each stdio call
 * that may write on a recorded stream is bracketed, under the global lock:
 * the kernel file offset (or, for an O_APPEND stream, the file size) is
 * noted before the call and after it; if it moved, the bytes [before,
 * after) are read back from the file and recorded as one TORN_SRC_STDIO
 * write (pieces of 256 KiB, continuations flagged TORN_F_SPLIT).
 *
 * Granularity: one write event per stdio call that reached the file, with
 * the bytes it wrote -- a buffer flushed by fflush, by fclose, by a seek,
 * by a full buffer inside fwrite, or by a newline on a line-buffered
 * stream.  A call that only fills the buffer is passed through without a
 * look.  dprintf/vdprintf (a descriptor, no stream) are bracketed the same
 * way.
 *
 * Catch-up: calls not interposed (fputws and the wide family, perror,
 * putw, ...) may flush a stream inside libc.  Each bracket therefore starts
 * by comparing the kernel offset with where the stream's last recorded
 * write ended; bytes in between are read back and recorded first (as do
 * fsync, fdatasync and sync_file_range of the stream's descriptor, so that
 * the flush is recorded after them).  On an O_APPEND stream there is no
 * catch-up (another writer's appends cannot be told apart).  Bytes written
 * to the descriptor by other means (write(2) on fileno(f), recorded
 * already) or read ahead on a "r+" stream are recorded a second time by a
 * catch-up: with the bytes the file holds, which changes no crash state.
 *
 * Lock order: a stream's own lock (flockfile) first, then the global lock,
 * never the other way (fclose, which frees the stream, is the exception:
 * closing a stream another thread is using is undefined anyway).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. THE BRACKET
 * ========================================================================== */

/* glibc's FILE flags (libio.h, not installed): a buffer that is not
 * written out before it is full. */
#define SHIM_IO_UNBUFFERED        0x0002
#define SHIM_IO_LINE_BUF          0x0200
#define SHIM_IO_CURRENTLY_PUTTING 0x0800
#define SHIM_IO_ERR_SEEN          0x0020    /* ferror() */

/* Read-back buffer, used under the global lock only (one thread of this
 * process at a time). */
static uint8_t g_back[256 * 1024];

/* The recorded descriptor under stream @f, or NULL (memory streams have
 * no descriptor). */
static struct shim_fd *stream_rec(FILE *f, int *fdp)
{
	struct shim_fd *e;
	int fd;

	if (!f)
		return NULL;
	fd = fileno_unlocked(f);
	if (fd < 0)
		return NULL;
	e = shim_fd_rec(fd);
	if (e)
		shim_fd_set_stream(fd, f);
	*fdp = fd;
	return e;
}

/* A recorded stream that can write (nothing to bracket on a read-only
 * one). */
static struct shim_fd *stream_w(FILE *f, int *fdp)
{
	struct shim_fd *e = stream_rec(f, fdp);

	return e && (e->oflags & O_ACCMODE) != O_RDONLY ? e : NULL;
}

/* Will a write of @n bytes stay in the buffer (no system call)?  Only for
 * a fully buffered stream already in writing mode with room to spare;
 * (size_t)-1 is "unknown". */
static int stays_in_buffer(FILE *f, size_t n)
{
	return n != (size_t)-1 && !(f->_flags & (SHIM_IO_UNBUFFERED | SHIM_IO_LINE_BUF)) &&
	       (f->_flags & SHIM_IO_CURRENTLY_PUTTING) && f->_IO_write_ptr &&
	       f->_IO_write_end > f->_IO_write_ptr &&
	       n < (size_t)(f->_IO_write_end - f->_IO_write_ptr);
}

struct bracket {
	int      fd;
	struct shim_fd *e;
	int64_t  before;
};

/* Where the next byte written to @b->fd will land. */
static int64_t where(const struct bracket *b)
{
	struct stat st;

	if (b->e->oflags & O_APPEND)
		return fstat(b->fd, &st) == 0 ? (int64_t)st.st_size : -1;
	return (int64_t)lseek(b->fd, 0, SEEK_CUR);
}

/* Under the lock: record what the stream wrote since its last recorded
 * write ended, unseen (see catch-up above). */
static void catch_up(struct bracket *b, int64_t now)
{
	struct shim_fd *e = b->e;

	if (!(e->oflags & O_APPEND) && e->stream_end1 > 0 && now > e->stream_end1 - 1)
		shim_readback(e, b->fd, e->stream_end1 - 1, now, TORN_SRC_STDIO);
}

static void bracket_start(struct bracket *b)
{
	b->before = where(b);
	if (b->before >= 0)
		catch_up(b, b->before);
}

/* Record the bytes [from, to) of the file open on @fd as written by a
 * call the shim saw only from outside (stdio, copy_file_range, ...).  A
 * write-only descriptor cannot be read: the file is reopened read-only
 * through /proc/self/fd. */
void shim_readback(struct shim_fd *e, int fd, int64_t from, int64_t to, uint32_t src)
{
	int rfd = fd, own = -1;
	int64_t done = 0;

	if ((e->oflags & O_ACCMODE) == O_WRONLY) {
		char name[32];

		shim_proc_fd_name(name, fd);
		own = rfd = SHIM_REAL(openat)(AT_FDCWD, name, O_RDONLY | O_CLOEXEC);
		if (rfd < 0) {
			shim_unsupported("write seen from outside (stdio, copy_file_range, "
					 "sendfile, clone) to a file that cannot be read back (no read "
					 "permission): its bytes are not recorded");
			return;
		}
	}
	while (from + done < to) {
		size_t want = (size_t)(to - from - done);
		struct torn_event ev = { .type = TORN_EV_WRITE };
		struct iovec iov;
		ssize_t n;

		if (want > sizeof(g_back))
			want = sizeof(g_back);
		do
			n = pread(rfd, g_back, want, from + done);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			break;          /* the file shrank meanwhile (another process) */
		ev.handle = e->handle;
		ev.ino = e->ino;
		ev.off = from + done;
		ev.len = n;
		ev.result = n;
		ev.aux = src;
		ev.dio_mem_align = e->dio_mem;
		ev.dio_offset_align = e->dio_off;
		ev.blksize = e->blksize;
		if (e->oflags & O_DSYNC)
			ev.flags |= TORN_F_SYNC;
		if (e->oflags & O_DIRECT)
			ev.flags |= TORN_F_DIRECT;
		if (done)
			ev.flags |= TORN_F_SPLIT;
		iov.iov_base = g_back;
		iov.iov_len = (size_t)n;
		shim_emit_write(&ev, &iov, 1, (size_t)n);
		done += n;
	}
	if (own >= 0)
		SHIM_REAL(close)(own);
}

static void bracket_end(struct bracket *b)
{
	int64_t after = where(b);

	if (b->before >= 0 && after > b->before)
		shim_readback(b->e, b->fd, b->before, after, TORN_SRC_STDIO);
	b->e->stream_end1 = after >= 0 && !(b->e->oflags & O_APPEND) ? after + 1 : 0;
}

void shim_stdio_before_sync(int fd, struct shim_fd *e)
{
	struct shim_lock lk;
	struct bracket b = { fd, e, 0 };
	FILE *f = e->stream;

	if (!f || e->stream_end1 <= 0 || (e->oflags & O_APPEND) ||
	    (e->oflags & O_ACCMODE) == O_RDONLY || ftrylockfile(f) != 0)
		return;
	shim_lock(&lk);
	b.before = where(&b);
	if (b.before >= 0) {
		catch_up(&b, b.before);
		e->stream_end1 = b.before + 1;
	}
	shim_unlock(&lk);
	funlockfile(f);
}

/* An injected fault (shim_fault.c) on a recorded stream, for the call
 * named @name (its point from the call table): 1 when the call fails, the
 * FAULT event emitted, errno set and the stream's error indicator with it
 * (ferror), as a real failure leaves it; the global lock is then held. */
static int stdio_fault(struct shim_call *c, FILE *f, int fd, struct shim_fd *e,
		       const char *name)
{
	const char *point = shim_call_point(name);

	c->fd = fd;
	c->f = e;
	if (!point || !shim_fault_check(c, point, name))
		return 0;
	(void)shim_fault_apply(c, -1);
	c->err = errno;
	f->_flags |= SHIM_IO_ERR_SEEN;
	return 1;
}

/* The body of every bracketed call: @call runs with the stream locked and,
 * unless it cannot write (@n bytes that stay in the buffer), with the
 * global lock and the bracket around it.  @n is (size_t)-1 when unknown.
 * With faults on, the call named @name may fail instead (its failure
 * value: 0 for fwrite's size_t, EOF or -1 for the others). */
#define SHIM_STDIO_CALL(ret, f, n, call) SHIM_STDIO_NAMED(ret, f, n, call, __func__)
#define SHIM_STDIO_NAMED(ret, f, n, call, name)                           \
	do {                                                              \
		struct shim_call c_;                                      \
		struct bracket b_;                                        \
		ret r_;                                                   \
                                                                          \
		if (!shim_begin(&c_))                                     \
			return call;                                      \
		b_.e = stream_w(f, &b_.fd);                               \
		errno = c_.errno0;                                        \
		if (!b_.e)                                                \
			return call;                                      \
		flockfile(f);                                             \
		if (__builtin_expect(shim_faults_on, 0) &&                \
		    stdio_fault(&c_, f, b_.fd, b_.e, name)) {             \
			shim_finish(&c_);                                 \
			funlockfile(f);                                   \
			errno = c_.err;                                   \
			return (ret)-1 > 0 ? (ret)0 : (ret)-1;            \
		}                                                         \
		if (stays_in_buffer(f, (n))) {                            \
			r_ = call;                                        \
			funlockfile(f);                                   \
			return r_;                                        \
		}                                                         \
		shim_lock(&c_.lk);                                        \
		bracket_start(&b_);                                       \
		errno = c_.errno0;                                        \
		r_ = call;                                                \
		c_.err = errno;                                           \
		bracket_end(&b_);                                         \
		shim_finish(&c_);                                         \
		funlockfile(f);                                           \
		errno = c_.err;                                           \
		return r_;                                                \
	} while (0)

/* ==========================================================================
 * 2. OPENING AND CLOSING STREAMS
 * ========================================================================== */

static int flush_all(int (*real)(FILE *));

/* open(2) flags of an fopen mode string (as glibc reads it). */
static int mode_flags(const char *mode)
{
	int acc, flags = 0;

	switch (mode ? mode[0] : 'r') {
	case 'w': acc = O_WRONLY; flags = O_CREAT | O_TRUNC; break;
	case 'a': acc = O_WRONLY; flags = O_CREAT | O_APPEND; break;
	default:  acc = O_RDONLY; break;
	}
	for (const char *m = mode ? mode + 1 : ""; *m && *m != ','; m++) {
		if (*m == '+')
			acc = O_RDWR;
		else if (*m == 'x')
			flags |= O_EXCL;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
	}
	return acc | flags;
}

/* fopen and freopen with a path: like open(), under the lock with the
 * existence check before; the stream is remembered with its descriptor. */
static FILE *fopen_impl(FILE *(*real)(const char *, const char *), const char *path,
			const char *mode)
{
	struct shim_call c;
	struct stat st;
	int flags = mode_flags(mode), existed = 0, nonempty = 0, fd;
	uint16_t evflags = 0;
	FILE *f;

	if (!shim_begin(&c))
		return real(path, mode);
	if (shim_path_resolve(&c.p1, AT_FDCWD, path, 1) < 0 || !c.p1.in) {
		errno = c.errno0;
		return real(path, mode);
	}
	shim_lock(&c.lk);
	if ((flags & (O_CREAT | O_TRUNC)) && stat(path, &st) == 0) {
		existed = 1;
		nonempty = S_ISREG(st.st_mode) && st.st_size > 0;
	}
	c.ino = 0;
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/stdio/oc/fopen", "fopen")) {
		(void)shim_fault_apply(&c, -1);         /* no stream, no file made */
		c.err = errno;
		shim_finish(&c);
		errno = c.err;
		return NULL;
	}
	errno = c.errno0;
	f = real(path, mode);
	c.err = errno;
	fd = f ? fileno_unlocked(f) : -1;
	if (fd >= 0 && fd < SHIM_FD_MAX && shim_path_fd(&c.p2, fd) == 0 && c.p2.in) {
		if ((flags & O_CREAT) && !existed)
			evflags |= TORN_F_CREATED;
		if ((flags & O_TRUNC) && nonempty)
			evflags |= TORN_F_TRUNCATED;
		shim_fd_open(fd, &c.p2, flags, evflags);
		shim_fd_set_stream(fd, f);
	}
	shim_finish(&c);
	errno = c.err;
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_impl(SHIM_REAL(fopen), path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_impl(SHIM_REAL(fopen64), path, mode);
}

/* fdopen in append mode sets O_APPEND on the descriptor inside libc. */
SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	struct shim_call c;
	struct shim_fd *e;
	FILE *f;
	int nfl;

	if (!shim_begin(&c))
		return SHIM_REAL(fdopen)(fd, mode);
	e = shim_fd_rec(fd);
	errno = c.errno0;
	if (!e)
		return SHIM_REAL(fdopen)(fd, mode);
	shim_lock(&c.lk);
	c.fd = fd;
	c.f = e;
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/stdio/oc/fdopen", "fdopen")) {
		(void)shim_fault_apply(&c, -1);         /* no stream */
		c.err = errno;
		shim_finish(&c);
		errno = c.err;
		return NULL;
	}
	errno = c.errno0;
	f = SHIM_REAL(fdopen)(fd, mode);
	c.err = errno;
	if (f) {
		shim_fd_set_stream(fd, f);
		nfl = SHIM_REAL(fcntl)(fd, F_GETFL);
		if (nfl >= 0 && ((uint32_t)nfl ^ e->oflags) & O_APPEND) {
			struct torn_event ev = { .type = TORN_EV_SETFL };

			e->oflags = (uint32_t)nfl;
			ev.handle = e->handle;
			ev.ino = e->ino;
			ev.oflags = (uint32_t)nfl;
			shim_emit(&ev);
		}
	}
	shim_finish(&c);
	errno = c.err;
	return f;
}

/* Write out what a recorded stream holds, bracketed. */
static int flush_rec(FILE *f, int (*real)(FILE *), int trylock)
{
	struct shim_call c;
	struct bracket b;
	int r;

	if (!shim_begin(&c))
		return real(f);
	b.e = stream_w(f, &b.fd);
	errno = c.errno0;
	if (!b.e)
		return real(f);
	if (trylock) {
		if (ftrylockfile(f) != 0)
			return 0;
	} else {
		flockfile(f);
	}
	shim_lock(&c.lk);
	bracket_start(&b);
	errno = c.errno0;
	r = real(f);
	c.err = errno;
	bracket_end(&b);
	shim_finish(&c);
	funlockfile(f);
	errno = c.err;
	return r;
}

/* fclose: the buffer is written out first (bracketed), then the stream is
 * closed under the lock and its descriptor forgotten (TORN_EV_CLOSE). */
SHIM_EXPORT int fclose(FILE *f)
{
	struct shim_call c;
	int fd, r;

	if (!shim_begin(&c) || !f)
		return SHIM_REAL(fclose)(f);
	fd = fileno_unlocked(f);
	if (fd < 0 || fd >= SHIM_FD_MAX || !stream_rec(f, &fd)) {
		shim_fd_set_state(fd, SHIM_FD_UNKNOWN);
		errno = c.errno0;
		return SHIM_REAL(fclose)(f);
	}
	errno = c.errno0;
	flush_rec(f, SHIM_REAL(fflush), 0);
	shim_lock(&c.lk);
	c.fd = fd;
	c.f = &shim_fds[fd];
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/stdio/oc/fclose", "fclose")) {
		/* the call never ran: the stream stays open (as closedir's),
		 * its buffer written out above */
		r = (int)shim_fault_apply(&c, -1) < 0 ? EOF : 0;
		c.err = errno;
		f->_flags |= SHIM_IO_ERR_SEEN;
		shim_finish(&c);
		errno = c.err;
		return r;
	}
	errno = c.errno0;
	r = SHIM_REAL(fclose)(f);
	c.err = errno;
	shim_fd_drop(fd, r == 0 ? 0 : -(int64_t)c.err);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* fcloseall: glibc's writes out every stream and makes it unbuffered, but
 * closes none (libio/fcloseall.c: _IO_cleanup): the recorded streams are
 * written out first, bracketed, then the real call does the rest. */
SHIM_EXPORT int fcloseall(void)
{
	int r = 0;

	if (shim_active() && !shim_in_lock())
		r = flush_all(SHIM_REAL(fflush));
	if (SHIM_REAL(fcloseall)() != 0)
		r = EOF;
	return r;
}

/* freopen: the old stream's buffer is written out (bracketed), its
 * descriptor closed, and the new file opened, maybe on the same number. */
static FILE *freopen_impl(FILE *(*real)(const char *, const char *, FILE *), const char *path,
			  const char *mode, FILE *f)
{
	struct shim_call c;
	struct stat st;
	int oldfd, fd, flags = mode_flags(mode), existed = 0, nonempty = 0, in1 = 0;
	uint16_t evflags = 0;
	FILE *r;

	if (!shim_begin(&c) || !f)
		return real(path, mode, f);
	oldfd = fileno_unlocked(f);
	if (stream_rec(f, &oldfd))
		flush_rec(f, SHIM_REAL(fflush), 0);
	/* freopen(NULL, mode, f) reopens the same file. */
	if (path)
		in1 = shim_path_resolve(&c.p1, AT_FDCWD, path, 1) == 0 && c.p1.in;
	else if (oldfd >= 0)
		in1 = shim_path_fd(&c.p1, oldfd) == 0 && c.p1.in;
	shim_lock(&c.lk);
	if (in1 && (flags & (O_CREAT | O_TRUNC)) && stat(c.p1.abs, &st) == 0) {
		existed = 1;
		nonempty = S_ISREG(st.st_mode) && st.st_size > 0;
	}
	errno = c.errno0;
	r = real(path, mode, f);
	c.err = errno;
	if (oldfd >= 0 && oldfd < SHIM_FD_MAX)
		shim_fd_drop(oldfd, 0);
	fd = r ? fileno_unlocked(r) : -1;
	if (fd >= 0 && fd < SHIM_FD_MAX) {
		if (shim_path_fd(&c.p2, fd) == 0 && c.p2.in) {
			if ((flags & O_CREAT) && !existed)
				evflags |= TORN_F_CREATED;
			if ((flags & O_TRUNC) && nonempty)
				evflags |= TORN_F_TRUNCATED;
			shim_fd_open(fd, &c.p2, flags, evflags);
			shim_fd_set_stream(fd, r);
		} else {
			shim_fd_set_state(fd, SHIM_FD_IGNORED);
		}
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	return freopen_impl(SHIM_REAL(freopen), path, mode, f);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	return freopen_impl(SHIM_REAL(freopen64), path, mode, f);
}

/* ==========================================================================
 * 3. WRITING
 * ========================================================================== */

static size_t mul_or_max(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? (size_t)-1 : r;
}

SHIM_EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	SHIM_STDIO_CALL(size_t, f, mul_or_max(size, n), SHIM_REAL(fwrite)(p, size, n, f));
}

SHIM_EXPORT size_t (fwrite_unlocked)(const void *p, size_t size, size_t n, FILE *f)
{
	SHIM_STDIO_CALL(size_t, f, mul_or_max(size, n), SHIM_REAL(fwrite_unlocked)(p, size, n, f));
}

SHIM_EXPORT int fputs(const char *s, FILE *f)
{
	SHIM_STDIO_CALL(int, f, strlen(s), SHIM_REAL(fputs)(s, f));
}

SHIM_EXPORT int fputs_unlocked(const char *s, FILE *f)
{
	SHIM_STDIO_CALL(int, f, strlen(s), SHIM_REAL(fputs_unlocked)(s, f));
}

SHIM_EXPORT int fputc(int ch, FILE *f)
{
	SHIM_STDIO_CALL(int, f, 1, SHIM_REAL(fputc)(ch, f));
}

SHIM_EXPORT int fputc_unlocked(int ch, FILE *f)
{
	SHIM_STDIO_CALL(int, f, 1, SHIM_REAL(fputc_unlocked)(ch, f));
}

SHIM_EXPORT int putc(int ch, FILE *f)
{
	SHIM_STDIO_CALL(int, f, 1, SHIM_REAL(putc)(ch, f));
}

SHIM_EXPORT int putc_unlocked(int ch, FILE *f)
{
	SHIM_STDIO_CALL(int, f, 1, SHIM_REAL(putc_unlocked)(ch, f));
}

/* The length @fmt and @ap format to, found with vsnprintf on a copy of
 * the arguments (errno kept: %m reads it), or (size_t)-1.  Formatting
 * twice costs less than bracketing a call that only fills the buffer. */
static size_t fmt_len(const char *fmt, va_list ap)
{
	int e = errno, n;
	va_list cp;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	errno = e;
	return n < 0 ? (size_t)-1 : (size_t)n;
}

/* The printf family: a recorded stream is bracketed unless the formatted
 * text fits in what is left of its buffer. */
/* The variadic ones go through their v-twin under their own name (the
 * failure point a fault names). */
static int vfprintf_as(const char *name, FILE *f, const char *fmt, va_list ap)
{
	SHIM_STDIO_NAMED(int, f, fmt_len(fmt, ap), SHIM_REAL(vfprintf)(f, fmt, ap), name);
}

static int vfprintf_chk_as(const char *name, FILE *f, int flag, const char *fmt, va_list ap)
{
	SHIM_STDIO_NAMED(int, f, fmt_len(fmt, ap), SHIM_REAL(__vfprintf_chk)(f, flag, fmt, ap),
			 name);
}

SHIM_EXPORT int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	return vfprintf_as("vfprintf", f, fmt, ap);
}

SHIM_EXPORT int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf_as("fprintf", f, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	return vfprintf_chk_as("__vfprintf_chk", f, flag, fmt, ap);
}

SHIM_EXPORT int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf_chk_as("__fprintf_chk", f, flag, fmt, ap);
	va_end(ap);
	return r;
}

/* stdout's printf family, puts and putchar: stdout is a recorded file when
 * the program's output is redirected into the root. */
static int vprintf_as(const char *name, const char *fmt, va_list ap)
{
	SHIM_STDIO_NAMED(int, stdout, fmt_len(fmt, ap), SHIM_REAL(vprintf)(fmt, ap), name);
}

static int vprintf_chk_as(const char *name, int flag, const char *fmt, va_list ap)
{
	SHIM_STDIO_NAMED(int, stdout, fmt_len(fmt, ap), SHIM_REAL(__vprintf_chk)(flag, fmt, ap),
			 name);
}

SHIM_EXPORT int vprintf(const char *fmt, va_list ap)
{
	return vprintf_as("vprintf", fmt, ap);
}

SHIM_EXPORT int printf(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprintf_as("printf", fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return vprintf_chk_as("__vprintf_chk", flag, fmt, ap);
}

SHIM_EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprintf_chk_as("__printf_chk", flag, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int puts(const char *s)
{
	SHIM_STDIO_CALL(int, stdout, strlen(s) + 1, SHIM_REAL(puts)(s));
}

SHIM_EXPORT int putchar(int ch)
{
	SHIM_STDIO_CALL(int, stdout, 1, SHIM_REAL(putchar)(ch));
}

SHIM_EXPORT int putchar_unlocked(int ch)
{
	SHIM_STDIO_CALL(int, stdout, 1, SHIM_REAL(putchar_unlocked)(ch));
}

/* dprintf formats into a stream of its own on @fd and writes it out
 * inside libc: bracketed on the descriptor. */
#define SHIM_FD_CALL(fd, call, name)                                      \
	do {                                                              \
		struct shim_call c_;                                      \
		struct bracket b_;                                        \
		int r_;                                                   \
                                                                          \
		if (!shim_begin(&c_))                                     \
			return call;                                      \
		b_.e = shim_fd_rec(fd);                                   \
		b_.fd = (fd);                                             \
		errno = c_.errno0;                                        \
		if (!b_.e)                                                \
			return call;                                      \
		c_.fd = b_.fd;                                            \
		c_.f = b_.e;                                              \
		if (__builtin_expect(shim_faults_on, 0) &&                \
		    shim_fault_check(&c_, shim_call_point(name), name)) { \
			r_ = (int)shim_fault_apply(&c_, -1);              \
			c_.err = errno;                                   \
			shim_finish(&c_);                                 \
			errno = c_.err;                                   \
			return r_;                                        \
		}                                                         \
		shim_lock(&c_.lk);                                        \
		b_.before = where(&b_);                                   \
		errno = c_.errno0;                                        \
		r_ = call;                                                \
		c_.err = errno;                                           \
		{                                                         \
			int64_t after_ = where(&b_);                      \
                                                                          \
			if (b_.before >= 0 && after_ > b_.before)         \
				shim_readback(b_.e, b_.fd, b_.before,     \
					      after_, TORN_SRC_WRITE);    \
		}                                                         \
		shim_finish(&c_);                                         \
		errno = c_.err;                                           \
		return r_;                                                \
	} while (0)

static int vdprintf_as(const char *name, int fd, const char *fmt, va_list ap)
{
	SHIM_FD_CALL(fd, SHIM_REAL(vdprintf)(fd, fmt, ap), name);
}

static int vdprintf_chk_as(const char *name, int fd, int flag, const char *fmt, va_list ap)
{
	SHIM_FD_CALL(fd, SHIM_REAL(__vdprintf_chk)(fd, flag, fmt, ap), name);
}

SHIM_EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	return vdprintf_as("vdprintf", fd, fmt, ap);
}

SHIM_EXPORT int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vdprintf_as("dprintf", fd, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	return vdprintf_chk_as("__vdprintf_chk", fd, flag, fmt, ap);
}

SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vdprintf_chk_as("__dprintf_chk", fd, flag, fmt, ap);
	va_end(ap);
	return r;
}

/* ==========================================================================
 * 4. FLUSHING AND SEEKING
 * ========================================================================== */

/* fflush(NULL) writes out every stream: the recorded ones first, one by one
 * (bracketed), then the rest. */
static int flush_all(int (*real)(FILE *))
{
	int hi = shim_fd_hi(), r = 0;

	for (int fd = 0; fd <= hi; fd++) {
		FILE *f = shim_fds[fd].stream;

		if (shim_fds[fd].state == SHIM_FD_RECORDED && f && flush_rec(f, real, 0) != 0)
			r = EOF;
	}
	if (real(NULL) != 0)
		r = EOF;
	return r;
}

/* Does an injected fault fail this call named @name on @f (fflush, the
 * seeks; errno set)? */
static int stream_faulted(FILE *f, const char *name)
{
	struct shim_call c;
	int fd, hit;
	struct shim_fd *e;

	if (!f || !shim_begin(&c))
		return 0;
	e = stream_w(f, &fd);
	if (!e) {
		errno = c.errno0;
		return 0;
	}
	flockfile(f);
	hit = stdio_fault(&c, f, fd, e, name);
	shim_finish(&c);
	funlockfile(f);
	errno = hit ? c.err : c.errno0;
	return hit;
}

SHIM_EXPORT int fflush(FILE *f)
{
	if (!f && shim_active() && !shim_in_lock())
		return flush_all(SHIM_REAL(fflush));
	if (__builtin_expect(shim_faults_on, 0) && stream_faulted(f, "fflush"))
		return EOF;
	return flush_rec(f, SHIM_REAL(fflush), 0);
}

SHIM_EXPORT int fflush_unlocked(FILE *f)
{
	if (!f && shim_active() && !shim_in_lock())
		return flush_all(SHIM_REAL(fflush_unlocked));
	if (__builtin_expect(shim_faults_on, 0) && stream_faulted(f, "fflush_unlocked"))
		return EOF;
	return flush_rec(f, SHIM_REAL(fflush_unlocked), 0);
}

/* A seek writes out pending bytes first (inside libc): do that flush here,
 * bracketed, then seek.  The stream lock is held across both. */
static void flush_before_seek(FILE *f)
{
	int fd;

	if (!shim_active() || shim_in_lock() || !stream_rec(f, &fd))
		return;
	if (f->_IO_write_ptr > f->_IO_write_base)
		flush_rec(f, SHIM_REAL(fflush), 0);
}

/* After a seek the kernel offset is where the stream moved it: no
 * catch-up for the jump. */
static void after_seek(FILE *f)
{
	struct shim_fd *e;
	int64_t pos;
	int fd;

	if (!shim_active() || shim_in_lock() || !(e = stream_w(f, &fd)) || (e->oflags & O_APPEND))
		return;
	pos = (int64_t)lseek(fd, 0, SEEK_CUR);
	e->stream_end1 = pos >= 0 ? pos + 1 : 0;
}

#define SHIM_SEEK_CALL(ret, f, call)                   \
	do {                                           \
		int saved_ = errno;                    \
		ret r_;                                \
                                                       \
		if (!f)                                \
			return call;                   \
		flockfile(f);                          \
		if (__builtin_expect(shim_faults_on, 0) && \
		    stream_faulted(f, __func__)) {     \
			funlockfile(f);                \
			return -1;                     \
		}                                      \
		flush_before_seek(f);                  \
		errno = saved_;                        \
		r_ = call;                             \
		saved_ = errno;                        \
		after_seek(f);                         \
		funlockfile(f);                        \
		errno = saved_;                        \
		return r_;                             \
	} while (0)

SHIM_EXPORT int fseek(FILE *f, long off, int whence)
{
	SHIM_SEEK_CALL(int, f, SHIM_REAL(fseek)(f, off, whence));
}

SHIM_EXPORT int fseeko(FILE *f, off_t off, int whence)
{
	SHIM_SEEK_CALL(int, f, SHIM_REAL(fseeko)(f, off, whence));
}

SHIM_EXPORT int fseeko64(FILE *f, off64_t off, int whence)
{
	SHIM_SEEK_CALL(int, f, SHIM_REAL(fseeko64)(f, off, whence));
}

SHIM_EXPORT int fsetpos(FILE *f, const fpos_t *pos)
{
	SHIM_SEEK_CALL(int, f, SHIM_REAL(fsetpos)(f, pos));
}

SHIM_EXPORT int fsetpos64(FILE *f, const fpos64_t *pos)
{
	SHIM_SEEK_CALL(int, f, SHIM_REAL(fsetpos64)(f, pos));
}

SHIM_EXPORT void rewind(FILE *f)
{
	int saved = errno;

	if (!f) {
		SHIM_REAL(rewind)(f);
		return;
	}
	flockfile(f);
	flush_before_seek(f);
	errno = saved;
	SHIM_REAL(rewind)(f);
	saved = errno;
	after_seek(f);
	funlockfile(f);
	errno = saved;
}

/* ==========================================================================
 * 5. THE FLUSH AT EXIT
 * ========================================================================== */

/* Called from the shim's destructor, before glibc's own exit flush: write
 * out (bracketed) every recorded stream, and stdout and stderr when they
 * are recorded files.  A stream locked by another thread is left to glibc
 * (which flushes at exit without locking): its last bytes are then not in
 * the trace. */
void shim_stdio_exit_flush(void)
{
	int hi, fd;

	if (!shim_active() || shim_in_lock())
		return;
	hi = shim_fd_hi();
	for (fd = 0; fd <= hi; fd++) {
		FILE *f = shim_fds[fd].stream;

		if (shim_fds[fd].state == SHIM_FD_RECORDED && f)
			flush_rec(f, SHIM_REAL(fflush), 1);
	}
	if (stdout && stream_rec(stdout, &fd))
		flush_rec(stdout, SHIM_REAL(fflush), 1);
	if (stderr && stream_rec(stderr, &fd))
		flush_rec(stderr, SHIM_REAL(fflush), 1);
}

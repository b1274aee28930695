/*
 * tests/integration/faults/fault_calls.c - make one interposed call by
 * name on a file under DIR and print what the program saw.
 *
 *   fault_calls DIR CALL
 *
 * Set-up (the file DIR/f with 16 bytes, the directory DIR/d, the open
 * descriptor) goes through raw system calls, which the shim does not see:
 * a fault enabled for the whole point hits only the call under test.  CALL
 * is a libc function (write, pwrite64, __open_2, renameat2, ...) or an
 * io_uring operation (IORING_OP_WRITE, IORING_OP_WRITEV,
 * IORING_OP_WRITE_FIXED, IORING_OP_FSYNC).  Prints one line:
 *
 *   CALL ret=R errno=NAME [size=S] [fd=open|closed]
 *
 * errno is printed only when the call failed (for posix_fallocate, which
 * returns the error number, ret is that number and errno is its name);
 * size is DIR/f's size after a write call (16 before: writes land at the
 * end, so size - 16 is what reached the file); fd says whether the descriptor
 * survived close.  Exit 0, or 2 when the set-up failed or CALL is unknown.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <dirent.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
extern int __dprintf_chk(int fd, int flag, const char *fmt, ...);
extern int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
extern int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
extern int __printf_chk(int flag, const char *fmt, ...);
extern int __vprintf_chk(int flag, const char *fmt, va_list ap);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t cap);
extern ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t cap);
extern ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t cap);
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);

static char g_dir[4096];
/* glibc inlines putchar and the _unlocked character calls into the program when it is
 * optimised (bits/stdio.h): through a pointer the real function is called,
 * as in a program built without optimisation. */
static int (*volatile fputc_unlocked_p)(int, FILE *) = fputc_unlocked;
static int (*volatile putc_unlocked_p)(int, FILE *) = putc_unlocked;
static int (*volatile putchar_unlocked_p)(int) = putchar_unlocked;
static int (*volatile putchar_p)(int) = putchar;   /* inline: putc(c, stdout) */
/* and gcc rewrites some calls with constant arguments (fputs of a literal
 * becomes fwrite, fwrite_unlocked a putc loop): every stdio call below goes
 * through a pointer, so the program makes exactly the call it names */
static size_t (*volatile fwrite_p)(const void *, size_t, size_t, FILE *) = fwrite;
static size_t (*volatile fwrite_unlocked_p)(const void *, size_t, size_t, FILE *) = fwrite_unlocked;
static int (*volatile fputs_p)(const char *, FILE *) = fputs;
static int (*volatile fputs_unlocked_p)(const char *, FILE *) = fputs_unlocked;
static int (*volatile fputc_p)(int, FILE *) = fputc;
static int (*volatile putc_p)(int, FILE *) = putc;
static int (*volatile puts_p)(const char *) = puts;
static int (*volatile fflush_unlocked_p)(FILE *) = fflush_unlocked;
static int (*volatile printf_p)(const char *, ...) = printf;
static int (*volatile fprintf_p)(FILE *, const char *, ...) = fprintf;
static int (*volatile vprintf_p)(const char *, va_list) = vprintf;   /* inline: vfprintf */
static int (*volatile vfprintf_p)(FILE *, const char *, va_list) = vfprintf;
static DIR *g_failed_dir;      /* closedir's stream after its injected failure */

static void die(const char *what)
{
	fprintf(stderr, "fault_calls: %s: %s\n", what, strerror(errno));
	exit(2);
}

static const char *P(const char *name)
{
	static char buf[4][4200];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", g_dir, name);
	return buf[i];
}

/* Raw system calls: unseen by the shim. */
static int raw_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0644);
}

static void setup(void)
{
	int fd = raw_open(P("f"), O_RDWR | O_CREAT | O_TRUNC);

	if (fd < 0 || syscall(SYS_write, fd, "0123456789abcdef", 16) != 16)
		die("set-up of f");
	syscall(SYS_close, fd);
	if (syscall(SYS_mkdirat, AT_FDCWD, P("d"), 0755) != 0)
		die("set-up of d");
}

static long file_size(void)
{
	struct stat st;

	return syscall(SYS_newfstatat, AT_FDCWD, P("f"), &st, 0) == 0 ? (long)st.st_size : -1;
}

/* The v-variants of the printf family, by name. */
static int vcall(const char *call, FILE *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (!strcmp(call, "vfprintf"))
		r = vfprintf_p(s, fmt, ap);
	else if (!strcmp(call, "__vfprintf_chk"))
		r = __vfprintf_chk(s, 1, fmt, ap);
	else if (!strcmp(call, "vprintf"))
		r = vprintf_p(fmt, ap);
	else if (!strcmp(call, "vdprintf"))
		r = vdprintf(fileno(s), fmt, ap);
	else if (!strcmp(call, "__vdprintf_chk"))
		r = __vdprintf_chk(fileno(s), 1, fmt, ap);
	else
		r = __vprintf_chk(1, fmt, ap);
	va_end(ap);
	return r;
}

/* A stdio call on stream @s (on f), or on stdout made f; *@ferr is
 * ferror() after it.  -2: not a stdio call. */
static long stdio_call(const char *call, int fd, int *ferr)
{
	static const char *const on_stdout[] = { "printf", "vprintf", "__printf_chk",
						 "__vprintf_chk", "puts", "putchar",
						 "putchar_unlocked" };
	FILE *s = NULL;
	long ret;

	for (size_t i = 0; i < sizeof(on_stdout) / sizeof(on_stdout[0]); i++)
		if (!strcmp(call, on_stdout[i]))
			s = stdout;
	if (s) {
		if (syscall(SYS_dup3, fd, 1, 0) != 1)
			die("stdout onto f");
	} else if (!strncmp(call, "fwrite", 6) || !strncmp(call, "fput", 4) ||
		   !strncmp(call, "putc", 4) || strstr(call, "printf") || !strncmp(call, "fflush", 6) ||
		   !strncmp(call, "fseek", 5) || !strncmp(call, "fsetpos", 7) || !strcmp(call, "fclose")) {
		if (!(s = fdopen(fd, "r+")))
			die("fdopen of f");
	} else {
		return -2;
	}
	if (!strcmp(call, "fwrite"))                 ret = (long)fwrite_p("abcdefgh", 1, 8, s);
	else if (!strcmp(call, "fwrite_unlocked"))   ret = (long)fwrite_unlocked_p("abcdefgh", 1, 8, s);
	else if (!strcmp(call, "fputs"))             ret = fputs_p("abc", s);
	else if (!strcmp(call, "fputs_unlocked"))    ret = fputs_unlocked_p("abc", s);
	else if (!strcmp(call, "fputc"))             ret = fputc_p('a', s);
	else if (!strcmp(call, "fputc_unlocked"))    ret = fputc_unlocked_p('a', s);
	else if (!strcmp(call, "putc"))              ret = putc_p('a', s);
	else if (!strcmp(call, "putc_unlocked"))     ret = putc_unlocked_p('a', s);
	else if (!strcmp(call, "fprintf"))           ret = fprintf_p(s, "%d", 42);
	else if (!strcmp(call, "__fprintf_chk"))     ret = __fprintf_chk(s, 1, "%d", 42);
	else if (!strcmp(call, "printf"))            ret = printf_p("%d", 42);
	else if (!strcmp(call, "__printf_chk"))      ret = __printf_chk(1, "%d", 42);
	else if (!strcmp(call, "puts"))              ret = puts_p("abc");
	else if (!strcmp(call, "putchar"))           ret = putchar_p('a');
	else if (!strcmp(call, "putchar_unlocked"))  ret = putchar_unlocked_p('a');
	else if (!strcmp(call, "fflush"))            ret = fflush(s);
	else if (!strcmp(call, "fflush_unlocked"))   ret = fflush_unlocked_p(s);
	else if (!strcmp(call, "fclose"))            ret = fclose(s);   /* fails: s stays */
	else if (!strcmp(call, "fseek"))             ret = fseek(s, 0, SEEK_SET);
	else if (!strcmp(call, "fseeko"))            ret = fseeko(s, 0, SEEK_SET);
	else if (!strcmp(call, "fseeko64"))          ret = fseeko64(s, 0, SEEK_SET);
	else if (!strcmp(call, "fsetpos") || !strcmp(call, "fsetpos64")) {
		fpos_t pos;
		fpos64_t pos64;

		if (fgetpos(s, &pos) != 0 || fgetpos64(s, &pos64) != 0)
			die("fgetpos");
		ret = !strcmp(call, "fsetpos") ? fsetpos(s, &pos) : fsetpos64(s, &pos64);
	}
	else if (!strcmp(call, "dprintf"))           ret = dprintf(fd, "%d", 42);
	else if (!strcmp(call, "__dprintf_chk"))     ret = __dprintf_chk(fd, 1, "%d", 42);
	else                                         ret = vcall(call, s, "%d", 42);
	*ferr = strstr(call, "dprintf") ? -1 : ferror(s) != 0;
	return ret;
}

/* An io_uring operation on @fd; returns the completion's res. */
static int uring_op(const char *call, int fd)
{
	static char buf[4096] __attribute__((aligned(4096)));
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct iovec iov = { buf, 8 };
	int res, rc;

	memset(buf, 'u', sizeof(buf));
	if ((rc = io_uring_queue_init(4, &ring, 0)) < 0) {
		errno = -rc;
		die("io_uring_queue_init");
	}
	sqe = io_uring_get_sqe(&ring);
	if (!strcmp(call, "IORING_OP_WRITE")) {
		io_uring_prep_write(sqe, fd, buf, 8, 16);
	} else if (!strcmp(call, "IORING_OP_WRITEV")) {
		io_uring_prep_writev(sqe, fd, &iov, 1, 16);
	} else if (!strcmp(call, "IORING_OP_WRITE_FIXED")) {
		if ((rc = io_uring_register_buffers(&ring, &iov, 1)) < 0) {
			errno = -rc;
			die("io_uring_register_buffers");
		}
		io_uring_prep_write_fixed(sqe, fd, buf, 8, 16, 0);
	} else if (!strcmp(call, "IORING_OP_FSYNC")) {
		io_uring_prep_fsync(sqe, fd, 0);
	} else {
		fprintf(stderr, "fault_calls: unknown io_uring operation %s\n", call);
		exit(2);
	}
	sqe->user_data = 42;
	if ((rc = io_uring_submit_and_wait(&ring, 1)) < 0 ||
	    (rc = io_uring_wait_cqe(&ring, &cqe)) < 0) {
		errno = -rc;
		die("io_uring submit");
	}
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	return res;
}

int main(int argc, char **argv)
{
	const char *call;
	char buf[16];
	struct iovec iov[2] = { { buf, 8 }, { buf + 8, 8 } };
	long ret;
	int fd, e, is_write = 0, is_close = 0, errnum = 0, ferr = -1, out;
	char line[256];
	size_t len;

	if (argc != 3 || strlen(argv[1]) >= sizeof(g_dir)) {
		fprintf(stderr, "usage: fault_calls DIR CALL\n");
		return 2;
	}
	snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
	call = argv[2];
	memset(buf, 'x', sizeof(buf));
	setup();
	/* results go to the real stdout, by a raw write: stdio is under test */
	out = (int)syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 100);
	if (out < 0)
		die("saving stdout");
	fd = raw_open(P("f"), O_RDWR);
	/* Writes land at the end: size - 16 is what they wrote. */
	if (fd < 0 || syscall(SYS_lseek, fd, 16, SEEK_SET) != 16)
		die("open of f");
	errno = 0;

#define IS(n) (!strcmp(call, n))
	if (IS("write"))             { is_write = 1; ret = write(fd, buf, 16); }
	else if (IS("pwrite"))       { is_write = 1; ret = pwrite(fd, buf, 16, 16); }
	else if (IS("pwrite64"))     { is_write = 1; ret = pwrite64(fd, buf, 16, 16); }
	else if (IS("writev"))       { is_write = 1; ret = writev(fd, iov, 2); }
	else if (IS("pwritev"))      { is_write = 1; ret = pwritev(fd, iov, 2, 16); }
	else if (IS("pwritev64"))    { is_write = 1; ret = pwritev64(fd, iov, 2, 16); }
	else if (IS("pwritev2"))     { is_write = 1; ret = pwritev2(fd, iov, 2, 16, 0); }
	else if (IS("pwritev64v2"))  { is_write = 1; ret = pwritev64v2(fd, iov, 2, 16, 0); }
	else if (IS("read"))         ret = read(fd, buf, 8);
	else if (IS("__read_chk"))   ret = __read_chk(fd, buf, 8, sizeof(buf));
	else if (IS("pread"))        ret = pread(fd, buf, 8, 0);
	else if (IS("pread64"))      ret = pread64(fd, buf, 8, 0);
	else if (IS("__pread_chk"))  ret = __pread_chk(fd, buf, 8, 0, sizeof(buf));
	else if (IS("__pread64_chk")) ret = __pread64_chk(fd, buf, 8, 0, sizeof(buf));
	else if (IS("readv"))        ret = readv(fd, iov, 2);
	else if (IS("preadv"))       ret = preadv(fd, iov, 2, 0);
	else if (IS("preadv64"))     ret = preadv64(fd, iov, 2, 0);
	else if (IS("fsync"))        ret = fsync(fd);
	else if (IS("fdatasync"))    ret = fdatasync(fd);
	else if (IS("syncfs"))       ret = syncfs(fd);
	else if (IS("sync_file_range")) ret = sync_file_range(fd, 0, 16, SYNC_FILE_RANGE_WRITE);
	else if (IS("ftruncate"))    ret = ftruncate(fd, 4);
	else if (IS("ftruncate64"))  ret = ftruncate64(fd, 4);
	else if (IS("truncate"))     ret = truncate(P("f"), 4);
	else if (IS("truncate64"))   ret = truncate64(P("f"), 4);
	else if (IS("fallocate"))    ret = fallocate(fd, 0, 0, 4096);
	else if (IS("fallocate64"))  ret = fallocate64(fd, 0, 0, 4096);
	else if (IS("posix_fallocate"))   { ret = posix_fallocate(fd, 0, 4096); errnum = (int)ret; }
	else if (IS("posix_fallocate64")) { ret = posix_fallocate64(fd, 0, 4096); errnum = (int)ret; }
	else if (IS("rename"))       ret = rename(P("f"), P("g"));
	else if (IS("renameat"))     ret = renameat(AT_FDCWD, P("f"), AT_FDCWD, P("g"));
	else if (IS("renameat2"))    ret = renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("g"), 0);
	else if (IS("unlink"))       ret = unlink(P("f"));
	else if (IS("unlinkat"))     ret = unlinkat(AT_FDCWD, P("f"), 0);
	else if (IS("link"))         ret = link(P("f"), P("g"));
	else if (IS("linkat"))       ret = linkat(AT_FDCWD, P("f"), AT_FDCWD, P("g"), 0);
	else if (IS("symlink"))      ret = symlink("f", P("s"));
	else if (IS("symlinkat"))    ret = symlinkat("f", AT_FDCWD, P("s"));
	else if (IS("mkdir"))        ret = mkdir(P("e"), 0755);
	else if (IS("mkdirat"))      ret = mkdirat(AT_FDCWD, P("e"), 0755);
	else if (IS("rmdir"))        ret = rmdir(P("d"));
	else if (IS("open"))         ret = open(P("f"), O_RDONLY);
	else if (IS("open64"))       ret = open64(P("f"), O_RDONLY);
	else if (IS("openat"))       ret = openat(AT_FDCWD, P("f"), O_RDONLY);
	else if (IS("openat64"))     ret = openat64(AT_FDCWD, P("f"), O_RDONLY);
	else if (IS("__open_2"))     ret = __open_2(P("f"), O_RDONLY);
	else if (IS("__open64_2"))   ret = __open64_2(P("f"), O_RDONLY);
	else if (IS("__openat_2"))   ret = __openat_2(AT_FDCWD, P("f"), O_RDONLY);
	else if (IS("__openat64_2")) ret = __openat64_2(AT_FDCWD, P("f"), O_RDONLY);
	else if (IS("creat"))        ret = creat(P("c"), 0644);
	else if (IS("creat64"))      ret = creat64(P("c"), 0644);
	else if (IS("closedir")) {
		DIR *d = opendir(P("d"));

		if (!d)
			die("opendir of d");
		/* a look through the shim makes the stream's descriptor a recorded one */
		fd = dirfd(d);
		(void)fsync(fd);
		is_close = 1;
		/* an injected failure leaves the stream allocated (the call never
		 * ran) and the program no way to free it: kept reachable, so that
		 * LeakSanitizer (sanitized build) does not count it as our leak */
		g_failed_dir = d;
		ret = closedir(d);
		if (ret == 0)
			g_failed_dir = NULL;
	}
	else if (IS("copy_file_range") || IS("splice") || IS("sendfile") || IS("sendfile64")) {
		int in = raw_open(P("f"), O_RDONLY), p[2];
		off64_t off = 0, out = 16;

		if (in < 0 || pipe(p) < 0 || syscall(SYS_write, p[1], buf, 8) != 8)
			die("set-up of the source");
		is_write = 1;
		if (IS("copy_file_range"))
			ret = copy_file_range(in, &off, fd, &out, 8, 0);
		else if (IS("splice"))
			ret = splice(p[0], NULL, fd, &out, 8, 0);
		else if (IS("sendfile"))
			ret = sendfile(fd, in, (off_t *)&off, 8);
		else
			ret = sendfile64(fd, in, &off, 8);
	}
	else if (IS("remove"))       ret = remove(P("f"));
	else if (IS("fdopen"))       ret = fdopen(fd, "r+") ? 0 : -1;
	else if (IS("fopen") || IS("fopen64")) {
		FILE *s = IS("fopen") ? fopen(P("f"), "r") : fopen64(P("f"), "r");

		ret = s ? 0 : -1;
	}
	else if ((ret = stdio_call(call, fd, &ferr)) != -2) { }
	else if (!strncmp(call, "mk", 2) && strstr(call, "temp")) {
		char t[4200];
		int sfx = strstr(call, "temps") != NULL;

		snprintf(t, sizeof(t), "%s", P(sfx ? "tXXXXXX.s" : "tXXXXXX"));
		if (IS("mkstemp"))          ret = mkstemp(t);
		else if (IS("mkstemp64"))   ret = mkstemp64(t);
		else if (IS("mkostemp"))    ret = mkostemp(t, 0);
		else if (IS("mkostemp64"))  ret = mkostemp64(t, 0);
		else if (IS("mkstemps"))    ret = mkstemps(t, 2);
		else if (IS("mkstemps64"))  ret = mkstemps64(t, 2);
		else if (IS("mkostemps"))   ret = mkostemps(t, 2, 0);
		else if (IS("mkostemps64")) ret = mkostemps64(t, 2, 0);
		else if (IS("mkdtemp"))     ret = mkdtemp(t) ? 0 : -1;
		else {
			fprintf(stderr, "fault_calls: unknown call %s\n", call);
			return 2;
		}
	}
	else if (IS("close")) {
		/* through libc: a descriptor the shim saw opened is a recorded one */
		is_close = 1;
		syscall(SYS_close, fd);
		if ((fd = open(P("f"), O_RDWR)) < 0)
			die("open of f for close");
		ret = close(fd);
	}
	else if (!strncmp(call, "IORING_OP_", 10)) {
		ret = uring_op(call, fd);
		is_write = strcmp(call, "IORING_OP_FSYNC") != 0;
		if (ret < 0) {
			errnum = (int)-ret;
			ret = -1;
		}
	} else {
		fprintf(stderr, "fault_calls: unknown call %s\n", call);
		return 2;
	}
#undef IS
	e = errnum ? errnum : errno;
	len = (size_t)snprintf(line, sizeof(line), "%s ret=%ld", call, ret);
	if ((ret < 0 || errnum || ferr > 0) && e)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " errno=%s",
					strerrorname_np(e));
	if (is_write)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " size=%ld", file_size());
	if (is_close)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " fd=%s",
					syscall(SYS_fcntl, fd, F_GETFD) >= 0 ? "open" : "closed");
	if (ferr >= 0)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " ferror=%d", ferr);
	line[len++] = '\n';
	if (syscall(SYS_write, out, line, len) != (long)len)
		return 2;
	return 0;
}

/*
 * tests/integration/shim/shim_calls.c - makes every call the shim
 * interposes, on files under DIR, and says what the trace must hold.
 *
 *   shim_calls DIR OUTSIDE EXPFILE
 *
 * DIR is the recording root, OUTSIDE a directory beside it (not recorded).
 * Each call's result (return value, and errno when it failed) is printed on
 * stdout without any path, so a native run and a recorded run can be
 * compared byte for byte.  Each event the call must produce is appended to
 * EXPFILE in the format of shim_exp.h; shim_check compares them with the
 * trace.  Sections: 1. helpers, 2. data calls in three modes (buffered,
 * O_DIRECT, O_DSYNC), 3. descriptors, 4. namespace and paths, 5. mmap,
 * 6. fork, 7. stdio, 8. main.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_exp.h"

/* ==========================================================================
 * 1. HELPERS
 * ========================================================================== */

static int g_exp = -1;          /* EXPFILE, O_APPEND: a fork child's lines go in order */
static char g_out[PATH_MAX];    /* OUTSIDE */
static char g_dir[PATH_MAX];    /* DIR */

static void die(const char *what)
{
	fprintf(stderr, "shim_calls: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* An expectation line. */
static void X(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void X(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(g_exp, line, (size_t)n) != n)
		die("expectation file");
}

/* A result line: the call's return value, and errno when it failed. */
static long R(const char *what, long ret)
{
	int e = errno;

	if (ret < 0)
		printf("%s ret=%ld errno=%d\n", what, ret, e);
	else
		printf("%s ret=%ld\n", what, ret);
	fflush(stdout);
	errno = e;
	return ret;
}

/* The result as recorded: the value, or -errno. */
static long res(long ret)
{
	return ret < 0 ? -errno : ret;
}

static void dio_of(int fd, unsigned *mem, unsigned *off)
{
	struct statx sx;

	*mem = *off = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
		*mem = sx.stx_dio_mem_align;
		*off = sx.stx_dio_offset_align;
	}
}

/* The expectation line of an open of @fd. */
static void xopen_line(int fd, const char *shown, int flags, int created, int truncated)
{
	unsigned mem, off;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		die(shown);
	dio_of(fd, &mem, &off);
	X("open %s oflags=0x%x created=%d truncated=%d dir=%d dio=%u/%u", shown,
	  (unsigned)(flags & EXP_OFLAGS), created, truncated, S_ISDIR(st.st_mode) ? 1 : 0, mem, off);
}

/* open() and its expectation line. */
static int xopen(const char *path, const char *shown, int flags, int created, int truncated)
{
	int fd = (int)R("open", open(path, flags, 0644));

	xopen_line(fd, shown, flags, created, truncated);
	return fd;
}

static void xwrite_line(const char *path, long long off, size_t len, long result, const char *src,
			const char *flags, const void *data)
{
	char h[33];

	X("write %s off=%lld len=%zu result=%ld src=%s flags=%s hash=%s", path, off, len, result,
	  src, flags, result > 0 ? exp_hash(h, data, (size_t)result) : "none");
}

/* A block of distinct content: @tag and the byte index. */
static void fill(unsigned char *b, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(tag * 131u + i * 7u + (i >> 8));
}

static void xclose(int fd, const char *path)
{
	long r = R("close", close(fd));

	X("close %s result=%ld", path, res(r));
}

/* ==========================================================================
 * 2. DATA CALLS, IN ONE MODE
 * ========================================================================== */

struct mode {
	const char *name;
	int oflag;              /* O_DIRECT, O_DSYNC or 0 */
};

static void data_calls(const struct mode *m, unsigned tagbase)
{
	enum { B = 4096 };
	unsigned char *buf, *cat;
	char path[64], fl[4], fls[4];
	int direct = (m->oflag & O_DIRECT) != 0, sync = (m->oflag & O_DSYNC) != 0;
	long long pos = 0;
	struct iovec iov[2];
	struct stat st;
	long r;
	int fd, d;

	/* O_DIRECT wants aligned buffers: 4096 suits every file system here. */
	if (posix_memalign((void **)&buf, 4096, 4 * B) || posix_memalign((void **)&cat, 4096, 4 * B))
		die("posix_memalign");
	snprintf(path, sizeof(path), "%s.dat", m->name);
	exp_wflags(fl, direct, sync, 0);
	exp_wflags(fls, direct, 1, 0);
	fd = xopen(path, path, O_CREAT | O_RDWR | O_TRUNC | m->oflag, 1, 0);

	fill(buf, B, tagbase + 1);
	r = R("write", write(fd, buf, B));
	xwrite_line(path, pos, B, res(r), "write", fl, buf);
	pos += B;

	fill(buf, B, tagbase + 2);
	r = R("pwrite", pwrite(fd, buf, B, 8 * B));
	xwrite_line(path, 8 * B, B, res(r), "pwrite", fl, buf);

	fill(buf, B, tagbase + 3);
	r = R("pwrite64", pwrite64(fd, buf, B, 9 * B));
	xwrite_line(path, 9 * B, B, res(r), "pwrite", fl, buf);

	/* Vectors: two halves; the payload is their concatenation. */
	fill(buf, 2 * B, tagbase + 4);
	iov[0] = (struct iovec){ buf, B / 2 };
	iov[1] = (struct iovec){ buf + B, B / 2 };
	memcpy(cat, buf, B / 2);
	memcpy(cat + B / 2, buf + B, B / 2);
	r = R("writev", writev(fd, iov, 2));
	xwrite_line(path, pos, B, res(r), "writev", fl, cat);
	pos += B;

	r = R("pwritev", pwritev(fd, iov, 2, 10 * B));
	xwrite_line(path, 10 * B, B, res(r), "pwritev", fl, cat);
	r = R("pwritev64", pwritev64(fd, iov, 2, 11 * B));
	xwrite_line(path, 11 * B, B, res(r), "pwritev", fl, cat);

	/* pwritev2: the flags make the write durable on return. */
	r = R("pwritev2-dsync", pwritev2(fd, iov, 2, 12 * B, RWF_DSYNC));
	xwrite_line(path, 12 * B, B, res(r), "pwritev2", fls, cat);
	r = R("pwritev2-sync", pwritev2(fd, iov, 2, 13 * B, RWF_SYNC));
	xwrite_line(path, 13 * B, B, res(r), "pwritev2", fls, cat);
	r = R("pwritev64v2", pwritev64v2(fd, iov, 2, 14 * B, 0));
	xwrite_line(path, 14 * B, B, res(r), "pwritev2", fl, cat);
	/* Offset -1: at (and moving) the file position. */
	r = R("pwritev2-pos", pwritev2(fd, iov, 2, -1, 0));
	xwrite_line(path, pos, B, res(r), "pwritev2", fl, cat);
	pos += B;

	/* RWF_APPEND: this one write goes to the end of the file. */
	fstat(fd, &st);
	r = R("pwritev2-append", pwritev2(fd, iov, 2, 0, RWF_APPEND));
	xwrite_line(path, (long long)st.st_size, B, res(r), "pwritev2", fl, cat);

	if (direct) {
		/* Misaligned: the kernel refuses it; recorded as is, flagged. */
		char fm[4];

		r = R("pwrite-misaligned", pwrite(fd, buf, B, 100));
		xwrite_line(path, 100, B, res(r), "pwrite", exp_wflags(fm, 1, sync, 1), buf);
	} else {
		/* A short, unaligned write: fine without O_DIRECT. */
		r = R("pwrite-odd", pwrite(fd, buf + 3, 1000, 15 * B + 7));
		xwrite_line(path, 15 * B + 7, 1000, res(r), "pwrite", fl, buf + 3);
	}

	/* Durability calls. */
	r = R("fsync", fsync(fd));
	X("fsync %s kind=fsync result=%ld", path, res(r));
	r = R("fdatasync", fdatasync(fd));
	X("fsync %s kind=fdatasync result=%ld", path, res(r));
	r = R("sync_file_range", sync_file_range(fd, 0, B, SYNC_FILE_RANGE_WRITE));
	X("sync_range %s off=0 len=%d flags=%d result=%ld", path, B, SYNC_FILE_RANGE_WRITE, res(r));
	r = R("syncfs", syncfs(fd));
	X("syncfs %s result=%ld", path, res(r));

	/* Sizes. */
	r = R("ftruncate", ftruncate(fd, 20 * B));
	X("truncate %s len=%d result=%ld", path, 20 * B, res(r));
	r = R("ftruncate64", ftruncate64(fd, 18 * B));
	X("truncate %s len=%d result=%ld", path, 18 * B, res(r));
	r = R("fallocate", fallocate(fd, 0, 18 * B, B));
	X("fallocate %s mode=0 off=%d len=%d result=%ld", path, 18 * B, B, res(r));
	r = R("fallocate64", fallocate64(fd, FALLOC_FL_KEEP_SIZE, 19 * B, B));
	X("fallocate %s mode=%d off=%d len=%d result=%ld", path, FALLOC_FL_KEEP_SIZE, 19 * B, B,
	  res(r));
	r = posix_fallocate(fd, 0, 21 * B);
	R("posix_fallocate", r ? -r : 0);
	X("fallocate %s mode=0 off=0 len=%d result=%ld", path, 21 * B, r ? -r : 0L);
	r = posix_fallocate64(fd, 0, 21 * B);
	R("posix_fallocate64", r ? -r : 0);
	X("fallocate %s mode=0 off=0 len=%d result=%ld", path, 21 * B, r ? -r : 0L);

	/* dup, dup2, dup3, F_DUPFD, F_DUPFD_CLOEXEC: the same description
	 * (same path); closing a copy is no CLOSE (the original is open). */
	d = (int)R("dup", dup(fd));
	fill(buf, B, tagbase + 5);
	r = R("write-dup", pwrite(d, buf, B, 2 * B));
	xwrite_line(path, 2 * B, B, res(r), "pwrite", fl, buf);
	R("close-dup", close(d));
	d = (int)R("dup2", dup2(fd, 150));
	r = R("write-dup2", pwrite(d, buf, B, 3 * B));
	xwrite_line(path, 3 * B, B, res(r), "pwrite", fl, buf);
	R("close-dup2", close(d));
	d = (int)R("dup3", dup3(fd, 151, O_CLOEXEC));
	r = R("write-dup3", pwrite(d, buf, B, 4 * B));
	xwrite_line(path, 4 * B, B, res(r), "pwrite", fl, buf);
	R("close-dup3", close(d));
	d = (int)R("F_DUPFD", fcntl(fd, F_DUPFD, 160));
	r = R("write-dupfd", pwrite(d, buf, B, 5 * B));
	xwrite_line(path, 5 * B, B, res(r), "pwrite", fl, buf);
	R("close-dupfd", close(d));
	d = (int)R("F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 170));
	r = R("write-dupfd-cloexec", pwrite(d, buf, B, 6 * B));
	xwrite_line(path, 6 * B, B, res(r), "pwrite", fl, buf);
	R("close-dupfd-cloexec", close(d));

	/* F_SETFL: O_APPEND on, a write lands at the end, O_APPEND off. */
	r = R("setfl-append", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND));
	X("setfl %s append=1 direct=%d", path, direct);
	fstat(fd, &st);
	fill(buf, B, tagbase + 6);
	r = R("write-append", write(fd, buf, B));
	xwrite_line(path, (long long)st.st_size, B, res(r), "write", fl, buf);
	r = R("setfl-noappend", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_APPEND));
	X("setfl %s append=0 direct=%d", path, direct);
	if (direct) {
		/* O_DIRECT off: the next write is buffered. */
		char fb[4];

		r = R("setfl-nodirect", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT));
		X("setfl %s append=0 direct=0", path);
		r = R("write-buffered", pwrite(fd, buf, B, 7 * B));
		xwrite_line(path, 7 * B, B, res(r), "pwrite", exp_wflags(fb, 0, sync, 0), buf);
	}
	xclose(fd, path);
	free(buf);
	free(cat);
}

/* ==========================================================================
 * 3. DESCRIPTORS: close_range, closefrom, creat, the open variants
 * ========================================================================== */

static void descriptor_calls(void)
{
	char buf[100];
	int a, b, c, dfd, fd;
	long r;

	fill((unsigned char *)buf, sizeof(buf), 77);
	/* Three recorded files on consecutive descriptors, closed by range. */
	a = xopen("cr1.dat", "cr1.dat", O_CREAT | O_WRONLY, 1, 0);
	b = xopen("cr2.dat", "cr2.dat", O_CREAT | O_WRONLY, 1, 0);
	c = xopen("cr3.dat", "cr3.dat", O_CREAT | O_WRONLY, 1, 0);
	if (b != a + 1 || c != b + 1)
		die("descriptors not consecutive");
	r = R("close_range", close_range((unsigned)a, (unsigned)c, 0));
	if (r == 0) {
		X("close cr1.dat result=0");
		X("close cr2.dat result=0");
		X("close cr3.dat result=0");
	}
	/* The failed write on a closed descriptor is not recorded (not ours). */
	R("write-closed", write(a, buf, 10));

	/* creat and creat64: O_CREAT|O_WRONLY|O_TRUNC; the second empties it. */
	fd = (int)R("creat", creat("c.dat", 0644));
	xopen_line(fd, "c.dat", O_CREAT | O_WRONLY | O_TRUNC, 1, 0);
	r = R("write-creat", write(fd, buf, sizeof(buf)));
	xwrite_line("c.dat", 0, sizeof(buf), res(r), "write", "---", buf);
	xclose(fd, "c.dat");
	fd = (int)R("creat64", creat64("c.dat", 0644));
	xopen_line(fd, "c.dat", O_CREAT | O_WRONLY | O_TRUNC, 0, 1);
	xclose(fd, "c.dat");

	/* open64, openat with a directory descriptor, openat64. */
	fd = (int)R("open64", open64("o64.dat", O_CREAT | O_WRONLY | O_EXCL, 0600));
	xopen_line(fd, "o64.dat", O_CREAT | O_WRONLY | O_EXCL, 1, 0);
	xclose(fd, "o64.dat");
	R("mkdir-sub", mkdir("sub", 0755));
	X("mkdir sub result=0");
	dfd = xopen("sub", "sub", O_RDONLY | O_DIRECTORY, 0, 0);
	fd = (int)R("openat", openat(dfd, "at.dat", O_CREAT | O_WRONLY | O_APPEND, 0644));
	xopen_line(fd, "sub/at.dat", O_CREAT | O_WRONLY | O_APPEND, 1, 0);
	r = R("write-append", write(fd, buf, 30));
	xwrite_line("sub/at.dat", 0, 30, res(r), "write", "---", buf);
	r = R("write-append2", write(fd, buf, 40));
	xwrite_line("sub/at.dat", 30, 40, res(r), "write", "---", buf);
	/* pwrite on an O_APPEND description appends too (a Linux quirk). */
	r = R("pwrite-append", pwrite(fd, buf, 5, 0));
	xwrite_line("sub/at.dat", 70, 5, res(r), "pwrite", "---", buf);
	xclose(fd, "sub/at.dat");
	fd = (int)R("openat64", openat64(dfd, "at64.dat", O_CREAT | O_RDWR, 0644));
	xopen_line(fd, "sub/at64.dat", O_CREAT | O_RDWR, 1, 0);
	xclose(fd, "sub/at64.dat");
	/* A directory sync: fsync and fdatasync on the directory's descriptor. */
	r = R("fsync-dir", fsync(dfd));
	X("fsync sub kind=fsync result=%ld", res(r));
	r = R("fdatasync-dir", fdatasync(dfd));
	X("fsync sub kind=fdatasync result=%ld", res(r));
	xclose(dfd, "sub");

	/* A directory opened by opendir (inside libc): found at its first
	 * sync, recorded as an open of the directory, closed by closedir. */
	{
		DIR *dir = opendir("sub");
		int fl;

		if (!dir)
			die("opendir");
		fl = fcntl(dirfd(dir), F_GETFL) & ~0100000;   /* the kernel's O_LARGEFILE */
		xopen_line(dirfd(dir), "sub", fl, 0, 0);
		r = R("fsync-opendir", fsync(dirfd(dir)));
		X("fsync sub kind=fsync result=%ld", res(r));
		r = R("closedir", closedir(dir));
		X("close sub result=%ld", res(r));
	}

	/* An exec that fails: recorded before the call, and again with the
	 * error. */
	{
		char *av[] = { "no-such-program", "arg", NULL };

		R("execv-missing", execv("/no/such/program", av));
		X("exec no-such-program arg result=0");
		X("exec no-such-program arg result=-%d", ENOENT);
	}
	/* A failed open is not recorded; its result is the same. */
	R("open-missing", open("nodir/x.dat", O_RDONLY));
	R("sync", 0);
	sync();
	X("sync");
}

/* The events of a directory tree renamed into the root, in the shim's
 * order: the directory, then each entry in readdir order, depth first.
 * @abs is where it is (outside, before the rename), @rel its name in the
 * root. */
static void expect_tree_in(const char *abs, const char *rel)
{
	char a[PATH_MAX], r[PATH_MAX], h[33], target[PATH_MAX], *data;
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *d;
	int fd;

	if (lstat(abs, &st) < 0)
		die(abs);
	if (S_ISDIR(st.st_mode)) {
		X("mkdir %s result=0", rel);
		if (!(d = opendir(abs)))
			die(abs);
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(a, sizeof(a), "%s/%s", abs, de->d_name);
			snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
			expect_tree_in(a, r);
		}
		closedir(d);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlink(abs, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		X("symlink %s target=%s result=0", rel, target);
	} else {
		data = malloc((size_t)st.st_size + 1);
		fd = open(abs, O_RDONLY);
		if (!data || fd < 0 || read(fd, data, (size_t)st.st_size) != st.st_size)
			die(abs);
		close(fd);
		X("import %s len=%lld hash=%s", rel, (long long)st.st_size,
		  exp_hash(h, data, (size_t)st.st_size));
		free(data);
	}
}

/* The events of a tree renamed out of the root: contents first (readdir
 * order at its new place), then the directory itself. */
static void expect_tree_out(const char *abs, const char *rel)
{
	char a[PATH_MAX], r[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(abs, &st) < 0)
		die(abs);
	if (!S_ISDIR(st.st_mode)) {
		X("unlink %s result=0", rel);
		return;
	}
	if (!(d = opendir(abs)))
		die(abs);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(a, sizeof(a), "%s/%s", abs, de->d_name);
		snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
		expect_tree_out(a, r);
	}
	closedir(d);
	X("rmdir %s result=0", rel);
}

/* Write @n bytes of distinct content to @path (outside the root). */
static void put_file(const char *path, size_t n, unsigned tag)
{
	unsigned char buf[300];
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	fill(buf, n, tag);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || close(fd) != 0)
		die(path);
}

/* ==========================================================================
 * 4. NAMESPACE AND PATHS
 * ========================================================================== */

static void namespace_calls(void)
{
	char p1[PATH_MAX + 64], p2[PATH_MAX + 64], buf[300], h[33];
	int root, fd;
	long r;

	fill((unsigned char *)buf, sizeof(buf), 99);
	root = xopen(".", ".", O_RDONLY | O_DIRECTORY, 0, 0);
	r = R("mkdirat", mkdirat(root, "sub2", 0700));
	X("mkdir sub2 result=%ld", res(r));
	r = R("mkdir-exists", mkdir("sub2", 0700));
	X("mkdir sub2 result=%ld", res(r));
	r = R("symlink", symlink("c.dat", "lnk"));
	X("symlink lnk target=c.dat result=%ld", res(r));
	r = R("symlinkat", symlinkat("sub", root, "lnk2"));
	X("symlink lnk2 target=sub result=%ld", res(r));
	r = R("link", link("o64.dat", "hard"));
	X("link o64.dat hard result=%ld", res(r));
	r = R("linkat", linkat(root, "hard", root, "sub/hard2", 0));
	X("link hard sub/hard2 result=%ld", res(r));
	r = R("rename", rename("hard", "sub/hard3"));
	X("rename hard sub/hard3 flags=0 result=%ld", res(r));
	r = R("renameat", renameat(root, "sub/hard3", root, "hard4"));
	X("rename sub/hard3 hard4 flags=0 result=%ld", res(r));
	r = R("renameat2-noreplace", renameat2(root, "hard4", root, "lnk", RENAME_NOREPLACE));
	X("rename hard4 lnk flags=%d result=%ld", RENAME_NOREPLACE, res(r));
	r = R("renameat2-exchange", renameat2(root, "lnk", root, "lnk2", RENAME_EXCHANGE));
	X("rename lnk lnk2 flags=%d result=%ld", RENAME_EXCHANGE, res(r));
	r = R("unlink", unlink("hard4"));
	X("unlink hard4 result=%ld", res(r));
	r = R("unlink-missing", unlink("nope"));
	X("unlink nope result=%ld", res(r));
	r = R("unlinkat", unlinkat(root, "sub/hard2", 0));
	X("unlink sub/hard2 result=%ld", res(r));
	r = R("rmdir", rmdir("sub2"));
	X("rmdir sub2 result=%ld", res(r));
	r = R("unlinkat-removedir-notempty", unlinkat(root, "sub", AT_REMOVEDIR));
	X("rmdir sub result=%ld", res(r));
	r = R("truncate", truncate("o64.dat", 1000));
	X("truncate o64.dat len=1000 result=%ld", res(r));
	r = R("truncate64", truncate64("o64.dat", 2000));
	X("truncate o64.dat len=2000 result=%ld", res(r));
	/* truncate follows a symlink: the object is recorded. */
	r = R("truncate-via-link", truncate("lnk2", 10));
	X("truncate c.dat len=10 result=%ld", res(r));
	xclose(root, ".");

	/* "..": sub/../dotdot.dat is dotdot.dat. */
	fd = xopen("sub/../dotdot.dat", "dotdot.dat", O_CREAT | O_WRONLY, 1, 0);
	xclose(fd, "dotdot.dat");
	/* An absolute path. */
	snprintf(p1, sizeof(p1), "%s/abs.dat", g_dir);
	fd = xopen(p1, "abs.dat", O_CREAT | O_WRONLY, 1, 0);
	xclose(fd, "abs.dat");

	/* A symlink outside the root pointing into it: recorded by target. */
	snprintf(p1, sizeof(p1), "%s/sub", g_dir);
	snprintf(p2, sizeof(p2), "%s/in", g_out);
	R("symlink-outside", symlink(p1, p2));
	snprintf(p2, sizeof(p2), "%s/in/viasym.dat", g_out);
	fd = xopen(p2, "sub/viasym.dat", O_CREAT | O_WRONLY, 1, 0);
	r = R("write-viasym", write(fd, buf, 50));
	xwrite_line("sub/viasym.dat", 0, 50, res(r), "write", "---", buf);
	xclose(fd, "sub/viasym.dat");

	/* A file outside the root: nothing recorded. */
	snprintf(p2, sizeof(p2), "%s/outside.dat", g_out);
	fd = (int)R("open-outside", open(p2, O_CREAT | O_WRONLY, 0644));
	R("write-outside", write(fd, buf, 10));
	R("fsync-outside", fsync(fd));
	R("close-outside", close(fd));

	/* Into the root from outside: an import of the contents. */
	r = R("rename-in", rename(p2, "imported.dat"));
	X("import imported.dat len=10 hash=%s", exp_hash(h, buf, 10));
	/* Out of the root: an unlink. */
	snprintf(p2, sizeof(p2), "%s/gone.dat", g_out);
	r = R("rename-out", rename("dotdot.dat", p2));
	X("unlink dotdot.dat result=%ld", res(r));
	/* A hard link from outside into the root: an import too. */
	snprintf(p2, sizeof(p2), "%s/gone.dat", g_out);
	r = R("link-in", link(p2, "linked-in.dat"));
	X("import linked-in.dat len=0 hash=%s", exp_hash(h, buf, 0));

	/* A directory tree into the root and out again (the atomic publish of
	 * a prepared directory, and its retirement). */
	snprintf(p1, sizeof(p1), "%s/tree", g_out);
	if (mkdir(p1, 0755) < 0)
		die(p1);
	snprintf(p2, sizeof(p2), "%s/tree/d1", g_out);
	mkdir(p2, 0700);
	snprintf(p2, sizeof(p2), "%s/tree/d1/d2", g_out);
	mkdir(p2, 0755);
	snprintf(p2, sizeof(p2), "%s/tree/a", g_out);
	put_file(p2, 200, 1);
	snprintf(p2, sizeof(p2), "%s/tree/d1/b", g_out);
	put_file(p2, 0, 2);
	snprintf(p2, sizeof(p2), "%s/tree/d1/d2/c", g_out);
	put_file(p2, 33, 3);
	snprintf(p2, sizeof(p2), "%s/tree/l", g_out);
	if (symlink("a", p2) < 0)
		die(p2);
	/* Read while it is still outside (reading it in the root would be
	 * recorded); a rename keeps each directory's entry order. */
	expect_tree_in(p1, "tree");
	R("rename-tree-in", rename(p1, "tree"));
	snprintf(p2, sizeof(p2), "%s/tree-out", g_out);
	r = R("rename-tree-out", rename("tree", p2));
	if (r == 0)
		expect_tree_out(p2, "tree");
}

/* ==========================================================================
 * 5. MMAP: a shared writable mapping is recorded as unsupported
 * ========================================================================== */

static void mmap_calls(void)
{
	int fd = xopen("m.dat", "m.dat", O_CREAT | O_RDWR, 1, 0);
	char *p;
	long r;

	r = R("ftruncate", ftruncate(fd, 8192));
	X("truncate m.dat len=8192 result=%ld", res(r));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	R("mmap", p == MAP_FAILED ? -1 : 0);
	X("mmap m.dat off=0 len=8192 result=0");
	memset(p, 'm', 8192);
	r = R("msync", msync(p + 4096, 4096, MS_SYNC));
	X("msync m.dat off=4096 len=4096 result=%ld", res(r));
	R("munmap", munmap(p, 8192));
	/* A read-only shared mapping is not recorded until mprotect makes it
	 * writable. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	R("mmap-ro", p == MAP_FAILED ? -1 : 0);
	r = R("mprotect", mprotect(p, 4096, PROT_READ | PROT_WRITE));
	X("mmap m.dat off=4096 len=4096 result=0");
	R("munmap-ro", munmap(p, 4096));
	/* A private mapping is not recorded. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	R("mmap-private", p == MAP_FAILED ? -1 : 0);
	munmap(p, 4096);
	xclose(fd, "m.dat");
	/* Its stores are not in the trace: remove it, so that the final
	 * directory can be rebuilt from the trace. */
	r = R("unlink-m", unlink("m.dat"));
	X("unlink m.dat result=%ld", res(r));
}

/* ==========================================================================
 * 6. FORK
 * ========================================================================== */

static void fork_calls(void)
{
	char buf[64];
	pid_t pid;
	int fd, status;
	long r;

	fill((unsigned char *)buf, sizeof(buf), 55);
	fd = xopen("forked.dat", "forked.dat", O_CREAT | O_WRONLY | O_TRUNC, 1, 0);
	r = R("write-parent", write(fd, buf, 10));
	xwrite_line("forked.dat", 0, 10, res(r), "write", "---", buf);
	X("fork");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* The child shares the description (and so the offset). */
		r = write(fd, buf + 10, 20);
		xwrite_line("forked.dat", 10, 20, res(r), "write", "---", buf + 10);
		_exit(r == 20 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	R("child", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	r = R("write-parent2", write(fd, buf + 30, 5));
	xwrite_line("forked.dat", 30, 5, res(r), "write", "---", buf + 30);
	xclose(fd, "forked.dat");
}

/* ==========================================================================
 * 7. STDIO: one write event per call that reached the file
 * ========================================================================== */

static void stdio_calls(void)
{
	char acc[4096], h[33], big[100000];
	size_t n = 0;
	FILE *f;
	int fd;

	f = fopen("s.dat", "w");
	R("fopen", f ? 0 : -1);
	xopen_line(fileno(f), "s.dat", O_WRONLY | O_CREAT | O_TRUNC, 1, 0);
	n += (size_t)R("fprintf", fprintf(f, "hello %d\n", 42));
	memcpy(acc, "hello 42\n", 9);
	R("fputs", fputs("abc", f));
	memcpy(acc + n, "abc", 3);
	n += 3;
	R("fputc", fputc('x', f));
	acc[n++] = 'x';
	R("putc", putc('y', f));
	acc[n++] = 'y';
	fill((unsigned char *)acc + n, 100, 5);
	R("fwrite", (long)fwrite(acc + n, 1, 100, f));
	n += 100;
	R("fflush", fflush(f));
	xwrite_line("s.dat", 0, n, (long)n, "stdio", "---", acc);
	R("fprintf2", fprintf(f, "%s", "tail"));
	R("fclose", fclose(f));
	xwrite_line("s.dat", (long long)n, 4, 4, "stdio", "---", "tail");
	X("close s.dat result=0");
	n += 4;

	/* Append mode: lands at the end. */
	f = fopen("s.dat", "a");
	xopen_line(fileno(f), "s.dat", O_WRONLY | O_CREAT | O_APPEND, 0, 0);
	R("fputs-append", fputs("more", f));
	R("fclose-append", fclose(f));
	xwrite_line("s.dat", (long long)n, 4, 4, "stdio", "---", "more");
	X("close s.dat result=0");

	/* fdopen on a recorded descriptor. */
	fd = xopen("fd.dat", "fd.dat", O_CREAT | O_WRONLY | O_TRUNC, 1, 0);
	f = fdopen(fd, "w");
	R("fdopen", f ? 0 : -1);
	R("fputs-fdopen", fputs("via fdopen", f));
	R("fclose-fdopen", fclose(f));
	xwrite_line("fd.dat", 0, 10, 10, "stdio", "---", "via fdopen");
	X("close fd.dat result=0");

	/* freopen: the old stream's bytes, its close, the new file. */
	f = fopen("r1.dat", "w");
	xopen_line(fileno(f), "r1.dat", O_WRONLY | O_CREAT | O_TRUNC, 1, 0);
	fputs("one", f);
	f = freopen("r2.dat", "w", f);
	R("freopen", f ? 0 : -1);
	xwrite_line("r1.dat", 0, 3, 3, "stdio", "---", "one");
	X("close r1.dat result=0");
	xopen_line(fileno(f), "r2.dat", O_WRONLY | O_CREAT | O_TRUNC, 1, 0);
	fputs("two", f);
	/* A seek writes out the buffer first. */
	R("fseek", fseek(f, 0, SEEK_SET));
	xwrite_line("r2.dat", 0, 3, 3, "stdio", "---", "two");
	fputs("T", f);
	R("fclose-r2", fclose(f));
	xwrite_line("r2.dat", 0, 1, 1, "stdio", "---", "T");
	X("close r2.dat result=0");

	/* A large fwrite (beyond the buffer) and data left for the exit flush:
	 * the split is glibc's, so only the final contents are compared. */
	R("mkdir-free", mkdir("free", 0755));
	X("mkdir free result=0");
	fill((unsigned char *)big, sizeof(big), 7);
	f = fopen("free/big.dat", "w");
	R("fwrite-big", (long)fwrite(big, 1, sizeof(big), f));
	R("fclose-big", fclose(f));
	/* A write of more than 16 chunks: split over several events. */
	{
		size_t hn = 3 * 1024 * 1024 + 5;
		unsigned char *huge = malloc(hn);
		int hfd = open("free/huge.dat", O_CREAT | O_WRONLY | O_TRUNC, 0644);

		if (!huge || hfd < 0)
			die("free/huge.dat");
		fill(huge, hn, 9);
		R("write-huge", write(hfd, huge, hn));
		R("close-huge", close(hfd));
		free(huge);
	}
	f = fopen("free/atexit.dat", "w");
	R("fputs-atexit", fputs("left in the buffer until exit\n", f));
	/* not closed: glibc flushes it at exit, the shim records it first */
	(void)h;
}

/* ==========================================================================
 * 7b. LIBC FUNCTIONS THAT CREATE AND REMOVE FILES INSIDE LIBC
 * ========================================================================== */

static void libc_calls(void)
{
	char t1[] = "tmp.XXXXXX", t2[] = "tmpo.XXXXXX", t3[] = "tmps.XXXXXX.sfx",
	     t4[] = "dir.XXXXXX", text[64], h[33];
	int fd, n;
	long r;

	fd = (int)R("mkstemp", mkstemp(t1));
	xopen_line(fd, t1, O_RDWR | O_CREAT | O_EXCL, 1, 0);
	r = R("write-mkstemp", write(fd, "temp", 4));
	xwrite_line(t1, 0, 4, res(r), "write", "---", "temp");
	/* dprintf writes inside libc: bracketed on the descriptor. */
	n = snprintf(text, sizeof(text), "x=%d\n", 5);
	r = R("dprintf", dprintf(fd, "x=%d\n", 5));
	X("write %s off=4 len=%d result=%d src=write flags=--- hash=%s", t1, n, n,
	  exp_hash(h, text, (size_t)n));
	r = R("fsync-mkstemp", fsync(fd));
	X("fsync %s kind=fsync result=%ld", t1, res(r));
	xclose(fd, t1);
	r = R("rename-mkstemp", rename(t1, "published.dat"));
	X("rename %s published.dat flags=0 result=%ld", t1, res(r));

	fd = (int)R("mkostemp", mkostemp(t2, O_CLOEXEC));
	xopen_line(fd, t2, O_RDWR | O_CREAT | O_EXCL, 1, 0);
	xclose(fd, t2);
	fd = (int)R("mkstemps", mkstemps(t3, 4));
	xopen_line(fd, t3, O_RDWR | O_CREAT | O_EXCL, 1, 0);
	xclose(fd, t3);
	r = R("remove-file", remove(t2));
	X("unlink %s result=%ld", t2, res(r));
	r = R("rename-mkstemps", rename(t3, "suffixed.sfx"));
	X("rename %s suffixed.sfx flags=0 result=%ld", t3, res(r));

	R("mkdtemp", mkdtemp(t4) ? 0 : -1);
	X("mkdir %s result=0", t4);
	r = R("remove-dir", remove(t4));
	X("rmdir %s result=%ld", t4, res(r));
	r = R("remove-missing", remove("no-such-file"));
	X("unlink no-such-file result=%ld", res(r));

	/* The kernel copies from file to file: copy_file_range, sendfile,
	 * splice (from a pipe). */
	{
		char src[PATH_MAX + 16], data[300];
		int in, out, pfd[2];
		off_t soff = 0;

		snprintf(src, sizeof(src), "%s/src.dat", g_out);
		put_file(src, sizeof(data), 44);
		fill((unsigned char *)data, sizeof(data), 44);
		in = open(src, O_RDONLY);
		out = xopen("copied.dat", "copied.dat", O_CREAT | O_WRONLY | O_TRUNC, 1, 0);
		r = R("copy_file_range", copy_file_range(in, NULL, out, NULL, 300, 0));
		xwrite_line("copied.dat", 0, 300, res(r), "write", "---", data);
		r = R("sendfile", sendfile(out, in, &soff, 100));
		xwrite_line("copied.dat", 300, 100, res(r), "write", "---", data);
		if (pipe(pfd) != 0 || write(pfd[1], data + 100, 50) != 50)
			die("pipe");
		r = R("splice", splice(pfd[0], NULL, out, NULL, 50, 0));
		xwrite_line("copied.dat", 400, 50, res(r), "write", "---", data + 100);
		close(pfd[0]);
		close(pfd[1]);
		close(in);
		xclose(out, "copied.dat");
	}

	/* An O_TMPFILE file (no name, not recorded) linked into the root
	 * through /proc/self/fd: an import of its contents. */
	{
		char proc[64];
		int tfd = open(".", O_TMPFILE | O_WRONLY, 0644);

		R("open-tmpfile", tfd < 0 ? -1 : 0);
		if (tfd >= 0) {
			R("write-tmpfile", write(tfd, "anonymous", 9));
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
			r = R("linkat-tmpfile", linkat(AT_FDCWD, proc, AT_FDCWD, "tmpfile.dat",
						       AT_SYMLINK_FOLLOW));
			if (r == 0)
				X("import tmpfile.dat len=9 hash=%s", exp_hash(h, "anonymous", 9));
			R("close-tmpfile", close(tfd));
		}
	}

	/* fcloseall writes every stream out (and closes none, in glibc). */
	{
		FILE *f = fopen("closeall.dat", "w");

		xopen_line(fileno(f), "closeall.dat", O_WRONLY | O_CREAT | O_TRUNC, 1, 0);
		fputs("written by fcloseall", f);
		R("fcloseall", fcloseall());
		xwrite_line("closeall.dat", 0, 20, 20, "stdio", "---", "written by fcloseall");
	}
}

/* ==========================================================================
 * 8. MAIN
 * ========================================================================== */

int main(int argc, char **argv)
{
	static const struct mode modes[] = {
		{ "buffered", 0 }, { "direct", O_DIRECT }, { "dsync", O_DSYNC },
	};

	if (argc != 4) {
		fprintf(stderr, "usage: shim_calls DIR OUTSIDE EXPFILE\n");
		return 2;
	}
	if (!realpath(argv[1], g_dir) || !realpath(argv[2], g_out))
		die("realpath");
	g_exp = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (g_exp < 0)
		die(argv[3]);
	/* Relative paths from here on: against the root. */
	if (chdir(g_dir) < 0)
		die("chdir");
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		data_calls(&modes[i], 10 * (i + 1));
	descriptor_calls();
	namespace_calls();
	mmap_calls();
	fork_calls();
	stdio_calls();
	libc_calls();
	return 0;
}

/*
 * tests/tools/rebuild-workload.c - a program that changes a directory with
 * every kind of call the trace knows, for the rebuild-equals-reality test
 * (tests/integration/rebuild_real.sh).
 *
 *	rebuild-workload DIR SNAPDIR
 *
 * Works in DIR (recorded).  At each checkpoint it makes a mark
 * "checkpoint N" and then copies DIR to SNAPDIR/N (outside the root, so not
 * recorded): the rebuild of the trace up to that mark's seq must equal the
 * copy, and the rebuild of the whole trace must equal DIR at the end.
 * Exit 0, or 1 naming the call that failed unexpectedly.
 *
 * Sections: helpers; the phases (data, fallocate, namespace, handles,
 * processes and stdio, direct I/O, big writes); main.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "torn/mark.h"

static const char *dir, *snapdir;
static int dfd = -1;
static int checkpoint_n;

#define CHECK(x) do { if ((x) < 0) { fprintf(stderr, "rebuild-workload: %s:%d: %s: %s\n", \
		__FILE__, __LINE__, #x, strerror(errno)); exit(1); } } while (0)

/* ---- helpers */

static void checkpoint(void)
{
	char cmd[1024];

	checkpoint_n++;
	torn_mark("checkpoint %d", checkpoint_n);
	/* cp -a keeps symlinks as symlinks and hard links as hard links. */
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s/%d'", dir, snapdir, checkpoint_n);
	if (system(cmd) != 0) {
		fprintf(stderr, "rebuild-workload: %s failed\n", cmd);
		exit(1);
	}
}

static int create(const char *name, int extra)
{
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | extra, 0644);

	CHECK(fd);
	return fd;
}

static void put(int fd, const char *s, off_t off)
{
	CHECK(pwrite(fd, s, strlen(s), off));
}

/* ---- phases */

static void phase_data(void)
{
	struct iovec iov[3] = { { "vec", 3 }, { "tor", 3 }, { "ed!", 3 } };
	int fd = create("data", 0), ap;

	CHECK(write(fd, "0123456789", 10));
	put(fd, "AB", 3);
	CHECK(writev(fd, iov, 3));                           /* at the file offset: 10 */
	CHECK(pwritev(fd, iov, 2, 30));                      /* a gap of zeros before */
	CHECK(pwritev2(fd, iov + 2, 1, 40, RWF_DSYNC));      /* durable on return */
	CHECK(fsync(fd));
	CHECK(ftruncate(fd, 35));                            /* shrink into the vector */
	CHECK(ftruncate(fd, 50));                            /* grow: zeros, not old bytes */
	CHECK(fdatasync(fd));
	CHECK(sync_file_range(fd, 0, 50, SYNC_FILE_RANGE_WRITE));
	CHECK(close(fd));
	{
		char p[4200];
		snprintf(p, sizeof(p), "%s/data", dir);
		CHECK(truncate(p, 44));                      /* by path */
	}
	ap = openat(dfd, "append", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	CHECK(ap);
	CHECK(write(ap, "one\n", 4));
	CHECK(pwrite(ap, "two\n", 4, 0));                    /* O_APPEND: lands at the end */
	CHECK(close(ap));
	ap = openat(dfd, "append", O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK(ap);
	CHECK(write(ap, "three\n", 6));
	CHECK(close(ap));
	checkpoint();
}

static void phase_fallocate(void)
{
	static char block[4 * 4096];
	int fd = create("falloc", 0);

	for (int i = 0; i < 4; i++)
		memset(block + i * 4096, 'a' + i, 4096);
	CHECK(pwrite(fd, block, sizeof(block), 0));
	CHECK(fallocate(fd, 0, 16384, 8192));                                 /* extend */
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536));                  /* no size change */
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 5000));
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE, 20000, 10000) < 0 && errno != EOPNOTSUPP)
		CHECK(-1);
	/* Block-aligned collapse and insert (ext4 has them; others may refuse:
	 * a refused call is recorded as failed and changes nothing). */
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096) < 0 &&
	    errno != EOPNOTSUPP && errno != EINVAL)
		CHECK(-1);
	if (fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096) < 0 &&
	    errno != EOPNOTSUPP && errno != EINVAL)
		CHECK(-1);
	CHECK(close(fd));
	checkpoint();
}

static void phase_namespace(void)
{
	int fd;

	CHECK(mkdirat(dfd, "d1", 0755));
	CHECK(mkdirat(dfd, "d1/d2", 0755));
	fd = create("d1/d2/f", 0);
	put(fd, "deep", 0);
	CHECK(close(fd));
	fd = create("victim", 0);
	put(fd, "old", 0);
	CHECK(close(fd));
	fd = create("new.tmp", 0);
	put(fd, "replacement", 0);
	CHECK(fsync(fd));
	CHECK(close(fd));
	CHECK(renameat(dfd, "new.tmp", dfd, "victim"));                 /* over an existing file */
	fd = create("a", 0);
	put(fd, "AAA", 0);
	CHECK(close(fd));
	fd = create("b", 0);
	put(fd, "BBB", 0);
	CHECK(close(fd));
	if (renameat2(dfd, "a", dfd, "b", RENAME_NOREPLACE) == 0 || errno != EEXIST)
		CHECK(-1);                                               /* must fail */
	CHECK(renameat2(dfd, "a", dfd, "b", RENAME_EXCHANGE));
	CHECK(renameat2(dfd, "b", dfd, "c", RENAME_NOREPLACE));
	CHECK(renameat(dfd, "d1", dfd, "moved"));                      /* a subtree */
	CHECK(linkat(dfd, "moved/d2/f", dfd, "hard", 0));
	CHECK(symlinkat("moved/d2/f", dfd, "sym"));
	CHECK(symlinkat("/nonexistent/abs", dfd, "dangling"));
	CHECK(mkdirat(dfd, "empty", 0700));
	CHECK(mkdirat(dfd, "gone", 0755));
	CHECK(unlinkat(dfd, "gone", AT_REMOVEDIR));
	if (unlinkat(dfd, "moved", AT_REMOVEDIR) == 0 || errno != ENOTEMPTY)
		CHECK(-1);
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd);
	CHECK(fsync(fd));                                               /* the directory */
	CHECK(close(fd));
	checkpoint();
}

static void phase_handles(void)
{
	int fd = create("log.tmp", 0), d, e;

	put(fd, "head|", 0);
	CHECK(renameat(dfd, "log.tmp", dfd, "log"));
	put(fd, "after-rename|", 5);                       /* the handle follows the file */
	d = dup(fd);
	CHECK(d);
	CHECK(lseek(d, 0, SEEK_END));
	CHECK(write(d, "via-dup|", 8));
	e = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK(e);
	CHECK(write(e, "via-fcntl", 9));
	CHECK(close(d));
	CHECK(close(e));
	CHECK(close(fd));

	fd = create("doomed", 0);
	put(fd, "x", 0);
	CHECK(unlinkat(dfd, "doomed", 0));
	put(fd, "written to an unlinked file", 0);        /* never visible */
	CHECK(ftruncate(fd, 1000));
	CHECK(close(fd));
	fd = openat(dfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd >= 0) {                                     /* unnamed: never visible */
		put(fd, "tmpfile", 0);
		CHECK(close(fd));
	}
	checkpoint();
}

static void phase_processes(void)
{
	pid_t pid = fork();
	FILE *f;
	int st;

	CHECK(pid);
	if (pid == 0) {
		int fd = openat(dfd, "child", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "from the child\n", 15) != 15)
			_exit(1);
		_exit(close(fd) < 0);
	}
	CHECK(waitpid(pid, &st, 0));
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "rebuild-workload: child failed\n");
		exit(1);
	}
	CHECK(chdir(dir));
	f = fopen("stdio", "w");
	if (!f)
		CHECK(-1);
	fprintf(f, "line %d\n", 1);
	fwrite("line 2\n", 1, 7, f);
	fflush(f);
	fputs("line 3\n", f);
	CHECK(fclose(f));
	f = fopen("stdio", "a");
	if (!f)
		CHECK(-1);
	fprintf(f, "appended\n");
	CHECK(fclose(f));
	checkpoint();
}

static void phase_direct(void)
{
	void *buf;
	int fd = openat(dfd, "direct", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);

	if (fd < 0 && errno == EINVAL) {
		/* This file system refuses O_DIRECT: a buffered file instead. */
		fd = create("direct", 0);
	}
	CHECK(fd);
	if (posix_memalign(&buf, 4096, 8192))
		CHECK(-1);
	memset(buf, 'D', 8192);
	CHECK(pwrite(fd, buf, 8192, 0));
	memset(buf, 'E', 4096);
	CHECK(pwrite(fd, buf, 4096, 4096));
	CHECK(fdatasync(fd));
	CHECK(close(fd));
	free(buf);
	checkpoint();
}

static void phase_big(void)
{
	/* 17 MiB in one call: more than one event can carry (split), and the
	 * same 64 KiB pattern over and over (one blob). */
	size_t len = 17u << 20;
	char *buf = malloc(len);
	int fd = create("big", 0);

	if (!buf)
		CHECK(-1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i % 65536) % 26);
	buf[len - 1] = '!';
	CHECK(write(fd, buf, len));
	CHECK(pwrite(fd, "MIDDLE", 6, 9u << 20));
	CHECK(close(fd));
	free(buf);
	sync();
	checkpoint();
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: rebuild-workload DIR SNAPDIR\n");
		return 2;
	}
	dir = argv[1];
	snapdir = argv[2];
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd);
	phase_data();
	phase_fallocate();
	phase_namespace();
	phase_handles();
	phase_processes();
	phase_direct();
	phase_big();
	return 0;
}

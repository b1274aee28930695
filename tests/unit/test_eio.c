/*
 * tests/unit/test_eio.c - the engines' I/O layer: alignment rules of the
 * direct back end, round trips through each back end, the uring queue,
 * the commit-by-rename helper and the robust helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engines/eio.h"

static char tmpdir[256];
static int dirfd_ = -1;

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_eio.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	dirfd_ = eio_dir_open(tmpdir, 0);
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[512];

	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct eio_file *open_or_skip(const char *name, enum eio_mode mode)
{
	struct eio_file *f = NULL;
	int rc = eio_open(&f, dirfd_, name, EIO_CREATE | EIO_TRUNC, mode);

	if (rc == -EINVAL && mode != EIO_BUFFERED)
		skip(); /* the file system refuses O_DIRECT */
	assert_int_equal(rc, 0);
	return f;
}

static void test_mode_names(void **state)
{
	enum eio_mode m;

	assert_int_equal(eio_mode_parse("buffered", &m), 0);
	assert_int_equal(m, EIO_BUFFERED);
	assert_int_equal(eio_mode_parse("direct", &m), 0);
	assert_int_equal(m, EIO_DIRECT);
	assert_int_equal(eio_mode_parse("uring", &m), 0);
	assert_int_equal(m, EIO_URING);
	assert_int_equal(eio_mode_parse("mmap", &m), -EINVAL);
	assert_string_equal(eio_mode_name(EIO_URING), "uring");
}

static void test_round_up(void **state)
{
	assert_int_equal(eio_round_up(0, 512), 0);
	assert_int_equal(eio_round_up(1, 512), 512);
	assert_int_equal(eio_round_up(512, 512), 512);
	assert_int_equal(eio_round_up(513, 512), 1024);
	assert_int_equal(eio_round_up(7, 1), 7);
}

/* the direct back end's alignment is a power of two from statx or 512 */
static void test_direct_alignment(void **state)
{
	struct eio_file *f = open_or_skip("d", EIO_DIRECT);
	size_t a = eio_align(f), m = eio_mem_align(f);
	struct stat st;
	uint8_t *buf;

	assert_true(a >= 512 && (a & (a - 1)) == 0);
	assert_true(m >= 1 && (m & (m - 1)) == 0);
	assert_int_equal(fstat(eio_fd(f), &st), 0);
	assert_true(a <= (size_t)st.st_blksize);
	buf = eio_alloc(f, 100);
	assert_non_null(buf);
	assert_int_equal((uintptr_t)buf % m, 0);
	/* misaligned offset, length and buffer are refused before any I/O */
	assert_int_equal(eio_pwrite(f, buf, a, 1), -EINVAL);
	assert_int_equal(eio_pwrite(f, buf, 100, 0), -EINVAL);
	if (m > 1)
		assert_int_equal(eio_pwrite(f, buf + 1, a, 0), -EINVAL);
	assert_int_equal(eio_pread(f, buf, a, 3), -EINVAL);
	/* aligned I/O goes through */
	memset(buf, 0x5a, a);
	assert_int_equal(eio_pwrite(f, buf, a, (off_t)a), 0);
	assert_int_equal(eio_sync(f), 0);
	memset(buf, 0, a);
	assert_int_equal(eio_pread(f, buf, a, (off_t)a), (ssize_t)a);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[a - 1], 0x5a);
	free(buf);
	assert_int_equal(eio_close(f), 0);
}

static void roundtrip(enum eio_mode mode)
{
	struct eio_file *f = open_or_skip("r", mode);
	size_t a = eio_align(f) > 1 ? eio_align(f) : 512;
	uint8_t *buf = eio_alloc(f, 8 * a), *back = eio_alloc(f, 8 * a);
	off_t size;

	assert_non_null(buf);
	assert_non_null(back);
	/* eight queued writes (a batch for uring), then one sync */
	for (size_t i = 0; i < 8; i++) {
		memset(buf + i * a, (int)('a' + i), a);
		assert_int_equal(eio_pwrite(f, buf + i * a, a, (off_t)(i * a)), 0);
	}
	assert_int_equal(eio_sync(f), 0);
	assert_int_equal(eio_size(f, &size), 0);
	assert_int_equal(size, (off_t)(8 * a));
	assert_int_equal(eio_pread(f, back, 8 * a, 0), (ssize_t)(8 * a));
	assert_memory_equal(buf, back, 8 * a);
	/* a read sees a queued write (uring completes it first) */
	memset(buf, 'z', a);
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_pread(f, back, a, 0), (ssize_t)a);
	assert_int_equal(back[0], 'z');
	/* the caller's buffer is free at once: changing it changes nothing */
	memset(buf, 'q', a);
	assert_int_equal(eio_pwrite(f, buf, a, (off_t)a), 0);
	memset(buf, 'w', a);
	assert_int_equal(eio_fsync(f), 0);
	assert_int_equal(eio_pread(f, back, a, (off_t)a), (ssize_t)a);
	assert_int_equal(back[a - 1], 'q');
	/* reads stop at end of file */
	assert_int_equal(eio_pread(f, back, a, (off_t)(8 * a)), 0);
	assert_int_equal(eio_truncate(f, (off_t)a), 0);
	assert_int_equal(eio_size(f, &size), 0);
	assert_int_equal(size, (off_t)a);
	free(buf);
	free(back);
	assert_int_equal(eio_close(f), 0);
}

static void test_buffered(void **state) { roundtrip(EIO_BUFFERED); }
static void test_direct(void **state) { roundtrip(EIO_DIRECT); }
static void test_uring(void **state) { roundtrip(EIO_URING); }

/* more queued writes than the ring holds: the layer drains as it goes */
static void test_uring_many(void **state)
{
	struct eio_file *f = open_or_skip("many", EIO_URING);
	size_t a = eio_align(f);
	uint8_t *buf = eio_alloc(f, a), *back = eio_alloc(f, a);

	for (int i = 0; i < 300; i++) {
		memset(buf, i & 0xff, a);
		assert_int_equal(eio_pwrite(f, buf, a, (off_t)(i * a)), 0);
	}
	assert_int_equal(eio_sync(f), 0);
	for (int i = 0; i < 300; i += 37) {
		assert_int_equal(eio_pread(f, back, a, (off_t)(i * a)), (ssize_t)a);
		assert_int_equal(back[0], i & 0xff);
	}
	free(buf);
	free(back);
	assert_int_equal(eio_close(f), 0);
}

static void test_commit_rename(void **state)
{
	struct eio_file *f = open_or_skip("x.tmp", EIO_BUFFERED);
	void *data;
	size_t len;

	assert_int_equal(eio_pwrite(f, "hello", 5, 0), 0);
	assert_int_equal(eio_commit_rename(f, dirfd_, "x.tmp", "x", 0, 0), 0);
	assert_int_equal(eio_close(f), 0);
	assert_int_equal(eio_read_file(dirfd_, "x", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(eio_read_file(dirfd_, "x.tmp", &data, &len), -ENOENT);
	assert_int_equal(eio_dir_sync(dirfd_), 0);
}

static void test_robust(void **state)
{
	int fd = openat(dirfd_, "rob", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[64];

	assert_true(fd >= 0);
	assert_int_equal(eio_robust_pwrite(fd, "abcdef", 6, 10), 0);
	/* a hole reads as zeros; the read stops short at the end of file */
	assert_int_equal(eio_robust_pread(fd, buf, sizeof(buf), 0), 16);
	assert_int_equal(buf[0], 0);
	assert_memory_equal(buf + 10, "abcdef", 6);
	assert_int_equal(eio_robust_pwrite(-1, "a", 1, 0), -EBADF);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_round_up),
		cmocka_unit_test(test_direct_alignment),
		cmocka_unit_test(test_buffered),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_uring),
		cmocka_unit_test(test_uring_many),
		cmocka_unit_test(test_commit_rename),
		cmocka_unit_test(test_robust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * tests/unit/test_eio.c - the engines' I/O layer: alignment rules of the
 * direct back end, round trips through each back end, the uring queue,
 * the commit-by-rename helper and the robust helpers; faults through the
 * test hook (fault_util.h): what each back end does with a failed, short
 * or interrupted write and a failed fsync (eio.h, "Faults").
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

#include "fault_util.h"

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

/* ---- faults (eio.h "Faults"), through the test hook ----------------------- */

/* a failed assertion leaves rules armed */
static int fault_reset(void **state)
{
	fu_reset();
	return 0;
}

static off_t fsize(struct eio_file *f)
{
	off_t size;

	assert_int_equal(eio_size(f, &size), 0);
	return size;
}

/* a failed write is returned as it is, not retried; nothing is written */
static void test_fault_write_errno(void **state)
{
	struct eio_file *f = open_or_skip("w", EIO_BUFFERED);
	struct fu_rule *r;

	r = fu_arm(EIO_CALL_WRITE, "/w", 1, 0, -ENOSPC);
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), -ENOSPC);
	assert_int_equal(r->fired, 1);
	assert_int_equal(r->seen, 1);
	assert_int_equal(fsize(f), 0);
	fu_reset();
	fu_arm(EIO_CALL_WRITE, "/w", 1, 0, -EDQUOT);
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), -EDQUOT);
	fu_reset();
	/* the file is fine: the next write goes through */
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), 0);
	assert_int_equal(fsize(f), 8);
	assert_int_equal(eio_close(f), 0);
}

/* EINTR: the same write again (nothing was written), but not forever */
static void test_fault_write_eintr(void **state)
{
	struct eio_file *f = open_or_skip("i", EIO_BUFFERED);
	char back[8];
	struct fu_rule *r;

	r = fu_arm(EIO_CALL_WRITE, "/i", 1, 0, -EINTR);
	fu_arm(EIO_CALL_WRITE, "/i", 2, 0, -EINTR);
	fu_arm(EIO_CALL_WRITE, "/i", 3, 0, -EINTR);
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), 0);
	assert_int_equal(r->seen, 4);
	assert_int_equal(eio_pread(f, back, 8, 0), 8);
	assert_memory_equal(back, "abcdefgh", 8);
	fu_reset();
	/* every call interrupted: gives up with EINTR after EIO_EINTR_MAX */
	r = fu_arm(EIO_CALL_WRITE, "/i", 1, 1, -EINTR);
	assert_int_equal(eio_pwrite(f, "zz", 2, 0), -EINTR);
	assert_int_equal(r->seen, EIO_EINTR_MAX);
	fu_reset();
	assert_int_equal(eio_close(f), 0);
}

/* a short write is continued; if the rest fails, the prefix stays */
static void test_fault_write_short(void **state)
{
	struct eio_file *f = open_or_skip("s", EIO_BUFFERED);
	char back[8];
	struct fu_rule *r;

	r = fu_arm(EIO_CALL_WRITE, "/s", 1, 0, 3);
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), 0);
	assert_int_equal(r->seen, 2); /* the prefix, then the rest */
	assert_int_equal(eio_pread(f, back, 8, 0), 8);
	assert_memory_equal(back, "abcdefgh", 8);
	fu_reset();
	fu_arm(EIO_CALL_WRITE, "/s", 1, 0, 3);
	fu_arm(EIO_CALL_WRITE, "/s", 2, 0, -ENOSPC);
	assert_int_equal(eio_pwrite(f, "ABCDEFGH", 8, 8), -ENOSPC);
	assert_int_equal(fsize(f), 11);
	assert_int_equal(eio_pread(f, back, 3, 8), 3);
	assert_memory_equal(back, "ABC", 3);
	fu_reset();
	assert_int_equal(eio_close(f), 0);
}

/* EIO_BUG_SHORT (the seeded bug): one call, its count believed */
static void test_fault_write_short_bug(void **state)
{
	struct eio_file *f = NULL;
	struct fu_rule *r;

	assert_int_equal(eio_open(&f, dirfd_, "b", EIO_CREATE | EIO_TRUNC | EIO_BUG_SHORT,
				  EIO_BUFFERED), 0);
	r = fu_arm(EIO_CALL_WRITE, "/b", 1, 0, 3);
	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), 0);
	assert_int_equal(r->seen, 1);
	assert_int_equal(fsize(f), 3);
	fu_reset();
	assert_int_equal(eio_close(f), 0);
}

/* a failed fsync / fdatasync is returned after one call, EINTR too; the
 * layer keeps no state (the policy is the engine's) */
static void test_fault_sync_not_retried(void **state)
{
	struct eio_file *f = open_or_skip("y", EIO_BUFFERED);
	struct fu_rule *r;

	assert_int_equal(eio_pwrite(f, "abcdefgh", 8, 0), 0);
	r = fu_arm(EIO_CALL_FDATASYNC, "/y", 1, 0, -EIO);
	assert_int_equal(eio_sync(f), -EIO);
	assert_int_equal(r->seen, 1);
	fu_reset();
	r = fu_arm(EIO_CALL_FSYNC, "/y", 1, 0, -EINTR);
	assert_int_equal(eio_fsync(f), -EINTR);
	assert_int_equal(r->seen, 1);
	fu_reset();
	r = fu_arm(EIO_CALL_FSYNC, tmpdir, 1, 0, -EIO);
	assert_int_equal(eio_dir_sync(dirfd_), -EIO);
	assert_int_equal(r->fired, 1);
	fu_reset();
	assert_int_equal(eio_sync(f), 0);
	assert_int_equal(eio_close(f), 0);
}

/* O_DIRECT: a short count is continued only when it is aligned */
static void test_fault_direct_short(void **state)
{
	struct eio_file *f = open_or_skip("ds", EIO_DIRECT);
	size_t a = eio_align(f);
	uint8_t *buf = eio_alloc(f, 2 * a), *back = eio_alloc(f, 2 * a);
	struct fu_rule *r;
	int rc;

	memset(buf, 'd', 2 * a);
	r = fu_arm(EIO_CALL_WRITE, "/ds", 1, 0, (ssize_t)a);
	assert_int_equal(eio_pwrite(f, buf, 2 * a, 0), 0);
	assert_int_equal(r->seen, 2);
	assert_int_equal(eio_pread(f, back, 2 * a, 0), (ssize_t)(2 * a));
	assert_memory_equal(buf, back, 2 * a);
	fu_reset();
	/* an unaligned prefix: the kernel refuses the 100-byte O_DIRECT write
	 * itself (EINVAL); had it written it, the layer would say EIO rather
	 * than go on at offset 100; either way one call and an error */
	r = fu_arm(EIO_CALL_WRITE, "/ds", 1, 0, 100);
	rc = eio_pwrite(f, buf, 2 * a, (off_t)(2 * a));
	assert_true(rc == -EINVAL || rc == -EIO);
	assert_int_equal(r->seen, 1);
	fu_reset();
	free(buf);
	free(back);
	assert_int_equal(eio_close(f), 0);
}

/* io_uring: failed and short completions come back with the sync */
static void test_fault_uring(void **state)
{
	struct eio_file *f = open_or_skip("u", EIO_URING), *g = NULL;
	size_t a = eio_align(f);
	uint8_t *buf = eio_alloc(f, 2 * a);

	memset(buf, 'u', 2 * a);
	/* a write that fails: queued fine, its error with the sync */
	fu_arm(EIO_CALL_WRITE, "/u", 1, 0, -EIO);
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_sync(f), -EIO);
	fu_reset();
	/* reported once: the next sync is clean */
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_sync(f), 0);
	/* a write that completes short (a of 2a bytes): EIO */
	fu_arm(EIO_CALL_WRITE, "/u", 1, 0, (ssize_t)a);
	assert_int_equal(eio_pwrite(f, buf, 2 * a, 0), 0);
	assert_int_equal(eio_sync(f), -EIO);
	fu_reset();
	/* the fsync's completion fails */
	fu_arm(EIO_CALL_FDATASYNC, "/u", 1, 0, -EIO);
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_sync(f), -EIO);
	fu_reset();
	fu_arm(EIO_CALL_FSYNC, "/u", 1, 0, -EIO);
	assert_int_equal(eio_fsync(f), -EIO);
	fu_reset();
	assert_int_equal(eio_close(f), 0);
	/* EIO_BUG_SHORT: the short completion passes */
	assert_int_equal(eio_open(&g, dirfd_, "ub", EIO_CREATE | EIO_TRUNC | EIO_BUG_SHORT,
				  EIO_URING), 0);
	fu_arm(EIO_CALL_WRITE, "/ub", 1, 0, (ssize_t)a);
	assert_int_equal(eio_pwrite(g, buf, 2 * a, 0), 0);
	assert_int_equal(eio_sync(g), 0);
	assert_int_equal(fsize(g), (off_t)a);
	fu_reset();
	free(buf);
	assert_int_equal(eio_close(g), 0);
}

/*
 * The asynchronous commit: tickets 1, 2, ... per file; a ticket reported
 * complete implies every earlier one is; with several in flight (uring)
 * the data of each commit is there once its ticket completed.
 */
static void async_order(enum eio_mode mode)
{
	struct eio_file *f = open_or_skip("async", mode);
	size_t a = eio_align(f);
	uint8_t *buf = eio_alloc(f, a), *back = eio_alloc(f, a);
	uint64_t t, oldest = 1;

	assert_int_equal(eio_sync_overlaps(f), mode == EIO_URING);
	for (int i = 0; i < 40; i++) {
		memset(buf, 'a' + i % 26, a);
		assert_int_equal(eio_pwrite(f, buf, a, (off_t)(i * a)), 0);
		assert_int_equal(eio_sync_start(f, &t), 0);
		assert_int_equal(t, (uint64_t)i + 1);
		if (mode != EIO_URING)
			assert_int_equal(eio_sync_wait(f, t, 1), 1); /* done at start */
		/* polling: a completed ticket's predecessors are complete */
		for (uint64_t k = oldest; k <= t; k++) {
			int r = eio_sync_wait(f, k, 1);
			assert_true(r == 0 || r == 1);
			if (r == 0)
				break;
			for (uint64_t j = 1; j < k; j++)
				assert_int_equal(eio_sync_wait(f, j, 1), 1);
			oldest = k + 1;
		}
		if (oldest <= t && t - oldest >= 8) { /* a window of 8 in flight */
			assert_int_equal(eio_sync_wait(f, oldest, 0), 1);
			oldest++;
		}
	}
	assert_int_equal(eio_sync_wait(f, t, 0), 1);
	for (uint64_t k = 1; k <= t; k++)
		assert_int_equal(eio_sync_wait(f, k, 1), 1);
	/* a ticket never issued */
	assert_int_equal(eio_sync_wait(f, t + 1, 1), mode == EIO_URING ? -EINVAL : -EINVAL);
	for (int i = 0; i < 40; i += 13) {
		assert_int_equal(eio_pread(f, back, a, (off_t)(i * a)), (ssize_t)a);
		assert_int_equal(back[0], 'a' + i % 26);
	}
	/* eio_sync after async commits: still waits for everything */
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_sync_start(f, &t), 0);
	assert_int_equal(eio_sync(f), 0);
	assert_int_equal(eio_sync_wait(f, t, 1), 1);
	free(buf);
	free(back);
	assert_int_equal(eio_close(f), 0);
}

static void test_async_buffered(void **state) { async_order(EIO_BUFFERED); }
static void test_async_direct(void **state) { async_order(EIO_DIRECT); }
static void test_async_uring(void **state) { async_order(EIO_URING); }

/* a failed write or fsync fails its own ticket; earlier tickets stay
 * good, later ones and every later start report the first error */
static void async_fault(enum eio_mode mode, enum eio_call call)
{
	struct eio_file *f = open_or_skip("af", mode);
	size_t a = eio_align(f);
	uint8_t *buf = eio_alloc(f, a);
	uint64_t t1, t2, t3, t4;
	int rc;

	memset(buf, 'f', a);
	fu_arm(call, "/af", 2, 0, -EIO); /* the second write, or fsync */
	assert_int_equal(eio_pwrite(f, buf, a, 0), 0);
	assert_int_equal(eio_sync_start(f, &t1), 0);
	rc = eio_pwrite(f, buf, a, (off_t)a);
	if (mode != EIO_URING && call == EIO_CALL_WRITE) {
		/* synchronous back ends: the write's own call fails */
		assert_int_equal(rc, -EIO);
		assert_int_equal(eio_sync_wait(f, t1, 0), 1);
		goto out;
	}
	assert_int_equal(rc, 0);
	rc = eio_sync_start(f, &t2);
	assert_int_equal(t2, t1 + 1);
	if (mode != EIO_URING) {
		assert_int_equal(rc, -EIO); /* the fsync, run by the start */
	} else {
		assert_int_equal(rc, 0);    /* uring: reported by the ticket */
		assert_int_equal(eio_pwrite(f, buf, a, (off_t)(2 * a)), 0);
		/* a start after the failure is refused once it is known (the
		 * hook fails at once; a kernel completion may come later) */
		rc = eio_sync_start(f, &t3);
		assert_true(rc == 0 || rc == -EIO);
		assert_int_equal(eio_sync_wait(f, t3, 0), -EIO);
	}
	assert_int_equal(eio_sync_wait(f, t1, 0), 1);
	assert_int_equal(eio_sync_wait(f, t2, 0), -EIO);
	assert_int_equal(eio_sync_wait(f, t2, 1), -EIO); /* sticky */
	assert_int_equal(eio_sync_start(f, &t4), -EIO);
out:
	fu_reset();
	free(buf);
	eio_close(f);
}

static void test_async_fault_uring_write(void **state) { async_fault(EIO_URING, EIO_CALL_WRITE); }
static void test_async_fault_uring_fsync(void **state) { async_fault(EIO_URING, EIO_CALL_FDATASYNC); }
static void test_async_fault_direct(void **state)
{
	async_fault(EIO_DIRECT, EIO_CALL_WRITE);
	async_fault(EIO_DIRECT, EIO_CALL_FDATASYNC);
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
		cmocka_unit_test_teardown(test_fault_write_errno, fault_reset),
		cmocka_unit_test_teardown(test_fault_write_eintr, fault_reset),
		cmocka_unit_test_teardown(test_fault_write_short, fault_reset),
		cmocka_unit_test_teardown(test_fault_write_short_bug, fault_reset),
		cmocka_unit_test_teardown(test_fault_sync_not_retried, fault_reset),
		cmocka_unit_test_teardown(test_fault_direct_short, fault_reset),
		cmocka_unit_test_teardown(test_fault_uring, fault_reset),
		cmocka_unit_test(test_async_buffered),
		cmocka_unit_test(test_async_direct),
		cmocka_unit_test(test_async_uring),
		cmocka_unit_test_teardown(test_async_fault_uring_write, fault_reset),
		cmocka_unit_test_teardown(test_async_fault_uring_fsync, fault_reset),
		cmocka_unit_test_teardown(test_async_fault_direct, fault_reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

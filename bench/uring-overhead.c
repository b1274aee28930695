/*
 * bench/uring-overhead.c - the io_uring workload of bench/uring-overhead.sh
 * (issue 6): N writes of 4 KiB with O_DIRECT through io_uring at queue
 * depth 32, an fdatasync (IORING_FSYNC_DATASYNC, after the writes before it
 * completed) every 64 writes.  liburing is linked dynamically, so torn's
 * shim sees the submissions.
 *
 *   uring-overhead FILE N     prints nothing; exit 0, or 1 with a message
 *
 * Sections: 1. the workload, 2. main.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEPTH 32
#define SYNC_EVERY 64
#define BLOCK 4096

/* ==========================================================================
 * 1. THE WORKLOAD
 * ========================================================================== */

/* Reap @n completions; 0 or -errno (a failed write or fsync). */
static int reap(struct io_uring *r, int n)
{
	struct io_uring_cqe *c;

	while (n-- > 0) {
		int rc = io_uring_wait_cqe(r, &c);

		if (rc < 0)
			return rc;
		rc = c->res;
		io_uring_cqe_seen(r, c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int workload(int fd, struct io_uring *r, const void *buf, long n)
{
	int inflight = 0, rc;

	for (long i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(r);

		io_uring_prep_write(sqe, fd, buf, BLOCK, (__u64)(i % 1024) * BLOCK);
		inflight++;
		if (inflight == DEPTH || (i + 1) % SYNC_EVERY == 0) {
			if ((rc = io_uring_submit(r)) < 0 || (rc = reap(r, inflight)) < 0)
				return rc;
			inflight = 0;
		}
		if ((i + 1) % SYNC_EVERY == 0) {
			/* the writes before it completed: the fdatasync covers them */
			io_uring_prep_fsync(io_uring_get_sqe(r), fd, IORING_FSYNC_DATASYNC);
			if ((rc = io_uring_submit_and_wait(r, 1)) < 0 || (rc = reap(r, 1)) < 0)
				return rc;
		}
	}
	if (inflight && ((rc = io_uring_submit(r)) < 0 || (rc = reap(r, inflight)) < 0))
		return rc;
	return 0;
}

/* ==========================================================================
 * 2. MAIN
 * ========================================================================== */

int main(int argc, char **argv)
{
	struct io_uring r;
	void *buf = NULL;
	int fd = -1, rc = 1, e;

	if (argc != 3 || atol(argv[2]) <= 0) {
		fprintf(stderr, "usage: uring-overhead FILE N\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644)) < 0) {
		fprintf(stderr, "uring-overhead: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if ((e = io_uring_queue_init(2 * DEPTH, &r, 0)) < 0) {
		fprintf(stderr, "uring-overhead: io_uring_queue_init: %s\n", strerror(-e));
		goto out;
	}
	if (posix_memalign(&buf, BLOCK, BLOCK) == 0) {
		memset(buf, 'x', BLOCK);
		if ((e = workload(fd, &r, buf, atol(argv[2]))) < 0)
			fprintf(stderr, "uring-overhead: %s: %s\n", argv[1], strerror(-e));
		else
			rc = 0;
	}
	io_uring_queue_exit(&r);
out:
	free(buf);
	close(fd);
	return rc;
}

/*
 * tests/integration/uring/uring_ops.c - io_uring through liburing under
 * torn's shim (issue 6): a program making each recorded operation, and the
 * check of its trace, event by event.
 *
 *   uring_ops ops DIR STATUS     make the operations below in DIR (the
 *                                recording root); write "sqpoll=0|1" to
 *                                STATUS (outside the root): was an SQPOLL
 *                                ring available
 *   uring_ops check TRACE SQPOLL the io_uring events of TRACE (submissions,
 *                                completions, unsupported notes) are
 *                                exactly those of `ops`, payloads included
 *   uring_ops commit DIR good|bad N   N records, each a write and an
 *                                fsync submitted in one batch, linked
 *                                (good) or not (bad: the classic mistake),
 *                                then a mark "rec I" once both completed
 *   uring_ops verify DIR         the checker: every record marked (in
 *                                $TORN_MARKS) is in DIR/log
 *
 * Exit 0 pass, 1 fail (what differs on stderr), 2 usage or setup error.
 * Sections: 1. the operations, 2. the expected events, 3. the check,
 * 4. commit and verify, 5. main.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torn/mark.h"
#include "torn/trace.h"

#define ANY_FD INT64_MIN     /* expected result: any descriptor (>= 0) */

static int fail(const char *what)
{
	fprintf(stderr, "uring_ops: %s\n", what);
	return 2;
}

/* ==========================================================================
 * 1. THE OPERATIONS
 * ========================================================================== */

static struct io_uring g_ring;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&g_ring);

	if (!sqe) {
		fprintf(stderr, "uring_ops: no free submission entry\n");
		exit(2);
	}
	return sqe;
}

/* After io_uring_prep_*, which clears the entry's flags. */
static void sqe_set(struct io_uring_sqe *sqe, uint64_t ud, unsigned flags)
{
	io_uring_sqe_set_data64(sqe, ud);
	sqe->flags |= flags;
}

/* io_uring_prep_X(sqe, ...) on a fresh entry, then its user_data and flags. */
#define PREP(ud, flags, fn, ...)                                        \
	do {                                                            \
		struct io_uring_sqe *sqe_ = sqe_get();                  \
		fn(sqe_, __VA_ARGS__);                                  \
		sqe_set(sqe_, ud, flags);                               \
	} while (0)

/* Results by user_data (1-based): what each completion must say.  Slot 16
 * is no user_data: it keeps the descriptor openat returned, for close. */
static int64_t g_res[16] = {
	100, 80, 0, 10, 0, 4096, 0, 0, ANY_FD, 0, 0, 0, -EBADF, 0, 0, -1,
};

/* Submit, wait for @n completions, reap them from the ring inline (no
 * call the shim sees: the shim must not consume them) and check each
 * result against g_res. */
static void run_batch(unsigned n)
{
	struct io_uring_cqe *cqe;
	int rc = io_uring_submit_and_wait(&g_ring, n);

	if (rc < 0) {
		fprintf(stderr, "uring_ops: submit: %s\n", strerror(-rc));
		exit(2);
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t ud;
		int64_t want;

		while (io_uring_peek_cqe(&g_ring, &cqe) != 0)
			if ((rc = io_uring_wait_cqe(&g_ring, &cqe)) < 0) {
				fprintf(stderr, "uring_ops: wait: %s\n", strerror(-rc));
				exit(2);
			}
		ud = cqe->user_data;
		want = ud >= 1 && ud <= 15 ? g_res[ud - 1] : 0;
		if (ud >= 1 && ud <= 15 && ud != 14 && ud != 15 &&
		    !(want == ANY_FD ? cqe->res >= 0 : cqe->res == want)) {
			fprintf(stderr, "uring_ops: user_data %" PRIu64 ": res %d, expected %" PRId64 "\n",
				ud, cqe->res, want);
			exit(1);
		}
		if (ud == 9)
			g_res[15] = cqe->res;
		io_uring_cqe_seen(&g_ring, cqe);
	}
}

static int do_ops(const char *dir, const char *status)
{
	char a[100], b[50], c[30], d[10], f[10], g[20], h[5];
	struct iovec iov[2] = { { b, sizeof(b) }, { c, sizeof(c) } }, reg;
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	struct io_uring r2;
	void *e = NULL;
	int fd, rofd, dfd, rc, sqpoll = 0;
	FILE *st;

	memset(a, 'a', sizeof(a)), memset(b, 'b', sizeof(b)), memset(c, 'c', sizeof(c));
	memset(d, 'd', sizeof(d)), memset(f, 'f', sizeof(f)), memset(g, 'g', sizeof(g));
	memset(h, 'h', sizeof(h));
	if (chdir(dir) < 0 || (fd = open("data", O_RDWR | O_CREAT, 0644)) < 0 ||
	    (rofd = open("ro", O_RDONLY | O_CREAT, 0644)) < 0 ||
	    (dfd = open(".", O_RDONLY | O_DIRECTORY)) < 0)
		return fail("cannot set up the directory");
	if ((rc = io_uring_queue_init(16, &g_ring, 0)) < 0) {
		fprintf(stderr, "uring_ops: io_uring_queue_init: %s\n", strerror(-rc));
		return rc == -ENOSYS || rc == -EPERM ? 77 : 2;
	}
	/* a plain write */
	PREP(1, 0, io_uring_prep_write, fd, a, sizeof(a), 0);
	run_batch(1);
	/* writev linked to an fdatasync */
	PREP(2, IOSQE_IO_LINK, io_uring_prep_writev, fd, iov, 2, 100);
	PREP(3, 0, io_uring_prep_fsync, fd, IORING_FSYNC_DATASYNC);
	run_batch(2);
	/* a registered file: a write, then a drained fsync */
	if (io_uring_register_files(&g_ring, &fd, 1) < 0)
		return fail("io_uring_register_files");
	PREP(4, IOSQE_FIXED_FILE, io_uring_prep_write, 0, d, sizeof(d), 180);
	PREP(5, IOSQE_FIXED_FILE | IOSQE_IO_DRAIN, io_uring_prep_fsync, 0, 0);
	run_batch(2);
	/* a registered buffer, hard-linked to a sync_file_range */
	if (posix_memalign(&e, 4096, 4096))
		return fail("out of memory");
	memset(e, 'e', 4096);
	reg = (struct iovec){ e, 4096 };
	if (io_uring_register_buffers(&g_ring, &reg, 1) < 0)
		return fail("io_uring_register_buffers");
	PREP(6, IOSQE_IO_HARDLINK, io_uring_prep_write_fixed, fd, e, 4096, 4096, 0);
	PREP(7, 0, io_uring_prep_sync_file_range, fd, 8192, 0, SYNC_FILE_RANGE_WRITE);
	run_batch(2);
	/* fallocate */
	PREP(8, 0, io_uring_prep_fallocate, fd, 0, 8192, 4096);
	run_batch(1);
	/* openat, then close of what it opened */
	PREP(9, 0, io_uring_prep_openat, dfd, "new", O_CREAT | O_WRONLY, 0644);
	run_batch(1);
	PREP(10, 0, io_uring_prep_close, (int)g_res[15]);
	run_batch(1);
	/* renameat linked to unlinkat */
	PREP(11, IOSQE_IO_LINK, io_uring_prep_renameat, dfd, "new", dfd, "renamed", 0);
	PREP(12, 0, io_uring_prep_unlinkat, dfd, "renamed", 0);
	run_batch(2);
	/* a failed write (read-only descriptor) */
	PREP(13, 0, io_uring_prep_write, rofd, f, sizeof(f), 0);
	run_batch(1);
	/* a nop (not recorded) and an operation torn does not model */
	do {
		struct io_uring_sqe *nop = sqe_get();

		io_uring_prep_nop(nop);
		sqe_set(nop, 14, 0);
	} while (0);
	PREP(15, 0, io_uring_prep_mkdirat, dfd, "sub", 0755);
	run_batch(2);
	/* io_uring_submit, then io_uring_wait_cqe_timeout */
	PREP(16, 0, io_uring_prep_write, fd, g, sizeof(g), 300);
	if (io_uring_submit(&g_ring) != 1 || io_uring_wait_cqe_timeout(&g_ring, &cqe, &ts) < 0 ||
	    cqe->user_data != 16 || cqe->res != (int)sizeof(g))
		return fail("write 16 did not complete as expected");
	io_uring_cqe_seen(&g_ring, cqe);
	io_uring_queue_exit(&g_ring);
	/* a ring polled by a kernel thread: reported, its entries not recorded */
	if (io_uring_queue_init(4, &r2, IORING_SETUP_SQPOLL) == 0) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r2);

		sqpoll = 1;
		io_uring_prep_write(sqe, fd, h, sizeof(h), 400);
		io_uring_submit_and_wait(&r2, 1);
		io_uring_queue_exit(&r2);
	}
	if (!(st = fopen(status, "w")) || fprintf(st, "sqpoll=%d\n", sqpoll) < 0 || fclose(st))
		return fail("cannot write the status file");
	free(e);
	return 0;
}

/* ==========================================================================
 * 2. THE EXPECTED EVENTS
 * ========================================================================== */

struct exp {
	uint16_t type;
	uint32_t op;            /* submissions: IORING_OP_* */
	const char *path;       /* the handle's file, or the event's path */
	int64_t off, len;
	uint64_t ud;
	uint32_t flags;         /* IOSQE_* */
	uint32_t mode;          /* op flags (fsync, sync_file_range, ...) */
	int64_t res;            /* completions */
	const char *payload;    /* writes: runs "<byte><count>," */
	const char *path2;      /* rename: the new name; unsupported: text part */
};

#define SUB(op, p, o, l, u, fl, m, pl) { TORN_EV_URING_SUBMIT, op, p, o, l, u, fl, m, 0, pl, NULL }
#define CQE(u, r) { TORN_EV_URING_CQE, 0, NULL, 0, 0, u, 0, 0, r, NULL, NULL }
#define PLAIN(type, p, o, l, p2) { type, 0, p, o, l, 0, 0, 0, 0, NULL, p2 }
#define UNS(text) { TORN_EV_UNSUPPORTED, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, text }

static const struct exp g_exp[] = {
	SUB(IORING_OP_WRITE, "data", 0, 100, 1, 0, 0, "a100"), CQE(1, 100),
	SUB(IORING_OP_WRITEV, "data", 100, 80, 2, IOSQE_IO_LINK, 0, "b50,c30"),
	SUB(IORING_OP_FSYNC, "data", 0, 0, 3, 0, IORING_FSYNC_DATASYNC, NULL),
	CQE(2, 80), CQE(3, 0),
	SUB(IORING_OP_WRITE, "data", 180, 10, 4, IOSQE_FIXED_FILE, 0, "d10"),
	SUB(IORING_OP_FSYNC, "data", 0, 0, 5, IOSQE_FIXED_FILE | IOSQE_IO_DRAIN, 0, NULL),
	CQE(4, 10), CQE(5, 0),
	SUB(IORING_OP_WRITE_FIXED, "data", 4096, 4096, 6, IOSQE_IO_HARDLINK, 0, "e4096"),
	SUB(IORING_OP_SYNC_FILE_RANGE, "data", 0, 8192, 7, 0, SYNC_FILE_RANGE_WRITE, NULL),
	CQE(6, 4096), CQE(7, 0),
	SUB(IORING_OP_FALLOCATE, "data", 8192, 4096, 8, 0, 0, NULL), CQE(8, 0),
	/* fallocate, openat, close, renameat, unlinkat: also recorded at their
	 * completion as the plain event of the call */
	PLAIN(TORN_EV_FALLOCATE, "data", 8192, 4096, NULL),
	{ TORN_EV_URING_SUBMIT, IORING_OP_OPENAT, "new", 0, 0644, 9, 0, O_CREAT | O_WRONLY, 0,
	  NULL, NULL },
	CQE(9, ANY_FD), PLAIN(TORN_EV_OPEN, "new", 0, 0, NULL),
	SUB(IORING_OP_CLOSE, "new", 0, 0, 10, 0, 0, NULL), CQE(10, 0),
	PLAIN(TORN_EV_CLOSE, "new", 0, 0, NULL),
	{ TORN_EV_URING_SUBMIT, IORING_OP_RENAMEAT, "new", 0, 0, 11, IOSQE_IO_LINK, 0, 0, NULL,
	  "renamed" },
	SUB(IORING_OP_UNLINKAT, "renamed", 0, 0, 12, 0, 0, NULL),
	CQE(11, 0), PLAIN(TORN_EV_RENAME, "new", 0, 0, "renamed"),
	CQE(12, 0), PLAIN(TORN_EV_UNLINK, "renamed", 0, 0, NULL),
	SUB(IORING_OP_WRITE, "ro", 0, 10, 13, 0, 0, "f10"), CQE(13, -EBADF),
	UNS("io_uring opcode 37 is not modelled"),
	SUB(IORING_OP_WRITE, "data", 300, 20, 16, 0, 0, "g20"), CQE(16, 20),
	UNS("IORING_SETUP_SQPOLL"),
};
#define NEXP (sizeof(g_exp) / sizeof(g_exp[0]))

/* ==========================================================================
 * 3. THE CHECK
 * ========================================================================== */

struct hp {
	uint64_t handle;
	char path[256];
};

static int payload_ok(const struct torn_trace *t, const struct torn_event *ev, const char *spec)
{
	static uint8_t buf[8192];
	size_t at = 0;

	if ((size_t)ev->len > sizeof(buf) || trace_content(t, ev, 0, buf, (size_t)ev->len) < 0)
		return 0;
	while (*spec) {
		char byte = *spec++;
		long n = strtol(spec, (char **)&spec, 10);

		for (long i = 0; i < n; i++, at++)
			if (at >= (size_t)ev->len || buf[at] != (uint8_t)byte)
				return 0;
		if (*spec == ',')
			spec++;
	}
	return at == (size_t)ev->len;
}

static int do_check(const char *path, int sqpoll)
{
	struct torn_trace *t = NULL;
	struct trace_error err;
	struct torn_event ev;
	struct hp hs[64];
	size_t nh = 0, k = 0, nexp = NEXP - (sqpoll ? 0 : 1);
	uint64_t pos = 0;
	int bad = 0;

	if (trace_open(path, &t, &err) < 0) {
		fprintf(stderr, "uring_ops: %s\n", err.msg);
		return 2;
	}
	while (trace_next(t, &pos, &ev) == 1) {
		const struct exp *x;
		char got[600], p1[256] = "", p2[256] = "";

		if (ev.type == TORN_EV_OPEN && nh < 64) {
			hs[nh].handle = ev.handle;
			snprintf(hs[nh++].path, sizeof(hs[0].path), "%.*s", (int)ev.path_len, ev.path);
		}
		/* io_uring events, and the plain events of namespace calls after
		 * the first (libc's opens of the set-up come before) */
		if (ev.type != TORN_EV_URING_SUBMIT && ev.type != TORN_EV_URING_CQE &&
		    ev.type != TORN_EV_UNSUPPORTED &&
		    !(k > 0 && (ev.type == TORN_EV_OPEN || ev.type == TORN_EV_CLOSE ||
				ev.type == TORN_EV_RENAME || ev.type == TORN_EV_UNLINK ||
				ev.type == TORN_EV_RMDIR || ev.type == TORN_EV_FALLOCATE)))
			continue;
		if (ev.handle)
			for (size_t i = nh; i-- > 0;)
				if (hs[i].handle == ev.handle) {
					snprintf(p1, sizeof(p1), "%s", hs[i].path);
					break;
				}
		if (ev.path_len)
			snprintf(p1, sizeof(p1), "%.*s", (int)ev.path_len, ev.path);
		snprintf(p2, sizeof(p2), "%.*s", (int)(ev.type == TORN_EV_UNSUPPORTED ? ev.text_len :
						       ev.path2_len),
			 ev.type == TORN_EV_UNSUPPORTED ? ev.text : ev.path2);
		snprintf(got, sizeof(got),
			 "%s op=%u path=%s off=%" PRId64 " len=%" PRId64 " ud=%" PRIu64
			 " flags=%#x mode=%#x res=%" PRId64 " path2/text=%s",
			 trace_type_name(ev.type), ev.aux, p1, ev.off, ev.len, ev.aux_seq, ev.oflags,
			 ev.mode, ev.result, p2);
		if (k >= nexp) {
			fprintf(stderr, "event %" PRIu64 ": unexpected: %s\n", ev.seq, got);
			bad = 1;
			continue;
		}
		x = &g_exp[k++];
		int ok = ev.type == x->type;

		if (ok && x->type == TORN_EV_UNSUPPORTED)
			ok = strstr(p2, x->path2) != NULL;
		else if (ok && x->type == TORN_EV_URING_CQE)
			ok = ev.aux_seq == x->ud &&
			     (x->res == ANY_FD ? ev.result >= 0 : ev.result == x->res);
		else if (ok && x->type != TORN_EV_URING_SUBMIT)
			ok = !strcmp(p1, x->path) && (!x->len || (ev.off == x->off && ev.len == x->len)) &&
			     (!x->path2 || !strcmp(p2, x->path2)) && ev.result >= 0;
		else if (ok)
			ok = ev.aux == x->op && !strcmp(p1, x->path) && ev.off == x->off &&
			     ev.len == x->len && ev.aux_seq == x->ud && ev.oflags == x->flags &&
			     ev.mode == x->mode && (!x->path2 || !strcmp(p2, x->path2)) &&
			     (x->payload ? payload_ok(t, &ev, x->payload) : ev.nchunks == 0);
		if (!ok) {
			fprintf(stderr, "event %" PRIu64 " (expected #%zu): %s\n", ev.seq, k, got);
			bad = 1;
		}
	}
	if (k < nexp) {
		fprintf(stderr, "uring_ops: %zu io_uring events, expected %zu\n", k, nexp);
		bad = 1;
	}
	trace_close(t);
	if (!bad)
		printf("ok: %zu io_uring events as expected\n", k);
	return bad;
}

/* ==========================================================================
 * 4. COMMIT AND VERIFY
 * ========================================================================== */

#define REC 4096

/* linked: the fsync is linked after the write.  spin: completions are
 * reaped by spinning on io_uring_peek_cqe, which reads the ring in the
 * program (liburing's inline functions) without a call the shim sees once
 * they are there: the mark is then the first call after them. */
static int do_commit(const char *dir, int linked, int spin, int n)
{
	static char buf[REC] __attribute__((aligned(4096)));
	struct io_uring_cqe *cqe;
	int fd, dfd, rc;

	if (chdir(dir) < 0 || (fd = open("log", O_RDWR | O_CREAT, 0644)) < 0 ||
	    (dfd = open(".", O_RDONLY | O_DIRECTORY)) < 0)
		return fail("cannot create log");
	/* the log's name is durable before any record (not what is tested) */
	if (fsync(fd) < 0 || fsync(dfd) < 0)
		return fail("cannot fsync log");
	if ((rc = io_uring_queue_init(8, &g_ring, 0)) < 0)
		return rc == -ENOSYS || rc == -EPERM ? 77 : fail("io_uring_queue_init");
	for (int i = 0; i < n; i++) {
		memset(buf, 'A' + i % 26, sizeof(buf));
		PREP(1, linked ? IOSQE_IO_LINK : 0, io_uring_prep_write, fd, buf, REC,
				    (uint64_t)i * REC);
		PREP(2, 0, io_uring_prep_fsync, fd, IORING_FSYNC_DATASYNC);
		if ((spin ? io_uring_submit(&g_ring) : io_uring_submit_and_wait(&g_ring, 2)) < 0)
			return fail("submit");
		for (int j = 0; j < 2; j++) {
			if (spin)
				while (io_uring_peek_cqe(&g_ring, &cqe) == -EAGAIN)
					;
			else if (io_uring_wait_cqe(&g_ring, &cqe) < 0)
				return fail("wait");
			if (cqe->res < 0)
				return fail("a write or fsync failed");
			io_uring_cqe_seen(&g_ring, cqe);
		}
		torn_mark("rec %d", i);   /* the record is promised durable */
	}
	io_uring_queue_exit(&g_ring);
	return 0;
}

static int do_verify(const char *dir)
{
	static char buf[REC];
	const char *marks = getenv("TORN_MARKS");
	char line[128], path[4096];
	FILE *m;
	int fd = -1, i, bad = 0;

	if (!marks || !(m = fopen(marks, "r")))
		return fail("verify: $TORN_MARKS is not readable");
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_RDONLY);
	while (fgets(line, sizeof(line), m)) {
		if (sscanf(line, "rec %d", &i) != 1)
			continue;
		if (fd < 0 || pread(fd, buf, REC, (off_t)i * REC) != REC) {
			fprintf(stderr, "record %d promised, missing\n", i);
			bad = 1;
			continue;
		}
		for (int j = 0; j < REC; j++)
			if (buf[j] != 'A' + i % 26) {
				fprintf(stderr, "record %d promised, byte %d differs\n", i, j);
				bad = 1;
				break;
			}
	}
	fclose(m);
	if (fd >= 0)
		close(fd);
	return bad;
}

/* ==========================================================================
 * 5. MAIN
 * ========================================================================== */

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "ops"))
		return do_ops(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return do_check(argv[2], !strcmp(argv[3], "sqpoll=1"));
	if (argc == 5 && !strcmp(argv[1], "commit"))
		return do_commit(argv[2], strcmp(argv[3], "bad") != 0, !strcmp(argv[3], "spin"),
				 atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2]);
	fprintf(stderr, "usage: uring_ops ops DIR STATUS | check TRACE sqpoll=0|1 |\n"
			"       commit DIR good|bad|spin N | verify DIR\n");
	return 2;
}

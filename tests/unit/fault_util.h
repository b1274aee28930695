/*
 * tests/unit/fault_util.h - faults without torn's shim, for the engines'
 * unit tests (test_eio.c, test_wal.c, test_bitcask.c, test_btree.c,
 * test_lsm.c): a set of rules behind eio_set_fault_hook(), and the fault
 * cases every engine must pass, written once against the engine interface.
 *
 *   1. rules: "the Nth write (or fsync, fdatasync) of a file whose path
 *      contains MATCH fails with -errno / writes only K bytes"
 *   2. small engine helpers (put, get, file size)
 *   3. the cases (each engine's file calls them from its cmocka tests):
 *      fu_case_fsync_fails    sync fails, later writes refused, get serves
 *                             acknowledged data, reopen recovers
 *      fu_case_write_fails    ENOSPC on the commit's write: nothing
 *                             acknowledged, state unchanged, then (log
 *                             engines) the next sync writes it, or (btree)
 *                             the handle refuses writes until reopened
 *      fu_case_short_tail     a short write whose rest fails: the prefix is
 *                             on disk, recovery cuts (or ignores) it
 *      fu_case_eintr          EINTR on writes is retried: acknowledged
 *      fu_case_bug_fsync_retry / fu_case_bug_short_write: the seeded bugs
 *                             acknowledge what the correct engine refuses
 */
#ifndef TORN_TESTS_UNIT_FAULT_UTIL_H
#define TORN_TESTS_UNIT_FAULT_UTIL_H

#include <errno.h>
#include <limits.h>
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

#include "engines/engine.h"

/* ---- 1. rules ------------------------------------------------------------ */

struct fu_rule {
	enum eio_call call;
	const char *match; /* substring of the file's path; NULL: any file */
	unsigned nth;      /* 1-based, among the calls this rule matches */
	int plus;          /* the nth and every later one */
	ssize_t result;    /* -errno, or a byte count > 0: a short write */
	unsigned seen, fired;
	char path[PATH_MAX]; /* the file it last fired on */
};

#define FU_MAX 4
static struct fu_rule fu_rules[FU_MAX];
static int fu_nrules;
static unsigned fu_calls[3]; /* every call seen, per enum eio_call */

static inline int fu_fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* every rule counts the calls it matches; the first one due decides */
static inline ssize_t fu_hook(void *arg, enum eio_call call, int fd, size_t len)
{
	struct fu_rule *due = NULL;
	char path[PATH_MAX];

	(void)arg;
	fu_calls[call]++;
	if (fu_fd_path(fd, path, sizeof(path)) < 0)
		path[0] = 0;
	for (int i = 0; i < fu_nrules; i++) {
		struct fu_rule *r = &fu_rules[i];

		if (r->call != call || (r->match && !strstr(path, r->match)))
			continue;
		r->seen++;
		if (!due && (r->seen == r->nth || (r->plus && r->seen > r->nth)))
			due = r;
	}
	if (!due)
		return 0;
	due->fired++;
	snprintf(due->path, sizeof(due->path), "%s", path);
	if (due->result > 0 && (size_t)due->result >= len)
		return 0; /* cannot be short: the call goes through */
	return due->result;
}

/* arm a rule (the hook is installed with the first one); returns it */
static inline struct fu_rule *fu_arm(enum eio_call call, const char *match, unsigned nth,
				     int plus, ssize_t result)
{
	struct fu_rule *r;

	assert_true(fu_nrules < FU_MAX);
	r = &fu_rules[fu_nrules++];
	memset(r, 0, sizeof(*r));
	r->call = call;
	r->match = match;
	r->nth = nth;
	r->plus = plus;
	r->result = result;
	eio_set_fault_hook(fu_hook, NULL);
	return r;
}

/* remove every rule and the hook */
static inline void fu_reset(void)
{
	eio_set_fault_hook(NULL, NULL);
	memset(fu_rules, 0, sizeof(fu_rules));
	memset(fu_calls, 0, sizeof(fu_calls));
	fu_nrules = 0;
}

/* ---- 2. engine helpers ---------------------------------------------------- */

struct fu_engine {
	const struct eng_ops *ops;
	const char *dir;
	enum eio_mode mode;
	const char *match;  /* substring naming the file the commit writes */
	int write_fatal;    /* a failed write is fatal for the handle (btree) */
	int log_tail;       /* a short write's prefix sits at the file's end (logs);
			     * 2: inside preallocated space (wal): the file keeps
			     * its size, the log reads back without the prefix */
};

static inline void *fu_open(const struct fu_engine *fe, int bug)
{
	struct eng_opts o = { fe->dir, fe->mode, bug };
	void *e = NULL;
	int rc = fe->ops->open(&e, &o);

	/* a kernel or file system without O_DIRECT or io_uring */
	if (fe->mode != EIO_BUFFERED && (rc == -EINVAL || rc == -ENOSYS || rc == -EPERM))
		skip();
	assert_int_equal(rc, 0);
	return e;
}

static inline int fu_bug(const struct fu_engine *fe, const char *name)
{
	int b = eng_bug_find(fe->ops, name);

	assert_true(b >= 0);
	return b;
}

static inline int fu_put(const struct fu_engine *fe, void *e, const char *k, const char *v)
{
	return eng_put(fe->ops, e, k, strlen(k), v, strlen(v));
}

/* 0 and the value in out (NUL-terminated), or the engine's error */
static inline int fu_get(const struct fu_engine *fe, void *e, const char *k, char *out,
			 size_t cap)
{
	void *v;
	size_t n;
	int rc = fe->ops->get(e, k, strlen(k), &v, &n);

	if (rc == 0) {
		assert_true(n < cap);
		memcpy(out, v, n);
		out[n] = 0;
		free(v);
	}
	return rc;
}

static inline void fu_expect(const struct fu_engine *fe, void *e, const char *k, const char *v)
{
	char buf[ENG_MAX_VAL + 1];

	if (!v) {
		assert_int_equal(fu_get(fe, e, k, buf, sizeof(buf)), -ENOENT);
		return;
	}
	assert_int_equal(fu_get(fe, e, k, buf, sizeof(buf)), 0);
	assert_string_equal(buf, v);
}

static inline off_t fu_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* a value long enough that its record is far longer than a short prefix */
static inline const char *fu_long_value(char c)
{
	static char v[2][301];
	char *p = v[c & 1];

	memset(p, c, 300);
	p[300] = 0;
	return p;
}

/* ---- 3. the cases --------------------------------------------------------- */

/*
 * The commit's fdatasync fails with EIO: the sync returns it, nothing it
 * covered is acknowledged, the handle refuses every later write with EIO
 * (the call is not even tried: no write reaches the layer), get() still
 * serves what was acknowledged; reopening recovers the acknowledged data
 * and takes writes again.
 */
static inline void fu_case_fsync_fails(const struct fu_engine *fe)
{
	void *e = fu_open(fe, -1);
	struct fu_rule *r;
	unsigned writes;

	assert_int_equal(fu_put(fe, e, "a", "acknowledged"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	assert_int_equal(fu_put(fe, e, "b", "never acknowledged"), 0);
	r = fu_arm(EIO_CALL_FDATASYNC, fe->match, 1, 0, -EIO);
	assert_int_equal(fe->ops->sync(e), -EIO);
	assert_int_equal(r->fired, 1);
	/* fatal for the handle: refused, and no I/O tried */
	writes = fu_calls[EIO_CALL_WRITE];
	assert_int_equal(fu_put(fe, e, "c", "refused"), -EIO);
	assert_int_equal(fe->ops->sync(e), -EIO);
	assert_int_equal(fe->ops->sync(e), -EIO);
	assert_int_equal(fu_calls[EIO_CALL_WRITE], writes);
	assert_int_equal(r->fired, 1); /* never retried */
	/* still readable */
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "c", NULL);
	fe->ops->close(e);
	fu_reset();
	/* reopen: recovery from what is durable; writable again */
	e = fu_open(fe, -1);
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "c", NULL);
	assert_int_equal(fu_put(fe, e, "d", "after reopen"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	fe->ops->close(e);
	e = fu_open(fe, -1);
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "d", "after reopen");
	fe->ops->close(e);
}

/*
 * The commit's write fails with ENOSPC: nothing is acknowledged and nothing
 * reached the file.  Log engines: the handle is unchanged, so once space
 * is back the next sync writes the same records (and they survive a
 * reopen).  btree: fatal for the handle; reopen shows the last commit.
 */
static inline void fu_case_write_fails(const struct fu_engine *fe)
{
	void *e = fu_open(fe, -1);
	struct fu_rule *r;

	assert_int_equal(fu_put(fe, e, "a", "acknowledged"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	assert_int_equal(fu_put(fe, e, "b", "pending"), 0);
	r = fu_arm(EIO_CALL_WRITE, fe->match, 1, 0, -ENOSPC);
	assert_int_equal(fe->ops->sync(e), -ENOSPC);
	assert_int_equal(r->fired, 1);
	fu_expect(fe, e, "a", "acknowledged");
	fu_reset();
	if (fe->write_fatal) {
		assert_int_equal(fu_put(fe, e, "c", "refused"), -EIO);
		assert_int_equal(fe->ops->sync(e), -EIO);
		fe->ops->close(e);
		e = fu_open(fe, -1);
		fu_expect(fe, e, "a", "acknowledged");
		fu_expect(fe, e, "b", NULL); /* its commit never happened */
		fe->ops->close(e);
		return;
	}
	/* the failed sync changed nothing: b is still pending, and the next
	 * sync (space freed) makes it durable */
	fu_expect(fe, e, "b", "pending");
	assert_int_equal(fu_put(fe, e, "c", "after the fault"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	fe->ops->close(e);
	e = fu_open(fe, -1);
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "b", "pending");
	fu_expect(fe, e, "c", "after the fault");
	fe->ops->close(e);
}

/*
 * A short write (10 bytes) whose continuation fails with ENOSPC: the sync
 * fails, the 10-byte prefix is on disk (a log's tail); the engine is
 * closed there.  Reopening cuts the tail (log engines: the file is back to
 * its size before the write) or ignores it (btree: an unreferenced page);
 * the acknowledged data is intact and appends go on behind the cut.
 */
static inline void fu_case_short_tail(const struct fu_engine *fe)
{
	void *e = fu_open(fe, -1);
	struct fu_rule *r1;
	char path[PATH_MAX], msg[256];
	off_t before = 0;

	assert_int_equal(fu_put(fe, e, "a", "acknowledged"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	assert_int_equal(fu_put(fe, e, "b", fu_long_value('b')), 0);
	r1 = fu_arm(EIO_CALL_WRITE, fe->match, 1, 0, 10);
	fu_arm(EIO_CALL_WRITE, fe->match, 2, 0, -ENOSPC);
	/* the layer continued the short write; the rest failed */
	assert_int_equal(fe->ops->sync(e), -ENOSPC);
	assert_int_equal(r1->fired, 1);
	assert_int_equal(fu_rules[1].fired, 1);
	snprintf(path, sizeof(path), "%s", r1->path);
	fu_reset();
	fu_expect(fe, e, "a", "acknowledged");
	fe->ops->close(e);
	if (fe->log_tail == 1) {
		/* the prefix is the file's tail: remember where the log ended */
		before = fu_size(path) - 10;
		assert_true(before > 0);
	}
	e = fu_open(fe, -1);
	if (fe->log_tail == 1)
		assert_int_equal(fu_size(path), before); /* the tail is cut */
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "b", NULL);
	assert_int_equal(fu_put(fe, e, "c", "behind the cut"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	fe->ops->close(e);
	e = fu_open(fe, -1);
	fu_expect(fe, e, "a", "acknowledged");
	fu_expect(fe, e, "b", NULL);
	fu_expect(fe, e, "c", "behind the cut");
	assert_int_equal(fe->ops->verify(e, msg, sizeof(msg)), 0);
	fe->ops->close(e);
}

/* EINTR on writes (three in a row) and a short write that the layer
 * finishes: retried and continued, the commit is acknowledged and whole */
static inline void fu_case_eintr(const struct fu_engine *fe)
{
	void *e = fu_open(fe, -1);
	struct fu_rule *r, *s;

	assert_int_equal(fu_put(fe, e, "a", fu_long_value('a')), 0);
	r = fu_arm(EIO_CALL_WRITE, fe->match, 1, 0, -EINTR);
	fu_arm(EIO_CALL_WRITE, fe->match, 2, 0, -EINTR);
	fu_arm(EIO_CALL_WRITE, fe->match, 3, 0, -EINTR);
	s = fu_arm(EIO_CALL_WRITE, fe->match, 4, 0, 10);
	assert_int_equal(fe->ops->sync(e), 0);
	assert_int_equal(r->fired, 1);
	assert_int_equal(s->fired, 1);
	fu_reset();
	fe->ops->close(e);
	e = fu_open(fe, -1);
	fu_expect(fe, e, "a", fu_long_value('a'));
	fe->ops->close(e);
}

/* the seeded bug fsync-retry acknowledges a commit whose fdatasync failed
 * (the retry succeeded); the correct engine returned EIO (fsync case) */
static inline void fu_case_bug_fsync_retry(const struct fu_engine *fe)
{
	void *e = fu_open(fe, fu_bug(fe, "fsync-retry"));
	struct fu_rule *r;

	assert_int_equal(fu_put(fe, e, "a", "value"), 0);
	r = fu_arm(EIO_CALL_FDATASYNC, fe->match, 1, 0, -EIO);
	assert_int_equal(fe->ops->sync(e), 0); /* the mistake */
	assert_int_equal(r->fired, 1);
	assert_true(r->seen >= 2); /* the failed fdatasync was called again */
	fu_reset();
	fe->ops->close(e);
}

/*
 * The seeded bug short-write takes a 10-byte write for the whole commit:
 * the sync acknowledges b, but on disk its record is cut short, so after
 * a reopen it is gone (log engines) or the database is damaged (btree:
 * the meta reaches a short page): an acknowledged write lost either way.
 */
static inline void fu_case_bug_short_write(const struct fu_engine *fe)
{
	int bug = fu_bug(fe, "short-write");
	void *e = fu_open(fe, bug);
	struct fu_rule *r;
	char buf[ENG_MAX_VAL + 1];
	int rc;

	assert_int_equal(fu_put(fe, e, "a", "acknowledged"), 0);
	assert_int_equal(fe->ops->sync(e), 0);
	assert_int_equal(fu_put(fe, e, "b", fu_long_value('b')), 0);
	r = fu_arm(EIO_CALL_WRITE, fe->match, 1, 0, 10);
	assert_int_equal(fe->ops->sync(e), 0); /* the mistake: acknowledged */
	assert_int_equal(r->fired, 1);
	fu_reset();
	fe->ops->close(e);
	e = NULL;
	rc = fe->ops->open(&e, &(struct eng_opts){ fe->dir, fe->mode, bug });
	if (rc == 0) {
		assert_int_not_equal(fu_get(fe, e, "b", buf, sizeof(buf)), 0);
		fe->ops->close(e);
	} else {
		assert_int_equal(rc, -ENG_E_CORRUPT);
	}
}

/* ---- One engine's fault cases as cmocka tests ----
 * In a test file with `dir`, setup() and teardown():
 *	FU_ENGINE_TESTS(&wal_engine, ".log", 0, 1)
 * defines test_fault_* and test_bug_* (the cases above in the modes they
 * apply to; in uring mode a failed write completes with the sync, fatal
 * like it) and fault_teardown; FU_ENGINE_TEST_LIST(setup) lists them in
 * main's table. */
#define FU_CASE(name, mode_, fn)                                               \
	static void name(void **state)                                         \
	{                                                                      \
		struct fu_engine fe = fault_engine(mode_);                     \
		(void)state;                                                   \
		fn(&fe);                                                       \
	}
#define FU_ENGINE_TESTS(ops_, match_, write_fatal_, log_tail_)                 \
	static struct fu_engine fault_engine(enum eio_mode mode)               \
	{                                                                      \
		return (struct fu_engine){ ops_, dir, mode, match_,            \
					   (write_fatal_) || mode == EIO_URING, \
					   log_tail_ };                        \
	}                                                                      \
	FU_CASE(test_fault_fsync, EIO_BUFFERED, fu_case_fsync_fails)           \
	FU_CASE(test_fault_fsync_uring, EIO_URING, fu_case_fsync_fails)        \
	FU_CASE(test_fault_fsync_direct, EIO_DIRECT, fu_case_fsync_fails)      \
	FU_CASE(test_fault_write, EIO_BUFFERED, fu_case_write_fails)           \
	FU_CASE(test_fault_write_direct, EIO_DIRECT, fu_case_write_fails)      \
	FU_CASE(test_fault_write_uring, EIO_URING, fu_case_write_fails)        \
	FU_CASE(test_fault_short_tail, EIO_BUFFERED, fu_case_short_tail)       \
	FU_CASE(test_fault_eintr, EIO_BUFFERED, fu_case_eintr)                 \
	FU_CASE(test_bug_fsync_retry, EIO_BUFFERED, fu_case_bug_fsync_retry)   \
	FU_CASE(test_bug_short_write, EIO_BUFFERED, fu_case_bug_short_write)   \
	static int fault_teardown(void **state)                                \
	{                                                                      \
		fu_reset(); /* a failed assertion leaves rules armed */        \
		return teardown(state);                                        \
	}
#define FU_ENGINE_TEST_LIST(setup_)                                            \
	cmocka_unit_test_setup_teardown(test_fault_fsync, setup_, fault_teardown),        \
	cmocka_unit_test_setup_teardown(test_fault_fsync_uring, setup_, fault_teardown),  \
	cmocka_unit_test_setup_teardown(test_fault_fsync_direct, setup_, fault_teardown), \
	cmocka_unit_test_setup_teardown(test_fault_write, setup_, fault_teardown),        \
	cmocka_unit_test_setup_teardown(test_fault_write_direct, setup_, fault_teardown), \
	cmocka_unit_test_setup_teardown(test_fault_write_uring, setup_, fault_teardown),  \
	cmocka_unit_test_setup_teardown(test_fault_short_tail, setup_, fault_teardown),   \
	cmocka_unit_test_setup_teardown(test_fault_eintr, setup_, fault_teardown),        \
	cmocka_unit_test_setup_teardown(test_bug_fsync_retry, setup_, fault_teardown),    \
	cmocka_unit_test_setup_teardown(test_bug_short_write, setup_, fault_teardown)

#endif /* TORN_TESTS_UNIT_FAULT_UTIL_H */

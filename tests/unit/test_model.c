/*
 * tests/unit/test_model.c - the persistence models (recovery/crash_model.c,
 * crash_state.c): for each rule, a hand-built trace and the EXACT set of
 * states the rule allows, read back from what crash_state_write() produced.
 *
 * Sections:
 *   1. Helpers
 *   2. Buffered data: units, fsync coverage, failed fsync, O_DSYNC,
 *      sync_file_range, sync()
 *   3. Sizes: extending writes, truncate, fallocate
 *   4. Namespace: create, rename, unlink, link, mkdir, symlink, both parents
 *   5. Direct I/O and unit sizes
 *   6. io_uring: in flight, completions, linked and drained fsyncs
 *   7. Crash points, marks, warnings
 */
#include <linux/io_uring.h>

#include "tests/unit/crash_util.h"

/* ==========================================================================
 * 1. Helpers
 * ========================================================================== */

/* Space with strategy/points/tear and sector/atomic/model (0/NULL: default). */
static struct crash_space *sp(struct torn_trace *t, const char *strat, const char *pts,
			      const char *tear, unsigned sector, unsigned atomic, const char *model)
{
	struct crash_opts o;
	char err[256];

	ct_opts(&o, strat, pts, tear);
	if (sector)
		o.sector = sector;
	o.atomic = atomic;
	if (model && crash_opts_parse_model(&o, model, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return ct_space(t, &o);
}

/* Exhaustive at the end of the trace. */
static void at_end(struct torn_trace *t, struct ct_coll *c)
{
	struct crash_space *s = sp(t, "exhaustive", ct_endpts, NULL, 0, 0, NULL);

	assert_int_equal(ct_collect(s, c), 0);
	crash_space_free(s);
}

/* ==========================================================================
 * 2. Buffered data
 * ========================================================================== */

/* Three pending sectors of one write: reorder:1 keeps all or drops one. */
static void test_three_sectors_reorder1(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "ooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "ABC", 0);
	t = ct_finish();

	s = sp(t, "reorder:1", ct_endpts, NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "f=1536:ABC", "f=1536:oBC", "f=1536:AoC", "f=1536:ABo");
	assert_int_equal(crash_space_count(s), 4);
	ct_coll_free(&c);
	crash_space_free(s);

	at_end(t, &c);
	assert_int_equal(c.n, 8);
	CT_SET(&c, "f=1536:ABC", "f=1536:oBC", "f=1536:AoC", "f=1536:ABo",
	       "f=1536:ooC", "f=1536:oBo", "f=1536:Aoo", "f=1536:ooo");
	ct_coll_free(&c);
	trace_close(t);
}

/* A later write to a sector wins only if it persisted. */
static void test_overwrite_same_sector(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(1, 0, "B", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "f=512:o", "f=512:A", "f=512:B");
	ct_coll_free(&c);
	trace_close(t);
}

/* fsync covers the writes issued before it started, not the concurrent ones. */
static void test_fsync_covers_started_before(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;
	struct torn_event ev;
	uint64_t w2;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	w2 = ct_write(1, 512, "B", 0);    /* another thread, while fsync runs */
	ev = tb_ev(TORN_EV_FSYNC);
	ev.handle = 1;
	ev.aux = TORN_SYNC_FSYNC;
	ev.aux_seq = w2;                  /* started just before B was written */
	tb_event(&ev);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=1024:AB", "f=1024:Ao");
	ct_coll_free(&c);
	trace_close(t);

	/* The same fsync started after B: covers both. */
	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(1, 512, "B", 0);
	tb_fdatasync(1);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:AB");
	ct_coll_free(&c);
	trace_close(t);
}

/* An fsync of another file does nothing for this one. */
static void test_fsync_other_file(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "o");
	ct_init_file("g", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	tb_open_file(2, "g", 0);
	ct_write(1, 0, "A", 0);
	ct_write(2, 0, "B", 0);
	tb_fsync(2);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=512:A g=512:B", "f=512:o g=512:B");
	ct_coll_free(&c);
	trace_close(t);
}

/* A failed fsync drops the pending pages for good: the next fsync succeeds
 * without them. */
static void test_failed_fsync_drops(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t f1;
	char pts[64];

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	tb_next_result(-EIO);
	f1 = tb_fsync(1);
	ct_write(1, 512, "B", 0);
	tb_fsync(1);
	t = ct_finish();

	/* Before the failed fsync: A may or may not be there. */
	snprintf(pts, sizeof(pts), "%llu-%llu", (unsigned long long)f1, (unsigned long long)f1);
	s = sp(t, "exhaustive", pts, NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=1024:Ao", "f=1024:oo");
	ct_coll_free(&c);
	crash_space_free(s);

	/* Right after it: A is gone whatever happens. */
	snprintf(pts, sizeof(pts), "%llu-%llu", (unsigned long long)f1 + 1, (unsigned long long)f1 + 1);
	s = sp(t, "exhaustive", pts, NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:oo");
	ct_coll_free(&c);
	crash_space_free(s);

	/* At the end the second fsync made B durable, never A. */
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:oB");
	ct_coll_free(&c);
	trace_close(t);
}

/* O_DIRECT data is in no page cache: a failed flush leaves it pending, a
 * later successful one makes it durable. */
static void test_failed_fsync_direct(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t f1;
	char pts[64];

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file_ex(1, "f", 0, O_RDWR | O_DIRECT, 0100644);
	ct_write(1, 0, "A", TORN_F_DIRECT);
	tb_next_result(-EIO);
	f1 = tb_fsync(1);
	tb_fsync(1);
	t = ct_finish();
	snprintf(pts, sizeof(pts), "%llu-%llu", (unsigned long long)f1 + 1, (unsigned long long)f1 + 1);
	s = sp(t, "exhaustive", pts, NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=512:o", "f=512:A");
	ct_coll_free(&c);
	crash_space_free(s);
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=512:A");
	ct_coll_free(&c);
	trace_close(t);
}

/* A fault event recorded while the fsync ran marks it failed too. */
static void test_fault_event_fails_fsync(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;
	struct torn_event ev;
	uint64_t fs;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	fs = tb_fault("posix/io/sync/fsync", -EIO);
	ev = tb_ev(TORN_EV_FSYNC);
	ev.handle = 1;
	ev.aux = TORN_SYNC_FSYNC;
	ev.aux_seq = fs;
	tb_event(&ev);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=512:o");
	ct_coll_free(&c);
	trace_close(t);
}

/* A write that failed (an injected ENOSPC: its fault event, then the write
 * with result -ENOSPC and no content) wrote nothing, in any state. */
static void test_failed_write_nothing(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	tb_fault("posix/io/rw/pwrite", -ENOSPC);
	tb_next_result(-ENOSPC);
	tb_write(1, 512, NULL, 0, 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=1024:Ao", "f=1024:oo");
	ct_coll_free(&c);
	trace_close(t);
}

/* Acknowledged after a failed fsync: fail, retry, mark -> one finding at
 * the first crash point after the mark; none without the retry, without a
 * mark after it, or when the dropped bytes were written again first. */
static void ackloss_trace(int rewrite, int retry, int mark, uint64_t seqs[4])
{
	ct_begin();
	ct_init_file("f", "ooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	seqs[0] = ct_write(1, 0, "AB", 0);
	tb_next_result(-EIO);
	seqs[1] = tb_fsync(1);
	if (rewrite)
		ct_write(1, 0, "AB", 0);
	ct_write(1, 1024, "C", 0);
	seqs[2] = retry ? tb_fsync(1) : 0;
	seqs[3] = mark ? tb_mark("ack 1") : 0;
	tb_fsync(1);
	tb_mark("ack 2");
}

static void test_ackloss(void **state)
{
	const struct crash_ackloss *a;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t q[4];
	char buf[512];
	size_t n;

	/* Fail, retry, mark: found. */
	ackloss_trace(0, 1, 1, q);
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	a = crash_space_acklosses(s, &n);
	assert_int_equal(n, 1);
	assert_int_equal(a->fail_seq, q[1]);
	assert_int_equal(a->retry_seq, q[2]);
	assert_int_equal(a->mark_seq, q[3]);
	assert_int_equal(a->point, q[3] + 1);
	assert_int_equal(a->err, EIO);
	assert_int_equal(a->lost_bytes, 1024);
	assert_int_equal(a->lost_off, 0);
	assert_int_equal(a->first_write, q[0]);
	assert_int_equal(a->nwrites, 1);
	assert_int_equal(a->path_len, 1);
	assert_memory_equal(a->path, "f", 1);
	assert_int_equal(a->mark_len, 5);
	assert_true(crash_ackloss_describe(a, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, CRASH_ACKLOSS_REASON ": f lost 1024 bytes at offset 0"));
	assert_non_null(strstr(buf, "failed (EIO)"));
	assert_non_null(strstr(buf, "mark 'ack 1'"));
	crash_space_free(s);
	trace_close(t);

	/* No retry before the first mark: the retry comes later, then 'ack 2'. */
	ackloss_trace(0, 0, 1, q);
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	a = crash_space_acklosses(s, &n);
	assert_int_equal(n, 1);
	assert_true(a->mark_seq > q[3]);
	assert_memory_equal(a->mark, "ack 2", 5);
	crash_space_free(s);
	trace_close(t);

	/* The program wrote the dropped bytes again before syncing: nothing lost. */
	ackloss_trace(1, 1, 1, q);
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	crash_space_acklosses(s, &n);
	assert_int_equal(n, 0);
	crash_space_free(s);
	trace_close(t);

	/* A failed fsync with no later successful one: no acknowledgement found. */
	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	tb_next_result(-EIO);
	tb_fsync(1);
	tb_mark("after");
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	crash_space_acklosses(s, &n);
	assert_int_equal(n, 0);
	crash_space_free(s);
	trace_close(t);
}

/* O_DSYNC handles and TORN_F_SYNC writes are never pending. */
static void test_dsync_never_pending(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file_ex(1, "f", 0, O_RDWR | O_DSYNC, 0100644);
	tb_open_file(2, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(2, 512, "B", TORN_F_SYNC);   /* RWF_DSYNC on a plain handle */
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:AB");
	ct_coll_free(&c);
	trace_close(t);
}

/* sync_file_range makes nothing durable; sync() makes everything durable. */
static void test_sync_range_and_sync(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "AB", 0);
	tb_sync_range(1, 0, 1024, 7);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "f=1024:AB", "f=1024:oB", "f=1024:Ao", "f=1024:oo");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", TORN_F_CREATED);   /* create and data alike */
	ct_write(1, 0, "AB", 0);
	tb_sync();
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:AB");
	ct_coll_free(&c);
	trace_close(t);

	/* syncfs likewise; a failed syncfs makes nothing durable. */
	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	tb_syncfs(1);
	ct_write(1, 512, "B", 0);
	tb_next_result(-EIO);
	tb_syncfs(1);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=1024:AB", "f=1024:Ao");
	ct_coll_free(&c);
	trace_close(t);
}

/* ==========================================================================
 * 3. Sizes
 * ========================================================================== */

/* An extending write: a persisted size with lost data reads as zeros; data
 * without its size is cut. */
static void test_size_unit_zeros(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "AB", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 8);   /* 2^3: size, unit 0, unit 1 */
	CT_SET(&c, "f=0:", "f=1024:AB", "f=1024:.B", "f=1024:A.", "f=1024:..");
	ct_coll_free(&c);
	trace_close(t);
}

/* A second extending write's size survives without the first one's. */
static void test_two_extending_writes(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(1, 512, "B", 0);
	t = ct_finish();
	s = sp(t, "exhaustive", ct_endpts, NULL, 0, 0, NULL);
	assert_int_equal(crash_space_count(s), 16);
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=0:", "f=512:A", "f=512:.", "f=1024:AB", "f=1024:A.", "f=1024:.B", "f=1024:..");
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

/* A truncate is pending until the file's fsync. */
static void test_truncate_pending(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	tb_truncate(1, 512);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=1024:oo", "f=512:o");
	ct_coll_free(&c);
	trace_close(t);

	/* Truncate to zero then rewrite: old bytes never come back past the cut. */
	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", TORN_F_TRUNCATED);
	ct_write(1, 512, "B", 0);
	tb_fsync(1);
	ct_write(1, 0, "A", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "f=1024:AB", "f=1024:.B");
	ct_coll_free(&c);
	trace_close(t);

	/* truncate(2) by path. */
	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_truncate_path("f", 0);
	t = ct_finish();
	at_end(t, &c);
	CT_SET(&c, "f=1024:oo", "f=0:");
	ct_coll_free(&c);
	trace_close(t);
}

/* fallocate: extending is one whole unit; punching a hole zeroes. */
static void test_fallocate(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	tb_fallocate(1, 0, 0, 2048);                          /* extend to 2048 */
	tb_fallocate(1, 0x01 | 0x02, 0, 512);                 /* KEEP_SIZE | PUNCH_HOLE */
	tb_fallocate(1, 0x01, 0, 8192);                       /* KEEP_SIZE: nothing */
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "f=1024:oo", "f=2048:oo..", "f=1024:.o", "f=2048:.o..");
	ct_coll_free(&c);
	trace_close(t);
}

/* ==========================================================================
 * 4. Namespace
 * ========================================================================== */

/* A create is durable after the parent's fsync; data after the file's. */
static void test_create_needs_dir_fsync(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	tb_init_done();
	tb_open_file(1, "n", TORN_F_CREATED);
	ct_write(1, 0, "A", 0);
	tb_fsync(1);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "", "n=512:A");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	tb_init_done();
	tb_open_file(1, "n", TORN_F_CREATED);
	ct_write(1, 0, "A", 0);
	tb_fsync(1);
	tb_open_dir(2, "");
	tb_fsync(2);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "n=512:A");
	ct_coll_free(&c);
	trace_close(t);

	/* Directory fsynced, file not: the name persists, data may not. */
	ct_begin();
	tb_init_done();
	tb_open_file(1, "n", TORN_F_CREATED);
	ct_write(1, 0, "A", 0);
	tb_open_dir(2, "");
	tb_fsync(2);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "n=0:", "n=512:A", "n=512:.");
	ct_coll_free(&c);
	trace_close(t);
}

/* A rename that did not persist leaves the old name; the write-then-rename
 * pattern without the directory fsync. */
static void test_rename_pending(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("a", "A");
	tb_init_done();
	tb_rename("a", "b", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "a=512:A", "b=512:A");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	ct_init_file("a", "A");
	tb_init_done();
	tb_open_file(1, "tmp", TORN_F_CREATED);
	ct_write(1, 0, "B", 0);
	tb_fsync(1);
	tb_rename("tmp", "a", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "a=512:B", "a=512:A tmp=512:B", "a=512:A");
	ct_coll_free(&c);
	trace_close(t);
}

/* unlink and rmdir are pending until the directory's fsync. */
static void test_unlink_rmdir(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("a", "A");
	tb_init_dir("d", 0755);
	tb_init_done();
	tb_unlink("a");
	tb_rmdir("d");
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "a=512:A d/", "a=512:A", "d/", "");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	ct_init_file("a", "A");
	tb_init_done();
	tb_unlink("a");
	tb_open_dir(1, "");
	tb_fdatasync(1);    /* fdatasync on a directory syncs it too (SQLite does this) */
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "");
	ct_coll_free(&c);
	trace_close(t);
}

/* mkdir, a file in it, link, symlink; each independent. */
static void test_mkdir_link_symlink(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	/* Only d is fsynced: the file in it is durable, d itself is not. */
	ct_begin();
	tb_init_done();
	tb_mkdir("d", 0755);
	tb_open_file(1, "d/x", TORN_F_CREATED);
	tb_open_dir(2, "d");
	tb_fsync(2);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "", "d/ d/x=0:");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	ct_init_file("a", "A");
	tb_init_done();
	tb_link("a", "b");
	tb_symlink("s", "a");
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 4);
	CT_SET(&c, "a=512:A", "a=512:A b=512:A", "a=512:A s->a", "a=512:A b=512:A s->a");
	ct_coll_free(&c);
	trace_close(t);
}

/* A rename across directories needs both parents fsynced. */
static void test_rename_two_parents(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;

	ct_begin();
	tb_init_dir("d1", 0755);
	tb_init_dir("d2", 0755);
	ct_init_file("d1/a", "A");
	tb_init_done();
	tb_rename("d1/a", "d2/a", 0);
	tb_open_dir(1, "d2");
	tb_fsync(1);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "d1/ d1/a=512:A d2/", "d1/ d2/ d2/a=512:A");
	ct_coll_free(&c);
	trace_close(t);

	ct_begin();
	tb_init_dir("d1", 0755);
	tb_init_dir("d2", 0755);
	ct_init_file("d1/a", "A");
	tb_init_done();
	tb_rename("d1/a", "d2/a", 0);
	tb_open_dir(1, "d2");
	tb_fsync(1);
	tb_open_dir(2, "d1");
	tb_fsync(2);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "d1/ d2/ d2/a=512:A");
	ct_coll_free(&c);
	trace_close(t);
}

/* An O_TMPFILE file named by linkat: its writes keep their own durability,
 * the name is one namespace unit. */
static void test_tmpfile_linked(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;
	struct torn_event ev;

	ct_begin();
	tb_init_done();
	ev = tb_ev(TORN_EV_OPEN);
	TB_STR(ev, path, "");
	ev.handle = 5;
	ev.oflags = O_TMPFILE | O_RDWR;
	ev.mode = 0100600;
	ev.ino = 77;
	ev.result = 3;
	tb_event(&ev);
	ct_write(5, 0, "A", 0);
	ev = tb_ev(TORN_EV_IMPORT);
	TB_STR(ev, path, "n");
	ev.mode = 0100600;
	ev.len = 512;
	ev.ino = 77;
	{
		uint8_t *b = ct_blocks("A");
		tb_event_content(&ev, b, 512);
		free(b);
	}
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 8);   /* name x size x unit 0 */
	CT_SET(&c, "", "n=0:", "n=512:A", "n=512:.");
	ct_coll_free(&c);
	trace_close(t);
}

/* Two names of one file in the snapshot (same st_ino) stay one file. */
static void test_snapshot_hard_link(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;
	struct torn_event ev;
	uint8_t *b = ct_blocks("A");

	ct_begin();
	ev = tb_ev(TORN_EV_INIT_FILE);
	TB_STR(ev, path, "a");
	ev.mode = 0100644;
	ev.len = 512;
	ev.ino = 9;
	tb_event_content(&ev, b, 512);
	ev = tb_ev(TORN_EV_INIT_FILE);
	TB_STR(ev, path, "b");
	ev.mode = 0100644;
	ev.len = 512;
	ev.ino = 9;
	tb_event_content(&ev, b, 512);
	free(b);
	tb_init_done();
	tb_open_file(1, "a", 0);
	ct_write(1, 0, "B", 0);
	t = ct_finish();
	at_end(t, &c);
	assert_int_equal(c.n, 2);
	CT_SET(&c, "a=512:A b=512:A", "a=512:B b=512:B");
	ct_coll_free(&c);
	trace_close(t);
}

/* ==========================================================================
 * 5. Direct I/O and unit sizes
 * ========================================================================== */

static struct torn_trace *eight_sectors(uint32_t oflags)
{
	ct_begin();
	ct_init_file("f", "oooooooo");
	tb_init_done();
	tb_open_file_ex(1, "f", 0, O_RDWR | oflags, 0100644);
	ct_write(1, 0, "ABCDEFGH", (oflags & O_DIRECT) ? TORN_F_DIRECT : 0);
	return ct_finish();
}

static int64_t count(struct torn_trace *t, const char *strat, unsigned sector, unsigned atomic,
		     const char *model)
{
	struct crash_space *s = sp(t, strat, ct_endpts, NULL, sector, atomic, model);
	int64_t n = crash_space_count(s);

	crash_space_free(s);
	return n;
}

static void test_direct_atomic_units(void **state)
{
	struct torn_trace *t = eight_sectors(O_DIRECT);
	struct crash_space *s;
	struct ct_coll c;

	/* Default atomic unit = the sector: 8 units. */
	assert_int_equal(count(t, "reorder:1", 0, 0, NULL), 9);
	/* --atomic 4096: one unit, all or nothing. */
	assert_int_equal(count(t, "exhaustive", 0, 4096, NULL), 2);
	assert_int_equal(count(t, "reorder:1", 0, 2048, NULL), 3);
	s = sp(t, "exhaustive", ct_endpts, NULL, 0, 2048, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=4096:ABCDEFGH", "f=4096:ooooEFGH", "f=4096:ABCDoooo", "f=4096:oooooooo");
	ct_coll_free(&c);
	crash_space_free(s);
	/* Forcing the buffered model on the same trace: sector units. */
	assert_int_equal(count(t, "reorder:1", 0, 4096, "buffered"), 9);
	trace_close(t);

	/* A buffered trace under --model direct uses the atomic unit. */
	t = eight_sectors(0);
	assert_int_equal(count(t, "reorder:1", 0, 4096, NULL), 9);
	assert_int_equal(count(t, "reorder:1", 0, 4096, "direct"), 2);
	trace_close(t);
}

/* O_DIRECT switched on by F_SETFL (auto model). */
static void test_setfl_direct(void **state)
{
	struct torn_trace *t;
	struct torn_event ev;

	ct_begin();
	ct_init_file("f", "oooooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ev = tb_ev(TORN_EV_SETFL);
	ev.handle = 1;
	ev.oflags = O_RDWR | O_DIRECT;
	tb_event(&ev);
	ct_write(1, 0, "ABCDEFGH", 0);
	t = ct_finish();
	assert_int_equal(count(t, "reorder:1", 0, 4096, NULL), 2);
	trace_close(t);
}

static void test_sector_4096_vs_512(void **state)
{
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "oooooooooooooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "ABCDEFGHIJKLMNOP", 0);
	t = ct_finish();
	assert_int_equal(count(t, "reorder:1", 512, 0, NULL), 17);
	assert_int_equal(count(t, "reorder:1", 4096, 0, NULL), 3);
	assert_int_equal(count(t, "exhaustive", 4096, 0, NULL), 4);
	trace_close(t);

	/* An unaligned write: its pieces are cut at sector boundaries. */
	ct_begin();
	ct_init_file("f", "oooooooooooooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 4000, "AB", 0);    /* bytes 4000..5024: 2 units of 4096, 3 of 512 */
	t = ct_finish();
	assert_int_equal(count(t, "exhaustive", 4096, 0, NULL), 4);
	assert_int_equal(count(t, "exhaustive", 512, 0, NULL), 8);
	trace_close(t);
}

/* ==========================================================================
 * 6. io_uring
 * ========================================================================== */

/* A write SQE of the blocks of @pat, with IOSQE_* @flags. */
static uint64_t uw(uint64_t handle, int64_t off, const char *pat, uint64_t ud, uint32_t flags)
{
	struct torn_event ev = tb_ev(TORN_EV_URING_SUBMIT);
	uint8_t *b = ct_blocks(pat);
	uint64_t seq;

	ev.handle = handle;
	ev.off = off;
	ev.len = (int64_t)strlen(pat) * 512;
	ev.aux = IORING_OP_WRITE;
	ev.aux_seq = ud;
	ev.oflags = flags;
	seq = tb_event_content(&ev, b, (uint64_t)ev.len);
	free(b);
	return seq;
}

static uint64_t ufsync(uint64_t handle, uint64_t ud, uint32_t flags)
{
	struct torn_event ev = tb_ev(TORN_EV_URING_SUBMIT);

	ev.handle = handle;
	ev.aux = IORING_OP_FSYNC;
	ev.aux_seq = ud;
	ev.oflags = flags;
	return tb_event(&ev);
}

static struct torn_trace *uring_trace(int variant)
{
	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file_ex(1, "f", 0, O_RDWR | O_DIRECT, 0100644);
	switch (variant) {
	case 0:   /* in flight at the end */
		uw(1, 0, "AB", 1, 0);
		break;
	case 1:   /* completion seen, then fsync(2): durable */
		uw(1, 0, "AB", 1, 0);
		tb_uring_cqe(1, 1024);
		tb_fsync(1);
		break;
	case 2:   /* fsync(2) before the completion was seen: not covered */
		uw(1, 0, "AB", 1, 0);
		tb_fsync(1);
		tb_uring_cqe(1, 1024);
		break;
	case 3:   /* write and fsync in one batch, no link: the classic mistake */
		uw(1, 0, "AB", 1, 0);
		ufsync(1, 2, 0);
		tb_uring_cqe(1, 1024);
		tb_uring_cqe(2, 0);
		break;
	case 4:   /* linked: the fsync runs after the write */
		uw(1, 0, "AB", 1, IOSQE_IO_LINK);
		ufsync(1, 2, 0);
		tb_uring_cqe(1, 1024);
		tb_uring_cqe(2, 0);
		break;
	case 5:   /* drained: the same */
		uw(1, 0, "AB", 1, 0);
		ufsync(1, 2, IOSQE_IO_DRAIN);
		tb_uring_cqe(1, 1024);
		tb_uring_cqe(2, 0);
		break;
	case 6:   /* a short write: the second sector never written */
		uw(1, 0, "AB", 1, 0);
		tb_uring_cqe(1, 512);
		break;
	case 7:   /* a failed write: nothing written */
		uw(1, 0, "AB", 1, 0);
		tb_uring_cqe(1, -EIO);
		break;
	case 8:   /* a failed linked fsync: nothing durable */
		uw(1, 0, "AB", 1, IOSQE_IO_LINK);
		ufsync(1, 2, 0);
		tb_uring_cqe(1, 1024);
		tb_uring_cqe(2, -EIO);
		break;
	}
	return ct_finish();
}

static void test_uring(void **state)
{
	struct ct_coll c;
	struct torn_trace *t;
	int v;

	for (v = 0; v <= 8; v++) {
		t = uring_trace(v);
		at_end(t, &c);
		switch (v) {
		case 0: case 2: case 3: case 8:
			assert_int_equal(c.n, 4);
			CT_SET(&c, "f=1024:AB", "f=1024:Ao", "f=1024:oB", "f=1024:oo");
			break;
		case 1: case 4: case 5:
			assert_int_equal(c.n, 1);
			CT_SET(&c, "f=1024:AB");
			break;
		case 6:
			assert_int_equal(c.n, 2);
			CT_SET(&c, "f=1024:Ao", "f=1024:oo");
			break;
		case 7:
			assert_int_equal(c.n, 1);
			CT_SET(&c, "f=1024:oo");
			break;
		}
		ct_coll_free(&c);
		trace_close(t);
	}
}

/* An extending io_uring write: in flight, its size and sectors may persist
 * in any subset; its completion and a linked fsync make them durable. */
static void test_uring_extend(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t cqe;
	char pts[64];

	ct_begin();
	ct_init_file("f", "");
	tb_init_done();
	tb_open_file(1, "f", 0);
	uw(1, 0, "AB", 7, IOSQE_IO_LINK);
	ufsync(1, 8, 0);
	cqe = tb_uring_cqe(7, 1024);
	tb_uring_cqe(8, 0);
	t = ct_finish();
	snprintf(pts, sizeof(pts), "%llu-%llu", (unsigned long long)cqe, (unsigned long long)cqe);
	s = sp(t, "exhaustive", pts, NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 8);
	CT_SET(&c, "f=0:", "f=1024:AB", "f=1024:.B", "f=1024:A.", "f=1024:..");
	ct_coll_free(&c);
	crash_space_free(s);
	at_end(t, &c);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=1024:AB");
	ct_coll_free(&c);
	/* The fsync's completion is a durability point for --crash-points sync. */
	s = sp(t, "sync", "sync", NULL, 0, 0, NULL);
	assert_int_equal(crash_space_count(s), 3);   /* before the fsync CQE: 2; the end: 1 */
	crash_space_free(s);
	trace_close(t);
}

/* ==========================================================================
 * 7. Crash points, marks, warnings
 * ========================================================================== */

/* Every event is a crash point; the snapshot is not. */
static void test_crash_points_all(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t w, m;
	size_t i;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	w = ct_write(1, 0, "A", 0);
	m = tb_mark("put 1");
	tb_fsync(1);
	t = ct_finish();
	s = sp(t, "prefix", "all", NULL, 0, 0, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	/* points: open, write, mark, fsync, end event, after the end:
	 * 1 + 1 + 2 + 2 + 1 + 1 states (prefix: m + 1 each). */
	assert_int_equal(c.n, 8);
	assert_int_equal(c.point[0], w - 1);
	for (i = 1; i < c.n; i++)
		assert_true(c.point[i] >= c.point[i - 1]);
	assert_int_equal(c.point[c.n - 1], ct_end);
	CT_SET(&c, "f=512:o", "f=512:A");
	ct_coll_free(&c);
	crash_space_free(s);
	(void)m;
	trace_close(t);
}

static void test_marks_before_point(void **state)
{
	struct crash_space *s;
	struct crash_state *st = NULL;
	struct torn_trace *t;
	char err[256], id[64], file[] = "/tmp/torn-marks-XXXXXX", buf[256];
	uint64_t m2;
	ssize_t n;
	int fd;

	ct_begin();
	tb_init_done();
	tb_mark("put 1");
	m2 = tb_mark("put 2");
	tb_mark("put 3");
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)m2 + 1);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), 0);
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(crash_state_write_marks(st, file), 0);
	fd = open(file, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(file);
	assert_true(n >= 0);
	buf[n] = 0;
	assert_string_equal(buf, "put 1\nput 2\n");
	crash_state_free(st);
	crash_space_free(s);
	trace_close(t);
}

static void test_warnings(void **state)
{
	struct crash_space *s;
	struct torn_trace *t;
	struct torn_event ev;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file_ex(1, "f", 0, O_RDWR | O_DIRECT, 0100644);
	ct_write(1, 100, "A", TORN_F_DIRECT | TORN_F_MISALIGNED);
	ev = tb_ev(TORN_EV_UNSUPPORTED);
	TB_STR(ev, text, "splice to a recorded file");
	tb_event(&ev);
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL, 0, 0, NULL);
	assert_int_equal(crash_space_warnings(s, NULL), 2);
	crash_space_free(s);
	trace_close(t);
}

/* Events the model cannot hold are warned about and ignored, never a crash
 * or a huge allocation. */
static void test_hostile_events(void **state)
{
	struct ct_coll c;
	struct crash_space *s;
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, (int64_t)300 << 20, "A", 0);      /* 300 MiB in: past what a state holds */
	ct_write(1, INT64_MAX - 100, "B", 0);         /* would overflow */
	tb_fallocate(1, 0x02 | 0x01, -5, 100);        /* negative offset */
	tb_fallocate(1, 0, 10, -1);                   /* negative length */
	ct_write(1, 0, "C", 0);
	t = ct_finish();
	s = sp(t, "exhaustive", ct_endpts, NULL, 0, 0, NULL);
	assert_int_equal(crash_space_warnings(s, NULL), 4);
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=512:o", "f=512:C");
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

/* The reference state at every crash point ("everything issued
 * persisted") equals the independent full-persist rebuild (recovery/
 * rebuild.c) of the same prefix, on random traces of creates, writes,
 * truncates, renames, links, unlinks and syncs. */
static uint64_t rnd_state;

static uint64_t rnd(uint64_t n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (rnd_state >> 33) % n;
}

static void random_trace(uint64_t seed)
{
	static const char *names[] = { "a", "b", "c", "d/x", "d/y" };
	uint64_t handle[5] = { 0 }, next = 10, ino[5] = { 1, 0, 0, 0, 0 };
	int exists[5] = { 1, 0, 0, 0, 0 }, i, op, have_e = 0, have_s = 0;
	char pat[4];

	rnd_state = seed;
	ct_begin();
	ct_init_file("a", "oo");
	tb_init_dir("d", 0755);
	tb_init_done();
	tb_open_dir(1, "");
	tb_open_dir(2, "d");
	for (i = 0; i < 30; i++) {
		int n = (int)rnd(5), m = (int)rnd(5);

		op = (int)rnd(14);
		if (!exists[n] && op != 0 && op < 12)
			op = 0;
		switch (op) {
		case 0:
			if (exists[n])
				break;
			handle[n] = next++;
			ino[n] = handle[n];
			tb_open_file(handle[n], names[n], TORN_F_CREATED);
			exists[n] = 1;
			break;
		case 1:
		case 2:
			if (!handle[n])
				tb_open_file(handle[n] = next++, names[n], 0);
			pat[0] = (char)('A' + rnd(26));
			pat[1] = rnd(2) ? (char)('A' + rnd(26)) : 0;
			pat[2] = 0;
			ct_write(handle[n], (int64_t)(rnd(4) * 512 + (rnd(3) ? 0 : 100)), pat, 0);
			break;
		case 3:
			if (handle[n])
				rnd(2) ? tb_fsync(handle[n]) : tb_fdatasync(handle[n]);
			break;
		case 4:
			tb_fsync(rnd(2) ? 1 : 2);
			break;
		case 5:
			if (m == n)
				break;
			tb_rename(names[n], names[m], 0);
			if (exists[m] && ino[m] == ino[n])
				break;   /* two links to one file: rename(2) does nothing */
			exists[m] = 1;
			handle[m] = handle[n];
			ino[m] = ino[n];
			exists[n] = 0;
			handle[n] = 0;
			break;
		case 6:
			tb_unlink(names[n]);
			exists[n] = 0;
			handle[n] = 0;
			break;
		case 7:
			if (!handle[n])
				tb_open_file(handle[n] = next++, names[n], 0);
			tb_truncate(handle[n], (int64_t)(rnd(5) * 300));
			break;
		case 8:
			if (exists[m])
				break;
			tb_link(names[n], names[m]);
			exists[m] = 1;
			handle[m] = handle[n];
			ino[m] = ino[n];
			break;
		case 9:
			rnd(2) ? tb_sync() : (void)tb_mark("m");
			break;
		case 10:   /* open(O_TRUNC) through a new handle */
			handle[n] = next++;
			tb_open_file(handle[n], names[n], TORN_F_TRUNCATED);
			break;
		case 11:
			if (!handle[n])
				tb_open_file(handle[n] = next++, names[n], 0);
			tb_fallocate(handle[n], 0, 0, (int64_t)((rnd(5) + 1) * 512));
			break;
		case 12:
			if (have_e)
				tb_rmdir("e");
			else
				tb_mkdir("e", 0755);
			have_e = !have_e;
			break;
		case 13:
			if (!have_s)
				tb_symlink("s", names[n]);
			have_s = 1;
			break;
		}
	}
}

static void test_reference_matches_rebuild(void **state)
{
	uint64_t seed;

	for (seed = 1; seed <= 80; seed++) {
		struct crash_space *s;
		struct torn_trace *t;
		struct ct_coll c;
		size_t i;

		random_trace(seed);
		t = ct_finish();
		s = sp(t, "prefix,random:30", "all", "zeros,garbage", 0, 0, NULL);
		memset(&c, 0, sizeof(c));
		c.no_desc = 1;
		assert_int_equal(crash_space_enumerate(s, ct_visit, &c), 0);
		for (i = 0; i < c.n; i++) {
			char dir[64], *want = NULL, e[256];
			struct crash_state *st = NULL;
			struct trace_error err;
			size_t len = 0;
			torn_hash h;
			int fd;

			/* Enumerated (built on a settled prefix) and rebuilt from
			 * the id (replayed from the start): the same state. */
			if (crash_state_from_id(s, c.id[i], &st, e, sizeof(e)) < 0)
				fail_msg("seed %llu: %s", (unsigned long long)seed, e);
			h = crash_state_hash(st);
			if (h.lo != c.hash[i].lo || h.hi != c.hash[i].hi)
				fail_msg("seed %llu: %s: hash differs from its id's", (unsigned long long)seed,
					 c.id[i]);
			if (strchr(c.id[i], ':')) {
				crash_state_free(st);
				continue;   /* the reference states only */
			}
			c.desc[i] = ct_describe(st);
			crash_state_free(st);
			ct_mkdtemp(dir, sizeof(dir));
			if (trace_rebuild(t, c.point[i], dir, &err) < 0)
				fail_msg("seed %llu: trace_rebuild: %s", (unsigned long long)seed, err.msg);
			fd = open(dir, O_RDONLY | O_DIRECTORY);
			assert_true(fd >= 0);
			want = strdup("");
			ct_describe_dir(fd, "", &want, &len);
			close(fd);
			ct_rm_rf(AT_FDCWD, dir);
			if (strcmp(want, c.desc[i]))
				fail_msg("seed %llu, %s: model '%s', rebuild '%s'", (unsigned long long)seed,
					 c.id[i], c.desc[i], want);
			free(want);
		}
		ct_coll_free(&c);
		crash_space_free(s);
		trace_close(t);
	}
}

/* crash_space_count (closed forms for one strategy) equals the number of
 * states enumerate visits, on random traces, for every strategy. */
static int count_visit(void *arg, struct crash_state *st)
{
	(void)st;
	(*(int64_t *)arg)++;
	return 0;
}

static void test_count_matches_enumeration(void **state)
{
	static const char *strats[] = {
		"sync", "prefix", "torn", "torn:all", "reorder:1", "reorder:2", "reorder:3",
		"random:40", "sync,prefix,torn:all", "reorder:1,torn",
	};
	static const char *tears[] = { NULL, "zeros", "zeros,garbage" };
	uint64_t seed;
	size_t i, j;

	for (seed = 1; seed <= 12; seed++) {
		struct torn_trace *t;

		random_trace(seed);
		t = ct_finish();
		for (i = 0; i < sizeof(strats) / sizeof(*strats); i++)
			for (j = 0; j < 3; j++) {
				struct crash_space *s = sp(t, strats[i], "all", tears[j], 0, 0, NULL);
				int64_t n = 0, c = crash_space_count(s);

				assert_int_equal(crash_space_enumerate(s, count_visit, &n), 0);
				if (c != n)
					fail_msg("seed %llu, %s, tear %s: count %lld, enumerated %lld",
						 (unsigned long long)seed, strats[i], tears[j] ? tears[j] : "-",
						 (long long)c, (long long)n);
				crash_space_free(s);
			}
		trace_close(t);
	}
}

/* Random events with random fields (valid records, nonsense content):
 * the model warns and goes on; every state builds, hashes, materialises
 * and explains without an error. */
static int fuzz_visit(void *arg, struct crash_state *st)
{
	char dir[64], *x = NULL;
	size_t len = 0;
	FILE *f;

	crash_state_hash(st);
	ct_mkdtemp(dir, sizeof(dir));
	assert_int_equal(crash_state_write(st, dir), 0);
	ct_rm_rf(AT_FDCWD, dir);
	f = open_memstream(&x, &len);
	assert_non_null(f);
	assert_int_equal(crash_state_explain(st, f), 0);
	fclose(f);
	free(x);
	(*(int *)arg)++;
	return 0;
}

static void test_random_events(void **state)
{
	static const char *paths[] = { "a", "b", "d", "d/x", "d/y", "d/e/z", "" };
	static const uint16_t types[] = {
		TORN_EV_OPEN, TORN_EV_CLOSE, TORN_EV_SETFL, TORN_EV_WRITE, TORN_EV_FSYNC,
		TORN_EV_SYNC_RANGE, TORN_EV_SYNC, TORN_EV_SYNCFS, TORN_EV_TRUNCATE, TORN_EV_FALLOCATE,
		TORN_EV_RENAME, TORN_EV_UNLINK, TORN_EV_LINK, TORN_EV_MKDIR, TORN_EV_RMDIR,
		TORN_EV_SYMLINK, TORN_EV_IMPORT, TORN_EV_MARK, TORN_EV_FAULT, TORN_EV_URING_SUBMIT,
		TORN_EV_URING_CQE, TORN_EV_MMAP, TORN_EV_UNSUPPORTED,
	};
	static const int64_t offs[] = { 0, 1, 100, 511, 512, 4000, 4096, -1, INT64_MAX - 5,
					 (int64_t)1 << 33 };
	uint64_t seed;
	int visited = 0, traces = 0;

	for (seed = 1; seed <= 150; seed++) {
		struct crash_space *s = NULL;
		struct crash_opts o;
		struct trace_error err;
		struct torn_trace *t = NULL;
		int i, opened[5] = { 1, 0, 0, 0, 0 };

		rnd_state = seed * 7919;
		ct_begin();
		ct_init_file("a", "oo");
		tb_init_dir("d", 0755);
		tb_init_done();
		for (i = 0; i < 40; i++) {
			struct torn_event ev = tb_ev(types[rnd(sizeof(types) / sizeof(*types))]);
			uint8_t buf[1536];
			uint64_t n = rnd(4) * 500;

			memset(buf, (int)('A' + rnd(26)), sizeof(buf));
			const char *p1 = paths[rnd(7)], *p2 = paths[rnd(6)];

			ev.handle = rnd(5);
			if (ev.type == TORN_EV_OPEN)
				opened[ev.handle] = 1;
			else if (!opened[ev.handle])
				ev.handle = 0;      /* the reader refuses handles never opened */
			TB_STR(ev, path, p1);   /* TB_STR evaluates its argument twice */
			if (rnd(3) == 0)
				TB_STR(ev, path2, p2);
			ev.off = offs[rnd(10)];
			ev.len = (int64_t)n;
			ev.result = rnd(5) ? (int64_t)n : -EIO;
			ev.flags = (uint16_t)rnd(0x80);
			ev.oflags = (uint32_t)(rnd(2) ? O_DIRECT : 0) | (uint32_t)(rnd(4) ? 0 : O_DSYNC) |
				    (uint32_t)(rnd(8) ? 0 : O_TMPFILE) | (uint32_t)rnd(16);
			ev.mode = rnd(2) ? 0100644 : 0040755;
			ev.aux = (uint32_t)rnd(30);
			ev.aux_seq = rnd(4) ? rnd(8) : tb_st()->seq + 1;
			ev.ino = rnd(4);
			if (ev.type == TORN_EV_WRITE || ev.type == TORN_EV_URING_SUBMIT ||
			    ev.type == TORN_EV_IMPORT)
				tb_event_content(&ev, buf, n);
			else
				tb_event(&ev);
		}
		tb_end();
		tb_close();
		/* The reader refuses some of these (its own rules); the rest must
		 * go through the model. */
		i = trace_open(cu_trace_path, &t, &err);
		unlink(cu_trace_path);
		if (i < 0)
			continue;
		traces++;
		ct_opts(&o, "prefix,torn:all,random:20", "all", "zeros,garbage");
		o.seed = seed;
		assert_int_equal(crash_space_new(t, &o, &s, &err), 0);
		assert_int_equal(crash_space_enumerate(s, fuzz_visit, &visited), 0);
		crash_space_free(s);
		trace_close(t);
	}
	assert_true(traces >= 100);
	assert_true(visited > 1000);
}

/* crash_state_write_delta: a directory written state after state, page by
 * page over the previous one (falling back to crash_state_rewrite where the
 * tree differs, as explore does), holds byte for byte what crash_state_write
 * makes in an empty directory: names, types, permission bits, sizes, bytes.
 * On the random traces (namespace changes, links, truncates, fallocates)
 * and on one of large writes over many pages of two flat files.  And the
 * content hash, built from page hashes cached across states, is that of
 * the state built afresh from its id. */
static char *dx_dir(const char *dir)
{
	char *out = strdup("");
	size_t len = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0 && out);
	ct_describe_tree(fd, "", &out, &len, 1);
	close(fd);
	return out;
}

struct dx {
	char dir[64];
	struct crash_snap *sn;
	struct crash_space *s;
	size_t n, fast;
};

static int dx_visit(void *arg, struct crash_state *st)
{
	struct dx *x = arg;
	char fresh[64], *want, *got;
	int rc = -EXDEV, dfd;

	dfd = open(x->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	rc = crash_state_write_delta(st, dfd, x->sn);
	close(dfd);
	if (rc == 0) {
		x->fast++;
	} else {
		assert_int_equal(rc, -EXDEV);
		if (crash_state_rewrite(st, x->dir, 0755) < 0) {
			/* Hard links (-EMLINK): afresh, as explore does. */
			ct_rm_rf(AT_FDCWD, x->dir);
			assert_int_equal(mkdir(x->dir, 0755), 0);
			assert_int_equal(crash_state_write(st, x->dir), 0);
		}
		assert_true(crash_snap_take(x->sn, st) >= 0);
	}
	ct_mkdtemp(fresh, sizeof(fresh));
	chmod(fresh, 0755);
	assert_int_equal(crash_state_write(st, fresh), 0);
	want = dx_dir(fresh);
	got = dx_dir(x->dir);
	if (strcmp(want, got))
		fail_msg("%s (%s): written over the previous state '%s', fresh '%s'",
			 crash_state_id(st), rc == 0 ? "delta" : "rewrite", got, want);
	free(want);
	free(got);
	ct_rm_rf(AT_FDCWD, fresh);
	/* The content hash, from the pages hashed for earlier states of this
	 * object, is that of the same state built afresh from its id. */
	{
		struct crash_state *one = NULL;
		torn_hash h = crash_state_hash(st), h1;
		char e[256];

		if (crash_state_from_id(x->s, crash_state_id(st), &one, e, sizeof(e)) < 0)
			fail_msg("%s: %s", crash_state_id(st), e);
		h1 = crash_state_hash(one);
		if (h.lo != h1.lo || h.hi != h1.hi)
			fail_msg("%s: hash differs from its id's", crash_state_id(st));
		crash_state_free(one);
	}
	x->n++;
	return 0;
}

static void dx_run(struct torn_trace *t, const char *strat, const char *tear, struct dx *x)
{
	struct crash_space *s = sp(t, strat, NULL, tear, 0, 0, NULL);

	x->s = s;
	assert_int_equal(crash_space_enumerate(s, dx_visit, x), 0);
	crash_space_free(s);
}

static void test_write_delta_matches_write(void **state)
{
	struct dx x;
	uint64_t seed;

	memset(&x, 0, sizeof(x));
	ct_mkdtemp(x.dir, sizeof(x.dir));
	chmod(x.dir, 0755);
	x.sn = crash_snap_new();
	assert_non_null(x.sn);
	for (seed = 1; seed <= 40; seed++) {
		struct torn_trace *t;

		random_trace(seed);
		t = ct_finish();
		dx_run(t, "prefix,random:20", "zeros,garbage", &x);
		trace_close(t);
	}
	/* Two flat files, writes of up to 24 sectors anywhere in 64 KiB, some
	 * truncates and fallocates, an fsync now and then. */
	for (seed = 1; seed <= 6; seed++) {
		struct torn_trace *t;
		char pat[32];

		rnd_state = seed;
		ct_begin();
		ct_init_file("a", "abcdefghijklmnopq");
		tb_init_done();
		tb_open_file(1, "a", 0);
		tb_open_file(2, "b", TORN_F_CREATED);
		for (int i = 0; i < 40; i++) {
			uint64_t h = 1 + rnd(2), op = rnd(10);
			size_t n = 1 + rnd(24);

			if (op == 0) {
				tb_truncate(h, (int64_t)(rnd(40) * 1000));
			} else if (op == 1) {
				tb_fallocate(h, 0, (int64_t)(rnd(60) * 512), (int64_t)(rnd(20) * 512));
			} else if (op == 2) {
				tb_fsync(h);
			} else {
				for (size_t k = 0; k < n; k++)
					pat[k] = rnd(5) ? (char)('A' + rnd(26)) : '.';
				pat[n] = 0;
				ct_write(h, (int64_t)(rnd(128) * 512 + (rnd(4) ? 0 : 77)), pat, 0);
			}
			if (rnd(4) == 0)
				tb_mark("m");
		}
		t = ct_finish();
		dx_run(t, "prefix,torn,random:40", "zeros,garbage", &x);
		trace_close(t);
	}
	/* Most states were written page by page. */
	assert_true(x.fast * 2 > x.n);
	crash_snap_free(x.sn);
	ct_rm_rf(AT_FDCWD, x.dir);
	(void)state;
}


/* Bad options are refused with a message. */
static void test_bad_opts(void **state)
{
	struct crash_opts o;
	struct crash_space *s = NULL;
	struct trace_error err;
	struct torn_trace *t;

	ct_begin();
	tb_init_done();
	t = ct_finish();
	crash_opts_default(&o);
	o.sector = 1000;
	assert_int_equal(crash_space_new(t, &o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "sector"));
	crash_opts_default(&o);
	o.atomic = 3000;
	assert_int_equal(crash_space_new(t, &o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "atomic"));
	assert_null(s);
	trace_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_sectors_reorder1),
		cmocka_unit_test(test_overwrite_same_sector),
		cmocka_unit_test(test_fsync_covers_started_before),
		cmocka_unit_test(test_fsync_other_file),
		cmocka_unit_test(test_failed_fsync_drops),
		cmocka_unit_test(test_failed_fsync_direct),
		cmocka_unit_test(test_fault_event_fails_fsync),
		cmocka_unit_test(test_ackloss),
		cmocka_unit_test(test_failed_write_nothing),
		cmocka_unit_test(test_dsync_never_pending),
		cmocka_unit_test(test_sync_range_and_sync),
		cmocka_unit_test(test_size_unit_zeros),
		cmocka_unit_test(test_two_extending_writes),
		cmocka_unit_test(test_truncate_pending),
		cmocka_unit_test(test_fallocate),
		cmocka_unit_test(test_create_needs_dir_fsync),
		cmocka_unit_test(test_rename_pending),
		cmocka_unit_test(test_unlink_rmdir),
		cmocka_unit_test(test_mkdir_link_symlink),
		cmocka_unit_test(test_rename_two_parents),
		cmocka_unit_test(test_tmpfile_linked),
		cmocka_unit_test(test_snapshot_hard_link),
		cmocka_unit_test(test_direct_atomic_units),
		cmocka_unit_test(test_setfl_direct),
		cmocka_unit_test(test_sector_4096_vs_512),
		cmocka_unit_test(test_uring),
		cmocka_unit_test(test_uring_extend),
		cmocka_unit_test(test_crash_points_all),
		cmocka_unit_test(test_marks_before_point),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_hostile_events),
		cmocka_unit_test(test_reference_matches_rebuild),
		cmocka_unit_test(test_count_matches_enumeration),
		cmocka_unit_test(test_random_events),
		cmocka_unit_test(test_write_delta_matches_write),
		cmocka_unit_test(test_bad_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

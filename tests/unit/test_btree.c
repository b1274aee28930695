/*
 * tests/unit/test_btree.c - the B-tree engine: meta and page codecs, the
 * choice between the two meta pages, recovery from a torn meta, a torn
 * unreferenced page and a damaged reachable page; splits, merges and
 * free-page reuse with the structural invariants checked by verify; the
 * pipelined group commit (uring).
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

#include "engines/btree/btree.h"
#include "engines/engine.h"

#include "fault_util.h"

static void test_meta_codec(void **state)
{
	static uint8_t page[BT_PAGE];
	struct bt_meta m = { 7, 5, 9, 2 }, g;

	bt_meta_encode(page, &m);
	assert_int_equal(bt_meta_decode(page, &g), 0);
	assert_int_equal(g.txn, 7);
	assert_int_equal(g.root, 5);
	assert_int_equal(g.npages, 9);
	assert_int_equal(g.depth, 2);
	page[30] ^= 1;
	assert_int_equal(bt_meta_decode(page, &g), -ENG_E_CORRUPT);
	/* a root beyond the pages in use is refused even with a good sum */
	m.root = 9;
	bt_meta_encode(page, &m);
	assert_int_equal(bt_meta_decode(page, &g), -ENG_E_CORRUPT);
}

static void test_page_codec(void **state)
{
	static uint8_t page[BT_PAGE];
	struct bt_pent e[4];
	int type, n;

	memset(page, 0, sizeof(page));
	/* two leaf entries: "a"="xy", "bc"="" */
	memcpy(page + BT_PAGEHDR, "\x01\x00\x02\x00" "axy" "\x02\x00\x00\x00" "bc", 13);
	bt_page_seal(page, 6, BT_LEAF, 2, 3);
	assert_int_equal(bt_page_decode(page, 6, &type, e, 4, &n), 0);
	assert_int_equal(type, BT_LEAF);
	assert_int_equal(n, 2);
	assert_memory_equal(e[0].key, "a", 1);
	assert_memory_equal(e[0].val, "xy", 2);
	assert_int_equal(e[1].klen, 2);
	/* the page read from another place, or damaged */
	assert_int_equal(bt_page_decode(page, 7, &type, e, 4, &n), -ENG_E_CORRUPT);
	page[BT_PAGE - 1] = 1;
	assert_int_equal(bt_page_decode(page, 6, &type, e, 4, &n), -ENG_E_CORRUPT);
}

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_btree.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void *topen(void)
{
	struct eng_opts o = { dir, EIO_BUFFERED, -1 };
	void *e = NULL;

	assert_int_equal(bt_engine.open(&e, &o), 0);
	return e;
}

static void tput(void *e, int k, int v)
{
	char key[16], val[200];
	struct eng_op op = { ENG_PUT, key, 0, val, 0 };

	op.klen = (size_t)snprintf(key, sizeof(key), "key%06d", k);
	memset(val, 'a' + v % 26, sizeof(val));
	op.vlen = 100 + (size_t)(k % 90);
	assert_int_equal(bt_engine.apply(e, &op, 1), 0);
}

static void tdel(void *e, int k)
{
	char key[16];
	struct eng_op op = { ENG_DEL, key, 0, NULL, 0 };

	op.klen = (size_t)snprintf(key, sizeof(key), "key%06d", k);
	assert_int_equal(bt_engine.apply(e, &op, 1), 0);
}

/* -1 absent, else the first byte of the value */
static int tget(void *e, int k)
{
	char key[16];
	void *v;
	size_t n;
	int c;

	snprintf(key, sizeof(key), "key%06d", k);
	if (bt_engine.get(e, key, strlen(key), &v, &n) < 0)
		return -1;
	c = ((char *)v)[0];
	free(v);
	return c;
}

static void verify_ok(void *e)
{
	char msg[256] = "";

	assert_int_equal(bt_engine.verify(e, msg, sizeof(msg)), 0);
}

static off_t db_size(void)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/btree.db", dir);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void test_split_merge_reuse(void **state)
{
	void *e = topen();
	off_t big;

	/* 3000 keys: several levels of splits */
	for (int k = 0; k < 3000; k++) {
		tput(e, k, 0);
		if (k % 100 == 99)
			assert_int_equal(bt_engine.sync(e), 0);
	}
	assert_int_equal(bt_engine.sync(e), 0);
	verify_ok(e);
	bt_engine.close(e);
	e = topen();
	verify_ok(e);
	assert_int_equal(tget(e, 2999), 'a');
	/* delete nine in ten: merges and redistribution keep every node full enough */
	for (int k = 0; k < 3000; k++)
		if (k % 10)
			tdel(e, k);
	assert_int_equal(bt_engine.sync(e), 0);
	verify_ok(e);
	big = db_size();
	/* rewriting the survivors many times reuses freed pages: the file stays put */
	for (int round = 0; round < 20; round++) {
		for (int k = 0; k < 3000; k += 10)
			tput(e, k, round + 1);
		assert_int_equal(bt_engine.sync(e), 0);
	}
	verify_ok(e);
	assert_true(db_size() <= big);
	bt_engine.close(e);
	e = topen();
	verify_ok(e);
	assert_int_equal(tget(e, 10), 'a' + 20);
	assert_int_equal(tget(e, 11), -1);
	/* everything deleted: an empty tree */
	for (int k = 0; k < 3000; k += 10)
		tdel(e, k);
	assert_int_equal(bt_engine.sync(e), 0);
	verify_ok(e);
	bt_engine.close(e);
	e = topen();
	assert_int_equal(tget(e, 10), -1);
	bt_engine.close(e);
}

static void test_torn_meta_falls_back(void **state)
{
	char p[512];
	void *e = topen();
	int fd;

	tput(e, 1, 1);
	assert_int_equal(bt_engine.sync(e), 0); /* txn 1 -> meta slot 1 */
	tput(e, 1, 2);
	assert_int_equal(bt_engine.sync(e), 0); /* txn 2 -> meta slot 0 */
	bt_engine.close(e);
	/* slot 0's sector torn: the older meta (txn 1) is the database */
	snprintf(p, sizeof(p), "%s/btree.db", dir);
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12, 20), 12);
	close(fd);
	e = topen();
	assert_int_equal(tget(e, 1), 'a' + 1);
	verify_ok(e);
	bt_engine.close(e);
}

static void test_damaged_pages(void **state)
{
	char p[512];
	void *e = topen();
	off_t size;
	int fd;

	for (int k = 0; k < 50; k++)
		tput(e, k, 3);
	assert_int_equal(bt_engine.sync(e), 0);
	bt_engine.close(e);
	snprintf(p, sizeof(p), "%s/btree.db", dir);
	size = db_size();
	/* a torn page past the tree (an unfinished commit) changes nothing */
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "garbage", 7, size + 100), 7);
	close(fd);
	e = topen();
	assert_int_equal(tget(e, 49), 'a' + 3);
	bt_engine.close(e);
	/* a damaged page the meta reaches: recovery refuses the database */
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, 2 * BT_PAGE + 300), 1);
	close(fd);
	{
		struct eng_opts o = { dir, EIO_BUFFERED, -1 };
		void *x = NULL;
		assert_int_equal(bt_engine.open(&x, &o), -ENG_E_CORRUPT);
		assert_non_null(strstr(eng_errmsg(), "page"));
	}
}

static void test_fresh_file_partial_init(void **state)
{
	char p[512];
	void *e;
	int fd;

	/* a crash during creation: a short file with no valid meta is new */
	snprintf(p, sizeof(p), "%s/btree.db", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(pwrite(fd, "partial", 7, 512), 7);
	close(fd);
	e = topen();
	assert_int_equal(tget(e, 1), -1);
	tput(e, 1, 4);
	assert_int_equal(bt_engine.sync(e), 0);
	bt_engine.close(e);
	e = topen();
	assert_int_equal(tget(e, 1), 'a' + 4);
	bt_engine.close(e);
}

/* the newest valid meta on disk (its txn: one per commit group) */
static uint64_t disk_txn(void)
{
	uint8_t page[2 * BT_PAGE];
	struct bt_meta m[2];
	char p[512];
	uint64_t best = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/btree.db", dir);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, page, sizeof(page), 0), (ssize_t)sizeof(page));
	close(fd);
	for (int i = 0; i < 2; i++)
		if (bt_meta_decode(page + i * BT_PAGE, &m[i]) == 0 && m[i].txn > best)
			best = m[i].txn;
	return best;
}

/*
 * Pipelined commits in uring mode (sync_start/sync_wait, up to 16 in
 * flight as tornkv keeps them): tickets complete in order, a ticket done
 * means every earlier one is, commits arriving while a group's pages flush
 * share the next group (fewer metas than tickets), a ticket with nothing
 * changed completes too, sync() drains the pipeline, freed pages come back
 * (the file stops growing), and reopening finds every acknowledged value.
 */
/* tornkv's window of tickets, oldest at head */
enum { WIN = 16 };
struct twin {
	uint64_t tk[WIN], last;
	unsigned head, n, done;
};

/* start a commit of everything applied, the oldest waited for if full */
static void twin_push(void *e, struct twin *w)
{
	uint64_t *t;

	if (w->n == WIN) {
		assert_int_equal(bt_engine.sync_wait(e, w->tk[w->head], 0), 1);
		w->head = (w->head + 1) % WIN;
		w->n--;
		w->done++;
	}
	t = &w->tk[(w->head + w->n) % WIN];
	assert_int_equal(bt_engine.sync_start(e, t), 0);
	assert_true(*t > w->last); /* tickets increase */
	w->last = *t;
	w->n++;
}

/* take the completed tickets, oldest first: they complete in order */
static void twin_reap(void *e, struct twin *w)
{
	int rc = 0;

	while (w->n && (rc = bt_engine.sync_wait(e, w->tk[w->head], 1)) == 1) {
		w->head = (w->head + 1) % WIN;
		w->n--;
		w->done++;
	}
	assert_true(w->n == 0 || rc == 0); /* not yet, never an error */
}

static void test_pipelined_group_commit(void **state)
{
	struct eng_opts o = { dir, EIO_URING, -1 };
	enum { N = 300, KEYS = 100, ROUNDS = 8 };
	struct twin w = { 0 };
	uint64_t t0;
	off_t after1 = 0;
	void *e = NULL;

	assert_int_equal(bt_engine.open(&e, &o), 0);
	assert_non_null(bt_engine.sync_start);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < N; i++) {
			tput(e, i % KEYS, round * N + i);
			if (i % 50 == 49)
				tdel(e, i % KEYS);
			twin_push(e, &w);
			twin_reap(e, &w);
		}
		/* a commit with nothing changed since the last one: its
		 * completion means every earlier one completed */
		twin_push(e, &w);
		assert_int_equal(bt_engine.sync_wait(e, w.last, 0), 1);
		twin_reap(e, &w);
		assert_int_equal(w.n, 0);
		verify_ok(e);
		if (round == 1)
			after1 = db_size();
	}
	assert_int_equal(w.done, ROUNDS * (N + 1));
	/* commits overlapped: groups of several, each one meta */
	assert_true(disk_txn() < (uint64_t)ROUNDS * N);
	assert_true(disk_txn() >= ROUNDS);
	/* pages freed by durable groups are reused: six more rounds of the same
	 * keys did not grow the file by more than the pipeline holds back */
	assert_true(db_size() <= after1 + 64 * BT_PAGE);
	/* sync() after pipelined commits: everything before it is durable */
	tput(e, 1, 7);
	assert_int_equal(bt_engine.sync_start(e, &t0), 0);
	tput(e, 2, 8);
	assert_int_equal(bt_engine.sync(e), 0);
	assert_int_equal(bt_engine.sync_wait(e, t0, 1), 1);
	bt_engine.close(e);

	e = topen();
	verify_ok(e);
	assert_int_equal(tget(e, 1), 'a' + 7);
	assert_int_equal(tget(e, 2), 'a' + 8);
	for (int k = 3; k < KEYS; k++) {
		int i = (ROUNDS - 1) * N + (N - KEYS) + k; /* its last put */
		int deleted = (i - (ROUNDS - 1) * N) % 50 == 49;
		assert_int_equal(tget(e, k), deleted ? -1 : 'a' + i % 26);
	}
	bt_engine.close(e);
}

/* ---- faults (issue 7), through eio's test hook: fault_util.h ------------- */

FU_ENGINE_TESTS(&bt_engine, "btree.db", 1, 0)

/*
 * A failure inside the commit pipeline (uring, sync_start): the fdatasync
 * behind a group's pages (nth 1) or behind its meta (nth 2) fails.  That
 * ticket and any started behind it report EIO, the handle refuses
 * writes, the tickets before stay acknowledged, and reopening finds them
 * (and, pages lost, not the failed group).
 */
static void pipelined_fsync_fails(unsigned nth)
{
	struct fu_engine fe = fault_engine(EIO_URING);
	uint64_t t1, t2, t3, t4;
	void *e = fu_open(&fe, -1);
	int rc;

	assert_int_equal(fu_put(&fe, e, "a", "acknowledged"), 0);
	assert_int_equal(bt_engine.sync_start(e, &t1), 0);
	assert_int_equal(bt_engine.sync_wait(e, t1, 0), 1);
	assert_int_equal(fu_put(&fe, e, "b", "never acknowledged"), 0);
	fu_arm(EIO_CALL_FDATASYNC, "btree.db", nth, 0, -EIO);
	/* the failure is reported as soon as the pipeline sees it: by the
	 * start that met it, or by a later start or wait */
	rc = bt_engine.sync_start(e, &t2);
	assert_true(rc == 0 || rc == -EIO);
	rc = fu_put(&fe, e, "c", "never acknowledged");
	assert_true(rc == 0 || rc == -EIO);
	if (rc == 0) {
		rc = bt_engine.sync_start(e, &t3);
		assert_true(rc == 0 || rc == -EIO);
		assert_true(t1 < t2 && t2 < t3);
		assert_int_equal(bt_engine.sync_wait(e, t3, 0), -EIO);
	}
	assert_int_equal(bt_engine.sync_wait(e, t2, 0), -EIO);
	assert_int_equal(bt_engine.sync_wait(e, t1, 1), 1); /* still acknowledged */
	/* fatal for the handle */
	assert_int_equal(fu_put(&fe, e, "d", "refused"), -EIO);
	assert_int_equal(bt_engine.sync_start(e, &t4), -EIO);
	assert_int_equal(bt_engine.sync(e), -EIO);
	fu_expect(&fe, e, "a", "acknowledged");
	bt_engine.close(e);
	fu_reset();

	e = topen();
	verify_ok(e);
	fu_expect(&fe, e, "a", "acknowledged");
	if (nth == 1)
		fu_expect(&fe, e, "b", NULL); /* its meta was never written */
	fu_expect(&fe, e, "c", NULL);
	fu_expect(&fe, e, "d", NULL);
	bt_engine.close(e);
}

static void test_pipelined_fsync_pages_fails(void **state) { pipelined_fsync_fails(1); }
static void test_pipelined_fsync_meta_fails(void **state) { pipelined_fsync_fails(2); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_codec),
		cmocka_unit_test(test_page_codec),
		cmocka_unit_test_setup_teardown(test_split_merge_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_meta_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_file_partial_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_fsync_pages_fails, setup, fault_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_fsync_meta_fails, setup, fault_teardown),
		FU_ENGINE_TEST_LIST(setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

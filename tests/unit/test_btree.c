/*
 * tests/unit/test_btree.c - the B-tree engine: meta and page codecs, the
 * choice between the two meta pages, recovery from a torn meta, a torn
 * unreferenced page and a damaged reachable page; splits, merges and
 * free-page reuse with the structural invariants checked by verify.
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

/* ---- faults (issue 7), through eio's test hook: fault_util.h ------------- */

FU_ENGINE_TESTS(&bt_engine, "btree.db", 1, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_codec),
		cmocka_unit_test(test_page_codec),
		cmocka_unit_test_setup_teardown(test_split_merge_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_meta_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_file_partial_init, setup, teardown),
		FU_ENGINE_TEST_LIST(setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

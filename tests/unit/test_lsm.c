/*
 * tests/unit/test_lsm.c - the LSM engine: table build/open/lookup/check,
 * damaged tables (footer, index, block), the manifest codec, recovery of
 * the memtable from a log with a torn tail or a stale one (a lost commit
 * with a later one behind it), flush and compaction through
 * the engine, and a manifest that names a missing table.
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

#include "engines/engine.h"
#include "engines/lsm/lsm.h"

#include "fault_util.h"

#define NK 400

static char keys[NK][16], vals[NK][64];

static size_t make_kv(struct lsm_kv *kv)
{
	for (int i = 0; i < NK; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%05d", i);
		snprintf(vals[i], sizeof(vals[i]), "value-%d-padding-padding-padding", i);
		kv[i] = (struct lsm_kv){ keys[i], strlen(keys[i]), i % 7 == 3, vals[i],
					 strlen(vals[i]) };
	}
	return NK;
}

static void test_table_roundtrip(void **state)
{
	static struct lsm_kv kv[NK];
	struct lsm_table *t;
	struct lsm_kv got;
	uint8_t *img;
	size_t len, n = make_kv(kv);
	char msg[256];
	const char *mn, *mx;
	size_t mnl, mxl;

	assert_int_equal(lsm_table_build(kv, n, 12, 512, &img, &len), 0);
	assert_int_equal(len % 512, 0); /* padded for direct I/O */
	assert_int_equal(lsm_table_open(img, len, 12, &t), 0);
	assert_int_equal(lsm_table_count(t), NK);
	assert_int_equal(lsm_table_check(t, msg, sizeof(msg)), 0);
	lsm_table_range(t, &mn, &mnl, &mx, &mxl);
	assert_memory_equal(mn, "key00000", 8);
	assert_memory_equal(mx, "key00399", 8);
	/* several blocks: every key found through the index */
	for (int i = 0; i < NK; i++) {
		assert_int_equal(lsm_table_get(t, keys[i], strlen(keys[i]), &got), 1);
		assert_int_equal(got.tomb, i % 7 == 3);
		if (!got.tomb)
			assert_memory_equal(got.val, vals[i], strlen(vals[i]));
	}
	assert_int_equal(lsm_table_get(t, "key00100x", 9, &got), 0);
	assert_int_equal(lsm_table_get(t, "a", 1, &got), 0);
	assert_int_equal(lsm_table_get(t, "z", 1, &got), 0);
	lsm_table_free(t);
}

static void test_table_damage(void **state)
{
	static struct lsm_kv kv[NK];
	struct lsm_table *t;
	struct lsm_kv got;
	uint8_t *img, *copy;
	size_t len, n = make_kv(kv);
	char msg[256];

	assert_int_equal(lsm_table_build(kv, n, 5, 1, &img, &len), 0);
	copy = malloc(len);
	/* wrong table number, damaged footer, damaged index */
	memcpy(copy, img, len);
	assert_int_equal(lsm_table_open(copy, len, 6, &t), -ENG_E_CORRUPT);
	copy[len - 20] ^= 1;
	assert_int_equal(lsm_table_open(copy, len, 5, &t), -ENG_E_CORRUPT);
	memcpy(copy, img, len);
	copy[get_u64(copy + len - LSM_FOOTER + 8) + 6] ^= 1;
	assert_int_equal(lsm_table_open(copy, len, 5, &t), -ENG_E_CORRUPT);
	/* a truncated table has no footer */
	memcpy(copy, img, len);
	assert_int_equal(lsm_table_open(copy, len - 100, 5, &t), -ENG_E_CORRUPT);
	/* a damaged data block: the table opens, the lookup and check see it */
	memcpy(copy, img, len);
	copy[30] ^= 0x20;
	assert_int_equal(lsm_table_open(copy, len, 5, &t), 0);
	assert_int_equal(lsm_table_get(t, keys[0], strlen(keys[0]), &got), -ENG_E_CORRUPT);
	assert_int_equal(lsm_table_check(t, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "block 0"));
	lsm_table_free(t); /* frees copy */
	free(img);
}

static void test_manifest_codec(void **state)
{
	struct lsm_man_ent ents[2] = { { 4, 0 }, { 2, 1 } };
	struct lsm_manifest m = { 7, 9, 123, 2, ents }, g;
	uint8_t *buf;
	size_t len;

	assert_int_equal(lsm_manifest_encode(&m, 512, &buf, &len), 0);
	assert_int_equal(len, 512);
	assert_int_equal(lsm_manifest_decode(buf, len, &g), 0);
	assert_int_equal(g.log_number, 7);
	assert_int_equal(g.next_file, 9);
	assert_int_equal(g.last_seq, 123);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.t[1].num, 2);
	assert_int_equal(g.t[1].level, 1);
	free(g.t);
	buf[45] ^= 1;
	assert_int_equal(lsm_manifest_decode(buf, len, &g), -ENG_E_CORRUPT);
	memset(buf, 0, len); /* renamed before its contents were durable */
	assert_int_equal(lsm_manifest_decode(buf, len, &g), -ENG_E_FORMAT);
	free(buf);
}

/* ---- through the engine ------------------------------------------------------ */

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_lsm.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void *lopen(void)
{
	struct eng_opts o = { dir, EIO_BUFFERED, -1 };
	void *e = NULL;

	assert_int_equal(lsm_engine.open(&e, &o), 0);
	return e;
}

static void lput(void *e, int k, int v)
{
	char key[16], val[300];
	struct eng_op op = { ENG_PUT, key, 0, val, 250 };

	op.klen = (size_t)snprintf(key, sizeof(key), "k%04d", k);
	memset(val, 'a' + v % 26, sizeof(val));
	assert_int_equal(lsm_engine.apply(e, &op, 1), 0);
}

static void ldel(void *e, int k)
{
	char key[16];
	struct eng_op op = { ENG_DEL, key, 0, NULL, 0 };

	op.klen = (size_t)snprintf(key, sizeof(key), "k%04d", k);
	assert_int_equal(lsm_engine.apply(e, &op, 1), 0);
}

static int lget(void *e, int k)
{
	char key[16];
	void *v;
	size_t n;
	int c;

	snprintf(key, sizeof(key), "k%04d", k);
	if (lsm_engine.get(e, key, strlen(key), &v, &n) < 0)
		return -1;
	c = ((char *)v)[0];
	free(v);
	return c;
}

static int count_files(const char *prefix, const char *ext)
{
	uint64_t *nums;
	size_t n;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_int_equal(eng_list(dfd, prefix, ext, &nums, &n), 0);
	free(nums);
	close(dfd);
	return (int)n;
}

static void test_flush_compact_reopen(void **state)
{
	char msg[256];
	void *e = lopen();

	/* enough for flushes and a compaction into L1 */
	for (int i = 0; i < 400; i++) {
		lput(e, i % 120, i / 120);
		if (i % 50 == 49)
			ldel(e, i % 120);
		assert_int_equal(lsm_engine.sync(e), 0);
	}
	assert_int_equal(lsm_engine.verify(e, msg, sizeof(msg)), 0);
	assert_true(count_files("t-", ".sst") >= 1);
	assert_int_equal(count_files("wal-", ".log"), 1);
	lsm_engine.close(e);
	e = lopen();
	assert_int_equal(lsm_engine.verify(e, msg, sizeof(msg)), 0);
	assert_int_equal(lget(e, 0), 'a' + 3);   /* written at i=360 */
	assert_int_equal(lget(e, 119), 'a' + 2); /* written at i=359 */
	assert_int_equal(lget(e, 39), -1);      /* deleted last at i=399 */
	lsm_engine.close(e);
}

static void test_log_torn_tail(void **state)
{
	char p[512];
	struct stat st;
	uint64_t *nums;
	size_t n;
	void *e = lopen();
	int dfd;

	lput(e, 1, 1);
	assert_int_equal(lsm_engine.sync(e), 0);
	lput(e, 2, 2);
	assert_int_equal(lsm_engine.sync(e), 0);
	lsm_engine.close(e);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(eng_list(dfd, "wal-", ".log", &nums, &n), 0);
	close(dfd);
	snprintf(p, sizeof(p), "%s/wal-%016llx.log", dir, (unsigned long long)nums[n - 1]);
	free(nums);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size - 20), 0);
	e = lopen();
	assert_int_equal(lget(e, 1), 'b');
	assert_int_equal(lget(e, 2), -1);
	/* appends continue after the cut */
	lput(e, 3, 3);
	assert_int_equal(lsm_engine.sync(e), 0);
	lsm_engine.close(e);
	e = lopen();
	assert_int_equal(lget(e, 3), 'd');
	lsm_engine.close(e);
}

/* the newest memtable log */
static void last_log(char *p, size_t cap)
{
	uint64_t *nums;
	size_t n;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_int_equal(eng_list(dfd, "wal-", ".log", &nums, &n), 0);
	close(dfd);
	assert_true(n >= 1);
	snprintf(p, cap, "%s/wal-%016llx.log", dir, (unsigned long long)nums[n - 1]);
	free(nums);
}

static off_t fsize(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/*
 * The stale tail (commits in flight, sync_start): commit 3 reached the
 * log, commit 2 did not.  Recovery ends the log at record 2 and must make
 * record 3 unreadable, or a new record of the same size written in record
 * 2's place would be followed by the stale record 3 at the next recovery.
 */
static void test_log_stale_tail(void **state)
{
	char p[512];
	off_t end1, rec;
	void *e = lopen();
	int fd;

	lput(e, 1, 1);
	assert_int_equal(lsm_engine.sync(e), 0);
	last_log(p, sizeof(p));
	end1 = fsize(p);
	lput(e, 2, 2);
	assert_int_equal(lsm_engine.sync(e), 0);
	rec = fsize(p) - end1;
	lput(e, 3, 3);
	assert_int_equal(lsm_engine.sync(e), 0);
	assert_int_equal(fsize(p), end1 + 2 * rec); /* records of one size */
	lsm_engine.close(e);
	/* record 2 lost: zeros where its head was, record 3 intact behind */
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	{
		char z[64] = { 0 };
		size_t n = rec < 64 ? (size_t)rec : sizeof(z);

		assert_int_equal(pwrite(fd, z, n, end1), (ssize_t)n);
	}
	close(fd);
	e = lopen();
	assert_int_equal(lget(e, 1), 'b');
	assert_int_equal(lget(e, 2), -1);
	assert_int_equal(lget(e, 3), -1);
	/* a new record of the same size, in record 2's place */
	lput(e, 4, 4);
	assert_int_equal(lsm_engine.sync(e), 0);
	lsm_engine.close(e);
	e = lopen();
	assert_int_equal(lget(e, 4), 'e');
	assert_int_equal(lget(e, 3), -1); /* the stale record 3 stays dead */
	lsm_engine.close(e);
}

static void test_missing_table(void **state)
{
	struct eng_opts o = { dir, EIO_BUFFERED, -1 };
	char p[512];
	uint64_t *nums;
	size_t n;
	void *e = lopen();
	int dfd;

	for (int i = 0; i < 60; i++) {
		lput(e, i, 0);
		assert_int_equal(lsm_engine.sync(e), 0);
	}
	lsm_engine.close(e);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(eng_list(dfd, "t-", ".sst", &nums, &n), 0);
	close(dfd);
	assert_true(n >= 1);
	snprintf(p, sizeof(p), "%s/t-%016llx.sst", dir, (unsigned long long)nums[0]);
	free(nums);
	assert_int_equal(unlink(p), 0);
	e = NULL;
	assert_int_equal(lsm_engine.open(&e, &o), -ENG_E_CORRUPT);
	assert_non_null(strstr(eng_errmsg(), "missing"));
}

/* ---- faults (issue 7), through eio's test hook: fault_util.h ------------- */

FU_ENGINE_TESTS(&lsm_engine, "wal-", 0, 1)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_roundtrip),
		cmocka_unit_test(test_table_damage),
		cmocka_unit_test(test_manifest_codec),
		cmocka_unit_test_setup_teardown(test_flush_compact_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_stale_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_table, setup, teardown),
		FU_ENGINE_TEST_LIST(setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

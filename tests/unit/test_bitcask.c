/*
 * tests/unit/test_bitcask.c - the Bitcask engine: file header, record and
 * hint codecs; the scan's rules (torn tail, garbage, bad checksum, seq
 * order, merged files); recovery from damaged data and hint files and
 * from a stale tail (a lost commit with a later one behind it); merge.
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

#include "engines/bitcask/bitcask.h"
#include "engines/engine.h"

#include "fault_util.h"

static int count_fn(void *arg, uint64_t seq, size_t off, const uint8_t *p, size_t len)
{
	(*(int *)arg)++;
	return 0;
}

static size_t build(uint8_t *buf, const struct bc_filehdr *h, int n, const uint64_t *seqs,
		    size_t *offs)
{
	size_t pos = bc_first_record(h->block);

	memset(buf, 0, 8192);
	bc_filehdr_encode(buf, h);
	for (int i = 0; i < n; i++) {
		char key[8], val[32];
		struct eng_op op = { ENG_PUT, key, 0, val, 0 };
		uint8_t pl[64];
		size_t len;

		op.klen = (size_t)snprintf(key, sizeof(key), "k%d", i);
		op.vlen = (size_t)snprintf(val, sizeof(val), "val-%d-xxxxxxxx", i);
		len = eng_ops_size(&op, 1);
		eng_ops_encode(pl, &op, 1);
		offs[i] = pos;
		bc_record_encode(buf + pos, seqs[i], pl, len, 0);
		pos += bc_record_size(len);
	}
	return pos;
}

static void test_filehdr(void **state)
{
	struct bc_filehdr h = { 512, 1, 42, 7, 99 }, g;
	uint8_t buf[BC_FILEHDR];

	bc_filehdr_encode(buf, &h);
	assert_int_equal(bc_filehdr_decode(buf, sizeof(buf), &g), 0);
	assert_int_equal(g.block, 512);
	assert_int_equal(g.merged, 1);
	assert_int_equal(g.id, 42);
	assert_int_equal(g.base, 7);
	assert_int_equal(g.nonce, 99);
	buf[17] ^= 2;
	assert_int_equal(bc_filehdr_decode(buf, sizeof(buf), &g), -ENG_E_CORRUPT);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(bc_filehdr_decode(buf, sizeof(buf), &g), -ENG_E_FORMAT);
}

static void test_scan_rules(void **state)
{
	static uint8_t buf[8192];
	struct bc_filehdr h = { 1, 0, 1, 10, 5 };
	uint64_t seqs[4] = { 11, 12, 13, 14 };
	size_t offs[4], len = build(buf, &h, 4, seqs, offs), end;
	int n = 0;

	assert_int_equal(bc_scan(buf, len, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 4);
	assert_int_equal(end, len);
	/* torn tail */
	n = 0;
	assert_int_equal(bc_scan(buf, len - 9, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 3);
	assert_int_equal(end, offs[3]);
	/* garbage behind the last record */
	memset(buf + len, 0xa5, 100);
	n = 0;
	assert_int_equal(bc_scan(buf, len + 100, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 4);
	assert_int_equal(end, len);
	/* a damaged value: the correct checksum stops, the header-only one does not */
	buf[offs[1] + BC_RECHDR + 20] ^= 1;
	n = 0;
	assert_int_equal(bc_scan(buf, len, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 1);
	/* records at or below the file's base are not this file's */
	h.base = 11;
	n = 0;
	len = build(buf, &h, 4, seqs, offs);
	assert_int_equal(bc_scan(buf, len, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 0);
}

static void test_scan_merged_equal_seqs(void **state)
{
	static uint8_t buf[8192];
	struct bc_filehdr h = { 1, 1, 3, 0, 5 };
	uint64_t seqs[3] = { 4, 4, 9 };
	size_t offs[3], len = build(buf, &h, 3, seqs, offs), end;
	int n = 0;

	/* a merged file splits a batch in records of one seq */
	assert_int_equal(bc_scan(buf, len, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 3);
	/* an active file does not */
	h.merged = 0;
	len = build(buf, &h, 3, seqs, offs);
	n = 0;
	assert_int_equal(bc_scan(buf, len, &h, 0, count_fn, &n, &end), 0);
	assert_int_equal(n, 1);
}

static void test_hint_codec(void **state)
{
	struct bc_hint_ent in[2] = {
		{ "alpha", 5, 0, 10, 100, 7 },
		{ "b", 1, 1, 0, 0, 9 },
	}, *out;
	uint8_t *buf;
	size_t len, n;

	assert_int_equal(bc_hint_encode(in, 2, 1234, &buf, &len), 0);
	assert_int_equal(bc_hint_decode(buf, len, 1234, 0, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out[0].key, "alpha", 5);
	assert_int_equal(out[0].off, 100);
	assert_int_equal(out[1].tomb, 1);
	assert_int_equal(out[1].seq, 9);
	free(out);
	/* another incarnation of the data file */
	assert_int_equal(bc_hint_decode(buf, len, 1235, 0, &out, &n), -ENG_E_CORRUPT);
	/* a damaged entry: refused, unless trusted (the seeded bug) */
	buf[32 + 8] ^= 1;
	assert_int_equal(bc_hint_decode(buf, len, 1234, 0, &out, &n), -ENG_E_CORRUPT);
	assert_int_equal(bc_hint_decode(buf, len, 1234, 1, &out, &n), 0);
	assert_int_not_equal(out[0].off, 100);
	free(out);
	free(buf);
}

/* ---- through the engine ------------------------------------------------------ */

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_bitcask.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void *bc_open_dir(void)
{
	struct eng_opts o = { dir, EIO_BUFFERED, -1 };
	void *e = NULL;

	assert_int_equal(bc_engine.open(&e, &o), 0);
	return e;
}

static void kput(void *e, const char *k, const char *v)
{
	struct eng_op op = { ENG_PUT, k, strlen(k), v, strlen(v) };

	assert_int_equal(bc_engine.apply(e, &op, 1), 0);
}

static int kget(void *e, const char *k, char *out)
{
	void *v;
	size_t n;
	int rc = bc_engine.get(e, k, strlen(k), &v, &n);

	if (rc == 0) {
		memcpy(out, v, n);
		out[n] = 0;
		free(v);
	}
	return rc;
}

static void last_data(char *buf, size_t cap, const char *ext)
{
	uint64_t *ids;
	size_t n;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_int_equal(eng_list(dfd, "", ext, &ids, &n), 0);
	assert_true(n >= 1);
	snprintf(buf, cap, "%s/%016llx%s", dir, (unsigned long long)ids[n - 1], ext);
	free(ids);
	close(dfd);
}

static void test_recover_torn_tail(void **state)
{
	char p[512], v[64];
	struct stat st;
	void *e = bc_open_dir();
	struct eng_op batch[2] = {
		{ ENG_PUT, "b1", 2, "batch-one", 9 },
		{ ENG_PUT, "b2", 2, "batch-two", 9 },
	};

	kput(e, "a", "one");
	assert_int_equal(bc_engine.sync(e), 0);
	assert_int_equal(bc_engine.apply(e, batch, 2), 0);
	assert_int_equal(bc_engine.sync(e), 0);
	bc_engine.close(e);
	last_data(p, sizeof(p), ".data");
	assert_int_equal(stat(p, &st), 0);
	/* the batch record torn: neither of its keys, the earlier put intact */
	assert_int_equal(truncate(p, st.st_size - 10), 0);
	e = bc_open_dir();
	assert_int_equal(kget(e, "a", v), 0);
	assert_string_equal(v, "one");
	assert_int_equal(kget(e, "b1", v), -ENOENT);
	assert_int_equal(kget(e, "b2", v), -ENOENT);
	bc_engine.close(e);
}

static off_t fsize(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/*
 * The stale tail (commits in flight, sync_start): commit 3 reached the
 * active file, commit 2 did not.  Recovery ends the file at record 2 and
 * must make record 3 unreadable, or a new record of the same size written
 * in record 2's place would be followed by the stale record 3 at the next
 * recovery.
 */
static void test_recover_stale_tail(void **state)
{
	char p[512], v[64], z[64] = { 0 };
	off_t end1, rec;
	size_t n;
	void *e = bc_open_dir();
	int fd;

	kput(e, "k1", "value-1");
	assert_int_equal(bc_engine.sync(e), 0);
	last_data(p, sizeof(p), ".data");
	end1 = fsize(p);
	kput(e, "k2", "value-2");
	assert_int_equal(bc_engine.sync(e), 0);
	rec = fsize(p) - end1;
	kput(e, "k3", "value-3");
	assert_int_equal(bc_engine.sync(e), 0);
	assert_int_equal(fsize(p), end1 + 2 * rec); /* records of one size */
	bc_engine.close(e);
	/* record 2 lost: zeros where its head was, record 3 intact behind */
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	n = rec < 64 ? (size_t)rec : sizeof(z);
	assert_int_equal(pwrite(fd, z, n, end1), (ssize_t)n);
	close(fd);
	e = bc_open_dir();
	assert_int_equal(kget(e, "k1", v), 0);
	assert_int_equal(kget(e, "k2", v), -ENOENT);
	assert_int_equal(kget(e, "k3", v), -ENOENT);
	/* a new record of the same size, in record 2's place */
	kput(e, "k4", "value-4");
	assert_int_equal(bc_engine.sync(e), 0);
	bc_engine.close(e);
	e = bc_open_dir();
	assert_int_equal(kget(e, "k4", v), 0);
	assert_string_equal(v, "value-4");
	assert_int_equal(kget(e, "k3", v), -ENOENT); /* the stale record 3 stays dead */
	bc_engine.close(e);
}

static void test_merge_and_damaged_hint(void **state)
{
	char p[512], v[256], k[16], big[200];
	void *e = bc_open_dir();
	int fd;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 400; i++) {
		snprintf(k, sizeof(k), "k%d", i % 30);
		big[0] = (char)('a' + i % 26);
		kput(e, k, big);
		assert_int_equal(bc_engine.sync(e), 0);
	}
	bc_engine.close(e);
	/* a merge happened: a hint file exists */
	last_data(p, sizeof(p), ".hint");
	e = bc_open_dir();
	assert_int_equal(kget(e, "k29", v), 0);
	assert_int_equal(v[0], 'a' + 389 % 26);
	bc_engine.close(e);
	/* a damaged hint is ignored: the data file is scanned instead */
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "\xff\xff\xff\xff", 4, 40), 4);
	close(fd);
	e = bc_open_dir();
	for (int i = 370; i < 400; i++) {
		snprintf(k, sizeof(k), "k%d", i % 30);
		assert_int_equal(kget(e, k, v), 0);
		assert_int_equal(v[0], 'a' + i % 26);
	}
	bc_engine.close(e);
}

/* ---- faults (issue 7), through eio's test hook: fault_util.h ------------- */

FU_ENGINE_TESTS(&bc_engine, ".data", 0, 1)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filehdr),
		cmocka_unit_test(test_scan_rules),
		cmocka_unit_test(test_scan_merged_equal_seqs),
		cmocka_unit_test(test_hint_codec),
		cmocka_unit_test_setup_teardown(test_recover_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_stale_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_and_damaged_hint, setup, teardown),
		FU_ENGINE_TEST_LIST(setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

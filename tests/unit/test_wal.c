/*
 * tests/unit/test_wal.c - the WAL engine: record and segment codec, the
 * scan's validity rules (torn tail, garbage, bad checksum, sequence gap,
 * commit padding), and recovery from hand-damaged segment and checkpoint
 * files through the engine interface.
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
#include "engines/wal/wal.h"

#include "fault_util.h"

/* ---- codec and scan ------------------------------------------------------ */

struct seen {
	int n;
	uint64_t seqs[16];
};

static int seen_fn(void *arg, uint64_t seq, const uint8_t *p, size_t len)
{
	struct seen *s = arg;

	s->seqs[s->n++] = seq;
	return 0;
}

/* a segment of n one-put records; offsets of each record in offs[] */
static size_t make_segment(uint8_t *buf, size_t block, int n, size_t *offs, int pad_each,
			   int scope)
{
	size_t pos = wal_first_record(block);

	memset(buf, 0, 65536);
	wal_seghdr_encode(buf, (uint32_t)block, 7, 100);
	for (int i = 0; i < n; i++) {
		char key[8], val[40];
		struct eng_op op = { ENG_PUT, key, 0, val, 0 };
		uint8_t payload[128];
		size_t pl;

		op.klen = (size_t)snprintf(key, sizeof(key), "k%d", i);
		op.vlen = (size_t)snprintf(val, sizeof(val), "value number %d", i);
		pl = eng_ops_size(&op, 1);
		eng_ops_encode(payload, &op, 1);
		offs[i] = pos;
		wal_record_encode(buf + pos, 100 + (uint64_t)i, payload, pl, scope);
		pos += wal_record_size(pl);
		if (pad_each)
			pos = eio_round_up(pos, block);
	}
	return pos;
}

static void test_seghdr(void **state)
{
	uint8_t buf[WAL_SEGHDR];
	uint32_t block;
	uint64_t segno, first;

	wal_seghdr_encode(buf, 512, 9, 1234);
	assert_int_equal(wal_seghdr_decode(buf, sizeof(buf), &block, &segno, &first), 0);
	assert_int_equal(block, 512);
	assert_int_equal(segno, 9);
	assert_int_equal(first, 1234);
	buf[20] ^= 1;
	assert_int_equal(wal_seghdr_decode(buf, sizeof(buf), &block, &segno, &first),
			 -ENG_E_CORRUPT);
	buf[0] ^= 1;
	assert_int_equal(wal_seghdr_decode(buf, sizeof(buf), &block, &segno, &first),
			 -ENG_E_FORMAT);
	assert_int_equal(wal_seghdr_decode(buf, 10, &block, &segno, &first), -ENG_E_FORMAT);
}

static void test_ops_codec(void **state)
{
	struct eng_op in[2] = {
		{ ENG_PUT, "alpha", 5, "one", 3 },
		{ ENG_DEL, "beta", 4, NULL, 0 },
	};
	uint8_t buf[128];
	struct eng_op *out;
	size_t len = eng_ops_size(in, 2);
	int n;

	assert_int_equal(len, 4 + 8 + 5 + 3 + 8 + 4);
	eng_ops_encode(buf, in, 2);
	assert_int_equal(eng_ops_decode(buf, len, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].type, ENG_PUT);
	assert_memory_equal(out[0].key, "alpha", 5);
	assert_memory_equal(out[0].val, "one", 3);
	assert_int_equal(out[1].type, ENG_DEL);
	assert_int_equal(out[1].vlen, 0);
	free(out);
	/* one byte short, one byte long, a bad type */
	assert_int_equal(eng_ops_decode(buf, len - 1, &out, &n), -ENG_E_CORRUPT);
	assert_int_equal(eng_ops_decode(buf, len + 1, &out, &n), -ENG_E_CORRUPT);
	buf[4] = 9;
	assert_int_equal(eng_ops_decode(buf, len, &out, &n), -ENG_E_CORRUPT);
}

static void test_scan_whole(void **state)
{
	static uint8_t buf[65536];
	size_t offs[4], len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_FULL), end;
	struct seen s = { 0 };
	uint64_t next;

	assert_int_equal(wal_scan(buf, len, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.seqs[3], 103);
	assert_int_equal(end, len);
	assert_int_equal(next, 104);
}

static void test_scan_torn_tail(void **state)
{
	static uint8_t buf[65536];
	size_t offs[4], len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_FULL), end;
	struct seen s = { 0 };
	uint64_t next;

	/* the last record cut in its payload */
	assert_int_equal(wal_scan(buf, len - 5, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(end, offs[3]);
	/* cut inside its header */
	s.n = 0;
	assert_int_equal(wal_scan(buf, offs[3] + 10, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(end, offs[3]);
}

static void test_scan_garbage_and_checksum(void **state)
{
	static uint8_t buf[65536];
	size_t offs[4], len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_FULL), end;
	struct seen s = { 0 };
	uint64_t next;

	/* garbage after the last record */
	for (size_t i = 0; i < 300; i++)
		buf[len + i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(wal_scan(buf, len + 300, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(end, len);
	/* a flipped payload byte in record 2: the log ends before it */
	buf[offs[2] + WAL_RECHDR + 12] ^= 0x40;
	s.n = 0;
	assert_int_equal(wal_scan(buf, len, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(end, offs[2]);
	/* a checksum over the header alone does not see it: the seeded bug */
	len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_HEADER);
	buf[offs[2] + WAL_RECHDR + 12] ^= 0x40;
	s.n = 0;
	assert_int_equal(wal_scan(buf, len, 1, 100, WAL_SUM_HEADER, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 4);
}

static void test_scan_seq_gap(void **state)
{
	static uint8_t buf[65536];
	size_t offs[4], len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_FULL), end;
	struct seen s = { 0 };
	uint64_t next;

	/* the segment says it starts at 99: record 100 does not follow */
	assert_int_equal(wal_scan(buf, len, 1, 99, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(end, wal_first_record(1));
}

static void test_scan_padding(void **state)
{
	static uint8_t buf[65536];
	size_t offs[4], len = make_segment(buf, 512, 4, offs, 1, WAL_SUM_FULL), end;
	struct seen s = { 0 };
	uint64_t next;

	/* each record begins a 512-byte block: zero padding is skipped */
	assert_int_equal(offs[1] % 512, 0);
	assert_int_equal(wal_scan(buf, len, 512, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(end, len);
	/* a zeroed whole block where record 2 was: the log ends there */
	memset(buf + offs[2], 0, 512);
	s.n = 0;
	assert_int_equal(wal_scan(buf, len, 512, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 2);
	/* without padding (buffered mode), zeros end the log at once */
	len = make_segment(buf, 1, 4, offs, 0, WAL_SUM_FULL);
	memset(buf + offs[1], 0, 8);
	s.n = 0;
	assert_int_equal(wal_scan(buf, len, 1, 100, WAL_SUM_FULL, seen_fn, &s, &end, &next), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(end, offs[1]);
}

/* ---- recovery through the engine ------------------------------------------ */

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_wal.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void *open_wal(int bug)
{
	struct eng_opts o = { dir, EIO_BUFFERED, bug };
	void *e = NULL;

	assert_int_equal(wal_engine.open(&e, &o), 0);
	return e;
}

static void put(void *e, const char *k, const char *v)
{
	assert_int_equal(eng_put(&wal_engine, e, k, strlen(k), v, strlen(v)), 0);
}

static int get(void *e, const char *k, char *out)
{
	void *v;
	size_t n;
	int rc = wal_engine.get(e, k, strlen(k), &v, &n);

	if (rc == 0) {
		memcpy(out, v, n);
		out[n] = 0;
		free(v);
	}
	return rc;
}

static void segment_path(char *buf, size_t cap)
{
	uint64_t *nums;
	size_t n;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_int_equal(eng_list(dfd, "wal-", ".log", &nums, &n), 0);
	assert_true(n >= 1);
	snprintf(buf, cap, "%s/wal-%016llx.log", dir, (unsigned long long)nums[n - 1]);
	free(nums);
	close(dfd);
}

static off_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* where the log's records end: segments are preallocated with zeros, so
 * the last non-zero byte, rounded up to the 8-byte record alignment */
static off_t log_end(const char *p)
{
	off_t size = file_size(p), end = 0;
	uint8_t *b = malloc((size_t)size);
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0 && b);
	assert_int_equal(pread(fd, b, (size_t)size, 0), (ssize_t)size);
	close(fd);
	for (off_t i = size; i > 0; i--)
		if (b[i - 1]) {
			end = (i + 7) / 8 * 8;
			break;
		}
	free(b);
	return end;
}

/* a torn record over preallocated space: its last n bytes read as zeros */
static void zero_tail(const char *p, off_t end, size_t n)
{
	static const uint8_t z[64];
	int fd = open(p, O_WRONLY);

	assert_true(fd >= 0 && n <= sizeof(z));
	assert_int_equal(pwrite(fd, z, n, end - (off_t)n), (ssize_t)n);
	close(fd);
}

static void append_bytes(const char *p, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
}

static void test_recover_garbage_tail(void **state)
{
	char seg[512], v[64];
	uint8_t junk[200];
	void *e = open_wal(-1);
	off_t size;

	put(e, "a", "1");
	put(e, "b", "2");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	segment_path(seg, sizeof(seg));
	size = file_size(seg);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13 + 5);
	append_bytes(seg, junk, sizeof(junk));
	e = open_wal(-1);
	assert_int_equal(get(e, "a", v), 0);
	assert_string_equal(v, "1");
	assert_int_equal(get(e, "b", v), 0);
	/* the garbage is cut off, and appends continue behind the cut */
	assert_int_equal(file_size(seg), size);
	put(e, "c", "3");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	e = open_wal(-1);
	assert_int_equal(get(e, "c", v), 0);
	assert_string_equal(v, "3");
	wal_engine.close(e);
}

static void test_recover_torn_record(void **state)
{
	char seg[512], v[64];
	void *e = open_wal(-1);
	off_t size;

	put(e, "x", "first value");
	assert_int_equal(wal_engine.sync(e), 0);
	put(e, "x", "second value");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	segment_path(seg, sizeof(seg));
	size = log_end(seg);
	/* the second record loses the end of its payload: the first value survives */
	zero_tail(seg, size, 12);
	e = open_wal(-1);
	assert_int_equal(get(e, "x", v), 0);
	assert_string_equal(v, "first value");
	wal_engine.close(e);
}

/*
 * The stale tail (commits in flight, sync_start): commit 3 reached the disk,
 * commit 2 did not.  Recovery ends the log at record 2 and must make
 * record 3 unreadable: otherwise a new record 2 of the same size, written
 * in the old one's place, would be followed by the stale record 3 (seq 3,
 * valid checksum) at the next recovery.
 */
static void test_recover_stale_tail(void **state)
{
	char seg[512], v[64];
	void *e = open_wal(-1);
	size_t rec = wal_record_size(4 + 8 + 1 + 7);

	put(e, "a", "value-1");
	assert_int_equal(wal_engine.sync(e), 0);
	put(e, "b", "value-2");
	assert_int_equal(wal_engine.sync(e), 0);
	put(e, "c", "value-3");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	segment_path(seg, sizeof(seg));
	/* record 2 (seq 2) lost: zeros where it was, record 3 intact behind */
	zero_tail(seg, (off_t)(wal_first_record(1) + 2 * rec), rec > 64 ? 64 : rec);
	e = open_wal(-1);
	assert_int_equal(get(e, "a", v), 0);
	assert_int_equal(get(e, "b", v), -ENOENT);
	assert_int_equal(get(e, "c", v), -ENOENT);
	/* a new record 2 of the same size, in the old one's place */
	put(e, "d", "VALUE-2");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	e = open_wal(-1);
	assert_int_equal(get(e, "d", v), 0);
	assert_string_equal(v, "VALUE-2");
	assert_int_equal(get(e, "c", v), -ENOENT); /* the stale record 3 stays dead */
	wal_engine.close(e);
}

/* a batch is one record: after a tear inside it, none of it is replayed */
static void test_recover_torn_batch(void **state)
{
	struct eng_op b[3] = {
		{ ENG_PUT, "p", 1, "batch-value-one", 15 },
		{ ENG_DEL, "a", 1, NULL, 0 },
		{ ENG_PUT, "q", 1, "batch-value-two", 15 },
	};
	char seg[512], v[64];
	void *e = open_wal(-1);
	off_t size;

	put(e, "a", "before");
	assert_int_equal(wal_engine.sync(e), 0);
	assert_int_equal(eng_batch(&wal_engine, e, b, 3), 0);
	assert_int_equal(wal_engine.sync(e), 0);
	assert_int_equal(eng_delete(&wal_engine, e, "a", 1), 0);
	wal_engine.close(e);
	segment_path(seg, sizeof(seg));
	size = log_end(seg);
	zero_tail(seg, size, 20);
	e = open_wal(-1);
	assert_int_equal(get(e, "a", v), 0);
	assert_string_equal(v, "before");
	assert_int_equal(get(e, "p", v), -ENOENT);
	assert_int_equal(get(e, "q", v), -ENOENT);
	wal_engine.close(e);
}

static void test_recover_bad_checksum_bug(void **state)
{
	char seg[512], v[64];
	void *e = open_wal(-1);
	off_t size;
	int fd;

	put(e, "y", "AAAAAAAAAAAAAAAA");
	assert_int_equal(wal_engine.sync(e), 0);
	wal_engine.close(e);
	segment_path(seg, sizeof(seg));
	size = log_end(seg);
	/* damage the value inside the last record */
	fd = open(seg, O_WRONLY);
	assert_int_equal(pwrite(fd, "ZZ", 2, size - 10), 2);
	close(fd);
	/* the correct engine drops the record ... */
	e = open_wal(-1);
	assert_int_equal(get(e, "y", v), -ENOENT);
	wal_engine.close(e);
}

static void test_recover_bad_checkpoint(void **state)
{
	char p[512];
	void *e = open_wal(-1);
	struct eng_opts o = { dir, EIO_BUFFERED, -1 };
	char big[300];
	int fd;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	/* enough to rotate segments twice and write a checkpoint */
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i % 20);
		put(e, k, big);
		assert_int_equal(wal_engine.sync(e), 0);
	}
	wal_engine.close(e);
	snprintf(p, sizeof(p), "%s/checkpoint", dir);
	assert_true(file_size(p) > 40);
	e = open_wal(-1);
	wal_engine.close(e);
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, 50), 1);
	close(fd);
	e = NULL;
	assert_int_equal(wal_engine.open(&e, &o), -ENG_E_CORRUPT);
	assert_non_null(strstr(eng_errmsg(), "checkpoint"));
}

/* ---- faults (issue 7), through eio's test hook: fault_util.h ------------- */

FU_ENGINE_TESTS(&wal_engine, ".log", 0, 2)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seghdr),
		cmocka_unit_test(test_ops_codec),
		cmocka_unit_test(test_scan_whole),
		cmocka_unit_test(test_scan_torn_tail),
		cmocka_unit_test(test_scan_garbage_and_checksum),
		cmocka_unit_test(test_scan_seq_gap),
		cmocka_unit_test(test_scan_padding),
		cmocka_unit_test_setup_teardown(test_recover_garbage_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_stale_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_bad_checksum_bug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_bad_checkpoint, setup, teardown),
		FU_ENGINE_TEST_LIST(setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

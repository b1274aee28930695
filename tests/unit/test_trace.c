/*
 * tests/unit/test_trace.c - the trace codec and reader.
 *
 * Sections: helpers; codec round trip; header errors; truncation; record
 * corruption and rule 6; content and scale.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "torn/trace.h"
#include "trace_builder.h"

/* ---- helpers */

static char tdir[64];
static char tpath[128];

static int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/torn-test-trace-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(tpath, sizeof(tpath), "%s/t.trace", tdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tpath);
	rmdir(tdir);
	return 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

/* Offsets of every record of a valid trace (at most @max), via trace_next. */
static size_t record_offsets(const char *path, uint64_t *offs, size_t max)
{
	struct torn_trace *t;
	struct trace_error err;
	struct torn_event ev;
	uint64_t pos = 0, prev;
	size_t n = 0;

	assert_int_equal(trace_open(path, &t, &err), 0);
	prev = TORN_TRACE_HDR_LEN;
	while (trace_next(t, &pos, &ev)) {
		assert_true(n < max);
		offs[n++] = prev;
		prev = pos;
	}
	offs[n] = prev;              /* end of the last record */
	trace_close(t);
	return n;
}

/* A small valid trace: root, a snapshot, a file written and synced, a mark,
 * end.  Returns the number of event records. */
static int small_trace(const char *path, int with_end)
{
	tb_open(path);
	tb_root();
	tb_init_dir("d", 0755);
	tb_init_file("d/old", 0644, "old bytes", 9);
	tb_init_done();
	tb_open_file(7, "d/f", TORN_F_CREATED);
	tb_write(7, 0, "hello world", 11, 0);
	tb_fsync(7);
	tb_mark("put k1");
	if (with_end)
		tb_end();
	tb_close();
	return with_end ? 9 : 8;
}

static int open_code(const char *path, struct trace_error *err)
{
	struct torn_trace *t = NULL;
	int r = trace_open(path, &t, err);

	if (r == 0)
		trace_close(t);
	else
		assert_null(t);
	return r;
}

/* ---- codec round trip */

static void fill_event(struct torn_event *ev, unsigned type, uint8_t *chunks, uint8_t *data)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = (uint16_t)type;
	ev->flags = 0x7f;
	ev->seq = type == TORN_REC_BLOB ? 0 : 0x0102030405060708ull + type;
	ev->pid = 0x11223344u;
	ev->tid = 0x55667788u;
	ev->handle = 0xa1a2a3a4a5a6a7a8ull;
	ev->ino = 0xb1b2b3b4b5b6b7b8ull;
	ev->off = -0x123456789ll;
	ev->len = 0x7edcba9876543210ll;
	ev->result = -5;
	ev->aux_seq = 0xc1c2c3c4c5c6c7c8ull;
	ev->oflags = 0xd1d2d3d4u;
	ev->mode = 0100644u;
	ev->aux = 3;
	ev->dio_mem_align = 4096;
	ev->dio_offset_align = 512;
	ev->blksize = 4096;
	ev->path = "dir/sub/file";
	ev->path_len = 12;
	ev->path2 = "other/name";
	ev->path2_len = 10;
	ev->text = "some text, with \"quotes\"";
	ev->text_len = (uint32_t)strlen(ev->text);
	for (int i = 0; i < 48; i++)
		chunks[i] = (uint8_t)(i * 7 + 1);
	ev->chunks = chunks;
	ev->nchunks = 3;
	for (int i = 0; i < 300; i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	ev->data = data;
	ev->data_len = 0;               /* only a blob carries data */
	if (type == TORN_REC_BLOB) {
		ev->nchunks = 1;
		ev->data_len = 300;
	}
}

static void test_codec_round_trip(void **state)
{
	uint8_t chunks[48], data[300], *buf = malloc(TORN_REC_MAX);
	unsigned type, ntypes = 0;

	(void)state;
	assert_non_null(buf);
	for (type = 0; type < 256; type++) {
		struct torn_event in, out;
		long n;

		if (!trace_type_name(type))
			continue;
		ntypes++;
		fill_event(&in, type, chunks, data);
		n = trace_encode(&in, buf, TORN_REC_MAX);
		assert_int_equal(n, (long)trace_encoded_len(&in));
		assert_int_equal(trace_decode(buf, (size_t)n, &out), n);
		assert_int_equal(out.type, in.type);
		assert_int_equal(out.flags, in.flags);
		assert_true(out.seq == in.seq);
		assert_int_equal(out.pid, in.pid);
		assert_int_equal(out.tid, in.tid);
		assert_true(out.handle == in.handle);
		assert_true(out.ino == in.ino);
		assert_true(out.off == in.off);
		assert_true(out.len == in.len);
		assert_true(out.result == in.result);
		assert_true(out.aux_seq == in.aux_seq);
		assert_int_equal(out.oflags, in.oflags);
		assert_int_equal(out.mode, in.mode);
		assert_int_equal(out.aux, in.aux);
		assert_int_equal(out.dio_mem_align, in.dio_mem_align);
		assert_int_equal(out.dio_offset_align, in.dio_offset_align);
		assert_int_equal(out.blksize, in.blksize);
		assert_int_equal(out.path_len, in.path_len);
		assert_memory_equal(out.path, in.path, in.path_len);
		assert_int_equal(out.path2_len, in.path2_len);
		assert_memory_equal(out.path2, in.path2, in.path2_len);
		assert_int_equal(out.text_len, in.text_len);
		assert_memory_equal(out.text, in.text, in.text_len);
		assert_int_equal(out.nchunks, in.nchunks);
		assert_memory_equal(out.chunks, in.chunks, 16u * in.nchunks);
		assert_int_equal(out.data_len, in.data_len);
		assert_memory_equal(out.data, in.data, in.data_len);
		for (uint32_t i = 0; i < in.nchunks; i++) {
			torn_hash a = trace_chunk(&in, i), b = trace_chunk(&out, i);
			assert_true(a.lo == b.lo && a.hi == b.hi);
		}
		/* One byte short of the record: the cut-short tail, not an error. */
		assert_int_equal(trace_decode(buf, (size_t)n - 1, &out), 0);
	}
	/* Every type of section 2 has a name: 34 types. */
	assert_int_equal(ntypes, 34);

	/* Data in a record other than a blob is refused (the checksum leaves
	 * data out, so there it would be covered by nothing). */
	{
		struct torn_event in, out;
		long n;

		fill_event(&in, TORN_EV_WRITE, chunks, data);
		in.data_len = 10;
		n = trace_encode(&in, buf, TORN_REC_MAX);
		assert_true(n > 0);
		assert_int_equal(trace_decode(buf, (size_t)n, &out), -TORN_E_LAYOUT);
	}
	/* A blob's checksum covers everything but its data: a flipped data
	 * byte still decodes (the reader catches it by the content hash, see
	 * test_corrupt_blob_data); a flipped hash byte or data_len does not. */
	{
		struct torn_event in, out;
		long n;

		fill_event(&in, TORN_REC_BLOB, chunks, data);
		n = trace_encode(&in, buf, TORN_REC_MAX);
		assert_true(n > 0);
		buf[n - 1] ^= 0x01;
		assert_int_equal(trace_decode(buf, (size_t)n, &out), n);
		assert_int_equal(out.data[299], data[299] ^ 0x01);
		buf[n - 1] ^= 0x01;
		buf[TORN_REC_FIXED_LEN + in.path_len + in.path2_len + in.text_len] ^= 0x01;
		assert_int_equal(trace_decode(buf, (size_t)n, &out), -TORN_E_CHECKSUM);
		buf[TORN_REC_FIXED_LEN + in.path_len + in.path2_len + in.text_len] ^= 0x01;
		buf[116] ^= 0x01;                       /* data_len 300 -> 301 */
		assert_int_equal(trace_decode(buf, (size_t)n, &out), -TORN_E_CHECKSUM);
		buf[116] ^= 0x01;
		buf[119] = 0x7f;                        /* data_len far past the record */
		assert_int_equal(trace_decode(buf, (size_t)n, &out), -TORN_E_CHECKSUM);
	}
	free(buf);
}

static void test_codec_too_big(void **state)
{
	struct torn_event ev;
	uint8_t *buf = malloc(TORN_REC_MAX + 1);
	static uint8_t data[TORN_REC_MAX];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.type = TORN_REC_BLOB;
	ev.data = data;
	ev.data_len = TORN_REC_MAX;   /* + 128 bytes of header: too big */
	assert_int_equal(trace_encode(&ev, buf, TORN_REC_MAX + 1), -TORN_E_TOOBIG);
	ev.data_len = 100;
	assert_int_equal(trace_encode(&ev, buf, 100), -TORN_E_TOOBIG);   /* over cap */
	free(buf);
}

static void test_path_rules(void **state)
{
	(void)state;
	assert_true(trace_path_ok("", 0));
	assert_true(trace_path_ok("a", 1));
	assert_true(trace_path_ok("a/b.c/..d", 9));
	assert_false(trace_path_ok("..", 2));
	assert_false(trace_path_ok("a/../b", 6));
	assert_false(trace_path_ok(".", 1));
	assert_false(trace_path_ok("a/./b", 5));
	assert_false(trace_path_ok("/abs", 4));
	assert_false(trace_path_ok("a//b", 4));
	assert_false(trace_path_ok("a/", 2));
	assert_false(trace_path_ok("a\0b", 3));
}

/* ---- header errors */

static void test_good_trace(void **state)
{
	struct torn_trace *t;
	struct trace_error err;
	struct torn_event ev;
	uint64_t pos = 0;
	int n = 0, blobs = 0;

	(void)state;
	small_trace(tpath, 1);
	assert_int_equal(trace_open(tpath, &t, &err), 0);
	assert_false(trace_truncated(t));
	assert_int_equal(trace_tail_bytes(t), 0);
	assert_int_equal(trace_nevents(t), 9);
	assert_int_equal(trace_last_seq(t), 9);
	assert_string_equal(trace_root(t), "/tmp/root");
	assert_string_equal(trace_path(t), tpath);
	while (trace_next(t, &pos, &ev)) {
		if (ev.type == TORN_REC_BLOB) {
			blobs++;
			continue;
		}
		n++;
		assert_int_equal(ev.seq, (uint64_t)n);
	}
	assert_int_equal(n, 9);
	assert_int_equal(blobs, 2);
	/* Iteration ends and stays ended. */
	assert_int_equal(trace_next(t, &pos, &ev), 0);
	trace_close(t);
}

static void test_bad_magic(void **state)
{
	struct trace_error err;
	size_t len;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	b = slurp(tpath, &len);
	b[3] ^= 0x20;
	spit(tpath, b, len);
	assert_int_equal(open_code(tpath, &err), -TORN_E_MAGIC);
	assert_int_equal(err.code, -TORN_E_MAGIC);
	assert_non_null(strstr(err.msg, tpath));
	assert_non_null(strstr(err.msg, "magic"));
	/* A file shorter than a header. */
	spit(tpath, (const uint8_t *)"TORN", 4);
	assert_int_equal(open_code(tpath, &err), -TORN_E_MAGIC);
	assert_non_null(strstr(err.msg, "cut short"));
	spit(tpath, b, 0);
	assert_int_equal(open_code(tpath, &err), -TORN_E_MAGIC);
	free(b);
}

/* Recompute the header checksum after changing a header field. */
static void rehash_header(uint8_t *b)
{
	uint64_t h = XXH3_64bits(b, 56);

	for (int i = 0; i < 8; i++)
		b[56 + i] = (uint8_t)(h >> (8 * i));
}

static void test_unknown_version(void **state)
{
	struct trace_error err;
	size_t len;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	b = slurp(tpath, &len);
	b[8] = 2;                    /* version 2 */
	spit(tpath, b, len);
	/* Version is checked before the header checksum (rule 1's order). */
	assert_int_equal(open_code(tpath, &err), -TORN_E_VERSION);
	assert_non_null(strstr(err.msg, "version"));
	/* The same with a valid checksum: still the version that is refused. */
	rehash_header(b);
	spit(tpath, b, len);
	assert_int_equal(open_code(tpath, &err), -TORN_E_VERSION);
	b[8] = 1;
	rehash_header(b);
	spit(tpath, b, len);
	assert_int_equal(open_code(tpath, &err), 0);
	free(b);
}

static void test_header_checksum(void **state)
{
	struct trace_error err;
	size_t len;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	b = slurp(tpath, &len);
	b[30] ^= 1;                  /* created_ns: covered only by the checksum */
	spit(tpath, b, len);
	assert_int_equal(open_code(tpath, &err), -TORN_E_HDRSUM);
	assert_non_null(strstr(err.msg, "header checksum"));
	free(b);
}

static void test_missing_file(void **state)
{
	struct trace_error err;
	char p[160];

	(void)state;
	snprintf(p, sizeof(p), "%s/nope.trace", tdir);
	assert_int_equal(open_code(p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, p));
}

/* ---- truncation */

static void test_truncated_every_byte(void **state)
{
	uint64_t offs[64];
	size_t n, len, cut;
	uint8_t *b;

	(void)state;
	/* The last record is a write with a blob just before it: cutting inside
	 * the write leaves everything up to the blob readable. */
	tb_open(tpath);
	tb_root();
	tb_init_done();
	tb_open_file(1, "f", TORN_F_CREATED);
	tb_write(1, 0, "payload of the last record", 26, 0);
	tb_close();
	n = record_offsets(tpath, offs, 63);
	assert_int_equal(n, 5);      /* root, init-done, open, blob, write */
	b = slurp(tpath, &len);
	assert_int_equal(len, offs[n]);
	for (cut = offs[n - 1]; cut < len; cut++) {
		struct torn_trace *t;
		struct trace_error err;
		struct torn_event ev;
		uint64_t pos = 0, last_type = 0;
		int recs = 0;

		spit(tpath, b, cut);
		assert_int_equal(trace_open(tpath, &t, &err), 0);
		assert_true(trace_truncated(t));
		assert_int_equal(trace_tail_bytes(t), cut - offs[n - 1]);
		assert_int_equal(trace_nevents(t), 3);
		assert_int_equal(trace_last_seq(t), 3);
		while (trace_next(t, &pos, &ev)) {
			recs++;
			last_type = ev.type;
		}
		assert_int_equal(recs, 4);
		assert_int_equal(last_type, TORN_REC_BLOB);
		trace_close(t);
	}
	/* Whole but without END: truncated, no tail. */
	spit(tpath, b, len);
	{
		struct torn_trace *t;
		struct trace_error err;

		assert_int_equal(trace_open(tpath, &t, &err), 0);
		assert_true(trace_truncated(t));
		assert_int_equal(trace_tail_bytes(t), 0);
		assert_int_equal(trace_nevents(t), 4);
		trace_close(t);
	}
	free(b);
}

static void test_truncated_end_record(void **state)
{
	uint64_t offs[64];
	size_t n, len, cut;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	n = record_offsets(tpath, offs, 63);
	b = slurp(tpath, &len);
	for (cut = offs[n - 1]; cut <= len; cut++) {
		struct torn_trace *t;
		struct trace_error err;

		spit(tpath, b, cut);
		assert_int_equal(trace_open(tpath, &t, &err), 0);
		assert_int_equal(trace_truncated(t), cut < len);
		assert_int_equal(trace_tail_bytes(t), cut < len ? cut - offs[n - 1] : 0);
		assert_int_equal(trace_nevents(t), cut < len ? 8 : 9);
		trace_close(t);
	}
	free(b);
}

static void test_zero_filled_tail(void **state)
{
	struct torn_trace *t;
	struct trace_error err;
	uint64_t offs[64];
	size_t n, len;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	n = record_offsets(tpath, offs, 63);
	b = slurp(tpath, &len);
	/* The last record and 300 more bytes zeroed: what a power loss can
	 * leave.  Read up to the record before, as truncated. */
	b = realloc(b, len + 300);
	memset(b + offs[n - 1], 0, len + 300 - offs[n - 1]);
	spit(tpath, b, len + 300);
	assert_int_equal(trace_open(tpath, &t, &err), 0);
	assert_true(trace_truncated(t));
	assert_int_equal(trace_tail_bytes(t), len + 300 - offs[n - 1]);
	assert_int_equal(trace_nevents(t), 8);
	trace_close(t);
	/* One nonzero byte in those zeros: corruption again. */
	b[len + 200] = 1;
	spit(tpath, b, len + 300);
	assert_int_equal(open_code(tpath, &err), -TORN_E_RECLEN);
	assert_int_equal(err.record, n - 1);
	free(b);
}

/* ---- corruption */

static void test_corrupt_checksum(void **state)
{
	uint64_t offs[64];
	size_t n, len, k;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	n = record_offsets(tpath, offs, 63);
	b = slurp(tpath, &len);
	/* Flip a byte in the body of each record in turn: every one is caught
	 * and named by its number and offset. */
	for (k = 0; k < n; k++) {
		struct trace_error err;
		char want[96];

		b[offs[k] + 40] ^= 0x10;             /* ino field */
		spit(tpath, b, len);
		assert_int_equal(open_code(tpath, &err), -TORN_E_CHECKSUM);
		assert_int_equal(err.record, k);
		assert_int_equal(err.offset, offs[k]);
		snprintf(want, sizeof(want), "record %zu at offset %llu: ", k,
			 (unsigned long long)offs[k]);
		assert_non_null(strstr(err.msg, want));
		assert_non_null(strstr(err.msg, tpath));
		assert_non_null(strstr(err.msg, "checksum"));
		b[offs[k] + 40] ^= 0x10;
	}
	/* A length field out of range. */
	b[offs[2] + 3] = 0x7f;
	spit(tpath, b, len);
	{
		struct trace_error err;
		assert_int_equal(open_code(tpath, &err), -TORN_E_RECLEN);
		assert_int_equal(err.record, 2);
		assert_non_null(strstr(err.msg, "out of range (128..77952)"));
	}
	free(b);
}

/* A flipped byte in a blob's data (which the record checksum leaves out) is
 * caught by the reader as a content-hash mismatch, named by record and
 * offset; so is a flip in every data byte position of the blob. */
static void test_corrupt_blob_data(void **state)
{
	uint64_t offs[64];
	size_t n, len, k, blobs = 0;
	uint8_t *b;

	(void)state;
	small_trace(tpath, 1);
	n = record_offsets(tpath, offs, 63);
	b = slurp(tpath, &len);
	for (k = 0; k < n; k++) {
		uint32_t type = (uint32_t)b[offs[k] + 4] | (uint32_t)b[offs[k] + 5] << 8;
		uint64_t rlen = offs[k + 1] - offs[k];
		uint32_t dlen;

		if (type != TORN_REC_BLOB)
			continue;
		blobs++;
		memcpy(&dlen, b + offs[k] + 116, 4);
		assert_true(dlen > 0 && dlen < rlen);
		for (uint64_t at = rlen - dlen; at < rlen; at++) {
			struct trace_error err;
			char want[96];

			b[offs[k] + at] ^= 0x20;
			spit(tpath, b, len);
			assert_int_equal(open_code(tpath, &err), -TORN_E_CHECKSUM);
			assert_int_equal(err.record, k);
			assert_int_equal(err.offset, offs[k]);
			snprintf(want, sizeof(want), "record %zu at offset %llu: ", k,
				 (unsigned long long)offs[k]);
			assert_non_null(strstr(err.msg, want));
			assert_non_null(strstr(err.msg, "content hash"));
			b[offs[k] + at] ^= 0x20;
		}
	}
	assert_int_equal(blobs, 2);      /* "old bytes" and "hello world" */
	free(b);
}

/* Write a header and the raw records (seq as given, no blobs). */
static void raw_trace(struct torn_event *evs, size_t n)
{
	tb_open(tpath);
	for (size_t i = 0; i < n; i++)
		tb_raw(&evs[i]);
	tb_close();
}

static void test_escaping_paths(void **state)
{
	static const struct { const char *p; size_t len; } bad[] = {
		{ "..", 2 }, { "/abs", 4 }, { "a//b", 4 }, { "a/", 2 }, { "a\0b", 3 },
		{ "a/../../etc", 11 }, { ".", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct torn_event evs[2];
		struct trace_error err;

		evs[0] = tb_ev(TORN_EV_ROOT);
		evs[0].seq = 1;
		evs[1] = tb_ev(TORN_EV_UNLINK);
		evs[1].seq = 2;
		evs[1].path = bad[i].p;
		evs[1].path_len = (uint32_t)bad[i].len;
		raw_trace(evs, 2);
		assert_int_equal(open_code(tpath, &err), -TORN_E_PATH);
		assert_int_equal(err.record, 1);
		assert_int_equal(err.offset, TORN_TRACE_HDR_LEN + 128);

		/* The same as the second path of a rename. */
		evs[1] = tb_ev(TORN_EV_RENAME);
		evs[1].seq = 2;
		evs[1].path = "ok";
		evs[1].path_len = 2;
		evs[1].path2 = bad[i].p;
		evs[1].path2_len = (uint32_t)bad[i].len;
		raw_trace(evs, 2);
		assert_int_equal(open_code(tpath, &err), -TORN_E_PATH);
		assert_int_equal(err.record, 1);
	}
}

static void test_seq_not_increasing(void **state)
{
	struct torn_event evs[3];
	struct trace_error err;

	(void)state;
	evs[0] = tb_ev(TORN_EV_ROOT);
	evs[0].seq = 1;
	evs[1] = tb_ev(TORN_EV_MARK);
	evs[1].seq = 5;
	evs[2] = tb_ev(TORN_EV_MARK);
	evs[2].seq = 5;
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), -TORN_E_SEQ);
	assert_int_equal(err.record, 2);
	assert_non_null(strstr(err.msg, "seq 5"));
	evs[2].seq = 4;
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), -TORN_E_SEQ);
	evs[2].seq = 6;
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), 0);
	/* An event with seq 0 is not an event seq. */
	evs[0].seq = 0;
	raw_trace(evs, 1);
	assert_int_equal(open_code(tpath, &err), -TORN_E_SEQ);
}

static void test_blob_missing(void **state)
{
	struct torn_event evs[3];
	struct trace_error err;
	uint8_t chunk[16];
	torn_hash h = trace_hash("abc", 3);

	(void)state;
	for (int i = 0; i < 8; i++) {
		chunk[i] = (uint8_t)(h.lo >> (8 * i));
		chunk[8 + i] = (uint8_t)(h.hi >> (8 * i));
	}
	evs[0] = tb_ev(TORN_EV_OPEN);
	evs[0].seq = 1;
	evs[0].handle = 1;
	evs[0].path = "f";
	evs[0].path_len = 1;
	evs[0].flags = TORN_F_CREATED;
	evs[1] = tb_ev(TORN_EV_WRITE);
	evs[1].seq = 2;
	evs[1].handle = 1;
	evs[1].len = evs[1].result = 3;
	evs[1].chunks = chunk;
	evs[1].nchunks = 1;
	raw_trace(evs, 2);
	assert_int_equal(open_code(tpath, &err), -TORN_E_NOBLOB);
	assert_int_equal(err.record, 1);
	/* With the blob before it, the same trace reads. */
	evs[2] = evs[1];
	evs[1] = tb_ev(TORN_REC_BLOB);
	evs[1].chunks = chunk;
	evs[1].nchunks = 1;
	evs[1].data = (const uint8_t *)"abc";
	evs[1].data_len = 3;
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), 0);
	/* A blob whose bytes do not match its hash. */
	evs[1].data = (const uint8_t *)"abd";
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), -TORN_E_CHECKSUM);
	assert_int_equal(err.record, 1);
	/* A write whose content is shorter than its result. */
	evs[1].data = (const uint8_t *)"abc";
	evs[2].result = 4;
	raw_trace(evs, 3);
	assert_int_equal(open_code(tpath, &err), -TORN_E_LAYOUT);
	assert_int_equal(err.record, 2);
}

static void test_handle_before_open(void **state)
{
	struct torn_event evs[2];
	struct trace_error err;

	(void)state;
	evs[0] = tb_ev(TORN_EV_ROOT);
	evs[0].seq = 1;
	evs[1] = tb_ev(TORN_EV_FSYNC);
	evs[1].seq = 2;
	evs[1].handle = 42;
	raw_trace(evs, 2);
	assert_int_equal(open_code(tpath, &err), -TORN_E_HANDLE);
	assert_int_equal(err.record, 1);
	assert_non_null(strstr(err.msg, "handle 42"));
	/* A failed open does not open the handle. */
	evs[0] = tb_ev(TORN_EV_OPEN);
	evs[0].seq = 1;
	evs[0].handle = 42;
	evs[0].path = "x";
	evs[0].path_len = 1;
	evs[0].result = -ENOENT;
	raw_trace(evs, 2);
	assert_int_equal(open_code(tpath, &err), -TORN_E_HANDLE);
	evs[0].result = 3;
	raw_trace(evs, 2);
	assert_int_equal(open_code(tpath, &err), 0);
}

static void test_unknown_type(void **state)
{
	struct torn_event evs[2];
	struct trace_error err;

	(void)state;
	evs[0] = tb_ev(TORN_EV_ROOT);
	evs[0].seq = 1;
	evs[1] = tb_ev(99);
	evs[1].seq = 2;
	raw_trace(evs, 2);
	assert_int_equal(open_code(tpath, &err), -TORN_E_TYPE);
	assert_int_equal(err.record, 1);
	assert_non_null(strstr(err.msg, "record 1 at offset 192: unknown record type 99"));
}

/* ---- content and scale */

static void test_content_across_chunks(void **state)
{
	struct torn_trace *t;
	struct trace_error err;
	struct torn_event ev;
	size_t len = 3 * TORN_CHUNK + 1234;
	uint8_t *data = malloc(len), *got = malloc(len);
	uint64_t pos = 0;
	int found = 0, blobs = 0;

	(void)state;
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 16));
	tb_open(tpath);
	tb_root();
	tb_open_file(1, "big", TORN_F_CREATED);
	tb_write(1, 0, data, len, 0);
	tb_write(1, (int64_t)len, data, len, 0);   /* same content: no new blobs */
	tb_end();
	tb_close();
	assert_int_equal(trace_open(tpath, &t, &err), 0);
	while (trace_next(t, &pos, &ev)) {
		if (ev.type == TORN_REC_BLOB)
			blobs++;
		if (ev.type != TORN_EV_WRITE)
			continue;
		found++;
		assert_int_equal(ev.nchunks, 4);
		memset(got, 0, len);
		assert_int_equal(trace_content(t, &ev, 0, got, len), 0);
		assert_memory_equal(got, data, len);
		/* Ranges straddling each boundary. */
		for (uint64_t from = TORN_CHUNK - 3; from < len; from += TORN_CHUNK) {
			size_t n = from + TORN_CHUNK + 10 <= len ? TORN_CHUNK + 10 : len - from;
			assert_int_equal(trace_content(t, &ev, from, got, n), 0);
			assert_memory_equal(got, data + from, n);
		}
		assert_int_equal(trace_content(t, &ev, len - 1, got, 2), -ERANGE);
	}
	assert_int_equal(found, 2);
	assert_int_equal(blobs, 4);
	{
		uint32_t bl;
		const uint8_t *b = trace_blob(t, trace_hash(data + 3 * TORN_CHUNK, 1234), &bl);
		assert_non_null(b);
		assert_int_equal(bl, 1234);
		assert_memory_equal(b, data + 3 * TORN_CHUNK, 1234);
		assert_null(trace_blob(t, trace_hash("nope", 4), &bl));
	}
	trace_close(t);
	free(data);
	free(got);
}

static void test_large_trace(void **state)
{
	struct torn_trace *t;
	struct trace_error err;
	struct torn_event ev;
	uint64_t pos = 0, writes = 0, seq = 0;
	enum { N = 10000 };
	char buf[64];

	(void)state;
	tb_open(tpath);
	tb_root();
	for (int h = 1; h <= 16; h++) {
		snprintf(buf, sizeof(buf), "f%d", h);
		tb_open_file((uint64_t)h, buf, TORN_F_CREATED);
	}
	for (int i = 0; i < N; i++) {
		int n = snprintf(buf, sizeof(buf), "record %d of the large trace", i % 500);
		tb_pid(100 + (uint32_t)(i % 3), 200 + (uint32_t)(i % 7));
		tb_write((uint64_t)(i % 16 + 1), (int64_t)i * 64, buf, (uint64_t)n, 0);
	}
	tb_end();
	tb_close();

	assert_int_equal(trace_open(tpath, &t, &err), 0);
	assert_false(trace_truncated(t));
	assert_int_equal(trace_nevents(t), 1 + 16 + N + 1);
	assert_int_equal(trace_last_seq(t), 1 + 16 + N + 1);
	while (trace_next(t, &pos, &ev)) {
		if (ev.type == TORN_REC_BLOB)
			continue;
		assert_true(ev.seq == ++seq);
		if (ev.type != TORN_EV_WRITE)
			continue;
		{
			int i = (int)writes++;
			int n = snprintf(buf, sizeof(buf), "record %d of the large trace", i % 500);
			char got[64];

			assert_int_equal(ev.result, n);
			assert_true(ev.off == (int64_t)i * 64);
			assert_int_equal(ev.handle, (uint64_t)(i % 16 + 1));
			assert_int_equal(ev.pid, 100 + (uint32_t)(i % 3));
			assert_int_equal(trace_content(t, &ev, 0, got, (size_t)n), 0);
			assert_memory_equal(got, buf, (size_t)n);
		}
	}
	assert_int_equal(writes, N);
	trace_close(t);
}

/* ---- robustness: damaged and hostile traces never crash the reader */

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rnd_state >> 33) % n;
}

/* Open, and when that succeeds read every record and every content. */
static int read_all(const char *path)
{
	struct torn_trace *t;
	struct trace_error err;
	struct torn_event ev;
	uint64_t pos = 0;
	static uint8_t buf[TORN_WRITE_MAX_CHUNKS * 16];
	int r = trace_open(path, &t, &err);

	if (r < 0) {
		/* A specific code and a message naming the file. */
		assert_true(r < 0 && (-r < TORN_E_LAST));
		assert_non_null(strstr(err.msg, path));
		return r;
	}
	while (trace_next(t, &pos, &ev))
		if (ev.type == TORN_EV_WRITE && ev.result > 0 && ev.result <= (int64_t)sizeof(buf))
			assert_int_equal(trace_content(t, &ev, 0, buf, (size_t)ev.result), 0);
	trace_close(t);
	return 0;
}

static void test_random_damage(void **state)
{
	size_t len;
	uint8_t *orig, *b;
	int ok = 0, bad = 0;

	(void)state;
	small_trace(tpath, 1);
	orig = slurp(tpath, &len);
	b = malloc(len + 64);
	rnd_state = 12345;
	for (int i = 0; i < 3000; i++) {
		size_t n = len;

		memcpy(b, orig, len);
		switch (rnd(4)) {
		case 0:                          /* flip 1..4 bytes anywhere */
			for (int k = 1 + (int)rnd(4); k > 0; k--)
				b[rnd((uint32_t)len)] ^= (uint8_t)(1 + rnd(255));
			break;
		case 1:                          /* cut anywhere */
			n = rnd((uint32_t)len);
			break;
		case 2:                          /* garbage appended */
			for (int k = 0; k < 64; k++)
				b[len + (size_t)k] = (uint8_t)rnd(256);
			n = len + 1 + rnd(64);
			break;
		case 3: {                        /* a length field set to a random value */
			size_t at = TORN_TRACE_HDR_LEN + rnd((uint32_t)(len - TORN_TRACE_HDR_LEN - 4));
			uint32_t v = rnd(2) ? rnd(1u << 31) : rnd(300);
			memcpy(b + at, &v, 4);
			break;
		}
		}
		spit(tpath, b, n);
		if (read_all(tpath) == 0)
			ok++;
		else
			bad++;
	}
	/* Both outcomes happened: cuts read fine, flips are caught. */
	assert_true(ok > 300 && bad > 300);
	free(b);
	free(orig);
}

/* Records with valid checksums but random fields: rules 4-6 and the
 * content checks must refuse them cleanly, or accept them consistently. */
static void test_random_records(void **state)
{
	static const char *const paths[] = { "a", "b/c", "", "..", "a//b", "/x", "ok/../x" };
	uint8_t chunks[16 * 4], data[300];
	int ok = 0, bad = 0;

	(void)state;
	rnd_state = 777;
	for (int i = 0; i < 2000; i++) {
		int nrec = 1 + (int)rnd(6);

		tb_open(tpath);
		for (int k = 0; k < nrec; k++) {
			struct torn_event ev;
			const char *p = paths[rnd(7)], *p2 = paths[rnd(7)];

			memset(&ev, 0, sizeof(ev));
			ev.type = (uint16_t)(rnd(4) ? (unsigned[]){ 1, 10, 12, 20, 21, 23, 24, 28, 40, 46,
								     60, 70, 71, 99 }[rnd(14)] : rnd(100));
			ev.seq = rnd(3) ? (uint64_t)k + 1 : rnd(4);
			ev.handle = rnd(3);
			ev.result = (int64_t)rnd(20) - 5;
			ev.len = (int64_t)rnd(400);
			ev.path = p;
			ev.path_len = (uint32_t)strlen(p);
			ev.path2 = p2;
			ev.path2_len = rnd(2) ? (uint32_t)strlen(p2) : 0;
			for (size_t j = 0; j < sizeof(chunks); j++)
				chunks[j] = (uint8_t)rnd(4);
			ev.chunks = chunks;
			ev.nchunks = rnd(3);
			ev.data = data;
			ev.data_len = rnd(2) ? 0 : rnd(300);
			if (ev.type == TORN_REC_BLOB && rnd(2)) {
				/* A real blob, so later events can name it. */
				torn_hash h = trace_hash(data, ev.data_len);
				memcpy(chunks, &h.lo, 8);
				memcpy(chunks + 8, &h.hi, 8);
				ev.nchunks = 1;
			}
			tb_raw(&ev);
		}
		tb_close();
		if (read_all(tpath) == 0)
			ok++;
		else
			bad++;
	}
	print_message("random records: %d accepted, %d refused\n", ok, bad);
	assert_true(ok >= 10 && bad > 1000);   /* fixed seed: 20 and 1980 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_round_trip),
		cmocka_unit_test(test_codec_too_big),
		cmocka_unit_test(test_path_rules),
		cmocka_unit_test_setup_teardown(test_good_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_end_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_filled_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_blob_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_not_increasing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_across_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

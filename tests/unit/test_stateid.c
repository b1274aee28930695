/*
 * tests/unit/test_stateid.c - state ids (recovery/crash_stateid.c) and the
 * state object (crash_state.c): round trips, malformed ids, canonical
 * formatting, hashes, garbage, explain, and safe materialisation.
 */
#include "tests/unit/crash_util.h"

static struct crash_space *sp(struct torn_trace *t, const char *strat, const char *pts,
			      const char *tear)
{
	struct crash_opts o;

	ct_opts(&o, strat, pts, tear);
	return ct_space(t, &o);
}

/* create n, extending write AB (size + 2 units), truncate, rename n -> m. */
static uint64_t s_create, s_write, s_trunc, s_rename;

static struct torn_trace *mixed(void)
{
	ct_begin();
	ct_init_file("keep", "K");
	tb_init_done();
	s_create = tb_open_file(1, "n", TORN_F_CREATED);
	s_write = ct_write(1, 0, "AB", 0);
	s_trunc = tb_truncate(1, 1536);
	s_rename = tb_rename("n", "m", 0);
	tb_mark("done");
	return ct_finish();
}

/* Every state of the trace, every tear kind: the id parses back to the
 * same id, the same hash and the same files. */
static void test_round_trip(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, "exhaustive", "all", "zeros,garbage");
	struct ct_coll c;
	char err[256];
	size_t i, z = 0, g = 0;

	assert_int_equal(ct_collect(s, &c), 0);
	/* at the end: 2 (create) x 2 (size) x 4 x 4 (data) x 2 (truncate) x 2 (rename) */
	assert_true(c.n > 256);
	for (i = 0; i < c.n; i++) {
		struct crash_state *st = NULL;
		torn_hash h;
		char *d;

		if (crash_state_from_id(s, c.id[i], &st, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_string_equal(crash_state_id(st), c.id[i]);
		assert_int_equal(crash_state_point(st), c.point[i]);
		h = crash_state_hash(st);
		assert_true(h.lo == c.hash[i].lo && h.hi == c.hash[i].hi);
		d = ct_describe(st);
		assert_string_equal(d, c.desc[i]);
		free(d);
		z += strstr(c.id[i], ":z") != NULL;
		g += strstr(c.id[i], ":g") != NULL;
		crash_state_free(st);
	}
	assert_true(z > 0 && g > 0);
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

/* The enumerator builds states on top of a settled prefix of the trace;
 * crash_state_from_id replays from the start: both give the same files at
 * every crash point of a trace with fsyncs, a failed one, an O_DSYNC
 * overwrite of a pending sector and namespace operations made durable. */
/* fsyncs, a failed one, an O_DSYNC overwrite of a pending sector and
 * namespace operations made durable. */
static struct torn_trace *synced(void)
{
	ct_begin();
	ct_init_file("a", "oooo");
	tb_init_dir("d", 0755);
	tb_init_done();
	tb_open_file(1, "a", 0);
	tb_open_file_ex(2, "a", 0, O_RDWR | O_DSYNC, 0100644);
	tb_open_dir(3, "");
	ct_write(1, 0, "AB", 0);
	tb_fsync(1);
	ct_write(1, 1024, "C", 0);
	ct_write(2, 1024, "D", 0);           /* durable at once, over a pending C */
	tb_open_file(4, "d/n", TORN_F_CREATED);
	ct_write(4, 0, "EF", 0);
	tb_next_result(-EIO);
	tb_fsync(4);                         /* E, F lost */
	ct_write(4, 1024, "G", 0);
	tb_fsync(4);
	tb_rename("a", "d/a2", 0);
	tb_fsync(3);
	ct_write(1, 1536, "H", 0);
	tb_truncate(1, 1024);
	tb_mark("end");
	return ct_finish();
}

static void test_round_trip_synced(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;
	char err[256];
	size_t i;

	t = synced();
	s = sp(t, "exhaustive", "all", "zeros");
	assert_int_equal(ct_collect(s, &c), 0);
	assert_true(c.n > 100);
	for (i = 0; i < c.n; i++) {
		struct crash_state *st = NULL;
		torn_hash h;
		char *d;

		if (crash_state_from_id(s, c.id[i], &st, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		h = crash_state_hash(st);
		d = ct_describe(st);
		if (strcmp(d, c.desc[i]) || h.lo != c.hash[i].lo || h.hi != c.hash[i].hi)
			fail_msg("%s: enumerated '%s', from id '%s'", c.id[i], c.desc[i], d);
		free(d);
		crash_state_free(st);
	}
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

struct bad {
	const char *id;      /* %E is replaced by the end point, %W by the write's seq */
	const char *msg;     /* expected in the error */
};

static void expand(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 24 < len; in++) {
		if (in[0] == '%' && (in[1] == 'E' || in[1] == 'W' || in[1] == 'C')) {
			uint64_t v = in[1] == 'E' ? ct_end : in[1] == 'W' ? s_write : s_create;
			o += (size_t)snprintf(out + o, len - o, "%llu", (unsigned long long)v);
			in++;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static void test_malformed(void **state)
{
	static const struct bad bad[] = {
		{ "", "empty" },
		{ "x5", "expected 'p'" },
		{ "p", "bad crash point" },
		{ "p12x", "bad crash point" },
		{ "p999999", "outside the trace" },
		{ "p0", "outside the trace" },
		{ "p%E:", "bad deviation ''" },
		{ "p%E:q3", "bad deviation 'q3'" },
		{ "p%E:d", "expected an event seq" },
		{ "p%E:d%W.x", "expected a unit number" },
		{ "p%E:d%W.1y", "trailing characters" },
		{ "p%E:d%W.7", "names no unit" },
		{ "p%E:d%W.0:d%W.0", "named twice" },
		{ "p%E:d%W.0:z%W.0", "named twice" },
		{ "p%E:z%W.sz", "only data units" },
		{ "p%E:g%C", "only data units" },
		{ "p%W:d%W.0", "not issued yet" },
		{ "p%E:d1", "names no unit" },
		{ "s1000/p%E", "bad option prefix" },
		{ "s4096/p%E", "made with options 's4096/'" },
		{ "s512mx/p%E", "bad option prefix" },
		/* Ranges and whole writes. */
		{ "p%E:d%W.1-0", "bad deviation 'd%W.1-0': reversed range" },
		{ "p%E:d%W.0-", "expected a unit number after '-'" },
		{ "p%E:d%W.0-1x", "trailing characters" },
		{ "p%E:d%W.0-5", "deviation 'd%W.0-5': the range goes beyond the units" },
		{ "p%E:d%W.0-1:d%W.1", "unit %W.1 named twice, by 'd%W.0-1' and 'd%W.1' (overlapping)" },
		{ "p%E:z%W.0-1:d%W.1-1", "unit %W.1 named twice, by 'z%W.0-1' and 'd%W.1-1' (overlapping)" },
		{ "p%E:d%W:d%W.sz", "unit %W.sz named twice, by 'd%W' and 'd%W.sz' (overlapping)" },
		{ "p%E:z%W", "deviation 'z%W': a whole write can only be dropped" },
		{ "p%E:z%W.sz-1", "trailing characters" },
		{ "p%W:d%W.0-1", "deviation 'd%W.0-1': a data unit (unit %W.0) not pending at crash "
		  "point %W (not issued yet)" },
		{ "p%W:d%W", "deviation 'd%W': a size update (unit %W.sz) not pending" },
	};
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, NULL, NULL, NULL);
	struct crash_state *st = NULL;
	char id[128], msg[256], err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		expand(bad[i].id, id, sizeof(id));
		err[0] = 0;
		assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), -EINVAL);
		assert_null(st);
		expand(bad[i].msg, msg, sizeof(msg));
		if (!strstr(err, msg))
			fail_msg("id '%s': error '%s' lacks '%s'", id, err, msg);
		assert_null(strstr(err, "state id '"));   /* the caller names the id */
	}
	crash_space_free(s);
	trace_close(t);
}

/* A unit already durable or lost at the crash point is not pending. */
static void test_not_pending(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct crash_state *st = NULL;
	char id[128], err[256];
	uint64_t w1, w2;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	w1 = ct_write(1, 0, "A", 0);
	tb_fsync(1);
	w2 = ct_write(1, 512, "B", 0);
	tb_next_result(-EIO);
	tb_fsync(1);
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL);
	snprintf(id, sizeof(id), "p%llu:d%llu.0", (unsigned long long)ct_end, (unsigned long long)w1);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "already durable"));
	snprintf(id, sizeof(id), "p%llu:d%llu.1", (unsigned long long)ct_end, (unsigned long long)w2);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "lost by a failed fsync"));
	snprintf(id, sizeof(id), "p%llu:d%llu", (unsigned long long)ct_end, (unsigned long long)w2);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), -EINVAL);
	snprintf(id, sizeof(id), "(unit %llu.1) not pending", (unsigned long long)w2);
	assert_non_null(strstr(err, id));
	assert_non_null(strstr(err, "lost by a failed fsync"));
	/* Before the failed fsync it was pending. */
	snprintf(id, sizeof(id), "p%llu:d%llu.1", (unsigned long long)w2 + 1, (unsigned long long)w2);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), 0);
	crash_state_free(st);
	crash_space_free(s);
	trace_close(t);
}

static void test_format_canonical(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_opts o;
	struct crash_space *s = sp(t, NULL, NULL, NULL);
	struct crash_state *st = NULL;
	struct crash_dev d[4] = {
		{ s_rename, CRASH_UNIT_WHOLE, 'd' },
		{ s_write, 1, 'z' },
		{ s_write, CRASH_UNIT_SIZE, 'd' },
		{ s_write, 0, 'g' },
	};
	const struct crash_dev *got;
	char buf[256], want[256], err[256];
	size_t n;

	assert_true(crash_id_format(s, ct_end, d, 4, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "p%llu:d%llu.sz:g%llu.0:z%llu.1:d%llu", (unsigned long long)ct_end,
		 (unsigned long long)s_write, (unsigned long long)s_write, (unsigned long long)s_write,
		 (unsigned long long)s_rename);
	assert_string_equal(buf, want);
	assert_int_equal(crash_id_format(s, ct_end, d, 4, buf, 10), -ENOSPC);
	/* The parsed state carries the same devs, sorted. */
	assert_int_equal(crash_state_from_id(s, want, &st, err, sizeof(err)), 0);
	got = crash_state_devs(st, &n);
	assert_int_equal(n, 4);
	assert_int_equal(got[0].unit, CRASH_UNIT_SIZE);
	assert_int_equal(got[1].kind, 'g');
	assert_int_equal(got[3].unit, CRASH_UNIT_WHOLE);
	crash_state_free(st);
	/* An unsorted id parses to the canonical one. */
	snprintf(buf, sizeof(buf), "p%llu:d%llu:z%llu.1:g%llu.0:d%llu.sz", (unsigned long long)ct_end,
		 (unsigned long long)s_rename, (unsigned long long)s_write, (unsigned long long)s_write,
		 (unsigned long long)s_write);
	assert_int_equal(crash_state_from_id(s, buf, &st, err, sizeof(err)), 0);
	assert_string_equal(crash_state_id(st), want);
	crash_state_free(st);
	/* Conflicting kinds for one unit cannot be formatted. */
	d[0] = d[3];
	d[0].kind = 'z';
	assert_int_equal(crash_id_format(s, ct_end, d, 4, buf, sizeof(buf)), -EINVAL);
	crash_space_free(s);

	/* Non-default options are a prefix of the id, and parse back. */
	crash_opts_default(&o);
	o.sector = 4096;
	o.atomic = 8192;
	o.model = CRASH_MODEL_BUFFERED;
	s = ct_space(t, &o);
	assert_true(crash_id_format(s, ct_end, NULL, 0, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "s4096a8192mb/p%llu", (unsigned long long)ct_end);
	assert_string_equal(buf, want);
	assert_int_equal(crash_state_from_id(s, want, &st, err, sizeof(err)), 0);
	crash_state_free(st);
	crash_opts_default(&o);
	assert_int_equal(crash_id_parse_opts(want, &o, err, sizeof(err)), 0);
	assert_int_equal(o.sector, 4096);
	assert_int_equal(o.atomic, 8192);
	assert_int_equal(o.model, CRASH_MODEL_BUFFERED);
	assert_int_equal(crash_id_parse_opts("p5", &o, err, sizeof(err)), 0);
	assert_int_equal(o.sector, 512);
	assert_int_equal(o.atomic, 0);
	assert_int_equal(o.model, CRASH_MODEL_AUTO);
	assert_int_equal(crash_id_parse_opts("s12/p5", &o, err, sizeof(err)), -EINVAL);
	crash_space_free(s);
	trace_close(t);
}

#define HEQ(a, b) ((a).lo == (b).lo && (a).hi == (b).hi)

/* Parse @in (a %E/%W/%C template) and check its canonical id is @want. */
static void canon(struct crash_space *s, const char *in, const char *want)
{
	struct crash_state *st = NULL;
	char id[256], w[256], err[256];

	expand(in, id, sizeof(id));
	expand(want, w, sizeof(w));
	if (crash_state_from_id(s, id, &st, err, sizeof(err)) < 0)
		fail_msg("%s: %s", id, err);
	if (strcmp(crash_state_id(st), w))
		fail_msg("'%s' formats as '%s', expected '%s'", id, crash_state_id(st), w);
	crash_state_free(st);
}

/* Compact ids: runs of units of one kind as ranges, a write dropped whole
 * as its seq; the long forms parse to the same state and format compact. */
static void test_compact(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, NULL, NULL, "zeros,garbage");
	struct crash_dev d[8];
	struct crash_state *a = NULL, *b = NULL;
	char buf[256], want[256], err[256];
	uint64_t w8;
	size_t i, n;
	int k;

	canon(s, "p%E:d%W.sz:d%W.0:d%W.1", "p%E:d%W");
	canon(s, "p%E:d%W.1:d%W.0:d%W.sz", "p%E:d%W");
	canon(s, "p%E:d%W.0-1:d%W.sz", "p%E:d%W");
	canon(s, "p%E:d%W", "p%E:d%W");
	canon(s, "p%E:d%W.0:d%W.1", "p%E:d%W.0-1");
	canon(s, "p%E:d%W.1-1", "p%E:d%W.1");
	canon(s, "p%E:z%W.0:z%W.1", "p%E:z%W.0-1");
	canon(s, "p%E:d%W.sz:z%W.0-1", "p%E:d%W.sz:z%W.0-1");
	canon(s, "p%E:z%W.0:g%W.1", "p%E:z%W.0:g%W.1");
	canon(s, "p%E:d%W.0:z%W.1", "p%E:d%W.0:z%W.1");
	canon(s, "p%E:d%W.sz:d%W.0:g%W.1", "p%E:d%W.sz:d%W.0:g%W.1");
	canon(s, "p%E:d%W:d%C", "p%E:d%C:d%W");
	/* The whole form and the long one are the same state. */
	expand("p%E:d%W", buf, sizeof(buf));
	assert_int_equal(crash_state_from_id(s, buf, &a, err, sizeof(err)), 0);
	expand("p%E:d%W.sz:d%W.0:d%W.1", buf, sizeof(buf));
	assert_int_equal(crash_state_from_id(s, buf, &b, err, sizeof(err)), 0);
	crash_state_devs(a, &n);
	assert_int_equal(n, 3);
	assert_true(HEQ(crash_state_hash(a), crash_state_hash(b)));
	crash_state_free(a);
	crash_state_free(b);
	crash_space_free(s);
	trace_close(t);

	/* Eight units: runs with gaps, a run broken by a kind change. */
	ct_begin();
	ct_init_file("f", "oooooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	w8 = ct_write(1, 0, "ABCDEFGH", 0);
	t = ct_finish();
	s = sp(t, NULL, NULL, "zeros");
	for (i = 0, n = 0; i < 8; i++)
		if (i != 3 && i != 6)
			d[n++] = (struct crash_dev){ w8, (int64_t)(7 - i), i == 5 ? 'z' : 'd' };
	k = crash_id_format(s, ct_end, d, n, buf, sizeof(buf));
	assert_true(k > 0);
	snprintf(want, sizeof(want), "p%llu:d%llu.0:z%llu.2:d%llu.3:d%llu.5-7",
		 (unsigned long long)ct_end, (unsigned long long)w8, (unsigned long long)w8,
		 (unsigned long long)w8, (unsigned long long)w8);
	assert_string_equal(buf, want);
	assert_int_equal(k, (int)strlen(want));
	/* Every unit dropped: the write (no size unit: it does not extend). */
	for (i = 0; i < 8; i++)
		d[i] = (struct crash_dev){ w8, (int64_t)i, 'd' };
	assert_true(crash_id_format(s, ct_end, d, 8, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "p%llu:d%llu", (unsigned long long)ct_end, (unsigned long long)w8);
	assert_string_equal(buf, want);
	/* Every unit zeroed: one range (only drops have the whole form). */
	for (i = 0; i < 8; i++)
		d[i].kind = 'z';
	assert_true(crash_id_format(s, ct_end, d, 8, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "p%llu:z%llu.0-7", (unsigned long long)ct_end,
		 (unsigned long long)w8);
	assert_string_equal(buf, want);
	crash_space_free(s);
	trace_close(t);
}

static torn_hash hash_of(struct crash_space *s, const char *fmt, ...)
{
	struct crash_state *st = NULL;
	char id[256], err[256];
	va_list ap;
	torn_hash h;

	va_start(ap, fmt);
	vsnprintf(id, sizeof(id), fmt, ap);
	va_end(ap);
	if (crash_state_from_id(s, id, &st, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	h = crash_state_hash(st);
	crash_state_free(st);
	return h;
}

static void test_hash(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, NULL, NULL, "zeros,garbage");
	unsigned long long e = ct_end, w = s_write, c = s_create;
	torn_hash a, b;

	/* Without its size the data is cut: same files, same hash. */
	a = hash_of(s, "p%llu:d%llu.sz:d%llu", e, w, s_trunc);
	b = hash_of(s, "p%llu:d%llu.sz:d%llu.0:d%llu.1:d%llu", e, w, w, w, s_trunc);
	assert_true(HEQ(a, b));
	/* A mark changes no file: the states before and after it are equal. */
	a = hash_of(s, "p%llu", e);
	b = hash_of(s, "p%llu", e - 2);
	assert_true(HEQ(a, b));
	/* The create not persisted but the rename that names the inode did:
	 * the file is there under its new name (each operation independent). */
	b = hash_of(s, "p%llu:d%llu", e, c);
	assert_true(HEQ(a, b));
	/* A file missing, a unit zeroed, garbage: all different. */
	b = hash_of(s, "p%llu:d%llu:d%llu", e, c, s_rename);
	assert_false(HEQ(a, b));
	b = hash_of(s, "p%llu:z%llu.0", e, w);
	assert_false(HEQ(a, b));
	a = hash_of(s, "p%llu:g%llu.0", e, w);
	assert_false(HEQ(a, b));
	/* Garbage is a function of (seq, unit): reproducible. */
	b = hash_of(s, "p%llu:g%llu.0", e, w);
	assert_true(HEQ(a, b));
	b = hash_of(s, "p%llu:g%llu.1", e, w);
	assert_false(HEQ(a, b));
	crash_space_free(s);
	trace_close(t);
}

/* Same files reached by different histories hash the same. */
static void test_hash_order_independent(void **state)
{
	struct torn_trace *t1, *t2;
	struct crash_space *s1, *s2;
	torn_hash a, b;

	ct_begin();
	tb_init_done();
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_open_file(2, "b", TORN_F_CREATED);
	ct_write(2, 0, "B", 0);
	t1 = ct_finish();
	s1 = sp(t1, NULL, NULL, NULL);
	a = hash_of(s1, "p%llu", (unsigned long long)ct_end);

	ct_begin();
	tb_init_done();
	tb_open_file(2, "b", TORN_F_CREATED);
	ct_write(2, 0, "B", 0);
	tb_open_file(1, "a", TORN_F_CREATED);
	t2 = ct_finish();
	s2 = sp(t2, NULL, NULL, NULL);
	b = hash_of(s2, "p%llu", (unsigned long long)ct_end);
	assert_true(HEQ(a, b));
	crash_space_free(s1);
	crash_space_free(s2);
	trace_close(t1);
	trace_close(t2);
}

static char *explain(struct crash_space *s, const char *fmt, ...)
{
	struct crash_state *st = NULL;
	char id[256], err[256], *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(id, sizeof(id), fmt, ap);
	va_end(ap);
	if (crash_state_from_id(s, id, &st, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(crash_state_explain(st, f), 0);
	fclose(f);
	crash_state_free(st);
	return buf;
}

static void test_explain(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, NULL, NULL, "zeros,garbage");
	unsigned long long e = ct_end, w = s_write;
	char *x;

	x = explain(s, "p%llu:g%llu.0:z%llu.1:d%llu:d%llu", e, w, w, s_trunc, s_rename);
	assert_non_null(strstr(x, "4 deviation(s)"));
	assert_non_null(strstr(x, "unit 0 (bytes 0..512)"));
	assert_non_null(strstr(x, "garbage"));
	assert_non_null(strstr(x, "zeroed"));
	assert_non_null(strstr(x, "new: 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41"));
	assert_non_null(strstr(x, "now: 00 00 00 00"));
	assert_non_null(strstr(x, "truncate to 1536"));
	assert_non_null(strstr(x, "n: rename to 'm'"));
	assert_non_null(strstr(x, "the old name stays"));
	assert_non_null(strstr(x, "n: present here, absent in the reference"));
	assert_non_null(strstr(x, "m: missing (present in the reference)"));
	/* One header, even after a file ("keep") that does not differ. */
	assert_non_null(strstr(x, "files that differ"));
	assert_null(strstr(strstr(x, "files that differ") + 1, "files that differ"));
	assert_null(strstr(x, "keep"));
	free(x);

	x = explain(s, "p%llu:d%llu.1", e, w);
	assert_non_null(strstr(x, "dropped -> old content"));
	assert_non_null(strstr(x, "m: 1 sector(s) of 512 bytes differ, the first at byte 512"));
	free(x);

	x = explain(s, "p%llu:d%llu:d%llu", e, s_create, s_rename);
	assert_non_null(strstr(x, "n: create"));
	assert_non_null(strstr(x, "not persisted: missing"));
	free(x);
	x = explain(s, "p%llu:d%llu", e, s_create);
	assert_non_null(strstr(x, "not persisted, but a later operation that did names it"));
	assert_non_null(strstr(x, "no file differs"));
	free(x);

	x = explain(s, "p%llu", e);
	assert_non_null(strstr(x, "0 deviation(s)"));
	assert_non_null(strstr(x, "no file differs"));
	free(x);
	crash_space_free(s);
	trace_close(t);
}

static int key_cmp(const void *pa, const void *pb)
{
	const torn_hash *a = pa, *b = pb;

	if (a[0].lo != b[0].lo)
		return a[0].lo < b[0].lo ? -1 : 1;
	return (a[0].hi > b[0].hi) - (a[0].hi < b[0].hi);
}

/* Every state of @t: equal applied-set keys only for equal files; keys
 * distinct within a crash point; the cursor gives the same keys in any
 * order.  Returns how many states share their key with an earlier one. */
static size_t check_applied(struct torn_trace *t, const char *tear)
{
	struct crash_space *s = sp(t, "exhaustive", "all", tear);
	struct crash_applied *c = NULL;
	struct ct_coll co = { .no_desc = 1 };
	torn_hash (*kh)[2];
	char err[256];
	size_t i, shared = 0;

	assert_int_equal(ct_collect(s, &co), 0);
	assert_int_equal(crash_applied_new(s, &c), 0);
	kh = calloc(co.n, sizeof(*kh));
	assert_non_null(kh);
	for (i = 0; i < co.n; i++) {
		struct crash_state *st = NULL;

		if (crash_state_from_id(s, co.id[i], &st, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		kh[i][0] = crash_applied_key(c, st);
		kh[i][1] = co.hash[i];
		crash_state_free(st);
	}
	/* Backwards: the cursor starts over each time the point goes down. */
	for (i = co.n; i-- > 0;) {
		struct crash_state *st = NULL;
		torn_hash k;

		assert_int_equal(crash_state_from_id(s, co.id[i], &st, err, sizeof(err)), 0);
		k = crash_applied_key(c, st);
		assert_true(HEQ(k, kh[i][0]));
		crash_state_free(st);
	}
	for (i = 1; i < co.n; i++)
		if (co.point[i] == co.point[i - 1] && HEQ(kh[i][0], kh[i - 1][0]))
			fail_msg("%s and %s: same key at one crash point", co.id[i - 1], co.id[i]);
	qsort(kh, co.n, sizeof(*kh), key_cmp);
	for (i = 1; i < co.n; i++)
		if (HEQ(kh[i][0], kh[i - 1][0])) {
			assert_true(HEQ(kh[i][1], kh[i - 1][1]));
			shared++;
		}
	free(kh);
	crash_applied_free(c);
	ct_coll_free(&co);
	crash_space_free(s);
	return shared;
}

/* The applied-set key (crash_applied.c): a cheap proof that two states
 * have the same files, on every state of two traces (zeros, garbage,
 * durable and lost units). */
static void test_applied_key(void **state)
{
	struct torn_trace *t = mixed();
	struct crash_space *s = sp(t, NULL, NULL, NULL);
	struct crash_applied *c = NULL;
	struct crash_state *a = NULL, *b = NULL;
	char id[128], err[256];

	/* The mark changes no file: same key before and after it. */
	assert_true(check_applied(t, "zeros,garbage") > 0);
	assert_int_equal(crash_applied_new(s, &c), 0);
	snprintf(id, sizeof(id), "p%llu:d%llu", (unsigned long long)ct_end, (unsigned long long)s_write);
	assert_int_equal(crash_state_from_id(s, id, &a, err, sizeof(err)), 0);
	snprintf(id, sizeof(id), "p%llu:d%llu", (unsigned long long)ct_end - 1,
		 (unsigned long long)s_write);
	assert_int_equal(crash_state_from_id(s, id, &b, err, sizeof(err)), 0);
	assert_true(HEQ(crash_applied_key(c, a), crash_applied_key(c, b)));
	crash_state_free(b);
	/* Zeroing instead of dropping a unit is another set. */
	snprintf(id, sizeof(id), "p%llu:d%llu.sz:z%llu.0-1", (unsigned long long)ct_end,
		 (unsigned long long)s_write, (unsigned long long)s_write);
	crash_applied_free(c);
	crash_space_free(s);
	s = sp(t, NULL, NULL, "zeros");
	assert_int_equal(crash_applied_new(s, &c), 0);
	assert_int_equal(crash_state_from_id(s, id, &b, err, sizeof(err)), 0);
	crash_state_free(a);
	snprintf(id, sizeof(id), "p%llu:d%llu", (unsigned long long)ct_end, (unsigned long long)s_write);
	assert_int_equal(crash_state_from_id(s, id, &a, err, sizeof(err)), 0);
	assert_false(HEQ(crash_applied_key(c, a), crash_applied_key(c, b)));
	crash_state_free(a);
	crash_state_free(b);
	crash_applied_free(c);
	crash_space_free(s);
	trace_close(t);

	t = synced();
	assert_true(check_applied(t, "zeros") > 0);
	trace_close(t);
}

/* Materialisation never follows a symlink and never writes over anything. */
static void test_write_safe(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct crash_state *st = NULL;
	char dir[] = "/tmp/torn-write-XXXXXX", victim[] = "/tmp/torn-victim-XXXXXX";
	char id[64], err[256], path[128], tgt[64];
	struct stat sb;
	ssize_t n;
	int fd;

	ct_begin();
	ct_init_file("f", "A");
	tb_init_symlink("l", "/etc/passwd");
	tb_init_done();
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL);
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)ct_end);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), 0);

	/* A symlink named like a file of the state: refused, victim untouched. */
	assert_non_null(mkdtemp(dir));
	fd = mkstemp(victim);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(crash_state_write(st, dir), -EEXIST);
	assert_int_equal(stat(victim, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	ct_rm_rf(AT_FDCWD, dir);
	unlink(victim);

	/* The trace's symlink is written as a symlink, not followed. */
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/torn-write-XXXXXX")));
	assert_int_equal(crash_state_write(st, dir), 0);
	snprintf(path, sizeof(path), "%s/l", dir);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	n = readlink(path, tgt, sizeof(tgt) - 1);
	assert_true(n > 0);
	tgt[n] = 0;
	assert_string_equal(tgt, "/etc/passwd");
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_size, 512);
	ct_rm_rf(AT_FDCWD, dir);

	crash_state_free(st);
	crash_space_free(s);
	trace_close(t);
}

/* A file with two names is materialised as one file with two links. */
static void test_write_hard_link(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct crash_state *st = NULL;
	char dir[64], id[64], err[256], pa[128], pb[128];
	struct stat sa, sb;

	ct_begin();
	ct_init_file("a", "A");
	tb_init_done();
	tb_link("a", "b");
	t = ct_finish();
	s = sp(t, NULL, NULL, NULL);
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)ct_end);
	assert_int_equal(crash_state_from_id(s, id, &st, err, sizeof(err)), 0);
	ct_mkdtemp(dir, sizeof(dir));
	assert_int_equal(crash_state_write(st, dir), 0);
	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pb, sizeof(pb), "%s/b", dir);
	assert_int_equal(lstat(pa, &sa), 0);
	assert_int_equal(lstat(pb, &sb), 0);
	assert_true(sa.st_ino == sb.st_ino);
	assert_int_equal(sa.st_nlink, 2);
	assert_int_equal(sa.st_size, 512);
	ct_rm_rf(AT_FDCWD, dir);
	crash_state_free(st);
	crash_space_free(s);
	trace_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_synced),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_pending),
		cmocka_unit_test(test_format_canonical),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_applied_key),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_hash_order_independent),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_write_safe),
		cmocka_unit_test(test_write_hard_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

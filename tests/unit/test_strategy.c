/*
 * tests/unit/test_strategy.c - the strategies (recovery/crash_strategy.c):
 * exact state counts and sets on small traces, order, union, seeds, limits,
 * and the option parsers.
 */
#include "tests/unit/crash_util.h"

static struct crash_space *sp(struct torn_trace *t, const char *strat, const char *pts,
			      const char *tear)
{
	struct crash_opts o;

	ct_opts(&o, strat, pts, tear);
	return ct_space(t, &o);
}

static int64_t count(struct torn_trace *t, const char *strat, const char *pts, const char *tear)
{
	struct crash_space *s = sp(t, strat, pts, tear);
	int64_t n = crash_space_count(s);

	crash_space_free(s);
	return n;
}

/* W1 = XYZ over blocks 0-2, W2 = ABCD over blocks 4-7 of "oooooooo". */
static struct torn_trace *two_writes(void)
{
	ct_begin();
	ct_init_file("f", "oooooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "XYZ", 0);
	ct_write(1, 2048, "ABCD", 0);
	return ct_finish();
}

static void test_torn_last_write(void **state)
{
	struct torn_trace *t = two_writes();
	struct crash_space *s = sp(t, "torn", ct_endpts, NULL);
	struct ct_coll c;

	assert_int_equal(ct_collect(s, &c), 0);
	/* 4 units: boundaries k = 1..3, head or tail persisted: 2 (4 - 1). */
	assert_int_equal(c.n, 6);
	CT_SET(&c, "f=4096:XYZoAooo", "f=4096:XYZoABoo", "f=4096:XYZoABCo",
	       "f=4096:XYZooBCD", "f=4096:XYZoooCD", "f=4096:XYZooooD");
	ct_coll_free(&c);
	crash_space_free(s);

	s = sp(t, "torn:all", ct_endpts, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 10);   /* 6 + 2 (3 - 1) */
	CT_SET(&c, "f=4096:XYZoAooo", "f=4096:XYZoABoo", "f=4096:XYZoABCo",
	       "f=4096:XYZooBCD", "f=4096:XYZoooCD", "f=4096:XYZooooD",
	       "f=4096:XoooABCD", "f=4096:XYooABCD", "f=4096:oYZoABCD", "f=4096:ooZoABCD");
	ct_coll_free(&c);
	crash_space_free(s);

	/* Each tear pattern: the torn part dropped, zeroed or garbage. */
	assert_int_equal(count(t, "torn", ct_endpts, "zeros"), 12);
	assert_int_equal(count(t, "torn", ct_endpts, "zeros,garbage"), 18);
	assert_int_equal(count(t, "torn:all", ct_endpts, "old,new,garbage"), 20);
	s = sp(t, "torn", ct_endpts, "zeros");
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=4096:XYZoAooo", "f=4096:XYZoABoo", "f=4096:XYZoABCo",
	       "f=4096:XYZooBCD", "f=4096:XYZoooCD", "f=4096:XYZooooD",
	       "f=4096:XYZoA...", "f=4096:XYZoAB..", "f=4096:XYZoABC.",
	       "f=4096:XYZo.BCD", "f=4096:XYZo..CD", "f=4096:XYZo...D");
	ct_coll_free(&c);
	crash_space_free(s);
	s = sp(t, "torn", ct_endpts, "garbage");
	assert_int_equal(ct_collect(s, &c), 0);
	CT_SET(&c, "f=4096:XYZoAooo", "f=4096:XYZoABoo", "f=4096:XYZoABCo",
	       "f=4096:XYZooBCD", "f=4096:XYZoooCD", "f=4096:XYZooooD",
	       "f=4096:XYZoA???", "f=4096:XYZoAB??", "f=4096:XYZoABC?",
	       "f=4096:XYZo?BCD", "f=4096:XYZo??CD", "f=4096:XYZo???D");
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

/* A single-unit write cannot tear at a boundary: only zeros/garbage. */
static void test_torn_single_unit(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;

	ct_begin();
	ct_init_file("f", "o");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "Q", 0);
	t = ct_finish();
	assert_int_equal(count(t, "torn", ct_endpts, NULL), 0);
	s = sp(t, "torn", ct_endpts, "zeros");
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 1);
	CT_SET(&c, "f=512:.");
	ct_coll_free(&c);
	crash_space_free(s);
	assert_int_equal(count(t, "torn", ct_endpts, "zeros,garbage"), 2);
	trace_close(t);
}

static void test_prefix(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;

	ct_begin();
	ct_init_file("f", "oooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(1, 512, "BC", 0);
	ct_write(1, 1536, "D", 0);
	t = ct_finish();
	s = sp(t, "prefix", ct_endpts, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 4);    /* m + 1 with m = 3 pending events */
	CT_SET(&c, "f=2048:oooo", "f=2048:Aooo", "f=2048:ABCo", "f=2048:ABCD");
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

static void test_sync_strategy(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;
	uint64_t f;
	char pts[64];

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	f = tb_fsync(1);
	ct_write(1, 512, "B", 0);
	t = ct_finish();
	s = sp(t, "sync", "all", NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	/* Before the fsync: A kept / dropped; at the end: B kept / dropped. */
	assert_int_equal(c.n, 4);
	assert_int_equal(c.point[0], f);
	assert_int_equal(c.point[1], f);
	assert_int_equal(c.point[2], ct_end);
	assert_int_equal(c.point[3], ct_end);
	CT_SET(&c, "f=1024:oo", "f=1024:Ao", "f=1024:AB");
	ct_coll_free(&c);
	crash_space_free(s);
	assert_int_equal(count(t, "sync", "sync", NULL), 4);
	assert_int_equal(count(t, "sync", ct_endpts, NULL), 2);
	/* --crash-points sync narrows the other strategies too: prefix gives
	 * 2 states at each of the two points. */
	assert_int_equal(count(t, "prefix", "sync", NULL), 4);
	snprintf(pts, sizeof(pts), "%llu-%llu", (unsigned long long)f - 1, (unsigned long long)f);
	assert_int_equal(count(t, "prefix", pts, NULL), 3);   /* write not done yet: 1, then 2 */
	trace_close(t);
}

/* Five pending units in one write. */
static struct torn_trace *five_units(void)
{
	ct_begin();
	ct_init_file("f", "ooooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "ABCDE", 0);
	return ct_finish();
}

static void test_reorder_counts(void **state)
{
	struct torn_trace *t = five_units();

	assert_int_equal(count(t, "reorder:0", ct_endpts, NULL), 1);
	assert_int_equal(count(t, "reorder:1", ct_endpts, NULL), 6);
	assert_int_equal(count(t, "reorder:2", ct_endpts, NULL), 16);
	assert_int_equal(count(t, "reorder:3", ct_endpts, NULL), 26);
	assert_int_equal(count(t, "reorder:9", ct_endpts, NULL), 32);
	assert_int_equal(count(t, "exhaustive", ct_endpts, NULL), 32);
	/* With zeros each dev has 2 kinds: sum C(5, i) 2^i, i <= 1 and 2. */
	assert_int_equal(count(t, "reorder:1", ct_endpts, "zeros"), 11);
	assert_int_equal(count(t, "reorder:2", ct_endpts, "zeros"), 51);
	assert_int_equal(count(t, "exhaustive", ct_endpts, "zeros,garbage"), 1024);
	trace_close(t);
}

/* Size units are only kept or dropped, never zeroed. */
static void test_kinds_per_unit(void **state)
{
	struct torn_trace *t;

	ct_begin();
	ct_init_file("f", "");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "AB", 0);
	t = ct_finish();
	assert_int_equal(count(t, "exhaustive", ct_endpts, "zeros"), 18);   /* 2 x 3 x 3 */
	assert_int_equal(count(t, "reorder:1", ct_endpts, "zeros"), 6);     /* 1 + 1 + 2 + 2 */
	trace_close(t);
}

/* Canonical order inside a crash point: the devs lists in lexicographic
 * order, the reference first. */
static void test_order(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;
	uint64_t w;
	char want[8][96];
	size_t i;

	ct_begin();
	ct_init_file("f", "ooo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	w = ct_write(1, 0, "ABC", 0);
	t = ct_finish();
	s = sp(t, "exhaustive", ct_endpts, NULL);
	c.no_desc = 1;
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 8);
#define W(i, ...) snprintf(want[i], sizeof(want[i]), __VA_ARGS__)
	W(0, "p%llu", (unsigned long long)ct_end);
	W(1, "p%llu:d%llu.0", (unsigned long long)ct_end, (unsigned long long)w);
	/* Runs of units print as a range, a write dropped whole as its seq. */
	W(2, "p%llu:d%llu.0-1", (unsigned long long)ct_end, (unsigned long long)w);
	W(3, "p%llu:d%llu", (unsigned long long)ct_end, (unsigned long long)w);
	W(4, "p%llu:d%llu.0:d%llu.2", (unsigned long long)ct_end, (unsigned long long)w, (unsigned long long)w);
	W(5, "p%llu:d%llu.1", (unsigned long long)ct_end, (unsigned long long)w);
	W(6, "p%llu:d%llu.1-2", (unsigned long long)ct_end, (unsigned long long)w);
	W(7, "p%llu:d%llu.2", (unsigned long long)ct_end, (unsigned long long)w);
#undef W
	for (i = 0; i < 8; i++)
		assert_string_equal(c.id[i], want[i]);
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

/* Strategies combine as a union, each state once, in order. */
static void test_union(void **state)
{
	struct torn_trace *t;
	struct crash_space *s;
	struct ct_coll c;
	size_t i, j;

	ct_begin();
	ct_init_file("f", "oo");
	tb_init_done();
	tb_open_file(1, "f", 0);
	ct_write(1, 0, "A", 0);
	ct_write(1, 512, "B", 0);
	t = ct_finish();
	/* sync: {ref, all dropped}; prefix: {ref, all dropped, B dropped}. */
	assert_int_equal(count(t, "sync", ct_endpts, NULL), 2);
	assert_int_equal(count(t, "prefix", ct_endpts, NULL), 3);
	s = sp(t, "sync,prefix", ct_endpts, NULL);
	assert_int_equal(ct_collect(s, &c), 0);
	assert_int_equal(c.n, 3);
	CT_SET(&c, "f=1024:AB", "f=1024:Ao", "f=1024:oo");
	assert_int_equal(crash_space_count(s), 3);
	ct_coll_free(&c);
	crash_space_free(s);
	/* The union with exhaustive is exhaustive. */
	assert_int_equal(count(t, "torn:all,prefix,sync,reorder:1,exhaustive", ct_endpts, NULL), 4);
	s = sp(t, "random:50,prefix,reorder:1,sync", "all", "zeros");
	c.no_desc = 1;
	assert_int_equal(ct_collect(s, &c), 0);
	for (i = 0; i < c.n; i++)
		for (j = i + 1; j < c.n; j++)
			assert_true(strcmp(c.id[i], c.id[j]));
	for (i = 1; i < c.n; i++)
		assert_true(c.point[i] >= c.point[i - 1]);
	assert_int_equal(crash_space_count(s), (int64_t)c.n);
	ct_coll_free(&c);
	crash_space_free(s);
	trace_close(t);
}

static void ids_of(struct torn_trace *t, const char *strat, uint64_t seed, struct ct_coll *c)
{
	struct crash_opts o;
	struct crash_space *s;

	ct_opts(&o, strat, "all", "zeros");
	o.seed = seed;
	s = ct_space(t, &o);
	memset(c, 0, sizeof(*c));
	c->no_desc = 1;
	assert_int_equal(crash_space_enumerate(s, ct_visit, c), 0);
	crash_space_free(s);
}

static void test_random_seeded(void **state)
{
	struct torn_trace *t = five_units();
	struct ct_coll a, b, d;
	size_t i;
	int same = 1;

	ids_of(t, "random:20", 1, &a);
	ids_of(t, "random:20", 1, &b);
	ids_of(t, "random:20", 2, &d);
	/* 20 draws over 4 crash points, two of them with 3^5 states each and
	 * two with only the reference: most draws are distinct states. */
	assert_true(a.n >= 5 && a.n <= 20);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++)
		assert_string_equal(a.id[i], b.id[i]);
	if (a.n == d.n)
		for (i = 0; i < a.n && same; i++)
			same = !strcmp(a.id[i], d.id[i]);
	else
		same = 0;
	assert_false(same);
	for (i = 1; i < a.n; i++)
		assert_true(a.point[i] >= a.point[i - 1]);
	ct_coll_free(&a);
	ct_coll_free(&b);
	ct_coll_free(&d);
	trace_close(t);
}

static int visit_count(void *arg, struct crash_state *st)
{
	(*(int *)arg)++;
	return 0;
}

static int visit_stop(void *arg, struct crash_state *st)
{
	return ++(*(int *)arg) == 3 ? 42 : 0;
}

static void test_exhaustive_limit(void **state)
{
	struct torn_trace *t = five_units();
	struct crash_opts o;
	struct crash_space *s;
	int n = 0;

	ct_opts(&o, "exhaustive", ct_endpts, NULL);
	o.max_states = 31;
	s = ct_space(t, &o);
	assert_int_equal(crash_space_enumerate(s, visit_count, &n), -E2BIG);
	assert_int_equal(n, 0);
	assert_int_equal(crash_space_count(s), -E2BIG);
	crash_space_free(s);
	o.max_states = 32;
	s = ct_space(t, &o);
	assert_int_equal(crash_space_enumerate(s, visit_count, &n), 0);
	assert_int_equal(n, 32);
	/* The visitor stops the enumeration with its own value. */
	n = 0;
	assert_int_equal(crash_space_enumerate(s, visit_stop, &n), 42);
	assert_int_equal(n, 3);
	crash_space_free(s);
	/* The limit counts every crash point: 1 + 1 + 32 + 32 over all points. */
	ct_opts(&o, "exhaustive", "all", NULL);
	o.max_states = 65;
	s = ct_space(t, &o);
	assert_int_equal(crash_space_count(s), -E2BIG);
	crash_space_free(s);
	o.max_states = 66;
	s = ct_space(t, &o);
	assert_int_equal(crash_space_count(s), 66);
	crash_space_free(s);
	trace_close(t);
}

static void test_parsers(void **state)
{
	struct crash_opts o;
	char err[256];
	static const char *bad_strat[] = {
		"", "foo", "reorder", "reorder:", "reorder:x", "torn:some", "random", "sync:1",
		"sync,,prefix", "sync,prefix,torn,torn,sync,prefix,torn,sync,prefix",
		"random:67108865", "reorder:99999999999999999999",
	};
	size_t i;

	crash_opts_default(&o);
	assert_int_equal(o.sector, 512);
	assert_int_equal(o.nstrat, 1);
	assert_int_equal(o.strat[0].kind, CRASH_STRAT_SYNC);
	assert_int_equal(o.tear, CRASH_TEAR_OLD | CRASH_TEAR_NEW);
	assert_int_equal(crash_opts_parse_strategy(&o, "sync,prefix,torn:all,reorder:2,random:5,exhaustive",
						   err, sizeof(err)), 0);
	assert_int_equal(o.nstrat, 6);
	assert_int_equal(o.strat[2].kind, CRASH_STRAT_TORN);
	assert_int_equal(o.strat[2].n, 1);
	assert_int_equal(o.strat[3].kind, CRASH_STRAT_REORDER);
	assert_int_equal(o.strat[3].n, 2);
	assert_int_equal(o.strat[4].kind, CRASH_STRAT_RANDOM);
	assert_int_equal(o.strat[4].n, 5);
	for (i = 0; i < sizeof(bad_strat) / sizeof(*bad_strat); i++) {
		err[0] = 0;
		assert_int_equal(crash_opts_parse_strategy(&o, bad_strat[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "strategy"));
	}
	assert_int_equal(o.nstrat, 6);   /* a failed parse changes nothing */
	assert_int_equal(crash_opts_parse_tear(&o, "zeros,garbage", err, sizeof(err)), 0);
	assert_int_equal(o.tear, CRASH_TEAR_OLD | CRASH_TEAR_NEW | CRASH_TEAR_ZEROS | CRASH_TEAR_GARBAGE);
	assert_int_equal(crash_opts_parse_tear(&o, "old,new", err, sizeof(err)), 0);
	assert_int_equal(o.tear, CRASH_TEAR_OLD | CRASH_TEAR_NEW);
	assert_int_equal(crash_opts_parse_tear(&o, "zero", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'zero'"));
	assert_int_equal(crash_opts_parse_points(&o, "sync", err, sizeof(err)), 0);
	assert_int_equal(o.points, CRASH_POINTS_SYNC);
	assert_int_equal(crash_opts_parse_points(&o, "3-9", err, sizeof(err)), 0);
	assert_int_equal(o.points, CRASH_POINTS_RANGE);
	assert_int_equal(o.point_lo, 3);
	assert_int_equal(o.point_hi, 9);
	assert_int_equal(crash_opts_parse_points(&o, "all", err, sizeof(err)), 0);
	assert_int_equal(o.points, CRASH_POINTS_ALL);
	assert_int_equal(crash_opts_parse_points(&o, "9-3", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(crash_opts_parse_points(&o, "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(crash_opts_parse_points(&o, "3-", err, sizeof(err)), -EINVAL);
	assert_int_equal(crash_opts_parse_model(&o, "direct", err, sizeof(err)), 0);
	assert_int_equal(o.model, CRASH_MODEL_DIRECT);
	assert_int_equal(crash_opts_parse_model(&o, "ext4", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'ext4'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_last_write),
		cmocka_unit_test(test_torn_single_unit),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_sync_strategy),
		cmocka_unit_test(test_reorder_counts),
		cmocka_unit_test(test_kinds_per_unit),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_union),
		cmocka_unit_test(test_random_seeded),
		cmocka_unit_test(test_exhaustive_limit),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

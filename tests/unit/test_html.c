/*
 * tests/unit/test_html.c - the HTML report (recovery/html.c) and the sector
 * maps it draws (crash_state_file_maps in recovery/crash_state.c).
 *
 * Sections:
 *   1. html_escape: entities, control characters, invalid UTF-8
 *   2. crash_state_file_maps: new, old, zeros, dropped sectors of a write
 *   3. html_write: a page of a hand-built trace and report, every string
 *      from them escaped, the timeline binned past HTML_SLOTS events
 */
#include "tests/unit/crash_util.h"
#include "recovery/explore.h"
#include "recovery/html.h"

/* ==========================================================================
 * 1. html_escape
 * ========================================================================== */

static char *escaped(const char *s, size_t len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	assert_non_null(f);
	html_escape(f, s, len);
	fclose(f);
	return out;
}

#define FFFD "\xef\xbf\xbd"

static void check_esc(const char *in, size_t len, const char *want)
{
	char *got = escaped(in, len);

	if (strcmp(got, want))
		fail_msg("escape of '%.*s': got '%s', want '%s'", (int)len, in, got, want);
	free(got);
}

static void test_escape(void **state)
{
	(void)state;
	check_esc("plain text/ok", 13, "plain text/ok");
	check_esc("<a href=\"x\">&'</a>", 18, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	check_esc("a\x01" "b\x7f" "c\n\td", 8, "a" FFFD "b" FFFD "c\n\td");
	check_esc("nul\0here", 8, "nul" FFFD "here");
	/* valid multibyte sequences pass through */
	check_esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* invalid ones: one replacement per byte that does not start a valid one */
	check_esc("\xff", 1, FFFD);
	check_esc("\xc0\x80", 2, FFFD FFFD);                 /* overlong NUL */
	check_esc("\xe0\x80\xaf", 3, FFFD FFFD FFFD);        /* overlong '/' */
	check_esc("\xed\xa0\x80", 3, FFFD FFFD FFFD);        /* a surrogate */
	check_esc("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	check_esc("x\xe2\x82", 3, "x" FFFD FFFD);            /* cut short */
	check_esc("\xc3<", 2, FFFD "&lt;");                  /* no continuation */
}

/* ==========================================================================
 * 2. Sector maps
 * ========================================================================== */

static char pat[4096];

/* "a": 1024 bytes durable, then a write of 1536 bytes at 0 (3 sectors, the
 * last one extending the file), never synced.  Returns the write's seq. */
static struct torn_trace *one_write(uint64_t *wseq)
{
	ct_begin();
	memset(pat, 'o', sizeof(pat));
	tb_init_file("a", 0644, pat, 1024);
	tb_init_done();
	tb_open_file(1, "a", 0);
	memset(pat, 'n', sizeof(pat));
	*wseq = tb_write(1, 0, pat, 1536, 0);
	return ct_finish();
}

static const char *map_of(struct crash_space *s, const char *id, uint64_t *size,
			  uint64_t *ref_size)
{
	static char buf[64];
	struct crash_state *st = NULL;
	struct crash_file_map *m = NULL;
	size_t n = 0;
	char err[256];

	if (crash_state_from_id(s, id, &st, err, sizeof(err)) < 0)
		fail_msg("state %s: %s", id, err);
	assert_int_equal(crash_state_file_maps(st, &m, &n), 0);
	if (n == 0) {
		strcpy(buf, "(none)");
	} else {
		assert_int_equal(n, 1);
		assert_string_equal(m[0].path, "a");
		assert_int_equal(m[0].sector, 512);
		assert_int_equal(strlen(m[0].map), m[0].nsec);
		snprintf(buf, sizeof(buf), "%s", m[0].map);
		*size = m[0].size;
		*ref_size = m[0].ref_size;
	}
	crash_file_maps_free(m, n);
	crash_state_free(st);
	return buf;
}

static void test_file_maps(void **state)
{
	struct crash_opts o;
	struct crash_space *s;
	struct torn_trace *t;
	uint64_t w, size = 0, ref = 0;
	char id[128];

	(void)state;
	t = one_write(&w);
	ct_opts(&o, "sync", NULL, "old,new,zeros,garbage");
	s = ct_space(t, &o);

	/* the reference: no deviation, no map */
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)ct_end);
	assert_string_equal(map_of(s, id, &size, &ref), "(none)");

	/* unit 1 dropped: the old bytes between two new sectors */
	snprintf(id, sizeof(id), "p%llu:d%llu.1", (unsigned long long)ct_end, (unsigned long long)w);
	assert_string_equal(map_of(s, id, &size, &ref), "non");
	assert_int_equal(size, 1536);
	assert_int_equal(ref, 1536);

	/* and the size update lost too: the third sector is past the end */
	snprintf(id, sizeof(id), "p%llu:d%llu.1:d%llu.sz", (unsigned long long)ct_end,
		 (unsigned long long)w, (unsigned long long)w);
	assert_string_equal(map_of(s, id, &size, &ref), "nox");
	assert_int_equal(size, 1024);
	assert_int_equal(ref, 1536);

	/* torn to zeros and to garbage */
	snprintf(id, sizeof(id), "p%llu:z%llu.0:g%llu.2", (unsigned long long)ct_end,
		 (unsigned long long)w, (unsigned long long)w);
	assert_string_equal(map_of(s, id, &size, &ref), "zng");

	/* before the write: nothing pending, nothing mapped */
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)w);
	assert_string_equal(map_of(s, id, &size, &ref), "(none)");

	crash_space_free(s);
	trace_close(t);
}

/* ==========================================================================
 * 3. html_write
 * ========================================================================== */

static char *page_of(struct torn_trace *t, struct explore_report *r, const char *title)
{
	struct html_opts o = { .title = title, .trace = "t.trace", .check = "./check 'x'" };
	char *out = NULL, err[256] = "";
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	assert_non_null(f);
	if (html_write(f, t, r, &o, err, sizeof(err)) < 0)
		fail_msg("html_write: %s", err);
	fclose(f);
	return out;
}

static void add_failure(struct explore_report *r, const char *id, uint64_t point,
			const char *line)
{
	struct explore_failure *x;

	r->failures = realloc(r->failures, (r->nfailures + 1) * sizeof(*r->failures));
	assert_non_null(r->failures);
	x = &r->failures[r->nfailures++];
	memset(x, 0, sizeof(*x));
	x->state = strdup(id);
	x->crash_point = point;
	x->ordinal = r->nfailures;
	x->res.outcome = EXPLORE_FAIL;
	x->res.exit_code = 1;
	x->res.output = calloc(1, sizeof(char *));
	x->res.output[0] = strdup(line);
	x->res.noutput = 1;
	r->outcomes[EXPLORE_FAIL]++;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_page(void **state)
{
	struct explore_report r;
	struct torn_trace *t;
	uint64_t w;
	char id[128], *page;

	(void)state;
	t = one_write(&w);
	explore_report_init(&r);
	assert_int_equal(explore_report_option(&r, "strategy", "sync", 0), 0);
	assert_int_equal(explore_report_option(&r, "tear", "old,new,zeros,garbage", 0), 0);
	r.states_checked = r.unique_states = r.states_enumerated = 3;
	snprintf(id, sizeof(id), "p%llu:d%llu.1", (unsigned long long)ct_end, (unsigned long long)w);
	add_failure(&r, id, ct_end, "<script>alert('out')</script> & more");
	r.outcomes[EXPLORE_PASS] = 2;
	page = page_of(t, &r, "<b>t</b>");

	assert_non_null(strstr(page, "<!DOCTYPE html>"));
	assert_non_null(strstr(page, "id=\"timeline\""));
	assert_int_equal(count(page, "class=\"crash-point o-fail\""), 1);
	assert_int_equal(count(page, "class=\"sector-map\""), 1);
	/* the map: new, old, new */
	assert_non_null(strstr(page, "<span class=\"s-new\""));
	assert_non_null(strstr(page, "<span class=\"s-old\" title=\"sector 1 (bytes 512&#8211;1024): old\">"));
	/* escaped: the title, the checker's output, the checker command */
	assert_null(strstr(page, "<b>t</b>"));
	assert_non_null(strstr(page, "&lt;b&gt;t&lt;/b&gt;"));
	assert_null(strstr(page, "<script>alert"));
	assert_non_null(strstr(page, "&lt;script&gt;alert(&#39;out&#39;)&lt;/script&gt; &amp; more"));
	assert_non_null(strstr(page, "--check &#39;./check &#39;\\&#39;&#39;x&#39;\\&#39;&#39;&#39;"));
	/* one lane for "a", one write block */
	assert_int_equal(count(page, "class=\"w w-buffered\""), 1);
	free(page);
	explore_report_free(&r);
	trace_close(t);
}

/* More events than columns: they share columns, the page stays small. */
static void test_binned(void **state)
{
	struct explore_report r;
	struct torn_trace *t;
	char *page;
	int i;

	(void)state;
	ct_begin();
	tb_init_done();
	tb_open_file(1, "log", TORN_F_CREATED);
	memset(pat, 'x', sizeof(pat));
	for (i = 0; i < 5000; i++) {
		tb_write(1, (int64_t)i * 100, pat, 100, 0);
		if (i % 50 == 49)
			tb_fsync(1);
	}
	t = ct_finish();
	explore_report_init(&r);
	assert_int_equal(explore_report_option(&r, "strategy", "sync", 0), 0);
	page = page_of(t, &r, NULL);
	assert_true(count(page, "class=\"w w-buffered\"") <= HTML_SLOTS);
	assert_true(count(page, "class=\"w w-buffered\"") >= HTML_SLOTS / 2);
	assert_true(count(page, "class=\"fs\"") <= HTML_SLOTS);
	assert_true(count(page, "class=\"crash-point") <= HTML_SLOTS);
	assert_true(count(page, "class=\"crash-point o-pass\"") >= 50);
	assert_true(strlen(page) < 300000);
	free(page);
	explore_report_free(&r);
	trace_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_file_maps),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_binned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_report.c - reports (recovery/report.c): JSON written and
 * parsed back with jansson (escaping of quotes, backslashes, newlines and
 * control characters), JUnit XML well formed (xmllint) and escaped, the
 * text summary, and merge: shards join into the unsharded report, and every
 * way of not being a complete set of shards is refused with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "recovery/explore.h"
#include "recovery/report.h"

static char tdir[64], path[128], path2[128];

static int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/torn-test-report-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(path, sizeof(path), "%s/r.json", tdir);
	snprintf(path2, sizeof(path2), "%s/r.xml", tdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return explore_rmtree(tdir);
}

/* The awkward strings every writer must escape. */
static const char *const nasty[] = {
	"plain line",
	"quote \" backslash \\ tab \t end",
	"newline \n inside, cr \r and ctl \x01\x1f",
	"xml <tag attr='v'> & &amp; ]]>",
	"utf-8 \xc3\xa9\xe2\x82\xac",
};
#define NNASTY (sizeof(nasty) / sizeof(nasty[0]))

static void add_failure(struct explore_report *r, const char *id, uint64_t point,
			uint64_t ord, enum explore_outcome oc, int code, int sig)
{
	struct explore_failure *f;

	r->failures = realloc(r->failures, (r->nfailures + 1) * sizeof(*f));
	assert_non_null(r->failures);
	f = &r->failures[r->nfailures++];
	memset(f, 0, sizeof(*f));
	f->state = strdup(id);
	f->crash_point = point;
	f->ordinal = ord;
	f->res.outcome = oc;
	f->res.exit_code = code;
	f->res.sig = sig;
	f->res.secs = 0.25;
	f->res.output = calloc(NNASTY, sizeof(char *));
	for (size_t i = 0; i < NNASTY; i++)
		f->res.output[f->res.noutput++] = strdup(nasty[i]);
}

static void base_report(struct explore_report *r, uint32_t si, uint32_t sn)
{
	explore_report_init(r);
	r->trace = strdup("dir/run \"1\".trace");
	r->trace_hash = strdup("0123456789abcdef0123456789abcdef");
	assert_int_equal(explore_report_option(r, "model", "auto", 0), 0);
	assert_int_equal(explore_report_option(r, "sector", "512", 1), 0);
	assert_int_equal(explore_report_option(r, "strategy", "sync,reorder:1", 0), 0);
	r->states_enumerated = 100;
	r->unique_states = 40;
	r->shard_i = si;
	r->shard_n = sn;
	r->elapsed_s = 1.5;
}

/* The unsharded report: 40 unique states, 4 failures at ordinals 3, 10, 17, 31. */
static void full_report(struct explore_report *r)
{
	base_report(r, 0, 0);
	r->states_checked = 40;
	r->outcomes[EXPLORE_PASS] = 36;
	r->outcomes[EXPLORE_FAIL] = 2;
	r->outcomes[EXPLORE_CRASH] = 1;
	r->outcomes[EXPLORE_HANG] = 1;
	add_failure(r, "p5:d3.0", 5, 3, EXPLORE_FAIL, 1, 0);
	add_failure(r, "p9", 9, 10, EXPLORE_CRASH, -1, 11);
	add_failure(r, "p12:d10.sz", 12, 17, EXPLORE_HANG, -1, 0);
	add_failure(r, "s4096/p20:z18.1", 20, 31, EXPLORE_FAIL, 42, 0);
	/* torn's own finding on the first one (reason, read back by merge) */
	r->failures[0].res.reason = strdup("acknowledged after failed fsync: f lost 3 bytes \"x\"");
}

static void assert_reports_equal(const struct explore_report *a, const struct explore_report *b)
{
	assert_string_equal(a->trace, b->trace);
	assert_string_equal(a->trace_hash, b->trace_hash);
	assert_int_equal(a->states_enumerated, b->states_enumerated);
	assert_int_equal(a->unique_states, b->unique_states);
	assert_int_equal(a->states_checked, b->states_checked);
	assert_memory_equal(a->outcomes, b->outcomes, sizeof(a->outcomes));
	assert_int_equal(a->noptions, b->noptions);
	for (size_t i = 0; i < a->noptions; i++) {
		assert_string_equal(a->options[i].key, b->options[i].key);
		assert_string_equal(a->options[i].val, b->options[i].val);
		assert_int_equal(a->options[i].is_num, b->options[i].is_num);
	}
	assert_int_equal(a->nfailures, b->nfailures);
	for (size_t i = 0; i < a->nfailures; i++) {
		const struct explore_failure *x = &a->failures[i], *y = &b->failures[i];

		assert_string_equal(x->state, y->state);
		assert_int_equal(x->crash_point, y->crash_point);
		assert_int_equal(x->ordinal, y->ordinal);
		assert_int_equal(x->res.outcome, y->res.outcome);
		assert_int_equal(x->res.sig, y->res.sig);
		if (x->res.outcome == EXPLORE_FAIL)
			assert_int_equal(x->res.exit_code, y->res.exit_code);
		if (x->res.reason || y->res.reason) {
			assert_non_null(x->res.reason);
			assert_non_null(y->res.reason);
			assert_string_equal(x->res.reason, y->res.reason);
		}
		assert_int_equal(x->res.noutput, y->res.noutput);
		for (size_t k = 0; k < x->res.noutput; k++)
			assert_string_equal(x->res.output[k], y->res.output[k]);
	}
}

static void test_json_roundtrip(void **state)
{
	struct explore_report r, back;
	char err[512] = "", *check = NULL;
	json_error_t je;
	json_t *o, *f;

	(void)state;
	full_report(&r);
	assert_int_equal(report_json_write(&r, "check \"it\"\n", path, err, sizeof(err)), 0);

	/* Parsed by the library: the contract's keys, exact strings. */
	o = json_load_file(path, 0, &je);
	if (!o)
		print_message("%s:%d: %s\n", path, je.line, je.text);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "states_checked")), 40);
	assert_int_equal(json_integer_value(json_object_get(o, "unique_states")), 40);
	assert_int_equal(json_integer_value(json_object_get(o, "states_enumerated")), 100);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "outcomes"),
							    "crash")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "trace")), "dir/run \"1\".trace");
	assert_string_equal(json_string_value(json_object_get(o, "check")), "check \"it\"\n");
	assert_true(json_is_null(json_object_get(o, "shard")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "options"),
							    "sector")), 512);
	f = json_array_get(json_object_get(o, "failures"), 1);
	assert_string_equal(json_string_value(json_object_get(f, "state")), "p9");
	assert_string_equal(json_string_value(json_object_get(f, "outcome")), "crash");
	assert_int_equal(json_integer_value(json_object_get(f, "signal")), 11);
	assert_int_equal(json_integer_value(json_object_get(f, "crash_point")), 9);
	f = json_array_get(json_object_get(o, "failures"), 0);
	assert_int_equal(json_integer_value(json_object_get(f, "exit")), 1);
	for (size_t i = 0; i < NNASTY; i++)
		assert_string_equal(json_string_value(json_array_get(json_object_get(f, "output"), i)),
				    nasty[i]);
	json_decref(o);

	/* And by our reader (merge's input). */
	assert_int_equal(report_json_read(path, &back, &check, err, sizeof(err)), 0);
	assert_string_equal(check, "check \"it\"\n");
	assert_reports_equal(&r, &back);
	free(check);
	explore_report_free(&back);
	explore_report_free(&r);
}

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_json_read_errors(void **state)
{
	struct explore_report r;
	char err[512];

	(void)state;
	write_file(path, "{\"version\": 1, \"trace\": ");
	assert_int_equal(report_json_read(path, &r, NULL, err, sizeof(err)), -EINVAL);
	print_message("%s\n", err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 1"));
	write_file(path, "[1, 2]");
	assert_int_equal(report_json_read(path, &r, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected a JSON object"));
	write_file(path, "{\"version\": 1, \"trace\": \"t\", \"trace_hash\": \"h\", "
			 "\"states_enumerated\": -3}");
	assert_int_equal(report_json_read(path, &r, NULL, err, sizeof(err)), -EINVAL);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "\"states_enumerated\""));
	assert_int_equal(report_json_read("/nonexistent/x.json", &r, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
}

static void test_junit(void **state)
{
	struct explore_report r;
	char err[512] = "", cmd[300], *text = NULL;
	size_t len = 0;
	FILE *f;
	int st;

	(void)state;
	full_report(&r);
	assert_int_equal(report_junit_write(&r, path2, err, sizeof(err)), 0);
	/* Well formed, by a real XML parser (libxml2-utils, from scripts/deps.sh). */
	assert_int_equal(access("/usr/bin/xmllint", X_OK), 0);
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path2);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	f = fopen(path2, "r");
	assert_non_null(f);
	assert_true(getdelim(&text, &len, '\0', f) > 0);
	fclose(f);
	assert_non_null(strstr(text, "tests=\"5\" failures=\"4\""));
	assert_non_null(strstr(text, "name=\"s4096/p20:z18.1\""));
	assert_non_null(strstr(text, "type=\"crash\""));
	assert_non_null(strstr(text, "type=\"hang\""));
	assert_non_null(strstr(text, "36 states passed"));
	assert_non_null(strstr(text, "&lt;tag attr=&apos;v&apos;&gt; &amp; &amp;amp; ]]&gt;"));
	assert_non_null(strstr(text, "quote &quot; backslash"));
	assert_null(strchr(text, '\x01'));
	assert_null(strchr(text, '\x1f'));
	free(text);
	explore_report_free(&r);
}

static void test_text(void **state)
{
	struct explore_report r;
	struct report_text_opts o = { .trace = "my run.trace", .check = "sh -c 'x'",
				      .extra_args = "--timeout 5", .max_shown = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	full_report(&r);
	f = open_memstream(&buf, &len);
	report_text(f, &r, &o);
	fclose(f);
	print_message("%s", buf);
	assert_non_null(strstr(buf, "states enumerated  100"));
	assert_non_null(strstr(buf, "unique states      40"));
	assert_non_null(strstr(buf, "fail: 2 states"));
	assert_non_null(strstr(buf, "... and 1 more fail state"));
	assert_non_null(strstr(buf, "torn replay 'my run.trace' --state p5:d3.0 --out DIR"));
	assert_non_null(strstr(buf, "torn minimize 'my run.trace' --state p5:d3.0 --check "
				    "'sh -c '\\''x'\\''' --timeout 5"));
	assert_non_null(strstr(buf, "killed by signal 11 (SIGSEGV)"));
	free(buf);
	explore_report_free(&r);
}

/* Split the full report into 3 shards by failure ordinal and counts. */
static void make_shards(struct explore_report s[3])
{
	struct explore_report full;

	full_report(&full);
	for (uint32_t i = 0; i < 3; i++)
		base_report(&s[i], i + 1, 3);
	s[0].states_checked = 14; s[1].states_checked = 13; s[2].states_checked = 13;
	s[0].outcomes[EXPLORE_PASS] = 13; s[1].outcomes[EXPLORE_PASS] = 11;
	s[2].outcomes[EXPLORE_PASS] = 12;
	/* Shard 1: ordinal 17 (hang); shard 2: 3 and 31 (fails); shard 3: 10 (crash). */
	add_failure(&s[0], "p12:d10.sz", 12, 17, EXPLORE_HANG, -1, 0);
	s[0].outcomes[EXPLORE_HANG] = 1;
	add_failure(&s[1], "s4096/p20:z18.1", 20, 31, EXPLORE_FAIL, 42, 0);
	add_failure(&s[1], "p5:d3.0", 5, 3, EXPLORE_FAIL, 1, 0);
	s[1].failures[1].res.reason = strdup(full.failures[0].res.reason);
	s[1].outcomes[EXPLORE_FAIL] = 2;
	add_failure(&s[2], "p9", 9, 10, EXPLORE_CRASH, -1, 11);
	s[2].outcomes[EXPLORE_CRASH] = 1;
	explore_report_free(&full);
}

static void test_merge_equals_unsharded(void **state)
{
	struct explore_report s[3], back[3], merged, full;
	const char *names[3] = { "a.json", "b.json", "c.json" };
	char err[512] = "";

	(void)state;
	make_shards(s);
	/* Through JSON files, as torn merge does, in a shuffled order. */
	for (int i = 0; i < 3; i++) {
		char p[200];

		snprintf(p, sizeof(p), "%s/s%d.json", tdir, i);
		assert_int_equal(report_json_write(&s[(i + 2) % 3], "chk", p, err, sizeof(err)), 0);
		assert_int_equal(report_json_read(p, &back[i], NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(report_merge(back, names, 3, &merged, err, sizeof(err)), 0);
	full_report(&full);
	assert_reports_equal(&full, &merged);
	assert_int_equal(merged.shard_n, 0);
	/* The merged report is itself a valid report. */
	assert_int_equal(report_json_write(&merged, "chk", path, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		explore_report_free(&s[i]);
		explore_report_free(&back[i]);
	}
	explore_report_free(&merged);
	explore_report_free(&full);
}

static void expect_merge_error(struct explore_report *s, size_t n, const char *needle)
{
	const char *names[4] = { "a.json", "b.json", "c.json", "d.json" };
	struct explore_report m;
	char err[512] = "";

	assert_int_equal(report_merge(s, names, n, &m, err, sizeof(err)), -EINVAL);
	print_message("%s\n", err);
	assert_non_null(strstr(err, needle));
}

static void test_merge_refuses(void **state)
{
	struct explore_report s[4], full;

	(void)state;
	make_shards(s);
	/* Missing shard. */
	expect_merge_error(s, 2, "shard 3/3 is missing");
	/* Twice the same shard. */
	s[3] = s[1];
	expect_merge_error(s, 4, "shard 2/3 given twice");
	/* Another trace. */
	free(s[2].trace_hash);
	s[2].trace_hash = strdup("ffffffffffffffffffffffffffffffff");
	expect_merge_error(s, 3, "c.json: explores another trace");
	free(s[2].trace_hash);
	s[2].trace_hash = strdup(s[0].trace_hash);
	/* Other options. */
	free(s[2].options[2].val);
	s[2].options[2].val = strdup("sync");
	expect_merge_error(s, 3, "c.json: explored with other options");
	free(s[2].options[2].val);
	s[2].options[2].val = strdup(s[0].options[2].val);
	/* Another N. */
	s[2].shard_n = 4;
	expect_merge_error(s, 3, "is not one of the 3 shards");
	s[2].shard_n = 3;
	/* Counts that do not add up (an interrupted shard). */
	s[2].states_checked--;
	expect_merge_error(s, 3, "checked 39 states in all");
	s[2].states_checked++;
	/* Not a shard at all. */
	full_report(&full);
	expect_merge_error(&full, 1, "not the report of a shard");
	explore_report_free(&full);
	for (int i = 0; i < 3; i++)
		explore_report_free(&s[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_equals_unsharded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

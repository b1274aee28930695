/*
 * tests/unit/test_scenario.c - scenario files (recovery/scenario.c): every
 * field parsed, the engine form expanded into tornkv commands, paths made
 * relative to the scenario file, continuation lines, and every kind of bad
 * file refused with FILE:LINE and what was expected; libfiu fault commands;
 * finding *.scn under directories (recursive, sorted, no repeats).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recovery/explore.h"
#include "recovery/scenario.h"

static char tdir[64], bindir[128], realdir[256];

static int setup(void **state)
{
	char rp[PATH_MAX];
	FILE *f;

	(void)state;
	strcpy(tdir, "/tmp/torn-test-scenario-XXXXXX");
	if (!mkdtemp(tdir) || !realpath(tdir, rp) || strlen(rp) >= sizeof(realdir))
		return -1;
	strcpy(realdir, rp);
	/* A fake bin directory with an executable "tornkv" and "tinylog". */
	snprintf(bindir, sizeof(bindir), "%s/bin", tdir);
	if (mkdir(bindir, 0755) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", bindir, i ? "tinylog" : "tornkv");
		f = fopen(p, "w");
		if (!f)
			return -1;
		fputs("#!/bin/sh\n", f);
		fclose(f);
		chmod(p, 0755);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return explore_rmtree(tdir);
}

/* Write @text to tdir/NAME; returns the path (static buffer). */
static const char *put(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Parse @text; expect failure with an error containing FILE:LINE: and @want. */
static void bad(const char *text, unsigned line, const char *want)
{
	char err[1024] = "", prefix[300];
	const char *p = put("bad.scn", text);
	struct scn *s = NULL;
	int rc = scn_parse(p, bindir, &s, err, sizeof(err));

	if (rc != -EINVAL || !strstr(err, want))
		print_error("text:\n%s\nrc %d, err '%s', expected '%s'\n", text, rc, err, want);
	assert_int_equal(rc, -EINVAL);
	assert_null(s);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", p, line);
	if (strncmp(err, prefix, strlen(prefix)))
		print_error("err '%s' does not start with '%s'\n", err, prefix);
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(err, want));
}

static struct scn *good(const char *text)
{
	char err[1024] = "";
	struct scn *s = NULL;
	int rc = scn_parse(put("good.scn", text), bindir, &s, err, sizeof(err));

	if (rc)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

/* ---- Good files ---- */

static void test_every_field(void **state)
{
	struct scn *s;
	char want[PATH_MAX + 64];

	(void)state;
	s = good("# a comment\n"
		 "; another\n"
		 "[scenario]\n"
		 "name = demo-1.x_y\n"
		 "description = what it shows; with a semicolon # and a hash\n"
		 "setup = ./prepare.sh a b\n"
		 "run = tinylog write . 5\n"
		 "check = sh ./check.sh\n"
		 "model = buffered\n"
		 "strategy = sync,prefix,torn,reorder:2\n"
		 "tear = old,new,zeros\n"
		 "crash-points = sync\n"
		 "sector = 4096\n"
		 "atomic = 8192\n"
		 "seed = 42\n"
		 "max-states = 500\n"
		 "timeout = 2.5\n"
		 "fault = enable name=posix/io/sync/fsync,failnum=1\n"
		 "fault = enable_random name=posix/io/rw/pwrite,probability=0.25\n"
		 "fault-seed = 9\n"
		 "marks-from-stdout = yes\n"
		 "expect = fail\n"
		 "expect-outcome = crash\n"
		 "expect-reason = lost\n"
		 "expect-reason = damaged\n");
	assert_string_equal(s->name, "demo-1.x_y");
	assert_string_equal(s->description, "what it shows; with a semicolon # and a hash");
	assert_string_equal(s->dir, realdir);
	snprintf(want, sizeof(want), "%s/prepare.sh a b", realdir);
	assert_string_equal(s->setup, want);
	snprintf(want, sizeof(want), "%s/tinylog write . 5", bindir);
	/* the bin dir is under tdir, which realpath may spell differently */
	assert_non_null(strstr(s->run, "/bin/tinylog write . 5"));
	snprintf(want, sizeof(want), "sh %s/check.sh", realdir);
	assert_string_equal(s->check, want);
	assert_string_equal(s->model, "buffered");
	assert_string_equal(s->strategy, "sync,prefix,torn,reorder:2");
	assert_string_equal(s->tear, "old,new,zeros");
	assert_string_equal(s->crash_points, "sync");
	assert_int_equal(s->sector, 4096);
	assert_int_equal(s->atomic, 8192);
	assert_int_equal(s->seed, 42);
	assert_int_equal(s->max_states, 500);
	assert_true(s->timeout_s > 2.49 && s->timeout_s < 2.51);
	assert_int_equal(s->nfaults, 2);
	assert_string_equal(s->faults[1], "enable_random name=posix/io/rw/pwrite,probability=0.25");
	assert_int_equal(s->fault_seed, 9);
	assert_int_equal(s->marks_from_stdout, 1);
	assert_int_equal(s->expect_fail, 1);
	assert_int_equal(s->expect_outcome, EXPLORE_CRASH);
	assert_int_equal(s->nreasons, 2);
	assert_string_equal(s->expect_reasons[0], "lost");
	assert_string_equal(s->expect_reasons[1], "damaged");
	assert_null(s->engine);
	scn_free(s);

	/* The defaults of what is left out. */
	s = good("name = m\nrun = true\ncheck = true\nexpect = pass\n");
	assert_null(s->setup);
	assert_null(s->strategy);
	assert_int_equal(s->sector, 0);
	assert_int_equal(s->max_states, 0);
	assert_int_equal(s->nfaults, 0);
	assert_int_equal(s->nreasons, 0);
	assert_int_equal(s->expect_fail, 0);
	assert_int_equal(s->expect_outcome, SCN_OUTCOME_ANY);
	assert_int_equal(s->marks_from_stdout, 0);
	assert_string_equal(s->run, "true");
	scn_free(s);
}

static void test_engine_form(void **state)
{
	struct scn *s;
	char want[512];

	(void)state;
	s = good("name = e\nengine = lsm\nmode = direct\nbug = no-dirsync-wal\n"
		 "workload = --ops 60 --keys 64\nexpect = fail\nexpect-reason = lost\n");
	snprintf(want, sizeof(want), "%s/tornkv --engine lsm --mode direct --bug no-dirsync-wal "
		 "--ops 60 --keys 64 --dir . workload", bindir);
	assert_string_equal(s->run, want);
	/* the checker gets the workload's options: it regenerates the values */
	snprintf(want, sizeof(want), "%s/tornkv --engine lsm --mode direct --bug no-dirsync-wal "
		 "--ops 60 --keys 64 check", bindir);
	assert_string_equal(s->check, want);
	assert_string_equal(s->engine, "lsm");
	assert_string_equal(s->bug, "no-dirsync-wal");
	scn_free(s);

	s = good("name = e2\nengine = wal\nmode = uring\nexpect = pass\n");
	snprintf(want, sizeof(want), "%s/tornkv --engine wal --mode uring check", bindir);
	assert_string_equal(s->check, want);
	scn_free(s);
}

static void test_paths(void **state)
{
	struct scn *s;
	char want[2048];

	(void)state;
	/* A path that does not exist yet is joined; quotes are left alone; an
	 * assignment before the command is skipped; after ; && | the next word
	 * is a command again; absolute paths and $VARS are untouched. */
	s = good("name = p\n"
		 "run = X=1 sub/prog.sh 'a ./b' \"./c\" ./d && tinylog x; /bin/true $HOME/y | ../up\n"
		 "check = tornkv check\nexpect = pass\n");
	snprintf(want, sizeof(want), "X=1 %s/sub/prog.sh 'a ./b' \"./c\" %s/d && %s/tinylog x; "
		 "/bin/true $HOME/y | %s/../up", realdir, realdir, bindir, realdir);
	/* bindir may not be in its real spelling: compare with the given one */
	if (strcmp(s->run, want))
		print_error("run: %s\nwant: %s\n", s->run, want);
	assert_string_equal(s->run, want);
	snprintf(want, sizeof(want), "%s/tornkv check", bindir);
	assert_string_equal(s->check, want);
	scn_free(s);

	/* An existing file is shown by its real path (no "dir/../x"). */
	mkdir(strcat(strcpy(want, tdir), "/sub"), 0755);
	put("sub/c.sh", "exit 0\n");
	put("sub/s.scn", "name = q\nrun = true\ncheck = ../sub/c.sh\nexpect = pass\n");
	{
		char err[512], p[256];

		snprintf(p, sizeof(p), "%s/sub/s.scn", tdir);
		assert_int_equal(scn_parse(p, bindir, &s, err, sizeof(err)), 0);
		snprintf(want, sizeof(want), "%s/sub/c.sh", realdir);
		assert_string_equal(s->check, want);
		scn_free(s);
	}

	/* A program not in the bin dir keeps its bare name (found in PATH). */
	s = good("name = r\nrun = sqlite3 db 'select 1'\ncheck = true\nexpect = pass\n");
	assert_string_equal(s->run, "sqlite3 db 'select 1'");
	scn_free(s);
}

static void test_continuation(void **state)
{
	struct scn *s;

	(void)state;
	s = good("name = c\n"
		 "setup = mkdir a\n"
		 "    touch a/b \\\n"
		 "      a/c\n"
		 "run = true\ncheck = true\nexpect = pass\n");
	assert_string_equal(s->setup, "mkdir a\ntouch a/b \\\na/c");
	scn_free(s);
	/* a long comment is fine (cut, not parsed) */
	{
		char text[1024];

		memset(text, 'x', 600);
		text[0] = '#';
		strcpy(text + 600, "\nname = l\nrun = true\ncheck = true\nexpect = pass\n");
		s = good(text);
		assert_string_equal(s->name, "l");
		scn_free(s);
	}
}

/* ---- Bad files: one test per kind ---- */

static void test_bad_unknown(void **state)
{
	(void)state;
	bad("name = a\nrun = true\ncheck = true\nexpect = pass\nstrategies = sync\n", 5,
	    "unknown key 'strategies' (expected one of: name,");
	bad("name = a\n[other]\nrun = true\n", 3, "unknown section [other]");
	bad("name = a\nthis line has no equals sign\n", 2, "expected 'key = value'");
}

static void test_bad_missing(void **state)
{
	(void)state;
	bad("run = true\ncheck = true\nexpect = pass\n", 3, "missing required key 'name'");
	bad("name = a\nrun = true\ncheck = true\n", 3, "missing required key 'expect'");
	bad("name = a\nrun = true\nexpect = pass\n", 3, "missing required key 'check'");
	bad("name = a\ncheck = true\nexpect = pass\n", 3, "missing required key 'run'");
	bad("name = a\nengine = wal\nexpect = pass\n", 2, "needs both 'engine'");
	bad("name = a\nmode = direct\nbug = x\nexpect = pass\n", 2, "needs both 'engine'");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *line;
		const char *want;
	} cases[] = {
		{ "name = has space", "name: expected letters, digits" },
		{ "name = .hidden", "name: expected letters" },
		{ "sector = 1024", "sector: expected 512 or 4096, got '1024'" },
		{ "sector = x", "sector: expected 512 or 4096" },
		{ "atomic = 100", "atomic: expected a multiple of 512" },
		{ "seed = -1", "seed: expected a non-negative integer, got '-1'" },
		{ "seed = 12abc", "seed: expected a non-negative integer" },
		{ "max-states = 0", "max-states: expected a number of states >= 1" },
		{ "timeout = 0", "timeout: expected seconds per checker" },
		{ "timeout = soon", "timeout: expected seconds" },
		{ "strategy = sync,bogus", "strategy: " },
		{ "model = zfs", "model: " },
		{ "tear = half", "tear: " },
		{ "crash-points = some", "crash-points: " },
		{ "marks-from-stdout = maybe", "marks-from-stdout: expected true or false" },
		{ "fault = enable", "fault: expected 'enable name=FAILURE_POINT" },
		{ "fault = explode name=x", "fault: expected a libfiu command" },
		{ "fault = enable name=posix/io/sync/fsync,failnum=two", "failnum: expected a non-zero integer" },
		{ "fault = enable name=x", "unknown failure point 'x'" },
		{ "fault = fsync@wal.log#3=EIOX", "unknown errno 'EIOX'" },
		{ "fault-seed = 5", "fault-seed: only meaningful with a 'fault'" },
		{ "fault = enable failnum=1", "expected name=FAILURE_POINT" },
		{ "fault = enable_random name=posix/io/rw/write", "expected probability=P" },
		{ "fault = enable_random name=posix/io/rw/write,probability=2", "probability: expected a number from 0 to 1" },
		{ "fault = enable name=posix/io/rw/write,colour=red", "unknown libfiu parameter 'colour'" },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int name_line = !strncmp(cases[i].line, "name", 4);

		snprintf(text, sizeof(text), "%s%s\nrun = true\ncheck = true\nexpect = pass\n",
			 name_line ? "" : "name = a\n", cases[i].line);
		bad(text, name_line ? 1 : 2, cases[i].want);
	}
	bad("name = a\nrun = true\ncheck = true\nexpect = maybe\n", 4,
	    "expect: expected pass or fail, got 'maybe'");
	bad("name = a\nrun = true\ncheck = true\nexpect = fail\nexpect-outcome = pass\n", 5,
	    "expect-outcome: expected fail, crash or hang");
	bad("name = a\nrun = true\ncheck = true\nexpect = pass\nexpect-reason = lost\n", 5,
	    "only meaningful with 'expect = fail'");
	bad("name = a\nrun = true\ncheck = true\nexpect = fail\nexpect-reason =\n", 5,
	    "expect-reason: expected the text");
	bad("name = a\nengine = sqlite\nmode = buffered\nexpect = pass\n", 2,
	    "engine: expected wal, bitcask, btree or lsm, got 'sqlite'");
	bad("name = a\nengine = wal\nmode = mmap\nexpect = pass\n", 3,
	    "mode: expected buffered, direct or uring");
	bad("name = a\nengine = wal\nmode = direct\nbug = Bad Bug\nexpect = pass\n", 4,
	    "bug: expected a seeded bug's name");
	bad("name = a\nengine = wal\nmode = direct\nrun = true\nexpect = pass\n", 4,
	    "'run' cannot be combined with the engine form");
	bad("name = a\nrun =\ncheck = true\nexpect = pass\n", 2, "run: expected a shell command");
}

static void test_bad_repeats_and_lines(void **state)
{
	char text[600];

	(void)state;
	bad("name = a\nrun = true\nname = b\n", 3, "'name' given twice (first on line 1)");
	bad("name = a\nrun = true\ncheck = true\nexpect = fail\nfault = enable name=x\n"
	    "  ,failnum=1\n", 6, "fault: expected one value per line");
	memset(text, 'x', sizeof(text));
	memcpy(text, "name = a\nrun = ", 15);
	strcpy(text + 400, "\ncheck = true\nexpect = pass\n");
	bad(text, 2, "line longer than");
}

static void test_unreadable(void **state)
{
	char err[512];
	struct scn *s = NULL;

	(void)state;
	assert_int_equal(scn_parse("/nonexistent/x.scn", NULL, &s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.scn: cannot read"));
	assert_null(s);
}

static void test_fault_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(scn_fault_check("enable name=posix/io/sync/fsync", err, sizeof(err)), 0);
	assert_int_equal(scn_fault_check("enable name=posix/io/sync/fsync,failnum=1,failinfo=5",
					 err, sizeof(err)), 0);
	assert_int_equal(scn_fault_check("fsync@wal.log#3=EIO", err, sizeof(err)), 0);
	assert_int_equal(scn_fault_check("disable name=posix/io/rw/pwrite", err, sizeof(err)), 0);
	/* the stack form is libfiu's, but the points are in the shim: refused */
	assert_int_equal(scn_fault_check("enable_stack_by_name name=posix/io/sync/fsync,"
					 "func_name=f", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "enable_stack_by_name"));
	assert_int_equal(scn_fault_check("enable name=", err, sizeof(err)), -EINVAL);
	assert_int_equal(scn_fault_check("", err, sizeof(err)), -EINVAL);
}

static void test_find(void **state)
{
	char **files = NULL, err[512], d[128], p1[160], p2[160];
	const char *paths[3];
	size_t n = 0;

	(void)state;
	snprintf(d, sizeof(d), "%s/suite", tdir);
	mkdir(d, 0755);
	snprintf(p1, sizeof(p1), "%s/suite/b", tdir);
	mkdir(p1, 0755);
	snprintf(p1, sizeof(p1), "%s/suite/.hidden", tdir);
	mkdir(p1, 0755);
	put("suite/z.scn", "");
	put("suite/a.scn", "");
	put("suite/b/m.scn", "");
	put("suite/b/notes.txt", "");
	put("suite/.hidden/h.scn", "");
	/* a symlink back up the tree is not followed (no endless walk) */
	snprintf(p1, sizeof(p1), "%s/suite/b/loop", tdir);
	assert_int_equal(symlink("..", p1), 0);
	snprintf(p2, sizeof(p2), "%s/suite/a.scn", tdir);
	paths[0] = d;
	paths[1] = p2;          /* also inside d: listed once */
	assert_int_equal(scn_find(paths, 2, &files, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_non_null(strstr(files[0], "/suite/a.scn"));
	assert_non_null(strstr(files[1], "/suite/b/m.scn"));
	assert_non_null(strstr(files[2], "/suite/z.scn"));
	scn_files_free(files, n);

	/* a file is taken whatever its name */
	snprintf(p1, sizeof(p1), "%s/suite/b/notes.txt", tdir);
	paths[0] = p1;
	assert_int_equal(scn_find(paths, 1, &files, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	scn_files_free(files, n);

	paths[0] = "/nonexistent/suite";
	assert_int_equal(scn_find(paths, 1, &files, &n, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/suite: "));
	assert_non_null(strstr(err, "expected a scenario file or a directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_engine_form),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_bad_unknown),
		cmocka_unit_test(test_bad_missing),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_repeats_and_lines),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_fault_check),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

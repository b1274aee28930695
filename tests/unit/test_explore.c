/*
 * tests/unit/test_explore.c - the checker runner (recovery/explore.c).
 *
 * Sections:
 *   1. Classification of one checker run (explore_check_dir): exit 0, 1,
 *      125, 128+N, 200, signals, a hang whose process group ignores SIGTERM
 *      and leaves a grandchild, 126/127, the environment, output capture
 *   2. explore_run on hand-built traces: a known failing state, the same ids
 *      and outcomes with -j1 and -j2, the union of the shards is the
 *      unsharded run, dedup, keep-failing, scratch cleanup, progress; the
 *      in-process checker's workers (fork server children that check one
 *      state after another while they pass) against the exec checker:
 *      the same fail, crash and hang states, also when a worker's earlier
 *      checks would change a later one's result
 *   3. Ids: the options an id implies
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "torn/trace.h"
#include "recovery/crash.h"
#include "recovery/explore.h"
#include "trace_builder.h"

static char tdir[64], sdir[128], scratch[128], tpath[128];

static int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/torn-test-explore-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/state", tdir);
	snprintf(scratch, sizeof(scratch), "%s/scratch", tdir);
	snprintf(tpath, sizeof(tpath), "%s/t.trace", tdir);
	if (mkdir(sdir, 0755) < 0 || mkdir(scratch, 0755) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return explore_rmtree(tdir);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Entries of @dir whose name starts with @prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* Run @cmd once in sdir; returns explore_check_dir's code. */
static int check(const char *cmd, double timeout, struct explore_result *res)
{
	struct explore_opts o;
	char err[512] = "";
	int rc;

	explore_opts_default(&o);
	o.check = cmd;
	o.timeout_s = timeout;
	o.scratch = scratch;
	memset(res, 0, sizeof(*res));
	rc = explore_check_dir(&o, sdir, NULL, "p1:d1.0", NULL, res, err, sizeof(err));
	if (rc < 0)
		print_message("explore_check_dir: %s\n", err);
	return rc;
}

/* ==========================================================================
 * 1. CLASSIFICATION
 * ========================================================================== */

static void test_exit_codes(void **state)
{
	static const struct { const char *cmd; enum explore_outcome oc; int code, sig; } cases[] = {
		{ "true",            EXPLORE_PASS,  0,   0 },   /* exec'ed directly */
		{ "exit 0",          EXPLORE_PASS,  0,   0 },   /* through the shell */
		{ "false",           EXPLORE_FAIL,  1,   0 },
		{ "exit 1",          EXPLORE_FAIL,  1,   0 },
		{ "exit 125",        EXPLORE_FAIL,  125, 0 },
		{ "exit 128",        EXPLORE_FAIL,  128, 0 },
		{ "exit 200",        EXPLORE_FAIL,  200, 0 },
		{ "exit 139",        EXPLORE_CRASH, 139, 11 },  /* the shell's 128+SIGSEGV */
		{ "kill -SEGV $$",   EXPLORE_CRASH, -1,  SIGSEGV },
		{ "kill -ABRT $$",   EXPLORE_CRASH, -1,  SIGABRT },
		{ "kill -KILL $$",   EXPLORE_CRASH, -1,  SIGKILL },
	};
	struct explore_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(check(cases[i].cmd, 10, &r), 0);
		print_message("%-16s -> %s exit %d sig %d\n", cases[i].cmd,
			      explore_outcome_name(r.outcome), r.exit_code, r.sig);
		assert_int_equal(r.outcome, cases[i].oc);
		assert_int_equal(r.exit_code, cases[i].code);
		assert_int_equal(r.sig, cases[i].sig);
		explore_result_free(&r);
	}
	/* The caller's directory is never removed by explore_check_dir. */
	assert_int_equal(access(sdir, F_OK), 0);
}

/* A process group that ignores SIGTERM and leaves a grandchild: the hang
 * is reported on time and the grandchild is killed with the group. */
static void test_hang_kills_group(void **state)
{
	struct explore_result r;
	char path[200], buf[64], stat[64];
	double t0;
	FILE *f;
	int pid = 0;

	(void)state;
	t0 = now();
	assert_int_equal(check("trap '' TERM; sh -c 'trap \"\" TERM; echo $$ > gc.pid; "
			       "exec sleep 60' & sleep 60", 0.5, &r), 0);
	assert_true(now() - t0 < 5);
	assert_int_equal(r.outcome, EXPLORE_HANG);
	assert_true(r.secs >= 0.5);
	explore_result_free(&r);
	snprintf(path, sizeof(path), "%s/gc.pid", sdir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	assert_true(pid > 1);
	/* Gone, or a zombie waiting for init to reap it: not running. */
	for (int i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			break;
		stat[0] = '\0';
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			snprintf(stat, sizeof(stat), "%s", p ? p + 2 : "");
		}
		fclose(f);
		if (stat[0] == 'Z' || stat[0] == 'X')
			break;
		usleep(10000);
		assert_true(i < 499);
	}
}

/* A daemon left behind by a passing checker is killed too. */
static void test_pass_kills_leftovers(void **state)
{
	struct explore_result r;
	char path[200];
	FILE *f;
	int pid = 0;

	(void)state;
	assert_int_equal(check("sleep 60 & echo $! > bg.pid; exit 0", 10, &r), 0);
	assert_int_equal(r.outcome, EXPLORE_PASS);
	explore_result_free(&r);
	snprintf(path, sizeof(path), "%s/bg.pid", sdir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++) {
		char st[256], line[256];
		FILE *s;

		snprintf(st, sizeof(st), "/proc/%d/stat", pid);
		s = fopen(st, "r");
		if (!s)
			break;
		if (fgets(line, sizeof(line), s) && strstr(line, ") Z")) {
			fclose(s);
			break;
		}
		fclose(s);
		usleep(10000);
		assert_true(i < 499);
	}
}

static void test_not_runnable(void **state)
{
	struct explore_opts o;
	struct explore_result r;
	char err[512] = "", path[200];

	(void)state;
	explore_opts_default(&o);
	o.scratch = scratch;
	/* Direct exec: the spawn itself fails. */
	o.check = "/nonexistent/torn-checker arg";
	assert_int_equal(explore_check_dir(&o, sdir, NULL, "p1", NULL, &r, err, sizeof(err)),
			 -TORN_E_CHECKER);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "/nonexistent/torn-checker"));
	/* Through the shell: exit 127. */
	o.check = "torn-no-such-command-xyz; exit $?";
	err[0] = '\0';
	assert_int_equal(explore_check_dir(&o, sdir, NULL, "p1", NULL, &r, err, sizeof(err)),
			 -TORN_E_CHECKER);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "exit 127"));
	assert_non_null(strstr(err, "not found"));
	/* Not executable: 126. */
	snprintf(path, sizeof(path), "%s/noexec.sh", sdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(path, 0644);
	o.check = "./noexec.sh; exit $?";
	err[0] = '\0';
	assert_int_equal(explore_check_dir(&o, sdir, NULL, "p1", NULL, &r, err, sizeof(err)),
			 -TORN_E_CHECKER);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "exit 126"));
	unlink(path);
}

static void test_environment(void **state)
{
	struct explore_opts o;
	struct explore_result r;
	char err[512] = "", marks[200], cmd[10000], real[4096];
	FILE *f;

	(void)state;
	snprintf(marks, sizeof(marks), "%s/m.marks", tdir);
	f = fopen(marks, "w");
	assert_non_null(f);
	fputs("ack 1\nack 2\n", f);
	fclose(f);
	assert_non_null(realpath(sdir, real));
	explore_opts_default(&o);
	o.scratch = scratch;
	o.trace = "/some/run.trace";
	snprintf(cmd, sizeof(cmd),
		 "test \"$TORN_STATE\" = '%s' && test \"$(pwd -P)\" = '%s' && "
		 "test \"$TORN_STATE_ID\" = 'p7:d3.1' && test \"$TORN_MARKS\" = '%s' && "
		 "test \"$(tail -n 1 \"$TORN_MARKS\")\" = 'ack 2' && "
		 "test \"$TORN_TRACE\" = /some/run.trace && test ! -t 0 && "
		 "test \"$(cat)\" = ''", real, real, marks);
	o.check = cmd;
	setenv("TORN_STATE_ID", "stale", 1);
	assert_int_equal(explore_check_dir(&o, sdir, marks, "p7:d3.1", NULL, &r, err,
					   sizeof(err)), 0);
	unsetenv("TORN_STATE_ID");
	assert_int_equal(r.outcome, EXPLORE_PASS);
	explore_result_free(&r);
	unlink(marks);
}

static void test_output_tail(void **state)
{
	struct explore_opts o;
	struct explore_result r;
	char err[512] = "";

	(void)state;
	explore_opts_default(&o);
	o.scratch = scratch;
	o.output_lines = 5;
	o.check = "for i in 1 2 3 4 5 6 7 8; do echo line $i; done; "
		  "printf 'bad \\001\\377 \"q\" \\303\\251\\n'; echo err >&2; exit 3";
	assert_int_equal(explore_check_dir(&o, sdir, NULL, "p1", NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.outcome, EXPLORE_FAIL);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(r.noutput, 5);
	assert_string_equal(r.output[0], "line 6");
	assert_string_equal(r.output[2], "line 8");
	/* Control and invalid bytes become '?', valid UTF-8 stays. */
	assert_string_equal(r.output[3], "bad ?? \"q\" \xc3\xa9");
	assert_string_equal(r.output[4], "err");
	explore_result_free(&r);
}

/* ==========================================================================
 * 2. EXPLORE_RUN ON HAND-BUILT TRACES
 * ========================================================================== */

/* f: "hello" fsynced, then "world" appended in two writes without fsync,
 * and a second file g created (directory never fsynced). */
static void build_trace(void)
{
	tb_open(tpath);
	tb_root();
	tb_init_file("base", 0644, "base", 4);
	tb_init_done();
	tb_open_file(1, "f", TORN_F_CREATED);
	tb_write(1, 0, "hello", 5, 0);
	tb_fsync(1);
	tb_mark("ack hello");
	tb_write(1, 5, "wor", 3, 0);
	tb_write(1, 8, "ld", 2, 0);
	tb_open_file(2, "g", TORN_F_CREATED);
	tb_write(2, 0, "gg", 2, 0);
	tb_mark("ack world");
	tb_close_handle(1);
	tb_close_handle(2);
	tb_end();
	tb_close();
}

/* Fails when an acked "world" is missing from f. */
#define CHECKER "if grep -q 'ack world' \"$TORN_MARKS\"; then " \
		"test \"$(cat f 2>/dev/null)\" = helloworld || { echo \"lost: $(cat f 2>/dev/null)\"; exit 4; }; fi"

static int run_with(const char *strategy, const char *checker, unsigned jobs, uint32_t si,
		    uint32_t sn, struct explore_report *rep);

static int run(const char *strategy, unsigned jobs, uint32_t si, uint32_t sn,
	       struct explore_report *rep)
{
	return run_with(strategy, CHECKER, jobs, si, sn, rep);
}

static int run_with(const char *strategy, const char *checker, unsigned jobs, uint32_t si,
		    uint32_t sn, struct explore_report *rep)
{
	struct torn_trace *t = NULL;
	struct crash_space *sp = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct explore_opts o;
	char err[512] = "";
	int rc;

	crash_opts_default(&co);
	assert_int_equal(crash_opts_parse_strategy(&co, strategy, err, sizeof(err)), 0);
	assert_int_equal(trace_open(tpath, &t, &terr), 0);
	assert_int_equal(crash_space_new(t, &co, &sp, &terr), 0);
	explore_opts_default(&o);
	o.check = checker;
	o.trace = tpath;
	o.jobs = jobs;
	o.scratch = scratch;
	o.shard_i = si;
	o.shard_n = sn;
	explore_report_init(rep);
	rc = explore_run(t, sp, &o, rep, err, sizeof(err));
	if (rc < 0)
		print_message("explore_run: %s\n", err);
	crash_space_free(sp);
	trace_close(t);
	return rc;
}

static void assert_same_failures(const struct explore_report *a, const struct explore_report *b)
{
	assert_int_equal(a->nfailures, b->nfailures);
	for (size_t i = 0; i < a->nfailures; i++) {
		assert_string_equal(a->failures[i].state, b->failures[i].state);
		assert_int_equal(a->failures[i].res.outcome, b->failures[i].res.outcome);
		assert_int_equal(a->failures[i].res.exit_code, b->failures[i].res.exit_code);
		assert_int_equal(a->failures[i].ordinal, b->failures[i].ordinal);
		assert_int_equal(a->failures[i].crash_point, b->failures[i].crash_point);
	}
}

static void test_run_finds_failure(void **state)
{
	struct explore_report rep;

	(void)state;
	build_trace();
	assert_int_equal(run("sync,prefix", 2, 0, 0, &rep), 0);
	print_message("enumerated %llu unique %llu checked %llu fail %llu\n",
		      (unsigned long long)rep.states_enumerated,
		      (unsigned long long)rep.unique_states,
		      (unsigned long long)rep.states_checked,
		      (unsigned long long)rep.outcomes[EXPLORE_FAIL]);
	assert_true(rep.states_enumerated >= rep.unique_states);
	assert_int_equal(rep.states_checked, rep.unique_states);
	assert_int_equal(rep.outcomes[EXPLORE_PASS] + rep.outcomes[EXPLORE_FAIL],
			 rep.states_checked);
	assert_true(rep.outcomes[EXPLORE_PASS] > 0);
	assert_true(rep.outcomes[EXPLORE_FAIL] > 0);
	assert_int_equal(rep.nfailures, rep.outcomes[EXPLORE_FAIL]);
	/* The known failures: right after the "ack world" mark (seq 12, so
	 * crash point 13; later points have the same files and marks), f
	 * missing (its create never made durable), "hello" (both appends
	 * dropped) and "hellowor" (the second dropped): exactly these three. */
	assert_int_equal(rep.nfailures, 3);
	int seen[3] = { 0, 0, 0 };
	for (size_t i = 0; i < rep.nfailures; i++) {
		const struct explore_failure *f = &rep.failures[i];
		const char *last;

		assert_int_equal(f->res.exit_code, 4);
		assert_int_equal(f->crash_point, 13);
		assert_true(f->res.noutput >= 1);
		last = f->res.output[f->res.noutput - 1];
		if (!strcmp(last, "lost: "))
			seen[0]++;
		else if (!strcmp(last, "lost: hello"))
			seen[1]++;
		else if (!strcmp(last, "lost: hellowor"))
			seen[2]++;
		else
			fail_msg("unexpected failure %s: %s", f->state, last);
		if (i)
			assert_true(rep.failures[i - 1].ordinal < f->ordinal);
	}
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	/* Nothing left behind in the scratch dir. */
	assert_int_equal(count_entries(scratch), 0);
	explore_report_free(&rep);
}

static void test_jobs_and_shards_agree(void **state)
{
	struct explore_report one, two, s[3];
	uint64_t checked = 0, fails = 0;

	(void)state;
	build_trace();
	assert_int_equal(run("sync,prefix,reorder:2", 1, 0, 0, &one), 0);
	assert_int_equal(run("sync,prefix,reorder:2", 2, 0, 0, &two), 0);
	assert_int_equal(one.states_enumerated, two.states_enumerated);
	assert_int_equal(one.unique_states, two.unique_states);
	assert_int_equal(one.states_checked, two.states_checked);
	assert_memory_equal(one.outcomes, two.outcomes, sizeof(one.outcomes));
	assert_same_failures(&one, &two);

	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(run("sync,prefix,reorder:2", 2, i + 1, 3, &s[i]), 0);
		assert_int_equal(s[i].states_enumerated, one.states_enumerated);
		assert_int_equal(s[i].unique_states, one.unique_states);
		checked += s[i].states_checked;
		fails += s[i].nfailures;
	}
	assert_int_equal(checked, one.unique_states);
	assert_int_equal(fails, one.nfailures);
	/* Every unsharded failure is in exactly one shard, with the same ordinal. */
	for (size_t k = 0; k < one.nfailures; k++) {
		int found = 0;

		for (int i = 0; i < 3; i++)
			for (size_t j = 0; j < s[i].nfailures; j++)
				if (!strcmp(s[i].failures[j].state, one.failures[k].state)) {
					found++;
					assert_int_equal(s[i].failures[j].ordinal,
							 one.failures[k].ordinal);
				}
		assert_int_equal(found, 1);
	}
	for (int i = 0; i < 3; i++)
		explore_report_free(&s[i]);
	explore_report_free(&one);
	explore_report_free(&two);
}

/* The exec checker and the in-process one below agree state by state:
 * CHECKER, except that the states with f "hello" crash (SIGSEGV) and
 * those with f "hellowor" and "ack world" hang.  ($(cat f) drops NULs.) */
#define CHECKER_CRASH_HANG "f=$(cat f 2>/dev/null); if [ \"$f\" = hello ]; then kill -SEGV $$; fi; " \
	"if [ \"$f\" = hellowor ] && grep -q 'ack world' \"$TORN_MARKS\"; then sleep 100; fi; " CHECKER

static int inproc_checked;   /* states this process checked */

/* CHECKER_CRASH_HANG in C; with *@arg (taint) 1, a process that checked a
 * state before fails every later one (exit 7): what an engine keeping
 * state in static memory would do; with 2, it hangs on the later ones
 * with f "helloworld".  explore_run must check such a state again in a
 * fresh child, and so report exactly what the exec checker reports. */
static int inproc_check(void *arg, const char *dir, const char *marks)
{
	const int *taint = arg;
	char f[64] = "", line[256];
	int acked = 0, fd;
	FILE *m;

	(void)dir;
	if (*taint == 1 && inproc_checked++ > 0)
		return 7;
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, line, sizeof(f) - 1), k = 0;

		for (ssize_t i = 0; i < n; i++)
			if (line[i])
				f[k++] = line[i];
		f[k] = 0;
		close(fd);
	}
	if (!strcmp(f, "hello"))
		raise(SIGSEGV);
	m = fopen(marks, "r");
	while (m && fgets(line, sizeof(line), m))
		acked |= strstr(line, "ack world") != NULL;
	if (m)
		fclose(m);
	if ((acked && !strcmp(f, "hellowor")) ||
	    (*taint == 2 && inproc_checked++ > 0 && !strcmp(f, "helloworld")))
		for (;;)
			pause();
	if (acked && strcmp(f, "helloworld")) {
		dprintf(1, "lost: %s\n", f);   /* unbuffered: the child _exits */
		return 4;
	}
	return 0;
}

/* explore_run with -j @jobs, the exec checker, or (@taint not NULL) the
 * in-process one through a fork server. */
static void run_checker(int *taint, unsigned jobs, struct explore_report *rep)
{
	struct torn_trace *t = NULL;
	struct crash_space *sp = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct explore_opts o;
	char err[512] = "";

	crash_opts_default(&co);
	assert_int_equal(crash_opts_parse_strategy(&co, "sync,prefix,reorder:2", err, sizeof(err)), 0);
	assert_int_equal(trace_open(tpath, &t, &terr), 0);
	assert_int_equal(crash_space_new(t, &co, &sp, &terr), 0);
	explore_opts_default(&o);
	o.check = CHECKER_CRASH_HANG;
	o.trace = tpath;
	o.jobs = jobs;
	o.scratch = scratch;
	o.timeout_s = 0.5;
	if (taint) {
		o.check_fn = inproc_check;
		o.check_arg = taint;
		assert_int_equal(explore_forkserver_start(inproc_check, taint, &o.forkserver), 0);
	}
	explore_report_init(rep);
	if (explore_run(t, sp, &o, rep, err, sizeof(err)) < 0)
		fail_msg("explore_run (%s, -j %u): %s", taint ? "in-process" : "exec", jobs, err);
	explore_forkserver_stop(o.forkserver);
	crash_space_free(sp);
	trace_close(t);
}

static void test_inproc_workers(void **state)
{
	struct explore_report ex, ip[4];
	int clean = 0, taint = 1, taint_hang = 2;

	(void)state;
	build_trace();
	run_checker(NULL, 2, &ex);
	assert_true(ex.outcomes[EXPLORE_PASS] >= 4);
	assert_true(ex.outcomes[EXPLORE_FAIL] > 0);
	assert_true(ex.outcomes[EXPLORE_CRASH] > 0);
	assert_true(ex.outcomes[EXPLORE_HANG] > 0);
	run_checker(&clean, 2, &ip[0]);
	run_checker(&clean, 1, &ip[1]);
	run_checker(&taint, 2, &ip[2]);
	run_checker(&taint_hang, 2, &ip[3]);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(ip[k].states_checked, ex.states_checked);
		assert_memory_equal(ip[k].outcomes, ex.outcomes, sizeof(ex.outcomes));
		assert_same_failures(&ex, &ip[k]);
		for (size_t i = 0; i < ex.nfailures; i++) {
			const struct explore_result *a = &ex.failures[i].res, *b = &ip[k].failures[i].res;

			assert_int_equal(a->sig, b->sig);
			assert_int_equal(a->noutput, b->noutput);
			for (size_t l = 0; l < a->noutput; l++)
				assert_string_equal(a->output[l], b->output[l]);
		}
		explore_report_free(&ip[k]);
	}
	assert_int_equal(count_entries(scratch), 0);
	explore_report_free(&ex);
}

static void test_keep_failing(void **state)
{
	struct torn_trace *t = NULL;
	struct crash_space *sp = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct explore_opts o;
	struct explore_report rep;
	char err[512] = "", path[4200];

	(void)state;
	build_trace();
	crash_opts_default(&co);
	assert_int_equal(trace_open(tpath, &t, &terr), 0);
	assert_int_equal(crash_space_new(t, &co, &sp, &terr), 0);
	explore_opts_default(&o);
	o.check = CHECKER;
	o.scratch = scratch;
	o.keep_failing = 1;
	explore_report_init(&rep);
	assert_int_equal(explore_run(t, sp, &o, &rep, err, sizeof(err)), 0);
	assert_true(rep.nfailures > 0);
	assert_non_null(rep.scratch_kept);
	for (size_t i = 0; i < rep.nfailures; i++) {
		assert_non_null(rep.failures[i].kept);
		snprintf(path, sizeof(path), "%s/f", rep.failures[i].kept);
		assert_int_equal(access(path, F_OK) == 0 || errno == ENOENT, 1);
		snprintf(path, sizeof(path), "%s.marks", rep.failures[i].kept);
		assert_int_equal(access(path, R_OK), 0);
	}
	/* Only failing states (sN, sN.marks, sN.out) were kept. */
	assert_int_equal(count_prefixed(rep.scratch_kept, "s"), 3 * (int)rep.nfailures);
	assert_int_equal(count_entries(rep.scratch_kept), 3 * (int)rep.nfailures);
	explore_rmtree(rep.scratch_kept);
	explore_report_free(&rep);
	crash_space_free(sp);
	trace_close(t);
}

struct prog_log {
	int calls, done_calls;
	uint64_t last_checked, last_enum;
	int monotonic;
};

static void on_progress(void *arg, const struct explore_progress *p)
{
	struct prog_log *l = arg;

	if (p->checked < l->last_checked || p->enumerated < l->last_enum)
		l->monotonic = 0;
	l->last_checked = p->checked;
	l->last_enum = p->enumerated;
	l->calls++;
	l->done_calls += p->done;
}

/* The progress callback: monotonic counts, one final call with the totals. */
static void test_progress(void **state)
{
	struct torn_trace *t = NULL;
	struct crash_space *sp = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct explore_opts o;
	struct explore_report rep;
	struct prog_log log = { .monotonic = 1 };
	char err[512] = "";

	(void)state;
	build_trace();
	crash_opts_default(&co);
	assert_int_equal(crash_opts_parse_strategy(&co, "sync,prefix", err, sizeof(err)), 0);
	assert_int_equal(trace_open(tpath, &t, &terr), 0);
	assert_int_equal(crash_space_new(t, &co, &sp, &terr), 0);
	explore_opts_default(&o);
	o.check = "sleep 0.01";
	o.scratch = scratch;
	o.jobs = 2;
	o.progress = on_progress;
	o.progress_arg = &log;
	o.total = crash_space_count(sp);
	explore_report_init(&rep);
	assert_int_equal(explore_run(t, sp, &o, &rep, err, sizeof(err)), 0);
	assert_true(log.calls >= 1);
	assert_int_equal(log.done_calls, 1);
	assert_true(log.monotonic);
	assert_int_equal(log.last_checked, rep.states_checked);
	assert_int_equal(log.last_enum, rep.states_enumerated);
	assert_int_equal((int64_t)rep.states_enumerated, o.total);
	explore_report_free(&rep);
	crash_space_free(sp);
	trace_close(t);
}

static void test_checker_error_stops(void **state)
{
	struct torn_trace *t = NULL;
	struct crash_space *sp = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct explore_opts o;
	struct explore_report rep;
	char err[512] = "";

	(void)state;
	build_trace();
	crash_opts_default(&co);
	assert_int_equal(trace_open(tpath, &t, &terr), 0);
	assert_int_equal(crash_space_new(t, &co, &sp, &terr), 0);
	explore_opts_default(&o);
	o.check = "torn-no-such-checker-xyz";
	o.scratch = scratch;
	o.jobs = 2;
	explore_report_init(&rep);
	assert_int_equal(explore_run(t, sp, &o, &rep, err, sizeof(err)), -TORN_E_CHECKER);
	assert_non_null(strstr(err, "torn-no-such-checker-xyz"));
	assert_int_equal(count_entries(scratch), 0);
	explore_report_free(&rep);
	crash_space_free(sp);
	trace_close(t);
}

/* ==========================================================================
 * 3. IDS
 * ========================================================================== */

static void test_opts_from_id(void **state)
{
	struct crash_opts co;
	char err[256];

	(void)state;
	crash_opts_default(&co);
	assert_int_equal(explore_opts_from_id(&co, "p57:d12.3", 0, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(co.sector, 512);
	assert_int_equal(co.model, CRASH_MODEL_AUTO);
	crash_opts_default(&co);
	assert_int_equal(explore_opts_from_id(&co, "s4096a8192md/p9:d3.1:z4.0:g5.1", 0, 0, 0,
					      err, sizeof(err)), 0);
	assert_int_equal(co.sector, 4096);
	assert_int_equal(co.atomic, 8192);
	assert_int_equal(co.model, CRASH_MODEL_DIRECT);
	assert_true(co.tear & CRASH_TEAR_ZEROS);
	assert_true(co.tear & CRASH_TEAR_GARBAGE);
	/* An explicit option that contradicts the id. */
	crash_opts_default(&co);
	co.sector = 4096;
	assert_int_equal(explore_opts_from_id(&co, "p5", 1, 0, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--sector 512"));
	crash_opts_default(&co);
	assert_int_equal(explore_opts_from_id(&co, "x12/p5", 0, 0, 0, err, sizeof(err)), -EINVAL);
}

/* fsyncgate: "one" is written, its fsync fails (EIO: the page is dropped),
 * "two" is written and fsynced, and the program acknowledges.  Whatever the
 * checker says, the reference state right after the mark fails with the
 * reason; checker failures from there on carry it too, earlier ones not. */
static void build_ackloss_trace(uint64_t *mark)
{
	tb_open(tpath);
	tb_root();
	tb_init_file("f", 0644, "", 0);
	tb_init_done();
	tb_open_file(1, "f", 0);
	tb_write(1, 0, "one", 3, 0);
	tb_next_result(-EIO);
	tb_fsync(1);
	tb_write(1, 512, "two", 3, 0);
	tb_fsync(1);
	*mark = tb_mark("ack one two");
	tb_close_handle(1);
	tb_end();
	tb_close();
}

static void test_ackloss_finding(void **state)
{
	struct explore_report rep;
	uint64_t mark;

	(void)state;
	build_ackloss_trace(&mark);
	/* A checker that passes everything: torn's own finding remains, also
	 * under "sync", which has no state at the point after the mark. */
	for (int strat = 0; strat < 2; strat++) {
		assert_int_equal(run_with(strat ? "prefix" : "sync", "true", 2, 0, 0, &rep), 0);
		assert_int_equal(rep.nfailures, 1);
		assert_int_equal(rep.outcomes[EXPLORE_FAIL], 1);
		assert_int_equal(rep.failures[0].crash_point, mark + 1);
		assert_int_equal(rep.failures[0].res.outcome, EXPLORE_FAIL);
		assert_int_equal(rep.failures[0].res.exit_code, 0);
		assert_non_null(rep.failures[0].res.reason);
		assert_non_null(strstr(rep.failures[0].res.reason,
				       "acknowledged after failed fsync: f lost 3 bytes at offset 0"));
		assert_true(strchr(rep.failures[0].state, ':') == NULL);
		assert_int_equal(rep.states_checked, rep.outcomes[EXPLORE_PASS] + 1);
		explore_report_free(&rep);
	}
	/* A checker that fails everywhere: the reason only from the mark on. */
	assert_int_equal(run_with("prefix", "exit 3", 1, 0, 0, &rep), 0);
	assert_true(rep.nfailures >= 3);
	for (size_t i = 0; i < rep.nfailures; i++) {
		const struct explore_failure *f = &rep.failures[i];

		assert_int_equal(f->res.exit_code, 3);
		if (f->crash_point > mark)
			assert_non_null(f->res.reason);
		else
			assert_null(f->res.reason);
	}
	explore_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_kills_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_kills_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_runnable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_finds_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_and_shards_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inproc_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_failing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checker_error_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opts_from_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ackloss_finding, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

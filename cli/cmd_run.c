/*
 * cli/cmd_run.c - torn run PATH...: run scenario files (recovery/scenario.h)
 * and compare each outcome with the scenario's expectation.  What CI calls.
 *
 * Each scenario runs in a worker process of its own, in directories of its
 * own: WORK/NAME/ keeps run.trace, explore.json, log (the output of setup
 * and run) and error (the message of a failed phase); SCRATCH/NAME/ holds
 * root/ (the recorded directory) and states/ (the explorer's scratch).
 * SCRATCH is on tmpfs by default: recovery code fsyncs, and thousands of
 * crash states on a disk cost ten times the time.  The worker does setup, record
 * (injector/record.h) and explore (recovery/explore.h) in-process and leaves
 * explore.json; the parent runs up to -j workers at once, enforces --budget
 * (SIGTERM, then SIGKILL of the worker's process group), judges each report
 * against the expectation and writes the summary, --json and --junit.
 *
 * Sections: options and usage; the scenario list; the worker; judging; the
 * terminal summary; the JSON run report (write, read); JUnit; the parent;
 * merging run reports (torn merge); the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <xxhash.h>

#include "cli.h"
#include "../injector/record.h"
#include "../recovery/explore.h"
#include "../recovery/report.h"
#include "../recovery/scenario.h"

/* Exit codes of a worker (a scenario's process). */
enum { WK_OK = 0, WK_ERROR = 10, WK_STOPPED = 20 };

/* Failures listed per scenario in the JSON report (the count is exact). */
#define RUN_MAX_FAILURES 50

/* ---- Options and usage ---- */

enum {
	OPT_LIST = 0x1200, OPT_JUNIT, OPT_JSON, OPT_SHARD, OPT_BUDGET, OPT_WORK, OPT_KEEP,
	OPT_SCRATCH, OPT_EXCLUDE, OPT_HTML,
};

static const struct option longopts[] = {
	{ "filter", required_argument, NULL, 'k' },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "list",   no_argument,       NULL, OPT_LIST },
	{ "jobs",   required_argument, NULL, 'j' },
	{ "junit",  required_argument, NULL, OPT_JUNIT },
	{ "html",   required_argument, NULL, OPT_HTML },
	{ "json",   required_argument, NULL, OPT_JSON },
	{ "shard",  required_argument, NULL, OPT_SHARD },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "work",   required_argument, NULL, OPT_WORK },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "keep",   no_argument,       NULL, OPT_KEEP },
	{ "quiet",  no_argument,       NULL, 'q' },
	{ "help",   no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn run PATH... [options]\n\n"
		"Run the scenarios (*.scn) in PATH (files, or directories searched recursively,\n"
		"in sorted order): setup, record, explore, and compare the outcome with each\n"
		"scenario's expectation (scenarios/README.md describes the format).\n\n"
		"  -k, --filter PATTERN   only scenarios whose name contains PATTERN (a glob when\n"
		"                         it has * ? or [); repeat to add more\n"
		"  --exclude PATTERN      leave out the scenarios PATTERN matches (as -k); repeat\n"
		"  --list                 list the selected scenarios and exit\n"
		"  -j, --jobs N           scenarios run at once (default: number of CPUs); the\n"
		"                         checkers of one scenario share the same N\n"
		"  --junit FILE           write a JUnit XML report (one testcase per scenario)\n"
		"  --html DIR             write an HTML page per scenario (torn report) and an\n"
		"                         index.html into DIR\n"
		"  --json FILE            write a JSON report ('-': stdout); join shards with\n"
		"                         'torn merge'\n"
		"  --shard I/N            run only scenario slice I of N (1-based)\n"
		"  --budget SECONDS       hard limit per scenario: stopped and counted as missed\n"
		"  --work DIR             where each scenario's trace, report and log are written\n"
		"                         (default: a new torn-run-XXXXXX in /dev/shm, else\n"
		"                         $TMPDIR or /tmp); those with failing states stay there\n"
		"  --scratch DIR          where recorded directories and crash states are made\n"
		"                         (default /dev/shm, else $TMPDIR or /tmp; a private\n"
		"                         torn-run-scratch-XXXXXX inside, removed at the end)\n"
		"  --keep                 keep every scenario's directories\n"
		"  -q, --quiet            only misses and the totals\n"
		"  -h, --help             this help\n\n"
		"exit: 0 every scenario met its expectation, 1 one or more missed, 2 bad usage or\n"
		"a bad scenario file, 3 internal error\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growing string (messages built piece by piece). */
struct str {
	char  *s;
	size_t len, cap;
};

static void str_printf(struct str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void str_printf(struct str *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->len + (size_t)n + 1) * 2;
			char *p = realloc(b->s, cap);

			if (!p)
				return;     /* the message is cut short, nothing worse */
			b->s = p;
			b->cap = cap;
		}
	}
}

/* @s quoted for a POSIX shell when it needs to be, appended to @b. */
static void str_quoted(struct str *b, const char *s)
{
	if (s[0] && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-./+,:=@%")]) {
		str_printf(b, "%s", s);
		return;
	}
	str_printf(b, "'");
	for (; *s; s++)
		if (*s == '\'')
			str_printf(b, "'\\''");
		else
			str_printf(b, "%c", *s);
	str_printf(b, "'");
}

/* ---- The scenario list ---- */

/* One failure as reported (from explore.json, or a JSON run report). */
struct run_fail {
	char    *state;
	char    *outcome;
	uint64_t crash_point;
	int      exit_code;       /* -1: none */
	int      sig;
	char   **output;
	size_t   noutput;
	char    *replay, *minimize;
	char    *reason;          /* torn's own finding, or NULL */
};

struct run_item {
	struct scn *s;            /* NULL for an item read back from a report */
	size_t   index;           /* in the selected suite */
	char    *name, *file, *description;
	int      expect_fail, expect_outcome;
	char   **reasons;         /* expect-reason: each failure shows one of them */
	size_t   nreasons;

	char    *work;            /* WORK/NAME */
	char    *sdir;            /* SCRATCH/NAME */
	pid_t    pid;
	double   t0, elapsed;
	int      stop_sent;       /* 1: SIGTERM sent (budget), 2: SIGKILL too */
	double   stop_at;
	int      done, printed;

	/* The outcome. */
	const char *result;       /* pass, fail, error, budget */
	int      met;
	char    *message;         /* why it missed (or what it found) */
	uint64_t states_enumerated, unique_states, states_checked;
	uint64_t outcomes[EXPLORE_NOUTCOMES];
	struct run_fail *fails;
	size_t   nfails;          /* listed */
	uint64_t nfails_total;
	char    *trace;           /* kept trace, or NULL */
};

static void fail_free(struct run_fail *f)
{
	free(f->state);
	free(f->outcome);
	for (size_t i = 0; i < f->noutput; i++)
		free(f->output[i]);
	free(f->output);
	free(f->replay);
	free(f->minimize);
	free(f->reason);
}

static void item_free(struct run_item *it)
{
	scn_free(it->s);
	free(it->name);
	free(it->file);
	free(it->description);
	for (size_t i = 0; i < it->nreasons; i++)
		free(it->reasons[i]);
	free(it->reasons);
	free(it->work);
	free(it->sdir);
	free(it->message);
	for (size_t i = 0; i < it->nfails; i++)
		fail_free(&it->fails[i]);
	free(it->fails);
	free(it->trace);
}

static int match_one(const char *name, const char *pat)
{
	return strpbrk(pat, "*?[") ? !fnmatch(pat, name, 0) : !!strstr(name, pat);
}

/* Selected: matches a -k pattern (or there is none) and no --exclude. */
static int match_filters(const char *name, char **pat, size_t npat, char **ex, size_t nex)
{
	int in = !npat;

	for (size_t i = 0; i < npat && !in; i++)
		in = match_one(name, pat[i]);
	for (size_t i = 0; i < nex && in; i++)
		in = !match_one(name, ex[i]);
	return in;
}

/* XXH3 of the selected names: shards of one suite agree on it. */
static uint64_t suite_hash(struct run_item *items, size_t n)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;

	if (!st)
		return 0;
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < n; i++)
		XXH3_64bits_update(st, items[i].name, strlen(items[i].name) + 1);
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

/* ---- The worker: one scenario, in a process of its own ---- */

static volatile sig_atomic_t worker_stop;

static void worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/* Write the message of a failed phase to WORK/error; returns WK_ERROR. */
static int worker_error(const char *work, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int worker_error(const char *work, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/error", work);
	f = fopen(path, "w");
	if (f) {
		va_start(ap, fmt);
		vfprintf(f, fmt, ap);
		va_end(ap);
		fclose(f);
	}
	return WK_ERROR;
}

/* A wait status, in words. */
static void status_words(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended with status %#x", st);
}

/* The last lines of WORK/log, for error messages. */
static void log_tail(const char *work, char *buf, size_t len)
{
	char path[PATH_MAX], data[4096];
	ssize_t n;
	off_t size;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/log", work);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(data) - 1)
		lseek(fd, size - (off_t)sizeof(data) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0)
		return;
	data[n] = '\0';
	while (n > 0 && data[n - 1] == '\n')
		data[--n] = '\0';
	{
		/* the last 5 lines */
		char *p = data + n;
		int lines = 0;

		while (p > data && lines < 5)
			if (*--p == '\n')
				lines++;
		if (*p == '\n')
			p++;
		/* keep what fits: the tail is a hint, cutting it is fine */
		size_t k = strlen(p);
		if (k >= len)
			k = len - 1;
		memcpy(buf, p, k);
		buf[k] = '\0';
	}
}

static int worker_setup(const struct scn *s, const char *root, const char *work)
{
	char words[128], tail[2048];
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return worker_error(work, "setup: cannot fork: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(root) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", s->setup, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return worker_error(work, "setup: waitpid: %s", strerror(errno));
	if (worker_stop)
		return WK_STOPPED;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		status_words(st, words, sizeof(words));
		log_tail(work, tail, sizeof(tail));
		return worker_error(work, "setup %s: %s%s%s", words, s->setup, tail[0] ? "\n" : "",
				    tail);
	}
	return WK_OK;
}

static int worker_record(const struct scn *s, const char *root, const char *trace,
			 const char *shim, const char *work)
{
	char *argv[] = { "/bin/sh", "-c", s->run, NULL };
	struct record_opts o = {
		.trace = trace, .root = root, .argv = argv, .shim = shim,
		.marks_from_stdout = s->marks_from_stdout,
		/* the scenario's faults (validated by scn_parse), as torn record --fault */
		.faults = (const char *const *)s->faults, .nfaults = s->nfaults,
		.fault_seed = s->fault_seed,
	};
	struct record_result res;
	struct record_error err;
	char words[128], tail[2048];

	memset(&err, 0, sizeof(err));
	if (record_run(&o, &res, &err) < 0)
		return worker_error(work, "record: %s", err.msg);
	if (worker_stop || (WIFSIGNALED(res.wait_status) && WTERMSIG(res.wait_status) == SIGTERM))
		return WK_STOPPED;
	if (!WIFEXITED(res.wait_status) || WEXITSTATUS(res.wait_status)) {
		status_words(res.wait_status, words, sizeof(words));
		log_tail(work, tail, sizeof(tail));
		return worker_error(work, "the recorded run %s: %s%s%s", words, s->run,
				    tail[0] ? "\n" : "", tail);
	}
	if (!res.attached)
		return worker_error(work, "record: the program never loaded the shim (statically "
				    "linked, setuid, or LD_PRELOAD removed?): %s", s->run);
	return WK_OK;
}

static int add_options(struct explore_report *rep, const struct scn *s, const struct crash_opts *co,
		       double timeout)
{
	char num[64];
	int rc = 0;

	rc |= explore_report_option(rep, "model", s->model ? s->model : "auto", 0);
	snprintf(num, sizeof(num), "%u", co->sector);
	rc |= explore_report_option(rep, "sector", num, 1);
	snprintf(num, sizeof(num), "%u", co->atomic ? co->atomic : co->sector);
	rc |= explore_report_option(rep, "atomic", num, 1);
	rc |= explore_report_option(rep, "tear", s->tear ? s->tear : "old,new", 0);
	rc |= explore_report_option(rep, "strategy", s->strategy ? s->strategy : "sync", 0);
	snprintf(num, sizeof(num), "%" PRIu64, co->seed);
	rc |= explore_report_option(rep, "seed", num, 1);
	snprintf(num, sizeof(num), "%" PRIu64, co->max_states);
	rc |= explore_report_option(rep, "max_states", num, 1);
	rc |= explore_report_option(rep, "crash_points", s->crash_points ? s->crash_points : "all", 0);
	snprintf(num, sizeof(num), "%g", timeout);
	rc |= explore_report_option(rep, "timeout", num, 0);
	return rc ? -ENOMEM : 0;
}

static int worker_explore(const struct scn *s, const char *trace, const char *work,
			  const char *sdir, unsigned jobs)
{
	struct explore_report rep;
	struct explore_opts eo;
	struct crash_opts co;
	struct crash_space *space = NULL;
	struct torn_trace *t = NULL;
	struct trace_error terr;
	char err[1024] = "", scratch[PATH_MAX], json[PATH_MAX], hex[33];
	int rc, ret = WK_ERROR;

	explore_report_init(&rep);
	crash_opts_default(&co);
	/* Validated by scn_parse: these cannot fail here. */
	if (s->model)
		crash_opts_parse_model(&co, s->model, err, sizeof(err));
	if (s->strategy)
		crash_opts_parse_strategy(&co, s->strategy, err, sizeof(err));
	if (s->tear)
		crash_opts_parse_tear(&co, s->tear, err, sizeof(err));
	if (s->crash_points)
		crash_opts_parse_points(&co, s->crash_points, err, sizeof(err));
	if (s->sector)
		co.sector = s->sector;
	co.atomic = s->atomic;
	co.seed = s->seed;
	if (s->max_states)
		co.max_states = s->max_states;

	memset(&terr, 0, sizeof(terr));
	rc = trace_open(trace, &t, &terr);
	if (rc < 0) {
		ret = worker_error(work, "explore: %s", terr.msg[0] ? terr.msg : torn_strerror(rc));
		goto out;
	}
	memset(&terr, 0, sizeof(terr));
	rc = crash_space_new(t, &co, &space, &terr);
	if (rc < 0) {
		ret = worker_error(work, "explore: %s", terr.msg[0] ? terr.msg : torn_strerror(rc));
		goto out;
	}
	snprintf(scratch, sizeof(scratch), "%s/states", sdir);
	if (mkdir(scratch, 0755) < 0 && errno != EEXIST) {
		ret = worker_error(work, "explore: %s: %s", scratch, strerror(errno));
		goto out;
	}
	explore_opts_default(&eo);
	eo.check = s->check;
	eo.trace = trace;
	eo.jobs = jobs;
	eo.scratch = scratch;
	if (s->timeout_s > 0)
		eo.timeout_s = s->timeout_s;
	rc = explore_run(t, space, &eo, &rep, err, sizeof(err));
	if (rc == -EINTR || worker_stop) {
		ret = WK_STOPPED;
		goto out;
	}
	if (rc < 0) {
		ret = worker_error(work, "explore: %s", err[0] ? err : torn_strerror(rc));
		goto out;
	}
	rep.trace = strdup(trace);
	if (explore_file_hash(trace, hex) < 0 || !rep.trace || !(rep.trace_hash = strdup(hex)) ||
	    add_options(&rep, s, &co, eo.timeout_s) < 0) {
		ret = worker_error(work, "explore: out of memory or unreadable trace");
		goto out;
	}
	snprintf(json, sizeof(json), "%s/explore.json", work);
	if (report_json_write(&rep, s->check, json, err, sizeof(err)) < 0) {
		ret = worker_error(work, "explore: %s", err);
		goto out;
	}
	ret = WK_OK;
out:
	explore_report_free(&rep);
	if (space)
		crash_space_free(space);
	if (t)
		trace_close(t);
	return ret;
}

/* The body of the worker process: returns its exit code. */
static int worker_main(const struct scn *s, const char *work, const char *sdir, const char *shim,
		       unsigned jobs)
{
	char root[PATH_MAX], trace[PATH_MAX], log[PATH_MAX];
	struct sigaction sa;
	int fd, rc;

	/* A process group of its own: the budget kills the whole group (setup,
	 * the recorded program), and the terminal's ^C reaches only the parent,
	 * which stops the workers cleanly with SIGTERM. */
	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term;
	sigaction(SIGTERM, &sa, NULL);

	snprintf(root, sizeof(root), "%s/root", sdir);
	snprintf(trace, sizeof(trace), "%s/run.trace", work);
	snprintf(log, sizeof(log), "%s/log", work);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return worker_error(work, "%s: %s", log, strerror(errno));
	/* setup's and the program's output go to the log, not the summary */
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if (setenv("SCENARIO_DIR", s->dir, 1) < 0)
		return worker_error(work, "out of memory");
	if (mkdir(root, 0755) < 0)
		return worker_error(work, "%s: %s", root, strerror(errno));
	if (s->setup && (rc = worker_setup(s, root, work)) != WK_OK)
		return rc;
	/* The recorded program runs in the root, like setup. */
	if (chdir(root) < 0)
		return worker_error(work, "%s: %s", root, strerror(errno));
	if ((rc = worker_record(s, root, trace, shim, work)) != WK_OK)
		return rc;
	if (chdir(work) < 0)
		return worker_error(work, "%s: %s", work, strerror(errno));
	if (worker_stop)
		return WK_STOPPED;
	return worker_explore(s, trace, work, sdir, jobs);
}

/* ---- Judging: the report against the expectation ---- */

struct run_ctx {
	const char *torn;         /* absolute path of this torn binary */
	const char *shim;
	char       *work;
	int         work_made;    /* created here (removed when left empty) */
	char       *scratch;      /* this run's private scratch dir */
	int         keep, quiet;
	unsigned    jobs;
	double      budget;
	struct report_index *html; /* --html DIR (cmd_report.c), or NULL */
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void make_commands(const struct run_ctx *c, struct run_item *it, struct run_fail *f)
{
	struct str b = { 0 };
	char out[PATH_MAX];

	snprintf(out, sizeof(out), "%s/replay", it->work);
	str_quoted(&b, c->torn);
	str_printf(&b, " replay ");
	str_quoted(&b, it->trace);
	str_printf(&b, " --state %s --out ", f->state);
	str_quoted(&b, out);
	str_printf(&b, " --force");
	f->replay = b.s;
	memset(&b, 0, sizeof(b));
	str_quoted(&b, c->torn);
	str_printf(&b, " minimize ");
	str_quoted(&b, it->trace);
	str_printf(&b, " --state %s --check ", f->state);
	str_quoted(&b, it->s->check);
	if (it->s->timeout_s > 0 && it->s->timeout_s != 30)
		str_printf(&b, " --timeout %g", it->s->timeout_s);
	if (it->s->tear)
		str_printf(&b, " --tear %s", it->s->tear);
	f->minimize = b.s;
}

/* The last non-empty output line of a failure (what it said). */
static const char *fail_said(const struct run_fail *f)
{
	if (f->reason)
		return f->reason;
	for (size_t i = f->noutput; i > 0; i--)
		if (f->output[i - 1][0])
			return f->output[i - 1];
	return "(no output)";
}

static int fail_matches(const struct run_item *it, const struct run_fail *f)
{
	if (it->expect_outcome != SCN_OUTCOME_ANY &&
	    strcmp(f->outcome, explore_outcome_name(it->expect_outcome)))
		return 0;
	if (!it->nreasons)
		return 1;
	for (size_t r = 0; r < it->nreasons; r++) {
		if (f->reason && strstr(f->reason, it->reasons[r]))
			return 1;
		for (size_t i = 0; i < f->noutput; i++)
			if (strstr(f->output[i], it->reasons[r]))
				return 1;
	}
	return 0;
}

static void describe_fail(struct str *b, const struct run_fail *f)
{
	str_printf(b, "state %s (%s", f->state, f->outcome);
	if (f->sig)
		str_printf(b, ", signal %d", f->sig);
	else if (f->exit_code >= 0)
		str_printf(b, ", exit %d", f->exit_code);
	str_printf(b, "): %s\n  replay:   %s\n  minimize: %s", fail_said(f), f->replay,
		   f->minimize);
}

/* Read WORK/explore.json into the item (failures converted, commands made). */
static int load_explore(const struct run_ctx *c, struct run_item *it, char *err, size_t errlen)
{
	struct explore_report rep;
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/explore.json", it->work);
	rc = report_json_read(path, &rep, NULL, err, errlen);
	if (rc < 0)
		return rc;
	it->states_enumerated = rep.states_enumerated;
	it->unique_states = rep.unique_states;
	it->states_checked = rep.states_checked;
	memcpy(it->outcomes, rep.outcomes, sizeof(it->outcomes));
	it->nfails_total = rep.nfailures;
	snprintf(path, sizeof(path), "%s/run.trace", it->work);
	it->trace = strdup(path);
	it->fails = calloc(rep.nfailures ? rep.nfailures : 1, sizeof(*it->fails));
	if (!it->trace || !it->fails) {
		explore_report_free(&rep);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rep.nfailures; i++) {
		struct explore_failure *x = &rep.failures[i];
		struct run_fail *f = &it->fails[i];

		f->state = x->state;
		x->state = NULL;
		f->outcome = xstrdup(explore_outcome_name(x->res.outcome));
		f->crash_point = x->crash_point;
		f->exit_code = x->res.outcome == EXPLORE_PASS || x->res.outcome == EXPLORE_FAIL ?
			       x->res.exit_code : -1;
		f->sig = x->res.sig;
		f->output = x->res.output;
		f->noutput = x->res.noutput;
		f->reason = x->res.reason;
		x->res.output = NULL;
		x->res.noutput = 0;
		x->res.reason = NULL;
		make_commands(c, it, f);
		it->nfails = i + 1;
	}
	explore_report_free(&rep);
	return 0;
}

/* The failure with the shortest id (the fewest deviations: the easiest to
 * look at), among those that miss the expectation when @missing. */
static const struct run_fail *shortest(const struct run_item *it, int missing)
{
	const struct run_fail *best = NULL;

	for (size_t i = 0; i < it->nfails; i++) {
		const struct run_fail *f = &it->fails[i];

		if (missing && fail_matches(it, f))
			continue;
		if (!best || strlen(f->state) < strlen(best->state))
			best = f;
	}
	return best ? best : &it->fails[0];
}

static void judge(const struct run_ctx *c, struct run_item *it, int wstatus)
{
	struct str msg = { 0 };
	char err[1024] = "", path[PATH_MAX];

	it->met = 0;
	if (it->stop_sent) {
		it->result = "budget";
		str_printf(&msg, "stopped: over the budget of %g s per scenario (a hard limit; "
			   "raise --budget, or make the scenario smaller)", c->budget);
		goto out;
	}
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != WK_OK) {
		FILE *f;

		it->result = "error";
		snprintf(path, sizeof(path), "%s/error", it->work);
		f = fopen(path, "r");
		if (f) {
			size_t n = fread(err, 1, sizeof(err) - 1, f);

			err[n] = '\0';
			fclose(f);
		}
		if (err[0])
			str_printf(&msg, "%s", err);
		else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == WK_STOPPED)
			str_printf(&msg, "interrupted");
		else {
			status_words(wstatus, err, sizeof(err));
			str_printf(&msg, "the worker of this scenario %s", err);
		}
		goto out;
	}
	if (load_explore(c, it, err, sizeof(err)) < 0) {
		it->result = "error";
		str_printf(&msg, "cannot read the exploration's report: %s", err);
		goto out;
	}
	it->result = it->nfails_total ? "fail" : "pass";
	if (!it->expect_fail) {
		it->met = it->nfails_total == 0;
		if (!it->met) {
			str_printf(&msg, "expected pass, but %" PRIu64 " of %" PRIu64
				   " states failed; the simplest: ", it->nfails_total, it->states_checked);
			describe_fail(&msg, shortest(it, 0));
		}
		goto out;
	}
	if (!it->nfails_total) {
		str_printf(&msg, "expected fail, but all %" PRIu64 " states passed",
			   it->states_checked);
		goto out;
	}
	for (size_t i = 0; i < it->nfails; i++) {
		if (fail_matches(it, &it->fails[i]))
			continue;
		i = (size_t)(shortest(it, 1) - it->fails);
		str_printf(&msg, "expected every failure to be ");
		if (it->expect_outcome != SCN_OUTCOME_ANY)
			str_printf(&msg, "'%s'", explore_outcome_name(it->expect_outcome));
		if (it->expect_outcome != SCN_OUTCOME_ANY && it->nreasons)
			str_printf(&msg, " and ");
		for (size_t r = 0; r < it->nreasons; r++)
			str_printf(&msg, "%s'%s'", r ? " or " : "showing ", it->reasons[r]);
		str_printf(&msg, ", but ");
		describe_fail(&msg, &it->fails[i]);
		goto out;
	}
	it->met = 1;
	str_printf(&msg, "found: ");
	describe_fail(&msg, shortest(it, 0));
out:
	it->message = msg.s;
}

/* After judging: what stays of the scenario's directory. */
static void tidy(const struct run_ctx *c, struct run_item *it)
{
	if (c->keep)
		return;
	if (it->sdir)
		explore_rmtree(it->sdir);
	/* The trace stays while a state id in a report points into it. */
	if (it->met && !it->nfails_total && strcmp(it->result, "error")) {
		explore_rmtree(it->work);
		free(it->trace);
		it->trace = NULL;
	}
}

/* ---- The terminal summary ---- */

static void outcome_words(const struct run_item *it, char *buf, size_t len)
{
	if (strcmp(it->result, "pass") && strcmp(it->result, "fail")) {
		snprintf(buf, len, "%s", it->result);
		return;
	}
	if (!it->nfails_total) {
		snprintf(buf, len, "all pass");
		return;
	}
	snprintf(buf, len, "%" PRIu64 " failing", it->nfails_total);
	for (int o = EXPLORE_FAIL; o < EXPLORE_NOUTCOMES; o++)
		if (it->outcomes[o] && it->outcomes[o] != it->nfails_total) {
			size_t n = strlen(buf);

			snprintf(buf + n, len - n, "%s%s %" PRIu64, strchr(buf, '(') ? ", " : " (",
				 explore_outcome_name(o), it->outcomes[o]);
		}
		else if (it->outcomes[o]) {
			size_t n = strlen(buf);

			snprintf(buf + n, len - n, " (%s)", explore_outcome_name(o));
		}
	if (strchr(buf, '(') && buf[strlen(buf) - 1] != ')')
		strncat(buf, ")", len - strlen(buf) - 1);
}

/* @msg with each line indented by @indent spaces. */
static void print_indented(FILE *f, const char *msg, int indent)
{
	while (msg && *msg) {
		size_t l = strcspn(msg, "\n");

		fprintf(f, "%*s%.*s\n", indent, "", (int)l, msg);
		msg += l + (msg[l] == '\n');
	}
}

static void print_line(FILE *f, const struct run_item *it, int quiet)
{
	char words[128], states[32];

	if (quiet && it->met)
		return;
	outcome_words(it, words, sizeof(words));
	if (!strcmp(it->result, "pass") || !strcmp(it->result, "fail"))
		snprintf(states, sizeof(states), "%" PRIu64, it->states_checked);
	else
		snprintf(states, sizeof(states), "-");
	fprintf(f, "%-4s  %-36s %7s states  %-24s expected %-4s %7.1fs\n", it->met ? "ok" : "MISS",
		it->name, states, words, it->expect_fail ? "fail" : "pass", it->elapsed);
	/* A bug found as expected: show where, and how to see it again. */
	if (!quiet && it->met && it->nfails && it->message)
		print_indented(f, it->message, 6);
	fflush(f);
}

static void print_totals(FILE *f, struct run_item *items, size_t n, double elapsed,
			 const char *work_kept)
{
	size_t missed = 0;

	for (size_t i = 0; i < n; i++)
		missed += !items[i].met;
	if (missed) {
		fprintf(f, "\nmissed expectations:\n");
		for (size_t i = 0; i < n; i++) {
			if (items[i].met)
				continue;
			fprintf(f, "\n%s (%s)\n", items[i].name, items[i].file);
			print_indented(f, items[i].message ? items[i].message : "(no message)", 2);
		}
	}
	fprintf(f, "\ntorn run: %zu scenario%s, %zu met %s expectation%s, %zu missed (%.1fs)\n", n,
		n == 1 ? "" : "s", n - missed, n - missed == 1 ? "its" : "their",
		n - missed == 1 ? "" : "s", missed, elapsed);
	if (work_kept)
		fprintf(f, "traces of scenarios with failing states are kept in %s\n", work_kept);
	fflush(f);
}

/* ---- The JSON run report ----
 *
 *	{ "version": 1, "kind": "torn run",
 *	  "suite": { "scenarios": N, "hash": "16 hex digits" },   the selected suite
 *	  "shard": "I/N" | null, "merged_shards": N (merge only),
 *	  "scenarios": [ { "name", "file", "index", "description",
 *	                   "expect": "pass"|"fail", "expect_outcome",
 *	                   "expect_reason": [ substrings ] | null,
 *	                   "result": "pass"|"fail"|"error"|"budget", "met": bool,
 *	                   "message", "states_enumerated", "unique_states",
 *	                   "states_checked", "outcomes": {...}, "failures_total",
 *	                   "failures": [ { "state", "outcome", "crash_point",
 *	                                   "exit"|"signal", "output", "replay",
 *	                                   "minimize" } ]  (the first 50),
 *	                   "trace": path | null, "elapsed_s" } ],
 *	  "totals": { "scenarios", "met", "missed" }, "elapsed_s" }
 */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *item_json(const struct run_item *it)
{
	json_t *o = json_object(), *outs = json_object(), *fails = json_array();

	if (!o || !outs || !fails) {
		json_decref(o);
		json_decref(outs);
		json_decref(fails);
		return NULL;
	}
	json_object_set_new(o, "name", jstr(it->name));
	json_object_set_new(o, "file", jstr(it->file));
	json_object_set_new(o, "index", json_integer((json_int_t)it->index));
	json_object_set_new(o, "description", jstr(it->description));
	json_object_set_new(o, "expect", json_string(it->expect_fail ? "fail" : "pass"));
	json_object_set_new(o, "expect_outcome", it->expect_outcome == SCN_OUTCOME_ANY ?
			    json_null() : json_string(explore_outcome_name(it->expect_outcome)));
	if (it->nreasons) {
		json_t *a = json_array();

		for (size_t r = 0; a && r < it->nreasons; r++)
			json_array_append_new(a, jstr(it->reasons[r]));
		json_object_set_new(o, "expect_reason", a ? a : json_null());
	} else {
		json_object_set_new(o, "expect_reason", json_null());
	}
	json_object_set_new(o, "result", jstr(it->result));
	json_object_set_new(o, "met", json_boolean(it->met));
	json_object_set_new(o, "message", jstr(it->message));
	json_object_set_new(o, "states_enumerated", json_integer((json_int_t)it->states_enumerated));
	json_object_set_new(o, "unique_states", json_integer((json_int_t)it->unique_states));
	json_object_set_new(o, "states_checked", json_integer((json_int_t)it->states_checked));
	for (int k = 0; k < EXPLORE_NOUTCOMES; k++)
		json_object_set_new(outs, explore_outcome_name(k),
				    json_integer((json_int_t)it->outcomes[k]));
	json_object_set_new(o, "outcomes", outs);
	json_object_set_new(o, "failures_total", json_integer((json_int_t)it->nfails_total));
	for (size_t i = 0; i < it->nfails && i < RUN_MAX_FAILURES; i++) {
		const struct run_fail *f = &it->fails[i];
		json_t *x = json_object(), *out = json_array();

		if (!x || !out) {
			json_decref(x);
			json_decref(out);
			continue;
		}
		json_object_set_new(x, "state", jstr(f->state));
		json_object_set_new(x, "outcome", jstr(f->outcome));
		json_object_set_new(x, "crash_point", json_integer((json_int_t)f->crash_point));
		if (f->sig)
			json_object_set_new(x, "signal", json_integer(f->sig));
		else if (f->exit_code >= 0)
			json_object_set_new(x, "exit", json_integer(f->exit_code));
		for (size_t k = 0; k < f->noutput; k++)
			json_array_append_new(out, jstr(f->output[k]));
		json_object_set_new(x, "output", out);
		if (f->reason)
			json_object_set_new(x, "reason", jstr(f->reason));
		json_object_set_new(x, "replay", jstr(f->replay));
		json_object_set_new(x, "minimize", jstr(f->minimize));
		json_array_append_new(fails, x);
	}
	json_object_set_new(o, "failures", fails);
	json_object_set_new(o, "trace", jstr(it->trace));
	json_object_set_new(o, "elapsed_s", json_real(it->elapsed));
	return o;
}

static int write_json(const char *path, struct run_item *items, size_t n, size_t suite_n,
		      uint64_t hash, unsigned shard_i, unsigned shard_n, unsigned merged,
		      double elapsed)
{
	json_t *o = json_object(), *suite = json_object(), *arr = json_array(),
	       *tot = json_object();
	char hex[32], shard[32];
	size_t met = 0;
	int rc = -ENOMEM;

	if (!o || !suite || !arr || !tot) {
		json_decref(suite);
		json_decref(arr);
		json_decref(tot);
		goto out;
	}
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "kind", json_string("torn run"));
	snprintf(hex, sizeof(hex), "%016" PRIx64, hash);
	json_object_set_new(suite, "scenarios", json_integer((json_int_t)suite_n));
	json_object_set_new(suite, "hash", json_string(hex));
	json_object_set_new(o, "suite", suite);
	if (shard_n) {
		snprintf(shard, sizeof(shard), "%u/%u", shard_i, shard_n);
		json_object_set_new(o, "shard", json_string(shard));
	} else {
		json_object_set_new(o, "shard", json_null());
	}
	if (merged)
		json_object_set_new(o, "merged_shards", json_integer(merged));
	for (size_t i = 0; i < n; i++) {
		json_t *x = item_json(&items[i]);

		if (!x || json_array_append_new(arr, x)) {
			json_decref(arr);
			json_decref(tot);
			goto out;
		}
		met += items[i].met != 0;
	}
	json_object_set_new(o, "scenarios", arr);
	json_object_set_new(tot, "scenarios", json_integer((json_int_t)n));
	json_object_set_new(tot, "met", json_integer((json_int_t)met));
	json_object_set_new(tot, "missed", json_integer((json_int_t)(n - met)));
	json_object_set_new(o, "totals", tot);
	json_object_set_new(o, "elapsed_s", json_real(elapsed));
	if (!strcmp(path, "-")) {
		rc = json_dumpf(o, stdout, JSON_INDENT(2)) ? -EIO : 0;
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		rc = json_dump_file(o, path, JSON_INDENT(2)) ? -EIO : 0;
	}
out:
	json_decref(o);
	if (rc < 0)
		cli_err("%s: cannot write the JSON report", path);
	return rc;
}

/* Read one run report (merge).  0, or -EINVAL with a message printed. */
static int read_json(const char *path, struct run_item **items, size_t *n, size_t *suite_n,
		     char *hash, size_t hashlen, unsigned *shard_i, unsigned *shard_n)
{
	json_error_t je;
	json_t *o, *v, *arr;
	int rc = -EINVAL;

	*items = NULL;
	*n = 0;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		cli_err("%s: line %d, column %d: not a valid JSON report: %s", path, je.line,
			je.column, je.text);
		return -EINVAL;
	}
	v = json_object_get(o, "kind");
	if (!json_is_string(v) || strcmp(json_string_value(v), "torn run")) {
		cli_err("%s: \"kind\": expected \"torn run\" (a torn run --json report)", path);
		goto out;
	}
	v = json_object_get(o, "shard");
	*shard_i = *shard_n = 0;
	if (json_is_string(v) &&
	    sscanf(json_string_value(v), "%u/%u", shard_i, shard_n) != 2) {
		cli_err("%s: \"shard\": expected \"I/N\"", path);
		goto out;
	}
	v = json_object_get(json_object_get(o, "suite"), "scenarios");
	if (!json_is_integer(v)) {
		cli_err("%s: \"suite\": expected { \"scenarios\": N, \"hash\": H }", path);
		goto out;
	}
	*suite_n = (size_t)json_integer_value(v);
	v = json_object_get(json_object_get(o, "suite"), "hash");
	snprintf(hash, hashlen, "%s", json_is_string(v) ? json_string_value(v) : "");
	arr = json_object_get(o, "scenarios");
	if (!json_is_array(arr)) {
		cli_err("%s: \"scenarios\": expected an array", path);
		goto out;
	}
	*items = calloc(json_array_size(arr) + 1, sizeof(**items));
	if (!*items) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *x = json_array_get(arr, i), *fa;
		struct run_item *it = &(*items)[i];
		const char *res;

		*n = i + 1;
		if (!json_is_object(x) || !json_is_string(json_object_get(x, "name")) ||
		    !json_is_string(json_object_get(x, "result")) ||
		    !json_is_integer(json_object_get(x, "index"))) {
			cli_err("%s: scenarios[%zu]: expected an object with name, index, result", path, i);
			goto out;
		}
		it->name = xstrdup(json_string_value(json_object_get(x, "name")));
		it->file = xstrdup(json_string_value(json_object_get(x, "file")));
		it->description = xstrdup(json_string_value(json_object_get(x, "description")));
		it->index = (size_t)json_integer_value(json_object_get(x, "index"));
		it->expect_fail = json_is_string(json_object_get(x, "expect")) &&
				  !strcmp(json_string_value(json_object_get(x, "expect")), "fail");
		v = json_object_get(x, "expect_outcome");
		it->expect_outcome = json_is_string(v) ? explore_outcome_parse(json_string_value(v)) :
				     SCN_OUTCOME_ANY;
		v = json_object_get(x, "expect_reason");
		if (json_is_array(v) && json_array_size(v)) {
			it->reasons = calloc(json_array_size(v), sizeof(char *));
			for (size_t r = 0; it->reasons && r < json_array_size(v); r++)
				if ((it->reasons[it->nreasons] =
				     xstrdup(json_string_value(json_array_get(v, r)))))
					it->nreasons++;
		}
		/* result points at a static string, as when run */
		res = json_string_value(json_object_get(x, "result"));
		it->result = !strcmp(res, "pass") ? "pass" : !strcmp(res, "fail") ? "fail" :
			     !strcmp(res, "budget") ? "budget" : "error";
		it->met = json_is_true(json_object_get(x, "met"));
		it->message = xstrdup(json_string_value(json_object_get(x, "message")));
		it->states_enumerated = (uint64_t)json_integer_value(json_object_get(x, "states_enumerated"));
		it->unique_states = (uint64_t)json_integer_value(json_object_get(x, "unique_states"));
		it->states_checked = (uint64_t)json_integer_value(json_object_get(x, "states_checked"));
		for (int k = 0; k < EXPLORE_NOUTCOMES; k++)
			it->outcomes[k] = (uint64_t)json_integer_value(
				json_object_get(json_object_get(x, "outcomes"), explore_outcome_name(k)));
		it->nfails_total = (uint64_t)json_integer_value(json_object_get(x, "failures_total"));
		it->trace = xstrdup(json_string_value(json_object_get(x, "trace")));
		it->elapsed = json_real_value(json_object_get(x, "elapsed_s"));
		fa = json_object_get(x, "failures");
		it->fails = calloc(json_array_size(fa) + 1, sizeof(*it->fails));
		if (!it->fails) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < json_array_size(fa); k++) {
			json_t *y = json_array_get(fa, k), *out = json_object_get(y, "output");
			struct run_fail *f = &it->fails[k];

			f->state = xstrdup(json_string_value(json_object_get(y, "state")));
			f->outcome = xstrdup(json_string_value(json_object_get(y, "outcome")));
			f->crash_point = (uint64_t)json_integer_value(json_object_get(y, "crash_point"));
			f->exit_code = json_is_integer(json_object_get(y, "exit")) ?
				       (int)json_integer_value(json_object_get(y, "exit")) : -1;
			f->sig = (int)json_integer_value(json_object_get(y, "signal"));
			f->replay = xstrdup(json_string_value(json_object_get(y, "replay")));
			f->minimize = xstrdup(json_string_value(json_object_get(y, "minimize")));
			if (json_is_string(json_object_get(y, "reason")))
				f->reason = xstrdup(json_string_value(json_object_get(y, "reason")));
			f->output = calloc(json_array_size(out) + 1, sizeof(char *));
			it->nfails = k + 1;
			if (!f->state || !f->outcome || !f->output) {
				cli_err("%s: scenarios[%zu].failures[%zu]: expected state and outcome",
					path, i, k);
				goto out;
			}
			for (size_t l = 0; l < json_array_size(out); l++) {
				f->output[l] = xstrdup(json_string_value(json_array_get(out, l)));
				if (f->output[l])
					f->noutput = l + 1;
			}
		}
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* ---- JUnit ---- */

static void xml_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* characters XML 1.0 does not allow at all */
			if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
				fputc('?', f);
			else
				fputc(ch, f);
		}
	}
}

static int write_junit(const char *path, struct run_item *items, size_t n, double elapsed)
{
	size_t failures = 0, errors = 0;
	FILE *f;

	f = fopen(path, "w");
	if (!f) {
		cli_err("%s: cannot write the JUnit report: %s", path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].met)
			continue;
		if (!strcmp(items[i].result, "error"))
			errors++;
		else
			failures++;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"torn run\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"time=\"%.3f\">\n", n, failures, errors, elapsed);
	fprintf(f, "  <testsuite name=\"torn run\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"skipped=\"0\" time=\"%.3f\">\n", n, failures, errors, elapsed);
	for (size_t i = 0; i < n; i++) {
		struct run_item *it = &items[i];
		char words[128];

		outcome_words(it, words, sizeof(words));
		fprintf(f, "    <testcase name=\"");
		xml_escape(f, it->name);
		fprintf(f, "\" classname=\"torn.scenario\" file=\"");
		xml_escape(f, it->file);
		fprintf(f, "\" time=\"%.3f\">\n", it->elapsed);
		if (!it->met) {
			const char *el = !strcmp(it->result, "error") ? "error" : "failure";

			fprintf(f, "      <%s type=\"%s\" message=\"", el,
				!strcmp(it->result, "budget") ? "budget" :
				!strcmp(it->result, "error") ? "error" : "expectation");
			/* the first line of the message is the short form */
			if (it->message) {
				size_t l = strcspn(it->message, "\n");
				char *first = strndup(it->message, l);

				xml_escape(f, first ? first : "");
				free(first);
			}
			fprintf(f, "\">");
			xml_escape(f, it->message);
			fprintf(f, "</%s>\n", el);
		}
		fprintf(f, "      <system-out>");
		xml_escape(f, "expected ");
		xml_escape(f, it->expect_fail ? "fail" : "pass");
		fprintf(f, "; %" PRIu64 " states checked, %s", it->states_checked, words);
		if (it->met && it->message) {
			fputc('\n', f);
			xml_escape(f, it->message);
		}
		fprintf(f, "</system-out>\n    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f) != 0) {
		cli_err("%s: cannot write the JUnit report: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* ---- The parent: workers, -j, the budget ---- */

static volatile sig_atomic_t run_interrupted;

static void run_on_signal(int sig)
{
	run_interrupted = sig;
}

static int start_worker(const struct run_ctx *c, struct run_item *it, unsigned running)
{
	unsigned jobs = c->jobs > running ? c->jobs - running : 1;
	char path[PATH_MAX];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", c->work, it->name);
	explore_rmtree(path);
	if (mkdir(path, 0755) < 0) {
		cli_err("%s: cannot create: %s", path, strerror(errno));
		return -errno;
	}
	if (!(it->work = strdup(path)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", c->scratch, it->name);
	explore_rmtree(path);
	if (mkdir(path, 0755) < 0) {
		cli_err("%s: cannot create: %s", path, strerror(errno));
		return -errno;
	}
	if (!(it->sdir = strdup(path)))
		return -ENOMEM;
	fflush(stdout);
	fflush(stderr);
	it->t0 = now_s();
	pid = fork();
	if (pid < 0) {
		cli_err("cannot start a worker: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0)
		_exit(worker_main(it->s, it->work, it->sdir, c->shim, jobs));
	setpgid(pid, pid);      /* also here: no race with the budget's kill(-pid) */
	it->pid = pid;
	return 0;
}

static int run_all(struct run_ctx *c, struct run_item *items, size_t n, FILE *out)
{
	size_t next = 0, printed = 0, done = 0;
	unsigned running = 0;
	int rc;

	while (done < n) {
		double t = now_s();
		pid_t pid;
		int st;

		while (!run_interrupted && next < n && running < c->jobs) {
			if ((rc = start_worker(c, &items[next], running)) < 0)
				return rc;
			next++;
			running++;
		}
		/* The budget: SIGTERM first (explore stops its checkers and
		 * empties its scratch), SIGKILL of the group 5 s later. */
		for (size_t i = 0; i < next; i++) {
			struct run_item *it = &items[i];

			if (it->done || !it->pid)
				continue;
			if (run_interrupted && !it->stop_sent) {
				kill(-it->pid, SIGTERM);
				it->stop_sent = 1;
				it->stop_at = t;
			} else if (c->budget > 0 && !it->stop_sent && t - it->t0 > c->budget) {
				kill(-it->pid, SIGTERM);
				it->stop_sent = 1;
				it->stop_at = t;
			} else if (it->stop_sent == 1 && t - it->stop_at > 5) {
				kill(-it->pid, SIGKILL);
				it->stop_sent = 2;
			}
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno != EINTR && errno != ECHILD)
			return -errno;
		if (pid <= 0) {
			usleep(20000);
			continue;
		}
		for (size_t i = 0; i < next; i++) {
			struct run_item *it = &items[i];

			if (it->pid != pid || it->done)
				continue;
			it->done = 1;
			it->elapsed = now_s() - it->t0;
			running--;
			done++;
			if (run_interrupted) {
				it->result = "error";
				it->message = strdup("interrupted");
				break;
			}
			judge(c, it, st);
			if (c->html)
				report_index_add(c->html, it->name, it->description, it->work,
						 it->result, it->met, it->message);
			tidy(c, it);
			break;
		}
		if (run_interrupted && next == done)
			break;
		/* Lines in suite order, each as soon as those before it are done. */
		while (printed < n && items[printed].done) {
			print_line(out, &items[printed], c->quiet);
			printed++;
		}
	}
	return run_interrupted ? -EINTR : 0;
}

/* ---- Merging run reports (torn merge) ---- */

static int cmp_index(const void *a, const void *b)
{
	const struct run_item *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* Move @n items into *@all (they are freed there, or here on -ENOMEM). */
static int take_items(struct run_item **all, size_t *nall, struct run_item *items, size_t n)
{
	struct run_item *grow = realloc(*all, (*nall + n + 1) * sizeof(**all));

	if (!grow) {
		for (size_t k = 0; k < n; k++)
			item_free(&items[k]);
		free(items);
		return -ENOMEM;
	}
	*all = grow;
	if (n)
		memcpy(grow + *nall, items, n * sizeof(*items));
	*nall += n;
	free(items);
	return 0;
}

int cmd_run_merge(int nfiles, char **files, const char *out, const char *junit, int quiet)
{
	struct run_item *all = NULL, *items;
	size_t nall = 0, n, suite_n = 0, suite_n0 = 0;
	unsigned si, sn, sn0 = 0, *seen = NULL;
	char hash[64], hash0[64] = "";
	double elapsed = 0;
	int ret = TORN_EXIT_USAGE, rc;

	for (int i = 0; i < nfiles; i++) {
		rc = read_json(files[i], &items, &n, &suite_n, hash, sizeof(hash), &si, &sn);
		/* the items read belong to @all from here, whatever happens next */
		if (take_items(&all, &nall, items, n) < 0 || rc == -ENOMEM) {
			ret = TORN_EXIT_INTERNAL;
			goto out;
		}
		if (rc < 0)
			goto out;
		if (!sn) {
			cli_err("%s: not a shard (\"shard\" is null): nothing to merge", files[i]);
			goto out;
		}
		if (i == 0) {
			sn0 = sn;
			suite_n0 = suite_n;
			snprintf(hash0, sizeof(hash0), "%s", hash);
			if (!(seen = calloc(sn + 1, sizeof(*seen)))) {
				ret = TORN_EXIT_INTERNAL;
				goto out;
			}
		} else if (sn != sn0 || suite_n != suite_n0 || strcmp(hash, hash0)) {
			cli_err("%s: shard %u/%u of a suite of %zu scenarios (%s), but %s is a shard "
				"of %u of a suite of %zu (%s): not shards of one run", files[i], si, sn,
				suite_n, hash, files[0], sn0, suite_n0, hash0);
			goto out;
		}
		if (si < 1 || si > sn || seen[si]) {
			cli_err("%s: shard %u/%u %s", files[i], si, sn,
				si < 1 || si > sn ? "is out of range" : "is given twice");
			goto out;
		}
		seen[si] = 1;
	}
	for (unsigned k = 1; k <= sn0; k++)
		if (!seen[k]) {
			cli_err("merge: shard %u/%u is missing", k, sn0);
			goto out;
		}
	if (nall != suite_n0) {
		cli_err("merge: the shards hold %zu scenarios, the suite has %zu", nall, suite_n0);
		goto out;
	}
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_index);
	for (size_t i = 0; i < nall; i++)
		if (all[i].elapsed > elapsed)
			elapsed = all[i].elapsed;
	if (!quiet) {
		for (size_t i = 0; i < nall; i++)
			print_line(stdout, &all[i], 0);
		print_totals(stdout, all, nall, elapsed, NULL);
	}
	ret = TORN_EXIT_INTERNAL;
	{
		uint64_t h = strtoull(hash0, NULL, 16);

		if (out && write_json(out, all, nall, suite_n0, h, 0, 0, sn0, elapsed) < 0)
			goto out;
	}
	if (junit && write_junit(junit, all, nall, elapsed) < 0)
		goto out;
	ret = TORN_EXIT_OK;
	for (size_t i = 0; i < nall; i++)
		if (!all[i].met)
			ret = TORN_EXIT_FINDINGS;
out:
	for (size_t i = 0; i < nall; i++)
		item_free(&all[i]);
	free(all);
	free(seen);
	return ret;
}

int cmd_run_is_report(const char *path)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je), *v;
	int is;

	if (!o)
		return 0;
	v = json_object_get(o, "kind");
	is = json_is_string(v) && !strcmp(json_string_value(v), "torn run");
	json_decref(o);
	return is;
}

/* ---- The command ---- */

/* What the command line asked for. */
struct run_args {
	const char *json, *junit, *work, *scratch;
	const char *html;             /* --html DIR */
	char      **pat, **exc;       /* -k, --exclude */
	size_t      npat, nexc;
	unsigned    shard_i, shard_n;
	int         list;
};

/* The seeded bugs tornkv knows, "ENGINE BUG\n" per line (tornkv --list-bugs),
 * or NULL when tornkv cannot tell (then a bad name fails at run time). */
static char *list_bugs(void)
{
	char cmd[PATH_MAX + 32], line[512];
	struct str b = { 0 };
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s/tornkv' --list-bugs 2>/dev/null", cli_bindir());
	if (strchr(cli_bindir(), '\'') || !(p = popen(cmd, "r")))
		return NULL;
	while (fgets(line, sizeof(line), p)) {
		char engine[64], bug[128];

		if (sscanf(line, "%63s %127s", engine, bug) == 2)
			str_printf(&b, "%s %s\n", engine, bug);
	}
	if (pclose(p) != 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* A scenario's `bug` is one of its engine's seeded bugs.  Returns an exit code. */
static int check_bug(const struct scn *s, const char *bugs)
{
	char want[256];
	struct str names = { 0 };
	const char *p;
	size_t elen = strlen(s->engine);

	snprintf(want, sizeof(want), "%s %s\n", s->engine, s->bug);
	for (p = bugs; p && *p; p = strchr(p, '\n') + 1) {
		size_t l = strcspn(p, "\n");

		if (!strncmp(p, want, strlen(want))) {
			free(names.s);
			return TORN_EXIT_OK;
		}
		if (l > elen && !strncmp(p, s->engine, elen) && p[elen] == ' ')
			str_printf(&names, "%s%.*s", names.s ? ", " : "", (int)(l - elen - 1),
				   p + elen + 1);
	}
	cli_err("%s:%u: bug: engine %s has no seeded bug '%s' (expected one of: %s)", s->file,
		s->bug_line, s->engine, s->bug, names.s ? names.s : "none");
	free(names.s);
	return TORN_EXIT_USAGE;
}

/* Parse and check every file of @paths; duplicate names are refused.
 * Returns an exit code (0: *@items, *@n filled). */
static int load_suite(char *const *paths, size_t npaths, struct run_item **items, size_t *n)
{
	char **files = NULL, err[1024], *bugs = NULL;
	size_t nfiles = 0;
	int ret = TORN_EXIT_USAGE, rc, bugs_read = 0;

	*items = NULL;
	*n = 0;
	if ((rc = scn_find((const char *const *)paths, npaths, &files, &nfiles, err,
			   sizeof(err))) < 0) {
		cli_err("%s", err);
		return rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
	}
	if (!nfiles) {
		cli_err("run: no scenario files (*.scn) under %s", paths[0]);
		goto out;
	}
	if (!(*items = calloc(nfiles, sizeof(**items)))) {
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct run_item *it = &(*items)[*n];
		struct scn *s;

		rc = scn_parse(files[i], cli_bindir(), &s, err, sizeof(err));
		if (rc < 0) {
			cli_err("%s", err);
			ret = rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
			goto out;
		}
		for (size_t k = 0; k < *n; k++)
			if (!strcmp((*items)[k].name, s->name)) {
				cli_err("%s:%u: name '%s' is already used by %s (expected names unique "
					"in a suite)", s->file, s->name_line, s->name, (*items)[k].file);
				scn_free(s);
				goto out;
			}
		(*n)++;
		it->s = s;
		if (s->bug && !bugs_read++)
			bugs = list_bugs();
		if (s->bug && bugs && (ret = check_bug(s, bugs)) != TORN_EXIT_OK)
			goto out;
		ret = TORN_EXIT_USAGE;
		it->name = strdup(s->name);
		it->file = strdup(s->file);
		it->description = xstrdup(s->description);
		it->expect_fail = s->expect_fail;
		it->expect_outcome = s->expect_outcome;
		if (!it->name || !it->file || (s->description && !it->description) ||
		    (s->nreasons && !(it->reasons = calloc(s->nreasons, sizeof(char *))))) {
			ret = TORN_EXIT_INTERNAL;
			goto out;
		}
		for (size_t r = 0; r < s->nreasons; r++) {
			if (!(it->reasons[r] = strdup(s->expect_reasons[r]))) {
				ret = TORN_EXIT_INTERNAL;
				goto out;
			}
			it->nreasons = r + 1;
		}
	}
	ret = TORN_EXIT_OK;
out:
	free(bugs);
	scn_files_free(files, nfiles);
	return ret;
}

/* Keep the items that pass the filters (then: those of the shard), in
 * order, freeing the others.  *@suite_n and *@hash describe the filtered
 * suite, before sharding: what the shards of one run agree on. */
static void select_items(struct run_item *items, size_t *n, const struct run_args *a,
			 size_t *suite_n, uint64_t *hash)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		if (!match_filters(items[i].name, a->pat, a->npat, a->exc, a->nexc)) {
			item_free(&items[i]);
			continue;
		}
		items[k] = items[i];
		items[k].index = k;
		k++;
	}
	*suite_n = k;
	*hash = suite_hash(items, k);
	if (a->shard_n) {
		size_t j = 0;

		for (size_t i = 0; i < k; i++) {
			if (i % a->shard_n != a->shard_i - 1) {
				item_free(&items[i]);
				continue;
			}
			items[j++] = items[i];
		}
		k = j;
	}
	*n = k;
}

/* The work dir (created, or a new one), the private scratch dir, the shim,
 * and PATH with torn's bin directory first (tornkv, tinylog).  Returns an
 * exit code. */
static int prepare(struct run_ctx *c, const struct run_args *a, char *torn, char *shim)
{
	char tmpl[PATH_MAX], abs[PATH_MAX];
	const char *path = getenv("PATH");
	struct str p = { 0 };

	snprintf(torn, PATH_MAX, "%s/torn", cli_bindir());
	c->torn = torn;
	if (getenv("TORN_SHIM") && *getenv("TORN_SHIM"))
		snprintf(shim, PATH_MAX, "%s", getenv("TORN_SHIM"));
	else
		snprintf(shim, PATH_MAX, "%s/../lib/libtorn-shim.so", cli_bindir());
	c->shim = shim;
	if (a->work) {
		if (mkdir(a->work, 0755) < 0 && errno != EEXIST) {
			cli_err("--work %s: cannot create: %s", a->work, strerror(errno));
			return TORN_EXIT_USAGE;
		}
		if (!realpath(a->work, abs) || access(abs, W_OK | X_OK) < 0) {
			cli_err("--work %s: expected a writable directory: %s", a->work,
				strerror(errno));
			return TORN_EXIT_USAGE;
		}
	} else {
		/* /dev/shm when writable, else $TMPDIR or /tmp */
		snprintf(abs, sizeof(abs), "%s/torn-run-XXXXXX", explore_default_scratch());
		if (!mkdtemp(abs)) {
			cli_err("%s: cannot create: %s", abs, strerror(errno));
			return TORN_EXIT_INTERNAL;
		}
		c->work_made = 1;
	}
	if (!(c->work = strdup(abs)))
		return TORN_EXIT_INTERNAL;
	if (a->scratch && access(a->scratch, W_OK | X_OK) < 0) {
		cli_err("--scratch %s: expected a writable directory: %s", a->scratch,
			strerror(errno));
		return TORN_EXIT_USAGE;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/torn-run-scratch-XXXXXX",
		 a->scratch ? a->scratch : explore_default_scratch());
	if (!mkdtemp(tmpl) || !realpath(tmpl, abs) || !(c->scratch = strdup(abs))) {
		cli_err("%s: cannot create: %s", tmpl, strerror(errno));
		return TORN_EXIT_INTERNAL;
	}
	str_printf(&p, "%s:%s", cli_bindir(), path && *path ? path : "/usr/bin:/bin");
	if (!p.s || setenv("PATH", p.s, 1) < 0) {
		free(p.s);
		return TORN_EXIT_INTERNAL;
	}
	free(p.s);
	return TORN_EXIT_OK;
}

/* Options into @a and @c.  Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct run_args *a, struct run_ctx *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long long v;
	int opt;

	c->jobs = ncpu > 0 ? (unsigned)ncpu : 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "k:j:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
		case OPT_EXCLUDE: {
			char ***list = opt == 'k' ? &a->pat : &a->exc;
			size_t *nl = opt == 'k' ? &a->npat : &a->nexc;
			char **p = realloc(*list, (*nl + 1) * sizeof(**list));

			if (!p)
				return TORN_EXIT_INTERNAL;
			*list = p;
			p[(*nl)++] = optarg;
			break;
		}
		case OPT_LIST: a->list = 1; break;
		case 'j':
			if ((v = cli_parse_num("--jobs", optarg, "a number of jobs >= 1")) < 0)
				return TORN_EXIT_USAGE;
			if (v < 1 || v > 1024) {
				cli_err("--jobs: expected 1..1024, got '%s'", optarg);
				return TORN_EXIT_USAGE;
			}
			c->jobs = (unsigned)v;
			break;
		case OPT_JUNIT: a->junit = optarg; break;
		case OPT_JSON: a->json = optarg; break;
		case OPT_HTML: a->html = optarg; break;
		case OPT_SHARD: {
			char end;

			if (sscanf(optarg, "%u/%u%c", &a->shard_i, &a->shard_n, &end) != 2 ||
			    a->shard_n < 1 || a->shard_i < 1 || a->shard_i > a->shard_n) {
				cli_err("--shard: expected I/N with 1 <= I <= N, got '%s'", optarg);
				return TORN_EXIT_USAGE;
			}
			break;
		}
		case OPT_BUDGET: {
			char *end;

			errno = 0;
			c->budget = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(c->budget > 0)) {
				cli_err("--budget: expected seconds per scenario (> 0), got '%s'", optarg);
				return TORN_EXIT_USAGE;
			}
			break;
		}
		case OPT_WORK: a->work = optarg; break;
		case OPT_SCRATCH: a->scratch = optarg; break;
		case OPT_KEEP: c->keep = 1; break;
		case 'q': c->quiet = 1; break;
		case 'h':
			usage(stdout);
			return TORN_EXIT_OK;
		default:
			usage(stderr);
			return TORN_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("run: expected scenario files or directories");
		usage(stderr);
		return TORN_EXIT_USAGE;
	}
	return -1;
}

int cmd_run(int argc, char **argv)
{
	char torn[PATH_MAX], shim[PATH_MAX];
	struct sigaction sa, old_int, old_term;
	struct run_item *items = NULL;
	struct run_args a;
	struct run_ctx c;
	size_t n = 0, suite_n = 0;
	uint64_t hash = 0;
	int ret, rc, sig_set = 0, kept = 0;
	double t0 = now_s();
	FILE *tf;

	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	if ((ret = parse_args(argc, argv, &a, &c)) >= 0)
		goto out;
	/* The suite: every file parsed and checked before anything runs. */
	if ((ret = load_suite(argv + optind, (size_t)(argc - optind), &items, &n)) != TORN_EXIT_OK)
		goto out;
	select_items(items, &n, &a, &suite_n, &hash);
	if (a.list) {
		for (size_t i = 0; i < n; i++)
			printf("%-36s %s%s%s\n", items[i].name, items[i].file,
			       items[i].description ? "  " : "",
			       items[i].description ? items[i].description : "");
		goto out;
	}
	ret = TORN_EXIT_USAGE;
	if (!suite_n) {
		cli_err("run: no scenario matches the -k and --exclude patterns");
		goto out;
	}
	if ((ret = prepare(&c, &a, torn, shim)) != TORN_EXIT_OK)
		goto out;
	if (a.html && report_index_new(a.html, &c.html) < 0) {
		ret = TORN_EXIT_USAGE;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sig_set = 1;
	/* With --json -, stdout is the JSON: the summary goes to stderr. */
	tf = a.json && !strcmp(a.json, "-") ? stderr : stdout;
	rc = run_all(&c, items, n, tf);
	if (rc == -EINTR) {
		cli_err("run: interrupted; the workers were stopped");
		ret = 130;
		goto out;
	}
	if (rc < 0) {
		cli_err("run: %s", strerror(-rc));
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		kept |= items[i].trace != NULL;
	if (!kept && c.work_made && !c.keep)
		rmdir(c.work);
	print_totals(tf, items, n, now_s() - t0, kept || c.keep ? c.work : NULL);
	ret = TORN_EXIT_INTERNAL;
	if (a.json && write_json(a.json, items, n, suite_n, hash, a.shard_i, a.shard_n, 0,
				 now_s() - t0) < 0)
		goto out;
	if (a.junit && write_junit(a.junit, items, n, now_s() - t0) < 0)
		goto out;
	if (c.html) {
		rc = report_index_finish(c.html, 1);
		c.html = NULL;
		if (rc < 0)
			goto out;
	}
	ret = TORN_EXIT_OK;
	for (size_t i = 0; i < n; i++)
		if (!items[i].met)
			ret = TORN_EXIT_FINDINGS;
out:
	report_index_finish(c.html, 0);
	if (sig_set) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	for (size_t i = 0; i < n; i++)
		item_free(&items[i]);
	free(items);
	free(a.pat);
	free(a.exc);
	free(c.work);
	if (c.scratch) {
		if (c.keep)
			fprintf(stderr, "torn: recorded directories and crash states kept in %s\n",
				c.scratch);
		else
			explore_rmtree(c.scratch);
	}
	free(c.scratch);
	return ret;
}

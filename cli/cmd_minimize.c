/*
 * cli/cmd_minimize.c - torn minimize TRACE --state ID --check CMD: shrink a
 * failing crash state to the fewest deviations, at the earliest crash point,
 * that still fail the same way.
 *
 * Sections: options; testing one candidate (memoised by content hash);
 * ddmin over the deviations; the earliest crash point; the command.
 *
 * A deviation removed means that unit persists as in the reference state
 * ("everything issued persisted"), so the empty set is the reference state
 * at the crash point.  "Fails the same way" means the same outcome class
 * (fail, crash or hang) as the original state.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crashcli.h"
#include "../recovery/explore.h"
#include "../recovery/report.h"
#include "engines/tornkv/kvwork.h"

enum { OPT_TIMEOUT = 0x1100, OPT_SCRATCH, OPT_ENGINE };

static const struct option longopts[] = {
	{ "state",   required_argument, NULL, 's' },
	{ "check",   required_argument, NULL, 'c' },
	{ "engine",  required_argument, NULL, OPT_ENGINE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "quiet",   no_argument,       NULL, 'q' },
	CRASHCLI_LONGOPTS,
	{ "help",    no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn minimize TRACE --state ID --check CMD [options]\n\n"
		"Shrink the failing state ID by delta debugging over its deviations (a\n"
		"deviation removed: that unit persists as if nothing was lost), then move it to\n"
		"the earliest crash point where it still fails the same way (fail, crash or\n"
		"hang); print the minimal id, its explanation and the replay command.\n\n"
		"  -s, --state ID                the failing state (from explore)\n"
		"  -c, --check CMD               the checker, as given to explore\n"
		"  --engine NAME                 check in-process, as explore --engine: CMD is a\n"
		"                                'tornkv --engine NAME ... check' command\n"
		"  --timeout S                   seconds before a checker is a hang (default 30)\n"
		"  --scratch DIR                 where states are materialised (as explore)\n"
		"  -q, --quiet                   no progress lines\n"
		CRASHCLI_USAGE
		"                                (an id names its own non-default sector, atomic\n"
		"                                unit and model; these are only checked)\n"
		"  -h, --help                    this help\n\n"
		"exit: 1 minimal failing state found, 2 bad usage or input (or ID does not fail),\n"
		"3 internal error\n");
}

/* ---- Testing one candidate ---- */

/* The id of (point, devs), malloc'ed (ids grow with the deviations). */
static char *format_id(const struct crash_space *sp, uint64_t point,
		       const struct crash_dev *devs, size_t n)
{
	for (size_t len = 256 + 32 * n;; len *= 2) {
		char *id = malloc(len);
		int rc;

		if (!id)
			return NULL;
		rc = crash_id_format(sp, point, devs, n, id, len);
		if (rc >= 0)
			return id;
		free(id);
		if (rc != -ENOSPC || len > (1u << 26))
			return NULL;
	}
}

struct memo {
	torn_hash h;
	int fails;
};

struct mini {
	struct crashcli *cc;
	struct explore_runner *run;
	struct explore_marks marks;
	enum explore_outcome target;
	struct memo *memo;
	size_t nmemo, cap;
	uint64_t tried, runs;
	int quiet;
};

/* 1 when (point, devs) fails like the original, 0 when it does not or is
 * not a state at all (a unit not pending there), < 0 on error. */
static int try_state(struct mini *m, uint64_t point, const struct crash_dev *devs, size_t n)
{
	struct crash_state *st = NULL;
	struct explore_result res;
	char *id, err[1024] = "";
	torn_hash h;
	int rc, fails;

	m->tried++;
	id = format_id(m->cc->space, point, devs, n);
	if (!id) {
		cli_err("minimize: out of memory");
		return -ENOMEM;
	}
	/* Not a state (a unit not pending at this point): not a failure. */
	rc = crash_state_from_id(m->cc->space, id, &st, err, sizeof(err));
	free(id);
	if (rc < 0)
		return 0;
	/* Same files and same promises: the same answer. */
	h = explore_state_key(&m->marks, st);
	for (size_t i = 0; i < m->nmemo; i++)
		if (m->memo[i].h.lo == h.lo && m->memo[i].h.hi == h.hi) {
			crash_state_free(st);
			return m->memo[i].fails;
		}
	rc = explore_runner_check(m->run, st, &res, err, sizeof(err));
	crash_state_free(st);
	if (rc < 0) {
		cli_err("minimize: %s", err[0] ? err : torn_strerror(rc));
		return rc;
	}
	m->runs++;
	fails = res.outcome == m->target;
	explore_result_free(&res);
	if (m->nmemo == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct memo *x = realloc(m->memo, cap * sizeof(*x));

		if (!x) {
			cli_err("minimize: out of memory");
			return -ENOMEM;
		}
		m->memo = x;
		m->cap = cap;
	}
	m->memo[m->nmemo].h = h;
	m->memo[m->nmemo++].fails = fails;
	if (!m->quiet && cli_tty())
		fprintf(stderr, "\r\033[K  minimize: %" PRIu64 " checks, %zu deviation%s at p%" PRIu64,
			m->runs, n, n == 1 ? "" : "s", point);
	return fails;
}

/* ---- ddmin (Zeller and Hildebrandt, 2002) over the deviations ---- */

static int ddmin(struct mini *m, uint64_t point, struct crash_dev *c, size_t *n)
{
	struct crash_dev *tmp = NULL;
	size_t gran = 2;
	int rc;

	rc = try_state(m, point, NULL, 0);
	if (rc != 0) {
		if (rc > 0)
			*n = 0;
		return rc < 0 ? rc : 0;
	}
	tmp = malloc((*n + 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	while (*n >= 2) {
		size_t len = *n, chunk = (len + gran - 1) / gran;
		int reduced = 0;

		/* A subset alone still fails? */
		for (size_t s = 0; s < len && !reduced; s += chunk) {
			size_t e = s + chunk < len ? s + chunk : len;

			rc = try_state(m, point, c + s, e - s);
			if (rc < 0)
				goto out;
			if (rc) {
				memmove(c, c + s, (e - s) * sizeof(*c));
				*n = e - s;
				gran = 2;
				reduced = 1;
			}
		}
		/* A complement still fails?  (With two chunks the complements are
		 * the subsets just tried.) */
		for (size_t s = 0; s < len && !reduced && gran > 2; s += chunk) {
			size_t e = s + chunk < len ? s + chunk : len, k = 0;

			for (size_t i = 0; i < len; i++)
				if (i < s || i >= e)
					tmp[k++] = c[i];
			rc = try_state(m, point, tmp, k);
			if (rc < 0)
				goto out;
			if (rc) {
				memcpy(c, tmp, k * sizeof(*c));
				*n = k;
				gran = gran - 1 > 2 ? gran - 1 : 2;
				reduced = 1;
			}
		}
		if (!reduced) {
			if (gran >= len)
				break;
			gran = gran * 2 < len ? gran * 2 : len;
		}
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* ---- The earliest crash point ---- */

/* The smallest crash point q < @point where the deviations with seq < q
 * still fail; *point and *n updated.  Candidates are the trace's event seqs;
 * the memo makes the many points with identical contents cost a hash each. */
static int earliest_point(struct mini *m, uint64_t *point, struct crash_dev *c, size_t *n)
{
	struct crash_dev *tmp = malloc((*n + 1) * sizeof(*tmp));
	struct torn_event ev;
	uint64_t pos = 0;
	int rc = 0;

	if (!tmp)
		return -ENOMEM;
	while (trace_next(m->cc->trace, &pos, &ev) == 1) {
		size_t k = 0;

		if (ev.type == TORN_REC_BLOB || ev.seq == 0)
			continue;
		if (ev.seq >= *point)
			break;
		for (size_t i = 0; i < *n; i++)
			if (c[i].seq < ev.seq)
				tmp[k++] = c[i];
		rc = try_state(m, ev.seq, tmp, k);
		if (rc < 0)
			break;
		if (rc) {
			*point = ev.seq;
			memcpy(c, tmp, k * sizeof(*c));
			*n = k;
			rc = 0;
			break;
		}
	}
	free(tmp);
	return rc;
}

int cmd_minimize(int argc, char **argv)
{
	const char *id = NULL, *check = NULL;
	struct crash_state *st = NULL, *fin = NULL;
	struct explore_result res0, resf;
	struct explore_opts eo;
	struct crash_dev *devs = NULL;
	struct crashcli cc;
	struct mini m;
	size_t n0 = 0, n;
	uint64_t p0, point;
	int ret = TORN_EXIT_USAGE, rc, opt, quiet = 0;
	char err[1024] = "", *minid = NULL;
	const char *engine = NULL;
	void *inproc = NULL;

	crashcli_init(&cc);
	explore_opts_default(&eo);
	memset(&m, 0, sizeof(m));
	memset(&res0, 0, sizeof(res0));
	memset(&resf, 0, sizeof(resf));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:c:qh", longopts, NULL)) != -1) {
		if (crashcli_option(&cc, opt, optarg, &rc)) {
			if (rc)
				goto out;
			continue;
		}
		switch (opt) {
		case 's': id = optarg; break;
		case 'c': check = optarg; break;
		case OPT_ENGINE: engine = optarg; break;
		case 'q': quiet = 1; break;
		case OPT_SCRATCH: eo.scratch = optarg; break;
		case OPT_TIMEOUT: {
			char *end;

			errno = 0;
			eo.timeout_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || eo.timeout_s < 0) {
				cli_err("--timeout: expected seconds (0: none), got '%s'", optarg);
				goto out;
			}
			break;
		}
		case 'h':
			usage(stdout);
			ret = TORN_EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1 || !id || !check || !*check) {
		cli_err(optind != argc - 1 ? "minimize: expected one trace file" :
			!id ? "minimize: --state ID is required" : "minimize: --check CMD is required");
		usage(stderr);
		goto out;
	}
	if (engine) {
		/* As explore --engine: parsed once, the fork server started
		 * while torn is small (before the trace is opened). */
		if (kvw_inproc_new(check, engine, &inproc, err, sizeof(err))) {
			cli_err("minimize: %s", err);
			goto out;
		}
		eo.check_fn = kvw_inproc_check;
		eo.check_arg = inproc;
		if (explore_forkserver_start(kvw_inproc_check, inproc, &eo.forkserver) < 0)
			eo.forkserver = NULL;
	}
	ret = crashcli_open(&cc, argv[optind], id);
	if (ret)
		goto out;
	ret = crashcli_state(&cc, id, &st);
	if (ret)
		goto out;
	eo.check = check;
	eo.trace = argv[optind];
	eo.jobs = 1;
	ret = TORN_EXIT_INTERNAL;
	if (explore_runner_new(&eo, &m.run, err, sizeof(err)) < 0) {
		cli_err("minimize: %s", err);
		goto out;
	}
	m.cc = &cc;
	m.quiet = quiet;
	if (explore_marks_init(&m.marks, cc.trace) < 0) {
		cli_err("minimize: out of memory");
		goto out;
	}

	/* The original must fail: that is what we keep. */
	rc = explore_runner_check(m.run, st, &res0, err, sizeof(err));
	if (rc < 0) {
		cli_err("minimize: %s", err);
		ret = rc == -TORN_E_CHECKER ? TORN_EXIT_USAGE : rc == -EINTR ? 130 :
		      TORN_EXIT_INTERNAL;
		goto out;
	}
	if (res0.outcome == EXPLORE_PASS) {
		cli_err("minimize: state %s passes the checker: nothing to minimize", id);
		ret = TORN_EXIT_USAGE;
		goto out;
	}
	m.target = res0.outcome;
	{
		const struct crash_dev *d = crash_state_devs(st, &n0);

		devs = malloc((n0 + 1) * sizeof(*devs));
		if (!devs)
			goto out;
		memcpy(devs, d, n0 * sizeof(*devs));
	}
	p0 = point = crash_state_point(st);
	n = n0;

	rc = ddmin(&m, point, devs, &n);
	if (rc == 0)
		rc = earliest_point(&m, &point, devs, &n);
	if (rc == 0 && point != p0)
		rc = ddmin(&m, point, devs, &n);
	if (!quiet && cli_tty())
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		ret = rc == -TORN_E_CHECKER ? TORN_EXIT_USAGE : rc == -EINTR ? 130 :
		      TORN_EXIT_INTERNAL;
		goto out;
	}
	minid = format_id(cc.space, point, devs, n);
	if (!minid) {
		cli_err("minimize: out of memory");
		goto out;
	}
	if (crash_state_from_id(cc.space, minid, &fin, err, sizeof(err)) < 0) {
		cli_err("minimize: minimal state %s: %s", minid, err);
		goto out;
	}
	/* Run the minimal state once more for its output (and to confirm it). */
	rc = explore_runner_check(m.run, fin, &resf, err, sizeof(err));
	if (rc < 0) {
		cli_err("minimize: %s", err);
		ret = rc == -EINTR ? 130 : TORN_EXIT_INTERNAL;
		goto out;
	}
	if (resf.outcome != m.target) {
		cli_err("minimize: minimal state %s gave %s on a second run (expected %s): the "
			"checker is not deterministic", minid, explore_outcome_name(resf.outcome),
			explore_outcome_name(m.target));
		goto out;
	}

	printf("original: %s (crash point %" PRIu64 ", %zu deviation%s): %s\n", id, p0, n0,
	       n0 == 1 ? "" : "s", explore_outcome_name(res0.outcome));
	printf("minimal:  %s (crash point %" PRIu64 ", %zu deviation%s): %s", minid, point, n,
	       n == 1 ? "" : "s", explore_outcome_name(resf.outcome));
	if (resf.outcome == EXPLORE_FAIL)
		printf(", exit %d", resf.exit_code);
	else if (resf.outcome == EXPLORE_CRASH)
		printf(", signal %d", resf.sig);
	printf("\nchecks:   %" PRIu64 " checker runs for %" PRIu64 " candidates\n", m.runs + 2,
	       m.tried);
	if (resf.reason)
		printf("reason:   %s\n", resf.reason);
	for (size_t k = 0; k < resf.noutput; k++)
		printf("    | %s\n", resf.output[k]);
	printf("\n");
	fflush(stdout);
	rc = crash_state_explain(fin, stdout);
	if (rc < 0) {
		cli_err("minimize: explaining %s: %s", minid, torn_strerror(rc));
		goto out;
	}
	printf("\nreplay:   torn replay ");
	report_shell_quote(stdout, argv[optind]);
	printf(" --state ");
	report_shell_quote(stdout, minid);
	printf(" --out DIR\n");
	ret = TORN_EXIT_FINDINGS;
out:
	explore_result_free(&res0);
	explore_result_free(&resf);
	if (st)
		crash_state_free(st);
	if (fin)
		crash_state_free(fin);
	free(devs);
	free(minid);
	free(m.memo);
	explore_marks_free(&m.marks);
	explore_runner_free(m.run);
	explore_forkserver_stop(eo.forkserver);
	kvw_inproc_free(inproc);
	crashcli_close(&cc);
	return ret;
}

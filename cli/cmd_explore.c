/*
 * cli/cmd_explore.c - torn explore TRACE --check CMD [options]: check every
 * crash state the strategies produce (recovery/explore.c does the work).
 *
 * Sections: options and usage; the progress line; the command.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crashcli.h"
#include "../recovery/explore.h"
#include "../recovery/report.h"
#include "engines/tornkv/kvwork.h"

enum {
	OPT_STRATEGY = 0x1100, OPT_SEED, OPT_MAX_STATES, OPT_CRASH_POINTS, OPT_TIMEOUT,
	OPT_SCRATCH, OPT_KEEP, OPT_JSON, OPT_JUNIT, OPT_SHARD, OPT_MAX_SHOWN, OPT_ENGINE,
};

static const struct option longopts[] = {
	{ "check",        required_argument, NULL, 'c' },
	{ "engine",       required_argument, NULL, OPT_ENGINE },
	CRASHCLI_LONGOPTS,
	{ "strategy",     required_argument, NULL, OPT_STRATEGY },
	{ "seed",         required_argument, NULL, OPT_SEED },
	{ "max-states",   required_argument, NULL, OPT_MAX_STATES },
	{ "crash-points", required_argument, NULL, OPT_CRASH_POINTS },
	{ "jobs",         required_argument, NULL, 'j' },
	{ "timeout",      required_argument, NULL, OPT_TIMEOUT },
	{ "scratch",      required_argument, NULL, OPT_SCRATCH },
	{ "keep-failing", no_argument,       NULL, OPT_KEEP },
	{ "json",         required_argument, NULL, OPT_JSON },
	{ "junit",        required_argument, NULL, OPT_JUNIT },
	{ "shard",        required_argument, NULL, OPT_SHARD },
	{ "quiet",        no_argument,       NULL, 'q' },
	{ "max-failures-shown", required_argument, NULL, OPT_MAX_SHOWN },
	{ "help",         no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn explore TRACE --check CMD [options]\n\n"
		"Materialise every crash state the strategies produce into a fresh directory,\n"
		"run CMD there (/bin/sh -c, with $TORN_STATE, $TORN_MARKS, $TORN_STATE_ID and\n"
		"$TORN_TRACE set) and classify: exit 0 pass, 1..125 fail, signal crash,\n"
		"over --timeout hang.  Identical states are checked once.\n\n"
		"  -c, --check CMD               the checker (required)\n"
		"  --engine NAME                 check in-process, no exec per state: CMD is a\n"
		"                                'tornkv --engine NAME ... check' command, run by\n"
		"                                a forked child of torn (bundled engines only)\n"
		CRASHCLI_USAGE
		"  --strategy LIST               sync,prefix,torn[:all],reorder:K,random:N,exhaustive\n"
		"                                (default sync)\n"
		"  --seed N                      seed of random:N (default 0)\n"
		"  --max-states N                exhaustive refuses more states (default 100000)\n"
		"  --crash-points sync|all|A-B   crash points to explore (default all)\n"
		"  -j, --jobs N                  checkers run at once (default: number of CPUs)\n"
		"  --timeout S                   seconds before a checker is a hang (default 30)\n"
		"  --scratch DIR                 where states are materialised (default /dev/shm,\n"
		"                                else $TMPDIR or /tmp; a private torn-XXXXXX inside)\n"
		"  --keep-failing                keep the directories of failing states\n"
		"  --json FILE                   write the JSON report ('-': stdout)\n"
		"  --junit FILE                  write a JUnit XML report\n"
		"  --shard I/N                   check only slice I of N (1-based); join with merge\n"
		"  -q, --quiet                   no progress line, no warnings, a short summary\n"
		"  --max-failures-shown N        failures shown per outcome class (default 3)\n"
		"  -h, --help                    this help\n\n"
		"exit: 0 all passed, 1 failures found, 2 bad usage or input, 3 internal error\n");
}

/* ---- The progress line (a terminal only) ---- */

static void show_progress(void *arg, const struct explore_progress *p)
{
	double rate = p->elapsed_s > 0 ? (double)p->checked / p->elapsed_s : 0;

	(void)arg;
	if (p->done) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr, "\r\033[K  checked %" PRIu64, p->checked);
	if (p->total >= 0)
		fprintf(stderr, " (enumerated %" PRIu64 "/%" PRId64 ")", p->enumerated, p->total);
	else
		fprintf(stderr, " (enumerated %" PRIu64 ")", p->enumerated);
	fprintf(stderr, ", %.1f states/s, %" PRIu64 " failure%s", rate, p->failures,
		p->failures == 1 ? "" : "s");
	if (p->total > 0 && p->enumerated > 0 && (int64_t)p->enumerated <= p->total) {
		double eta = p->elapsed_s * (double)(p->total - (int64_t)p->enumerated) /
			     (double)p->enumerated;
		fprintf(stderr, ", ETA %d:%02d", (int)eta / 60, (int)eta % 60);
	}
	fflush(stderr);
}

static int record_options(struct explore_report *rep, const struct crashcli *cc,
			  const char *strategy, const char *points, const char *tear,
			  double timeout)
{
	const struct crash_opts *co = &cc->co;
	char num[64];
	int rc = 0;

	rc |= explore_report_option(rep, "model", co->model == CRASH_MODEL_BUFFERED ? "buffered" :
				    co->model == CRASH_MODEL_DIRECT ? "direct" : "auto", 0);
	snprintf(num, sizeof(num), "%u", co->sector);
	rc |= explore_report_option(rep, "sector", num, 1);
	snprintf(num, sizeof(num), "%u", co->atomic ? co->atomic : co->sector);
	rc |= explore_report_option(rep, "atomic", num, 1);
	rc |= explore_report_option(rep, "tear", tear ? tear : "old,new", 0);
	rc |= explore_report_option(rep, "strategy", strategy ? strategy : "sync", 0);
	snprintf(num, sizeof(num), "%" PRIu64, co->seed);
	rc |= explore_report_option(rep, "seed", num, 1);
	snprintf(num, sizeof(num), "%" PRIu64, co->max_states);
	rc |= explore_report_option(rep, "max_states", num, 1);
	rc |= explore_report_option(rep, "crash_points", points ? points : "all", 0);
	snprintf(num, sizeof(num), "%g", timeout);
	rc |= explore_report_option(rep, "timeout", num, 0);
	return rc ? -ENOMEM : 0;
}

int cmd_explore(int argc, char **argv)
{
	const char *check = NULL, *json = NULL, *junit = NULL, *strategy = NULL;
	const char *points = NULL, *tear = NULL, *engine = NULL;
	void *inproc = NULL;
	struct explore_report rep;
	struct explore_opts eo;
	struct crashcli cc;
	unsigned max_shown = 3;
	int quiet = 0, ret = TORN_EXIT_USAGE, rc, opt;
	char err[1024] = "", hex[33], extra[160] = "";
	long long v;

	crashcli_init(&cc);
	explore_opts_default(&eo);
	explore_report_init(&rep);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:j:qh", longopts, NULL)) != -1) {
		if (crashcli_option(&cc, opt, optarg, &rc)) {
			if (rc)
				goto out;
			if (opt == CRASHCLI_OPT_TEAR)
				tear = optarg;
			continue;
		}
		switch (opt) {
		case 'c':
			check = optarg;
			break;
		case OPT_ENGINE:
			engine = optarg;
			break;
		case OPT_STRATEGY:
			if (crash_opts_parse_strategy(&cc.co, optarg, err, sizeof(err)) < 0) {
				cli_err("--strategy: %s", err);
				goto out;
			}
			strategy = optarg;
			break;
		case OPT_SEED:
			if ((v = cli_parse_num("--seed", optarg, "a non-negative integer")) < 0)
				goto out;
			cc.co.seed = (uint64_t)v;
			break;
		case OPT_MAX_STATES:
			if ((v = cli_parse_num("--max-states", optarg, "a number of states")) < 0)
				goto out;
			cc.co.max_states = (uint64_t)v;
			break;
		case OPT_CRASH_POINTS:
			if (crash_opts_parse_points(&cc.co, optarg, err, sizeof(err)) < 0) {
				cli_err("--crash-points: %s", err);
				goto out;
			}
			points = optarg;
			break;
		case 'j':
			if ((v = cli_parse_num("--jobs", optarg, "a number of jobs >= 1")) < 0)
				goto out;
			if (v < 1 || v > 1024) {
				cli_err("--jobs: expected 1..1024, got '%s'", optarg);
				goto out;
			}
			eo.jobs = (unsigned)v;
			break;
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
		case OPT_SCRATCH:
			eo.scratch = optarg;
			break;
		case OPT_KEEP:
			eo.keep_failing = 1;
			break;
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_JUNIT:
			junit = optarg;
			break;
		case OPT_SHARD: {
			unsigned i, n;
			char end;

			if (sscanf(optarg, "%u/%u%c", &i, &n, &end) != 2 || n < 1 || i < 1 || i > n) {
				cli_err("--shard: expected I/N with 1 <= I <= N, got '%s'", optarg);
				goto out;
			}
			eo.shard_i = i;
			eo.shard_n = n;
			break;
		}
		case 'q':
			quiet = 1;
			break;
		case OPT_MAX_SHOWN:
			if ((v = cli_parse_num("--max-failures-shown", optarg, "a number")) < 0)
				goto out;
			max_shown = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			ret = TORN_EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_err(optind >= argc ? "explore: expected a trace file" :
			"explore: expected one trace file, got '%s' too", argv[argc - 1]);
		usage(stderr);
		goto out;
	}
	if (!check || !*check) {
		cli_err("explore: --check CMD is required (the command that checks a state)");
		goto out;
	}
	if (eo.scratch && access(eo.scratch, W_OK | X_OK) < 0) {
		cli_err("--scratch %s: expected a writable directory: %s", eo.scratch,
			strerror(errno));
		goto out;
	}
	eo.check = check;
	eo.trace = argv[optind];
	if (engine) {
		if (kvw_inproc_new(check, engine, &inproc, err, sizeof(err))) {
			cli_err("explore: %s", err);
			goto out;
		}
		eo.check_fn = kvw_inproc_check;
		eo.check_arg = inproc;
		/* Now, while torn is small and has one thread: the children
		 * are cloned from this copy (explore.h); without one (no
		 * socket, no fork) torn forks them itself. */
		if (explore_forkserver_start(kvw_inproc_check, inproc, &eo.forkserver) < 0)
			eo.forkserver = NULL;
	}
	ret = crashcli_open(&cc, argv[optind], NULL);
	if (ret)
		goto out;
	if (!quiet && trace_truncated(cc.trace))
		fprintf(stderr, "%s: warning: the trace is cut short (the recording did not "
			"finish): its crash states end at its last whole record\n", argv[optind]);
	if (!quiet)
		crash_space_warnings(cc.space, stderr);
	if (!quiet && cli_tty()) {
		eo.progress = show_progress;
		eo.total = crash_space_count(cc.space);
	}

	rc = explore_run(cc.trace, cc.space, &eo, &rep, err, sizeof(err));
	if (rc == -EINTR) {
		cli_err("explore: %s; scratch directories removed", err);
		ret = 130;
		goto out;
	}
	if (rc < 0) {
		cli_err("explore: %s", err[0] ? err : torn_strerror(rc));
		ret = rc == -TORN_E_CHECKER || rc == -E2BIG || rc == -EINVAL ? TORN_EXIT_USAGE :
		      TORN_EXIT_INTERNAL;
		goto out;
	}
	ret = TORN_EXIT_INTERNAL;
	rep.trace = strdup(argv[optind]);
	rc = explore_file_hash(argv[optind], hex);
	if (rc < 0) {
		cli_err("%s: cannot read: %s", argv[optind], strerror(-rc));
		goto out;
	}
	rep.trace_hash = strdup(hex);
	if (!rep.trace || !rep.trace_hash ||
	    record_options(&rep, &cc, strategy, points, tear, eo.timeout_s) < 0) {
		cli_err("explore: out of memory");
		goto out;
	}
	if (eo.timeout_s != 30)
		snprintf(extra, sizeof(extra), "--timeout %g", eo.timeout_s);
	/* The suggested minimize checks in-process too. */
	if (engine && strlen(engine) < 64)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s--engine %s",
			 extra[0] ? " " : "", engine);
	{
		struct report_text_opts to = {
			.trace = argv[optind], .check = check, .extra_args = extra,
			.max_shown = max_shown,
		};

		/* With --json -, stdout is the JSON: the summary goes to stderr. */
		FILE *tf = json && !strcmp(json, "-") ? stderr : stdout;

		if (quiet && !rep.nfailures)
			fprintf(tf, "torn explore: %" PRIu64 " states checked, no failure\n",
				rep.states_checked);
		else
			report_text(tf, &rep, &to);
		fflush(tf);
	}
	if (json && report_json_write(&rep, check, json, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	if (junit && report_junit_write(&rep, junit, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	ret = rep.nfailures ? TORN_EXIT_FINDINGS : TORN_EXIT_OK;
out:
	explore_forkserver_stop(eo.forkserver);
	kvw_inproc_free(inproc);
	explore_report_free(&rep);
	crashcli_close(&cc);
	return ret;
}

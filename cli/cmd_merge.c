/*
 * cli/cmd_merge.c - torn merge A.json B.json ... [-o OUT]: join the JSON
 * reports of the shards of one exploration (explore --shard I/N) into the
 * report the unsharded run would have written (report_merge checks that
 * they are shards of one trace, checker and options, each shard once and
 * none missing).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../recovery/report.h"

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "junit",  required_argument, NULL, 'J' },
	{ "quiet",  no_argument,       NULL, 'q' },
	{ "max-failures-shown", required_argument, NULL, 'm' },
	{ "help",   no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn merge SHARD.json... [-o OUT.json] [options]\n\n"
		"Join the --json reports of 'torn explore --shard I/N' (all N of them) into one\n"
		"report, print its summary, and exit as the unsharded explore would have.\n"
		"Reports of 'torn run --shard I/N' are joined scenario by scenario the same way.\n\n"
		"  -o, --output FILE             write the merged JSON report ('-': stdout)\n"
		"  --junit FILE                  also write a JUnit XML report\n"
		"  -q, --quiet                   no summary\n"
		"  --max-failures-shown N        failures shown per outcome class (default 3)\n"
		"  -h, --help                    this help\n\n"
		"exit: 0 all passed, 1 failures found, 2 bad usage or input, 3 internal error\n");
}

int cmd_merge(int argc, char **argv)
{
	const char *out = NULL, *junit = NULL;
	struct explore_report *in = NULL, merged;
	char **checks = NULL, err[1024];
	size_t n = 0;
	unsigned max_shown = 3;
	int ret = TORN_EXIT_USAGE, opt, quiet = 0;
	long long v;

	explore_report_init(&merged);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'J': junit = optarg; break;
		case 'q': quiet = 1; break;
		case 'm':
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
	if (optind >= argc) {
		cli_err("merge: expected the JSON reports of the shards");
		usage(stderr);
		goto out;
	}
	/* Reports of `torn run --shard` are joined scenario by scenario (cmd_run.c). */
	if (cmd_run_is_report(argv[optind]))
		return cmd_run_merge(argc - optind, argv + optind, out, junit, quiet);
	n = (size_t)(argc - optind);
	in = calloc(n, sizeof(*in));
	checks = calloc(n, sizeof(*checks));
	if (!in || !checks) {
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (report_json_read(argv[optind + (int)i], &in[i], &checks[i], err, sizeof(err)) < 0) {
			cli_err("%s", err);
			goto out;
		}
		if (strcmp(checks[i], checks[0])) {
			cli_err("%s: checked with '%s', but %s with '%s'", argv[optind + (int)i],
				checks[i], argv[optind], checks[0]);
			goto out;
		}
	}
	if (report_merge(in, (const char *const *)argv + optind, n, &merged, err, sizeof(err)) < 0) {
		cli_err("merge: %s", err);
		goto out;
	}
	if (!quiet) {
		struct report_text_opts to = {
			.trace = merged.trace, .check = checks[0], .max_shown = max_shown,
		};
		report_text(stdout, &merged, &to);
		fflush(stdout);
	}
	ret = TORN_EXIT_INTERNAL;
	if (out && report_json_write(&merged, checks[0], out, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	if (junit && report_junit_write(&merged, junit, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	ret = merged.nfailures ? TORN_EXIT_FINDINGS : TORN_EXIT_OK;
out:
	for (size_t i = 0; in && i < n; i++)
		explore_report_free(&in[i]);
	for (size_t i = 0; checks && i < n; i++)
		free(checks[i]);
	free(in);
	free(checks);
	explore_report_free(&merged);
	return ret;
}

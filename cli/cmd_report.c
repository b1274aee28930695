/*
 * cli/cmd_report.c - torn report TRACE --results REPORT.json -o PAGE.html:
 * one self-contained HTML page of a run (recovery/html.c does the work):
 * the timeline of the trace, its crash points by outcome, and each failing
 * state with its sector maps, explanation, output and commands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "torn/trace.h"
#include "../recovery/html.h"
#include "../recovery/report.h"

enum { OPT_TITLE = 0x100, OPT_MAX_STATES, OPT_MAX_LANES };

static const struct option longopts[] = {
	{ "results",    required_argument, NULL, 'r' },
	{ "output",     required_argument, NULL, 'o' },
	{ "title",      required_argument, NULL, OPT_TITLE },
	{ "max-states", required_argument, NULL, OPT_MAX_STATES },
	{ "max-lanes",  required_argument, NULL, OPT_MAX_LANES },
	{ "help",       no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn report TRACE --results REPORT.json -o PAGE.html [options]\n\n"
		"Write one self-contained HTML page (no external asset) of a run: a summary, the\n"
		"timeline of TRACE (a lane per file: writes, fsyncs, renames, unlinks; marks and\n"
		"faults), its crash points coloured by outcome, and every failing state of the\n"
		"JSON report of `torn explore --json` with the sector map of each affected file,\n"
		"its explanation, the checker's output and the replay and minimize commands.\n\n"
		"  -r, --results FILE    the JSON report of the exploration of TRACE (required)\n"
		"  -o, --output FILE     the page to write ('-' = stdout; required)\n"
		"  --title TEXT          a title for the page (default: none)\n"
		"  --max-states N        failing states shown in detail (default 20)\n"
		"  --max-lanes N         file lanes before the rest share one (default 24)\n"
		"  -h, --help            this help\n");
}

int cmd_report(int argc, char **argv)
{
	struct explore_report rep;
	struct torn_trace *t = NULL;
	struct trace_error terr;
	struct html_opts ho;
	const char *results = NULL, *out = NULL;
	char *check = NULL, *tmp = NULL;
	char err[512];
	FILE *f = NULL;
	long long v;
	int ret = TORN_EXIT_USAGE, opt, rc, have_rep = 0;

	memset(&ho, 0, sizeof(ho));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "r:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': results = optarg; break;
		case 'o': out = optarg; break;
		case OPT_TITLE: ho.title = optarg; break;
		case OPT_MAX_STATES:
		case OPT_MAX_LANES:
			v = cli_parse_num(opt == OPT_MAX_STATES ? "--max-states" : "--max-lanes", optarg,
					  "a number from 1 to 100000");
			if (v < 1 || v > 100000) {
				if (v >= 0)
					cli_err("%s: expected a number from 1 to 100000, got '%s'",
						opt == OPT_MAX_STATES ? "--max-states" : "--max-lanes",
						optarg);
				goto out;
			}
			if (opt == OPT_MAX_STATES)
				ho.max_states = (unsigned)v;
			else
				ho.max_lanes = (unsigned)v;
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
	if (optind != argc - 1 || !results || !out) {
		cli_err(optind != argc - 1 ? "report: expected one trace file" :
			!results ? "report: --results REPORT.json is required" :
			"report: -o PAGE.html is required");
		usage(stderr);
		goto out;
	}
	if (report_json_read(results, &rep, &check, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	have_rep = 1;
	memset(&terr, 0, sizeof(terr));
	rc = trace_open(argv[optind], &t, &terr);
	if (rc < 0) {
		cli_err("%s", terr.msg[0] ? terr.msg : torn_strerror(rc));
		goto out;
	}
	/* The report must be of this trace: its hash says so. */
	if (rep.trace_hash) {
		char hex[33];

		if (explore_file_hash(argv[optind], hex) == 0 && strcmp(hex, rep.trace_hash)) {
			cli_err("%s: the report %s is of another trace (hash %s, this trace %s)",
				argv[optind], results, rep.trace_hash, hex);
			goto out;
		}
	}
	ho.trace = argv[optind];
	ho.check = check;
	ret = TORN_EXIT_INTERNAL;
	if (!strcmp(out, "-")) {
		f = stdout;
	} else {
		/* written beside and renamed: a reader never sees half a page */
		if (asprintf(&tmp, "%s.tmp", out) < 0) {
			tmp = NULL;
			cli_err("report: out of memory");
			goto out;
		}
		f = fopen(tmp, "w");
		if (!f) {
			cli_err("%s: cannot write: %s", tmp, strerror(errno));
			ret = TORN_EXIT_USAGE;
			goto out;
		}
	}
	err[0] = 0;
	rc = html_write(f, t, &rep, &ho, err, sizeof(err));
	if (f != stdout) {
		if (fclose(f) != 0 && !rc)
			rc = -errno;
		f = NULL;
		if (!rc && rename(tmp, out) < 0)
			rc = -errno;
		if (rc)
			unlink(tmp);
	} else if (fflush(stdout) != 0 && !rc) {
		rc = -errno;
	}
	if (rc < 0) {
		cli_err("%s: %s", out, err[0] ? err : strerror(-rc));
		goto out;
	}
	ret = TORN_EXIT_OK;
out:
	if (f && f != stdout)
		fclose(f);
	free(tmp);
	free(check);
	if (have_rep)
		explore_report_free(&rep);
	if (t)
		trace_close(t);
	return ret;
}

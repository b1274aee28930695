/*
 * cli/cmd_explain.c - torn explain TRACE --state ID: per file, which units
 * of the state differ from the fully persisted state at its crash point, and
 * how (crash_state_explain does the work).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "crashcli.h"

static const struct option longopts[] = {
	{ "state", required_argument, NULL, 's' },
	CRASHCLI_LONGOPTS,
	{ "help",  no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn explain TRACE --state ID [options]\n\n"
		"Say, per file, which sectors of state ID differ from the state where everything\n"
		"issued before its crash point persisted, and how (dropped, old, zeros, garbage,\n"
		"missing create or rename), with a short hex excerpt.\n\n"
		"  -s, --state ID                the state id (from explore, minimize)\n"
		CRASHCLI_USAGE
		"                                (an id names its own non-default sector, atomic\n"
		"                                unit and model; these are only checked)\n"
		"  -h, --help                    this help\n");
}

int cmd_explain(int argc, char **argv)
{
	struct crash_state *st = NULL;
	const char *id = NULL;
	struct crashcli cc;
	int ret = TORN_EXIT_USAGE, rc, opt;

	crashcli_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		if (crashcli_option(&cc, opt, optarg, &rc)) {
			if (rc)
				goto out;
			continue;
		}
		switch (opt) {
		case 's': id = optarg; break;
		case 'h':
			usage(stdout);
			ret = TORN_EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1 || !id) {
		cli_err(optind != argc - 1 ? "explain: expected one trace file" :
			"explain: --state ID is required");
		usage(stderr);
		goto out;
	}
	ret = crashcli_open(&cc, argv[optind], id);
	if (ret)
		goto out;
	ret = crashcli_state(&cc, id, &st);
	if (ret)
		goto out;
	rc = crash_state_explain(st, stdout);
	if (rc < 0) {
		cli_err("explain: state %s: %s", id, torn_strerror(rc));
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	ret = TORN_EXIT_OK;
out:
	if (st)
		crash_state_free(st);
	crashcli_close(&cc);
	return ret;
}

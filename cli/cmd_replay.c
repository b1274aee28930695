/*
 * cli/cmd_replay.c - torn replay TRACE [--state ID] --out DIR: rebuild one
 * crash state (or, without --state, the whole trace with everything
 * persisted) into a directory.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "crashcli.h"
#include "../recovery/explore.h"

static const struct option longopts[] = {
	{ "state", required_argument, NULL, 's' },
	{ "out",   required_argument, NULL, 'o' },
	{ "force", no_argument,       NULL, 'f' },
	{ "marks", required_argument, NULL, 'm' },
	CRASHCLI_LONGOPTS,
	{ "help",  no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn replay TRACE [--state ID] --out DIR [options]\n\n"
		"Rebuild the crash state ID of TRACE in DIR, byte for byte; without --state,\n"
		"the files as they stand at the end of the trace with everything persisted.\n\n"
		"  -s, --state ID                the state id (from explore, minimize)\n"
		"  -o, --out DIR                 where to build it (created if absent)\n"
		"  -f, --force                   empty a non-empty DIR first\n"
		"  -m, --marks FILE              also write the marks made before the crash point\n"
		CRASHCLI_USAGE
		"                                (an id names its own non-default sector, atomic\n"
		"                                unit and model; these are only checked)\n"
		"  -h, --help                    this help\n");
}

/* 1 if @dir has entries, 0 if empty, -errno. */
static int dir_nonempty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			rc = 1;
			break;
		}
	closedir(d);
	return rc;
}

static int empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p)) {
			rc = -ENAMETOOLONG;
			break;
		}
		rc = explore_rmtree(p);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* The output directory as replay needs it: absent, or an empty directory,
 * or (with --force) one whose contents may go.  check_out() only looks;
 * prepare_out() creates or empties it, once the trace has been accepted. */
static int check_out(const char *out, int force)
{
	struct stat sb;
	int rc;

	if (stat(out, &sb) < 0) {
		if (errno == ENOENT)
			return TORN_EXIT_OK;
		cli_err("%s: cannot create: %s", out, strerror(errno));
		return TORN_EXIT_USAGE;
	}
	rc = dir_nonempty(out);
	if (rc < 0) {
		cli_err("%s: expected a directory: %s", out, strerror(-rc));
		return TORN_EXIT_USAGE;
	}
	if (rc > 0 && !force) {
		cli_err("%s: directory not empty (use --force to replace its contents)", out);
		return TORN_EXIT_USAGE;
	}
	return TORN_EXIT_OK;
}

static int prepare_out(const char *out, int force)
{
	int rc = check_out(out, force);

	if (rc != TORN_EXIT_OK)
		return rc;
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		cli_err("%s: cannot create: %s", out, strerror(errno));
		return TORN_EXIT_USAGE;
	}
	if ((rc = dir_nonempty(out)) > 0 && (rc = empty_dir(out)) < 0) {
		cli_err("%s: cannot empty: %s", out, strerror(-rc));
		return TORN_EXIT_INTERNAL;
	}
	return TORN_EXIT_OK;
}

int cmd_replay(int argc, char **argv)
{
	const char *id = NULL, *out = NULL, *marks = NULL;
	struct crash_state *st = NULL;
	struct crashcli cc;
	int force = 0, ret = TORN_EXIT_USAGE, rc, opt;

	crashcli_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:o:fm:h", longopts, NULL)) != -1) {
		if (crashcli_option(&cc, opt, optarg, &rc)) {
			if (rc)
				goto out;
			continue;
		}
		switch (opt) {
		case 's': id = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'm': marks = optarg; break;
		case 'h':
			usage(stdout);
			ret = TORN_EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1 || !out) {
		cli_err(optind != argc - 1 ? "replay: expected one trace file" :
			"replay: --out DIR is required");
		usage(stderr);
		goto out;
	}
	if (marks && !id) {
		cli_err("replay: --marks needs --state (marks are cut at the crash point)");
		goto out;
	}
	/* a bad output directory is found before the trace is read ... */
	if ((ret = check_out(out, force)) != TORN_EXIT_OK)
		goto out;
	ret = TORN_EXIT_USAGE;
	if (!id) {
		struct trace_error terr;

		memset(&terr, 0, sizeof(terr));
		rc = trace_open(argv[optind], &cc.trace, &terr);
		/* ... and a bad trace before anything is created or emptied */
		if (rc == 0)
			rc = trace_rebuild(cc.trace, UINT64_MAX, NULL, &terr);
		if (rc == 0 && (ret = prepare_out(out, force)) != TORN_EXIT_OK)
			goto out;
		if (rc == 0)
			rc = trace_rebuild(cc.trace, UINT64_MAX, out, &terr);
		if (rc < 0) {
			cli_err("%s", terr.msg[0] ? terr.msg : torn_strerror(rc));
			ret = rc == -ENOMEM || rc == -EIO || rc == -ENOSPC ? TORN_EXIT_INTERNAL :
			      TORN_EXIT_USAGE;
			goto out;
		}
		printf("rebuilt %s with everything persisted in %s\n", argv[optind], out);
		ret = TORN_EXIT_OK;
		goto out;
	}
	ret = crashcli_open(&cc, argv[optind], id);
	if (ret)
		goto out;
	ret = crashcli_state(&cc, id, &st);
	if (ret)
		goto out;
	if ((ret = prepare_out(out, force)) != TORN_EXIT_OK)
		goto out;
	rc = crash_state_write(st, out);
	if (rc < 0) {
		cli_err("%s: cannot write state %s: %s", out, id, torn_strerror(rc));
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	if (marks && (rc = crash_state_write_marks(st, marks)) < 0) {
		cli_err("%s: cannot write the marks: %s", marks, torn_strerror(rc));
		ret = TORN_EXIT_INTERNAL;
		goto out;
	}
	printf("rebuilt state %s (crash point %llu) in %s\n", crash_state_id(st),
	       (unsigned long long)crash_state_point(st), out);
	ret = TORN_EXIT_OK;
out:
	if (st)
		crash_state_free(st);
	crashcli_close(&cc);
	return ret;
}

/*
 * cli/cmd_report.c - torn report TRACE --results REPORT.json -o PAGE.html:
 * one self-contained HTML page of a run (recovery/html.c does the work):
 * the timeline of the trace, its crash points by outcome, and each failing
 * state with its sector maps, explanation, output and commands.
 *
 * Sections: 1. one page (write_page, shared); 2. torn report; 3. torn run
 * --html DIR: a page per scenario and an index (report_index_*, cli.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "torn/trace.h"
#include "../recovery/html.h"
#include "../recovery/report.h"

/* ---- 1. One page ---- */

/* Write the page of @trace_path and the report @results to @out ('-':
 * stdout), written beside and renamed so a reader never sees half a page.
 * Returns an exit code, the message printed. */
static int write_page(const char *trace_path, const char *results, const char *out,
		      struct html_opts *ho)
{
	struct explore_report rep;
	struct torn_trace *t = NULL;
	struct trace_error terr;
	char *check = NULL, *tmp = NULL;
	char err[512];
	FILE *f = NULL;
	int ret = TORN_EXIT_USAGE, rc, have_rep = 0;

	if (report_json_read(results, &rep, &check, err, sizeof(err)) < 0) {
		cli_err("%s", err);
		goto out;
	}
	have_rep = 1;
	memset(&terr, 0, sizeof(terr));
	rc = trace_open(trace_path, &t, &terr);
	if (rc < 0) {
		cli_err("%s", terr.msg[0] ? terr.msg : torn_strerror(rc));
		goto out;
	}
	/* The report must be of this trace: its hash says so. */
	if (rep.trace_hash) {
		char hex[33];

		if (explore_file_hash(trace_path, hex) == 0 && strcmp(hex, rep.trace_hash)) {
			cli_err("%s: the report %s is of another trace (hash %s, this trace %s)",
				trace_path, results, rep.trace_hash, hex);
			goto out;
		}
	}
	ho->trace = trace_path;
	ho->check = check;
	ret = TORN_EXIT_INTERNAL;
	if (!strcmp(out, "-")) {
		f = stdout;
	} else {
		/* written beside and renamed: a reader (a CI artifact upload, a
		 * browser reloading) never sees half a page; no fsync: a page lost
		 * in a crash is made again from the trace */
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
	rc = html_write(f, t, &rep, ho, err, sizeof(err));
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
	ho->check = NULL;
	return ret;
}

/* ---- 2. torn report ---- */

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
	struct html_opts ho;
	const char *results = NULL, *out = NULL;
	long long v;
	int ret = TORN_EXIT_USAGE, opt;

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
	ret = write_page(argv[optind], results, out, &ho);
out:
	return ret;
}

/* ---- 3. torn run --html DIR ---- */

struct rix_ent {
	char *name, *description, *result, *message, *page;
	int met;
};

struct report_index {
	char *dir;
	struct rix_ent *e;
	size_t n, cap;
};

/* mkdir -p: 0 or -errno. */
static int mkdirs(const char *dir)
{
	char p[4096];
	size_t i;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (i = 1; p[i]; i++)
		if (p[i] == '/') {
			p[i] = 0;
			if (mkdir(p, 0777) < 0 && errno != EEXIST)
				return -errno;
			p[i] = '/';
		}
	if (mkdir(p, 0777) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int report_index_new(const char *dir, struct report_index **out)
{
	struct report_index *x;
	int rc;

	*out = NULL;
	if ((rc = mkdirs(dir)) < 0) {
		errno = -rc;
		int e = errno;

		cli_err("--html %s: cannot create the directory: %s", dir, strerror(e));
		return -e;
	}
	x = calloc(1, sizeof(*x));
	if (!x || !(x->dir = strdup(dir))) {
		free(x);
		cli_err("--html: out of memory");
		return -ENOMEM;
	}
	*out = x;
	return 0;
}

static char *dup0(const char *s)
{
	return strdup(s ? s : "");
}

int report_index_add(struct report_index *x, const char *name, const char *description,
		     const char *work, const char *result, int met, const char *message)
{
	char trace[4096], json[4096], page[4096], file[512];
	struct html_opts ho;
	struct rix_ent *e;
	size_t i;
	int have;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct rix_ent *q = realloc(x->e, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		x->e = q;
		x->cap = cap;
	}
	e = &x->e[x->n];
	memset(e, 0, sizeof(*e));
	e->name = dup0(name);
	e->description = dup0(description);
	e->result = dup0(result);
	e->message = dup0(message);
	e->met = met;
	if (!e->name || !e->description || !e->result || !e->message)
		goto nomem;
	x->n++;
	/* scenario names are [A-Za-z0-9._-]+ (scenario.h); anything else is
	 * not let into a file name */
	snprintf(file, sizeof(file), "%s.html", name);
	for (i = 0; file[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    file[i]) || (i == 0 && file[i] == '.'))
			file[i] = '_';
	snprintf(trace, sizeof(trace), "%s/run.trace", work);
	snprintf(json, sizeof(json), "%s/explore.json", work);
	snprintf(page, sizeof(page), "%s/%s", x->dir, file);
	have = access(trace, R_OK) == 0 && access(json, R_OK) == 0;
	if (!have)
		return 0;          /* it did not get as far as a report: the index says so */
	memset(&ho, 0, sizeof(ho));
	ho.title = name;
	if (write_page(trace, json, page, &ho) != TORN_EXIT_OK)
		return 0;          /* said; the index shows the scenario without a page */
	e->page = strdup(file);
	return e->page ? 0 : -ENOMEM;
nomem:
	free(e->name);
	free(e->description);
	free(e->result);
	free(e->message);
	return -ENOMEM;
}

int report_index_finish(struct report_index *x, int write)
{
	char path[4096], *tmp = NULL;
	FILE *f = NULL;
	size_t i;
	int rc = 0;

	if (!x)
		return 0;
	if (!write)
		goto out;
	snprintf(path, sizeof(path), "%s/index.html", x->dir);
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	f = fopen(tmp, "w");
	if (!f) {
		rc = -errno;
		cli_err("%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>torn run</title>\n<style>\n"
	      "body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1f2933;background:#f4f5f7}\n"
	      ".wrap{max-width:1200px;margin:0 auto;padding:20px 28px}\n"
	      "h1{font-size:22px}table{border-collapse:collapse;width:100%;background:#fff;"
	      "border:1px solid #dde1e6}\n"
	      "td,th{padding:7px 10px;border-bottom:1px solid #eceef1;text-align:left;"
	      "vertical-align:top}\nth{font-size:11px;text-transform:uppercase;color:#778}\n"
	      ".pill{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12.5px;"
	      "font-weight:600;color:#fff}.met{background:#3a9a5b}.missed{background:#d9534f}\n"
	      ".muted{color:#778;font-size:12.5px}a{color:#1d5fa8}\n"
	      "</style>\n</head>\n<body><div class=\"wrap\">\n<h1>torn run</h1>\n"
	      "<table><tr><th>scenario</th><th>result</th><th>expectation</th><th>detail</th></tr>\n",
	      f);
	for (i = 0; i < x->n; i++) {
		const struct rix_ent *e = &x->e[i];

		fputs("<tr><td>", f);
		if (e->page) {
			fputs("<a href=\"", f);
			html_escape(f, e->page, strlen(e->page));
			fputs("\">", f);
		}
		html_escape(f, e->name, strlen(e->name));
		fprintf(f, "%s<div class=\"muted\">", e->page ? "</a>" : "");
		html_escape(f, e->description, strlen(e->description));
		fputs("</div></td><td>", f);
		html_escape(f, e->result, strlen(e->result));
		fprintf(f, "</td><td><span class=\"pill %s\">%s</span></td><td class=\"muted\">",
			e->met ? "met" : "missed", e->met ? "met" : "missed");
		html_escape(f, e->message, strlen(e->message));
		if (!e->page)
			fputs(" (no page: no trace and report)", f);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</div></body></html>\n", f);
	/* beside and renamed, as the pages */
	if (fclose(f) != 0)
		rc = -errno;
	f = NULL;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		cli_err("%s: cannot write: %s", path, strerror(-rc));
		unlink(tmp);
	}
out:
	if (f)
		fclose(f);
	free(tmp);
	for (i = 0; i < x->n; i++) {
		free(x->e[i].name);
		free(x->e[i].description);
		free(x->e[i].result);
		free(x->e[i].message);
		free(x->e[i].page);
	}
	free(x->e);
	free(x->dir);
	free(x);
	return rc;
}

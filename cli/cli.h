/*
 * cli/cli.h - what the torn subcommands share: exit codes, messages, the
 * subcommand table.  Each subcommand lives in cli/cmd_NAME.c as
 * `int cmd_NAME(int argc, char **argv)`, parses its own options with a
 * getopt_long table, has a usage() listing every flag, and returns one of
 * the exit codes below.  Messages are lowercase, without a full stop, and
 * name the file and what was expected.
 */
#ifndef TORN_CLI_CLI_H
#define TORN_CLI_CLI_H

#include <stdio.h>

enum torn_exit {
	TORN_EXIT_OK       = 0,   /* everything passed / met expectations */
	TORN_EXIT_FINDINGS = 1,   /* crash-consistency failures found */
	TORN_EXIT_USAGE    = 2,   /* bad usage or bad input */
	TORN_EXIT_INTERNAL = 3,   /* the tool itself failed */
};

/* "torn: <message>\n" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Is stderr a terminal (progress lines are shown only then)? */
int cli_tty(void);

/* Directory of the running torn binary (from /proc/self/exe), no trailing '/'. */
const char *cli_bindir(void);

/* Parse a non-negative integer option value; on error print
 * "torn: OPTION: expected WHAT, got 'ARG'" and return -1. */
long long cli_parse_num(const char *opt, const char *arg, const char *what);

int cmd_record(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_faults(int argc, char **argv);
/* torn run --html DIR (cmd_report.c): a page per scenario (from its WORK dir's
 * run.trace and explore.json, written before the dir is tidied) and an
 * index.html.  new creates DIR; add writes NAME.html when the scenario got
 * that far; finish writes the index (when @write) and frees.  0 or -errno,
 * the message printed. */
struct report_index;
int report_index_new(const char *dir, struct report_index **out);
int report_index_add(struct report_index *x, const char *name, const char *description,
		     const char *work, const char *result, int met, const char *message);
int report_index_finish(struct report_index *x, int write);
/* torn merge of `torn run --json` reports (cmd_run.c): is @path one, and join them. */
int cmd_run_is_report(const char *path);
int cmd_run_merge(int nfiles, char **files, const char *out, const char *junit, int quiet);

#endif /* TORN_CLI_CLI_H */

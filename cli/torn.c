/*
 * cli/torn.c - the torn command: dispatch to one subcommand.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

/* Keep in the order a user meets them. */
static const struct subcommand commands[] = {
	{ "record",   cmd_record,   "run a program under the shim and write its trace" },
	{ "info",     cmd_info,     "summarise a trace" },
	{ "dump",     cmd_dump,     "print a trace, one line per event" },
	{ "explore",  cmd_explore,  "check the crash states of a trace" },
	{ "replay",   cmd_replay,   "rebuild one crash state into a directory" },
	{ "explain",  cmd_explain,  "show how a crash state differs from the persisted state" },
	{ "minimize", cmd_minimize, "shrink a failing crash state" },
	{ "merge",    cmd_merge,    "join the JSON reports of shards" },
	{ "run",      cmd_run,      "run scenario files and compare with their expectations" },
	{ "report",   cmd_report,   "write an HTML page of a run: timeline, crash points, failing states" },
	{ "faults",   cmd_faults,   "list the failure points faults can be injected at, check a spec" },
};

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("torn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_tty(void)
{
	return isatty(STDERR_FILENO);
}

const char *cli_bindir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0) {
		strcpy(dir, ".");
		return dir;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

long long cli_parse_num(const char *opt, const char *arg, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < 0) {
		cli_err("%s: expected %s, got '%s'", opt, what, arg);
		return -1;
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: torn COMMAND [OPTIONS] [ARGS]\n\n"
		   "torn makes the states a power loss could leave, and checks them.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'torn COMMAND --help' describes one command.\n"
		   "exit codes: 0 all passed, 1 failures found, 2 bad usage or input, 3 internal error\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TORN_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return TORN_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("torn 0.1.0\n");
		return TORN_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	cli_err("unknown command '%s' (see 'torn --help')", argv[1]);
	return TORN_EXIT_USAGE;
}

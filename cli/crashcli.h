/*
 * cli/crashcli.h - what the crash-state subcommands (explore, replay,
 * explain, minimize) share: the model options (--model, --sector, --atomic,
 * --tear), opening a trace and building its crash space, one state from its
 * id.  Every function prints its own message (cli_err) and returns an exit
 * code of cli.h (0 on success).
 */
#ifndef TORN_CLI_CRASHCLI_H
#define TORN_CLI_CRASHCLI_H

#include <getopt.h>

#include "torn/trace.h"
#include "../recovery/crash.h"

/* getopt_long values of the model options (above any short option). */
enum {
	CRASHCLI_OPT_MODEL = 0x1000,
	CRASHCLI_OPT_SECTOR,
	CRASHCLI_OPT_ATOMIC,
	CRASHCLI_OPT_TEAR,
};
#define CRASHCLI_LONGOPTS \
	{ "model",  required_argument, NULL, CRASHCLI_OPT_MODEL }, \
	{ "sector", required_argument, NULL, CRASHCLI_OPT_SECTOR }, \
	{ "atomic", required_argument, NULL, CRASHCLI_OPT_ATOMIC }, \
	{ "tear",   required_argument, NULL, CRASHCLI_OPT_TEAR }
#define CRASHCLI_USAGE \
	"  --model auto|buffered|direct  persistence model (default auto: per file)\n" \
	"  --sector 512|4096             unit of loss and tearing (default 512)\n" \
	"  --atomic N                    atomic write unit of the device (default: sector)\n" \
	"  --tear LIST                   tear patterns: old,new,zeros,garbage (default old,new)\n"

struct crashcli {
	struct crash_opts co;
	int sector_set, atomic_set, model_set;
	struct torn_trace *trace;
	struct crash_space *space;
};

void crashcli_init(struct crashcli *c);
/* Handle one of the model options: 1 if @opt was one (0 or an exit code in
 * *rc), 0 if not. */
int crashcli_option(struct crashcli *c, int opt, const char *arg, int *rc);
/* Open @path and build its crash space; with @id, the options it implies
 * first (sector, atomic, model, tear patterns).  Returns an exit code. */
int crashcli_open(struct crashcli *c, const char *path, const char *id);
/* One state from its id.  Returns an exit code. */
int crashcli_state(struct crashcli *c, const char *id, struct crash_state **st);
void crashcli_close(struct crashcli *c);

#endif /* TORN_CLI_CRASHCLI_H */

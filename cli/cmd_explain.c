/* cli/cmd_explain.c - torn explain (placeholder until its implementation lands) */
#include "cli.h"

int cmd_explain(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("explain: not built yet");
	return TORN_EXIT_INTERNAL;
}

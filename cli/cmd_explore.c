/* cli/cmd_explore.c - torn explore (placeholder until its implementation lands) */
#include "cli.h"

int cmd_explore(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("explore: not built yet");
	return TORN_EXIT_INTERNAL;
}

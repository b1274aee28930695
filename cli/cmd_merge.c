/* cli/cmd_merge.c - torn merge (placeholder until its implementation lands) */
#include "cli.h"

int cmd_merge(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("merge: not built yet");
	return TORN_EXIT_INTERNAL;
}

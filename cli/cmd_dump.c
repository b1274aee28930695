/* cli/cmd_dump.c - torn dump (placeholder until its implementation lands) */
#include "cli.h"

int cmd_dump(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("dump: not built yet");
	return TORN_EXIT_INTERNAL;
}

/* cli/cmd_info.c - torn info (placeholder until its implementation lands) */
#include "cli.h"

int cmd_info(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("info: not built yet");
	return TORN_EXIT_INTERNAL;
}

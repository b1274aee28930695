/* cli/cmd_minimize.c - torn minimize (placeholder until its implementation lands) */
#include "cli.h"

int cmd_minimize(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("minimize: not built yet");
	return TORN_EXIT_INTERNAL;
}

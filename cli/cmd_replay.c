/* cli/cmd_replay.c - torn replay (placeholder until its implementation lands) */
#include "cli.h"

int cmd_replay(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("replay: not built yet");
	return TORN_EXIT_INTERNAL;
}

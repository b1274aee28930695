/* cli/cmd_record.c - torn record (placeholder until its implementation lands) */
#include "cli.h"

int cmd_record(int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_err("record: not built yet");
	return TORN_EXIT_INTERNAL;
}

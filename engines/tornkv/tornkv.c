/*
 * engines/tornkv/tornkv.c - the driver of the bundled engines.
 *
 *   tornkv --engine E --mode M --dir DIR [workload flags] workload
 *   tornkv --engine E --mode M --dir DIR [workload flags] check
 *   tornkv --list-bugs
 *
 * `workload` runs the deterministic workload and marks each operation once
 * it is durable; `check` (in a crash state: $TORN_STATE, $TORN_MARKS) runs
 * recovery and the oracle (kvwork.c) with the same workload flags.
 * Exit: 0 pass, 1 a promise broken (one line on stdout says which), 2 bad
 * usage or input, 3 the engine failed during the workload.  An I/O error
 * the engine handled (a fault injected by torn record --fault: EIO,
 * ENOSPC, a failed fsync, ...) stops the workload at that operation,
 * unacknowledged, with "stopped: OP s=N failed: REASON" on stderr: exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/tornkv/kvwork.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tornkv --engine wal|bitcask|btree|lsm --mode buffered|direct|uring\n"
		"              --dir DIR [options] workload|check\n"
		"       tornkv --list-bugs\n"
		"\n"
		"  --engine NAME     the engine\n"
		"  --mode MODE       I/O back end: buffered, direct (O_DIRECT), uring (io_uring)\n"
		"  --dir DIR         the engine's directory (check: default $TORN_STATE)\n"
		"  --ops N           operations in the workload (default 100)\n"
		"  --seed S          workload seed (default 1)\n"
		"  --keys K          key space k0..k(K-1) (default 16)\n"
		"  --value-size B    value bytes, 24..4096 (default 100)\n"
		"  --mix LIST        put:P,delete:D,batch:B in percent (default put:70,delete:10,batch:20)\n"
		"  --sync POLICY     every, batch:N or none: when operations are made durable\n"
		"                    and acknowledged with a mark (default every)\n"
		"  --inflight N      --sync every: up to N commits in flight at once, each\n"
		"                    operation marked, in order, when its own commit completed\n"
		"                    (engines with an asynchronous commit, uring mode; 1..64,\n"
		"                    default 16; 1: one sync per operation)\n"
		"  --bug NAME        run with a seeded bug (see --list-bugs)\n"
		"  --marks FILE      check: the acknowledged marks (default $TORN_MARKS)\n"
		"  --list-bugs       list the seeded bugs of every engine\n"
		"  -h, --help        this text\n"
		"\n"
		"workload starts from an empty DIR: check regenerates the workload from its\n"
		"first operation, given the same flags.  check exits 0 when every promise\n"
		"holds, 1 with one line naming the broken one, 2 for bad usage or marks.\n"
		"An I/O error during workload (EIO, ENOSPC, a failed fsync, ...) stops it\n"
		"there, unacknowledged: one line 'stopped: OP s=N failed: REASON', exit 0\n");
}

static void list_bugs(void)
{
	const struct eng_ops *const *all = eng_all();

	for (int i = 0; all[i]; i++)
		for (int b = 0; all[i]->bugs[b].name; b++)
			printf("%-8s %-24s %s\n", all[i]->name, all[i]->bugs[b].name,
			       all[i]->bugs[b].what);
}

int main(int argc, char **argv)
{
	struct kvw_opts o;
	const char *cmd, *marks;
	char msg[1024];
	int rc;

	rc = kvw_parse_args(argc, argv, &o, &cmd, &marks, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "tornkv: %s\n", msg);
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "list-bugs")) {
		list_bugs();
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!o.eng.dir && !strcmp(cmd, "check"))
		o.eng.dir = getenv("TORN_STATE");
	if (!o.eng.dir) {
		fprintf(stderr, "tornkv: --dir: expected the engine's directory\n");
		return 2;
	}
	if (!strcmp(cmd, "workload"))
		return kvw_run(&o) < 0 ? 3 : 0;
	fflush(stdout);
	return kvw_check_report(&o, marks ? marks : getenv("TORN_MARKS"));
}

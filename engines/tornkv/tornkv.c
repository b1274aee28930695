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
 * usage or input, 3 the engine failed during the workload.
 */
#include <getopt.h>
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
		"  --bug NAME        run with a seeded bug (see --list-bugs)\n"
		"  --marks FILE      check: the acknowledged marks (default $TORN_MARKS)\n"
		"  --list-bugs       list the seeded bugs of every engine\n"
		"  -h, --help        this text\n"
		"\n"
		"check exits 0 when every promise holds, 1 with one line naming the broken one\n");
}

static int num(const char *opt, const char *arg, unsigned long lo, unsigned long hi,
	       unsigned long long *out)
{
	char *end;
	unsigned long long v;

	v = strtoull(arg, &end, 10);
	if (!*arg || *end || v < lo || v > hi) {
		fprintf(stderr, "tornkv: %s: expected a number in %lu..%lu, got '%s'\n", opt, lo,
			hi, arg);
		return -1;
	}
	*out = v;
	return 0;
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
	static const struct option lopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "mode", required_argument, NULL, 'm' },
		{ "dir", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "keys", required_argument, NULL, 'k' },
		{ "value-size", required_argument, NULL, 'v' },
		{ "mix", required_argument, NULL, 'x' },
		{ "sync", required_argument, NULL, 'y' },
		{ "bug", required_argument, NULL, 'b' },
		{ "marks", required_argument, NULL, 'M' },
		{ "list-bugs", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kvw_opts o;
	const char *engine = NULL, *mode = NULL, *bug = NULL, *marks = NULL, *cmd;
	unsigned long long v;
	char msg[1024];
	int c, rc;

	kvw_defaults(&o);
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'e': engine = optarg; break;
		case 'm': mode = optarg; break;
		case 'd': o.eng.dir = optarg; break;
		case 'n':
			if (num("--ops", optarg, 1, 10000000, &v) < 0)
				return 2;
			o.ops = (unsigned)v;
			break;
		case 's':
			if (num("--seed", optarg, 0, ~0ul, &v) < 0)
				return 2;
			o.seed = v;
			break;
		case 'k':
			if (num("--keys", optarg, 1, 1000000, &v) < 0)
				return 2;
			o.keys = (unsigned)v;
			break;
		case 'v':
			if (num("--value-size", optarg, 24, ENG_MAX_VAL, &v) < 0)
				return 2;
			o.value_size = (unsigned)v;
			break;
		case 'x':
			if (kvw_parse_mix(&o, optarg, msg, sizeof(msg)) < 0) {
				fprintf(stderr, "tornkv: %s\n", msg);
				return 2;
			}
			break;
		case 'y':
			if (kvw_parse_sync(&o, optarg) < 0) {
				fprintf(stderr, "tornkv: --sync: expected every, batch:N or none, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'b': bug = optarg; break;
		case 'M': marks = optarg; break;
		case 'L':
			list_bugs();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tornkv: expected one command, workload or check\n");
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "workload") && strcmp(cmd, "check")) {
		fprintf(stderr, "tornkv: unknown command '%s' (expected workload or check)\n", cmd);
		return 2;
	}
	if (!engine || !(o.engine = eng_find(engine))) {
		fprintf(stderr, "tornkv: --engine: expected wal, bitcask, btree or lsm, got '%s'\n",
			engine ? engine : "nothing");
		return 2;
	}
	if (!mode || eio_mode_parse(mode, &o.eng.mode) < 0) {
		fprintf(stderr, "tornkv: --mode: expected buffered, direct or uring, got '%s'\n",
			mode ? mode : "nothing");
		return 2;
	}
	if (bug && (o.eng.bug = eng_bug_find(o.engine, bug)) < 0) {
		fprintf(stderr, "tornkv: --bug: engine %s has no bug '%s' (see --list-bugs)\n",
			engine, bug);
		return 2;
	}
	if (!o.eng.dir && !strcmp(cmd, "check"))
		o.eng.dir = getenv("TORN_STATE");
	if (!o.eng.dir) {
		fprintf(stderr, "tornkv: --dir: expected the engine's directory\n");
		return 2;
	}
	if (!strcmp(cmd, "workload")) {
		rc = kvw_run(&o);
		return rc < 0 ? 3 : 0;
	}
	if (!marks)
		marks = getenv("TORN_MARKS");
	rc = kvw_check(&o, marks, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "tornkv: check: %s\n", eng_strerror(rc));
		return 3;
	}
	if (rc == 2) {
		fprintf(stderr, "tornkv: %s\n", msg);
		return 2;
	}
	if (rc == 1) {
		/* keys and values from a damaged store may hold any byte */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		printf("%s\n", msg);
	}
	return rc;
}

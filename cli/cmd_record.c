/*
 * cli/cmd_record.c - torn record: run a program under the shim, write its
 * trace.  A thin front over injector/record.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "../injector/fault_spec.h"
#include "../injector/record.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn record -o TRACE --root DIR [OPTIONS] -- CMD [ARGS...]\n\n"
		"Run CMD with the torn shim preloaded and write the trace of its file I/O\n"
		"under DIR (and the starting contents of DIR) to TRACE.\n\n"
		"options:\n"
		"  -o, --output TRACE      the trace file to write (must not be inside DIR)\n"
		"  -r, --root DIR          the directory whose files are recorded\n"
		"      --marks-from-stdout each line CMD prints is also a mark\n"
		"      --shim PATH         the shim library (default: $TORN_SHIM, else\n"
		"                          <torn's directory>/../lib/libtorn-shim.so)\n"
		"      --ring-mib N        size of the shared ring in MiB (default 4)\n"
		"      --fault SPEC        inject a fault (repeatable): a libfiu command such as\n"
		"                          'enable name=posix/io/sync/fsync,failinfo=EIO', or\n"
		"                          CALL@PATH[#N[+]]=WHAT such as 'fsync@wal.log#3=EIO',\n"
		"                          'write@kv.log#2=short:100' (docs/faults.md; the\n"
		"                          points: torn faults --list)\n"
		"      --fault-seed S      seed of libfiu's enable_random and of the errnos drawn\n"
		"                          for a point without failinfo (default 0)\n"
		"  -q, --quiet             no summary line on stderr\n"
		"  -h, --help              this help\n\n"
		"CMD can write mark lines to the descriptor named in $TORN_MARK_FD, or call\n"
		"torn_mark() (include/torn/mark.h).\n"
		"exit status: CMD's own (128+N if killed by signal N), 2 on bad usage or\n"
		"input, 3 if torn itself failed\n");
}

int cmd_record(int argc, char **argv)
{
	enum { OPT_MARKS = 256, OPT_SHIM, OPT_RING, OPT_FAULT, OPT_FAULT_SEED };
	static const struct option opts[] = {
		{ "output",            required_argument, NULL, 'o' },
		{ "root",              required_argument, NULL, 'r' },
		{ "marks-from-stdout", no_argument,       NULL, OPT_MARKS },
		{ "shim",              required_argument, NULL, OPT_SHIM },
		{ "ring-mib",          required_argument, NULL, OPT_RING },
		{ "fault",             required_argument, NULL, OPT_FAULT },
		{ "fault-seed",        required_argument, NULL, OPT_FAULT_SEED },
		{ "quiet",             no_argument,       NULL, 'q' },
		{ "help",              no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_opts o = { 0 };
	struct record_result res;
	struct record_error err;
	char shim[PATH_MAX];
	const char **faults = NULL;
	size_t nfaults = 0;
	int quiet = 0, c, rc;
	long long v;

	/* '+': stop at the first non-option, the command's own flags are its own. */
	while ((c = getopt_long(argc, argv, "+o:r:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.trace = optarg; break;
		case 'r': o.root = optarg; break;
		case 'q': quiet = 1; break;
		case OPT_MARKS: o.marks_from_stdout = 1; break;
		case OPT_SHIM: o.shim = optarg; break;
		case OPT_RING:
			v = cli_parse_num("--ring-mib", optarg, "a size in MiB from 1 to 4096");
			if (v < 1 || v > 4096) {
				if (v >= 0)
					cli_err("--ring-mib: expected a size in MiB from 1 to 4096, got '%s'",
						optarg);
				return TORN_EXIT_USAGE;
			}
			o.ring_size = (size_t)v << 20;
			break;
		case OPT_FAULT: {
			struct fault_spec f;
			char why[512];

			/* Checked here too, so that a bad spec is refused before
			 * anything runs, naming the bad part. */
			if (fault_spec_parse(optarg, &f, why, sizeof(why)) < 0) {
				cli_err("--fault: %s", why);
				free(faults);
				return TORN_EXIT_USAGE;
			}
			if (!faults && !(faults = calloc((size_t)argc, sizeof(*faults)))) {
				cli_err("out of memory");
				return TORN_EXIT_INTERNAL;
			}
			faults[nfaults++] = optarg;
			break;
		}
		case OPT_FAULT_SEED: {
			char *end;

			errno = 0;
			o.fault_seed = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-') {
				cli_err("--fault-seed: expected a non-negative integer, got '%s'", optarg);
				free(faults);
				return TORN_EXIT_USAGE;
			}
			break;
		}
		case 'h': usage(stdout); free(faults); return TORN_EXIT_OK;
		default: usage(stderr); free(faults); return TORN_EXIT_USAGE;
		}
	}
	o.faults = faults;
	o.nfaults = nfaults;
	if (!o.trace || !o.root || optind >= argc) {
		cli_err("record: %s", !o.trace ? "missing -o TRACE" : !o.root ? "missing --root DIR" :
			"missing the command to record (after --)");
		usage(stderr);
		free(faults);
		return TORN_EXIT_USAGE;
	}
	o.argv = argv + optind;
	if (!o.shim)
		o.shim = getenv("TORN_SHIM");
	if (!o.shim || !*o.shim) {
		snprintf(shim, sizeof(shim), "%s/../lib/libtorn-shim.so", cli_bindir());
		o.shim = shim;
	}

	rc = record_run(&o, &res, &err);
	free(faults);
	if (rc < 0) {
		cli_err("%s", err.msg);
		return err.bad_input ? TORN_EXIT_USAGE : TORN_EXIT_INTERNAL;
	}
	/* A static or setuid program, or one run with LD_PRELOAD cleared, never
	 * loads the shim: say so rather than hand over an empty trace quietly. */
	if (res.attached == 0)
		cli_err("warning: %s never loaded the shim (statically linked, setuid, or "
			"LD_PRELOAD removed?): none of its I/O was recorded", o.argv[0]);
	if (!quiet)
		fprintf(stderr, "torn: recorded %llu events, %llu distinct chunks, %llu snapshot files "
			"into %s (%llu bytes)\n", (unsigned long long)res.events,
			(unsigned long long)res.blobs, (unsigned long long)res.snapshot_files,
			o.trace, (unsigned long long)res.bytes);
	if (WIFSIGNALED(res.wait_status))
		return 128 + WTERMSIG(res.wait_status);
	return WIFEXITED(res.wait_status) ? WEXITSTATUS(res.wait_status) : TORN_EXIT_INTERNAL;
}

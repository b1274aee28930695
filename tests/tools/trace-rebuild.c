/*
 * tests/tools/trace-rebuild.c - rebuild a trace's files into a directory,
 * for integration tests: the full-persist state after the whole trace (or
 * after every event with seq < UPTO).
 *
 *	trace-rebuild TRACE OUTDIR [UPTO]
 *
 * OUTDIR is created, or must be empty.  Exit 0 on success, 2 with the
 * reader's message (file, record, offset) on a bad trace or output.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "torn/trace.h"

int main(int argc, char **argv)
{
	struct torn_trace *t = NULL;
	struct trace_error err;
	uint64_t upto = UINT64_MAX;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: trace-rebuild TRACE OUTDIR [UPTO]\n");
		return 2;
	}
	if (argc == 4) {
		char *end;
		errno = 0;
		upto = strtoull(argv[3], &end, 10);
		if (errno || end == argv[3] || *end) {
			fprintf(stderr, "trace-rebuild: UPTO: expected a seq, got '%s'\n", argv[3]);
			return 2;
		}
	}
	if ((r = trace_open(argv[1], &t, &err)) < 0) {
		fprintf(stderr, "trace-rebuild: %s\n", err.msg);
		return 2;
	}
	r = trace_rebuild(t, upto, argv[2], &err);
	if (r < 0)
		fprintf(stderr, "trace-rebuild: %s\n", err.msg);
	trace_close(t);
	return r < 0 ? 2 : 0;
}

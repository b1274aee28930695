/*
 * fuzz/fuzz_stateid.c - libFuzzer target for the state-id parser: the
 * input is a state id, parsed against a small fixed trace
 * (fuzz/stateid.trace, recorded from a shell script: writes, appends, a
 * directory, a rename, a symlink and its unlink, an fsync, a truncate).
 *
 * As replay does: crash_id_parse_opts() takes the option prefix, the crash
 * space is built with those options, crash_state_from_id() parses the rest;
 * a state that parses is hashed (which materialises it in memory) and its
 * canonical id must parse again to the same hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recovery/crash.h"

#ifndef FUZZ_STATEID_TRACE
#error "FUZZ_STATEID_TRACE: the path of fuzz/stateid.trace"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct torn_trace *g_trace;

static struct torn_trace *fixed_trace(void)
{
	struct trace_error err;

	if (!g_trace && trace_open(FUZZ_STATEID_TRACE, &g_trace, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	return g_trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crash_space *s = NULL;
	struct crash_state *st = NULL, *st2 = NULL;
	struct trace_error terr;
	struct crash_opts o;
	char err[256], *id;

	id = malloc(size + 1);
	if (!id)
		return 0;
	memcpy(id, data, size);
	id[size] = '\0';
	crash_opts_default(&o);
	if (crash_id_parse_opts(id, &o, err, sizeof(err)) < 0)
		goto out;
	if (crash_space_new(fixed_trace(), &o, &s, &terr) < 0)
		abort();                /* the fixed trace is valid */
	if (crash_state_from_id(s, id, &st, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();        /* every refusal names the bad part */
		goto out;
	}
	{
		torn_hash h = crash_state_hash(st), h2;

		if (crash_state_from_id(s, crash_state_id(st), &st2, err, sizeof(err)) < 0)
			abort();        /* the canonical id of a state parses */
		h2 = crash_state_hash(st2);
		if (h.lo != h2.lo || h.hi != h2.hi)
			abort();        /* ... to the same state */
	}
out:
	crash_state_free(st2);
	crash_state_free(st);
	crash_space_free(s);
	free(id);
	return 0;
}

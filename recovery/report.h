/*
 * recovery/report.h - what an exploration found, for people and machines:
 * the text summary, the JSON report (written and read back, for merge) and
 * JUnit XML.
 *
 * The JSON report (one object, written by report_json_write):
 *
 *	{ "version": 1,
 *	  "trace": "run.trace",                 the trace as given
 *	  "trace_hash": "32 hex digits",        XXH3-128 of the trace file
 *	  "check": "CMD",
 *	  "options": { "model": "auto", "sector": 512, ... },
 *	  "states_enumerated": N,               visited, duplicates included
 *	  "unique_states": N,                   distinct contents, all shards
 *	  "states_checked": N,                  checkers run in this report
 *	  "outcomes": { "pass": N, "fail": N, "crash": N, "hang": N },
 *	  "failures": [ { "state": ID, "outcome": "fail", "crash_point": P,
 *	                  "index": I,           canonical index among unique states
 *	                  "exit": CODE | "signal": N,
 *	                  "output": [ last lines ], "kept": DIR (if kept),
 *	                  "reason": torn's own finding (if any, e.g.
 *	                  "acknowledged after failed fsync: ...") } ],
 *	  "shard": "I/N" | null,
 *	  "merged_shards": N,                   only in a report made by merge
 *	  "elapsed_s": S }                      (merge: the longest shard)
 *
 * A shard's states_enumerated and unique_states are those of the whole
 * enumeration (every shard enumerates everything and keeps its slice), so
 * shards of one exploration agree on them and their states_checked add up
 * to unique_states: that is how merge knows the set is complete.
 *
 * JUnit: one <testsuite>, one <testcase> per failing state (name = the state
 * id, classname = torn.crash_point.P, a <failure> whose type is the outcome
 * and whose text is the checker's last lines and the replay command), plus
 * one aggregate passing <testcase> "N states passed".
 */
#ifndef TORN_RECOVERY_REPORT_H
#define TORN_RECOVERY_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "explore.h"

struct report_text_opts {
	const char *trace;          /* as the user gave it (for the commands shown) */
	const char *check;          /* the checker command */
	const char *extra_args;     /* extra options for minimize (e.g. "--timeout 5"), or NULL */
	unsigned    max_shown;      /* failures shown per outcome class */
};

/* The end-of-run summary and the first failures of each class. */
void report_text(FILE *f, const struct explore_report *r, const struct report_text_opts *o);

/* Print @s quoted for a POSIX shell (bare when it needs no quoting). */
void report_shell_quote(FILE *f, const char *s);

/* Write the JSON report ("-" = stdout).  0 or -errno with @err. */
int report_json_write(const struct explore_report *r, const char *check, const char *path,
		      char *err, size_t errlen);
/* Read a JSON report back into @r (initialised here; @check gets a malloc'ed
 * copy of the checker command when non-NULL).  0, or -EINVAL/-errno with
 * @err naming the file and what is wrong. */
int report_json_read(const char *path, struct explore_report *r, char **check,
		     char *err, size_t errlen);

/* Write the JUnit XML report.  0 or -errno with @err. */
int report_junit_write(const struct explore_report *r, const char *path, char *err,
		       size_t errlen);

/* Join the reports of the shards of one exploration (@names: their file
 * names, for messages).  Checks: same trace, checker and options; every
 * report a shard of the same N; each shard 1..N exactly once; the counts
 * agree.  0 with @out filled, or -EINVAL with @err. */
int report_merge(const struct explore_report *in, const char *const *names, size_t n,
		 struct explore_report *out, char *err, size_t errlen);

#endif /* TORN_RECOVERY_REPORT_H */

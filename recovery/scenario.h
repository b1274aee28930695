/*
 * recovery/scenario.h - scenario files (*.scn): what to record, how to check
 * it, how to explore it and what outcome is expected.  The library behind
 * `torn run`; the format is documented field by field in scenarios/README.md.
 *
 * Calling sequence:
 *
 *	char **files; size_t n;
 *	scn_find(paths, npaths, &files, &n, err, sizeof err);   // *.scn, sorted
 *	struct scn *s;
 *	scn_parse(files[i], bindir, &s, err, sizeof err);        // "FILE:LINE: ..."
 *	... s->run, s->check are ready for /bin/sh -c
 *	scn_free(s);
 *	scn_files_free(files, n);
 *
 * The format: INI (libinih), one scenario per file, keys outside any section
 * or in one [scenario] section, '#' or ';' starting a comment line (never
 * inside a value: commands keep their ';').  A line that starts with
 * whitespace continues the value above it (joined with a newline, so a
 * setup can be several shell commands).  A key may appear once, except
 * `fault` and `expect-reason`.  Lines are at most 198 characters (the
 * packaged libinih's buffer).  Errors name the file, the line and what was
 * expected.
 *
 * Commands (setup, run, check) are shell commands.  Paths in them are
 * relative to the scenario file: a word starting with "./" or "../", and a
 * first word that contains a '/', are made absolute against the scenario's
 * directory; a first word that names a program in torn's own bin directory
 * (tornkv, tinylog, torn) becomes that program's absolute path.  So the
 * commands shown in reports can be pasted anywhere.
 *
 * Errors: >= 0, or -EINVAL (bad file: @err is "FILE:LINE: what is wrong,
 * expected what"), -ENOENT/-errno (cannot read), -ENOMEM.
 */
#ifndef TORN_RECOVERY_SCENARIO_H
#define TORN_RECOVERY_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/* expect-outcome: any failing outcome (the default), or one of explore.h's. */
#define SCN_OUTCOME_ANY  (-1)

struct scn {
	char *file;               /* as found */
	char *dir;                /* absolute directory of the file */
	char *name;               /* unique in a suite: [A-Za-z0-9._-]+ */
	char *description;
	unsigned name_line;       /* line of `name`, for duplicate-name messages */
	unsigned bug_line;        /* line of `bug` (checked against tornkv --list-bugs) */

	/* The engine form (tornkv) - expanded into run and check. */
	char *engine, *mode, *workload, *bug;
	/* The commands, resolved (see above); setup may be NULL. */
	char *setup, *run, *check;

	/* Exploration: the torn explore options of the same names.  Strings are
	 * validated by crash_opts_parse_*; NULL: explore's default. */
	char *model, *strategy, *tear, *crash_points;
	unsigned sector;          /* 0: default (512) */
	unsigned atomic;          /* 0: the sector */
	uint64_t seed;
	uint64_t max_states;      /* 0: default (100000) */
	double   timeout_s;       /* per checker; 0: default (30) */

	char   **faults;          /* fault specs (injector/fault_spec.h), validated */
	size_t   nfaults;
	uint64_t fault_seed;      /* fault-seed: torn record --fault-seed */
	int      marks_from_stdout;

	int      expect_fail;     /* expect = fail */
	int      expect_outcome;  /* SCN_OUTCOME_ANY or an enum explore_outcome */
	char   **expect_reasons;  /* every failure's output must show one of them */
	size_t   nreasons;
};

/* Parse and validate @path.  @bindir: torn's bin directory (tornkv and
 * friends), or NULL.  0 with *@out, or < 0 with @err. */
int scn_parse(const char *path, const char *bindir, struct scn **out, char *err,
	      size_t errlen);
void scn_free(struct scn *s);

/* Validate one libfiu remote-control command ("enable name=posix/io/sync/
 * fsync,failnum=1"): 0, or -EINVAL with @err saying what was expected. */
int scn_fault_check(const char *spec, char *err, size_t errlen);

/* The scenario files under @paths (a file is taken as is, whatever its
 * name; a directory is searched recursively for *.scn), sorted by path,
 * without repeats.  0, or < 0 with @err naming the path. */
int scn_find(const char *const *paths, size_t npaths, char ***files, size_t *nfiles,
	     char *err, size_t errlen);
void scn_files_free(char **files, size_t n);

#endif /* TORN_RECOVERY_SCENARIO_H */

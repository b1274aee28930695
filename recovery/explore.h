/*
 * recovery/explore.h - the checker runner: crash states in, outcomes out.
 *
 * Calling sequence (torn explore):
 *
 *	struct explore_opts eo;
 *	explore_opts_default(&eo);              // then set check, jobs, ...
 *	struct explore_report rep;
 *	explore_run(trace, space, &eo, &rep, &err);
 *	... report_text / report_json_write / report_junit_write (report.h)
 *	explore_report_free(&rep);
 *
 * and for one state at a time (minimize) an explore_runner:
 *
 *	explore_runner_new(&eo, &runner, &err);
 *	explore_runner_check(runner, state, &result);
 *	explore_runner_free(runner);
 *
 * What explore_run does, per state in canonical order (the order of
 * crash_space_enumerate):
 *   1. compute its key: the content hash (crash_state_hash) mixed with the
 *      number of marks made before its crash point.  The marks are part of
 *      what the checker is given: the same files with more promises made
 *      are a different question (the log absent before "ack 1" is fine,
 *      after it a lost commit), and since the first occurrence of some
 *      contents is always at the earliest crash point, deduplicating on
 *      contents alone would hide exactly the lost-acknowledgement bugs.
 *      A key seen before is a duplicate: counted, never run again;
 *   2. with --shard I/N, skip it unless (key.lo % N) == I-1: identical
 *      states always land in one shard, so the union of the shards is
 *      exactly the unsharded set of unique states;
 *   3. materialise it into SCRATCH/sORDINAL/ (its marks are SCRATCH/mK,
 *      written once per number K of marks: they are a prefix of the trace's
 *      marks) and start the checker (/bin/sh -c CMD, cwd = the state dir,
 *      in a process group of its own, stdout+stderr to the slot's
 *      SCRATCH/oSLOT), at most opts.jobs at once, in ordinal order.  Up to
 *      opts.jobs states are materialised ahead, so that materialising
 *      overlaps the running checkers; a passed state's directory is
 *      renamed and rewritten for a later state (crash_state_rewrite:
 *      files overwritten in place) rather than removed and created again;
 *      a spawner thread does the vfork calls (which suspend their caller
 *      until the child has exec'ed) and starts the next prepared state as
 *      soon as a checker exits, while the main thread materialises,
 *      classifies and reports (with a fork server, --engine, the main
 *      thread sends its requests itself: they do not block);
 *   4. classify: exit 0 pass, 1..125 and 128 and 193..255 fail, killed by a
 *      signal crash (also exit 129..192, the shell's 128+N for a child it
 *      did not exec away), over the timeout hang (the whole process group
 *      gets SIGKILL); exit 126/127 mean the command could not be run at all:
 *      a usage error of the tool (-TORN_E_CHECKER), not a finding;
 *   5. keep the last lines of output of each failure and remove the state
 *      dir (unless --keep-failing and it failed: then sORDINAL/,
 *      sORDINAL.marks and sORDINAL.out stay, and only they).
 * Results do not depend on -j or the shard: failures carry their ordinal
 * (the index of the state among the unique states of the whole, unsharded
 * enumeration) and are reported sorted by it.
 *
 * Memory is the dedup set (16 bytes per unique state), the running jobs and
 * the failures: it does not grow with the number of passing states.
 *
 * Errors: >= 0 or -errno / -TORN_E_* (trace.h) / -TORN_E_CHECKER, with a
 * message in the caller's buffer.
 */
#ifndef TORN_RECOVERY_EXPLORE_H
#define TORN_RECOVERY_EXPLORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crash.h"

/* The checker could not be run (exit 126/127, spawn failure). */
#define TORN_E_CHECKER  10100

enum explore_outcome {
	EXPLORE_PASS = 0,
	EXPLORE_FAIL,
	EXPLORE_CRASH,
	EXPLORE_HANG,
	EXPLORE_NOUTCOMES
};

/* "pass", "fail", "crash", "hang" (NULL for anything else). */
const char *explore_outcome_name(enum explore_outcome o);
/* Inverse of explore_outcome_name: >= 0 or -EINVAL. */
int explore_outcome_parse(const char *name);

/* Progress callback: called at most a few times per second while checking
 * and once at the end (done = 1). */
struct explore_progress {
	uint64_t checked;       /* states whose checker finished */
	int64_t  total;         /* crash_space_count, or -1 when unknown */
	uint64_t enumerated;
	uint64_t failures;      /* fail + crash + hang so far */
	double   elapsed_s;
	int      done;
};
typedef void (*explore_progress_fn)(void *arg, const struct explore_progress *p);

struct explore_opts {
	const char *check;          /* the checker command (required) */
	const char *trace;          /* $TORN_TRACE (the trace file, absolute if possible) */
	unsigned    jobs;           /* concurrent checkers (>= 1) */
	double      timeout_s;      /* per checker; 0 = none */
	const char *scratch;        /* base dir; NULL = explore_default_scratch() */
	int         keep_failing;   /* keep the dirs of failing states */
	uint32_t    shard_i;        /* 1-based; 0 = no sharding */
	uint32_t    shard_n;
	unsigned    output_lines;   /* last lines of output kept per failure */
	explore_progress_fn progress;
	void       *progress_arg;
	int64_t     total;          /* for progress: crash_space_count or -1 */
	/* In-process checker (torn explore --engine): when set, each state is
	 * checked by check_fn in a child forked from torn (no exec), already
	 * in the state directory with stdout and stderr to the state's
	 * output; its return value is the exit status.  `check` still names
	 * the equivalent command in reports. */
	int       (*check_fn)(void *arg, const char *dir, const char *marks);
	void       *check_arg;
	/* With check_fn: the fork server (explore_forkserver_start) that
	 * forks the children instead of torn itself; NULL: torn forks. */
	struct explore_forkserver *forkserver;
};

void explore_opts_default(struct explore_opts *o);
/* /dev/shm when it is a writable directory, else $TMPDIR, else /tmp. */
const char *explore_default_scratch(void);

/* The outcome of one checker run. */
struct explore_result {
	enum explore_outcome outcome;
	int      exit_code;     /* the exit status (pass, fail; -1 otherwise) */
	int      sig;           /* the signal (crash; 0 otherwise) */
	char   **output;        /* the last lines of output (sanitised UTF-8, no newline) */
	size_t   noutput;
	double   secs;          /* wall time of the checker */
	char    *reason;        /* torn's own finding about the state, whatever the
	                           checker said (CRASH_ACKLOSS_REASON ...), or NULL */
};
void explore_result_free(struct explore_result *r);

/* One failing (fail, crash, hang) state. */
struct explore_failure {
	char    *state;         /* the id */
	uint64_t crash_point;
	uint64_t ordinal;       /* canonical index among the unique states */
	char    *kept;          /* where the state dir was kept, or NULL */
	struct explore_result res;
};

/* A key of the options object of a report (strings, or numbers when
 * is_num): the options that must agree for shards to be merged. */
struct explore_kv {
	char *key;
	char *val;
	int   is_num;
};

struct explore_report {
	char    *trace;               /* trace file as given */
	char    *trace_hash;          /* XXH3-128 of the trace file, 32 hex digits */
	struct explore_kv *options;
	size_t   noptions;
	uint64_t states_enumerated;   /* visited, duplicates included */
	uint64_t unique_states;       /* distinct contents (all shards) */
	uint64_t states_checked;      /* checkers run (this shard) */
	uint64_t outcomes[EXPLORE_NOUTCOMES];
	struct explore_failure *failures;   /* sorted by ordinal */
	size_t   nfailures;
	uint32_t shard_i, shard_n;    /* 0/0: not sharded (or a merge of all) */
	double   elapsed_s;
	char    *scratch_kept;        /* the scratch dir when failing states were kept */
};

void explore_report_init(struct explore_report *r);
void explore_report_free(struct explore_report *r);
/* Append an option (copied). 0 or -ENOMEM. */
int explore_report_option(struct explore_report *r, const char *key, const char *val, int is_num);
/* XXH3-128 of a file, as 32 hex digits into @hex[33]. */
int explore_file_hash(const char *path, char hex[33]);

/* The seqs of the trace's marks, for the dedup key. */
struct explore_marks {
	uint64_t *seq;              /* ascending */
	size_t    n;
};
int explore_marks_init(struct explore_marks *m, const struct torn_trace *t);
void explore_marks_free(struct explore_marks *m);
/* The dedup key of @st: XXH3-128 of (content hash, number of marks with
 * seq < its crash point). */
torn_hash explore_state_key(const struct explore_marks *m, struct crash_state *st);

/* Explore every state of @space (built from trace @t).  @rep is
 * initialised here (counts, failures, shard; the caller fills
 * trace/options).  Returns 0 (whatever the outcomes), or < 0 with @err:
 * -TORN_E_CHECKER when the checker cannot be run, -EINTR when interrupted
 * (SIGINT/SIGTERM), other codes for internal errors. */
int explore_run(const struct torn_trace *t, struct crash_space *space,
		const struct explore_opts *o, struct explore_report *rep, char *err,
		size_t errlen);

/* ---- One state at a time ---- */
struct explore_runner;
int explore_runner_new(const struct explore_opts *o, struct explore_runner **out,
		       char *err, size_t errlen);
void explore_runner_free(struct explore_runner *r);
/* Materialise @st and run the checker on it, synchronously.  0 with @res
 * filled, or < 0 with @err (as explore_run). */
int explore_runner_check(struct explore_runner *r, struct crash_state *st,
			 struct explore_result *res, char *err, size_t errlen);
/* Run the checker in an existing directory (tests): as explore_runner_check. */
int explore_check_dir(const struct explore_opts *o, const char *dir, const char *marks,
		      const char *id, const char *outfile, struct explore_result *res,
		      char *err, size_t errlen);

/* Set the model options an id implies: its params prefix (sector, atomic,
 * model) and the tear patterns its deviations use (z: zeros, g: garbage).
 * Options given explicitly (*_set nonzero) win over the id.  0 or -EINVAL. */
int explore_opts_from_id(struct crash_opts *co, const char *id, int sector_set, int atomic_set,
			 int model_set, char *err, size_t errlen);

/* ---- The fork server of the in-process checker ----
 *
 * Forking torn for every state costs what torn's size costs: page tables
 * to copy, its pages made copy-on-write (faults on both sides), and, torn
 * having two threads, TLB shootdowns.  explore_forkserver_start, called
 * early (before the trace is opened: the process is small then, and has
 * one thread), forks a server that holds only what @fn needs; each state's
 * child is then cloned from the server with CLONE_PARENT, so that it is
 * torn's child all the same (torn waits for it, polls its pidfd, kills its
 * process group) and runs @fn(@arg, dir, marks) as checker_fork's child
 * would.  explore_run makes each such child a worker: when @fn returns 0
 * it checks the next state torn sends it, in the same process (the clone,
 * its copy-on-write faults and its exit cost more than a check); any other
 * result ends it, and torn checks that state again in a fresh child unless
 * it was the worker's first.  So @fn must leave the process as it found it
 * when it passes (memory it frees, descriptors: closed for it, signal
 * dispositions: its own business).  The server exits when torn closes its
 * end (or dies).  0 or -errno. */
struct explore_forkserver;
int explore_forkserver_start(int (*fn)(void *arg, const char *dir, const char *marks),
			     void *arg, struct explore_forkserver **out);
void explore_forkserver_stop(struct explore_forkserver *fs);

/* Remove a directory tree (no symlink following).  0 or -errno. */
int explore_rmtree(const char *path);

#endif /* TORN_RECOVERY_EXPLORE_H */

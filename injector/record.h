/*
 * injector/record.h - the recorder: run a program under the shim and write
 * its trace (the library behind `torn record`).
 *
 * Calling sequence:
 *
 *	struct record_opts o = { .trace = "run.trace", .root = "data",
 *	                         .argv = argv, .shim = "/.../libtorn-shim.so" };
 *	struct record_result res;
 *	struct record_error err;
 *	int rc = record_run(&o, &res, &err);
 *	if (rc < 0)                  // err.msg says what; err.bad_input: exit 2, else 3
 *		...
 *	// res.wait_status is the program's, as waitpid() gave it
 *
 * What record_run does, in order: checks the fault specs, resolves the
 * root, refuses a trace inside
 * it, creates the shared control file (injector/shm.h), writes the trace
 * header, a TORN_EV_ROOT event and the starting snapshot of the root, starts
 * the program with the shim preloaded and drains the ring into the trace
 * while it runs, then appends TORN_EV_END (result = wait status) and fsyncs
 * the trace.  The program's exit status never makes record_run fail; a
 * command that cannot be executed exits 127 (not found) or 126, as in sh.
 */
#ifndef TORN_INJECTOR_RECORD_H
#define TORN_INJECTOR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "torn/trace.h"

struct record_opts {
	const char *trace;          /* the trace file to write (replaced) */
	const char *root;           /* the directory whose files are recorded */
	char *const *argv;          /* the command, NULL-terminated; argv[0] looked up in PATH */
	const char *shim;           /* path of libtorn-shim.so */
	int marks_from_stdout;      /* each line the program prints is a mark */
	size_t ring_size;           /* bytes of the shared ring; 0: the default (16 MiB) */
	/* Faults to inject (docs/faults.md): specs in either form of
	 * injector/fault_spec.h, checked by record_run (a bad one is bad input,
	 * its message naming the bad part), and the seed of libfiu's generator
	 * and of errnos drawn without failinfo. */
	const char *const *faults;
	size_t nfaults;
	uint64_t fault_seed;
};

struct record_result {
	int      wait_status;       /* of the program, as waitpid() reports it */
	uint64_t events;            /* events in the trace (blobs not counted) */
	uint64_t blobs;             /* distinct content chunks stored */
	uint64_t bytes;             /* size of the trace file */
	uint64_t snapshot_files;    /* files in the starting snapshot */
	uint32_t attached;          /* processes that loaded the shim (0: nothing recorded) */
};

struct record_error {
	int  bad_input;             /* 1: the user's input is wrong (exit 2); 0: torn failed (3) */
	char msg[768];              /* "FILE: what is wrong", no trailing newline */
};

/* Check @o's fault specs and put them in the environment the program will
 * inherit (record_fault.c).  0, or -EINVAL / -ENOMEM with @err filled. */
int record_fault_setup(const struct record_opts *o, struct record_error *err);

/* Returns 0, or -errno / -TORN_E_* with @err filled.  The program gets
 * the faults through $TORN_FAULTS and $TORN_FAULT_SEED, set (or, without
 * faults, removed) in this process's environment by record_run. */
int record_run(const struct record_opts *o, struct record_result *res, struct record_error *err);

/* The content hash of @len bytes: trace_hash(), computed with AVX2 when
 * the CPU has it (record_hash.c). */
torn_hash record_hash(const void *data, size_t len);

#endif /* TORN_INJECTOR_RECORD_H */

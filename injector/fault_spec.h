/*
 * injector/fault_spec.h - fault specifications (`torn record --fault SPEC`,
 * the `fault` key of scenarios) and the table of failure points.
 *
 * Sections: 1. the failure points, 2. the two spec forms, 3. the API.
 *
 * One parser serves `torn record`, scenario validation (recovery/scenario.c),
 * the shim (which parses $TORN_FAULTS in its constructor: nothing here
 * allocates) and the fuzz target.  The points come from the shim's own call
 * table (shim_calls.h), compiled into this file: `torn faults --list`, the
 * parser and the shim's wrappers cannot disagree about which points exist.
 *
 * ==========================================================================
 * 1. FAILURE POINTS
 * ==========================================================================
 *
 * A failure point names one kind of call, as libfiu's POSIX preload names
 * it (posix/io/sync/fsync, posix/io/rw/pwrite, ...; torn's own in the same
 * scheme where libfiu has none), plus:
 *   - POINT/reduce for the write calls: the call writes a prefix only and
 *     returns its length (a short write; libfiu's "reduce" points);
 *   - torn/uring/write and torn/uring/fsync: the completion (CQE) of an
 *     io_uring write (WRITE, WRITEV, WRITE_FIXED) or fsync carries -errno
 *     instead of its result.
 *
 * ==========================================================================
 * 2. THE TWO FORMS
 * ==========================================================================
 *
 * libfiu's remote-control commands (fiu_rc_string syntax), applied with
 * libfiu itself in every process of the program (libfiu's state is per
 * process: a fork child inherits a copy, an exec'd image starts afresh):
 *
 *   enable name=POINT[,failnum=N][,failinfo=ERRNO][,onetime]
 *   enable_random name=POINT,probability=P[,failnum=N][,failinfo=ERRNO][,onetime]
 *   disable name=POINT
 *
 * POINT may end with '*' (libfiu's wildcard: every point with that prefix).
 * ERRNO is a name (EIO) or a number; without it the errno is drawn from the
 * point's list (the call's man page) with the --fault-seed generator.
 *
 * torn's own, CALL@PATH[#N[+]]=WHAT: fail the Nth (1-based; 1 when omitted)
 * call of CALL on PATH (relative to the recording root; "." is the root
 * itself), or with '+' the Nth and every later one.  Counted per rule over
 * the whole process tree, in the global event order.  CALL is a point's
 * name or its last component (fsync, write, pwrite, open, rename, ...; a
 * last component shared by several points must be qualified, such as
 * uring/write).  WHAT is an errno name or number, `short` (a write keeps
 * half its bytes, at least one less than asked) or `short:BYTES` (keeps
 * that many, fewer than asked).
 */
#ifndef TORN_INJECTOR_FAULT_SPEC_H
#define TORN_INJECTOR_FAULT_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* ==========================================================================
 * 1. THE FAILURE POINTS
 * ========================================================================== */

#define FAULT_PT_REDUCE  0x1u   /* POINT/reduce: a short write */
#define FAULT_PT_URING   0x2u   /* an io_uring completion */
#define FAULT_PT_SHORT   0x4u   /* a write point: `short` applies to it */

struct fault_point {
	const char *name;       /* "posix/io/sync/fsync" */
	const char *calls;      /* the calls it covers, space-separated: "fsync" */
	const int  *errnos;     /* the errnos drawn without failinfo, 0-terminated */
	unsigned    flags;      /* FAULT_PT_* */
};

/* Every point the shim injects at, sorted by name; returns the count. */
size_t fault_points(const struct fault_point **out);

/* The point named @name (exact), or NULL. */
const struct fault_point *fault_point_find(const char *name);

/* ==========================================================================
 * 2. A PARSED SPEC: fixed size, no pointers
 * ========================================================================== */

#define FAULT_POINT_MAX  64     /* bytes of a point name, NUL included */
#define FAULT_PATH_MAX   1024   /* bytes of a torn-form path, NUL included */
#define FAULT_TEXT_MAX   1200   /* bytes of a spec's text, NUL included */
#define FAULT_SPECS_MAX  32     /* specs one recording takes */

enum fault_form { FAULT_FORM_FIU = 1, FAULT_FORM_TORN = 2 };
enum fault_cmd  { FAULT_ENABLE = 1, FAULT_ENABLE_RANDOM = 2, FAULT_DISABLE = 3 };

struct fault_spec {
	uint8_t  form;          /* enum fault_form */
	uint8_t  cmd;           /* libfiu form: enum fault_cmd */
	uint8_t  onetime;       /* libfiu form: FIU_ONETIME */
	uint8_t  and_later;     /* torn form: '#N+' */
	uint8_t  is_short;      /* torn form: WHAT is short[:BYTES] */
	uint8_t  pad[3];
	int32_t  failnum;       /* libfiu form: what fiu_fail returns (!= 0; 1 by default) */
	int32_t  err;           /* the errno; 0: none given (drawn from the point's list) */
	double   probability;   /* enable_random: 0..1 */
	uint64_t nth;           /* torn form: 1-based */
	uint64_t short_bytes;   /* torn form, is_short: bytes kept; 0 = half */
	char     point[FAULT_POINT_MAX];   /* full point name (libfiu form: may end in '*') */
	char     path[FAULT_PATH_MAX];     /* torn form: root-relative, "" = the root */
};

/* ==========================================================================
 * 3. API
 * ========================================================================== */

/* Parse @text (either form).  0, or -EINVAL with @err naming the bad part
 * ("unknown errno 'EIOX' in 'fsync@wal.log=EIOX' ..."). */
int fault_spec_parse(const char *text, struct fault_spec *out, char *err, size_t errlen);

/* The canonical text of @f (full point names, errno names, defaults left
 * out); parsing it gives an equal spec.  Returns its length, or -ENOSPC
 * when @len is too small (or -EINVAL for a spec no parse could give). */
int fault_spec_format(const struct fault_spec *f, char *buf, size_t len);

/* 1 when @a and @b mean the same, else 0. */
int fault_spec_equal(const struct fault_spec *a, const struct fault_spec *b);

/* The libfiu form as fiu_rc_string takes it (failinfo as a number).
 * Returns its length, or -ENOSPC / -EINVAL (not the libfiu form). */
int fault_spec_fiu_cmd(const struct fault_spec *f, char *buf, size_t len);

/* Errno names: "EIO" -> 5 (0 if unknown); 5 -> "EIO" (NULL if unnamed). */
int fault_errno_parse(const char *name);
const char *fault_errno_name(int e);

#endif /* TORN_INJECTOR_FAULT_SPEC_H */

/*
 * recovery/crash.h - crash states of a trace: persistence models, strategies,
 * state ids, materialisation, explanation.
 *
 * Calling sequence (torn explore):
 *
 *	struct crash_opts o;
 *	crash_opts_default(&o);
 *	crash_opts_parse_strategy(&o, "sync,torn", err, sizeof err);  // CLI flags
 *	crash_space_new(trace, &o, &space, &terr);                    // one pass over the trace
 *	crash_space_enumerate(space, visit, arg);                     // states, streamed
 *	    visit(arg, st): crash_state_hash(st) for dedup, then
 *	                    crash_state_write(st, dir) + crash_state_write_marks(st, file)
 *	crash_space_free(space);
 *
 * and for one state (replay, explain, minimize): crash_state_from_id().
 *
 * ---- The model (see ../shared/design.md, "Persistence models") ----
 *
 * At crash point P (before event seq P) every file has a durable image and a
 * list of pending units that were issued but not yet made durable:
 *   - a write is cut into units at multiples of the unit size (--sector for
 *     buffered files, --atomic for direct ones); unit k of write W covers the
 *     bytes of W inside [k*unit, (k+1)*unit);
 *   - a write that extends the file also has a size unit ("W.sz");
 *   - a truncate, a fallocate that changes the size, and each namespace
 *     operation (create, rename, unlink, link, mkdir, rmdir, symlink) is one
 *     whole-event unit;
 *   - fsync/fdatasync of a file (seq F, started at S = aux_seq) makes the
 *     file's pending data units with seq < S durable; of a directory, the
 *     pending namespace operations whose parent is that directory; sync()
 *     and syncfs() everything; a failed fsync makes nothing durable and
 *     drops the file's pending units as Linux does (they never persist and
 *     read back as the durable content);
 *   - writes through O_SYNC/O_DSYNC descriptors or with RWF_DSYNC/RWF_SYNC
 *     are durable on return;
 *   - io_uring writes are pending from their submission (in flight: any
 *     subset of units); a flush covers them only when their completion was
 *     seen before it started, or when it is an io_uring fsync linked
 *     (IOSQE_IO_LINK) or drained after them; a short or failed completion
 *     cuts what was not written.
 * A crash state is the durable image plus a subset of the pending units,
 * applied in trace order.  The reference ("everything issued persisted")
 * state at P is the one with every pending unit applied.
 *
 * ---- State ids ----
 *
 *	id     := [params "/"] "p" POINT (":" dev)*
 *	params := ("s" SECTOR) ("a" ATOMIC)? ("m" ("b"|"d"))?   only when not default
 *	dev    := "d" SEQ                           every unit of event SEQ dropped
 *	        | KIND SEQ ".sz"                     the size update dropped (KIND = d)
 *	        | KIND SEQ "." UNIT ("-" UNIT2)?     units UNIT..UNIT2 of SEQ, each
 *	                                             dropped (d), zeroed (z, --tear
 *	                                             zeros) or garbage (g, --tear garbage)
 *
 * POINT and SEQ are event seqs, UNIT the unit's index in its file (offset /
 * unit size).  "dSEQ" names the event's one whole-event unit (namespace op,
 * truncate, fallocate) or, for a write, all its data units and its size
 * unit.  The canonical (formatted) id is the compact one: devs sorted by
 * (SEQ, UNIT, kind) with the size unit first, an event all of whose units
 * are dropped written "dSEQ", otherwise each maximal run of consecutive
 * data units of one kind written as one item, "UNIT-UNIT2" when it has two
 * units or more: "p57:d12.sz:d12.0-15:z12.17:d14".  So one state has
 * exactly one id.  The parser also takes the long forms ("d12.3-3", units
 * one by one, any order) and re-formats them compact; it refuses reversed
 * ranges, a unit named twice (overlapping ranges), units not pending at
 * POINT, and z/g on anything but data units.  "p57" is the reference state
 * at crash point 57.  Garbage bytes are a function of (SEQ, UNIT) only, so
 * ids are reproducible.  An id parses back to the same state on any
 * machine, -j or shard.
 *
 * ---- Strategies, exactly (crash_strategy.c has the details) ----
 *
 * At a crash point with n pending units, m pending events (a write's units
 * count as one event) and T = the tear kinds of --tear other than "new":
 *	sync        at durability points and the end: reference, all dropped
 *	prefix      events [0, j) kept and [j, m) dropped, j = 0..m: m + 1
 *	torn        last pending write with n_w data units (torn:all: each):
 *	            n_w >= 2: 2 (n_w - 1) |T| (head or tail kept at each
 *	            boundary, the rest in each kind of T); n_w = 1: |T| - 1
 *	reorder:K   every set of at most K devs (sum C(n, i), i <= K, by default)
 *	random:N    N draws (crash point, then each unit), from --seed only
 *	exhaustive  every state: prod (1 + |T_u|) = 2^n by default
 * Zeros and garbage apply to data units only.  Inside a crash point states
 * come in the order of their devs lists, compared (seq, unit, kind) by
 * (seq, unit, kind), the reference first.
 */
#ifndef TORN_RECOVERY_CRASH_H
#define TORN_RECOVERY_CRASH_H

#include <stdint.h>
#include <stdio.h>

#include "torn/trace.h"

enum crash_model { CRASH_MODEL_AUTO = 0, CRASH_MODEL_BUFFERED, CRASH_MODEL_DIRECT };

/* Tear patterns (bit mask): by default a unit persists whole or not at all. */
#define CRASH_TEAR_OLD      0x1u   /* unit keeps its old content (dropped) */
#define CRASH_TEAR_NEW      0x2u   /* unit has its new content */
#define CRASH_TEAR_ZEROS    0x4u   /* unit reads back as zeros */
#define CRASH_TEAR_GARBAGE  0x8u   /* unit reads back as neither old nor new */

enum crash_strategy_kind {
	CRASH_STRAT_SYNC = 1,      /* before each durability point and at the end: all / none */
	CRASH_STRAT_PREFIX,        /* pending persisted in trace order up to each write */
	CRASH_STRAT_TORN,          /* last pending write (n = 1: each) torn at every unit */
	CRASH_STRAT_REORDER,       /* every way of dropping up to n pending units */
	CRASH_STRAT_RANDOM,        /* n states drawn with the seed */
	CRASH_STRAT_EXHAUSTIVE,    /* every state */
};

struct crash_strategy {
	enum crash_strategy_kind kind;
	uint64_t n;
};

enum crash_points { CRASH_POINTS_ALL = 0, CRASH_POINTS_SYNC, CRASH_POINTS_RANGE };

#define CRASH_MAX_STRATEGIES 8

struct crash_opts {
	enum crash_model model;
	unsigned sector;              /* 512 or 4096 */
	unsigned atomic;              /* atomic write unit; 0 = sector */
	unsigned tear;                /* CRASH_TEAR_* mask; default OLD|NEW */
	struct crash_strategy strat[CRASH_MAX_STRATEGIES];
	int nstrat;                   /* default: sync */
	uint64_t seed;
	uint64_t max_states;          /* exhaustive refuses more (default 100000) */
	enum crash_points points;
	uint64_t point_lo, point_hi;  /* CRASH_POINTS_RANGE, inclusive */
};

void crash_opts_default(struct crash_opts *o);
/* Parsers for the CLI values; on error 'err' gets a message naming what was
 * expected and -EINVAL is returned. */
int crash_opts_parse_strategy(struct crash_opts *o, const char *spec, char *err, size_t errlen);
int crash_opts_parse_tear(struct crash_opts *o, const char *spec, char *err, size_t errlen);
int crash_opts_parse_points(struct crash_opts *o, const char *spec, char *err, size_t errlen);
int crash_opts_parse_model(struct crash_opts *o, const char *spec, char *err, size_t errlen);

struct crash_space;
struct crash_state;
/* A visitor of states (crash_space_enumerate): 0 to go on. */
typedef int (*crash_visit_fn)(void *arg, struct crash_state *st);

int crash_space_new(const struct torn_trace *t, const struct crash_opts *o,
		    struct crash_space **out, struct trace_error *err);
void crash_space_free(struct crash_space *s);

/* Things the model could not account for (mmap writes, unsupported calls,
 * misaligned direct writes): one line each to @out; returns the count. */
int crash_space_warnings(const struct crash_space *s, FILE *out);

/* Acknowledged after a failed fsync ("fsyncgate"): a flush of a file
 * failed (seq fail_seq) and dropped some of its writes for good; a later
 * flush of the same file succeeded (retry_seq: the program retried, or went
 * on as if nothing had happened) and the program then made a mark
 * (mark_seq), while the dropped bytes had not been written again and made
 * durable.  Every crash state from @point (the first crash point after the
 * mark) on lacks bytes the program wrote before acknowledging.  One per
 * failed flush; in trace order. */
struct crash_ackloss {
	uint64_t fail_seq, retry_seq, mark_seq;
	uint64_t point;
	int      err;                 /* the failed flush's errno */
	const char *path;             /* the file (its first name), path_len bytes */
	uint32_t path_len;
	const char *mark;             /* the mark's text, mark_len bytes */
	uint32_t mark_len;
	uint64_t lost_bytes;          /* dropped and not rewritten */
	uint64_t lost_off;            /* the first such byte's offset */
	uint64_t first_write;         /* seq of the first write they came from */
	uint32_t nwrites;             /* how many writes they came from */
};
const struct crash_ackloss *crash_space_acklosses(const struct crash_space *s, size_t *n);
/* "acknowledged after failed fsync: PATH lost N bytes at offset O (writes
 * from seq W) when fsync at seq F failed (EIO); fsync at seq G succeeded,
 * then mark 'M' at seq K": the length it would have (snprintf-like). */
int crash_ackloss_describe(const struct crash_ackloss *a, char *buf, size_t len);
#define CRASH_ACKLOSS_REASON "acknowledged after failed fsync"
/* The finding that covers state @st: the last one whose point is at or
 * before the state's crash point (NULL: none); *@reference is set to 1
 * when @st is the reference state at exactly that point (the state explore
 * reports as failing whatever its checker says). */
const struct crash_ackloss *crash_state_ackloss(const struct crash_state *st, int *reference);
/* Visit the reference state at each finding's point (within --crash-points
 * A-B when given), so that explore checks it whatever the strategies: as
 * crash_space_enumerate. */
int crash_ackloss_visit(struct crash_space *s, crash_visit_fn fn, void *arg);

/* Visit every state the strategies produce, streamed, in canonical order
 * (crash point ascending, then id; a state two strategies both produce is
 * visited once).  @fn returns 0 to go on, nonzero to stop (then returned).
 * The state is valid only during the call.  Returns 0, @fn's value, or
 * -E2BIG when exhaustive exceeds max_states (nothing visited then). */
int crash_space_enumerate(struct crash_space *s, crash_visit_fn fn, void *arg);
/* Number of states enumerate would visit (same rules, no materialisation):
 * a closed form for one strategy; a union of several is enumerated (without
 * building states) to count its duplicates once, unless the sum of its
 * strategies' counts exceeds 2e7: that sum, an upper bound, is returned.
 * -E2BIG as enumerate when exhaustive exceeds max_states. */
int64_t crash_space_count(struct crash_space *s);

/* One state from its id (replay, explain, minimize).  -EINVAL with @err
 * naming the bad part when the id does not parse or names a unit that is
 * not pending at its crash point (the message does not repeat the id: the
 * caller prints "state id 'ID': " before it). */
int crash_state_from_id(struct crash_space *s, const char *id, struct crash_state **out,
			char *err, size_t errlen);
void crash_state_free(struct crash_state *st);
/* Set o->sector, o->atomic and o->model from the option prefix of @id (the
 * defaults when it has none), so that replay/explain/minimize can build the
 * space an id was made in.  -EINVAL with @err when the prefix is malformed. */
int crash_id_parse_opts(const char *id, struct crash_opts *o, char *err, size_t errlen);

const char *crash_state_id(const struct crash_state *st);
uint64_t crash_state_point(const struct crash_state *st);
/* XXH3-128 of the state's directory: sorted names, types, sizes, and each
 * file's bytes (up to its last nonzero one) as the XXH3-128 of each 4 KiB
 * page, so that a page the previous state of this object hashed is not read
 * again (crash_state.c). */
torn_hash crash_state_hash(struct crash_state *st);
/* Write the state's files into the existing, empty directory @dir. */
int crash_state_write(struct crash_state *st, const char *dir);
/* Make @dir, which holds anything (a previous state, changed by its
 * checker), hold exactly what mkdir(@dir, @mode) and crash_state_write
 * would: files there are overwritten in place, the rest removed or created
 * (crash_state.c says what is compared).  -EMLINK: the state has hard
 * links, -EPERM: @dir is not torn's; on any error remove @dir and start
 * afresh. */
int crash_state_rewrite(struct crash_state *st, const char *dir, unsigned mode);
/* What torn wrote into a state directory, for writing the next state over
 * it by changing only what differs (explore's reused directories):
 *	sn = crash_snap_new();
 *	crash_state_write(a, dir);   // or crash_state_rewrite
 *	crash_snap_take(sn, a);      // 1: recorded; 0: a state the delta
 *	                             // path does not do (hard links, more
 *	                             // than CRASH_SNAP_MAX entries): invalid
 *	... nothing but torn changes dir ...
 *	crash_state_write_delta(b, dfd, sn);  // dir holds b; sn describes b
 * crash_state_write_delta returns -EXDEV (nothing written) when b's tree
 * differs from a's (other paths, inodes or types) or sn is invalid; on any
 * other error the directory is between the two states (sn invalid): use
 * crash_state_rewrite.  The caller must know that nothing changed the
 * directory since (its checker may have written anything there). */
#define CRASH_SNAP_MAX 64
struct crash_snap;
struct crash_snap *crash_snap_new(void);
void crash_snap_free(struct crash_snap *sn);
int crash_snap_take(struct crash_snap *sn, struct crash_state *st);
void crash_snap_invalidate(struct crash_snap *sn);
/* The paths (relative) of the entries of a valid snapshot, at most @max
 * into @paths; returns how many there are (0 when invalid). */
size_t crash_snap_paths(const struct crash_snap *sn, const char **paths, size_t max);
int crash_state_write_delta(struct crash_state *st, int dfd, struct crash_snap *sn);
/* Write the marks made before the crash point, one per line, to @file. */
int crash_state_write_marks(const struct crash_state *st, const char *file);
/* Per file, which units differ from the reference state and how, with a
 * short hex excerpt. */
int crash_state_explain(struct crash_state *st, FILE *out);

/* The applied-set key of a state (crash_applied.c): equal keys mean the
 * state applies the same units the same way, hence has the same files; not
 * the converse (use crash_state_hash for that).  It costs one pass over the
 * devs, nothing over the bytes: the explorer skips a state whose key it has
 * seen before building and hashing it.  The cursor is fastest when crash
 * points do not decrease from one call to the next (enumeration order). */
struct crash_applied;
int crash_applied_new(const struct crash_space *s, struct crash_applied **out);
void crash_applied_free(struct crash_applied *c);
torn_hash crash_applied_key(struct crash_applied *c, const struct crash_state *st);

/* Deviations, for minimize. */
enum crash_dev_kind { CRASH_DEV_DROP = 'd', CRASH_DEV_ZERO = 'z', CRASH_DEV_GARBAGE = 'g' };
#define CRASH_UNIT_WHOLE  (-1)   /* the whole event (namespace op, truncate) */
#define CRASH_UNIT_SIZE   (-2)   /* the size update of an extending write */
struct crash_dev {
	uint64_t seq;
	int64_t  unit;
	char     kind;               /* enum crash_dev_kind */
};
/* The state's deviations (sorted as in its id). */
const struct crash_dev *crash_state_devs(const struct crash_state *st, size_t *n);
/* Format the canonical id of (point, devs) under @s's options into @buf;
 * devs need not be sorted.  Returns the length, or -ENOSPC. */
int crash_id_format(const struct crash_space *s, uint64_t point,
		    const struct crash_dev *devs, size_t ndevs, char *buf, size_t len);

/* Sector maps (torn report): for each file a data, size, truncate or
 * fallocate deviation of @st touches, what each sector of max(size,
 * reference size) holds, one character per sector (--sector bytes). */
#define CRASH_SEC_SAME     '.'   /* durable before the crash point */
#define CRASH_SEC_NEW      'n'   /* pending and persisted: the new content */
#define CRASH_SEC_OLD      'o'   /* pending and dropped: the old content */
#define CRASH_SEC_ZEROS    'z'   /* torn to zeros */
#define CRASH_SEC_GARBAGE  'g'   /* torn to garbage */
#define CRASH_SEC_DROPPED  'x'   /* past the state's size: absent (the extension was lost) */
struct crash_file_map {
	char    *path;               /* its name in the reference state (or in @st) */
	uint64_t size, ref_size;     /* in @st (0 when absent) and in the reference */
	unsigned sector;
	uint64_t nsec;
	char    *map;                /* nsec characters CRASH_SEC_*, NUL-terminated */
};
/* 0 with *@out (malloc'ed, *@n entries; none when the state has no such
 * deviation) or -ENOMEM. */
int crash_state_file_maps(struct crash_state *st, struct crash_file_map **out, size_t *n);
void crash_file_maps_free(struct crash_file_map *m, size_t n);

#endif /* TORN_RECOVERY_CRASH_H */

/*
 * recovery/crash_int.h - internals shared by the crash_*.c files (not an
 * interface: see crash.h for that).
 *
 * Sections:
 *   1. Units: the pieces a crash may keep or lose
 *   2. Inodes and the namespace (directory entries by inode)
 *   3. The space: the one-pass index of a trace
 *   4. The state: a crash point, its deviations, and its image once built
 *   5. Functions shared between the files
 *
 * The files:
 *   crash_model.c     crash_space_new: the walk that cuts events into units
 *                     and decides, per unit, when it became durable or lost
 *   crash_strategy.c  options and their parsers, pending sets, strategies,
 *                     crash_space_enumerate / crash_space_count
 *   crash_stateid.c   state ids: format, parse, crash_state_from_id
 *   crash_state.c     building a state's image, hash, write, marks, explain
 */
#ifndef TORN_RECOVERY_CRASH_INT_H
#define TORN_RECOVERY_CRASH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "crash.h"

/* ==========================================================================
 * 1. Units
 * ==========================================================================
 *
 * Every event that changes what a crash leaves is cut into units, in trace
 * order; units[] is sorted by (seq, unit) with unit signed, so it is also
 * the order of the devs in a state id.  A unit is:
 *   - not issued at crash point P when seq >= P;
 *   - resolved when fate != CU_OPEN and end < P: durable (always applied)
 *     or lost (never applied: a failed fsync dropped it);
 *   - pending otherwise: a state may keep it, drop it, or (data units)
 *     leave it zeroed or garbage.
 */
enum cu_kind {
	CU_INIT = 1,     /* starting content of a file (never pending) */
	CU_DATA,         /* one sector / atomic piece of a write */
	CU_SIZE,         /* the size update of an extending write: size = max(size, end) */
	CU_TRUNC,        /* truncate / O_TRUNC: size = len, bytes beyond cut */
	CU_FALLOC,       /* fallocate: zero a range and/or extend the size */
	CU_NS,           /* one namespace operation */
};

enum cu_fate { CU_OPEN = 0, CU_DURABLE, CU_LOST };

enum ns_op {
	NS_CREATE = 1,   /* dir/name -> ino (a new file, or an imported one) */
	NS_MKDIR,        /* dir/name -> ino (a new directory) */
	NS_SYMLINK,      /* dir/name -> ino (a new symlink) */
	NS_LINK,         /* dir2/name2 -> ino */
	NS_UNLINK,       /* remove dir/name if it names ino */
	NS_RMDIR,        /* remove dir/name if it names ino */
	NS_RENAME,       /* remove dir/name if it names ino; dir2/name2 -> ino */
	NS_EXCHANGE,     /* dir/name -> ino2, dir2/name2 -> ino */
};

/* The bytes of a file a state holds in memory (a flat buffer, copied for
 * each state that changes the file): writes ending beyond are warned about
 * and ignored, so that a hostile trace cannot make every state allocate
 * gigabytes.  Sizes beyond are fine: they read as zeros. */
#define CRASH_DATA_MAX  (256ull << 20)
/* The largest size a truncate or fallocate may set (a sparse tail: it costs
 * nothing in memory, but must stay writable on any file system). */
#define CRASH_SIZE_MAX  (1ull << 40)

#define CU_UNIT_INIT  INT64_MAX   /* never pending, never in an id; sorts last */

struct cu {
	uint64_t seq;
	int64_t  unit;        /* data: offset / unit size; CRASH_UNIT_SIZE/WHOLE; CU_UNIT_INIT */
	uint64_t end;         /* seq of the event that resolved it (valid when fate != CU_OPEN) */
	uint64_t comp;        /* seq at which the call was seen complete: the event
	                         itself, or an io_uring completion (UINT64_MAX: in
	                         flight); a flush covers units with comp < its start */
	uint64_t off, len;    /* DATA: byte range in the file; SIZE: off = new end;
	                         TRUNC: len; FALLOC: zeroed range (len 0: none) */
	uint64_t newsize;     /* FALLOC: size extended to (0: unchanged) */
	uint32_t ev;          /* index in space->evs (content, paths), UINT32_MAX: none */
	uint32_t ino;         /* file (DATA/SIZE/TRUNC/FALLOC/INIT) or the op's inode (NS) */
	uint32_t ino2;        /* NS_EXCHANGE: the other inode */
	uint32_t dir, dir2;   /* NS: parent directories (dir2 for RENAME/LINK/EXCHANGE) */
	const char *name, *name2;
	uint16_t nlen, nlen2;
	uint8_t  kind;        /* enum cu_kind */
	uint8_t  op;          /* enum ns_op */
	uint8_t  fate;        /* enum cu_fate */
	uint8_t  covered;     /* NS: bit 0 dir fsynced, bit 1 dir2 fsynced */
	uint8_t  direct;      /* DATA: written with O_DIRECT (no page to drop) */
};

/* ==========================================================================
 * 2. Inodes and the namespace
 * ==========================================================================
 *
 * Inodes are numbered by torn, in order of appearance (0 is the root), not
 * by st_ino: the recording's inode numbers may be reused after an unlink.
 * Directory entries are (name, inode) pairs; a state applies namespace
 * units to its own copy of the entries, so a rename that did not persist
 * leaves the old name and a file whose create did not persist is
 * unreachable (and absent from the state).
 */
enum ci_type { CI_FILE = 1, CI_DIR, CI_SYMLINK };

struct cino {
	uint8_t  type;        /* enum ci_type */
	uint32_t mode;        /* permission bits */
	const char *path;     /* the first name it had (for messages) */
	uint32_t plen;
	const char *target;   /* symlink target */
	uint32_t tlen;
};

struct ns_ent {
	const char *name;
	uint32_t nlen;
	uint32_t ino;
};

struct ns_dir {
	struct ns_ent *e;
	uint32_t n, cap;
};

int ns_set(struct ns_dir *d, const char *name, uint32_t nlen, uint32_t ino);
/* The inode @name names in @d, or -1. */
int64_t ns_get(const struct ns_dir *d, const char *name, uint32_t nlen);
/* Remove @name if it names @ino (any inode when ino == UINT32_MAX). */
void ns_del(struct ns_dir *d, const char *name, uint32_t nlen, uint32_t ino);

/* ==========================================================================
 * 3. The space
 * ========================================================================== */

struct crash_mark {
	uint64_t seq;
	const char *text;
	uint32_t len;
};

/* A flush of a file (fsync, fdatasync, io_uring fsync), in trace order. */
struct crash_fsync {
	uint64_t seq;
	uint32_t ino;
	int      err;                    /* 0: it succeeded; else its errno */
};

struct crash_space {
	const struct torn_trace *t;
	struct crash_opts o;
	unsigned usize_direct;           /* effective atomic unit */

	struct torn_event *evs;          /* events units refer to (content, paths) */
	size_t nevs, evcap;
	struct cu *units;                /* sorted by (seq, unit) */
	size_t nunits, ucap;
	struct cino *inos;
	size_t nino, inocap;

	uint64_t *points;                /* every crash point, ascending */
	size_t npoints, pcap;
	uint64_t *syncpts;               /* durability points and the end, ascending */
	size_t nsync, scap;
	uint64_t first_point, end_point; /* valid range for ids: [first, end] */

	struct crash_mark *marks;
	size_t nmarks, mcap;

	struct crash_fsync *fsyncs;      /* file flushes, seq order */
	size_t nfsyncs, fscap;
	struct crash_ackloss *acklosses; /* crash_ackloss_find */
	size_t nacklosses;

	char **warn;
	size_t nwarn, wcap;
};

/* ==========================================================================
 * 4. The state
 * ========================================================================== */

struct st_file {
	uint8_t *buf;         /* bytes [0, dlen) known; beyond reads as zeros */
	uint64_t dlen, cap;
	uint64_t size;
	const uint8_t *ro;    /* when set, the bytes are the base state's (copy on
	                         first change): an untouched file costs nothing */
	/* Page signatures (crash_state_write_delta): psig[k] is the sum of one
	 * pseudo-random value per (data unit, how) applied to a byte of page k
	 * (CRASH_PAGE bytes), fsig the same over the truncates, fallocates and
	 * starting contents applied to the file.  Two states of the same file
	 * with equal fsig and equal psig[k] applied the same writes to page k
	 * in the same order (units are applied in trace order): its bytes are
	 * equal wherever both hold them (up to a 2^-64 chance per page). */
	uint64_t *psig;
	size_t   npsig, pscap;
	uint64_t fsig;
	/* The hashes of its pages (crash_state_hash), kept across the states
	 * this object is set to: page k's is still good while psig[k], fsig
	 * and the bytes hashed of it are the same (hc_fsig: fsig then). */
	struct page_hash *hc;
	size_t   nhc, hccap;
	uint64_t hc_fsig;
};

struct page_hash {
	uint64_t sig;
	uint64_t len;         /* bytes hashed (up to CRASH_PAGE) */
	uint64_t lo, hi;      /* their XXH3-128 */
};

#define CRASH_PAGE_SHIFT 12
#define CRASH_PAGE       (1u << CRASH_PAGE_SHIFT)

struct crash_state {
	struct crash_space *s;
	uint64_t point;
	struct crash_dev *devs;
	size_t ndevs, devcap;
	char *id;
	size_t idcap;

	/* The image, built on demand (crash_state_build). */
	int built;
	struct st_file *files;    /* by inode */
	struct ns_dir *dirs;      /* by inode */
	uint32_t *seen;           /* walk stamps, by inode (cycle guard) */
	uint32_t stamp;
	size_t nino;
	int have_hash;
	torn_hash hash;
	/* Enumeration: a state whose image holds units [0, upto) applied (all
	 * resolved before the crash point: never pending), copied instead of
	 * replaying the trace from its start.  NULL for states from an id. */
	struct crash_state *base;
	size_t upto;
};

/* ==========================================================================
 * 5. Shared functions
 * ========================================================================== */

/* Is unit @u pending at crash point @p? */
static inline int cu_pending(const struct cu *u, uint64_t p)
{
	return u->seq < p && !(u->fate != CU_OPEN && u->end < p);
}

/* The tear kinds unit @u may take beyond 'd', as a string in id order. */
const char *cu_kinds(const struct crash_space *s, const struct cu *u);

/* Index of the unit (seq, unit) in s->units, or -1. */
int64_t crash_unit_find(const struct crash_space *s, uint64_t seq, int64_t unit);

/* Order of devs in an id: (seq, unit, kind). */
int crash_dev_cmp(const void *a, const void *b);

/* A state object for @s, empty (point 0, no devs). */
int crash_state_alloc(struct crash_space *s, struct crash_state **out);
/* Set the state to (point, devs), devs sorted and checked; formats the id. */
int crash_state_set(struct crash_state *st, uint64_t point, const struct crash_dev *devs,
		    size_t ndevs);
/* Build the image of the state (idempotent). */
int crash_state_build(struct crash_state *st);
/* Extend the image of base state @b with the units of seq < @cutoff: every
 * one must be resolved (durable or lost) before the crash points it will
 * serve.  Cutoffs never decrease. */
int crash_base_advance(struct crash_state *b, uint64_t cutoff);

/* After the walk: find the acknowledgements after a failed fsync
 * (crash_ackloss.c).  0 or -ENOMEM. */
int crash_ackloss_find(struct crash_space *s);

/* Add a warning line (printf-like). */
void crash_warn(struct crash_space *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TORN_RECOVERY_CRASH_INT_H */

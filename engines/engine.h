/*
 * engines/engine.h - what every bundled engine offers, and the small
 * pieces they share.
 *
 *   1. the engine interface (struct eng_ops) and the registry
 *   2. operations and their on-disk encoding (shared by the logs of wal,
 *      bitcask and lsm)
 *   3. an in-memory hash map of keys (wal's table, bitcask's key
 *      directory, lsm's memtable)
 *   4. little-endian helpers, the checksum, error text
 *
 * Calling sequence (what tornkv does):
 *
 *	const struct eng_ops *ops = eng_find("wal");
 *	void *e;
 *	rc = ops->open(&e, &opts);          // runs recovery
 *	rc = ops->apply(e, kvops, n);       // put / delete / atomic batch
 *	rc = ops->sync(e);                  // everything applied is durable
 *	rc = ops->get(e, key, klen, &v, &vlen);
 *	ops->close(e);
 *
 * An applied operation is acknowledged (durable) only after sync()
 * returned 0.  apply() of n > 1 operations is atomic: after any crash,
 * recovery shows all of them or none.  Errors are -errno or -ENG_E*;
 * eng_errmsg() holds a line saying what recovery rejected.
 */
#ifndef TORN_ENGINES_ENGINE_H
#define TORN_ENGINES_ENGINE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engines/eio.h"

/* engine error codes, below errno's range */
#define ENG_E_CORRUPT 2001 /* a durable structure fails its checks */
#define ENG_E_FORMAT 2002  /* not this engine's files, or a newer version */

#define ENG_MAX_KEY 255
#define ENG_MAX_VAL 4096

/* ---- 1. interface ------------------------------------------------------ */

struct eng_opts {
	const char *dir;
	enum eio_mode mode;
	int bug; /* index into the engine's bug table, or -1 */
};

struct eng_bug {
	const char *name;
	const char *what; /* one line: the mistake and the crash state showing it */
};

enum { ENG_PUT = 1, ENG_DEL = 2 };

struct eng_op {
	int type;
	const char *key;
	size_t klen;
	const void *val;
	size_t vlen;
};

typedef int (*eng_iter_fn)(void *arg, const char *key, size_t klen,
			   const void *val, size_t vlen);

struct eng_ops {
	const char *name;
	const struct eng_bug *bugs; /* terminated by a NULL name */
	int (*open)(void **out, const struct eng_opts *o);
	int (*apply)(void *e, const struct eng_op *ops, int n);
	/* 0 and a malloc'd copy, or -ENOENT */
	int (*get)(void *e, const char *key, size_t klen, void **val, size_t *vlen);
	int (*sync)(void *e);
	/*
	 * Optional (NULL in an engine that cannot pipeline its commits): the
	 * asynchronous commit.  sync_start() makes everything applied so far
	 * durable as sync() does, but returns once the commit is submitted,
	 * naming it by *ticket (increasing); sync_wait() returns 1 once the
	 * commit of ticket and of every earlier one is durable, 0 if not yet
	 * (nowait), or the error that made the handle fail (as sync()'s).  An
	 * operation applied before sync_start() is acknowledged only after
	 * sync_wait() of its ticket returned 1.  sync() may be called between
	 * them: it waits for everything.
	 */
	int (*sync_start)(void *e, uint64_t *ticket);
	int (*sync_wait)(void *e, uint64_t ticket, int nowait);
	/* every live key, any order */
	int (*iterate)(void *e, eng_iter_fn fn, void *arg);
	/* structural invariants: 0, or 1 with a line in msg */
	int (*verify)(void *e, char *msg, size_t cap);
	void (*close)(void *e);
};

/* put, delete and an atomic batch are apply() of one or n operations */
int eng_put(const struct eng_ops *ops, void *e, const char *key, size_t klen,
	    const void *val, size_t vlen);
int eng_delete(const struct eng_ops *ops, void *e, const char *key, size_t klen);
int eng_batch(const struct eng_ops *ops, void *e, const struct eng_op *batch, int n);

/*
 * A window of asynchronous commits in flight (tornkv, engines-bench):
 * eng_window_push() starts the commit of everything applied so far and
 * remembers tag (tornkv: the last operation's sequence number) with its
 * ticket; eng_window_pop() returns 1 and the oldest tag once its commit is
 * durable (waiting when the window is full or when asked to, else 0 if it
 * is not yet), 0 when the window is empty, or the engine's error.  Tags
 * come back in push order.  An engine without sync_start, or a window of
 * 1, runs sync() in push and pops the tag at once: the same calling code
 * works for both.
 */
#define ENG_WINDOW_MAX 64
struct eng_window {
	const struct eng_ops *ops;
	void *e;
	unsigned cap, head, n;
	uint64_t ticket[ENG_WINDOW_MAX], tag[ENG_WINDOW_MAX];
};
void eng_window_init(struct eng_window *w, const struct eng_ops *ops, void *e, unsigned cap);
int eng_window_push(struct eng_window *w, uint64_t tag);
int eng_window_pop(struct eng_window *w, int wait, uint64_t *tag);

const struct eng_ops *eng_find(const char *name);
const struct eng_ops *const *eng_all(void);
int eng_bug_find(const struct eng_ops *ops, const char *name);

extern const struct eng_ops wal_engine;
extern const struct eng_ops bc_engine;
extern const struct eng_ops bt_engine;
extern const struct eng_ops lsm_engine;

/* ---- 2. operations on disk ------------------------------------------------
 *
 * An operation list (the payload of a log record):
 *   u32 count
 *   count times: u8 type (1 put, 2 delete), u8 klen, u16 0, u32 vlen,
 *                key[klen], value[vlen] (vlen 0 for a delete)
 */
size_t eng_ops_size(const struct eng_op *ops, int n);
void eng_ops_encode(uint8_t *dst, const struct eng_op *ops, int n);
/* decode into *ops (malloc'd array pointing into src); -ENG_E_CORRUPT if
 * the list does not fill exactly len bytes */
int eng_ops_decode(const uint8_t *src, size_t len, struct eng_op **ops, int *n);
int eng_ops_check(const struct eng_op *ops, int n);

/* ---- 3. hash map -------------------------------------------------------- */

struct kvm_ent {
	char *key;
	size_t klen;
	void *val; /* owned copy, or NULL for a tombstone */
	size_t vlen;
	uint64_t a, b, c; /* free for the user: file, offset, sequence... */
	int used;
	int tomb;
};

struct kvmap {
	struct kvm_ent *t;
	size_t cap, n; /* n counts live and tombstone entries */
	size_t bytes;  /* sum of key and value sizes */
};

int kvm_init(struct kvmap *m);
void kvm_free(struct kvmap *m);
struct kvm_ent *kvm_get(const struct kvmap *m, const char *key, size_t klen);
/* insert or replace; val NULL with tomb=1 records a tombstone */
int kvm_set(struct kvmap *m, const char *key, size_t klen, const void *val,
	    size_t vlen, int tomb, struct kvm_ent **out);
void kvm_clear(struct kvmap *m);
/* entries sorted by key (array of pointers into the map, malloc'd) */
int kvm_sorted(const struct kvmap *m, struct kvm_ent ***out, size_t *n);

/* ---- 4. helpers --------------------------------------------------------- */

/*
 * sync_wait()'s first answer, the same in every engine: 1 when ticket is
 * done already (done: the newest ticket acknowledged), -EIO when the
 * handle failed or the ticket was never issued (issued: the newest one),
 * 0 when the engine has to look.
 */
static inline int eng_ticket_state(uint64_t ticket, uint64_t done, uint64_t issued, int failed)
{
	if (ticket <= done)
		return 1;
	if (failed || ticket > issued)
		return -EIO;
	return 0;
}

static inline void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

uint64_t eng_hash(const void *p, size_t n); /* XXH3-64 */
/* 1 when the n bytes at p are all zero (padding, preallocated log space) */
int eng_all_zero(const void *p, size_t n);
int eng_keycmp(const char *a, size_t al, const char *b, size_t bl);

/* The last reason recovery gave up, for the checker's one line. */
void eng_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *eng_errmsg(void);
const char *eng_strerror(int rc);

/* "name-000017.ext" style names */
void eng_name(char *buf, size_t cap, const char *prefix, uint64_t n, const char *ext);
/* list the numbers of files named PREFIX<16 hex>EXT in dirfd, sorted */
int eng_list(int dirfd, const char *prefix, const char *ext, uint64_t **nums, size_t *n);

#endif /* TORN_ENGINES_ENGINE_H */

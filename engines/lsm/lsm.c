/*
 * engines/lsm/lsm.c - a log-structured merge tree: a memtable with its
 * write-ahead log, immutable sorted tables, a manifest switched atomically.
 *
 *   1. format and durability contract
 *   2. seeded bugs
 *   3. sorted tables (lsm.h)
 *   4. the manifest
 *   5. the log (the WAL engine's segment format, wal.h)
 *   6. flush and compaction
 *   7. recovery
 *   8. the engine interface
 *
 * ==== 1. On-disk format (little-endian) ====================================
 *
 * DIR/MANIFEST        the live tables; replaced by MANIFEST.tmp + rename
 * DIR/t-<n>.sst       sorted tables (n: 16 hex digits, from next_file)
 * DIR/wal-<n>.log     the memtable's log: WAL engine segments (wal.h): a
 *                     header with the first seq, records (len, seq,
 *                     XXH3 sum, operation list), zero padding in direct mode
 *
 * Table: data blocks, the index, zero padding (direct mode), the footer
 * as the file's last 64 bytes.
 *   block:  u32 count, entries, u64 XXH3-64 of the block's bytes before it
 *   entry:  u8 klen, u8 tomb, u16 0, u32 vlen, key, value (keys increase
 *           strictly through the table)
 *   index:  u32 nblocks; per block u64 offset, u32 length, u8 klen, u8 0,
 *           u16 0, first key; then u8 min klen, u8 max klen, u16 0, min key,
 *           max key; then u64 XXH3-64 of the index bytes before it
 *   footer: 0 u64 magic "LSMSSST1"  8 u64 index offset  16 u32 index length
 *           20 u32 nblocks  24 u64 entries  32 u64 table number
 *           40..55 zero  56 u64 XXH3-64 of footer bytes 0..55
 * Manifest:
 *    0 u64 magic "TLSMMAN1"  8 u32 version  12 u32 ntables
 *   16 u64 log_number: replay the logs numbered >= it
 *   24 u64 next_file  32 u64 last_seq: operations <= it are in the tables
 *   40 ntables x (u64 table number, u32 level, u32 0)
 *   then u64 XXH3-64 of everything before it (then zero padding)
 * Levels: L0 tables come from flushes and may overlap (the newer number
 * wins); L1 tables come from compaction and have disjoint key ranges.
 * Tombstones live until compaction into L1, the bottom level.
 *
 * Validity: the manifest must pass magic, version and checksum, and each
 * table it names must pass its footer, index and block checks: otherwise
 * recovery reports the database corrupt.  Logs follow the WAL engine's
 * rules (wal.c): the last log ends at its first invalid record, which is
 * cut off.  Tables and logs the manifest does not name or need are
 * leftovers of an interrupted flush or compaction and are deleted.
 *
 * ==== Durability contract ==================================================
 * Commit point: the fdatasync of the log after the records are written
 * (sync() writes all pending records at once: group commit).  A log is
 * created with its header, fsynced, and its directory entry fsynced before
 * records go in.  Flush (memtable over LSM_MEM_MAX at a commit): write the
 * table and fsync it; create the next log; write MANIFEST.tmp naming the
 * table and the new log, fsync it, rename it over MANIFEST, fsync the
 * directory (the switch: the table and the log become the database in one
 * step; a directory fsync before it makes the new files' names durable
 * first); only then unlink the old log.  Compaction (LSM_L0_MAX L0 tables):
 * merge every table into new L1 tables (newest version of each key,
 * tombstones dropped), fsync them, switch the manifest the same way, then
 * unlink the inputs.  After any crash the state is the one of the durable
 * manifest plus the replayed logs: a prefix of the operations that holds
 * every one whose sync() returned.
 *
 * ==== Faults (failed writes and syncs while running) ======================
 * An operation is acknowledged only by a sync() that returned 0; a sync()
 * that fails acknowledges nothing it covered.
 *   - The log write of a commit fails (ENOSPC, EDQUOT, EIO; a short write
 *     the layer could not finish; EINTR is retried by eio, see eio.h):
 *     sync() returns the error and changes nothing in memory: the pending
 *     records, the append position and the memtable stay, so a later sync()
 *     writes the same records at the same offset.  A prefix left on disk by
 *     a short write lies behind the last valid record: recovery cuts it.
 *   - The log's fdatasync fails (or, in uring mode, any completion: a
 *     failed write is only seen with the sync): fatal for the handle.
 *     Linux may have dropped the dirty pages and will not say so again, so
 *     no later sync could prove those records durable.  Every later apply()
 *     and sync() returns -EIO; get() still serves the memtable and tables
 *     in memory; reopening runs recovery from what is durable.
 *   - Anything failing in a flush or compaction (a table, the manifest, a
 *     directory fsync): fatal too.  The durable manifest still names the
 *     old tables and log, so recovery ignores (and deletes) the partial
 *     files of the failed step.
 * Seeded bugs fsync-retry and short-write break exactly these rules.
 */
#include "engines/lsm/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "engines/engine.h"
#include "engines/wal/wal.h"

#define LSM_MEM_MAX (8 * 1024)
#define LSM_L0_MAX 4
#define LSM_TABLE_MAX (16 * 1024)
/* where commits overlap (eio_sync_overlaps: uring), the log is written
 * with zeros ahead of its records, this much at a time, durably, so that
 * commits are overwrites (no size change for the fdatasync to journal) */
#define LSM_LOG_CHUNK (32 * 1024)

/* ==== 2. seeded bugs ===================================================== */

enum {
	BUG_TABLE_NO_FSYNC,
	BUG_MANIFEST_NO_FSYNC,
	BUG_WAL_DELETE_EARLY,
	BUG_NO_DIRSYNC_WAL,
	BUG_FSYNC_RETRY,
	BUG_SHORT_WRITE,
};

static const struct eng_bug lsm_bugs[] = {
	{ "manifest-before-table",
	  "the manifest is switched before the new table is durable (no fsync of the table): "
	  "after a crash the manifest names a torn or empty table" },
	{ "manifest-no-fsync",
	  "MANIFEST.tmp is renamed over MANIFEST without an fsync of its contents: after a "
	  "crash the manifest is empty or torn" },
	{ "wal-delete-early",
	  "the old log is unlinked before the manifest switch is durable (one directory fsync "
	  "for both): a crash can keep the unlink and lose the switch, and the data with it" },
	{ "no-dirsync-wal",
	  "a new log is not made durable in its directory: after a crash the log and its "
	  "acknowledged records are gone" },
	{ "fsync-retry",
	  "a commit whose log fdatasync fails with EIO retries it and acknowledges when the "
	  "retry succeeds: the records the failed one dropped are lost (fsyncgate)" },
	{ "short-write",
	  "a short write of the log or of a table is taken as complete: a record cut short "
	  "ends the log there, a table cut short fails its checksums" },
	{ NULL, NULL },
};

/* ==== 3. sorted tables =================================================== */

struct lsm_idx {
	uint64_t off;
	uint32_t len;
	const char *key;
	size_t klen;
};

struct lsm_table {
	uint64_t num;
	uint8_t *buf;
	size_t len;
	uint32_t nblocks;
	uint64_t count;
	struct lsm_idx *idx;
	const char *min, *max;
	size_t minl, maxl;
};

#define ENT_HDR 8

int lsm_table_build(const struct lsm_kv *kv, size_t n, uint64_t num, size_t align,
		    uint8_t **out, size_t *len)
{
	size_t cap = 64 + LSM_FOOTER + align, pos = 0, nb = 0, bstart = 0, ipos, ilen;
	size_t *boff, *bfirst;
	uint8_t *b;
	uint32_t bcount = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		cap += ENT_HDR + kv[i].klen + kv[i].vlen + 2 * (16 + kv[i].klen) + 12;
	cap += kv[0].klen + kv[n - 1].klen + 16;
	boff = calloc(n + 1, sizeof(*boff));
	bfirst = calloc(n + 1, sizeof(*bfirst));
	b = eio_alloc_any(cap);
	if (!b || !boff || !bfirst) {
		free(b);
		free(boff);
		free(bfirst);
		return -ENOMEM;
	}
	/* data blocks of about LSM_BLOCK bytes */
	for (size_t i = 0; i < n; i++) {
		size_t es = ENT_HDR + kv[i].klen + (kv[i].tomb ? 0 : kv[i].vlen);

		if (bcount && pos + es + 8 - bstart > LSM_BLOCK) {
			put_u32(b + bstart, bcount);
			put_u64(b + pos, eng_hash(b + bstart, pos - bstart));
			pos += 8;
			bcount = 0;
		}
		if (bcount == 0) {
			bstart = pos;
			boff[nb] = pos;
			bfirst[nb++] = i;
			pos += 4;
		}
		b[pos] = (uint8_t)kv[i].klen;
		b[pos + 1] = (uint8_t)kv[i].tomb;
		put_u16(b + pos + 2, 0);
		put_u32(b + pos + 4, (uint32_t)(kv[i].tomb ? 0 : kv[i].vlen));
		memcpy(b + pos + ENT_HDR, kv[i].key, kv[i].klen);
		if (!kv[i].tomb)
			memcpy(b + pos + ENT_HDR + kv[i].klen, kv[i].val, kv[i].vlen);
		pos += es;
		bcount++;
	}
	put_u32(b + bstart, bcount);
	put_u64(b + pos, eng_hash(b + bstart, pos - bstart));
	pos += 8;
	boff[nb] = pos;
	/* the index */
	ipos = pos;
	put_u32(b + pos, (uint32_t)nb);
	pos += 4;
	for (size_t k = 0; k < nb; k++) {
		const struct lsm_kv *f = &kv[bfirst[k]];
		put_u64(b + pos, boff[k]);
		put_u32(b + pos + 8, (uint32_t)(boff[k + 1] - boff[k]));
		b[pos + 12] = (uint8_t)f->klen;
		b[pos + 13] = 0;
		put_u16(b + pos + 14, 0);
		memcpy(b + pos + 16, f->key, f->klen);
		pos += 16 + f->klen;
	}
	b[pos] = (uint8_t)kv[0].klen;
	b[pos + 1] = (uint8_t)kv[n - 1].klen;
	put_u16(b + pos + 2, 0);
	memcpy(b + pos + 4, kv[0].key, kv[0].klen);
	memcpy(b + pos + 4 + kv[0].klen, kv[n - 1].key, kv[n - 1].klen);
	pos += 4 + kv[0].klen + kv[n - 1].klen;
	put_u64(b + pos, eng_hash(b + ipos, pos - ipos));
	pos += 8;
	ilen = pos - ipos;
	/* the footer ends the (padded) file */
	pos = eio_round_up(pos + LSM_FOOTER, align > 1 ? align : 1) - LSM_FOOTER;
	put_u64(b + pos, LSM_SST_MAGIC);
	put_u64(b + pos + 8, ipos);
	put_u32(b + pos + 16, (uint32_t)ilen);
	put_u32(b + pos + 20, (uint32_t)nb);
	put_u64(b + pos + 24, n);
	put_u64(b + pos + 32, num);
	put_u64(b + pos + 56, eng_hash(b + pos, 56));
	*out = b;
	*len = pos + LSM_FOOTER;
	free(boff);
	free(bfirst);
	return 0;
}

void lsm_table_free(struct lsm_table *t)
{
	if (!t)
		return;
	free(t->buf);
	free(t->idx);
	free(t);
}

int lsm_table_open(uint8_t *buf, size_t len, uint64_t num, struct lsm_table **out)
{
	struct lsm_table *t;
	const uint8_t *f;
	size_t ioff, ilen, pos;

	*out = NULL;
	if (len < LSM_FOOTER)
		return -ENG_E_CORRUPT;
	f = buf + len - LSM_FOOTER;
	if (get_u64(f) != LSM_SST_MAGIC || get_u64(f + 56) != eng_hash(f, 56) ||
	    get_u64(f + 32) != num)
		return -ENG_E_CORRUPT;
	ioff = get_u64(f + 8);
	ilen = get_u32(f + 16);
	if (ioff > len - LSM_FOOTER || ilen > len - LSM_FOOTER - ioff || ilen < 16 ||
	    get_u64(buf + ioff + ilen - 8) != eng_hash(buf + ioff, ilen - 8))
		return -ENG_E_CORRUPT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->num = num;
	t->nblocks = get_u32(f + 20);
	t->count = get_u64(f + 24);
	if (get_u32(buf + ioff) != t->nblocks || t->nblocks == 0 || t->nblocks > ilen / 16)
		goto bad;
	t->idx = calloc(t->nblocks, sizeof(*t->idx));
	if (!t->idx) {
		free(t);
		return -ENOMEM;
	}
	pos = ioff + 4;
	for (uint32_t i = 0; i < t->nblocks; i++) {
		struct lsm_idx *x = &t->idx[i];
		if (ioff + ilen - 8 - pos < 16 || ioff + ilen - 8 - pos - 16 < buf[pos + 12])
			goto bad;
		x->off = get_u64(buf + pos);
		x->len = get_u32(buf + pos + 8);
		x->klen = buf[pos + 12];
		x->key = (const char *)buf + pos + 16;
		if (x->off > ioff || x->len < 12 || x->len > ioff - x->off)
			goto bad;
		pos += 16 + x->klen;
	}
	if (ioff + ilen - 8 - pos < 4 + (size_t)buf[pos] + buf[pos + 1])
		goto bad;
	t->minl = buf[pos];
	t->maxl = buf[pos + 1];
	t->min = (const char *)buf + pos + 4;
	t->max = t->min + t->minl;
	t->buf = buf;
	t->len = len;
	*out = t;
	return 0;
bad:
	free(t->idx);
	free(t);
	return -ENG_E_CORRUPT;
}

/* walk one block: fn per entry; checks the block's sum first */
static int block_walk(const struct lsm_table *t, uint32_t bi,
		      int (*fn)(void *, const struct lsm_kv *), void *arg)
{
	const struct lsm_idx *x = &t->idx[bi];
	const uint8_t *b = t->buf + x->off;
	size_t end = x->len - 8, pos = 4;
	uint32_t cnt;

	if (get_u64(b + end) != eng_hash(b, end))
		return -ENG_E_CORRUPT;
	cnt = get_u32(b);
	for (uint32_t i = 0; i < cnt; i++) {
		struct lsm_kv kv;
		int rc;

		if (end - pos < ENT_HDR || end - pos - ENT_HDR < (size_t)b[pos] + get_u32(b + pos + 4))
			return -ENG_E_CORRUPT;
		kv.klen = b[pos];
		kv.tomb = b[pos + 1];
		kv.vlen = get_u32(b + pos + 4);
		kv.key = (const char *)b + pos + ENT_HDR;
		kv.val = b + pos + ENT_HDR + kv.klen;
		pos += ENT_HDR + kv.klen + kv.vlen;
		rc = fn(arg, &kv);
		if (rc)
			return rc;
	}
	return pos == end ? 0 : -ENG_E_CORRUPT;
}

struct find {
	const char *key;
	size_t klen;
	struct lsm_kv *out;
};

static int find_fn(void *arg, const struct lsm_kv *kv)
{
	struct find *f = arg;

	if (kv->klen == f->klen && !memcmp(kv->key, f->key, f->klen)) {
		*f->out = *kv;
		return 1;
	}
	return 0;
}

int lsm_table_get(const struct lsm_table *t, const char *key, size_t klen, struct lsm_kv *out)
{
	struct find f = { key, klen, out };
	int lo = 0, hi = (int)t->nblocks - 1, at = -1;

	if (eng_keycmp(key, klen, t->min, t->minl) < 0 || eng_keycmp(key, klen, t->max, t->maxl) > 0)
		return 0;
	/* the last block whose first key is <= key */
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (eng_keycmp(t->idx[mid].key, t->idx[mid].klen, key, klen) <= 0) {
			at = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	if (at < 0)
		return 0;
	return block_walk(t, (uint32_t)at, find_fn, &f);
}

int lsm_table_scan(const struct lsm_table *t, int (*fn)(void *, const struct lsm_kv *), void *arg)
{
	for (uint32_t i = 0; i < t->nblocks; i++) {
		int rc = block_walk(t, i, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

struct tcheck {
	const struct lsm_table *t;
	const char *prev;
	size_t prevl;
	uint64_t n;
	int first_of_block;
	uint32_t block;
	int bad;
};

static int check_fn(void *arg, const struct lsm_kv *kv)
{
	struct tcheck *c = arg;
	const struct lsm_idx *x = &c->t->idx[c->block];

	if (c->first_of_block && (kv->klen != x->klen || memcmp(kv->key, x->key, x->klen)))
		return c->bad = 1;
	if (c->prev && eng_keycmp(c->prev, c->prevl, kv->key, kv->klen) >= 0)
		return c->bad = 2;
	if (!c->prev && (kv->klen != c->t->minl || memcmp(kv->key, c->t->min, kv->klen)))
		return c->bad = 3;
	c->first_of_block = 0;
	c->prev = kv->key;
	c->prevl = kv->klen;
	c->n++;
	return 0;
}

int lsm_table_check(const struct lsm_table *t, char *msg, size_t cap)
{
	struct tcheck c = { t, NULL, 0, 0, 1, 0, 0 };
	static const char *why[] = { "", "index key differs from its block", "keys out of order",
				     "min key wrong" };

	for (c.block = 0; c.block < t->nblocks; c.block++) {
		int rc;

		c.first_of_block = 1;
		rc = block_walk(t, c.block, check_fn, &c);
		if (rc < 0) {
			snprintf(msg, cap, "lsm: table %llu: block %u damaged",
				 (unsigned long long)t->num, c.block);
			return 1;
		}
		if (c.bad) {
			snprintf(msg, cap, "lsm: table %llu: %s", (unsigned long long)t->num, why[c.bad]);
			return 1;
		}
	}
	if (c.n != t->count || !c.prev || c.prevl != t->maxl || memcmp(c.prev, t->max, c.prevl)) {
		snprintf(msg, cap, "lsm: table %llu: count or max key does not match its entries",
			 (unsigned long long)t->num);
		return 1;
	}
	return 0;
}

void lsm_table_range(const struct lsm_table *t, const char **min, size_t *minl,
		     const char **max, size_t *maxl)
{
	*min = t->min;
	*minl = t->minl;
	*max = t->max;
	*maxl = t->maxl;
}

uint64_t lsm_table_count(const struct lsm_table *t)
{
	return t->count;
}

/* ==== 4. manifest ======================================================== */

int lsm_manifest_encode(const struct lsm_manifest *m, size_t align, uint8_t **out, size_t *len)
{
	size_t body = 40 + 16 * m->n;
	uint8_t *b = eio_alloc_any(eio_round_up(body + 8, align > 1 ? align : 1));

	if (!b)
		return -ENOMEM;
	put_u64(b, LSM_MAN_MAGIC);
	put_u32(b + 8, LSM_VERSION);
	put_u32(b + 12, (uint32_t)m->n);
	put_u64(b + 16, m->log_number);
	put_u64(b + 24, m->next_file);
	put_u64(b + 32, m->last_seq);
	for (size_t i = 0; i < m->n; i++) {
		put_u64(b + 40 + 16 * i, m->t[i].num);
		put_u32(b + 48 + 16 * i, m->t[i].level);
		put_u32(b + 52 + 16 * i, 0);
	}
	put_u64(b + body, eng_hash(b, body));
	*out = b;
	*len = eio_round_up(body + 8, align > 1 ? align : 1);
	return 0;
}

int lsm_manifest_decode(const uint8_t *buf, size_t len, struct lsm_manifest *m)
{
	size_t n, body;

	memset(m, 0, sizeof(*m));
	if (len < 48 || get_u64(buf) != LSM_MAN_MAGIC || get_u32(buf + 8) != LSM_VERSION)
		return -ENG_E_FORMAT;
	n = get_u32(buf + 12);
	if (n > (len - 48) / 16)
		return -ENG_E_CORRUPT;
	body = 40 + 16 * n;
	if (get_u64(buf + body) != eng_hash(buf, body))
		return -ENG_E_CORRUPT;
	m->log_number = get_u64(buf + 16);
	m->next_file = get_u64(buf + 24);
	m->last_seq = get_u64(buf + 32);
	m->n = n;
	m->t = calloc(n + 1, sizeof(*m->t));
	if (!m->t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m->t[i].num = get_u64(buf + 40 + 16 * i);
		m->t[i].level = get_u32(buf + 48 + 16 * i);
		if (m->t[i].level > 1) {
			free(m->t);
			m->t = NULL;
			return -ENG_E_CORRUPT;
		}
	}
	return 0;
}

/* ==== the engine's state ================================================= */

struct lsm_live {
	struct lsm_table *t;
	uint64_t num;
	uint32_t level;
};

struct lsm {
	int dirfd;
	enum eio_mode mode;
	int bug;
	struct kvmap mem;
	uint64_t seq;      /* last applied */
	uint64_t last_seq; /* in the tables (durable manifest) */
	uint64_t next_file;
	/* live tables: L0 newest first, then L1 by key range */
	struct lsm_live *tabs;
	size_t ntabs;
	/* the log */
	struct eio_file *log;
	uint64_t lognum;
	size_t block;
	off_t pos;
	uint8_t *pend;
	size_t plen, pcap;
	off_t zend; /* the log's size: zeros from pos to here (preallocated) */
	/* a sync failed: writes refused until reopened (see "Faults") */
	int failed;
	/* asynchronous commits (sync_start): tickets issued, the highest one
	 * known durable; the log's eio ticket k is engine ticket log_base + k
	 * (a flush waits for every commit of the old log first) */
	uint64_t tick, tick_done, log_base;
};

/* eio_open flags for files the engine writes (the short-write bug) */
static int wflags(const struct lsm *l)
{
	return l->bug == BUG_SHORT_WRITE ? EIO_BUG_SHORT : 0;
}

/* the handle can no longer vouch for what is durable: refuse writes */
static int lsm_fail(struct lsm *l, int rc)
{
	l->failed = 1;
	return rc;
}

static void tab_name(char *b, size_t cap, uint64_t n) { eng_name(b, cap, "t-", n, ".sst"); }
static void log_name(char *b, size_t cap, uint64_t n) { eng_name(b, cap, "wal-", n, ".log"); }

static int live_cmp(const void *x, const void *y)
{
	const struct lsm_live *a = x, *b = y;

	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if (a->level == 0)
		return a->num > b->num ? -1 : a->num < b->num;
	return eng_keycmp(a->t->min, a->t->minl, b->t->min, b->t->minl);
}

static void sort_tabs(struct lsm *l)
{
	qsort(l->tabs, l->ntabs, sizeof(*l->tabs), live_cmp);
}

/* ==== 5. the log ========================================================= */

static int log_create(struct lsm *l, uint64_t num, struct eio_file **out, size_t *block,
		      off_t *zend)
{
	struct eio_file *f = NULL;
	uint8_t *hdr;
	size_t hlen, plen;
	char name[64];
	int rc;

	log_name(name, sizeof(name), num);
	rc = eio_open(&f, l->dirfd, name, EIO_CREATE | EIO_TRUNC | wflags(l), l->mode);
	if (rc < 0)
		return rc;
	*block = eio_align(f);
	hlen = wal_first_record(*block);
	/* uring: the header and a first chunk of zeros, durable on return */
	plen = eio_sync_overlaps(f) ? eio_round_up(LSM_LOG_CHUNK, *block) : hlen;
	hdr = eio_alloc(f, plen);
	if (!hdr) {
		eio_close(f);
		return -ENOMEM;
	}
	wal_seghdr_encode(hdr, (uint32_t)*block, num, l->seq + 1);
	rc = plen > hlen ? eio_pwrite_sync(f, hdr, plen, 0) : eio_pwrite(f, hdr, plen, 0);
	free(hdr);
	*zend = (off_t)plen;
	/* the header is durable before records are acknowledged behind it */
	if (rc == 0)
		rc = eio_fsync(f);
	/* and so is the log's name, or its records vanish with it */
	if (rc == 0 && l->bug != BUG_NO_DIRSYNC_WAL)
		rc = eio_dir_sync(l->dirfd);
	if (rc < 0) {
		eio_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

static int pend_reserve(struct lsm *l, size_t more)
{
	size_t need = l->plen + more + 4096;
	uint8_t *n;

	if (need <= l->pcap)
		return 0;
	need = eio_round_up(need * 2, 4096);
	n = eio_alloc_any(need);
	if (!n)
		return -ENOMEM;
	if (l->plen)
		memcpy(n, l->pend, l->plen);
	free(l->pend);
	l->pend = n;
	l->pcap = need;
	return 0;
}

/* ==== 6. flush and compaction ============================================ */

static int write_table(struct lsm *l, const struct lsm_kv *kv, size_t n, uint32_t level,
		       struct lsm_live *out)
{
	struct eio_file *f = NULL;
	uint8_t *img = NULL, *copy;
	size_t len;
	uint64_t num = l->next_file++;
	char name[64];
	int rc;

	tab_name(name, sizeof(name), num);
	rc = eio_open(&f, l->dirfd, name, EIO_CREATE | EIO_TRUNC | wflags(l), l->mode);
	if (rc < 0)
		return rc;
	rc = lsm_table_build(kv, n, num, eio_align(f), &img, &len);
	if (rc == 0)
		rc = eio_pwrite(f, img, len, 0);
	/* the table is durable before a manifest names it */
	if (rc == 0)
		rc = l->bug == BUG_TABLE_NO_FSYNC ? eio_drain(f) : eio_fsync(f);
	eio_close(f);
	if (rc < 0)
		goto out;
	copy = malloc(len);
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(copy, img, len);
	rc = lsm_table_open(copy, len, num, &out->t);
	if (rc < 0) {
		free(copy);
		goto out;
	}
	out->num = num;
	out->level = level;
out:
	free(img);
	return rc;
}

/*
 * The switch: MANIFEST.tmp names tabs[] and the log to replay; fsync it,
 * rename it over MANIFEST, fsync the directory.  Then `unlink_logs_below`
 * and the tables in `dead` are unlinked.
 */
static int switch_manifest(struct lsm *l, struct lsm_live *tabs, size_t n, uint64_t lognum,
			   uint64_t last_seq, const uint64_t *dead, size_t ndead)
{
	struct lsm_manifest m = { lognum, l->next_file, last_seq, n, NULL };
	struct eio_file *f = NULL;
	uint8_t *img = NULL;
	uint64_t *logs = NULL;
	size_t len, nlogs = 0;
	char name[64];
	int rc;

	/* the names of the new tables are durable before a manifest names
	 * them: a rename can reach the disk before an earlier create */
	rc = eio_dir_sync(l->dirfd);
	if (rc < 0)
		return rc;
	m.t = calloc(n + 1, sizeof(*m.t));
	if (!m.t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m.t[i].num = tabs[i].num;
		m.t[i].level = tabs[i].level;
	}
	rc = eio_open(&f, l->dirfd, "MANIFEST.tmp", EIO_CREATE | EIO_TRUNC | wflags(l), l->mode);
	if (rc < 0)
		goto out;
	rc = lsm_manifest_encode(&m, eio_align(f), &img, &len);
	if (rc == 0)
		rc = eio_pwrite(f, img, len, 0);
	if (rc < 0)
		goto out;
	/* fsync MANIFEST.tmp, rename it over MANIFEST; the directory fsync
	 * (here, or below for the seeded bug) makes the switch durable */
	rc = eio_commit_rename(f, l->dirfd, "MANIFEST.tmp", "MANIFEST",
			       l->bug == BUG_MANIFEST_NO_FSYNC, l->bug == BUG_WAL_DELETE_EARLY);
	if (rc < 0)
		goto out;
	rc = eng_list(l->dirfd, "wal-", ".log", &logs, &nlogs);
	if (rc < 0)
		goto out;
	/* the old logs are needed no more: the manifest's tables hold them */
	for (size_t i = 0; i < nlogs; i++) {
		if (logs[i] >= lognum)
			continue;
		log_name(name, sizeof(name), logs[i]);
		if (unlinkat(l->dirfd, name, 0) < 0) {
			rc = -errno;
			goto out;
		}
	}
	if (l->bug == BUG_WAL_DELETE_EARLY) {
		rc = eio_dir_sync(l->dirfd);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < ndead; i++) {
		tab_name(name, sizeof(name), dead[i]);
		if (unlinkat(l->dirfd, name, 0) < 0 && errno != ENOENT) {
			rc = -errno;
			goto out;
		}
	}
	l->last_seq = last_seq;
out:
	if (f)
		eio_close(f);
	free(logs);
	free(img);
	free(m.t);
	return rc;
}

static int add_tab(struct lsm *l, struct lsm_live t)
{
	struct lsm_live *n = realloc(l->tabs, (l->ntabs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	l->tabs = n;
	l->tabs[l->ntabs++] = t;
	sort_tabs(l);
	return 0;
}

static int compact(struct lsm *l);

static int flush(struct lsm *l)
{
	struct kvm_ent **ents = NULL;
	struct lsm_kv *kv = NULL;
	struct lsm_live t = { 0 }, *all = NULL;
	struct eio_file *nlog = NULL;
	size_t n = 0, nblock = 0, l0 = 0;
	uint64_t nlognum;
	off_t nzend = 0;
	int rc;

	rc = kvm_sorted(&l->mem, &ents, &n);
	if (rc < 0 || n == 0)
		goto out;
	kv = calloc(n, sizeof(*kv));
	if (!kv) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		kv[i] = (struct lsm_kv){ ents[i]->key, ents[i]->klen, ents[i]->tomb, ents[i]->val,
					 ents[i]->vlen };
	/* 1. the table, durable */
	rc = write_table(l, kv, n, 0, &t);
	if (rc < 0)
		goto out;
	/* 2. the next log, durable and empty */
	nlognum = l->next_file++;
	rc = log_create(l, nlognum, &nlog, &nblock, &nzend);
	if (rc < 0)
		goto out;
	/* 3. the switch */
	all = calloc(l->ntabs + 1, sizeof(*all));
	if (!all) {
		rc = -ENOMEM;
		goto out;
	}
	all[0] = t;
	memcpy(all + 1, l->tabs, l->ntabs * sizeof(*all));
	rc = switch_manifest(l, all, l->ntabs + 1, nlognum, l->seq, NULL, 0);
	if (rc < 0)
		goto out;
	rc = add_tab(l, t);
	if (rc < 0)
		goto out;
	t.t = NULL;
	eio_close(l->log);
	l->log = nlog;
	nlog = NULL;
	l->lognum = nlognum;
	l->block = nblock;
	l->pos = (off_t)wal_first_record(nblock);
	l->zend = nzend;
	l->log_base = l->tick; /* the new log's eio tickets start at 1 */
	kvm_clear(&l->mem);
	for (size_t i = 0; i < l->ntabs; i++)
		l0 += l->tabs[i].level == 0;
	if (l0 >= LSM_L0_MAX)
		rc = compact(l);
out:
	if (nlog)
		eio_close(nlog);
	lsm_table_free(t.t);
	free(all);
	free(kv);
	free(ents);
	return rc;
}

static int merge_fn(void *arg, const struct lsm_kv *kv)
{
	return kvm_set(arg, kv->key, kv->klen, kv->val, kv->vlen, kv->tomb, NULL) < 0 ? -ENOMEM : 0;
}

/* every table into one map, newer over older (then, if mem, the memtable) */
static int merged_view(struct lsm *l, struct kvmap *m, int with_mem)
{
	int rc = kvm_init(m);

	/* tabs: L0 newest first, then L1: apply in reverse */
	for (size_t i = l->ntabs; rc == 0 && i-- > 0;)
		rc = lsm_table_scan(l->tabs[i].t, merge_fn, m);
	for (size_t i = 0; with_mem && rc == 0 && i < l->mem.cap; i++) {
		struct kvm_ent *e = &l->mem.t[i];
		if (e->used)
			rc = kvm_set(m, e->key, e->klen, e->val, e->vlen, e->tomb, NULL);
	}
	if (rc < 0)
		kvm_free(m);
	return rc;
}

static int compact(struct lsm *l)
{
	struct kvmap m;
	struct kvm_ent **ents = NULL;
	struct lsm_kv *kv = NULL;
	struct lsm_live *out = NULL;
	uint64_t *dead = NULL;
	size_t n = 0, live = 0, nout = 0, start = 0, bytes = 0, ndead = l->ntabs;
	int rc;

	rc = merged_view(l, &m, 0);
	if (rc < 0)
		return rc;
	rc = kvm_sorted(&m, &ents, &n);
	if (rc < 0)
		goto out;
	kv = calloc(n + 1, sizeof(*kv));
	out = calloc(n + 1, sizeof(*out));
	dead = calloc(ndead + 1, sizeof(*dead));
	if (!kv || !out || !dead) {
		rc = -ENOMEM;
		goto out;
	}
	/* L1 is the bottom: a tombstone has nothing left to hide */
	for (size_t i = 0; i < n; i++)
		if (!ents[i]->tomb)
			kv[live++] = (struct lsm_kv){ ents[i]->key, ents[i]->klen, 0, ents[i]->val,
						      ents[i]->vlen };
	for (size_t i = 0; i < live; i++) {
		bytes += ENT_HDR + kv[i].klen + kv[i].vlen;
		if (bytes >= LSM_TABLE_MAX || i + 1 == live) {
			rc = write_table(l, kv + start, i + 1 - start, 1, &out[nout]);
			if (rc < 0)
				goto out;
			nout++;
			start = i + 1;
			bytes = 0;
		}
	}
	for (size_t i = 0; i < ndead; i++)
		dead[i] = l->tabs[i].num;
	rc = switch_manifest(l, out, nout, l->lognum, l->last_seq, dead, ndead);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < l->ntabs; i++)
		lsm_table_free(l->tabs[i].t);
	free(l->tabs);
	l->tabs = out;
	l->ntabs = nout;
	out = NULL;
	sort_tabs(l);
out:
	if (out)
		for (size_t i = 0; i < nout; i++)
			lsm_table_free(out[i].t);
	free(out);
	free(dead);
	free(kv);
	free(ents);
	kvm_free(&m);
	return rc;
}

/* the commit's write of the pending records; where commits overlap, zeros
 * are made durable ahead of it first (after every write in flight: a
 * commit never shares its blocks with a zero write that could land after
 * it) */
static int write_pending(struct lsm *l)
{
	size_t len;
	int rc;

	if (!l->plen)
		return 0;
	/* direct: whole blocks; the commit began on a boundary */
	len = eio_round_up(l->plen, l->block);
	/* (a commit of a chunk or more, a large group commit, extends the
	 * file itself: zeros ahead of it would double its writes) */
	if (eio_sync_overlaps(l->log) && l->pos + (off_t)len > l->zend && len < LSM_LOG_CHUNK) {
		off_t from = l->zend > l->pos ? l->zend : l->pos;
		size_t zl = eio_round_up((size_t)(l->pos - from) + len + LSM_LOG_CHUNK,
					 LSM_LOG_CHUNK);
		uint8_t *z = eio_alloc(l->log, zl);

		if (!z)
			return -ENOMEM;
		rc = eio_pwrite_sync(l->log, z, zl, from);
		free(z);
		if (rc < 0)
			return lsm_fail(l, rc);
		l->zend = from + (off_t)zl;
	}
	memset(l->pend + l->plen, 0, len - l->plen);
	rc = eio_pwrite(l->log, l->pend, len, l->pos);
	if (rc < 0) /* pending records and pos kept: retried by the next sync */
		return l->mode == EIO_URING ? lsm_fail(l, rc) : rc;
	l->pos += (off_t)len;
	if (l->pos > l->zend)
		l->zend = l->pos;
	l->plen = 0;
	return 0;
}

/* the commit; its failures follow "Faults" in the contract above */
static int lsm_commit(struct lsm *l)
{
	int rc;

	if (l->failed)
		return -EIO;
	rc = write_pending(l);
	if (rc < 0)
		return rc;
	/* the commit point */
	rc = eio_sync(l->log);
	if (rc == -EIO && l->bug == BUG_FSYNC_RETRY)
		rc = eio_sync(l->log); /* the mistake: "succeeds", data gone */
	if (rc < 0)
		return lsm_fail(l, rc);
	/* everything is durable, the commits in flight included */
	l->tick_done = l->tick;
	if (l->mem.bytes > LSM_MEM_MAX) {
		rc = flush(l);
		if (rc < 0)
			return lsm_fail(l, rc);
	}
	return 0;
}

/*
 * The asynchronous commit (eng_ops.sync_start): the log write and an
 * fdatasync behind it are submitted, and the next commit may be written
 * while this one flushes (uring; buffered and direct complete it here).
 * A commit that fills the memtable waits for every commit in flight
 * before the flush, which writes the memtable as a table: a table never
 * holds an operation whose log record is not durable.  The fsync-retry
 * bug keeps the synchronous path.
 */
static int lsm_sync_start(void *e, uint64_t *ticket)
{
	struct lsm *l = e;
	uint64_t et;
	int rc;

	*ticket = l->tick + 1;
	if (l->failed)
		return -EIO;
	if (l->bug == BUG_FSYNC_RETRY) {
		rc = lsm_commit(l);
		if (rc == 0)
			l->tick_done = ++l->tick;
		return rc;
	}
	rc = write_pending(l);
	if (rc < 0)
		return rc;
	rc = eio_sync_start(l->log, &et);
	if (rc < 0)
		return lsm_fail(l, rc);
	l->tick++;
	l->log_base = l->tick - et;
	if (l->mem.bytes <= LSM_MEM_MAX)
		return 0;
	rc = eio_sync_wait(l->log, et, 0);
	if (rc < 0)
		return lsm_fail(l, rc);
	l->tick_done = l->tick;
	rc = flush(l);
	return rc < 0 ? lsm_fail(l, rc) : 0;
}

static int lsm_sync_wait(void *e, uint64_t ticket, int nowait)
{
	struct lsm *l = e;
	int rc;

	rc = eng_ticket_state(ticket, l->tick_done, l->tick, l->failed);
	if (rc)
		return rc;
	rc = eio_sync_wait(l->log, ticket - l->log_base, nowait);
	if (rc < 0)
		return lsm_fail(l, rc);
	if (rc == 1)
		l->tick_done = ticket;
	return rc;
}

/* ==== 7. recovery ======================================================== */

static int replay_fn(void *arg, uint64_t seq, const uint8_t *payload, size_t len)
{
	struct lsm *l = arg;
	struct eng_op *ops;
	int n, rc;

	if (seq <= l->seq)
		return 0; /* already in the tables */
	if (seq != l->seq + 1) {
		eng_seterr("lsm: log record seq %llu follows %llu: a hole",
			   (unsigned long long)seq, (unsigned long long)l->seq);
		return -ENG_E_CORRUPT;
	}
	rc = eng_ops_decode(payload, len, &ops, &n);
	for (int i = 0; rc == 0 && i < n; i++)
		rc = kvm_set(&l->mem, ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen,
			     ops[i].type == ENG_DEL, NULL);
	free(ops);
	l->seq = seq;
	return rc;
}

static int replay_logs(struct lsm *l, uint64_t log_number)
{
	uint64_t *logs = NULL;
	size_t n = 0, used = 0;
	char name[64];
	int rc, have = 0;

	rc = eng_list(l->dirfd, "wal-", ".log", &logs, &n);
	if (rc < 0)
		return rc;
	if (n && logs[n - 1] + 1 > l->next_file)
		l->next_file = logs[n - 1] + 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = NULL;
		size_t len, end;
		uint32_t block;
		uint64_t segno, first, next;
		int cut;

		log_name(name, sizeof(name), logs[i]);
		if (logs[i] < log_number || used) {
			/* older than the manifest's tables, or behind a cut */
			if (unlinkat(l->dirfd, name, 0) < 0) {
				rc = -errno;
				goto out;
			}
			continue;
		}
		rc = eio_read_file(l->dirfd, name, (void **)&buf, &len);
		if (rc < 0)
			goto out;
		if (wal_seghdr_decode(buf, len, &block, &segno, &first) < 0 || segno != logs[i]) {
			free(buf);
			if (i + 1 < n) {
				eng_seterr("lsm: %s: bad log header", name);
				rc = -ENG_E_CORRUPT;
				goto out;
			}
			/* created, header never durable: it holds nothing */
			if (unlinkat(l->dirfd, name, 0) < 0) {
				rc = -errno;
				goto out;
			}
			break;
		}
		if (first > l->seq + 1) {
			free(buf);
			eng_seterr("lsm: %s starts at seq %llu, the database holds %llu: a hole", name,
				   (unsigned long long)first, (unsigned long long)l->seq);
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		rc = wal_scan(buf, len, block, first, WAL_SUM_FULL, replay_fn, l, &end, &next);
		/* zeros behind the last record are preallocated space; any other
		 * byte there is a torn or stale tail (a commit that was in flight
		 * while an earlier one was lost) */
		cut = end < len && !eng_all_zero(buf + end, len - end);
		free(buf);
		if (rc < 0)
			goto out;
		rc = eio_open(&l->log, l->dirfd, name, wflags(l), l->mode);
		if (rc < 0)
			goto out;
		l->zend = (off_t)(cut ? end : len);
		if (cut) {
			/* the torn tail: cut it durably before appending; later logs
			 * go.  The truncation is what keeps a stale record from
			 * reading back as valid once new commits fill the lost one's
			 * place with records of the same size */
			rc = eio_truncate(l->log, (off_t)end);
			if (rc == 0)
				rc = eio_fsync(l->log);
			if (rc < 0)
				goto out;
			used = 1;
		}
		if (i + 1 < n && !used) {
			eio_close(l->log);
			l->log = NULL;
			continue;
		}
		l->lognum = logs[i];
		l->block = block;
		l->pos = (off_t)eio_round_up(end, block);
		have = 1;
		used = 1;
	}
	if (have && l->block != (eio_align(l->log) > 1 ? eio_align(l->log) : 1)) {
		eio_close(l->log); /* written in another mode: a fresh log */
		l->log = NULL;
		have = 0;
	}
	if (!have) {
		if (l->log)
			eio_close(l->log);
		l->log = NULL;
		l->lognum = l->next_file++;
		rc = log_create(l, l->lognum, &l->log, &l->block, &l->zend);
		if (rc == 0)
			l->pos = (off_t)wal_first_record(l->block);
	}
out:
	free(logs);
	return rc;
}

static int recover(struct lsm *l)
{
	struct lsm_manifest m = { 0, 1, 0, 0, NULL };
	uint64_t *tabs = NULL;
	uint8_t *buf = NULL;
	size_t len, nt = 0;
	char name[64];
	int rc;

	/* a manifest that never got renamed */
	if (unlinkat(l->dirfd, "MANIFEST.tmp", 0) < 0 && errno != ENOENT)
		return -errno;
	rc = eio_read_file(l->dirfd, "MANIFEST", (void **)&buf, &len);
	if (rc == 0) {
		rc = lsm_manifest_decode(buf, len, &m);
		free(buf);
		if (rc < 0) {
			eng_seterr("lsm: MANIFEST: bad magic, version or checksum");
			return rc == -ENOMEM ? rc : -ENG_E_CORRUPT;
		}
	} else if (rc != -ENOENT) {
		return rc;
	}
	l->next_file = m.next_file ? m.next_file : 1;
	l->last_seq = l->seq = m.last_seq;
	l->tabs = calloc(m.n + 1, sizeof(*l->tabs));
	if (!l->tabs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		tab_name(name, sizeof(name), m.t[i].num);
		rc = eio_read_file(l->dirfd, name, (void **)&buf, &len);
		if (rc == 0) {
			rc = lsm_table_open(buf, len, m.t[i].num, &l->tabs[l->ntabs].t);
			if (rc < 0)
				free(buf);
		}
		if (rc < 0) {
			eng_seterr("lsm: %s: named by the manifest but %s", name,
				   rc == -ENOENT ? "missing" : "damaged");
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		l->tabs[l->ntabs].num = m.t[i].num;
		l->tabs[l->ntabs++].level = m.t[i].level;
		if (m.t[i].num + 1 > l->next_file)
			l->next_file = m.t[i].num + 1;
	}
	sort_tabs(l);
	/* tables the manifest does not name: an interrupted flush or compaction */
	rc = eng_list(l->dirfd, "t-", ".sst", &tabs, &nt);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < nt; i++) {
		int named = 0;
		for (size_t j = 0; j < m.n; j++)
			named |= m.t[j].num == tabs[i];
		if (tabs[i] + 1 > l->next_file)
			l->next_file = tabs[i] + 1;
		tab_name(name, sizeof(name), tabs[i]);
		if (!named && unlinkat(l->dirfd, name, 0) < 0) {
			rc = -errno;
			goto out;
		}
	}
	rc = replay_logs(l, m.log_number);
out:
	free(tabs);
	free(m.t);
	return rc;
}

/* ==== 8. engine interface ================================================ */

static void lsm_close(void *e)
{
	struct lsm *l = e;

	if (!l)
		return;
	for (size_t i = 0; i < l->ntabs; i++)
		lsm_table_free(l->tabs[i].t);
	free(l->tabs);
	if (l->log)
		eio_close(l->log);
	if (l->dirfd >= 0)
		close(l->dirfd);
	kvm_free(&l->mem);
	free(l->pend);
	free(l);
}

static int lsm_open(void **out, const struct eng_opts *o)
{
	struct lsm *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->dirfd = -1;
	l->mode = o->mode;
	l->bug = o->bug;
	rc = kvm_init(&l->mem);
	if (rc < 0)
		goto fail;
	rc = eio_dir_open(o->dir, 1);
	if (rc < 0)
		goto fail;
	l->dirfd = rc;
	rc = recover(l);
	if (rc < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	lsm_close(l);
	return rc;
}

static int lsm_apply(void *e, const struct eng_op *ops, int n)
{
	struct lsm *l = e;
	size_t pl, total;
	uint8_t *tmp;
	int rc = eng_ops_check(ops, n);

	if (l->failed)
		return -EIO; /* a sync failed: nothing more goes in until reopened */
	if (rc < 0)
		return rc;
	pl = eng_ops_size(ops, n);
	total = wal_record_size(pl);
	rc = pend_reserve(l, total);
	if (rc < 0)
		return rc;
	tmp = malloc(pl);
	if (!tmp)
		return -ENOMEM;
	eng_ops_encode(tmp, ops, n);
	wal_record_encode(l->pend + l->plen, l->seq + 1, tmp, pl, WAL_SUM_FULL);
	free(tmp);
	l->plen += total;
	l->seq++;
	for (int i = 0; i < n; i++) {
		rc = kvm_set(&l->mem, ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen,
			     ops[i].type == ENG_DEL, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int lsm_get(void *e, const char *key, size_t klen, void **val, size_t *vlen)
{
	struct lsm *l = e;
	struct kvm_ent *m = kvm_get(&l->mem, key, klen);
	struct lsm_kv kv = { 0 };
	int rc = 0;

	if (m) {
		kv = (struct lsm_kv){ m->key, m->klen, m->tomb, m->val, m->vlen };
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < l->ntabs; i++)
		rc = lsm_table_get(l->tabs[i].t, key, klen, &kv);
	if (rc < 0)
		return rc;
	if (rc == 0 || kv.tomb)
		return -ENOENT;
	*val = malloc(kv.vlen + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, kv.val, kv.vlen);
	*vlen = kv.vlen;
	return 0;
}

static int lsm_sync(void *e)
{
	return lsm_commit(e);
}

static int lsm_iterate(void *e, eng_iter_fn fn, void *arg)
{
	struct lsm *l = e;
	struct kvmap m;
	int rc = merged_view(l, &m, 1);

	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < m.cap; i++)
		if (m.t[i].used && !m.t[i].tomb)
			rc = fn(arg, m.t[i].key, m.t[i].klen, m.t[i].val, m.t[i].vlen);
	kvm_free(&m);
	return rc;
}

/* every table whole; L1 ranges disjoint and in order */
static int lsm_verify(void *e, char *msg, size_t cap)
{
	struct lsm *l = e;
	const struct lsm_table *prev = NULL;

	for (size_t i = 0; i < l->ntabs; i++) {
		const struct lsm_table *t = l->tabs[i].t;

		if (lsm_table_check(t, msg, cap))
			return 1;
		if (l->tabs[i].level != 1)
			continue;
		if (prev && eng_keycmp(prev->max, prev->maxl, t->min, t->minl) >= 0) {
			snprintf(msg, cap, "lsm: L1 tables %llu and %llu overlap",
				 (unsigned long long)prev->num, (unsigned long long)t->num);
			return 1;
		}
		prev = t;
	}
	if (l->last_seq > l->seq) {
		snprintf(msg, cap, "lsm: replayed seq %llu behind the manifest's %llu",
			 (unsigned long long)l->seq, (unsigned long long)l->last_seq);
		return 1;
	}
	return 0;
}

const struct eng_ops lsm_engine = {
	.name = "lsm",
	.bugs = lsm_bugs,
	.open = lsm_open,
	.apply = lsm_apply,
	.get = lsm_get,
	.sync = lsm_sync,
	.sync_start = lsm_sync_start,
	.sync_wait = lsm_sync_wait,
	.iterate = lsm_iterate,
	.verify = lsm_verify,
	.close = lsm_close,
};

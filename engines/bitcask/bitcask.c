/*
 * engines/bitcask/bitcask.c - a Bitcask-style store: append-only data
 * files and an in-memory key directory pointing at the newest value.
 *
 *   1. format and durability contract
 *   2. seeded bugs
 *   3. codec: file header, records, hint files (bitcask.h)
 *   4. the key directory and value reads
 *   5. recovery: rebuild the key directory from hints and data files
 *   6. writing: group commit, rotation, merge
 *   7. the engine interface
 *
 * ==== 1. On-disk format (little-endian) ====================================
 *
 * DIR/<id, 16 hex>.data       data files; the highest id is the active one
 * DIR/<id>.hint               key directory of a merged data file
 * DIR/<id>.data.tmp, .hint.tmp  a merge in progress (removed at open)
 *
 * Data file header (bc_first_record(block) bytes, zero padded):
 *    0  u64 magic "TORNCD1\0"    24  u64 base: every record's seq is > base
 *    8  u32 version (1)          32  u64 nonce: this incarnation of the file
 *   12  u32 block (commit padding) 40 u64 XXH3-64 of bytes 0..39
 *   16  u64 id                   (u32 at 8 holds version | merged << 16)
 * Record (8-byte aligned, zero padded):
 *    0  u32 len    4 u32 0    8 u64 seq
 *   16  u64 sum = XXH3_64bits_withSeed(payload, len, XXH3_64bits(bytes 0..15))
 *   24  payload: an operation list (engine.h); a batch is one record, so it
 *       is all or nothing
 * Validity, in order: R1 the record fits and len >= 1; R2 seq > the
 * previous record's (the first: > base); R3 sum; R4 the payload decodes.
 * Zero padding up to a multiple of block is skipped (direct mode: each
 * commit begins on a block boundary).  A file's records end at the first
 * invalid one; the active file is truncated there at open.  (In a merged
 * file R2 is seq >= previous: the parts of one batch share their seq.)
 *
 * Hint file (written by merge, for the merged data file with that nonce):
 *    0 u64 magic "TORNCH1\0"  8 u32 version  12 u32 count  16 u64 nonce
 *   24 u64 body length B      32 entries: u8 klen, u8 tomb, u16 0, u32 vlen,
 *                                u64 value offset, u64 seq, key
 *   32+B u64 XXH3-64 of bytes 0..32+B-1
 * A hint that fails any check (magic, version, nonce, checksum, lengths)
 * is ignored and its data file scanned instead.
 *
 * Key directory: key -> (file id, value offset, length, seq, tombstone);
 * the record with the highest seq wins, so files may be read in any order
 * and a data file that comes back after a crash only adds older versions.
 *
 * ==== Durability contract ==================================================
 * Commit point: an operation is durable when the fdatasync of the active
 * file returned; sync() writes all pending records at once (group commit).
 * A new active file is created with its header, fsynced, and the directory
 * fsynced before any record goes in.  Merge (when BC_MERGE_FILES files are
 * immutable) copies the newest version of every key held by the immutable
 * files (tombstones included: an old file reappearing must not resurrect a
 * key) into X.data.tmp and its hint into X.hint.tmp, X being the newest
 * immutable id; fsyncs both; renames them over X.data and X.hint; fsyncs
 * the directory; only then unlinks the older files.  Each crash state shows
 * the old X or the merged X, both complete.
 *
 * ==== Faults (failed writes and syncs while running) ======================
 * An operation is acknowledged only by a sync() that returned 0; a sync()
 * that fails acknowledges nothing it covered.
 *   - The commit's write fails (ENOSPC, EDQUOT, EIO; a short write the
 *     layer could not finish; EINTR is retried by eio, see eio.h): sync()
 *     returns the error and changes nothing in memory: the pending records,
 *     the append position and the key directory entries pointing into the
 *     pending bytes stay, so get() still answers and a later sync() writes
 *     the same records at the same offset.  A prefix left on disk by a
 *     short write lies behind the last valid record: recovery cuts it.
 *   - The fdatasync fails (or, in uring mode, any completion: a failed
 *     write is only seen with the sync): fatal for the handle.  Linux may
 *     have dropped the dirty pages and will not say so again, so no later
 *     sync could prove those records durable.  Every later apply() and
 *     sync() returns -EIO; get() still answers (acknowledged values
 *     included: values are read back from the page cache, or from the
 *     pending bytes in memory); reopening runs recovery from what is durable.
 *   - Anything failing after the commit point (rotation, merge): fatal too.
 * Seeded bugs fsync-retry and short-write break exactly these rules.
 */
#include "engines/bitcask/bitcask.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "engines/engine.h"

#define BC_FILE_MAX (16 * 1024)
/* where commits overlap (eio_sync_overlaps: uring), the active file is
 * written with zeros up to here when it is created (durable on return), so
 * that commits are overwrites: no size change for the fdatasync to
 * journal.  One commit at a time gains nothing from it, so buffered and
 * direct files grow as they are written */
#define BC_PREALLOC (BC_FILE_MAX + 4096)
#define BC_MERGE_FILES 3

/* ==== 2. seeded bugs ===================================================== */

enum {
	BUG_NO_DIRSYNC_CREATE,
	BUG_CRC_HEADER_ONLY,
	BUG_HINT_UNCHECKED,
	BUG_MERGE_NO_DIRSYNC,
	BUG_FSYNC_RETRY,
	BUG_SHORT_WRITE,
};

static const struct eng_bug bc_bugs[] = {
	{ "no-dirsync-create",
	  "a new data file is not made durable in its directory: after a crash the file "
	  "and its acknowledged records are gone" },
	{ "crc-header-only",
	  "the record checksum covers the header only: a record torn in its value is "
	  "replayed with a damaged value" },
	{ "hint-unchecked",
	  "merge renames the hint file without fsyncing it and open trusts it without "
	  "its checksum: a torn hint puts garbage in the key directory" },
	{ "merge-no-dirsync",
	  "merge unlinks the old data files without fsyncing the directory after its "
	  "renames: a crash can keep the unlinks and lose the merged file" },
	{ "fsync-retry",
	  "a commit whose fdatasync fails with EIO retries it and acknowledges when the "
	  "retry succeeds: the records the failed one dropped are lost (fsyncgate)" },
	{ "short-write",
	  "a short write of a commit is taken as complete: the record is cut short on disk "
	  "and the file's records end there, losing it and every later acknowledged one" },
	{ NULL, NULL },
};

struct bc_file {
	uint64_t id;
	struct eio_file *f;
	int merged;
};

struct bc {
	int dirfd;
	enum eio_mode mode;
	int bug;
	struct kvmap kd;
	uint64_t seq;
	struct bc_file *files; /* sorted by id; the last is the active file */
	size_t nfiles, fcap;
	size_t block;
	off_t pos; /* where the next commit goes in the active file */
	uint8_t *pend;
	size_t plen, pcap;
	/* a sync failed: writes refused until reopened (see "Faults") */
	int failed;
	/* asynchronous commits (sync_start): tickets issued, the highest one
	 * known durable; the active file's eio ticket k is engine ticket
	 * act_base + k (rotation waits for every commit of the old file) */
	uint64_t tick, tick_done, act_base;
};

/* eio_open flags for files the engine writes (the short-write bug) */
static int wflags(const struct bc *b)
{
	return b->bug == BUG_SHORT_WRITE ? EIO_BUG_SHORT : 0;
}

/* the handle can no longer vouch for what is durable: refuse writes */
static int bc_fail(struct bc *b, int rc)
{
	b->failed = 1;
	return rc;
}

/* ==== 3. codec =========================================================== */

size_t bc_first_record(size_t block)
{
	return block > 64 ? block : 64;
}

size_t bc_record_size(size_t payload)
{
	return eio_round_up(BC_RECHDR + payload, 8);
}

void bc_filehdr_encode(uint8_t *dst, const struct bc_filehdr *h)
{
	memset(dst, 0, BC_FILEHDR);
	put_u64(dst, BC_MAGIC);
	put_u32(dst + 8, BC_VERSION | h->merged << 16);
	put_u32(dst + 12, h->block);
	put_u64(dst + 16, h->id);
	put_u64(dst + 24, h->base);
	put_u64(dst + 32, h->nonce);
	put_u64(dst + 40, eng_hash(dst, 40));
}

int bc_filehdr_decode(const uint8_t *src, size_t len, struct bc_filehdr *h)
{
	if (len < BC_FILEHDR || get_u64(src) != BC_MAGIC)
		return -ENG_E_FORMAT;
	if ((get_u32(src + 8) & 0xffff) != BC_VERSION)
		return -ENG_E_FORMAT;
	if (get_u64(src + 40) != eng_hash(src, 40))
		return -ENG_E_CORRUPT;
	h->merged = get_u32(src + 8) >> 16;
	h->block = get_u32(src + 12);
	h->id = get_u64(src + 16);
	h->base = get_u64(src + 24);
	h->nonce = get_u64(src + 32);
	if (h->block == 0 || h->block > 65536 || (h->block & (h->block - 1)) || h->merged > 1)
		return -ENG_E_CORRUPT;
	return 0;
}

static uint64_t rec_sum(const uint8_t *rec, size_t len, int header_only)
{
	uint64_t h = eng_hash(rec, 16);

	return header_only ? h : XXH3_64bits_withSeed(rec + BC_RECHDR, len, h);
}

void bc_record_encode(uint8_t *dst, uint64_t seq, const void *payload, size_t len,
		      int header_only)
{
	size_t total = bc_record_size(len);

	put_u32(dst, (uint32_t)len);
	put_u32(dst + 4, 0);
	put_u64(dst + 8, seq);
	memcpy(dst + BC_RECHDR, payload, len);
	memset(dst + BC_RECHDR + len, 0, total - BC_RECHDR - len);
	put_u64(dst + 16, rec_sum(dst, len, header_only));
}

int bc_scan(const uint8_t *buf, size_t len, const struct bc_filehdr *h, int header_only,
	    bc_rec_fn fn, void *arg, size_t *end)
{
	size_t p = bc_first_record(h->block), last = p;
	uint64_t prev = h->base;
	int rc = 0;

	while (p < len) {
		struct eng_op *ops;
		size_t rlen, total;
		uint64_t seq;
		int n;

		if (h->block > 1 && p % h->block) {
			size_t b = eio_round_up(p, h->block), stop = b < len ? b : len;
			if (eng_all_zero(buf + p, stop - p)) {
				p = b; /* commit padding */
				last = stop;
				continue;
			}
		}
		if (len - p < BC_RECHDR)
			break;
		rlen = get_u32(buf + p);
		if (rlen == 0 || len - p - BC_RECHDR < rlen) /* R1 */
			break;
		seq = get_u64(buf + p + 8);
		/* R2; a merged file splits a batch into records of one seq */
		if (seq < prev || (seq == prev && !h->merged))
			break;
		if (get_u64(buf + p + 16) != rec_sum(buf + p, rlen, header_only)) /* R3 */
			break;
		if (eng_ops_decode(buf + p + BC_RECHDR, rlen, &ops, &n) < 0) /* R4 */
			break;
		free(ops);
		if (fn) {
			rc = fn(arg, seq, p, buf + p + BC_RECHDR, rlen);
			if (rc < 0)
				break;
		}
		prev = seq;
		total = bc_record_size(rlen);
		p += total < len - p ? total : len - p;
		last = p;
	}
	*end = last;
	return rc < 0 ? rc : 0;
}

int bc_hint_encode(const struct bc_hint_ent *e, size_t n, uint64_t nonce, uint8_t **out,
		   size_t *len)
{
	size_t blen = 0, pos = 32;
	uint8_t *b;

	for (size_t i = 0; i < n; i++)
		blen += 24 + e[i].klen;
	b = eio_alloc_any(40 + blen);
	if (!b)
		return -ENOMEM;
	put_u64(b, BC_HINT_MAGIC);
	put_u32(b + 8, BC_VERSION);
	put_u32(b + 12, (uint32_t)n);
	put_u64(b + 16, nonce);
	put_u64(b + 24, blen);
	for (size_t i = 0; i < n; i++) {
		b[pos] = (uint8_t)e[i].klen;
		b[pos + 1] = (uint8_t)e[i].tomb;
		put_u16(b + pos + 2, 0);
		put_u32(b + pos + 4, e[i].vlen);
		put_u64(b + pos + 8, e[i].off);
		put_u64(b + pos + 16, e[i].seq);
		memcpy(b + pos + 24, e[i].key, e[i].klen);
		pos += 24 + e[i].klen;
	}
	put_u64(b + pos, eng_hash(b, pos));
	*out = b;
	*len = pos + 8;
	return 0;
}

int bc_hint_decode(const uint8_t *buf, size_t len, uint64_t nonce, int trust,
		   struct bc_hint_ent **out, size_t *outn)
{
	struct bc_hint_ent *e;
	size_t blen, pos = 32, n;

	*out = NULL;
	*outn = 0;
	if (len < 40 || get_u64(buf) != BC_HINT_MAGIC || get_u32(buf + 8) != BC_VERSION)
		return -ENG_E_FORMAT;
	if (get_u64(buf + 16) != nonce)
		return -ENG_E_CORRUPT; /* the hint of another incarnation of the file */
	blen = get_u64(buf + 24);
	n = get_u32(buf + 12);
	if (blen > len - 40 || n > blen / 24)
		return -ENG_E_CORRUPT;
	if (!trust && get_u64(buf + 32 + blen) != eng_hash(buf, 32 + blen))
		return -ENG_E_CORRUPT;
	e = calloc(n + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + pos;

		if (32 + blen - pos < 24 || 32 + blen - pos - 24 < p[0] || p[1] > 1) {
			if (trust) { /* the seeded bug: whatever parsed is believed */
				n = i;
				break;
			}
			goto bad;
		}
		e[i].klen = p[0];
		e[i].tomb = p[1];
		e[i].vlen = get_u32(p + 4);
		e[i].off = get_u64(p + 8);
		e[i].seq = get_u64(p + 16);
		e[i].key = (const char *)p + 24;
		pos += 24 + e[i].klen;
	}
	if (pos != 32 + blen && !trust)
		goto bad;
	*out = e;
	*outn = n;
	return 0;
bad:
	free(e);
	return -ENG_E_CORRUPT;
}

/* ==== 4. key directory and value reads =================================== */

static struct bc_file *file_of(struct bc *b, uint64_t id)
{
	for (size_t i = 0; i < b->nfiles; i++)
		if (b->files[i].id == id)
			return &b->files[i];
	return NULL;
}

static struct bc_file *active(struct bc *b)
{
	return &b->files[b->nfiles - 1];
}

/* newer seq wins; ties are the same record seen twice (merged and old) */
static int kd_set(struct bc *b, const char *key, size_t klen, int tomb, uint64_t id,
		  uint64_t off, size_t vlen, uint64_t seq)
{
	struct kvm_ent *e = kvm_get(&b->kd, key, klen);
	int rc;

	if (e && e->c >= seq)
		return 0;
	rc = kvm_set(&b->kd, key, klen, NULL, vlen, tomb, &e);
	if (rc < 0)
		return rc;
	e->a = id;
	e->b = off;
	e->c = seq;
	return 0;
}

/* read len bytes at off of data file id (pending bytes from memory) */
static int read_at(struct bc *b, uint64_t id, uint64_t off, size_t len, void *out)
{
	struct bc_file *bf = file_of(b, id);
	uint8_t *buf;
	size_t a, start, span;
	ssize_t n;

	if (!bf)
		return -ENG_E_CORRUPT;
	if (bf == active(b) && off >= (uint64_t)b->pos) {
		if (off - (uint64_t)b->pos + len > b->plen)
			return -ENG_E_CORRUPT;
		memcpy(out, b->pend + (off - (uint64_t)b->pos), len);
		return 0;
	}
	a = eio_align(bf->f);
	start = off / a * a;
	span = eio_round_up(off + len, a) - start;
	buf = eio_alloc(bf->f, span);
	if (!buf)
		return -ENOMEM;
	n = eio_pread(bf->f, buf, span, (off_t)start);
	if (n >= 0 && (size_t)n < off - start + len)
		n = -ENG_E_CORRUPT;
	if (n >= 0)
		memcpy(out, buf + (off - start), len);
	free(buf);
	return n < 0 ? (int)n : 0;
}

/* offset of op i's value inside an operation list */
static size_t value_off(const struct eng_op *ops, int i)
{
	size_t o = 4;

	for (int j = 0; j < i; j++)
		o += 8 + ops[j].klen + (ops[j].type == ENG_PUT ? ops[j].vlen : 0);
	return o + 8 + ops[i].klen;
}

/* ==== 5. recovery ======================================================== */

struct scan_ctx {
	struct bc *b;
	uint64_t id;
};

static int scan_fn(void *arg, uint64_t seq, size_t off, const uint8_t *payload, size_t len)
{
	struct scan_ctx *s = arg;
	struct eng_op *ops;
	int n, rc;

	rc = eng_ops_decode(payload, len, &ops, &n);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n && rc == 0; i++)
		rc = kd_set(s->b, ops[i].key, ops[i].klen, ops[i].type == ENG_DEL, s->id,
			    off + BC_RECHDR + value_off(ops, i), ops[i].vlen, seq);
	free(ops);
	if (seq > s->b->seq)
		s->b->seq = seq;
	return rc;
}

static int load_hint(struct bc *b, uint64_t id, uint64_t nonce)
{
	struct bc_hint_ent *e = NULL;
	uint8_t *buf = NULL;
	size_t len, n;
	char name[64];
	int rc;

	eng_name(name, sizeof(name), "", id, ".hint");
	rc = eio_read_file(b->dirfd, name, (void **)&buf, &len);
	if (rc < 0)
		return rc;
	rc = bc_hint_decode(buf, len, nonce, b->bug == BUG_HINT_UNCHECKED, &e, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = kd_set(b, e[i].key, e[i].klen, e[i].tomb, id, e[i].off, e[i].vlen, e[i].seq);
		if (e[i].seq > b->seq)
			b->seq = e[i].seq;
	}
	free(e);
	free(buf);
	return rc;
}

static int add_file(struct bc *b, uint64_t id, struct eio_file *f, int merged)
{
	if (b->nfiles == b->fcap) {
		size_t cap = b->fcap ? b->fcap * 2 : 8;
		struct bc_file *n = realloc(b->files, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->files = n;
		b->fcap = cap;
	}
	b->files[b->nfiles].id = id;
	b->files[b->nfiles].f = f;
	b->files[b->nfiles].merged = merged;
	b->nfiles++;
	return 0;
}

static int create_active(struct bc *b, uint64_t id);

static int remove_tmp(struct bc *b, const char *ext)
{
	uint64_t *ids;
	size_t n;
	char name[64];
	int rc = eng_list(b->dirfd, "", ext, &ids, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		eng_name(name, sizeof(name), "", ids[i], ext);
		if (unlinkat(b->dirfd, name, 0) < 0)
			rc = -errno;
	}
	free(ids);
	return rc;
}

static int recover(struct bc *b)
{
	uint64_t *ids = NULL, maxid;
	size_t n = 0;
	char name[64];
	int rc;

	/* an unfinished merge: its temporaries were never renamed */
	rc = remove_tmp(b, ".data.tmp");
	if (rc == 0)
		rc = remove_tmp(b, ".hint.tmp");
	if (rc < 0)
		return rc;
	rc = eng_list(b->dirfd, "", ".data", &ids, &n);
	if (rc < 0)
		return rc;
	maxid = n ? ids[n - 1] : 0;
	for (size_t i = 0; i < n; i++) {
		struct eio_file *f = NULL;
		struct bc_filehdr h;
		struct scan_ctx sc = { b, ids[i] };
		uint8_t *buf = NULL;
		size_t len, end;

		eng_name(name, sizeof(name), "", ids[i], ".data");
		rc = eio_read_file(b->dirfd, name, (void **)&buf, &len);
		if (rc < 0)
			goto out;
		rc = bc_filehdr_decode(buf, len, &h);
		if (rc < 0 || h.id != ids[i]) {
			free(buf);
			if (i + 1 == n) {
				/* created, header not durable: it never held a record */
				if (unlinkat(b->dirfd, name, 0) < 0) {
					rc = -errno;
					goto out;
				}
				break;
			}
			eng_seterr("bitcask: %s: bad file header", name);
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		if (h.base > b->seq)
			b->seq = h.base;
		rc = -1;
		if (h.merged)
			rc = load_hint(b, ids[i], h.nonce);
		end = len;
		if (rc < 0)
			rc = bc_scan(buf, len, &h, b->bug == BUG_CRC_HEADER_ONLY, scan_fn, &sc, &end);
		if (rc < 0) {
			free(buf);
			goto out;
		}
		rc = eio_open(&f, b->dirfd, name, wflags(b), b->mode);
		if (rc < 0)
			goto out;
		rc = add_file(b, ids[i], f, (int)h.merged);
		if (rc < 0) {
			eio_close(f);
			goto out;
		}
		if (i + 1 == n && !h.merged) {
			/* the active file: cut the torn tail, durably, before
			 * appending.  Zeros behind the last record are preallocated
			 * space; any other byte is a torn or stale tail (a commit
			 * that was in flight while an earlier one was lost), and
			 * the truncation is what keeps a stale record (R2 only asks
			 * for a higher seq) from reading back behind new ones */
			if (end < len && !eng_all_zero(buf + end, len - end)) {
				rc = eio_truncate(f, (off_t)end);
				if (rc == 0)
					rc = eio_fsync(f);
				if (rc < 0)
					goto out;
			}
			b->block = h.block;
			b->pos = (off_t)eio_round_up(end, h.block);
		}
		free(buf);
	}
	if (b->nfiles == 0 || active(b)->merged || b->block != (eio_align(active(b)->f) > 1 ?
							       eio_align(active(b)->f) : 1))
		rc = create_active(b, maxid + 1);
	else /* zeros ahead again where the tail was cut (uring) */
		rc = eio_zero_ahead(active(b)->f, b->pos,
				    (off_t)eio_round_up(BC_PREALLOC, b->block));
	b->act_base = b->tick;
out:
	free(ids);
	return rc;
}

/* ==== 6. writing ========================================================= */

static int create_active(struct bc *b, uint64_t id)
{
	struct bc_filehdr h = { 0 };
	struct eio_file *f = NULL;
	uint8_t *hdr;
	size_t hlen, plen;
	char name[64];
	int rc;

	eng_name(name, sizeof(name), "", id, ".data");
	rc = eio_open(&f, b->dirfd, name, EIO_CREATE | EIO_TRUNC | wflags(b), b->mode);
	if (rc < 0)
		return rc;
	h.block = (uint32_t)eio_align(f);
	h.id = id;
	h.base = b->seq;
	h.nonce = eng_hash(&h, sizeof(h));
	hlen = bc_first_record(h.block);
	/* uring: the header and zeros up to BC_PREALLOC, durable on return */
	plen = eio_sync_overlaps(f) ? eio_round_up(BC_PREALLOC, h.block) : hlen;
	hdr = eio_alloc(f, plen);
	if (!hdr) {
		eio_close(f);
		return -ENOMEM;
	}
	bc_filehdr_encode(hdr, &h);
	rc = plen > hlen ? eio_pwrite_sync(f, hdr, plen, 0) : eio_pwrite(f, hdr, plen, 0);
	free(hdr);
	/* the header is durable before any record is acknowledged behind it */
	if (rc == 0)
		rc = eio_fsync(f);
	/* the file's name is durable, or its records vanish with it */
	if (rc == 0 && b->bug != BUG_NO_DIRSYNC_CREATE)
		rc = eio_dir_sync(b->dirfd);
	if (rc == 0)
		rc = add_file(b, id, f, 0);
	if (rc < 0) {
		eio_close(f);
		return rc;
	}
	b->block = h.block;
	b->pos = (off_t)hlen;
	b->act_base = b->tick; /* the new file's eio tickets start at 1 */
	return 0;
}

static int pend_reserve(struct bc *b, size_t more)
{
	size_t need = b->plen + more + 4096;
	uint8_t *n;

	if (need <= b->pcap)
		return 0;
	need = eio_round_up(need * 2, 4096);
	n = eio_alloc_any(need);
	if (!n)
		return -ENOMEM;
	if (b->plen)
		memcpy(n, b->pend, b->plen);
	free(b->pend);
	b->pend = n;
	b->pcap = need;
	return 0;
}

struct live {
	struct kvm_ent *e;
};

static int live_cmp(const void *x, const void *y)
{
	const struct kvm_ent *a = ((const struct live *)x)->e, *b = ((const struct live *)y)->e;

	return a->c < b->c ? -1 : a->c > b->c;
}

/* the value of e out of the immutable files read by merge (fbuf[i]: the
 * bytes of b->files[i]) */
static int merge_value(struct bc *b, void *const *fbuf, const size_t *flen,
		       const struct kvm_ent *e, void *out)
{
	for (size_t i = 0; i + 1 < b->nfiles; i++) {
		if (b->files[i].id != e->a)
			continue;
		if (e->b > flen[i] || flen[i] - e->b < e->vlen)
			return -ENG_E_CORRUPT;
		memcpy(out, (const uint8_t *)fbuf[i] + e->b, e->vlen);
		return 0;
	}
	return -ENG_E_CORRUPT;
}

static int merge(struct bc *b)
{
	struct eio_file *df = NULL, *hf = NULL;
	struct live *lv = NULL;
	struct bc_hint_ent *he = NULL;
	struct bc_filehdr h = { 0 };
	uint8_t *data = NULL, *hint = NULL;
	size_t nl = 0, dlen, hlen, pos;
	uint64_t x = b->files[b->nfiles - 2].id, *newoff = NULL;
	char dname[64], hname[64], dtmp[64], htmp[64];
	void **fbuf = NULL;
	size_t *flen = NULL, nf = b->nfiles;
	int rc;

	eng_name(dname, sizeof(dname), "", x, ".data");
	eng_name(hname, sizeof(hname), "", x, ".hint");
	eng_name(dtmp, sizeof(dtmp), "", x, ".data.tmp");
	eng_name(htmp, sizeof(htmp), "", x, ".hint.tmp");
	/* the newest version of every key the immutable files hold, by seq */
	lv = calloc(b->kd.n + 1, sizeof(*lv));
	he = calloc(b->kd.n + 1, sizeof(*he));
	newoff = calloc(b->kd.n + 1, sizeof(*newoff));
	if (!lv || !he || !newoff) {
		rc = -ENOMEM;
		goto out;
	}
	dlen = 0;
	for (size_t i = 0; i < b->kd.cap; i++) {
		struct kvm_ent *e = &b->kd.t[i];
		if (e->used && e->a <= x) {
			lv[nl++].e = e;
			dlen += bc_record_size(4 + 8 + e->klen + e->vlen);
		}
	}
	qsort(lv, nl, sizeof(*lv), live_cmp);
	/* each immutable file read once, whole (one O_DIRECT read per value
	 * cost more than the merge's writes) */
	fbuf = calloc(nf, sizeof(*fbuf));
	flen = calloc(nf, sizeof(*flen));
	if (!fbuf || !flen) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i + 1 < b->nfiles; i++) {
		char name[64];

		eng_name(name, sizeof(name), "", b->files[i].id, ".data");
		rc = eio_drain(b->files[i].f);
		if (rc == 0)
			rc = eio_read_file(b->dirfd, name, &fbuf[i], &flen[i]);
		if (rc < 0)
			goto out;
	}
	rc = eio_open(&df, b->dirfd, dtmp, EIO_CREATE | EIO_TRUNC | wflags(b), b->mode);
	if (rc < 0)
		goto out;
	h.block = (uint32_t)eio_align(df);
	h.merged = 1;
	h.id = x;
	h.base = 0;
	h.nonce = eng_hash(&b->seq, sizeof(b->seq)) ^ x;
	pos = bc_first_record(h.block);
	data = eio_alloc(df, pos + dlen);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	bc_filehdr_encode(data, &h);
	for (size_t i = 0; i < nl; i++) {
		struct kvm_ent *e = lv[i].e;
		uint8_t payload[4 + 8 + ENG_MAX_KEY + ENG_MAX_VAL];
		uint8_t vbuf[ENG_MAX_VAL];
		struct eng_op op = { e->tomb ? ENG_DEL : ENG_PUT, e->key, e->klen, vbuf,
				     e->tomb ? 0 : e->vlen };
		size_t pl;

		if (!e->tomb) {
			rc = merge_value(b, fbuf, flen, e, vbuf);
			if (rc < 0)
				goto out;
		}
		pl = eng_ops_size(&op, 1);
		eng_ops_encode(payload, &op, 1);
		bc_record_encode(data + pos, e->c, payload, pl, b->bug == BUG_CRC_HEADER_ONLY);
		newoff[i] = pos + BC_RECHDR + 4 + 8 + e->klen;
		he[i] = (struct bc_hint_ent){ e->key, e->klen, e->tomb, (uint32_t)op.vlen,
					      newoff[i], e->c };
		pos += bc_record_size(pl);
	}
	rc = eio_pwrite(df, data, eio_round_up(pos, h.block), 0);
	/* the merged data is durable before its name replaces the old file */
	if (rc == 0)
		rc = eio_fsync(df);
	if (rc < 0)
		goto out;
	rc = bc_hint_encode(he, nl, h.nonce, &hint, &hlen);
	if (rc < 0)
		goto out;
	rc = eio_open(&hf, b->dirfd, htmp, EIO_CREATE | EIO_TRUNC | wflags(b), b->mode);
	if (rc == 0)
		rc = eio_pwrite(hf, hint, eio_round_up(hlen, eio_align(hf)), 0);
	/* the hint is durable before its name appears */
	if (rc == 0)
		rc = b->bug == BUG_HINT_UNCHECKED ? eio_drain(hf) : eio_fsync(hf);
	if (rc < 0)
		goto out;
	if (renameat(b->dirfd, dtmp, b->dirfd, dname) < 0 ||
	    renameat(b->dirfd, htmp, b->dirfd, hname) < 0) {
		rc = -errno;
		goto out;
	}
	/* the renames are durable before any old file is unlinked */
	if (b->bug != BUG_MERGE_NO_DIRSYNC) {
		rc = eio_dir_sync(b->dirfd);
		if (rc < 0)
			goto out;
	}
	/* switch: the key directory points into the merged file */
	for (size_t i = 0; i < nl; i++) {
		lv[i].e->a = x;
		lv[i].e->b = newoff[i];
	}
	for (size_t i = 0; i + 1 < b->nfiles; i++) {
		char name[64];
		if (b->files[i].id == x)
			continue;
		eng_name(name, sizeof(name), "", b->files[i].id, ".data");
		if (unlinkat(b->dirfd, name, 0) < 0) {
			rc = -errno;
			goto out;
		}
		eng_name(name, sizeof(name), "", b->files[i].id, ".hint");
		if (unlinkat(b->dirfd, name, 0) < 0 && errno != ENOENT) {
			rc = -errno;
			goto out;
		}
	}
	for (size_t i = 0; i + 1 < b->nfiles; i++)
		eio_close(b->files[i].f);
	b->files[0] = (struct bc_file){ x, df, 1 };
	b->files[1] = b->files[b->nfiles - 1];
	b->nfiles = 2;
	df = NULL;
	rc = 0;
out:
	if (df)
		eio_close(df);
	if (hf)
		eio_close(hf);
	free(lv);
	free(he);
	free(newoff);
	free(data);
	free(hint);
	for (size_t i = 0; fbuf && i < nf; i++)
		free(fbuf[i]);
	free(fbuf);
	free(flen);
	return rc;
}

/* the commit's write of the pending records */
static int write_pending(struct bc *b)
{
	size_t len;
	int rc;

	if (!b->plen)
		return 0;
	/* direct: whole blocks; the commit began on a boundary */
	len = eio_round_up(b->plen, b->block);
	memset(b->pend + b->plen, 0, len - b->plen);
	rc = eio_pwrite(active(b)->f, b->pend, len, b->pos);
	if (rc < 0) /* pending records and pos kept: retried by the next sync */
		return b->mode == EIO_URING ? bc_fail(b, rc) : rc;
	b->pos += (off_t)len;
	b->plen = 0;
	return 0;
}

/* after a commit that left the active file full (every commit in it
 * durable): the next active file, and the merge when enough are closed */
static int rotate(struct bc *b)
{
	int rc;

	if (b->pos < BC_FILE_MAX)
		return 0;
	rc = create_active(b, active(b)->id + 1);
	if (rc == 0 && b->nfiles - 1 >= BC_MERGE_FILES)
		rc = merge(b);
	return rc < 0 ? bc_fail(b, rc) : 0;
}

/* the commit; its failures follow "Faults" in the contract above */
static int bc_commit(struct bc *b)
{
	struct bc_file *act = active(b);
	int rc;

	if (b->failed)
		return -EIO;
	rc = write_pending(b);
	if (rc < 0)
		return rc;
	/* the commit point */
	rc = eio_sync(act->f);
	if (rc == -EIO && b->bug == BUG_FSYNC_RETRY)
		rc = eio_sync(act->f); /* the mistake: "succeeds", data gone */
	if (rc < 0)
		return bc_fail(b, rc);
	/* everything is durable, the commits in flight included */
	b->tick_done = b->tick;
	return rotate(b);
}

/*
 * The asynchronous commit (eng_ops.sync_start): the write and an
 * fdatasync behind it are submitted, and the next commit may be written
 * while this one flushes (uring; buffered and direct complete it here).
 * A commit that fills the active file waits for every commit in flight
 * before rotating (and merging), so a newer file exists only once every
 * record before it is durable.  The fsync-retry bug keeps the synchronous
 * path.
 */
static int bc_sync_start(void *e, uint64_t *ticket)
{
	struct bc *b = e;
	uint64_t et;
	int rc;

	*ticket = b->tick + 1;
	if (b->failed)
		return -EIO;
	if (b->bug == BUG_FSYNC_RETRY) {
		rc = bc_commit(b);
		if (rc == 0)
			b->tick_done = ++b->tick;
		return rc;
	}
	rc = write_pending(b);
	if (rc < 0)
		return rc;
	rc = eio_sync_start(active(b)->f, &et);
	if (rc < 0)
		return bc_fail(b, rc);
	b->tick++;
	b->act_base = b->tick - et;
	if (b->pos < BC_FILE_MAX)
		return 0;
	rc = eio_sync_wait(active(b)->f, et, 0);
	if (rc < 0)
		return bc_fail(b, rc);
	b->tick_done = b->tick;
	return rotate(b);
}

static int bc_sync_wait(void *e, uint64_t ticket, int nowait)
{
	struct bc *b = e;
	int rc;

	rc = eng_ticket_state(ticket, b->tick_done, b->tick, b->failed);
	if (rc)
		return rc;
	rc = eio_sync_wait(active(b)->f, ticket - b->act_base, nowait);
	if (rc < 0)
		return bc_fail(b, rc);
	if (rc == 1)
		b->tick_done = ticket;
	return rc;
}

/* ==== 7. engine interface ================================================ */

static void bc_close(void *e)
{
	struct bc *b = e;

	if (!b)
		return;
	for (size_t i = 0; i < b->nfiles; i++)
		eio_close(b->files[i].f);
	free(b->files);
	if (b->dirfd >= 0)
		close(b->dirfd);
	kvm_free(&b->kd);
	free(b->pend);
	free(b);
}

static int bc_open(void **out, const struct eng_opts *o)
{
	struct bc *b = calloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->dirfd = -1;
	b->mode = o->mode;
	b->bug = o->bug;
	rc = kvm_init(&b->kd);
	if (rc < 0)
		goto fail;
	rc = eio_dir_open(o->dir, 1);
	if (rc < 0)
		goto fail;
	b->dirfd = rc;
	rc = recover(b);
	if (rc < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	bc_close(b);
	return rc;
}

static int bc_apply(void *e, const struct eng_op *ops, int n)
{
	struct bc *b = e;
	size_t pl, total;
	uint64_t recoff;
	uint8_t *tmp;
	int rc;

	if (b->failed)
		return -EIO; /* a sync failed: nothing more goes in until reopened */
	rc = eng_ops_check(ops, n);
	if (rc < 0)
		return rc;
	pl = eng_ops_size(ops, n);
	total = bc_record_size(pl);
	rc = pend_reserve(b, total);
	if (rc < 0)
		return rc;
	tmp = malloc(pl);
	if (!tmp)
		return -ENOMEM;
	eng_ops_encode(tmp, ops, n);
	bc_record_encode(b->pend + b->plen, b->seq + 1, tmp, pl, b->bug == BUG_CRC_HEADER_ONLY);
	free(tmp);
	recoff = (uint64_t)b->pos + b->plen;
	b->plen += total;
	b->seq++;
	for (int i = 0; i < n; i++) {
		rc = kd_set(b, ops[i].key, ops[i].klen, ops[i].type == ENG_DEL, active(b)->id,
			    recoff + BC_RECHDR + value_off(ops, i),
			    ops[i].type == ENG_PUT ? ops[i].vlen : 0, b->seq);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int bc_get(void *e, const char *key, size_t klen, void **val, size_t *vlen)
{
	struct bc *b = e;
	struct kvm_ent *ent = kvm_get(&b->kd, key, klen);
	int rc;

	if (!ent || ent->tomb)
		return -ENOENT;
	*val = malloc(ent->vlen + 1);
	if (!*val)
		return -ENOMEM;
	rc = read_at(b, ent->a, ent->b, ent->vlen, *val);
	if (rc < 0) {
		free(*val);
		*val = NULL;
		return rc;
	}
	*vlen = ent->vlen;
	return 0;
}

static int bc_sync(void *e)
{
	return bc_commit(e);
}

static int bc_iterate(void *e, eng_iter_fn fn, void *arg)
{
	struct bc *b = e;
	uint8_t *v = malloc(ENG_MAX_VAL);
	int rc = v ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < b->kd.cap; i++) {
		struct kvm_ent *ent = &b->kd.t[i];
		if (!ent->used || ent->tomb)
			continue;
		if (ent->vlen > ENG_MAX_VAL)
			rc = -ENG_E_CORRUPT;
		else
			rc = read_at(b, ent->a, ent->b, ent->vlen, v);
		if (rc == 0)
			rc = fn(arg, ent->key, ent->klen, v, ent->vlen);
	}
	free(v);
	return rc;
}

/* the key directory against the data: each entry points at its own key */
static int bc_verify(void *e, char *msg, size_t cap)
{
	struct bc *b = e;
	char kbuf[ENG_MAX_KEY];

	for (size_t i = 0; i < b->kd.cap; i++) {
		struct kvm_ent *ent = &b->kd.t[i];
		if (!ent->used || ent->tomb)
			continue;
		if (ent->c > b->seq || ent->klen == 0 || ent->b < ent->klen ||
		    read_at(b, ent->a, ent->b - ent->klen, ent->klen, kbuf) < 0 ||
		    memcmp(kbuf, ent->key, ent->klen)) {
			snprintf(msg, cap, "bitcask: key directory entry '%.*s' does not point at "
				 "its record (file %llu offset %llu)", (int)ent->klen, ent->key,
				 (unsigned long long)ent->a, (unsigned long long)ent->b);
			return 1;
		}
	}
	return 0;
}

const struct eng_ops bc_engine = {
	.name = "bitcask",
	.bugs = bc_bugs,
	.open = bc_open,
	.apply = bc_apply,
	.get = bc_get,
	.sync = bc_sync,
	.sync_start = bc_sync_start,
	.sync_wait = bc_sync_wait,
	.iterate = bc_iterate,
	.verify = bc_verify,
	.close = bc_close,
};

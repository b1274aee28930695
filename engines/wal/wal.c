/*
 * engines/wal/wal.c - a key-value store that is its own write-ahead log.
 *
 *   1. format and durability contract
 *   2. seeded bugs
 *   3. record and segment codec (wal.h)
 *   4. recovery: checkpoint, then the segments, cutting the torn tail
 *   5. writing: group commit, segment rotation, checkpoint and retirement
 *   6. the engine interface
 *
 * ==== 1. On-disk format (all integers little-endian) ======================
 *
 * DIR/wal-<segno, 16 hex>.log   log segments, replayed in segno order
 * DIR/checkpoint                the table as of sequence number C
 * DIR/checkpoint.tmp            a checkpoint being written (removed at open)
 *
 * Segment header (the first wal_first_record(block) bytes, zero padded):
 *    0  u64  magic "TORNWAL1"
 *    8  u32  version (1)
 *   12  u32  block: commits are padded with zeros to a multiple of this
 *            (1 in buffered mode; the direct-I/O alignment in direct mode)
 *   16  u64  segno
 *   24  u64  first_seq: sequence number of the segment's first record
 *   32  u64  XXH3-64 of bytes 0..31
 *
 * Record (8-byte aligned, zero padded to a multiple of 8):
 *    0  u32  len: payload length, 1..2^20
 *    4  u32  0
 *    8  u64  seq
 *   16  u64  sum = XXH3_64bits_withSeed(payload, len, XXH3_64bits(bytes 0..15))
 *   24  payload: an operation list (engine.h); a batch is one record
 *
 * A record at offset p is valid when (rules checked in this order):
 *   R1  p + 24 + len fits in the file and 1 <= len <= 2^20
 *   R2  seq is the previous record's seq + 1 (the first: the header's
 *       first_seq)
 *   R3  sum matches
 *   R4  the payload decodes as an operation list filling exactly len
 * Padding: when block > 1 and every byte from p to the next multiple of
 * block is zero (p not itself a multiple), the scan resumes there.  The log
 * ends at the first invalid record: that is the torn tail.  Recovery
 * truncates the segment there (and fsyncs), so that later appends never sit
 * behind garbage, and removes any later segment.
 *
 * Checkpoint:
 *    0  u64  magic "TORNCKP1"      16  u64  seq C
 *    8  u32  version (1)           24  u64  body length B
 *   12  u32  count                 32  B bytes of entries: u8 klen, u8 0,
 *                                      u16 0, u32 vlen, key, value
 *   32+B u64 XXH3-64 of bytes 0..32+B-1   (then zero padding in direct mode)
 *
 * ==== Durability contract ==================================================
 * Commit point: an operation is durable when the fdatasync of the segment
 * holding its record returned, the segment having been made durable in
 * its directory (header written, fsync, directory fsync) when it was
 * created.  sync() writes every pending record with one write (group
 * commit) and one fdatasync.  In direct mode a commit starts on a block
 * boundary and is zero padded to the next, so a durable block is never
 * rewritten.  A segment is closed (rotated) after a commit leaves it over
 * WAL_SEG_MAX bytes.  A checkpoint is written when WAL_CKPT_SEGS segments
 * are closed: write checkpoint.tmp, fsync, rename, fsync the directory;
 * only then are the closed segments unlinked (records <= C are skipped
 * at replay, so a segment coming back after a crash is harmless).
 * Recovery replays exactly the records C+1, C+2, ... without a hole:
 * after any crash the state is that of a prefix of the operations, and
 * the prefix includes every operation whose sync() returned.
 *
 * ==== Faults (failed writes and syncs while running) ======================
 * An operation is acknowledged only by a sync() that returned 0; a sync()
 * that fails acknowledges nothing it covered.
 *   - The commit's write fails (ENOSPC, EDQUOT, EIO; a short write the
 *     layer could not finish; EINTR is retried by eio, see eio.h): sync()
 *     returns the error and changes nothing in memory: the pending records
 *     and the append position stay, so a later sync() writes the same
 *     records at the same offset (space may have been freed).  A prefix
 *     left on disk by a short write is behind the last valid record:
 *     recovery cuts it (R1/R3 fail there) like any torn tail.
 *   - The fdatasync fails (or, in uring mode, any completion: a failed
 *     write is only seen with the sync): fatal for the handle.  Linux may
 *     have dropped the dirty pages and will not report it again, so no
 *     later sync can prove those records durable.  Every later apply() and
 *     sync() returns -EIO; get() still serves the table in memory
 *     (acknowledged operations included); reopening runs recovery, which
 *     rebuilds the table from what is durable.
 *   - Anything failing after the commit point (rotation, the checkpoint):
 *     fatal too, the handle being half-way between two states.
 * Seeded bugs fsync-retry and short-write break exactly these rules.
 */
#include "engines/wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "engines/engine.h"

#define WAL_SEG_MAX (16 * 1024)
/* where commits overlap (eio_sync_overlaps: uring), a new segment is
 * written with zeros up to here (then fsynced), so that commits overwrite
 * written blocks: no extent or size change for the fdatasync to journal,
 * which is what lets 16 flushes in flight cost little more than one (a
 * commit past it extends the file, still correct).  One commit at a time
 * gains nothing from it (measured: 180 us extending, 186 overwriting), so
 * buffered and direct segments grow as they are written */
#define WAL_PREALLOC (WAL_SEG_MAX + 4096)
#define WAL_CKPT_SEGS 2

/* ==== 2. seeded bugs ===================================================== */

enum {
	BUG_NO_DIRSYNC_SEGMENT,
	BUG_TAIL_NO_CHECKSUM,
	BUG_CHECKSUM_HEADER_ONLY,
	BUG_SYNC_FILE_RANGE,
	BUG_CKPT_NO_FSYNC,
	BUG_FSYNC_RETRY,
	BUG_SHORT_WRITE,
};

static const struct eng_bug wal_bugs[] = {
	{ "no-dirsync-segment",
	  "a new segment is not made durable in its directory: after a crash the segment "
	  "and its acknowledged records are gone" },
	{ "tail-no-checksum",
	  "recovery accepts a record without verifying its checksum: a torn tail replays "
	  "a half-written value" },
	{ "checksum-header-only",
	  "the record checksum covers only the header: a record torn inside its payload "
	  "passes as valid" },
	{ "sync-file-range",
	  "commit uses sync_file_range, which flushes no metadata and no device cache: "
	  "acknowledged records are lost" },
	{ "ckpt-no-fsync",
	  "the checkpoint is renamed into place before its contents are fsynced: after a "
	  "crash it is empty or torn while the segments it replaced are deleted" },
	{ "fsync-retry",
	  "a commit whose fdatasync fails with EIO retries it and acknowledges when the "
	  "retry succeeds: the records the failed one dropped are lost (fsyncgate)" },
	{ "short-write",
	  "a short write of a commit is taken as complete: the record is cut short on disk "
	  "and recovery ends the log there, losing it and every later acknowledged one" },
	{ NULL, NULL },
};

struct wal {
	int dirfd;
	enum eio_mode mode;
	int bug;
	struct kvmap map;
	uint64_t seq;      /* last applied */
	uint64_t ckpt_seq; /* C of the durable checkpoint */
	/* the open segment */
	struct eio_file *seg;
	uint64_t segno;
	size_t block;
	off_t pos;
	/* pending records of the next commit (aligned buffer) */
	uint8_t *pend;
	size_t plen, pcap;
	/* closed segments not yet covered by a checkpoint */
	unsigned closed;
	/* a sync failed: writes refused until reopened (see "Faults") */
	int failed;
	/* asynchronous commits (sync_start): tickets issued, the highest one
	 * known durable, and the open segment's eio ticket k being engine
	 * ticket seg_base + k (every ticket of an earlier segment is durable:
	 * rotation waits for them) */
	uint64_t tick, tick_done, seg_base;
};

/* eio_open flags for files the engine writes (the short-write bug) */
static int wflags(const struct wal *w)
{
	return w->bug == BUG_SHORT_WRITE ? EIO_BUG_SHORT : 0;
}

/* the handle can no longer vouch for what is durable: refuse writes */
static int wal_fail(struct wal *w, int rc)
{
	w->failed = 1;
	return rc;
}

/* ==== 3. codec =========================================================== */

size_t wal_first_record(size_t block)
{
	return block > 64 ? block : 64;
}

size_t wal_record_size(size_t payload)
{
	return eio_round_up(WAL_RECHDR + payload, 8);
}

/*
 * sum = XXH3_64bits_withSeed(payload, len, XXH3_64bits(header bytes 0..15)):
 * the header's hash seeds the payload's, so one value covers both.
 */
static uint64_t rec_sum(const uint8_t *rec, size_t len, int scope)
{
	uint64_t h = eng_hash(rec, 16);

	if (scope == WAL_SUM_HEADER)
		return h;
	return XXH3_64bits_withSeed(rec + WAL_RECHDR, len, h);
}

void wal_record_encode(uint8_t *dst, uint64_t seq, const void *payload, size_t len, int scope)
{
	size_t total = wal_record_size(len);

	put_u32(dst, (uint32_t)len);
	put_u32(dst + 4, 0);
	put_u64(dst + 8, seq);
	memcpy(dst + WAL_RECHDR, payload, len);
	memset(dst + WAL_RECHDR + len, 0, total - WAL_RECHDR - len);
	put_u64(dst + 16, rec_sum(dst, len, scope == WAL_SUM_HEADER ? scope : WAL_SUM_FULL));
}

void wal_seghdr_encode(uint8_t *dst, uint32_t block, uint64_t segno, uint64_t first_seq)
{
	memset(dst, 0, WAL_SEGHDR);
	put_u64(dst, WAL_MAGIC);
	put_u32(dst + 8, WAL_VERSION);
	put_u32(dst + 12, block);
	put_u64(dst + 16, segno);
	put_u64(dst + 24, first_seq);
	put_u64(dst + 32, eng_hash(dst, 32));
}

int wal_seghdr_decode(const uint8_t *src, size_t len, uint32_t *block, uint64_t *segno,
		      uint64_t *first_seq)
{
	if (len < WAL_SEGHDR || get_u64(src) != WAL_MAGIC)
		return -ENG_E_FORMAT;
	if (get_u32(src + 8) != WAL_VERSION)
		return -ENG_E_FORMAT;
	if (get_u64(src + 32) != eng_hash(src, 32))
		return -ENG_E_CORRUPT;
	*block = get_u32(src + 12);
	if (*block == 0 || *block > 65536 || (*block & (*block - 1)))
		return -ENG_E_CORRUPT;
	*segno = get_u64(src + 16);
	*first_seq = get_u64(src + 24);
	return 0;
}

int wal_scan(const uint8_t *buf, size_t len, size_t block, uint64_t first_seq, int scope,
	     wal_rec_fn fn, void *arg, size_t *end, uint64_t *next_seq)
{
	size_t p = wal_first_record(block), last = p;
	uint64_t seq = first_seq;
	int rc = 0;

	while (p < len) {
		size_t rlen, total;
		struct eng_op *ops;
		int n;

		if (block > 1 && p % block) {
			size_t b = eio_round_up(p, block);
			size_t stop = b < len ? b : len;
			if (eng_all_zero(buf + p, stop - p)) {
				p = b; /* commit padding: part of the valid log */
				last = stop;
				continue;
			}
		}
		if (len - p < WAL_RECHDR)
			break;
		rlen = get_u32(buf + p);
		if (rlen == 0 || rlen > WAL_MAX_PAYLOAD || len - p - WAL_RECHDR < rlen) /* R1 */
			break;
		total = wal_record_size(rlen);
		if (get_u64(buf + p + 8) != seq) /* R2 */
			break;
		if (scope != WAL_SUM_NONE &&
		    get_u64(buf + p + 16) != rec_sum(buf + p, rlen, scope)) /* R3 */
			break;
		if (eng_ops_decode(buf + p + WAL_RECHDR, rlen, &ops, &n) < 0) /* R4 */
			break;
		free(ops);
		if (fn) {
			rc = fn(arg, seq, buf + p + WAL_RECHDR, rlen);
			if (rc < 0)
				break;
		}
		seq++;
		p += total < len - p ? total : len - p;
		last = p;
	}
	*end = last;
	*next_seq = seq;
	return rc < 0 ? rc : 0;
}

/* ==== 4. recovery ======================================================== */

static int apply_ops(struct kvmap *m, const struct eng_op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = kvm_set(m, ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen,
				 ops[i].type == ENG_DEL, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_checkpoint(struct wal *w)
{
	uint8_t *buf = NULL;
	size_t len, pos = 32, blen;
	int rc;

	rc = eio_read_file(w->dirfd, "checkpoint", (void **)&buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = -ENG_E_CORRUPT;
	if (len < 40 || get_u64(buf) != WAL_CKPT_MAGIC || get_u32(buf + 8) != WAL_VERSION) {
		eng_seterr("checkpoint: bad magic or version");
		goto out;
	}
	blen = get_u64(buf + 24);
	if (blen > len - 40 || get_u64(buf + 32 + blen) != eng_hash(buf, 32 + blen)) {
		eng_seterr("checkpoint: checksum mismatch");
		goto out;
	}
	w->ckpt_seq = get_u64(buf + 16);
	for (uint32_t i = 0, n = get_u32(buf + 12); i < n; i++) {
		size_t kl, vl;

		if (32 + blen - pos < 8 || 32 + blen - pos - 8 < (size_t)buf[pos] + get_u32(buf + pos + 4)) {
			eng_seterr("checkpoint: entry %u overruns the body", i);
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		kl = buf[pos];
		vl = get_u32(buf + pos + 4);
		rc = kvm_set(&w->map, (char *)buf + pos + 8, kl, buf + pos + 8 + kl, vl, 0, NULL);
		if (rc < 0)
			goto out;
		pos += 8 + kl + vl;
	}
	rc = 0;
	if (pos != 32 + blen) {
		eng_seterr("checkpoint: entry list does not match its length");
		rc = -ENG_E_CORRUPT;
	}
out:
	free(buf);
	return rc;
}

static int replay_fn(void *arg, uint64_t seq, const uint8_t *payload, size_t len)
{
	struct wal *w = arg;
	struct eng_op *ops;
	int n, rc;

	if (seq <= w->ckpt_seq)
		return 0; /* already in the checkpoint */
	if (seq != w->seq + 1) {
		eng_seterr("wal: record seq %llu follows %llu: a hole in the log",
			   (unsigned long long)seq, (unsigned long long)w->seq);
		return -ENG_E_CORRUPT;
	}
	rc = eng_ops_decode(payload, len, &ops, &n);
	if (rc < 0)
		return rc;
	rc = apply_ops(&w->map, ops, n);
	free(ops);
	w->seq = seq;
	return rc;
}

static int create_segment(struct wal *w, uint64_t segno);
static int prealloc(struct wal *w);

static int recover(struct wal *w)
{
	uint64_t *segs = NULL, maxseg;
	size_t nseg = 0, i;
	int rc, scope;
	char name[64];

	/* a checkpoint that never got renamed is garbage */
	if (unlinkat(w->dirfd, "checkpoint.tmp", 0) < 0 && errno != ENOENT)
		return -errno;
	rc = load_checkpoint(w);
	if (rc < 0)
		return rc;
	w->seq = w->ckpt_seq;
	rc = eng_list(w->dirfd, "wal-", ".log", &segs, &nseg);
	if (rc < 0)
		return rc;
	maxseg = nseg ? segs[nseg - 1] : 0;
	scope = w->bug == BUG_TAIL_NO_CHECKSUM ? WAL_SUM_NONE :
		w->bug == BUG_CHECKSUM_HEADER_ONLY ? WAL_SUM_HEADER : WAL_SUM_FULL;
	for (i = 0; i < nseg; i++) {
		uint8_t *buf = NULL;
		size_t len, end;
		uint32_t block;
		uint64_t segno, first, next;
		int cut;

		eng_name(name, sizeof(name), "wal-", segs[i], ".log");
		rc = eio_read_file(w->dirfd, name, (void **)&buf, &len);
		if (rc < 0)
			goto out;
		rc = wal_seghdr_decode(buf, len, &block, &segno, &first);
		if (rc < 0 || segno != segs[i]) {
			free(buf);
			if (i + 1 == nseg) {
				/* created, header not yet durable: never used */
				if (unlinkat(w->dirfd, name, 0) < 0) {
					rc = -errno;
					goto out;
				}
				nseg--;
				break;
			}
			eng_seterr("wal: %s: bad segment header", name);
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		if (first > w->seq + 1) {
			free(buf);
			eng_seterr("wal: %s starts at seq %llu, the log holds %llu: a hole", name,
				   (unsigned long long)first, (unsigned long long)w->seq);
			rc = -ENG_E_CORRUPT;
			goto out;
		}
		rc = wal_scan(buf, len, block, first, scope, replay_fn, w, &end, &next);
		if (rc < 0) {
			free(buf);
			goto out;
		}
		/* zeros behind the last record are the preallocated space; any
		 * other byte there is a torn or stale tail (a commit that was in
		 * flight with an earlier one lost) */
		cut = end < len && !eng_all_zero(buf + end, len - end);
		free(buf);
		w->segno = segs[i];
		w->block = block;
		w->pos = (off_t)end;
		if (cut) {
			/* the torn tail: drop it and every later segment.  The
			 * truncation is what keeps a stale record (commit N+2
			 * durable, N+1 lost) from reading back as valid once new
			 * commits fill N+1's place with records of the same size */
			rc = eio_open(&w->seg, w->dirfd, name, 0, EIO_BUFFERED);
			if (rc < 0)
				goto out;
			rc = eio_truncate(w->seg, (off_t)end);
			/* the cut is durable before anything is appended behind it */
			if (rc == 0)
				rc = eio_fsync(w->seg);
			eio_close(w->seg);
			w->seg = NULL;
			if (rc < 0)
				goto out;
			for (size_t j = i + 1; j < nseg; j++) {
				eng_name(name, sizeof(name), "wal-", segs[j], ".log");
				if (unlinkat(w->dirfd, name, 0) < 0) {
					rc = -errno;
					goto out;
				}
			}
			nseg = i + 1;
			break;
		}
	}
	if (nseg == 0) {
		/* above every number ever used, so a stale segment sorts first */
		rc = create_segment(w, maxseg + 1);
		goto out;
	}
	/* append to the last segment */
	eng_name(name, sizeof(name), "wal-", w->segno, ".log");
	rc = eio_open(&w->seg, w->dirfd, name, wflags(w), w->mode);
	if (rc < 0)
		goto out;
	if (eio_align(w->seg) > 1 && w->block != eio_align(w->seg)) {
		/* written in another mode: continue in a fresh segment */
		eio_close(w->seg);
		w->seg = NULL;
		rc = create_segment(w, maxseg + 1);
		goto out;
	}
	w->pos = (off_t)eio_round_up((size_t)w->pos, w->block);
	w->closed = (unsigned)(nseg - 1);
	rc = prealloc(w);
out:
	free(segs);
	return rc;
}

/* ==== 5. writing ========================================================= */

static int create_segment(struct wal *w, uint64_t segno)
{
	char name[64];
	uint8_t *hdr = NULL;
	size_t hlen, plen;
	int rc;

	eng_name(name, sizeof(name), "wal-", segno, ".log");
	rc = eio_open(&w->seg, w->dirfd, name, EIO_CREATE | EIO_TRUNC | wflags(w), w->mode);
	if (rc < 0)
		return rc;
	w->segno = segno;
	w->block = eio_align(w->seg);
	w->seg_base = w->tick; /* the new file's eio tickets start at 1 */
	hlen = wal_first_record(w->block);
	/* the header, then (uring) zeros up to WAL_PREALLOC, in one write */
	plen = eio_sync_overlaps(w->seg) ? eio_round_up(WAL_PREALLOC, w->block) : hlen;
	hdr = eio_alloc(w->seg, plen);
	if (!hdr)
		return -ENOMEM;
	wal_seghdr_encode(hdr, (uint32_t)w->block, segno, w->seq + 1);
	/* preallocating: durable on return (RWF_DSYNC), so no crash leaves
	 * part of it (which would read as zeros anyway, or as garbage that
	 * fails the header's checksum) */
	if (plen > hlen)
		rc = eio_pwrite_sync(w->seg, hdr, plen, 0);
	else
		rc = eio_pwrite(w->seg, hdr, plen, 0);
	free(hdr);
	if (rc < 0)
		return rc;
	/* the header, the zeros and the file size are durable before records
	 * follow: a commit is then an overwrite */
	rc = eio_fsync(w->seg);
	if (rc < 0)
		return rc;
	w->pos = (off_t)hlen;
	/* the segment's name is durable, or its records vanish with it */
	if (w->bug != BUG_NO_DIRSYNC_SEGMENT)
		rc = eio_dir_sync(w->dirfd);
	return rc;
}

/* the open segment reopened by recovery: zeros from the append position
 * to WAL_PREALLOC where the file is shorter (a cut tail, or a segment of
 * an older version) and commits overlap, durable before the first commit */
static int prealloc(struct wal *w)
{
	w->seg_base = w->tick;
	return eio_zero_ahead(w->seg, w->pos, (off_t)eio_round_up(WAL_PREALLOC, w->block));
}

static int pend_reserve(struct wal *w, size_t more)
{
	size_t need = w->plen + more + 4096;
	uint8_t *n;

	if (need <= w->pcap)
		return 0;
	need = eio_round_up(need * 2, 4096);
	n = eio_alloc_any(need);
	if (!n)
		return -ENOMEM;
	if (w->plen)
		memcpy(n, w->pend, w->plen);
	free(w->pend);
	w->pend = n;
	w->pcap = need;
	return 0;
}

static int write_checkpoint(struct wal *w)
{
	struct eio_file *f = NULL;
	struct kvm_ent **ents = NULL;
	uint8_t *buf = NULL;
	size_t n = 0, blen = 0, pos = 32, cnt = 0;
	uint64_t *segs = NULL;
	size_t nseg = 0;
	char name[64];
	int rc;

	rc = kvm_sorted(&w->map, &ents, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!ents[i]->tomb)
			blen += 8 + ents[i]->klen + ents[i]->vlen;
	rc = eio_open(&f, w->dirfd, "checkpoint.tmp", EIO_CREATE | EIO_TRUNC | wflags(w),
		      w->mode);
	if (rc < 0)
		goto out;
	buf = eio_alloc(f, 40 + blen);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct kvm_ent *e = ents[i];
		if (e->tomb)
			continue;
		buf[pos] = (uint8_t)e->klen;
		put_u32(buf + pos + 4, (uint32_t)e->vlen);
		memcpy(buf + pos + 8, e->key, e->klen);
		memcpy(buf + pos + 8 + e->klen, e->val, e->vlen);
		pos += 8 + e->klen + e->vlen;
		cnt++;
	}
	put_u64(buf, WAL_CKPT_MAGIC);
	put_u32(buf + 8, WAL_VERSION);
	put_u32(buf + 12, (uint32_t)cnt);
	put_u64(buf + 16, w->seq);
	put_u64(buf + 24, blen);
	put_u64(buf + 32 + blen, eng_hash(buf, 32 + blen));
	rc = eio_pwrite(f, buf, eio_round_up(40 + blen, eio_align(f)), 0);
	if (rc < 0)
		goto out;
	/* fsync checkpoint.tmp, rename it over checkpoint, fsync the directory */
	rc = eio_commit_rename(f, w->dirfd, "checkpoint.tmp", "checkpoint",
			       w->bug == BUG_CKPT_NO_FSYNC, 0);
	if (rc < 0)
		goto out;
	w->ckpt_seq = w->seq;
	/* retire every closed segment: all their records are <= C now */
	rc = eng_list(w->dirfd, "wal-", ".log", &segs, &nseg);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < nseg; i++) {
		if (segs[i] >= w->segno)
			continue;
		eng_name(name, sizeof(name), "wal-", segs[i], ".log");
		if (unlinkat(w->dirfd, name, 0) < 0) {
			rc = -errno;
			goto out;
		}
	}
	w->closed = 0;
out:
	free(segs);
	free(buf);
	free(ents);
	if (f)
		eio_close(f);
	return rc;
}

/* the commit's write of the pending records */
static int write_pending(struct wal *w)
{
	size_t len;
	int rc;

	if (!w->plen)
		return 0;
	/* direct: pad the commit to whole blocks; it began on a boundary */
	len = eio_round_up(w->plen, w->block);
	memset(w->pend + w->plen, 0, len - w->plen);
	rc = eio_pwrite(w->seg, w->pend, len, w->pos);
	if (rc < 0) /* pending records and pos kept: retried by the next sync */
		return w->mode == EIO_URING ? wal_fail(w, rc) : rc;
	w->pos += (off_t)len;
	w->plen = 0;
	return 0;
}

/* after a commit that left the segment full (every commit in it durable):
 * the next segment, and the checkpoint when enough are closed */
static int rotate(struct wal *w)
{
	int rc;

	if (w->pos < WAL_SEG_MAX)
		return 0;
	eio_close(w->seg);
	w->seg = NULL;
	w->closed++;
	rc = create_segment(w, w->segno + 1);
	if (rc == 0 && w->closed >= WAL_CKPT_SEGS)
		rc = write_checkpoint(w);
	return rc < 0 ? wal_fail(w, rc) : 0;
}

/* the commit; its failures follow "Faults" in the contract above */
static int wal_commit(struct wal *w)
{
	int rc;

	if (w->failed)
		return -EIO;
	rc = write_pending(w);
	if (rc < 0)
		return rc;
	if (w->bug == BUG_SYNC_FILE_RANGE) {
		rc = eio_drain(w->seg);
		if (rc < 0)
			return wal_fail(w, rc);
		/* the mistake: starts writeback, makes nothing durable */
		if (sync_file_range(eio_fd(w->seg), 0, 0,
				    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					    SYNC_FILE_RANGE_WAIT_AFTER) < 0)
			return wal_fail(w, -errno);
	} else {
		/* the commit point: every record written so far is durable */
		rc = eio_sync(w->seg);
		if (rc == -EIO && w->bug == BUG_FSYNC_RETRY)
			rc = eio_sync(w->seg); /* the mistake: "succeeds", data gone */
		if (rc < 0)
			return wal_fail(w, rc);
	}
	/* everything is durable, the commits in flight included */
	w->tick_done = w->tick;
	return rotate(w);
}

/*
 * The asynchronous commit (eng_ops.sync_start): the pending records'
 * write and an fdatasync behind it are submitted, and the next commit may
 * be written while this one flushes (uring; buffered and direct complete
 * it here).  A commit that leaves the segment full waits for every commit
 * in flight before rotating, so that a segment exists only once every
 * record before it is durable.  The seeded bugs of the commit
 * (sync-file-range, fsync-retry) keep the synchronous path.
 */
static int wal_sync_start(void *e, uint64_t *ticket)
{
	struct wal *w = e;
	uint64_t et;
	int rc;

	*ticket = w->tick + 1;
	if (w->failed)
		return -EIO;
	if (w->bug == BUG_SYNC_FILE_RANGE || w->bug == BUG_FSYNC_RETRY) {
		rc = wal_commit(w);
		if (rc == 0)
			w->tick_done = ++w->tick;
		return rc;
	}
	rc = write_pending(w);
	if (rc < 0)
		return rc;
	rc = eio_sync_start(w->seg, &et);
	if (rc < 0)
		return wal_fail(w, rc);
	w->tick++;
	w->seg_base = w->tick - et;
	if (w->pos < WAL_SEG_MAX)
		return 0;
	rc = eio_sync_wait(w->seg, et, 0);
	if (rc < 0)
		return wal_fail(w, rc);
	w->tick_done = w->tick;
	return rotate(w);
}

static int wal_sync_wait(void *e, uint64_t ticket, int nowait)
{
	struct wal *w = e;
	int rc;

	rc = eng_ticket_state(ticket, w->tick_done, w->tick, w->failed);
	if (rc)
		return rc;
	rc = eio_sync_wait(w->seg, ticket - w->seg_base, nowait);
	if (rc < 0)
		return wal_fail(w, rc);
	if (rc == 1)
		w->tick_done = ticket;
	return rc;
}

/* ==== 6. engine interface ================================================ */

static void wal_close(void *e)
{
	struct wal *w = e;

	if (!w)
		return;
	if (w->seg)
		eio_close(w->seg);
	if (w->dirfd >= 0)
		close(w->dirfd);
	kvm_free(&w->map);
	free(w->pend);
	free(w);
}

static int wal_open(void **out, const struct eng_opts *o)
{
	struct wal *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->dirfd = -1;
	w->mode = o->mode;
	w->bug = o->bug;
	rc = kvm_init(&w->map);
	if (rc < 0)
		goto fail;
	rc = eio_dir_open(o->dir, 1);
	if (rc < 0)
		goto fail;
	w->dirfd = rc;
	rc = recover(w);
	if (rc < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	wal_close(w);
	return rc;
}

static int wal_apply(void *e, const struct eng_op *ops, int n)
{
	struct wal *w = e;
	size_t plen, total;
	uint8_t *tmp;
	int rc, scope;

	if (w->failed)
		return -EIO; /* a sync failed: nothing more goes in until reopened */
	rc = eng_ops_check(ops, n);
	if (rc < 0)
		return rc;
	plen = eng_ops_size(ops, n);
	total = wal_record_size(plen);
	rc = pend_reserve(w, total);
	if (rc < 0)
		return rc;
	tmp = malloc(plen);
	if (!tmp)
		return -ENOMEM;
	eng_ops_encode(tmp, ops, n);
	scope = w->bug == BUG_CHECKSUM_HEADER_ONLY ? WAL_SUM_HEADER : WAL_SUM_FULL;
	wal_record_encode(w->pend + w->plen, w->seq + 1, tmp, plen, scope);
	free(tmp);
	rc = apply_ops(&w->map, ops, n);
	if (rc < 0)
		return rc;
	w->plen += total;
	w->seq++;
	return 0;
}

static int wal_get(void *e, const char *key, size_t klen, void **val, size_t *vlen)
{
	struct wal *w = e;
	struct kvm_ent *ent = kvm_get(&w->map, key, klen);

	if (!ent || ent->tomb)
		return -ENOENT;
	*val = malloc(ent->vlen + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, ent->val, ent->vlen);
	*vlen = ent->vlen;
	return 0;
}

static int wal_sync(void *e)
{
	return wal_commit(e);
}

static int wal_iterate(void *e, eng_iter_fn fn, void *arg)
{
	struct wal *w = e;

	for (size_t i = 0; i < w->map.cap; i++) {
		struct kvm_ent *ent = &w->map.t[i];
		if (ent->used && !ent->tomb) {
			int rc = fn(arg, ent->key, ent->klen, ent->val, ent->vlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int wal_verify(void *e, char *msg, size_t cap)
{
	struct wal *w = e;

	if (w->seq < w->ckpt_seq) {
		snprintf(msg, cap, "wal: replayed seq %llu is behind the checkpoint's %llu",
			 (unsigned long long)w->seq, (unsigned long long)w->ckpt_seq);
		return 1;
	}
	return 0;
}

const struct eng_ops wal_engine = {
	.name = "wal",
	.bugs = wal_bugs,
	.open = wal_open,
	.apply = wal_apply,
	.get = wal_get,
	.sync = wal_sync,
	.sync_start = wal_sync_start,
	.sync_wait = wal_sync_wait,
	.iterate = wal_iterate,
	.verify = wal_verify,
	.close = wal_close,
};

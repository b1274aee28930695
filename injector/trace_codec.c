/*
 * trace_codec.c - one trace record <-> struct torn_event.
 *
 * The format is specified in include/torn/trace.h.  This file is linked into
 * the shim as well as the tools, so it never allocates, never touches errno
 * and calls nothing but memcpy and the (inlined) xxHash functions.
 *
 * Sections: little-endian helpers, hashing, encoding, decoding, names.
 */
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "torn/trace.h"

/* ---- little-endian helpers (x86-64 and aarch64 are LE; keep it explicit) */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* One store or load each: gcc -O2 does not unroll the byte loops below, so
 * they cost ~50 instructions per put64, ~600 per encoded record (the shim
 * encodes two records per recorded write: issue 2's benchmark). */
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
#else
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
#endif

/* ---- hashing */

torn_hash trace_hash(const void *data, size_t len)
{
	XXH128_hash_t h = XXH3_128bits(data, len);
	torn_hash r = { h.low64, h.high64 };
	return r;
}

torn_hash trace_chunk(const struct torn_event *ev, uint32_t i)
{
	torn_hash h = { get64(ev->chunks + 16u * i), get64(ev->chunks + 16u * i + 8) };
	return h;
}

/* The record checksum: XXH3-64 of the record up to its data (the first
 * len - data_len bytes) with bytes 24..31 taken as 0.  A blob's data is left
 * out: its content hash (chunks[0], itself covered) already names those
 * bytes and the reader checks them against it, so hashing them twice would
 * only double the cost of every recorded write. */
static uint64_t rec_checksum(const uint8_t *rec, size_t len, size_t data_len)
{
	static const uint8_t zero[8];
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, rec, 24);
	XXH3_64bits_update(&st, zero, 8);
	XXH3_64bits_update(&st, rec + 32, len - data_len - 32);
	return XXH3_64bits_digest(&st);
}

/* ---- encoding */

size_t trace_encoded_len(const struct torn_event *ev)
{
	return TORN_REC_FIXED_LEN + (size_t)ev->path_len + ev->path2_len + ev->text_len +
	       16u * (size_t)ev->nchunks + ev->data_len;
}

long trace_encode(const struct torn_event *ev, void *buf, size_t cap)
{
	long len = trace_encode_unsummed(ev, buf, cap);

	/* Bytes 24..31 are zero here: the one-shot hash equals rec_checksum(). */
	if (len > 0)
		put64((uint8_t *)buf + 24, XXH3_64bits(buf, (size_t)len - ev->data_len));
	return len;
}

long trace_encode_unsummed(const struct torn_event *ev, void *buf, size_t cap)
{
	size_t len = trace_encoded_len(ev);
	uint8_t *p = buf, *v;

	if (len > cap || len > TORN_REC_MAX || ev->path_len > 0xffff || ev->path2_len > 0xffff)
		return -TORN_E_TOOBIG;

	put32(p + 0, (uint32_t)len);
	put16(p + 4, ev->type);
	put16(p + 6, ev->flags);
	put64(p + 8, ev->seq);
	put32(p + 16, ev->pid);
	put32(p + 20, ev->tid);
	put64(p + 24, 0);
	put64(p + 32, ev->handle);
	put64(p + 40, ev->ino);
	put64(p + 48, (uint64_t)ev->off);
	put64(p + 56, (uint64_t)ev->len);
	put64(p + 64, (uint64_t)ev->result);
	put64(p + 72, ev->aux_seq);
	put32(p + 80, ev->oflags);
	put32(p + 84, ev->mode);
	put32(p + 88, ev->aux);
	put32(p + 92, ev->dio_mem_align);
	put32(p + 96, ev->dio_offset_align);
	put32(p + 100, ev->blksize);
	put16(p + 104, (uint16_t)ev->path_len);
	put16(p + 106, (uint16_t)ev->path2_len);
	put32(p + 108, ev->text_len);
	put32(p + 112, ev->nchunks);
	put32(p + 116, ev->data_len);
	put64(p + 120, 0);

	v = p + TORN_REC_FIXED_LEN;
	if (ev->path_len) memcpy(v, ev->path, ev->path_len);
	v += ev->path_len;
	if (ev->path2_len) memcpy(v, ev->path2, ev->path2_len);
	v += ev->path2_len;
	if (ev->text_len) memcpy(v, ev->text, ev->text_len);
	v += ev->text_len;
	if (ev->nchunks) memcpy(v, ev->chunks, 16u * (size_t)ev->nchunks);
	v += 16u * (size_t)ev->nchunks;
	if (ev->data_len) memcpy(v, ev->data, ev->data_len);
	return (long)len;
}

void trace_encode_header(void *buf, uint64_t created_ns)
{
	uint8_t *p = buf;

	memset(p, 0, TORN_TRACE_HDR_LEN);
	memcpy(p, TORN_TRACE_MAGIC, 8);
	put32(p + 8, TORN_TRACE_VERSION);
	put32(p + 12, TORN_TRACE_HDR_LEN);
	put64(p + 24, created_ns);
	put64(p + 56, XXH3_64bits(p, 56));
}

int trace_check_header(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (len < 8 || memcmp(p, TORN_TRACE_MAGIC, 8) != 0)
		return -TORN_E_MAGIC;
	if (len < TORN_TRACE_HDR_LEN)
		return -TORN_E_MAGIC;
	if (get32(p + 8) != TORN_TRACE_VERSION || get32(p + 12) != TORN_TRACE_HDR_LEN)
		return -TORN_E_VERSION;
	if (get64(p + 56) != XXH3_64bits(p, 56))
		return -TORN_E_HDRSUM;
	return 0;
}

/* ---- decoding */

int trace_path_ok(const char *p, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return 1;                       /* the root itself */
	if (len > TORN_PATH_MAX)
		return 0;
	while (i < len) {
		size_t s = i;
		while (i < len && p[i] != '/') {
			if (p[i] == '\0')
				return 0;
			i++;
		}
		size_t n = i - s;
		if (n == 0)                     /* leading '/', "//" or trailing '/' */
			return 0;
		if ((n == 1 && p[s] == '.') || (n == 2 && p[s] == '.' && p[s + 1] == '.'))
			return 0;
		if (i < len && ++i == len)      /* trailing '/' */
			return 0;
	}
	return 1;
}

static int type_known(unsigned t)
{
	return trace_type_name(t) != NULL;
}

long trace_decode(const void *buf, size_t avail, struct torn_event *ev)
{
	const uint8_t *p = buf;
	uint32_t len;
	size_t want;

	if (avail < 4)
		return 0;
	len = get32(p);
	if (len < TORN_REC_FIXED_LEN || len > TORN_REC_MAX)
		return -TORN_E_RECLEN;
	if (avail < len)
		return 0;
	/* data_len says where the checksummed part ends: one pointing outside
	 * the record cannot match (it is corrupt, rule 3). */
	if (get32(p + 116) > len - TORN_REC_FIXED_LEN)
		return -TORN_E_CHECKSUM;
	if (get64(p + 24) != rec_checksum(p, len, get32(p + 116)))
		return -TORN_E_CHECKSUM;

	ev->type = get16(p + 4);
	ev->flags = get16(p + 6);
	ev->seq = get64(p + 8);
	ev->pid = get32(p + 16);
	ev->tid = get32(p + 20);
	ev->handle = get64(p + 32);
	ev->ino = get64(p + 40);
	ev->off = (int64_t)get64(p + 48);
	ev->len = (int64_t)get64(p + 56);
	ev->result = (int64_t)get64(p + 64);
	ev->aux_seq = get64(p + 72);
	ev->oflags = get32(p + 80);
	ev->mode = get32(p + 84);
	ev->aux = get32(p + 88);
	ev->dio_mem_align = get32(p + 92);
	ev->dio_offset_align = get32(p + 96);
	ev->blksize = get32(p + 100);
	ev->path_len = get16(p + 104);
	ev->path2_len = get16(p + 106);
	ev->text_len = get32(p + 108);
	ev->nchunks = get32(p + 112);
	ev->data_len = get32(p + 116);

	want = TORN_REC_FIXED_LEN + (size_t)ev->path_len + ev->path2_len + (size_t)ev->text_len +
	       16u * (size_t)ev->nchunks + (size_t)ev->data_len;
	if (ev->text_len > TORN_REC_MAX || ev->nchunks > TORN_REC_MAX || ev->data_len > TORN_REC_MAX ||
	    want != len)
		return -TORN_E_LAYOUT;
	if (!type_known(ev->type))
		return -TORN_E_TYPE;

	ev->path = (const char *)p + TORN_REC_FIXED_LEN;
	ev->path2 = ev->path + ev->path_len;
	ev->text = ev->path2 + ev->path2_len;
	ev->chunks = (const uint8_t *)ev->text + ev->text_len;
	ev->data = ev->chunks + 16u * (size_t)ev->nchunks;

	if (!trace_path_ok(ev->path, ev->path_len))
		return -TORN_E_PATH;
	/* path2 is a root-relative path for rename and link; for ROOT and EXEC it
	 * is an absolute path of the recording machine and for SYMLINK the target
	 * as the program gave it (checked where it would be followed). */
	if ((ev->type == TORN_EV_RENAME || ev->type == TORN_EV_LINK) &&
	    !trace_path_ok(ev->path2, ev->path2_len))
		return -TORN_E_PATH;
	if (ev->type == TORN_REC_BLOB &&
	    (ev->nchunks != 1 || ev->data_len > TORN_CHUNK))
		return -TORN_E_LAYOUT;
	/* Only a blob carries data (the checksum leaves data out: elsewhere it
	 * would be covered by nothing). */
	if (ev->type != TORN_REC_BLOB && ev->data_len != 0)
		return -TORN_E_LAYOUT;
	return (long)len;
}

/* ---- names */

const char *trace_type_name(unsigned type)
{
	switch (type) {
	case TORN_REC_BLOB:        return "blob";
	case TORN_EV_ROOT:         return "root";
	case TORN_EV_INIT_DIR:     return "init-dir";
	case TORN_EV_INIT_FILE:    return "init-file";
	case TORN_EV_INIT_SYMLINK: return "init-symlink";
	case TORN_EV_INIT_DONE:    return "init-done";
	case TORN_EV_PROC_FORK:    return "fork";
	case TORN_EV_PROC_EXEC:    return "exec";
	case TORN_EV_PROC_EXIT:    return "exit";
	case TORN_EV_END:          return "end";
	case TORN_EV_OPEN:         return "open";
	case TORN_EV_CLOSE:        return "close";
	case TORN_EV_SETFL:        return "setfl";
	case TORN_EV_WRITE:        return "write";
	case TORN_EV_FSYNC:        return "fsync";
	case TORN_EV_SYNC_RANGE:   return "sync_file_range";
	case TORN_EV_SYNC:         return "sync";
	case TORN_EV_SYNCFS:       return "syncfs";
	case TORN_EV_TRUNCATE:     return "truncate";
	case TORN_EV_FALLOCATE:    return "fallocate";
	case TORN_EV_RENAME:       return "rename";
	case TORN_EV_UNLINK:       return "unlink";
	case TORN_EV_LINK:         return "link";
	case TORN_EV_MKDIR:        return "mkdir";
	case TORN_EV_RMDIR:        return "rmdir";
	case TORN_EV_SYMLINK:      return "symlink";
	case TORN_EV_IMPORT:       return "import";
	case TORN_EV_MARK:         return "mark";
	case TORN_EV_FAULT:        return "fault";
	case TORN_EV_URING_SUBMIT: return "uring-submit";
	case TORN_EV_URING_CQE:    return "uring-cqe";
	case TORN_EV_MMAP:         return "mmap";
	case TORN_EV_MSYNC:        return "msync";
	case TORN_EV_UNSUPPORTED:  return "unsupported";
	}
	return NULL;
}

const char *torn_strerror(int err)
{
	static const char *const msgs[] = {
		[TORN_E_MAGIC - TORN_E_BASE]    = "not a torn trace (bad magic)",
		[TORN_E_VERSION - TORN_E_BASE]  = "unsupported trace version",
		[TORN_E_HDRSUM - TORN_E_BASE]   = "file header checksum mismatch",
		[TORN_E_RECLEN - TORN_E_BASE]   = "record length out of range",
		[TORN_E_CHECKSUM - TORN_E_BASE] = "record checksum mismatch",
		[TORN_E_LAYOUT - TORN_E_BASE]   = "record length fields do not add up",
		[TORN_E_TYPE - TORN_E_BASE]     = "unknown record type",
		[TORN_E_PATH - TORN_E_BASE]     = "malformed path or path escaping the root",
		[TORN_E_SEQ - TORN_E_BASE]      = "sequence numbers not increasing",
		[TORN_E_NOBLOB - TORN_E_BASE]   = "content hash with no earlier blob",
		[TORN_E_HANDLE - TORN_E_BASE]   = "file handle used before it was opened",
		[TORN_E_TOOBIG - TORN_E_BASE]   = "record too large",
	};
	int e = err < 0 ? -err : err;

	if (e > TORN_E_BASE && e < TORN_E_LAST)
		return msgs[e - TORN_E_BASE];
	return strerror(e);   /* not called from the shim */
}

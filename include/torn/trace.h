/*
 * torn/trace.h - the trace file format, its in-memory event, codec and reader.
 *
 * Sections:
 *   1. The format (normative: enough to write another reader)
 *   2. Constants: record types, flags, sources
 *   3. struct torn_event, the decoded form of one record
 *   4. Codec: one record <-> struct torn_event  (injector/trace_codec.c)
 *   5. Reader: a whole trace file               (recovery/trace_read.c)
 *
 * ==========================================================================
 * 1. THE FORMAT
 * ==========================================================================
 *
 * A trace is a file header followed by records, appended in order and never
 * rewritten.  All integers are little-endian, fixed width.  Hashes are xxHash
 * XXH3 (64-bit for checksums, 128-bit for content addresses).
 *
 * File header, 64 bytes:
 *
 *   off size field
 *     0    8 magic       "TORNTRCE"
 *     8    4 version     TORN_TRACE_VERSION (1)
 *    12    4 header_len  64
 *    16    8 flags       0 (reserved)
 *    24    8 created_ns  CLOCK_REALTIME at recording start (informative)
 *    32   24 reserved    zero
 *    56    8 checksum    XXH3_64bits(bytes 0..55)
 *
 * Record, 32-byte header + 96-byte fixed body + variable part:
 *
 *   off size field
 *     0    4 len         total record length in bytes, header included
 *     4    2 type        TORN_REC_* / TORN_EV_*
 *     6    2 flags       TORN_F_* (per type)
 *     8    8 seq         global event sequence number (0 for data records)
 *    16    4 pid         process that made the call
 *    20    4 tid         thread that made the call
 *    24    8 checksum    XXH3_64bits of the record except its data: the
 *                        first len - data_len bytes, with this field set
 *                        to zero while hashing (a blob's data is covered
 *                        by its content hash instead, see below)
 *   --- fixed body (offsets from record start) ---
 *    32    8 handle      open-file-description id (0: none)
 *    40    8 ino         inode number (st_ino) of the object, 0 if unknown
 *    48    8 off         file offset (write, sync_file_range, fallocate)
 *    56    8 len         byte count (write, truncate length, ...)
 *    64    8 result      the call's return value, or -errno on failure
 *    72    8 aux_seq     fsync: seq at which the call started; uring: user_data
 *    80    4 oflags      open flags / RWF_* / RENAME_* / fallocate mode / ...
 *    84    4 mode        st_mode (type and permission bits)
 *    88    4 aux         write: TORN_SRC_*; fsync: TORN_SYNC_*; other: 0
 *    92    4 dio_mem_align     from statx STATX_DIOALIGN (0 if unknown)
 *    96    4 dio_offset_align  from statx STATX_DIOALIGN (0 if unknown)
 *   100    4 blksize     logical block size of the device (512 if unknown)
 *   104    2 path_len    bytes of path
 *   106    2 path2_len   bytes of path2
 *   108    4 text_len    bytes of text
 *   112    4 nchunks     number of 16-byte content hashes
 *   116    4 data_len    bytes of data
 *   120    8 reserved    zero
 *   --- variable part, in this order, unpadded ---
 *   128      path[path_len]       relative to the recording root, no NUL
 *            path2[path2_len]     second path (rename, link target)
 *            text[text_len]       mark text, fault or unsupported description
 *            chunks[nchunks][16]  XXH3-128 content hashes, low 64 bits first
 *            data[data_len]       payload bytes (TORN_REC_BLOB only: data_len
 *                                 is 0 in every other record)
 *
 *   len == 128 + path_len + path2_len + text_len + 16*nchunks + data_len.
 *
 * Paths are relative to the recording root (the root itself is ""), use '/'
 * as separator, and never contain NUL, an empty component, "." or "..".
 *
 * Content: the bytes of a write (or of a file in the starting snapshot) are
 * cut into chunks of TORN_CHUNK bytes (the last one shorter) and each chunk
 * is named by its XXH3-128.  A TORN_REC_BLOB record (nchunks = 1, the hash;
 * data = the bytes) carries a chunk's bytes the first time it appears; every
 * later use names the hash only.  A blob always precedes its first use.
 *
 * Validity rules, checked by the reader in this order:
 *   1. the header's magic, then version, then checksum match;
 *   2. a record's len is >= 128 and <= TORN_REC_MAX, and fits in the file
 *      (a record that does not fit is the cut-short tail: reading stops
 *      there, and the trace is reported as truncated, not as corrupt);
 *   3. data_len <= len - 128 and the record checksum matches;
 *   4. the length fields add up to len; the type is known; only a blob
 *      has data_len > 0;
 *   5. paths are well formed (see above);
 *   6. a blob's data hashes (XXH3-128) to its chunks[0] (the checksum
 *      leaves the data out: this is what covers it); event seqs strictly
 *      increase; every hash named was carried by an earlier blob; handles
 *      are opened before use.
 * A trace is complete when its last record is TORN_EV_END.
 *
 * Sequence numbers: one counter for all threads and processes of the
 * recorded program; seq order is file order and is the order in which the
 * calls took effect.  Crash points are named by seq: crash point P is the
 * state after every event with seq < P and before event P.
 */
#ifndef TORN_TRACE_H
#define TORN_TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
 * 2. CONSTANTS
 * ========================================================================== */

#define TORN_TRACE_MAGIC     "TORNTRCE"
#define TORN_TRACE_VERSION   1u
#define TORN_TRACE_HDR_LEN   64u
#define TORN_REC_HDR_LEN     32u
#define TORN_REC_FIXED_LEN   128u          /* header + fixed body */
#define TORN_CHUNK           65536u        /* content chunk size */
#define TORN_REC_MAX         (TORN_CHUNK + 3u * 4096u + TORN_REC_FIXED_LEN)
#define TORN_PATH_MAX        4096u
#define TORN_TEXT_MAX        4096u
/* The largest write one event can describe: nchunks is bounded so that an
 * event record stays under TORN_REC_MAX.  Larger writes are split into
 * several consecutive write events by the recorder. */
#define TORN_WRITE_MAX_CHUNKS 256u

enum torn_rec_type {
	TORN_REC_BLOB        = 1,   /* content chunk: chunks[0] = hash, data */

	/* Recording context */
	TORN_EV_ROOT         = 10,  /* path2 = absolute root; text = command line */
	TORN_EV_INIT_DIR     = 11,  /* starting snapshot: directory path, mode, ino */
	TORN_EV_INIT_FILE    = 12,  /* starting snapshot: path, mode, ino, len = size, chunks */
	TORN_EV_INIT_SYMLINK = 13,  /* starting snapshot: path, path2 = target */
	TORN_EV_INIT_DONE    = 14,  /* end of the snapshot */
	TORN_EV_PROC_FORK    = 15,  /* result = child pid */
	TORN_EV_PROC_EXEC    = 16,  /* path2 = program (absolute), text = argv */
	TORN_EV_PROC_EXIT    = 17,  /* result = exit status */
	TORN_EV_END          = 18,  /* recording complete; result = program wait status */

	/* Files */
	TORN_EV_OPEN         = 20,  /* handle, path, ino, oflags, mode, dio_*, blksize, result = fd;
	                               flags: TORN_F_CREATED, TORN_F_TRUNCATED, TORN_F_DIR */
	TORN_EV_CLOSE        = 21,  /* handle, result */
	TORN_EV_SETFL        = 22,  /* handle, oflags = new status flags (F_SETFL) */
	TORN_EV_WRITE        = 23,  /* handle, off, len (requested), result (bytes written or
	                               -errno), oflags = RWF_*, aux = TORN_SRC_*, chunks of the
	                               result bytes; flags: TORN_F_MISALIGNED, TORN_F_DIRECT,
	                               TORN_F_SYNC (durable on return: O_SYNC/O_DSYNC/RWF_DSYNC) */
	TORN_EV_FSYNC        = 24,  /* handle, aux = TORN_SYNC_FSYNC|FDATASYNC, aux_seq = seq
	                               when the call started, result */
	TORN_EV_SYNC_RANGE   = 25,  /* sync_file_range: handle, off, len, oflags = flags, result */
	TORN_EV_SYNC         = 26,  /* sync(): everything durable */
	TORN_EV_SYNCFS       = 27,  /* syncfs(handle) */
	TORN_EV_TRUNCATE     = 28,  /* handle (ftruncate) or path (truncate), len, ino */
	TORN_EV_FALLOCATE    = 29,  /* handle, oflags = mode, off, len */

	/* Namespace */
	TORN_EV_RENAME       = 40,  /* path -> path2, oflags = RENAME_*, ino of the source */
	TORN_EV_UNLINK       = 41,  /* path, ino */
	TORN_EV_LINK         = 42,  /* path (existing) -> path2 (new name), ino */
	TORN_EV_MKDIR        = 43,  /* path, mode, ino */
	TORN_EV_RMDIR        = 44,  /* path */
	TORN_EV_SYMLINK      = 45,  /* path (new link), path2 = target as given */
	TORN_EV_IMPORT       = 46,  /* a file moved into the root from outside: as INIT_FILE */

	/* Program promises and faults */
	TORN_EV_MARK         = 60,  /* text = mark (one line, no newline) */
	TORN_EV_FAULT        = 61,  /* an injected fault, right before the event of the call it
	                               changed (docs/faults.md): text = failure point name,
	                               result = injected -errno (flag TORN_F_SHORT: the bytes
	                               a short write kept), handle, ino and path of the call;
	                               io_uring: aux_seq = user_data, before its CQE event */

	/* io_uring (issue 6) */
	TORN_EV_URING_SUBMIT = 70,  /* one SQE: aux = opcode, handle, off, len, aux_seq =
	                               user_data, oflags = sqe flags, chunks (writes);
	                               mode = the op's flags (rw_flags, fsync_flags,
	                               sync_range_flags, fallocate mode, open_flags,
	                               rename/unlink flags); openat: path, len = file
	                               mode; renameat: path, path2; unlinkat: path */
	TORN_EV_URING_CQE    = 71,  /* aux_seq = user_data, result = res, oflags = cqe
	                               flags.  Fallocate, openat, close, renameat and
	                               unlinkat that succeed are also recorded right
	                               after their CQE as TORN_EV_FALLOCATE, OPEN,
	                               CLOSE, RENAME, UNLINK/RMDIR (injector/shim_uring.c) */

	/* Things seen but not modelled: never silently ignored */
	TORN_EV_MMAP         = 80,  /* shared writable mapping of a recorded file: handle, off, len */
	TORN_EV_MSYNC        = 81,  /* msync of such a mapping: off, len, oflags, result */
	TORN_EV_UNSUPPORTED  = 82,  /* text = what was not recorded and why */
};

/* Record flags (the header's flags field). */
#define TORN_F_CREATED     0x0001u  /* OPEN: the call created the file */
#define TORN_F_TRUNCATED   0x0002u  /* OPEN: O_TRUNC emptied an existing file */
#define TORN_F_DIR         0x0004u  /* OPEN: the object is a directory */
#define TORN_F_DIRECT      0x0008u  /* WRITE: through an O_DIRECT description */
#define TORN_F_SYNC        0x0010u  /* WRITE: durable on return (O_SYNC/O_DSYNC/RWF_[D]SYNC) */
#define TORN_F_MISALIGNED  0x0020u  /* WRITE: O_DIRECT write not aligned to dio_offset_align */
#define TORN_F_SPLIT       0x0040u  /* WRITE: continues the previous write event of one call */
#define TORN_F_SHORT       0x0080u  /* FAULT: a short write; result = bytes written */

/* Where a write came from (aux of TORN_EV_WRITE). */
enum torn_write_src {
	TORN_SRC_WRITE = 1, TORN_SRC_PWRITE, TORN_SRC_WRITEV, TORN_SRC_PWRITEV,
	TORN_SRC_PWRITEV2, TORN_SRC_STDIO, TORN_SRC_URING,
};

/* Kind of flush (aux of TORN_EV_FSYNC). */
enum torn_sync_kind { TORN_SYNC_FSYNC = 1, TORN_SYNC_FDATASYNC = 2 };

/* ==========================================================================
 * 3. THE DECODED EVENT
 * ========================================================================== */

typedef struct torn_hash {
	uint64_t lo, hi;
} torn_hash;

/* One record, decoded.  Pointers (path, path2, text, chunks, data) point
 * into the buffer the record was decoded from and are not NUL-terminated;
 * chunks may be unaligned: read them with trace_chunk(). */
struct torn_event {
	uint16_t type;
	uint16_t flags;
	uint32_t pid, tid;
	uint64_t seq;
	uint64_t handle;
	uint64_t ino;
	int64_t  off;
	int64_t  len;
	int64_t  result;
	uint64_t aux_seq;
	uint32_t oflags;
	uint32_t mode;
	uint32_t aux;
	uint32_t dio_mem_align;
	uint32_t dio_offset_align;
	uint32_t blksize;
	const char *path;      uint32_t path_len;
	const char *path2;     uint32_t path2_len;
	const char *text;      uint32_t text_len;
	const uint8_t *chunks; uint32_t nchunks;
	const uint8_t *data;   uint32_t data_len;
};

/* ==========================================================================
 * 4. CODEC (injector/trace_codec.c): no allocation, safe in the shim
 * ========================================================================== */

/* Error codes of the trace layer: a range of our own below errno's. */
enum torn_trace_err {
	TORN_E_BASE      = 10000,
	TORN_E_MAGIC     = 10001,   /* not a torn trace */
	TORN_E_VERSION   = 10002,   /* a version this reader does not know */
	TORN_E_HDRSUM    = 10003,   /* file header checksum mismatch */
	TORN_E_RECLEN    = 10004,   /* record length out of range */
	TORN_E_CHECKSUM  = 10005,   /* record checksum mismatch */
	TORN_E_LAYOUT    = 10006,   /* length fields do not add up */
	TORN_E_TYPE      = 10007,   /* unknown record type */
	TORN_E_PATH      = 10008,   /* malformed or escaping path */
	TORN_E_SEQ       = 10009,   /* sequence numbers not increasing */
	TORN_E_NOBLOB    = 10010,   /* content hash with no earlier blob */
	TORN_E_HANDLE    = 10011,   /* handle used before being opened */
	TORN_E_TOOBIG    = 10012,   /* record would exceed TORN_REC_MAX */
	TORN_E_LAST
};

/* Text for an error returned by any trace_* function: -errno or -TORN_E_*. */
const char *torn_strerror(int err);

/* Size the encoded record of @ev will take. */
size_t trace_encoded_len(const struct torn_event *ev);

/* Encode @ev into @buf (capacity @cap).  Returns the record length, or
 * -TORN_E_TOOBIG when it does not fit in @cap or in TORN_REC_MAX. */
long trace_encode(const struct torn_event *ev, void *buf, size_t cap);
/* The same with the checksum left 0, for a writer that fills it in later
 * (the recorder's ring: a record whose hashes its consumer adds). */
long trace_encode_unsummed(const struct torn_event *ev, void *buf, size_t cap);

/* Write the 64-byte file header into @buf. */
void trace_encode_header(void *buf, uint64_t created_ns);

/* Check a file header: 0, -TORN_E_MAGIC, -TORN_E_VERSION or -TORN_E_HDRSUM. */
int trace_check_header(const void *buf, size_t len);

/* Decode the record at @buf (of which @avail bytes are readable).
 * Returns the record length (> 0), 0 when fewer than a whole record is
 * available (the cut-short tail), or -TORN_E_*.  Checks rules 2-5. */
long trace_decode(const void *buf, size_t avail, struct torn_event *ev);

/* The content hash of @len bytes. */
torn_hash trace_hash(const void *data, size_t len);
/* The i-th chunk hash of a decoded event. */
torn_hash trace_chunk(const struct torn_event *ev, uint32_t i);
/* Number of chunks that @len bytes of content take. */
static inline uint32_t trace_nchunks(uint64_t len)
{
	return (uint32_t)((len + TORN_CHUNK - 1) / TORN_CHUNK);
}
/* A well-formed trace path (rule 5)?  "" (the root) is well formed. */
int trace_path_ok(const char *p, size_t len);
/* Name of a record type ("write", "fsync", ...), or NULL if unknown. */
const char *trace_type_name(unsigned type);

/* ==========================================================================
 * 5. READER (recovery/trace_read.c)
 * ========================================================================== */

struct torn_trace;

/* Where and why reading failed, for messages naming the record. */
struct trace_error {
	int      code;         /* -errno or -TORN_E_* */
	uint64_t record;       /* index of the offending record (0-based) */
	uint64_t offset;       /* byte offset of the record in the file */
	char     msg[256];     /* full message: "FILE: record N at offset O: ..." */
};

/* Open and validate a trace (the whole file is checked once: rules 1-6).
 * A cut-short tail is not an error: trace_truncated() says so afterwards.
 * Returns 0 or a negative code with @err filled. */
int trace_open(const char *path, struct torn_trace **out, struct trace_error *err);
void trace_close(struct torn_trace *t);

/* Iterate over the records in file order: *pos starts at 0; returns 1 with
 * @ev filled, 0 at the end.  Blob records are included (type TORN_REC_BLOB). */
int trace_next(const struct torn_trace *t, uint64_t *pos, struct torn_event *ev);

/* Bytes of the chunk named @h (NULL if the trace carries no such blob). */
const uint8_t *trace_blob(const struct torn_trace *t, torn_hash h, uint32_t *len);

/* Copy @len bytes of content described by @ev's chunks, starting at byte
 * @from of that content, into @dst.  Returns 0, -TORN_E_NOBLOB, or -ERANGE
 * when the range goes past the end of the content. */
int trace_content(const struct torn_trace *t, const struct torn_event *ev,
		  uint64_t from, void *dst, size_t len);

const char *trace_path(const struct torn_trace *t);   /* file name given to trace_open */
const char *trace_root(const struct torn_trace *t);   /* absolute root at recording */
int      trace_truncated(const struct torn_trace *t); /* no TORN_EV_END at the end */
uint64_t trace_tail_bytes(const struct torn_trace *t);/* bytes after the last whole record */
uint64_t trace_nevents(const struct torn_trace *t);   /* records other than blobs */
uint64_t trace_last_seq(const struct torn_trace *t);  /* seq of the last event */

/* Rebuild, in the empty or absent directory @out, the files as they stand
 * after every event with seq < @upto (UINT64_MAX: the whole trace) with
 * everything persisted: names, types, sizes, bytes.  Returns 0 or -errno /
 * -TORN_E_* with @err filled.  @out NULL: write nothing, only check that
 * the events add up (explore, replay and info do so first, so that a trace
 * writing through a symlink it made, to escape its root, is refused). */
int trace_rebuild(const struct torn_trace *t, uint64_t upto, const char *out,
		  struct trace_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TORN_TRACE_H */

/*
 * injector/shm.h - the control block `torn record` shares with every process
 * of the recorded program, and the producer side of its ring.
 *
 * Sections: 1. layout and invariants, 2. futex and lock, 3. the ring,
 * 4. the dedup set, 5. marks (the $TORN_MARK_FD file, the stdout pipe).
 *
 * The recorder (injector/record.c) creates a file (in /dev/shm when it
 * exists), sizes it sparse, maps it MAP_SHARED and unlinks it at once (so
 * that nothing is left behind whatever happens to the recorder); the
 * program inherits a descriptor of it at SHM_FD_CTL, and $TORN_SHM says
 * "fd:1003".  The shim (injector/shim_ring.c) maps it in every process of
 * the program ($TORN_SHM may also name a file by path).  Everything in this
 * header is used by both sides and must stay free of allocation and of libc
 * calls the shim interposes: I/O here goes through raw syscalls.
 *
 * ==========================================================================
 * 1. LAYOUT AND INVARIANTS
 * ==========================================================================
 *
 *   offset 0                  struct shm_ctl (this header; SHM_CTL_SIZE bytes)
 *   offset dedup_off          dedup set: dedup_slots x 16-byte hashes
 *   offset ring_off           the byte ring: ring_size bytes
 *
 * The ring holds trace records exactly as trace_encode() writes them, each
 * starting at an 8-byte aligned ring position and taking align8(len) bytes,
 * with one exception: the content of a write is not hashed by the program.
 * Its bytes go in as a blob record flagged SHM_F_UNHASHED, its hash (and
 * the record's checksum) left for the consumer to fill in, and the event
 * naming them is flagged too, its chunk hashes left zero: the consumer
 * hashes each such blob, drops it when the trace already has that content
 * (the dedup set is the recorder's alone), and gives the event the hashes
 * of the last nchunks unhashed blobs before it - a producer puts a write's
 * blobs and its event under one hold of the lock, so they are adjacent.
 * Hashing every written byte was the largest part of the shim's cost per
 * write; on the consumer's core it is off the program's path.
 * A record never wraps: when it does not fit before the end of the ring, a
 * pad marker (a 4-byte length of 0) is written at the current position and
 * the record starts at the beginning.  The consumer skips pads; they never
 * reach the trace file.
 *
 * head and tail are byte counts that only grow (position = count %
 * ring_size).  Invariants:
 *   - head is written only under the lock, and only after every byte of the
 *     records before it is written: a producer that dies mid-record leaves
 *     head where it was, and the next producer overwrites its half-record;
 *   - tail is written only by the consumer (the recorder), after it wrote
 *     the record out;  tail <= head <= tail + ring_size;
 *   - the dedup set is the recorder's: the snapshot fills it before the
 *     program starts, the consumer after (a hash is in it once its blob is
 *     on its way to the trace); producers never touch it;
 *   - seq is the seq of the last event put in the ring (or written by the
 *     recorder); it is taken under the lock, so ring order is seq order.
 *     A producer that dies after taking a seq leaves a gap, never a reorder.
 *   - closed is set under the lock by the recorder once it has drained the
 *     marks for the last time: nothing may be put in the ring after it.
 *   - the consumer is not woken for every record: it naps at most
 *     SHM_CONSUMER_NAP_MS, and producers wake it when the ring is an eighth
 *     full or full (cons_sleep); producers that find the ring full sleep on
 *     prod_sleep until the consumer gives room back.
 */
#ifndef TORN_INJECTOR_SHM_H
#define TORN_INJECTOR_SHM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "torn/mark.h"
#include "torn/trace.h"

#define SHM_MAGIC           0x314d48534e524f54ull   /* "TORNSHM1" little-endian */
/* A ring record whose content hashes the consumer fills in (never in a
 * trace: no TORN_F_* flag has this bit). */
#define SHM_F_UNHASHED      0x8000u
#define SHM_VERSION         5u                      /* bump on any change of struct shm_ctl */
#define SHM_CTL_SIZE        65536u                  /* room for the header below */
/* 4 MiB: large enough that the consumer (hashing at GB/s, writing the trace
 * a MiB at a time) seldom lets it fill, small enough that it is reused
 * soon: every page of it is allocated, zeroed and mapped once, and freed
 * when the recording ends (on the 64 MiB stream benchmark, 64 MiB was 20%
 * slower than 16 MiB, and 4 MiB ~5% faster than 16: the end of a recording
 * went from ~9 ms to ~5 ms). */
#define SHM_RING_DEFAULT    (4u << 20)
/* 2^18 slots = 4 MiB, sparse: room for 196k distinct chunks before adding
 * stops (75%).  Every new hash touches a random page of it, so a bigger set
 * costs a page fault per distinct write for longer (2^20 cost 5% on the
 * 64 MiB stream benchmark). */
#define SHM_DEDUP_BITS      18u
#define SHM_MARK_FD         8                       /* $TORN_MARK_FD: one digit for sh */
/* The $TORN_MARK_FD file (section 5): its fixed size, sealed, and the
 * window of it each process maps to read what was written. */
#define SHM_MARK_SPAN       (1ull << 40)
#define SHM_MARK_WIN        (1ull << 20)
#define SHM_CONSUMER_NAP_MS 5                       /* the consumer's longest sleep */

/* The shim's own descriptors in the program (see SHIM_FD_BASE in shim.h):
 * inherited by every process, the same numbers everywhere. */
#define SHM_FD_MARK_RD      1000    /* the $TORN_MARK_FD file, for mapping it */
#define SHM_FD_STDOUT_RD    1001    /* read end of the stdout pipe (--marks-from-stdout) */
#define SHM_FD_STDOUT_ORIG  1002    /* the program's real stdout (--marks-from-stdout) */
#define SHM_FD_CTL          1003    /* the control file itself ($TORN_SHM = "fd:1003") */

/* A partial line read from a mark pipe, kept until its newline arrives. */
struct shm_line {
	uint32_t len;                   /* bytes in buf */
	uint32_t overflow;              /* the line was longer than buf: rest dropped */
	char     buf[TORN_MARK_MAX];
};

struct shm_ctl {
	/* Set once by the recorder before the program starts. */
	uint64_t magic;                 /* SHM_MAGIC */
	uint32_t version;               /* SHM_VERSION */
	uint32_t ctl_size;              /* SHM_CTL_SIZE */
	uint64_t map_size;              /* total bytes of the mapping */
	uint64_t ring_off, ring_size;   /* ring_size: a multiple of 8 */
	uint64_t dedup_off;
	uint32_t dedup_slots;           /* a power of two */
	int32_t  recorder_pid;          /* producers waiting on a full ring check it lives */
	int32_t  mark_rd;               /* fd of the $TORN_MARK_FD file in the program, or -1 */
	int32_t  stdout_rd;             /* fd of the stdout pipe's read end, or -1 */
	int32_t  stdout_orig;           /* fd of the real stdout (pass-through), or -1 */
	uint32_t marks_from_stdout;     /* 1: make stdout line-buffered in the program */
	uint32_t root_len;
	char     root[PATH_MAX];        /* absolute, resolved, no trailing '/' ("/" is "") */

	/* Under the lock. */
	pthread_mutex_t lock;           /* process-shared, robust */
	uint64_t seq;                   /* last event seq handed out (read without lock too) */
	uint64_t handle;                /* last open-file-description handle handed out */
	uint32_t dedup_used;            /* filled slots; adding stops at 75% */
	uint32_t closed;                /* recording finished: record nothing more */
	uint64_t events;                /* events put in the ring (statistics) */
	uint64_t blobs;                 /* distinct chunks stored (by the recorder) */
	uint32_t attached;              /* processes whose shim mapped this block (atomic) */
	uint64_t mark_pos;              /* bytes of the $TORN_MARK_FD file turned into marks */
	struct shm_line mark_line;      /* partial line of the $TORN_MARK_FD file */
	struct shm_line out_line;       /* partial line of the stdout pipe */
	uint64_t fault_count[32];       /* calls counted per fault rule (shim_fault.c;
	                                   FAULT_SPECS_MAX rules) */

	/* Producer -> consumer (head) and back (tail), each on its own line. */
	__attribute__((aligned(64))) uint64_t head;
	uint32_t cons_sleep;            /* futex: the consumer sleeps, wake it after a commit */
	__attribute__((aligned(64))) uint64_t tail;
	uint32_t prod_sleep;            /* futex: a producer waits for room */
};

_Static_assert(sizeof(struct shm_ctl) <= SHM_CTL_SIZE, "shm_ctl outgrew its page");

static inline uint8_t *shm_ring(struct shm_ctl *c)  { return (uint8_t *)c + c->ring_off; }
static inline uint64_t *shm_dedup(struct shm_ctl *c) { return (uint64_t *)((uint8_t *)c + c->dedup_off); }
static inline uint64_t shm_align8(uint64_t n)       { return (n + 7u) & ~(uint64_t)7u; }

/* ==========================================================================
 * 2. FUTEX AND LOCK
 * ========================================================================== */

/* Shared (not PRIVATE) futex ops: the word lives in a MAP_SHARED file. */
static inline void shm_futex_wait(uint32_t *w, uint32_t val, long timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	syscall(SYS_futex, w, FUTEX_WAIT, val, &ts, NULL, 0);
}

static inline void shm_futex_wake(uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Take the control block's mutex.  A previous owner that died mid-way (the
 * program killed by a signal inside a wrapper) leaves it EOWNERDEAD: the
 * shared state is still consistent because head only moves once a record is
 * whole, so mark it consistent and go on.  Returns 0 or -errno
 * (ENOTRECOVERABLE: stop recording). */
static inline int shm_lock(struct shm_ctl *c)
{
	int rc = pthread_mutex_lock(&c->lock);

	if (rc == EOWNERDEAD)
		rc = pthread_mutex_consistent(&c->lock);
	return -rc;
}

static inline void shm_unlock(struct shm_ctl *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* ==========================================================================
 * 3. THE RING (producer side; under the lock)
 * ========================================================================== */

/* Is the recorder process still there?  (Producers waiting for room, on
 * the slow path only.)  A zombie is gone too: a recorder killed while its
 * parent does not reap it (a shell reading its output until EOF, which the
 * program holds) must not keep the program waiting for ever. */
static inline int shm_recorder_alive(const struct shm_ctl *c)
{
	char path[32] = "/proc/", buf[96], digits[12];
	int pid = c->recorder_pid, n = 0, i = 6;
	long fd, got;
	const char *close_paren = NULL;

	if (syscall(SYS_kill, (pid_t)pid, 0) != 0 && errno != EPERM)
		return 0;
	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < (int)sizeof(digits));
	while (n > 0)
		path[i++] = digits[--n];
	memcpy(path + i, "/stat", 6);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;                       /* no /proc: trust kill() */
	got = syscall(SYS_read, (int)fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, (int)fd);
	/* "PID (COMM) STATE ...": COMM (16 bytes at most) may hold ')' */
	for (long k = 0; k < got; k++)
		if (buf[k] == ')')
			close_paren = buf + k;
	return !(close_paren && close_paren + 2 < buf + got && close_paren[2] == 'Z');
}

static inline void shm_wake_consumer(struct shm_ctl *c)
{
	if (__atomic_load_n(&c->cons_sleep, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&c->cons_sleep, 0, __ATOMIC_SEQ_CST);
		shm_futex_wake(&c->cons_sleep);
	}
}

/* Reserve room for a record of @len bytes and return where to encode it;
 * shm_commit() publishes it.  Waits while the ring is full; returns NULL
 * when the recording is closed or the recorder is gone (the caller stops
 * recording).  *@nhead receives the head value to commit. */
static inline uint8_t *shm_reserve(struct shm_ctl *c, size_t len, uint64_t *nhead)
{
	uint64_t alen = shm_align8(len), size = c->ring_size;

	for (;;) {
		uint64_t head = c->head;
		uint64_t tail = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
		uint64_t pos = head % size, skip = size - pos < alen ? size - pos : 0;

		if (c->closed)
			return NULL;
		if (head + skip + alen - tail <= size) {
			if (skip) {
				/* pad: the consumer jumps to the ring's start */
				memset(shm_ring(c) + pos, 0, 4);
				pos = 0;
			}
			*nhead = head + skip + alen;
			return shm_ring(c) + pos;
		}
		/* Full: sleep until the consumer moves tail (announce first, then
		 * re-check, so a wake-up between the two is not lost). */
		shm_wake_consumer(c);
		__atomic_store_n(&c->prod_sleep, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->tail, __ATOMIC_SEQ_CST) == tail)
			shm_futex_wait(&c->prod_sleep, 1, 100);
		if (!shm_recorder_alive(c))
			return NULL;
	}
}

/* Publish the records up to @nhead.  The consumer is not woken for every
 * record (a futex wake per write would double the cost of small writes):
 * it looks at the ring every SHM_CONSUMER_NAP_MS by itself, and is woken
 * early only once the ring is an eighth full, or by a producer that finds
 * it full. */
static inline void shm_commit(struct shm_ctl *c, uint64_t nhead)
{
	__atomic_store_n(&c->head, nhead, __ATOMIC_SEQ_CST);
	if (nhead - __atomic_load_n(&c->tail, __ATOMIC_RELAXED) >= c->ring_size / 8u)
		shm_wake_consumer(c);
}

/* Put one record in the ring.  Events (type != BLOB) get the next seq here,
 * stored back into @ev.  Returns 0, -TORN_E_TOOBIG, or -EPIPE when nothing
 * can be recorded any more. */
static inline int shm_put(struct shm_ctl *c, struct torn_event *ev)
{
	size_t len = trace_encoded_len(ev);
	uint64_t nhead;
	uint8_t *p;

	if (len > TORN_REC_MAX)
		return -TORN_E_TOOBIG;
	p = shm_reserve(c, len, &nhead);
	if (!p)
		return -EPIPE;
	if (ev->type != TORN_REC_BLOB)
		ev->seq = c->seq + 1;
	/* The consumer sums a record it names (shm_name) once its hashes are in. */
	if ((ev->flags & SHM_F_UNHASHED ? trace_encode_unsummed(ev, p, len)
					: trace_encode(ev, p, len)) < 0)
		return -TORN_E_TOOBIG;
	if (ev->type != TORN_REC_BLOB) {
		__atomic_store_n(&c->seq, ev->seq, __ATOMIC_RELEASE);
		c->events++;
	}
	shm_commit(c, nhead);
	return 0;
}

/* ==========================================================================
 * 4. THE DEDUP SET (the recorder's: snapshot, then consumer)
 * ========================================================================== */

/* Open addressing, linear probing; an all-zero slot is empty (a content
 * whose hash is all zero is simply never added: its blob is repeated). */
static inline int shm_dedup_has(struct shm_ctl *c, torn_hash h)
{
	uint64_t *s = shm_dedup(c), mask = c->dedup_slots - 1u;

	for (uint64_t i = h.lo & mask;; i = (i + 1) & mask) {
		if (s[2 * i] == h.lo && s[2 * i + 1] == h.hi)
			return !(h.lo == 0 && h.hi == 0);
		if (s[2 * i] == 0 && s[2 * i + 1] == 0)
			return 0;
	}
}

/* Add @h once its blob is committed.  Past 75% full nothing is added any
 * more: later writes of known content repeat the blob (bigger, still correct). */
static inline void shm_dedup_add(struct shm_ctl *c, torn_hash h)
{
	uint64_t *s = shm_dedup(c), mask = c->dedup_slots - 1u;

	if ((h.lo == 0 && h.hi == 0) || c->dedup_used >= c->dedup_slots / 4u * 3u)
		return;
	for (uint64_t i = h.lo & mask;; i = (i + 1) & mask) {
		if (s[2 * i] == h.lo && s[2 * i + 1] == h.hi)
			return;
		if (s[2 * i] == 0 && s[2 * i + 1] == 0) {
			s[2 * i] = h.lo;
			s[2 * i + 1] = h.hi;
			c->dedup_used++;
			return;
		}
	}
}

/* The 16 bytes of @h as the trace stores it: low 64 bits first, each
 * little-endian (one copy per half on a little-endian host). */
static inline void shm_hash_bytes(uint8_t *out, torn_hash h)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(out, &h.lo, 8);
	memcpy(out + 8, &h.hi, 8);
#else
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h.lo >> (8 * i));
		out[8 + i] = (uint8_t)(h.hi >> (8 * i));
	}
#endif
}

/* Put the @len bytes at @data (one chunk, @len <= TORN_CHUNK) as an
 * unhashed blob (see the top of this file).  Returns what shm_put returns. */
static inline int shm_put_data(struct shm_ctl *c, const void *data, uint32_t len,
			       uint32_t pid, uint32_t tid)
{
	static const uint8_t nohash[16];
	struct torn_event b = { .type = TORN_REC_BLOB, .flags = SHM_F_UNHASHED,
				.pid = pid, .tid = tid, .chunks = nohash, .nchunks = 1,
				.data = data, .data_len = len };

	return shm_put(c, &b);
}

/* ==========================================================================
 * 4b. NAMING UNHASHED RECORDS (the consumer's side)
 * ========================================================================== */

/* The hashes of the unhashed blobs since the last unhashed event: as many
 * as one event can name. */
struct shm_namer {
	uint64_t n;
	torn_hash h[TORN_WRITE_MAX_CHUNKS];
};

static inline int shm_unhashed(const uint8_t *rec)
{
	return ((rec[6] | rec[7] << 8) & SHM_F_UNHASHED) != 0;
}

static inline uint32_t shm_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Name the content of the unhashed record @rec (@len bytes, in the ring) in
 * place, with @hash (XXH3-128): a blob gets its hash and is dropped when
 * the trace has that content already (the dedup set); an event gets the
 * hashes of the last nchunks blobs before it.  Either then loses the flag
 * and gets its checksum, as trace_encode() would have made it.  Returns 1
 * to write the record out, 0 to drop it, -1 when it is not well formed
 * (the program can scribble on the mapping: nothing unchecked is used). */
static inline int shm_name(struct shm_ctl *c, struct shm_namer *nm, uint8_t *rec, uint32_t len,
			   torn_hash (*hash)(const void *, size_t))
{
	uint32_t type = (uint32_t)(rec[4] | rec[5] << 8);
	uint32_t nchunks = shm_get32(rec + 112), data_len = shm_get32(rec + 116);
	uint64_t var = (uint64_t)(rec[104] | rec[105] << 8) + (uint64_t)(rec[106] | rec[107] << 8) +
		       shm_get32(rec + 108);
	uint8_t *chunks = rec + TORN_REC_FIXED_LEN + var;
	uint64_t sum;

	if (TORN_REC_FIXED_LEN + var + 16ull * nchunks + data_len != len)
		return -1;
	if (type == TORN_REC_BLOB) {
		torn_hash h;

		if (nchunks != 1 || data_len == 0)
			return -1;
		h = hash(chunks + 16, data_len);
		nm->h[nm->n++ % TORN_WRITE_MAX_CHUNKS] = h;
		if (shm_dedup_has(c, h))
			return 0;
		shm_hash_bytes(chunks, h);
		shm_dedup_add(c, h);
		c->blobs++;
	} else {
		if (data_len || nchunks > nm->n || nchunks > TORN_WRITE_MAX_CHUNKS)
			return -1;
		for (uint32_t i = 0; i < nchunks; i++)
			shm_hash_bytes(chunks + 16 * i,
				       nm->h[(nm->n - nchunks + i) % TORN_WRITE_MAX_CHUNKS]);
		nm->n = 0;
	}
	rec[7] &= (uint8_t)~(SHM_F_UNHASHED >> 8);
	memset(rec + 24, 0, 8);
	sum = XXH3_64bits(rec, len - data_len);
	for (int i = 0; i < 8; i++)
		rec[24 + i] = (uint8_t)(sum >> (8 * i));
	return 1;
}

/* ==========================================================================
 * 5. MARKS (under the lock)
 * ==========================================================================
 *
 * Marks written to $TORN_MARK_FD must be ordered exactly with the I/O
 * around them, whoever writes them: a shell's echo, a program the shim is
 * not in (statically linked, raw system calls).  So before every event a
 * producer turns what was written since the last event into marks.  The
 * descriptor is a memory file (memfd), not a pipe: the recorder gives it a
 * fixed size of SHM_MARK_SPAN (sparse) and seals it (F_SEAL_SHRINK,
 * F_SEAL_GROW), and every process of the program shares one open file
 * description of it, so its writes land one after the other from offset 0
 * through the shared file position.  A producer then finds new marks with a
 * load from its own read-only mapping of the file, where a pipe cost an
 * ioctl(FIONREAD) per event (~0.5 us here, a tenth of a 4 KiB buffered
 * write): written bytes are the page cache's pages, which the mapping
 * shows as soon as write() returns, and bytes not yet written read 0.
 * mark_pos counts the bytes consumed; each process maps a SHM_MARK_WIN
 * window around it (mapped again when mark_pos leaves it; the size keeps
 * every page of a window inside the file, so no access is ever SIGBUS).
 * A producer consumes the bytes up to the first 0 and only those: bytes
 * of a write still being copied may show out of order, but never before
 * the bytes before them are final.  So a mark line holds no NUL bytes; one
 * that does stops the producers' scans there, and the rest is taken by the
 * recorder, which reads up to the file position itself (lseek: every
 * write that returned is before it), when it drains (every second, and at
 * the end, when the last line needs no newline).  The recorder also
 * punches out the windows below mark_pos, so the file keeps at most a
 * window or two of memory.  The seals make writes that do not go through
 * the shared description fail loudly (EPERM: `>/dev/fd/8` truncates,
 * `>>` appends at the end of the span) instead of being lost.
 */

/* One process's read-only window of the $TORN_MARK_FD file. */
struct shm_markwin {
	const uint8_t *base;            /* NULL: not mapped yet */
	uint64_t off;                   /* file offset of base, a multiple of SHM_MARK_WIN */
};

/* Map the window holding file offset @pos (same address when remapped).
 * Returns 0, or -1 when it cannot be mapped (the marks then wait for the
 * recorder's drain). */
static inline int shm_markwin_at(struct shm_markwin *w, int fd, uint64_t pos)
{
	uint64_t off = pos & ~(SHM_MARK_WIN - 1);
	long p;

	if (w->base && w->off == off)
		return 0;
	if (off >= SHM_MARK_SPAN)
		return -1;
	p = syscall(SYS_mmap, (void *)w->base, (size_t)SHM_MARK_WIN, PROT_READ,
		    MAP_SHARED | (w->base ? MAP_FIXED : 0), fd, (off_t)off);
	if (p == -1L) {
		if (w->base)
			syscall(SYS_munmap, (void *)w->base, (size_t)SHM_MARK_WIN);
		w->base = NULL;
		return -1;
	}
	w->base = (const uint8_t *)p;
	w->off = off;
	return 0;
}

static inline int shm_feed_lines(struct shm_ctl *c, struct shm_line *l, const char *buf, size_t n);

/* Turn the bytes of the $TORN_MARK_FD file (descriptor @fd, mapped through
 * @w) from mark_pos on into marks: up to the first 0 when @end is 0 (a
 * producer), else up to @end (the recorder, which knows the file position).
 * Returns 0 or -errno from the ring. */
static inline int shm_drain_marks(struct shm_ctl *c, struct shm_markwin *w, int fd, uint64_t end)
{
	for (;;) {
		uint64_t pos = c->mark_pos;
		const uint8_t *p;
		size_t room, n = 0;
		int rc;

		if ((end && pos >= end) || shm_markwin_at(w, fd, pos) < 0)
			return 0;
		p = w->base + (pos - w->off);
		room = (size_t)(w->off + SHM_MARK_WIN - pos);
		if (end)
			n = end - pos < room ? (size_t)(end - pos) : room;
		else
			while (n < room && p[n])
				n++;
		if (n == 0)
			return 0;
		rc = shm_feed_lines(c, &c->mark_line, (const char *)p, n);
		c->mark_pos = pos + n;
		if (rc < 0)
			return rc;
		if (!end && n < room)
			return 0;
	}
}

/* Emit a mark event for @len bytes of @text (no newline in it). */
static inline int shm_put_mark(struct shm_ctl *c, const char *text, size_t len,
			       uint32_t pid, uint32_t tid)
{
	struct torn_event ev = { .type = TORN_EV_MARK, .pid = pid, .tid = tid };

	ev.text = text;
	ev.text_len = (uint32_t)(len < TORN_MARK_MAX ? len : TORN_MARK_MAX);
	return shm_put(c, &ev);
}

/* Feed @n bytes read from a mark pipe into @l, emitting one mark per
 * complete line.  Marks read from pipes have pid = tid = 0: the writer is
 * not known. */
static inline int shm_feed_lines(struct shm_ctl *c, struct shm_line *l, const char *buf, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (buf[i] == '\n') {
			rc = shm_put_mark(c, l->buf, l->len, 0, 0);
			l->len = 0;
			l->overflow = 0;
		} else if (l->len < sizeof(l->buf)) {
			l->buf[l->len++] = buf[i];
		} else {
			l->overflow = 1;
		}
	}
	return rc;
}

/* Write all of @buf to @fd with raw syscalls (pass-through of stdout). */
static inline void shm_write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		long w = syscall(SYS_write, fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {         /* a non-blocking stdout: wait for room */
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			syscall(SYS_ppoll, &p, 1L, NULL, NULL, 8L);
			continue;
		}
		if (w <= 0)
			return;       /* the reader went away: the program would see EPIPE, we drop */
		buf += w;
		n -= (size_t)w;
	}
}

/* Read what is waiting in one non-blocking pipe read end @fd; forward it to
 * @copy_fd when >= 0; turn its complete lines into marks.  Returns the
 * number of bytes read (0: empty or EOF), or -errno from the ring. */
static inline long shm_drain_fd(struct shm_ctl *c, int fd, int copy_fd, struct shm_line *l)
{
	/* Static, not on the stack: a wrapper may run in a signal handler on a
	 * small alternate stack.  Under the lock: one thread per process. */
	static char buf[4096];
	long total = 0;

	for (;;) {
		long n = syscall(SYS_read, fd, buf, sizeof(buf));
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return total;
		if (copy_fd >= 0)
			shm_write_all(copy_fd, buf, (size_t)n);
		rc = shm_feed_lines(c, l, buf, (size_t)n);
		if (rc < 0)
			return rc;
		total += n;
		/* A short read emptied the pipe: stop here rather than count on
		 * O_NONBLOCK, which anyone sharing the description could clear. */
		if ((size_t)n < sizeof(buf))
			return total;
	}
}

/* Before an event: the marks written so far, given the descriptors valid in
 * the calling process (-1: none) and its window of the marks file.  The
 * marks file costs a load when nothing is new (the common case); the
 * stdout pipe (--marks-from-stdout) an ioctl(FIONREAD), which never blocks
 * (a read that finds the pipe empty would be as cheap, but relies on
 * O_NONBLOCK, which the program could clear). */
static inline int shm_drain_pipes(struct shm_ctl *c, struct shm_markwin *w, int mark_fd,
				  int stdout_rd, int stdout_orig)
{
	int avail, rc = 0;

	if (mark_fd >= 0) {
		uint64_t pos = c->mark_pos;

		if (!w->base || w->off != (pos & ~(SHM_MARK_WIN - 1)) ||
		    __atomic_load_n(w->base + (pos - w->off), __ATOMIC_ACQUIRE))
			rc = shm_drain_marks(c, w, mark_fd, 0);
		if (rc < 0)
			return rc;
	}
	if (stdout_rd >= 0 &&
	    syscall(SYS_ioctl, stdout_rd, (unsigned long)FIONREAD, &avail) == 0 && avail > 0)
		rc = (int)shm_drain_fd(c, stdout_rd, stdout_orig, &c->out_line);
	return rc < 0 ? rc : 0;
}

#endif /* TORN_INJECTOR_SHM_H */

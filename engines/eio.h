/*
 * engines/eio.h - the engines' common I/O layer: one small interface over
 * three back ends.
 *
 *   buffered  pwrite into the page cache; eio_sync() is fdatasync
 *   direct    O_DIRECT; every buffer, offset and length must be aligned
 *             (eio_align(), eio_mem_align(), from statx STATX_DIOALIGN,
 *             else the logical block size, else 512); eio_sync() is
 *             fdatasync, which flushes the device's volatile cache
 *   uring     O_DIRECT through io_uring (liburing, linked dynamically so
 *             torn's shim sees io_uring_submit): eio_pwrite() queues the
 *             write (the data is copied, the caller's buffer is free at
 *             once); queued writes are submitted in batches, and
 *             eio_sync() submits them with an fdatasync linked behind the
 *             last one (IOSQE_IO_DRAIN orders it after every earlier write)
 *             and waits for all completions
 *
 * Calling sequence:
 *
 *	struct eio_file *f;
 *	rc = eio_open(&f, dirfd, "data", EIO_CREATE, EIO_DIRECT);
 *	buf = eio_alloc(f, len);            // aligned for any back end
 *	rc = eio_pwrite(f, buf, len, off);  // len, off multiples of eio_align(f)
 *	rc = eio_sync(f);                   // durable once this returns 0
 *	eio_close(f);
 *
 * Error contract: every function returns >= 0 or -errno; a misaligned
 * direct write is -EINVAL before any I/O.  eio_open() on a file system that
 * refuses O_DIRECT returns -EINVAL and eio_strerror-style text is the
 * caller's: "file system refuses O_DIRECT".
 *
 * Faults (issue 7), what each back end does and why:
 *   - a write that fails (EIO, ENOSPC, EDQUOT, EFBIG, ...) is returned as
 *     it is; nothing is retried, the caller decides.
 *   - EINTR from a write is retried (up to EIO_EINTR_MAX times in a row):
 *     a write interrupted before it transferred anything wrote nothing, so
 *     writing the same bytes at the same offset again is idempotent.
 *   - a short write is continued with the rest of the buffer (POSIX: a
 *     short count is not an error; when the device is really full the next
 *     call says ENOSPC, which is returned, the prefix staying on disk for
 *     the engine's recovery to cut).  O_DIRECT can only continue at an
 *     aligned count: an unaligned short count is -EIO.  A write returning
 *     0 is -EIO (no progress).
 *   - io_uring: a completion with res < 0 is that error; a short write
 *     completion (0 <= res < len) is -EIO (an O_DIRECT write is not
 *     resubmitted out of the queue's order).  Completions are seen at the
 *     next eio_sync/eio_fsync/eio_drain/eio_pread, which return the first
 *     failed one, so in uring mode a failed write arrives with the sync.
 *   - fsync/fdatasync failures, EINTR included, are returned and never
 *     retried here: Linux reports a writeback error once and may already
 *     have dropped the dirty pages, so a retry that succeeds proves
 *     nothing (PostgreSQL's "fsyncgate").  What to do is the engine's
 *     policy: every bundled engine refuses further writes until reopened.
 *
 * Test hook: eio_set_fault_hook() installs a function consulted before
 * every write and every fsync/fdatasync this layer issues (one predictable
 * branch when none is set): it fails or shortens the call the way torn's
 * shim would, without the shim, for unit tests.
 *
 * Seeded bug support: a file opened with EIO_BUG_SHORT takes a short write
 * as complete (one call, the count ignored; uring: short completions are
 * not errors): the `short-write` bug of every engine.
 *
 * Directory helpers: eio_dir_open(), eio_dir_sync() (fsync of the
 * directory: makes creates, renames and unlinks in it durable) and
 * eio_commit_rename() (the write-then-rename sequence, step by step).
 */
#ifndef TORN_ENGINES_EIO_H
#define TORN_ENGINES_EIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum eio_mode { EIO_BUFFERED, EIO_DIRECT, EIO_URING };

/* eio_open() flags */
#define EIO_CREATE 0x1 /* create if missing */
#define EIO_TRUNC  0x2 /* truncate to 0 */
#define EIO_EXCL   0x4 /* fail with -EEXIST if present */
#define EIO_BUG_SHORT 0x8 /* seeded bug: a short write is taken as complete */

/* consecutive EINTRs of one write before it gives up with -EINTR */
#define EIO_EINTR_MAX 64

struct eio_file;

/* robust_* helpers: retry EINTR, finish short counts.  pread returns the
 * bytes read (short only at end of file). */
ssize_t eio_robust_pread(int fd, void *buf, size_t len, off_t off);
int eio_robust_pwrite(int fd, const void *buf, size_t len, off_t off);

int eio_mode_parse(const char *s, enum eio_mode *out);
const char *eio_mode_name(enum eio_mode m);

int eio_open(struct eio_file **out, int dirfd, const char *name, int flags,
	     enum eio_mode mode);
/* close without syncing anything; waits for queued uring writes */
int eio_close(struct eio_file *f);

size_t eio_align(const struct eio_file *f);     /* offset and length unit */
size_t eio_mem_align(const struct eio_file *f); /* buffer address unit */
enum eio_mode eio_file_mode(const struct eio_file *f);
int eio_fd(const struct eio_file *f);

/* A zeroed buffer of round_up(len, align) bytes aligned for f's back end;
 * free with free(). */
void *eio_alloc(const struct eio_file *f, size_t len);
/* aligned allocation without a file: the strictest alignment any back end
 * on this machine may want (4096) */
void *eio_alloc_any(size_t len);
size_t eio_round_up(size_t n, size_t a);

int eio_pwrite(struct eio_file *f, const void *buf, size_t len, off_t off);
/* a write durable when it returns (pwritev2 RWF_DSYNC: data and the size
 * to read it), after every queued uring write completed: preallocation */
int eio_pwrite_sync(struct eio_file *f, const void *buf, size_t len, off_t off);
/* where commits overlap (eio_sync_overlaps) and the file is shorter than
 * `to`: zeros from `from` (aligned) to `to`, durable on return, so that
 * later commits there are overwrites; else nothing */
int eio_zero_ahead(struct eio_file *f, off_t from, off_t to);
/* reads what is there: returns bytes read; in direct mode len and off
 * must be aligned; queued uring writes are completed first */
ssize_t eio_pread(struct eio_file *f, void *buf, size_t len, off_t off);
/* wait for queued writes (uring); a no-op for the other back ends */
int eio_drain(struct eio_file *f);
/* data durable (fdatasync): file contents and the size needed to read them */
int eio_sync(struct eio_file *f);
/* everything durable (fsync): also metadata such as the file size */
int eio_fsync(struct eio_file *f);
/*
 * Asynchronous commit: several commits in flight at once.
 *
 *	rc = eio_pwrite(f, rec, len, off);  // the commit's writes
 *	rc = eio_sync_start(f, &t);         // t names this commit
 *	...                                 // more writes, more starts
 *	rc = eio_sync_wait(f, t, nowait);   // 1: t and every earlier ticket
 *	                                    // durable; 0: not yet (nowait)
 *
 * uring: start links an fdatasync behind the writes queued since the
 * last start (IOSQE_IO_LINK; writes already submitted with a full batch
 * are waited for first) and submits, without waiting; the flush covers
 * those writes (and whatever completed before it).  Tickets are 1, 2, ...
 * per file; wait returns 1 only once every ticket up to t completed, so a
 * caller acknowledging in ticket order never acknowledges past a commit
 * that is not durable.  At most 64 tickets are in flight (start waits
 * for the oldest).  buffered, direct: start is eio_sync() and the ticket
 * is complete when it returns, so engine code need not know the back end.
 * Errors: a failed write or fsync completion fails its ticket; from then
 * on wait for it or any later ticket, and every later start, return that
 * first error (sticky: the caller treats it as fatal).  The fault hook is
 * consulted for the fsync at start (EIO_CALL_FDATASYNC).  eio_sync() and
 * eio_drain() still wait for everything, async commits included.
 */
int eio_sync_start(struct eio_file *f, uint64_t *ticket);
/* 1 when eio_sync_start() returns before the flush is done (uring), so
 * that commits overlap: a performance hint (wal preallocates its segments
 * for it), never a correctness one */
int eio_sync_overlaps(const struct eio_file *f);
int eio_sync_wait(struct eio_file *f, uint64_t ticket, int nowait);
int eio_truncate(struct eio_file *f, off_t size);
int eio_size(struct eio_file *f, off_t *size);

/* Read a whole small file into a malloc'd buffer (any mode: plain reads). */
int eio_read_file(int dirfd, const char *name, void **buf, size_t *len);

/*
 * Test hook (faults without torn's shim).  Consulted before each write
 * (pwrite, or an io_uring write being queued) and each fsync/fdatasync
 * (directories included, and the io_uring fsync being queued), with the
 * call, the descriptor and the byte count (0 for syncs).  It returns
 *   0            do the call as asked
 *   -errno       fail it: nothing is written or synced; for io_uring the
 *                request is not submitted and its completion reports the
 *                error, as a failed CQE would
 *   0 < n < len  (writes) write only the first n bytes: a short write
 * A process-wide setting, for single-threaded tests; NULL removes it.
 */
enum eio_call { EIO_CALL_WRITE, EIO_CALL_FSYNC, EIO_CALL_FDATASYNC };
typedef ssize_t (*eio_fault_fn)(void *arg, enum eio_call call, int fd, size_t len);
void eio_set_fault_hook(eio_fault_fn fn, void *arg);

/* Directories */
int eio_dir_open(const char *path, int create);
int eio_dir_sync(int dirfd);

/*
 * The atomic replacement of a file: f (already fully written under tmp)
 * is fsynced, renamed over `name`, and the directory fsynced.  With
 * skip_file_sync / skip_dir_sync the matching step is left out: seeded
 * bugs use them to show what each step protects.
 */
int eio_commit_rename(struct eio_file *f, int dirfd, const char *tmp,
		      const char *name, int skip_file_sync, int skip_dir_sync);

#endif /* TORN_ENGINES_EIO_H */

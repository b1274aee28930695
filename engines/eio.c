/*
 * engines/eio.c - the common I/O layer (see eio.h for the contract).
 *
 *   1. robust helpers (EINTR, short counts), the test hook
 *   2. open / close / alignment (statx STATX_DIOALIGN)
 *   3. the uring back end: queued writes, drained fdatasync
 *   4. read, write, sync, truncate
 *   5. whole-file reads, directories, the commit-by-rename sequence
 */
#include "engines/eio.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define EIO_URING_DEPTH 64
#define EIO_URING_BATCH 16 /* queued writes submitted together */
#define EIO_MAX_ALIGN 4096
#define EIO_TICKETS 64     /* asynchronous commits in flight per file, at most */
#define EIO_CHAIN_MAX EIO_URING_BATCH /* writes of one commit linked to its fsync */

struct eio_file {
	int fd;
	enum eio_mode mode;
	size_t align;
	size_t mem_align;
	/* uring only */
	struct io_uring ring;
	int ring_ready;
	unsigned queued;   /* prepared, not yet submitted */
	unsigned inflight; /* submitted, completion not yet reaped */
	int err;           /* first failed completion, reported once */
	int bug_short;     /* EIO_BUG_SHORT: short writes taken as complete */
	/*
	 * Asynchronous commits (eio_sync_start): ticket t is issued by the
	 * t-th start; tk_done is the highest ticket such that every ticket up
	 * to it completed; tk_st[t % EIO_TICKETS] the state of a ticket in
	 * (tk_done, tk_issued]: TK_WAIT, TK_OK, or < 0, its first error.
	 * tk_err / tk_errt: the first failure of any ticket (sticky: the
	 * engines treat it as fatal).
	 */
	uint64_t tk_issued, tk_done, tk_errt;
	int tk_err;
	int tk_st[EIO_TICKETS];
	/* the writes of the commit being built (since the last start): the
	 * still unsubmitted ones, to be linked to its fsync; how many were
	 * submitted already (unlinkable: waited for at the start); a write
	 * the fault hook failed */
	struct io_uring_sqe *chain[EIO_CHAIN_MAX];
	unsigned nchain;
	unsigned chain_out;
	int chain_err;
};

enum { TK_WAIT = 1, TK_OK = 0 };

/* a queued uring request: a write (its copy of the data and the length
 * asked) or an fsync; the ticket of the commit it belongs to (0: none) */
struct eio_req {
	void *buf;
	size_t len;
	uint64_t ticket;
	int is_fsync;
	int chained; /* a write counted in chain_out */
};

/* the test hook (eio_set_fault_hook): NULL outside unit tests */
static eio_fault_fn fault_hook;
static void *fault_arg;

void eio_set_fault_hook(eio_fault_fn fn, void *arg)
{
	fault_hook = fn;
	fault_arg = arg;
}

/* ---- 1. robust helpers ------------------------------------------------ */

ssize_t eio_robust_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* one pwrite call (pwritev2 with flags: RWF_DSYNC), through the test
 * hook: the count written, or -errno */
static ssize_t one_pwrite(int fd, const void *buf, size_t len, off_t off, int flags)
{
	struct iovec iov;
	ssize_t w;

	if (fault_hook) {
		ssize_t h = fault_hook(fault_arg, EIO_CALL_WRITE, fd, len);
		if (h < 0)
			return h;
		if (h > 0 && (size_t)h < len)
			len = (size_t)h;
	}
	if (flags) {
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		w = pwritev2(fd, &iov, 1, off, flags);
	} else {
		w = pwrite(fd, buf, len, off);
	}
	return w < 0 ? -errno : w;
}

/*
 * Write all of buf (see eio.h, "Faults"): EINTR means nothing was
 * written, so the same call is repeated (bounded: a signal storm or an
 * injected `#N+=EINTR` must not spin forever); a short count is continued
 * with the rest, at a multiple of align only (O_DIRECT); with trust_short
 * (the seeded bug) the first call's count is believed whatever it was.
 */
static int write_all(int fd, const void *buf, size_t len, off_t off, size_t align,
		     int trust_short, int flags)
{
	size_t done = 0;
	unsigned eintr = 0;

	while (done < len) {
		ssize_t w = one_pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done,
				       flags);
		if (w == -EINTR && ++eintr < EIO_EINTR_MAX)
			continue;
		if (w < 0)
			return (int)w;
		eintr = 0;
		if (trust_short)
			return 0; /* the mistake: the count is never looked at */
		if (w == 0)
			return -EIO;
		done += (size_t)w;
		if (done < len && align > 1 && done % align)
			return -EIO; /* O_DIRECT cannot go on at an unaligned offset */
	}
	return 0;
}

int eio_robust_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return write_all(fd, buf, len, off, 1, 0, 0);
}

/*
 * fsync or fdatasync, once.  Not retried on any error, EINTR included:
 * the kernel may have reported (and forgotten) a writeback error and
 * dropped the dirty pages, so a second call could succeed with the data
 * lost; the caller treats the failure as fatal.
 */
static int sync_call(int fd, enum eio_call call)
{
	if (fault_hook) {
		ssize_t h = fault_hook(fault_arg, call, fd, 0);
		if (h < 0)
			return (int)h;
	}
	if ((call == EIO_CALL_FSYNC ? fsync(fd) : fdatasync(fd)) < 0)
		return -errno;
	return 0;
}

/* ---- 2. open / close / alignment -------------------------------------- */

int eio_mode_parse(const char *s, enum eio_mode *out)
{
	if (!strcmp(s, "buffered"))
		*out = EIO_BUFFERED;
	else if (!strcmp(s, "direct"))
		*out = EIO_DIRECT;
	else if (!strcmp(s, "uring"))
		*out = EIO_URING;
	else
		return -EINVAL;
	return 0;
}

const char *eio_mode_name(enum eio_mode m)
{
	return m == EIO_BUFFERED ? "buffered" : m == EIO_DIRECT ? "direct" : "uring";
}

size_t eio_round_up(size_t n, size_t a)
{
	return a <= 1 ? n : (n + a - 1) / a * a;
}

/*
 * Direct-I/O alignment: statx STATX_DIOALIGN answers from Linux 6.1 on;
 * before that (or on a file system that does not fill it) the logical
 * block size is the rule, and 512 the last resort.
 */
static void dio_alignment(int fd, size_t *off_align, size_t *mem_align)
{
	struct statx sx;

	*off_align = 512;
	*mem_align = 512;
	memset(&sx, 0, sizeof(sx));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		*off_align = sx.stx_dio_offset_align;
		*mem_align = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : 1;
	}
}

int eio_open(struct eio_file **out, int dirfd, const char *name, int flags,
	     enum eio_mode mode)
{
	struct eio_file *f;
	int oflags = O_RDWR | O_CLOEXEC;
	int rc;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->mode = mode;
	f->align = 1;
	f->mem_align = 1;
	f->bug_short = !!(flags & EIO_BUG_SHORT);
	if (flags & EIO_CREATE)
		oflags |= O_CREAT;
	if (flags & EIO_TRUNC)
		oflags |= O_TRUNC;
	if (flags & EIO_EXCL)
		oflags |= O_EXCL;
	if (mode != EIO_BUFFERED)
		oflags |= O_DIRECT;
	f->fd = openat(dirfd, name, oflags, 0644);
	if (f->fd < 0) {
		/* EINVAL on open with O_DIRECT: the file system refuses it */
		rc = -errno;
		goto fail;
	}
	if (mode != EIO_BUFFERED)
		dio_alignment(f->fd, &f->align, &f->mem_align);
	if (mode == EIO_URING) {
		rc = io_uring_queue_init(EIO_URING_DEPTH, &f->ring, 0);
		if (rc < 0)
			goto fail;
		f->ring_ready = 1;
	}
	*out = f;
	return 0;
fail:
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return rc;
}

int eio_close(struct eio_file *f)
{
	int rc = 0;

	if (!f)
		return 0;
	if (f->ring_ready) {
		rc = eio_drain(f);
		io_uring_queue_exit(&f->ring);
	}
	if (f->fd >= 0 && close(f->fd) < 0 && rc == 0)
		rc = -errno;
	free(f);
	return rc;
}

size_t eio_align(const struct eio_file *f) { return f->align; }
size_t eio_mem_align(const struct eio_file *f) { return f->mem_align; }
enum eio_mode eio_file_mode(const struct eio_file *f) { return f->mode; }
int eio_fd(const struct eio_file *f) { return f->fd; }

static void *aligned_zalloc(size_t align, size_t len)
{
	void *p = NULL;

	if (align < sizeof(void *))
		align = sizeof(void *);
	if (len == 0)
		len = align;
	if (posix_memalign(&p, align, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

void *eio_alloc(const struct eio_file *f, size_t len)
{
	return aligned_zalloc(f->mem_align, eio_round_up(len, f->align));
}

void *eio_alloc_any(size_t len)
{
	return aligned_zalloc(EIO_MAX_ALIGN, eio_round_up(len, EIO_MAX_ALIGN));
}

/* ---- 3. uring back end ------------------------------------------------ */

/* ticket t ended with rc (0 or -errno): advance the completed prefix */
static void ticket_end(struct eio_file *f, uint64_t t, int rc)
{
	int *st = &f->tk_st[t % EIO_TICKETS];

	if (rc < 0 && (*st == TK_WAIT || *st == TK_OK))
		*st = rc;
	else if (*st == TK_WAIT)
		*st = TK_OK;
	if (rc < 0 && (!f->tk_errt || t < f->tk_errt)) {
		f->tk_errt = t;
		f->tk_err = rc;
	}
	while (f->tk_done < f->tk_issued && f->tk_st[(f->tk_done + 1) % EIO_TICKETS] != TK_WAIT)
		f->tk_done++;
}

static void uring_reap_one(struct eio_file *f, struct io_uring_cqe *cqe)
{
	struct eio_req *req = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	/* a short O_DIRECT write is an error here: the layer promised all
	 * (EIO_BUG_SHORT, the seeded bug, lets it pass) */
	if (req && !req->is_fsync && res >= 0 && (size_t)res < req->len && !f->bug_short)
		res = -EIO;
	if (req && req->ticket > f->tk_issued) {
		/* a write of the commit being built: its start reports it */
		if (res < 0 && !f->chain_err)
			f->chain_err = res;
	} else if (req && req->ticket > f->tk_done) {
		/* a commit's write or fsync: its ticket says it (a write failing
		 * in a link chain cancels the fsync, -ECANCELED, after it) */
		if (res < 0 || req->is_fsync)
			ticket_end(f, req->ticket, res < 0 ? res : 0);
	}
	if (res < 0 && !f->err)
		f->err = res;
	if (req) {
		if (req->chained)
			f->chain_out--;
		free(req->buf);
		free(req);
	}
	io_uring_cqe_seen(&f->ring, cqe);
	f->inflight--;
}

static int uring_submit(struct eio_file *f, unsigned wait_nr)
{
	int rc;

	do {
		rc = io_uring_submit_and_wait(&f->ring, wait_nr);
	} while (rc == -EINTR);
	if (rc < 0)
		return rc;
	f->inflight += f->queued;
	f->queued = 0;
	f->nchain = 0; /* submitted: no longer linkable to a later fsync */
	return 0;
}

/* reap completions (waiting for them) while *count is not 0 */
static int uring_reap_while(struct eio_file *f, const unsigned *count)
{
	struct io_uring_cqe *cqe;
	int rc;

	while (*count) {
		rc = io_uring_wait_cqe(&f->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return rc;
		uring_reap_one(f, cqe);
	}
	return 0;
}

static int uring_wait_all(struct eio_file *f)
{
	int rc;

	if (f->queued) {
		rc = uring_submit(f, 0);
		if (rc < 0)
			return rc;
	}
	rc = uring_reap_while(f, &f->inflight);
	if (rc < 0)
		return rc;
	rc = f->err;
	f->err = 0;
	return rc;
}

/* a free submission slot, waiting for the queue if it is full: 0, or the
 * error of a completion reaped on the way */
static int uring_sqe(struct eio_file *f, struct io_uring_sqe **out)
{
	int rc;

	*out = io_uring_get_sqe(&f->ring);
	if (*out)
		return 0;
	rc = uring_wait_all(f);
	if (rc < 0)
		return rc;
	*out = io_uring_get_sqe(&f->ring);
	return *out ? 0 : -EBUSY;
}

static int uring_queue_write(struct eio_file *f, const void *buf, size_t len, off_t off)
{
	struct io_uring_sqe *sqe;
	struct eio_req *req;
	size_t sub = len;
	int rc;

	if (fault_hook) {
		ssize_t h = fault_hook(fault_arg, EIO_CALL_WRITE, f->fd, len);
		if (h < 0) {
			/* not submitted: reported like a failed completion, at
			 * the next wait (and by the ticket of its commit) */
			if (!f->err)
				f->err = (int)h;
			if (!f->chain_err)
				f->chain_err = (int)h;
			return 0;
		}
		if (h > 0 && (size_t)h < len)
			sub = (size_t)h; /* completes short */
	}
	if (f->inflight + f->queued + 2 > EIO_URING_DEPTH) {
		rc = uring_wait_all(f);
		if (rc < 0)
			return rc;
	}
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->len = len;
	req->buf = aligned_zalloc(f->mem_align, len);
	if (!req->buf) {
		free(req);
		return -ENOMEM;
	}
	memcpy(req->buf, buf, len);
	rc = uring_sqe(f, &sqe);
	if (rc < 0) {
		free(req->buf);
		free(req);
		return rc;
	}
	io_uring_prep_write(sqe, f->fd, req->buf, (unsigned)sub, (__u64)off);
	io_uring_sqe_set_data(sqe, req);
	req->ticket = f->tk_issued + 1; /* the commit it will belong to */
	req->chained = 1;
	f->chain_out++;
	if (f->nchain < EIO_CHAIN_MAX)
		f->chain[f->nchain++] = sqe;
	f->queued++;
	if (f->queued >= EIO_URING_BATCH)
		return uring_submit(f, 0); /* unlinkable now: waited for at the start */
	return 0;
}

/*
 * fdatasync through the ring.  IOSQE_IO_DRAIN starts it only after every
 * earlier submission completed, so the flush covers all queued writes:
 * the write-then-flush order a direct-I/O log depends on.
 */
static int uring_sync(struct eio_file *f, int datasync)
{
	struct io_uring_sqe *sqe;
	int rc;

	if (fault_hook) {
		ssize_t h = fault_hook(fault_arg, datasync ? EIO_CALL_FDATASYNC : EIO_CALL_FSYNC,
				       f->fd, 0);
		if (h < 0) {
			/* the fsync's completion fails: the earlier writes are
			 * still waited for, the first error wins */
			rc = uring_wait_all(f);
			return rc < 0 ? rc : (int)h;
		}
	}
	rc = uring_sqe(f, &sqe);
	if (rc < 0)
		return rc;
	io_uring_prep_fsync(sqe, f->fd, datasync ? IORING_FSYNC_DATASYNC : 0);
	io_uring_sqe_set_data(sqe, NULL);
	sqe->flags |= IOSQE_IO_DRAIN;
	f->queued++;
	rc = uring_submit(f, 1);
	if (rc < 0)
		return rc;
	rc = uring_wait_all(f);
	/* the writes queued since the last eio_sync_start are covered (or
	 * their error reported) by this drained flush */
	f->chain_err = 0;
	return rc;
}

/*
 * The asynchronous commit (eio_sync_start): the commit's writes still in
 * the submission queue get IOSQE_IO_LINK and an fdatasync is linked behind
 * them, so the kernel starts the flush only once they completed (and
 * cancels it, -ECANCELED, if one failed); writes of the commit that were
 * submitted already (a full batch) cannot be linked: they are waited for
 * first, so that the flush starts after their completion.  No
 * IOSQE_IO_DRAIN: the next commit's write runs while this flush does,
 * which is the whole point (an overwrite of written blocks needs no
 * journal commit, so W flushes in flight cost little more than one).
 */
static int uring_sync_start(struct eio_file *f, uint64_t t)
{
	struct io_uring_sqe *sqe;
	struct eio_req *req;
	int rc;

	for (unsigned i = 0; i < f->nchain; i++) {
		struct eio_req *w = (struct eio_req *)(uintptr_t)f->chain[i]->user_data;
		f->chain[i]->flags |= IOSQE_IO_LINK;
		w->chained = 0;
		f->chain_out--;
	}
	f->nchain = 0;
	/* writes of this commit submitted unlinked: see them complete */
	rc = uring_reap_while(f, &f->chain_out);
	if (rc < 0)
		return rc;
	f->tk_st[t % EIO_TICKETS] = TK_WAIT;
	f->tk_issued = t;
	if (f->chain_err) {
		/* a write of the commit failed (or the hook failed it) */
		rc = f->chain_err;
		f->chain_err = 0;
		ticket_end(f, t, rc);
		return uring_submit(f, 0); /* the linked writes still go, then fail */
	}
	if (fault_hook) {
		ssize_t h = fault_hook(fault_arg, EIO_CALL_FDATASYNC, f->fd, 0);
		if (h < 0) {
			/* the fsync's completion fails: not submitted */
			ticket_end(f, t, (int)h);
			if (!f->err)
				f->err = (int)h;
			return uring_submit(f, 0);
		}
	}
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->is_fsync = 1;
	req->ticket = t;
	rc = uring_sqe(f, &sqe);
	if (rc < 0) {
		free(req);
		return rc;
	}
	/* a user_data of its own, so that each flush's completion is told
	 * apart (torn matches completions to submissions by it) */
	io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, req);
	f->queued++;
	return uring_submit(f, 0);
}

int eio_sync_start(struct eio_file *f, uint64_t *ticket)
{
	uint64_t t = f->tk_issued + 1;
	int rc;

	*ticket = t;
	if (f->tk_errt)
		return f->tk_err; /* an earlier commit failed: nothing more */
	if (f->mode != EIO_URING) {
		/* the whole sync, now: the ticket is complete on return */
		f->tk_issued = t;
		f->tk_st[t % EIO_TICKETS] = TK_WAIT;
		rc = sync_call(f->fd, EIO_CALL_FDATASYNC);
		ticket_end(f, t, rc);
		return rc;
	}
	/* the ticket's slot must be free: wait for the oldest commit */
	if (t - f->tk_done >= EIO_TICKETS) {
		rc = eio_sync_wait(f, t - EIO_TICKETS + 1, 0);
		if (rc < 0)
			return rc;
	}
	return uring_sync_start(f, t);
}

int eio_sync_overlaps(const struct eio_file *f)
{
	return f->mode == EIO_URING;
}

int eio_sync_wait(struct eio_file *f, uint64_t ticket, int nowait)
{
	struct io_uring_cqe *cqe;
	int rc;

	for (;;) {
		if (f->tk_errt && f->tk_errt <= ticket)
			return f->tk_err;
		if (ticket <= f->tk_done)
			return 1;
		if (f->mode != EIO_URING || ticket > f->tk_issued)
			return -EINVAL;
		rc = nowait ? io_uring_peek_cqe(&f->ring, &cqe) : io_uring_wait_cqe(&f->ring, &cqe);
		if (rc == -EAGAIN && nowait)
			return 0;
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return rc;
		uring_reap_one(f, cqe);
	}
}

/* ---- 4. read, write, sync, truncate ----------------------------------- */

static int aligned_ok(const struct eio_file *f, const void *buf, size_t len, off_t off)
{
	if (f->mode == EIO_BUFFERED)
		return 1;
	return (uintptr_t)buf % f->mem_align == 0 && len % f->align == 0 &&
	       (size_t)off % f->align == 0;
}

int eio_pwrite(struct eio_file *f, const void *buf, size_t len, off_t off)
{
	if (!aligned_ok(f, buf, len, off))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (f->mode == EIO_URING)
		return uring_queue_write(f, buf, len, off);
	return write_all(f->fd, buf, len, off, f->align, f->bug_short, 0);
}

int eio_zero_ahead(struct eio_file *f, off_t from, off_t to)
{
	off_t size;
	uint8_t *z;
	int rc;

	if (!eio_sync_overlaps(f) || from >= to)
		return 0;
	rc = eio_size(f, &size);
	if (rc < 0 || size >= to)
		return rc;
	z = eio_alloc(f, (size_t)(to - from));
	if (!z)
		return -ENOMEM;
	rc = eio_pwrite_sync(f, z, (size_t)(to - from), from);
	free(z);
	return rc;
}

int eio_pwrite_sync(struct eio_file *f, const void *buf, size_t len, off_t off)
{
	int rc;

	if (!aligned_ok(f, buf, len, off))
		return -EINVAL;
	if (len == 0)
		return 0;
	/* uring: after everything queued (a plain call, outside the ring's
	 * order otherwise) */
	rc = eio_drain(f);
	if (rc < 0)
		return rc;
	/* RWF_DSYNC: durable when the call returns, data and size */
	return write_all(f->fd, buf, len, off, f->align, f->bug_short, RWF_DSYNC);
}

ssize_t eio_pread(struct eio_file *f, void *buf, size_t len, off_t off)
{
	int rc;

	if (!aligned_ok(f, buf, len, off))
		return -EINVAL;
	if (f->mode == EIO_URING) {
		rc = uring_wait_all(f);
		if (rc < 0)
			return rc;
	}
	return eio_robust_pread(f->fd, buf, len, off);
}

int eio_drain(struct eio_file *f)
{
	return f->mode == EIO_URING ? uring_wait_all(f) : 0;
}

int eio_sync(struct eio_file *f)
{
	if (f->mode == EIO_URING)
		return uring_sync(f, 1);
	return sync_call(f->fd, EIO_CALL_FDATASYNC);
}

int eio_fsync(struct eio_file *f)
{
	if (f->mode == EIO_URING)
		return uring_sync(f, 0);
	return sync_call(f->fd, EIO_CALL_FSYNC);
}

int eio_truncate(struct eio_file *f, off_t size)
{
	int rc = eio_drain(f);

	if (rc < 0)
		return rc;
	while (ftruncate(f->fd, size) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int eio_size(struct eio_file *f, off_t *size)
{
	struct stat st;
	int rc = eio_drain(f);

	if (rc < 0)
		return rc;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	*size = st.st_size;
	return 0;
}

/* ---- 5. whole files, directories, commit by rename -------------------- */

int eio_read_file(int dirfd, const char *name, void **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	n = eio_robust_pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	*out = buf;
	*outlen = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int eio_dir_open(const char *path, int create)
{
	int fd;

	if (create && mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int eio_dir_sync(int dirfd)
{
	/* the directory's entries (creates, renames, unlinks) become durable */
	return sync_call(dirfd, EIO_CALL_FSYNC);
}

int eio_commit_rename(struct eio_file *f, int dirfd, const char *tmp,
		      const char *name, int skip_file_sync, int skip_dir_sync)
{
	int rc;

	/* 1. the new contents are durable before any name points at them,
	 *    or a crash after the rename leaves `name` empty or torn */
	if (!skip_file_sync) {
		rc = eio_fsync(f);
		if (rc < 0)
			return rc;
	} else {
		rc = eio_drain(f);
		if (rc < 0)
			return rc;
	}
	/* 2. rename is atomic: `name` is the old file or the new, never neither */
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		return -errno;
	/* 3. the rename itself is durable only once the directory is synced;
	 *    until then a crash may bring back the old file */
	if (!skip_dir_sync)
		return eio_dir_sync(dirfd);
	return 0;
}

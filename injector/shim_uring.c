/*
 * injector/shim_uring.c - io_uring through liburing (issue 6).
 *
 * Sections: 1. the ring table, 2. completions, 3. submissions,
 * 4. the interposed liburing calls.
 *
 * liburing 2.3 prepares entries (io_uring_get_sqe, io_uring_prep_*) with
 * inline code and enters the kernel with inline syscall instructions, and
 * the program reads completions straight from the shared ring: the only
 * points the shim sees are liburing's exported functions, and only when the
 * program links liburing dynamically (a static copy inside the executable
 * is not seen).  So:
 *   - at each submission (io_uring_submit*), the entries between the ring's
 *     sqe_head and sqe_tail (what liburing is about to flush) are recorded
 *     one per TORN_EV_URING_SUBMIT (field use in include/torn/trace.h),
 *     writes with their payload read at submission;
 *   - completions are recorded (TORN_EV_URING_CQE) by looking at the
 *     completion ring's tail, without consuming anything, at every call the
 *     shim sees: the liburing calls below and every other recorded event
 *     (shim_uring_poll, called by shim_emit), so that a completion the
 *     program reaped inline is in the trace before whatever it did next;
 *   - only entries on recorded files (or naming paths under the root) are
 *     recorded, and only the completions of recorded entries; reads,
 *     network and timer operations pass unseen; any other operation, and a
 *     ring polled by a kernel thread (IORING_SETUP_SQPOLL), is recorded as
 *     TORN_EV_UNSUPPORTED.
 * Faults: the completions of recorded writes and fsyncs can be failed
 * (torn/uring/write, torn/uring/fsync; shim_fault.c section 5).
 */
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <stdio.h>
#include <string.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. THE RING TABLE
 * ========================================================================== */

#define URING_MAX    16      /* rings of one process followed at once */
#define URING_FILES  1024    /* registered files followed per ring */
#define URING_PEND   4096    /* recorded entries awaiting completion per ring */

struct uring_st {
	struct io_uring *ring;
	/* The completion ring as mapped, copied at set-up: polled at every
	 * event, when the program's struct io_uring may be out of scope. */
	const unsigned *cq_ktail;
	const struct io_uring_cqe *cqes;
	unsigned cq_mask, cq_entries, cq_shift;
	unsigned cq_seen;        /* completion ring tail already recorded */
	int      sqpoll;         /* IORING_SETUP_SQPOLL: entries not recorded */
	int      nfiles;
	int      files[URING_FILES];
	unsigned npend;
	int      pend_full;      /* some recorded entry is not in pend[] */
	uint64_t pend[URING_PEND];   /* user_data of recorded entries */
	uint64_t warned_ops;     /* unsupported opcodes already reported */
};

/* Under the lock; g_nrings is read without it (shim_uring_poll). */
static struct uring_st g_rings[URING_MAX];
static int g_nrings;
static __thread int t_polling __attribute__((tls_model("initial-exec")));

/* Entries whose effect is recorded at their completion as the plain event
 * of the same system call (TORN_EV_OPEN, CLOSE, RENAME, UNLINK / RMDIR,
 * FALLOCATE), so that the namespace and sizes add up: what they named,
 * resolved at submission.  Under the lock. */
#define URING_NS 16

struct uring_ns {
	struct io_uring *ring;   /* NULL: free */
	uint64_t ud;
	unsigned op;
	uint32_t flags;          /* open, rename or unlink flags; fallocate mode */
	int      fd;             /* close */
	uint16_t evflags;        /* openat: TORN_F_CREATED / TORN_F_TRUNCATED */
	uint64_t ino, handle;    /* unlink, rename: the entry's inode; fallocate */
	int      is_dir;
	int64_t  off, len;
	struct shim_path p1, p2;
};

static struct uring_ns g_ns[URING_NS];

/* A fork child does not follow its parent's rings: their mappings may be
 * gone (io_uring_ring_dontfork), and the parent records their
 * completions. */
static void ring_atfork_child(void)
{
	memset(g_rings, 0, sizeof(g_rings));
	memset(g_ns, 0, sizeof(g_ns));
	g_nrings = 0;
}

static struct uring_st *ring_find(const struct io_uring *ring)
{
	for (int i = 0; i < URING_MAX; i++)
		if (g_rings[i].ring == ring)
			return &g_rings[i];
	return NULL;
}

/* The ring's entry, added when first seen (a ring set up before recording
 * began, or by io_uring_queue_mmap).  NULL when the table is full (said
 * once). */
static struct uring_st *ring_get(struct io_uring *ring)
{
	static int said;
	static int atfork;
	struct uring_st *r = ring_find(ring);

	if (r)
		return r;
	if (!atfork)
		atfork = pthread_atfork(NULL, NULL, ring_atfork_child) == 0 ? 1 : -1;
	for (int i = 0; i < URING_MAX; i++) {
		if (g_rings[i].ring)
			continue;
		r = &g_rings[i];
		memset(r, 0, sizeof(*r));
		r->ring = ring;
		r->cq_ktail = ring->cq.ktail;
		r->cqes = ring->cq.cqes;
		r->cq_mask = ring->cq.ring_mask;
		r->cq_entries = ring->cq.ring_entries;
		r->cq_shift = (ring->flags & IORING_SETUP_CQE32) ? 1 : 0;
		r->cq_seen = __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE);
		r->sqpoll = !!(ring->flags & IORING_SETUP_SQPOLL);
		__atomic_add_fetch(&g_nrings, 1, __ATOMIC_RELAXED);
		if (r->sqpoll)
			shim_unsupported("io_uring ring with IORING_SETUP_SQPOLL: a kernel thread "
					 "submits its entries, which are not recorded");
		return r;
	}
	if (!said) {
		said = 1;
		shim_unsupported("io_uring: more than 16 rings in one process, the others are "
				 "not recorded");
	}
	return NULL;
}

static void ring_forget(struct io_uring *ring)
{
	struct uring_st *r = ring_find(ring);

	if (!r)
		return;
	r->ring = NULL;
	__atomic_sub_fetch(&g_nrings, 1, __ATOMIC_RELAXED);
}

static void ring_unsupported_op(struct uring_st *r, unsigned op, const char *why)
{
	char text[160];

	if (op < 64 && (r->warned_ops & (1ull << op)))
		return;
	if (op < 64)
		r->warned_ops |= 1ull << op;
	snprintf(text, sizeof(text), "io_uring opcode %u %s: not recorded", op, why);
	shim_unsupported(text);
}

/* ==========================================================================
 * 2. COMPLETIONS
 * ========================================================================== */

/* Was an entry with @ud recorded (and not completed yet)?  Takes it out. */
static int pend_take(struct uring_st *r, uint64_t ud)
{
	for (unsigned i = 0; i < r->npend; i++)
		if (r->pend[i] == ud) {
			r->pend[i] = r->pend[--r->npend];
			return 1;
		}
	return r->pend_full;
}

/* The plain event of a namespace (or fallocate) entry that completed with
 * @res.  Under the lock. */
static void ns_complete(struct io_uring *ring, uint64_t ud, int res)
{
	struct uring_ns *n = NULL;
	struct torn_event ev = { 0 };

	for (int i = 0; i < URING_NS && !n; i++)
		if (g_ns[i].ring == ring && g_ns[i].ud == ud)
			n = &g_ns[i];
	if (!n)
		return;
	n->ring = NULL;
	if (res < 0)
		return;                          /* failed: nothing changed */
	switch (n->op) {
	case IORING_OP_OPENAT:
		if (res < SHIM_FD_MAX)
			shim_fd_open(res, &n->p1, (int)n->flags, n->evflags);
		return;
	case IORING_OP_CLOSE:
		shim_fd_drop(n->fd, 0);
		return;
	case IORING_OP_FALLOCATE:
		ev.type = TORN_EV_FALLOCATE;
		ev.handle = n->handle;
		ev.ino = n->ino;
		ev.oflags = n->flags;
		ev.off = n->off;
		ev.len = n->len;
		break;
	case IORING_OP_UNLINKAT:
		ev.type = (n->flags & AT_REMOVEDIR) ? TORN_EV_RMDIR : TORN_EV_UNLINK;
		ev.ino = n->ino;
		ev.path = shim_path_rel(&n->p1);
		ev.path_len = shim_path_rel_len(&n->p1);
		break;
	case IORING_OP_RENAMEAT:
		ev.type = TORN_EV_RENAME;
		ev.ino = n->ino;
		ev.oflags = n->flags;
		ev.path = shim_path_rel(&n->p1);
		ev.path_len = shim_path_rel_len(&n->p1);
		ev.path2 = shim_path_rel(&n->p2);
		ev.path2_len = shim_path_rel_len(&n->p2);
		break;
	default:
		return;
	}
	shim_emit(&ev);
}

/* Record the completions that appeared on @r since the last look.  Under
 * the lock. */
static void ring_poll(struct uring_st *r)
{
	unsigned tail = __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE);

	if (tail - r->cq_seen > r->cq_entries) {
		/* Older entries were overwritten after the program reaped them. */
		shim_unsupported("io_uring: completions were reaped and replaced between two "
				 "calls the shim sees; some completions are missing");
		r->cq_seen = tail - r->cq_entries;
	}
	for (; r->cq_seen != tail; r->cq_seen++) {
		const struct io_uring_cqe *cqe = &r->cqes[(r->cq_seen & r->cq_mask) << r->cq_shift];
		struct torn_event ev = { .type = TORN_EV_URING_CQE };

		if (!pend_take(r, cqe->user_data))
			continue;
		/* An injected fault replaces res in the ring, before the program
		 * reads it (shim_fault.c). */
		if (__builtin_expect(shim_faults_on, 0))
			shim_fault_uring_cqe(r->ring, (struct io_uring_cqe *)cqe);
		ev.aux_seq = cqe->user_data;
		ev.result = cqe->res;
		ev.oflags = cqe->flags;
		shim_emit(&ev);
		ns_complete(r->ring, cqe->user_data, cqe->res);
	}
}

/* Called by shim_emit before every event (under the lock): the completions
 * of every followed ring come first. */
void shim_uring_poll(void)
{
	if (!__atomic_load_n(&g_nrings, __ATOMIC_RELAXED) || t_polling)
		return;
	t_polling = 1;
	for (int i = 0; i < URING_MAX; i++)
		if (g_rings[i].ring)
			ring_poll(&g_rings[i]);
	t_polling = 0;
}

/* ==========================================================================
 * 3. SUBMISSIONS
 * ========================================================================== */

/* The descriptor an entry acts on (a registered file resolved), or -1. */
static int sqe_fd(const struct uring_st *r, const struct io_uring_sqe *sqe)
{
	if (!(sqe->flags & IOSQE_FIXED_FILE))
		return sqe->fd;
	if (sqe->fd < 0 || sqe->fd >= r->nfiles)
		return -1;
	return r->files[sqe->fd];
}

/* Operations that change no file: passed unseen. */
static int op_harmless(unsigned op)
{
	switch (op) {
	case IORING_OP_NOP: case IORING_OP_READV: case IORING_OP_READ_FIXED:
	case IORING_OP_POLL_ADD: case IORING_OP_POLL_REMOVE: case IORING_OP_SENDMSG:
	case IORING_OP_RECVMSG: case IORING_OP_TIMEOUT: case IORING_OP_TIMEOUT_REMOVE:
	case IORING_OP_ACCEPT: case IORING_OP_ASYNC_CANCEL: case IORING_OP_LINK_TIMEOUT:
	case IORING_OP_CONNECT: case IORING_OP_STATX: case IORING_OP_READ:
	case IORING_OP_FADVISE: case IORING_OP_MADVISE: case IORING_OP_SEND:
	case IORING_OP_RECV: case IORING_OP_EPOLL_CTL: case IORING_OP_PROVIDE_BUFFERS:
	case IORING_OP_REMOVE_BUFFERS: case IORING_OP_SHUTDOWN: case IORING_OP_MSG_RING:
	case IORING_OP_GETXATTR: case IORING_OP_FGETXATTR: case IORING_OP_SOCKET:
		return 1;
	}
	return 0;
}

/* Fill @ev and slot @n for a namespace entry (openat, renameat,
 * unlinkat): 1 when it names something under the root, 0 when not, -1
 * when it does in a way not recorded (a rename across the root's edge). */
static int sqe_paths(struct uring_st *r, const struct io_uring_sqe *sqe, struct torn_event *ev,
		     struct uring_ns *n)
{
	const char *path = (const char *)(uintptr_t)sqe->addr;
	struct shim_path *p1 = &n->p1, *p2 = &n->p2;
	struct stat st;

	switch (sqe->opcode) {
	case IORING_OP_OPENAT:
		if (shim_path_resolve(p1, sqe->fd, path, !(sqe->open_flags & O_NOFOLLOW)) < 0 ||
		    !p1->in)
			return 0;
		n->flags = sqe->open_flags;
		if (lstat(p1->abs, &st) < 0 && (sqe->open_flags & O_CREAT))
			n->evflags = TORN_F_CREATED;
		else if ((sqe->open_flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0)
			n->evflags = TORN_F_TRUNCATED;
		ev->mode = sqe->open_flags;
		ev->len = sqe->len;                  /* file mode */
		break;
	case IORING_OP_UNLINKAT:
		if (shim_path_resolve(p1, sqe->fd, path, 0) < 0 || !p1->in)
			return 0;
		n->flags = sqe->unlink_flags;
		n->ino = lstat(p1->abs, &st) == 0 ? st.st_ino : 0;
		ev->mode = sqe->unlink_flags;
		break;
	case IORING_OP_RENAMEAT: {
		int in1 = shim_path_resolve(p1, sqe->fd, path, 0) == 0 && p1->in;
		int in2 = shim_path_resolve(p2, (int)sqe->len,
					    (const char *)(uintptr_t)sqe->addr2, 0) == 0 && p2->in;

		if (!in1 && !in2)
			return 0;
		if (!in1 || !in2) {
			ring_unsupported_op(r, sqe->opcode, "across the recording root's edge");
			return -1;
		}
		n->flags = sqe->rename_flags;
		n->ino = lstat(p1->abs, &st) == 0 ? st.st_ino : 0;
		ev->mode = sqe->rename_flags;
		ev->path2 = shim_path_rel(p2);
		ev->path2_len = shim_path_rel_len(p2);
		break;
	}
	default:
		return 0;
	}
	ev->path = shim_path_rel(p1);
	ev->path_len = shim_path_rel_len(p1);
	return 1;
}

/* A free slot for an entry whose effect is recorded at completion. */
static struct uring_ns *ns_slot(struct uring_st *r, const struct io_uring_sqe *sqe)
{
	for (int i = 0; i < URING_NS; i++)
		if (!g_ns[i].ring) {
			struct uring_ns *n = &g_ns[i];

			n->ud = sqe->user_data;
			n->op = sqe->opcode;
			n->flags = 0;
			n->evflags = 0;
			n->ino = n->handle = 0;
			return n;
		}
	ring_unsupported_op(r, sqe->opcode, "with more than 16 such entries in flight");
	return NULL;
}

/* Record one entry.  Under the lock. */
static void record_sqe(struct uring_st *r, const struct io_uring_sqe *sqe)
{
	struct torn_event ev = { .type = TORN_EV_URING_SUBMIT };
	struct uring_ns *n = NULL;
	unsigned op = sqe->opcode;
	int fd = sqe_fd(r, sqe);
	struct shim_fd *f = NULL;
	struct iovec one, *iov = &one;
	int iovcnt = 1;
	size_t nbytes = 0;

	if (op_harmless(op))
		return;
	if ((sqe->flags & IOSQE_FIXED_FILE) && fd < 0) {
		ring_unsupported_op(r, op, "on a registered file the shim does not know "
				    "(registered before recording, or past 1024)");
		return;
	}
	ev.aux = op;
	ev.oflags = sqe->flags;
	ev.aux_seq = sqe->user_data;
	switch (op) {
	case IORING_OP_WRITE: case IORING_OP_WRITE_FIXED: case IORING_OP_WRITEV:
	case IORING_OP_FSYNC: case IORING_OP_SYNC_FILE_RANGE: case IORING_OP_FALLOCATE:
	case IORING_OP_CLOSE:
		if (!(f = shim_fd_rec(fd)))
			return;
		ev.handle = f->handle;
		ev.ino = f->ino;
		break;
	case IORING_OP_OPENAT: case IORING_OP_RENAMEAT: case IORING_OP_UNLINKAT:
		if (!(n = ns_slot(r, sqe)) || sqe_paths(r, sqe, &ev, n) <= 0)
			return;
		break;
	default:
		/* Anything else may change a file the model cannot see: said. */
		if (fd >= 0 && !shim_fd_rec(fd))
			return;
		ring_unsupported_op(r, op, "is not modelled");
		return;
	}
	switch (op) {
	case IORING_OP_WRITE: case IORING_OP_WRITE_FIXED:
		one.iov_base = (void *)(uintptr_t)sqe->addr;
		one.iov_len = sqe->len;
		nbytes = sqe->len;
		break;
	case IORING_OP_WRITEV:
		if (sqe->len > UIO_MAXIOV)
			return;                      /* the kernel refuses it: EINVAL */
		iov = (struct iovec *)(uintptr_t)sqe->addr;
		iovcnt = (int)sqe->len;
		for (int i = 0; i < iovcnt; i++)
			nbytes += iov[i].iov_len;
		break;
	case IORING_OP_FSYNC:
		ev.mode = sqe->fsync_flags;          /* IORING_FSYNC_DATASYNC */
		ev.off = (int64_t)sqe->off;
		ev.len = sqe->len;
		break;
	case IORING_OP_SYNC_FILE_RANGE:
		ev.mode = sqe->sync_range_flags;
		ev.off = (int64_t)sqe->off;
		ev.len = sqe->len;
		break;
	case IORING_OP_FALLOCATE:
		ev.mode = sqe->len;                  /* FALLOC_FL_* */
		ev.off = (int64_t)sqe->off;
		ev.len = (int64_t)sqe->addr;
		if (!(n = ns_slot(r, sqe)))
			return;
		n->flags = sqe->len;
		n->handle = f->handle;
		n->ino = f->ino;
		n->off = ev.off;
		n->len = ev.len;
		break;
	case IORING_OP_CLOSE:
		if ((sqe->flags & IOSQE_FIXED_FILE) || !(n = ns_slot(r, sqe)))
			return;
		n->fd = fd;
		break;
	}
	if (op == IORING_OP_WRITE || op == IORING_OP_WRITE_FIXED || op == IORING_OP_WRITEV) {
		if (sqe->off == (__u64)-1 || (f->oflags & O_APPEND) || (sqe->rw_flags & RWF_APPEND)) {
			ring_unsupported_op(r, op, "at the file position or appending (the offset "
					    "is not known)");
			return;
		}
		if (trace_nchunks(nbytes) > 16) {
			ring_unsupported_op(r, op, "of more than 1 MiB in one entry");
			return;
		}
		ev.off = (int64_t)sqe->off;
		ev.len = (int64_t)nbytes;
		ev.mode = sqe->rw_flags;
		ev.flags = (f->oflags & O_DIRECT) ? TORN_F_DIRECT : 0;
	}
	if (n)
		n->ring = r->ring;               /* taken: completed in ns_complete */
	if (__builtin_expect(shim_faults_on, 0))
		shim_fault_uring_arm(r->ring, sqe->user_data, op, fd, f);
	if (r->npend < URING_PEND)
		r->pend[r->npend++] = sqe->user_data;
	else
		r->pend_full = 1;
	if (nbytes)
		shim_emit_write(&ev, iov, iovcnt, nbytes);
	else
		shim_emit(&ev);
}

/* Record the entries liburing is about to flush.  Under the lock. */
static void ring_submit(struct uring_st *r)
{
	struct io_uring *ring = r->ring;
	unsigned shift = (ring->flags & IORING_SETUP_SQE128) ? 1 : 0;

	if (r->sqpoll)
		return;
	for (unsigned i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++)
		record_sqe(r, &ring->sq.sqes[(i & ring->sq.ring_mask) << shift]);
}

/* ==========================================================================
 * 4. THE INTERPOSED LIBURING CALLS
 * ========================================================================== */

enum { U_LOOK = 0, U_SUBMIT = 1, U_FORGET = 2 };

/* Before the real call: completions so far, then (U_SUBMIT) the entries
 * about to be flushed.  The lock is not held across the real call, which
 * may wait. */
static void uring_before(struct io_uring *ring, int what)
{
	struct shim_lock lk;
	struct uring_st *r;

	if (shim_in_lock() || !shim_active() || !ring)
		return;
	shim_lock(&lk);
	shim_uring_poll();
	if (what == U_FORGET)
		ring_forget(ring);   /* its completions were just polled */
	else if ((r = ring_get(ring)) && what == U_SUBMIT)
		ring_submit(r);
	shim_unlock(&lk);
}

/* After it: the completions it waited for. */
static void uring_after(void)
{
	struct shim_lock lk;

	if (shim_in_lock() || !shim_active())
		return;
	shim_lock(&lk);
	shim_uring_poll();
	shim_unlock(&lk);
}

/* After a successful set-up: follow the ring (liburing's own
 * io_uring_queue_init calls io_uring_queue_init_params, which did). */
static void uring_after_init(struct io_uring *ring)
{
	struct shim_lock lk;

	if (shim_in_lock() || !shim_active())
		return;
	shim_lock(&lk);
	if (!ring_find(ring))
		ring_get(ring);
	shim_unlock(&lk);
}

#define URING_REAL(name) \
	({ if (!SHIM_REAL(name)) return -ENOSYS; shim_real_##name; })

#define URING_WRAP(what, ring, call)                  \
	int rc, e;                                    \
	uring_before(ring, what);                     \
	rc = call;                                    \
	e = errno;                                    \
	uring_after();                                \
	errno = e;                                    \
	return rc

SHIM_EXPORT int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
					   struct io_uring_params *p)
{
	int rc, e;

	uring_before(ring, U_FORGET);    /* a ring struct used again */
	rc = URING_REAL(io_uring_queue_init_params)(entries, ring, p);
	e = errno;
	if (rc == 0)
		uring_after_init(ring);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	int rc, e;

	uring_before(ring, U_FORGET);
	rc = URING_REAL(io_uring_queue_init)(entries, ring, flags);
	e = errno;
	if (rc == 0)
		uring_after_init(ring);
	errno = e;
	return rc;
}

SHIM_EXPORT void io_uring_queue_exit(struct io_uring *ring)
{
	uring_before(ring, U_FORGET);
	if (SHIM_REAL(io_uring_queue_exit))
		shim_real_io_uring_queue_exit(ring);
}

SHIM_EXPORT int io_uring_submit(struct io_uring *ring)
{
	URING_WRAP(U_SUBMIT, ring, URING_REAL(io_uring_submit)(ring));
}

SHIM_EXPORT int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	URING_WRAP(U_SUBMIT, ring, URING_REAL(io_uring_submit_and_wait)(ring, wait_nr));
}

SHIM_EXPORT int io_uring_submit_and_wait_timeout(struct io_uring *ring,
						 struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
						 struct __kernel_timespec *ts, sigset_t *sigmask)
{
	URING_WRAP(U_SUBMIT, ring,
		   URING_REAL(io_uring_submit_and_wait_timeout)(ring, cqe_ptr, wait_nr, ts,
								 sigmask));
}

SHIM_EXPORT int io_uring_submit_and_get_events(struct io_uring *ring)
{
	URING_WRAP(U_SUBMIT, ring, URING_REAL(io_uring_submit_and_get_events)(ring));
}

SHIM_EXPORT int io_uring_get_events(struct io_uring *ring)
{
	URING_WRAP(U_LOOK, ring, URING_REAL(io_uring_get_events)(ring));
}

SHIM_EXPORT int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				   unsigned submit, unsigned wait_nr, sigset_t *sigmask)
{
	URING_WRAP(U_LOOK, ring,
		   URING_REAL(__io_uring_get_cqe)(ring, cqe_ptr, submit, wait_nr, sigmask));
}

SHIM_EXPORT int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				   unsigned wait_nr, struct __kernel_timespec *ts,
				   sigset_t *sigmask)
{
	URING_WRAP(U_LOOK, ring,
		   URING_REAL(io_uring_wait_cqes)(ring, cqe_ptr, wait_nr, ts, sigmask));
}

SHIM_EXPORT int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
					  struct __kernel_timespec *ts)
{
	URING_WRAP(U_LOOK, ring, URING_REAL(io_uring_wait_cqe_timeout)(ring, cqe_ptr, ts));
}

SHIM_EXPORT unsigned io_uring_peek_batch_cqe(struct io_uring *ring,
					     struct io_uring_cqe **cqes, unsigned count)
{
	unsigned rc;

	if (!SHIM_REAL(io_uring_peek_batch_cqe))
		return 0;
	uring_before(ring, U_LOOK);
	rc = shim_real_io_uring_peek_batch_cqe(ring, cqes, count);
	uring_after();
	return rc;
}

/* Registered files: the table follows the kernel's (index -> descriptor;
 * -1 for an empty slot).  @off/@nr from the call; @fds NULL for sparse. */
static void files_set(struct io_uring *ring, unsigned off, const int *fds, unsigned nr,
		      int reset)
{
	struct shim_lock lk;
	struct uring_st *r;

	if (shim_in_lock() || !shim_active())
		return;
	shim_lock(&lk);
	if ((r = ring_get(ring))) {
		if (reset)
			r->nfiles = 0;
		for (unsigned i = 0; i < nr && off + i < URING_FILES; i++) {
			int fd = fds ? fds[i] : -1;

			if (fd == IORING_REGISTER_FILES_SKIP)
				continue;
			while ((unsigned)r->nfiles <= off + i)
				r->files[r->nfiles++] = -1;
			r->files[off + i] = fd;
		}
		if (off + nr > URING_FILES)
			shim_unsupported("io_uring: more than 1024 registered files, entries on "
					 "the others are not recorded");
	}
	shim_unlock(&lk);
}

SHIM_EXPORT int io_uring_register_files(struct io_uring *ring, const int *files,
					unsigned nr_files)
{
	int rc = URING_REAL(io_uring_register_files)(ring, files, nr_files), e = errno;

	if (rc == 0)
		files_set(ring, 0, files, nr_files, 1);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_register_files_tags(struct io_uring *ring, const int *files,
					     const __u64 *tags, unsigned nr)
{
	int rc = URING_REAL(io_uring_register_files_tags)(ring, files, tags, nr), e = errno;

	if (rc == 0)
		files_set(ring, 0, files, nr, 1);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_register_files_sparse(struct io_uring *ring, unsigned nr)
{
	int rc = URING_REAL(io_uring_register_files_sparse)(ring, nr), e = errno;

	if (rc == 0)
		files_set(ring, 0, NULL, nr, 1);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_register_files_update(struct io_uring *ring, unsigned off,
					       const int *files, unsigned nr_files)
{
	int rc = URING_REAL(io_uring_register_files_update)(ring, off, files, nr_files), e = errno;

	/* Returns how many were updated: those first ones are in place. */
	if (rc > 0)
		files_set(ring, off, files, (unsigned)rc, 0);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_register_files_update_tag(struct io_uring *ring, unsigned off,
						   const int *files, const __u64 *tags,
						   unsigned nr_files)
{
	int rc = URING_REAL(io_uring_register_files_update_tag)(ring, off, files, tags, nr_files);
	int e = errno;

	if (rc > 0)
		files_set(ring, off, files, (unsigned)rc, 0);
	errno = e;
	return rc;
}

SHIM_EXPORT int io_uring_unregister_files(struct io_uring *ring)
{
	int rc = URING_REAL(io_uring_unregister_files)(ring), e = errno;

	if (rc == 0)
		files_set(ring, 0, NULL, 0, 1);
	errno = e;
	return rc;
}

/* Registered buffers need no table: a WRITE_FIXED entry carries the user
 * address of its bytes, read at submission.  These calls are only points
 * where completions are looked at. */
SHIM_EXPORT int io_uring_register_buffers(struct io_uring *ring, const struct iovec *iovecs,
					  unsigned nr_iovecs)
{
	URING_WRAP(U_LOOK, ring, URING_REAL(io_uring_register_buffers)(ring, iovecs, nr_iovecs));
}

SHIM_EXPORT int io_uring_register_buffers_tags(struct io_uring *ring, const struct iovec *iovecs,
					       const __u64 *tags, unsigned nr)
{
	URING_WRAP(U_LOOK, ring,
		   URING_REAL(io_uring_register_buffers_tags)(ring, iovecs, tags, nr));
}

SHIM_EXPORT int io_uring_register_buffers_update_tag(struct io_uring *ring, unsigned off,
						     const struct iovec *iovecs,
						     const __u64 *tags, unsigned nr)
{
	URING_WRAP(U_LOOK, ring,
		   URING_REAL(io_uring_register_buffers_update_tag)(ring, off, iovecs, tags, nr));
}

SHIM_EXPORT int io_uring_unregister_buffers(struct io_uring *ring)
{
	URING_WRAP(U_LOOK, ring, URING_REAL(io_uring_unregister_buffers)(ring));
}

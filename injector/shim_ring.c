/*
 * injector/shim_ring.c - the shim's event sink: the shared control block
 * that `torn record` drains into the trace file (injector/shm.h), as the
 * wrappers see it through injector/shim.h, plus the exported torn_mark().
 *
 * Sections: 1. state and start-up (constructor), 2. lock, 3. emitting
 * events and writes, 4. marks, 5. exec and fork.
 *
 * Rules of this file: no malloc once the program runs (the constructor is
 * the only place that may allocate, and it does not); I/O through raw
 * syscalls, never through the libc functions the wrappers interpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"
#include "shm.h"

#undef torn_mark   /* mark.h's macro for programs; here we define the function */

/* ==========================================================================
 * 1. STATE AND START-UP
 * ========================================================================== */

static struct shm_ctl *g_ctl;           /* NULL: not recording */
static int g_dead;                      /* the recorder went away: pass through */
static int g_mark_rd = -1, g_stdout_rd = -1, g_stdout_orig = -1, g_ctl_fd = -1;
/* this process's window of the $TORN_MARK_FD file (shm.h, section 5) */
static struct shm_markwin g_mark_win;
static char g_root[PATH_MAX];
static size_t g_root_len;

/* "NAME=value" of the variables recording needs, as they were at start-up,
 * for shim_exec_env(); empty when the variable was not set. */
static char g_env_shm[PATH_MAX + 16];
static char g_env_markfd[64];
static char g_env_preload[8192];

/* Per thread: does this thread hold the global lock?  Initial-exec TLS: a
 * preloaded library gets static TLS, and no __tls_get_addr (which may
 * allocate) runs inside a wrapper. */
static __thread int t_in_lock __attribute__((tls_model("initial-exec")));
/* Per thread: its tid, valid while shim_pid() == t_pid (a fork child
 * running on a copy of this thread's TLS sees another pid and recomputes). */
static __thread pid_t t_pid __attribute__((tls_model("initial-exec")));
static __thread pid_t t_tid __attribute__((tls_model("initial-exec")));
/* Per thread: > 0 while this thread is inside vfork() (shim_proc.c's
 * stub): the vfork child runs on the parent's memory and TLS, where every
 * cached pid is the parent's, so it asks the kernel each time. */
__thread int shim_t_vfork __attribute__((tls_model("initial-exec")));

/* Per-process state in a page the kernel empties in the child of any fork
 * (MADV_WIPEONFORK, Linux 4.14): the wrapper's fork, libc's internal ones,
 * _Fork and raw fork/clone syscalls alike.  NULL when the kernel lacks it:
 * then every call asks for the pid (the cost of one getpid), and the lock
 * always blocks signals (section 2). */
struct fork_page {
	pid_t    pid;           /* this process's pid (0: not asked yet) */
	uint32_t unblocked;     /* threads inside shim_lock with signals left
	                           unblocked (section 2) */
	uint32_t sig_lock;      /* serializes the signal wrappers (a spin lock:
	                           a fork child must not inherit it held) */
	/* Prefaulting the shared mapping (section 3, under the lock). */
	uint32_t no_populate;   /* MADV_POPULATE_WRITE refused: stop trying */
	uint64_t put_bytes;     /* payload bytes this process put in the ring */
	uint64_t ring_mapped;   /* bit i: region i of the ring is mapped in */
};
static struct fork_page *g_pid_page;

/* A buffer to make a chunk contiguous when it spans iovecs (under the lock:
 * one thread of this process at a time). */
static uint8_t g_gather[TORN_CHUNK];

static void save_env(char *dst, size_t cap, const char *name)
{
	const char *v = getenv(name);
	int n;

	dst[0] = '\0';
	if (!v)
		return;
	n = snprintf(dst, cap, "%s=%s", name, v);
	if (n < 0 || (size_t)n >= cap)
		dst[0] = '\0';         /* too long to keep: exec children lose it */
}

/* The descriptor @fd is one of ours only if it still is a pipe. */
/* The $TORN_MARK_FD file as the recorder made it: a regular (memory) file. */
static int marks_fd(int fd)
{
	struct stat st;

	if (fd < 0 || syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != SHM_MARK_SPAN)
		return -1;
	return fd;
}

static int fifo_fd(int fd)
{
	struct stat st;

	if (fd < 0 || syscall(SYS_fstat, fd, &st) != 0 || !S_ISFIFO(st.st_mode))
		return -1;
	return fd;
}

/* Set up the pid cache (before any wrapper can record: constructor). */
static void pid_cache_init(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

#if !defined(__x86_64__)
	return;         /* no vfork stub (shim_proc.c) for this architecture */
#endif
	p = (void *)syscall(SYS_mmap, NULL, (size_t)page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);

	if (p == MAP_FAILED)
		return;
	if (syscall(SYS_madvise, p, (size_t)page, MADV_WIPEONFORK) != 0) {
		syscall(SYS_munmap, p, (size_t)page);   /* old kernel: no cache */
		return;
	}
	g_pid_page = p;
}

pid_t shim_pid(void)
{
	pid_t p;

	if (!g_pid_page || __builtin_expect(shim_t_vfork > 0, 0))
		return (pid_t)syscall(SYS_getpid);
	p = __atomic_load_n(&g_pid_page->pid, __ATOMIC_RELAXED);
	if (__builtin_expect(p == 0, 0)) {
		/* First use in this process (threads racing store the same value). */
		p = (pid_t)syscall(SYS_getpid);
		__atomic_store_n(&g_pid_page->pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

__attribute__((constructor)) static void shim_ring_init(void)
{
	const char *path = getenv(SHIM_ENV_CTL);
	struct shm_ctl *c = MAP_FAILED;
	struct stat st;
	long fd = -1;
	int inherited = -1;

	if (!path || !*path)
		return;
	pid_cache_init();
	save_env(g_env_shm, sizeof(g_env_shm), SHIM_ENV_CTL);
	save_env(g_env_markfd, sizeof(g_env_markfd), SHIM_ENV_MARK_FD);
	save_env(g_env_preload, sizeof(g_env_preload), SHIM_ENV_PRELOAD);

	/* "fd:N": an inherited descriptor (what torn record gives), kept open
	 * for exec'd images; otherwise a path, opened and closed again. */
	if (!strncmp(path, "fd:", 3)) {
		char *end;
		long n = strtol(path + 3, &end, 10);

		if (*end || n < 0 || n > INT_MAX)
			return;
		inherited = (int)n;
	} else {
		fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	}
	if (inherited >= 0 ? syscall(SYS_fstat, inherited, &st) != 0 :
	    fd < 0 || syscall(SYS_fstat, (int)fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)SHM_CTL_SIZE)
		goto out;
	c = (struct shm_ctl *)syscall(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
				      MAP_SHARED, inherited >= 0 ? inherited : (int)fd, 0L);
	if (c == MAP_FAILED)
		goto out;
	/* Check what the recorder promised before trusting any offset. */
	if (c->magic != SHM_MAGIC || c->version != SHM_VERSION || c->ctl_size != SHM_CTL_SIZE ||
	    c->map_size != (uint64_t)st.st_size || c->ring_size % 8 || c->ring_size < TORN_REC_MAX * 2 ||
	    c->ring_off + c->ring_size > c->map_size || c->dedup_slots == 0 ||
	    (c->dedup_slots & (c->dedup_slots - 1)) ||
	    c->dedup_off + 16ull * c->dedup_slots > c->map_size || c->root_len >= sizeof(g_root)) {
		syscall(SYS_munmap, c, (size_t)st.st_size);
		goto out;
	}
	memcpy(g_root, c->root, c->root_len);
	g_root[c->root_len] = '\0';
	g_root_len = c->root_len;
	g_mark_rd = marks_fd(c->mark_rd);
	g_stdout_rd = fifo_fd(c->stdout_rd);
	g_stdout_orig = g_stdout_rd >= 0 ? c->stdout_orig : -1;
	/* Each printed line must reach the pipe when printed, or it would be
	 * ordered after the I/O that follows it. */
	if (c->marks_from_stdout)
		setvbuf(stdout, NULL, _IOLBF, 0);
	g_ctl_fd = inherited;
	__atomic_add_fetch(&c->attached, 1, __ATOMIC_RELAXED);
	g_ctl = c;
out:
	if (fd >= 0)
		syscall(SYS_close, (int)fd);
}

int shim_active(void)
{
	return g_ctl && !g_dead && !__atomic_load_n(&g_ctl->closed, __ATOMIC_RELAXED);
}

const char *shim_root(void)
{
	return g_root;
}

size_t shim_root_len(void)
{
	return g_root_len;
}

int shim_own_fd(int fd)
{
	if (!g_ctl || fd < 0)
		return 0;
	return fd == g_mark_rd || fd == g_stdout_rd || fd == g_stdout_orig || fd == g_ctl_fd;
}

/* ==========================================================================
 * 2. LOCK
 * ========================================================================== */

/* Signals and the lock.  A signal handler that runs while its thread holds
 * the lock and calls a wrapper would either deadlock on the mutex or (past
 * the re-entry check) not be recorded.  Blocking every signal around the
 * lock prevents both, but costs two system calls per event (~230 ns, an
 * eighth of a native 4 KiB write).  Most programs install no handler at
 * all, and without one no code of the program can run inside the lock (a
 * signal's default action stops, ends or ignores, like SIGKILL can).  So:
 *
 *   - g_sig_user has a bit per signal whose handler may be the program's
 *     (set by the wrappers of sigaction, signal, ... in shim_signal.c
 *     before the handler is installed, cleared after SIG_DFL or SIG_IGN is);
 *   - shim_lock counts itself in fork_page.unblocked, then reads g_sig_user:
 *     when it is 0 signals stay unblocked, otherwise it uncounts itself and
 *     blocks them as before;
 *   - a wrapper installing a handler sets its bit, then waits until
 *     unblocked (less its own thread's count) is 0 before installing it.
 *
 * Both sides write, then read the other's word, all sequentially
 * consistent: either shim_lock sees the bit, or the installer sees the
 * count and waits for that lock to be released.  So no handler can be
 * installed while any thread is inside an unblocked lock.  Handlers
 * installed without the exported functions (raw rt_sigaction system calls,
 * a sanitizer's own) are not seen: a wrapper they call inside the lock
 * passes through (t_in_lock), which is what happened before the lock was
 * taken too.  A fork child starts with unblocked = 0 (the page is wiped);
 * a vfork child, on its parent's memory, always blocks. */
static uint64_t g_sig_user;
/* This thread's share of fork_page.unblocked (nested locks count twice). */
static __thread int t_unblocked __attribute__((tls_model("initial-exec")));

/* Count this thread into the unblocked locks if no handler is installed.
 * Returns 1 when counted (signals may stay unblocked). */
static int sig_enter(struct shim_lock *lk)
{
	struct fork_page *fp = g_pid_page;

	if (!fp || __builtin_expect(shim_t_vfork > 0, 0))
		return 0;
	lk->count_pid = shim_pid();
	t_unblocked++;          /* first: an installer in this thread's handler skips it */
	__atomic_add_fetch(&fp->unblocked, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g_sig_user, __ATOMIC_SEQ_CST) == 0)
		return 1;
	__atomic_sub_fetch(&fp->unblocked, 1, __ATOMIC_SEQ_CST);
	t_unblocked--;
	return 0;
}

static void sig_leave(struct shim_lock *lk)
{
	/* A fork child's copy of a counted lock: its page was wiped. */
	if (shim_pid() != lk->count_pid)
		return;
	__atomic_sub_fetch(&g_pid_page->unblocked, 1, __ATOMIC_SEQ_CST);
	t_unblocked--;
}

void shim_sig_change_begin(struct shim_sig_change *ch, int sig, int user_handler)
{
	struct fork_page *fp = g_pid_page;
	sigset_t all;

	ch->sig = sig;
	ch->user = user_handler;
	ch->locked = 0;
	if (!fp || sig < 1 || sig > 64)
		return;         /* the lock always blocks, or the call fails (EINVAL) */
	/* Signals blocked while sig_lock is held: a handler of this thread
	 * calling sigaction must not spin on it. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &ch->saved);
	while (__atomic_exchange_n(&fp->sig_lock, 1, __ATOMIC_ACQUIRE))
		syscall(SYS_sched_yield);
	ch->locked = 1;
	if (!user_handler)
		return;
	ch->prev = (__atomic_fetch_or(&g_sig_user, 1ull << (sig - 1), __ATOMIC_SEQ_CST) >>
		    (sig - 1)) & 1;
	/* Wait for the locks that did not see the bit (short: one event). */
	while ((int)__atomic_load_n(&fp->unblocked, __ATOMIC_SEQ_CST) - t_unblocked > 0)
		syscall(SYS_sched_yield);
}

void shim_sig_change_end(struct shim_sig_change *ch, int ok)
{
	struct fork_page *fp = g_pid_page;

	if (!ch->locked)
		return;
	/* Back to SIG_DFL or SIG_IGN: no handler of the program left for this
	 * signal (not in a vfork child: the bits are its parent's, whose
	 * handlers it does not share).  A handler that could not be
	 * installed (SIGKILL, a bad number) leaves the bit as it was. */
	if (shim_t_vfork == 0 && (ok ? !ch->user : ch->user && !ch->prev))
		__atomic_and_fetch(&g_sig_user, ~(1ull << (ch->sig - 1)), __ATOMIC_SEQ_CST);
	__atomic_store_n(&fp->sig_lock, 0, __ATOMIC_RELEASE);
	pthread_sigmask(SIG_SETMASK, &ch->saved, NULL);
}

/* lk->held: 0 nothing, 1 outside the mutex, 2 mutex held.  lk->counted:
 * signals were left unblocked (see above), else they are blocked. */
void shim_lock(struct shim_lock *lk)
{
	/* A thread cancelled at a cancellation point inside a wrapper (the
	 * real write, open, close ... runs under the lock) would unwind with
	 * the lock held and hang every process of the program: cancellation
	 * waits until the lock is released (the next cancellation point). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &lk->cancel);
	lk->counted = sig_enter(lk);
	if (!lk->counted) {
		sigset_t all;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &lk->saved);
	}
	lk->held = 1;
	/* Re-entered in this thread: never take the (non-recursive) mutex twice. */
	if (t_in_lock || !g_ctl || g_dead)
		return;
	if (shm_lock(g_ctl) < 0) {
		g_dead = 1;            /* ENOTRECOVERABLE: stop recording, keep running */
		return;
	}
	t_in_lock = 1;
	lk->held = 2;
}

void shim_unlock(struct shim_lock *lk)
{
	if (!lk->held)
		return;
	/* After fork, the child's copy of lk says 2 but the mutex belongs to
	 * the parent's thread: shim_after_fork_child cleared t_in_lock. */
	if (lk->held == 2 && t_in_lock) {
		t_in_lock = 0;
		shm_unlock(g_ctl);
	}
	lk->held = 0;
	if (lk->counted)
		sig_leave(lk);
	else
		pthread_sigmask(SIG_SETMASK, &lk->saved, NULL);
	pthread_setcancelstate(lk->cancel, NULL);
}

int shim_in_lock(void)
{
	return t_in_lock;
}

uint64_t shim_new_handle(void)
{
	static uint64_t local;      /* not recording: still unique in this process */

	if (!g_ctl || !t_in_lock)
		return __atomic_add_fetch(&local, 1, __ATOMIC_RELAXED) | (1ull << 63);
	return ++g_ctl->handle;
}

uint64_t shim_seq_now(void)
{
	return g_ctl ? __atomic_load_n(&g_ctl->seq, __ATOMIC_ACQUIRE) : 0;
}

/* ==========================================================================
 * 3. EMITTING EVENTS AND WRITES
 * ========================================================================== */

static void who(uint32_t *pid, uint32_t *tid)
{
	pid_t p = shim_pid();

	if (__builtin_expect(shim_t_vfork > 0, 0)) {
		/* vfork child: this TLS is the parent thread's, leave it alone */
		*pid = (uint32_t)p;
		*tid = (uint32_t)syscall(SYS_gettid);
		return;
	}
	if (t_pid != p) {
		t_pid = p;
		t_tid = (pid_t)syscall(SYS_gettid);
	}
	*pid = (uint32_t)p;
	*tid = (uint32_t)t_tid;
}

/* Can this thread put records in the ring now?  Under the lock only. */
static int can_emit(void)
{
	return g_ctl && !g_dead && t_in_lock && !g_ctl->closed;
}

/* A ring error other than a too-big record means the recording is over. */
static void check(int rc)
{
	if (rc < 0 && rc != -TORN_E_TOOBIG)
		g_dead = 1;
}

/* Marks written before this point (the $TORN_MARK_FD file, the stdout pipe)
 * go before the next event. */
static int drain(void)
{
	int rc = shm_drain_pipes(g_ctl, &g_mark_win, g_mark_rd, g_stdout_rd, g_stdout_orig);

	check(rc);
	return rc;
}

void shim_emit(struct torn_event *ev)
{
	if (!can_emit() || drain() < 0)
		return;
	if (shim_uring_poll)        /* io_uring completions seen so far come first */
		shim_uring_poll();
	who(&ev->pid, &ev->tid);
	check(shm_put(g_ctl, ev));
}

/* Cursor over the payload iovecs. */
struct payload {
	const struct iovec *iov;
	int iovcnt, i;
	size_t at;                  /* bytes consumed of iov[i] */
};

/* The next @len bytes of the payload, contiguous (in place when they lie in
 * one iovec, else gathered into g_gather). */
static const uint8_t *payload_take(struct payload *p, size_t len)
{
	size_t got = 0;

	while (p->i < p->iovcnt && p->at == p->iov[p->i].iov_len) {
		p->i++;
		p->at = 0;
	}
	if (p->i < p->iovcnt && p->iov[p->i].iov_len - p->at >= len) {
		const uint8_t *r = (const uint8_t *)p->iov[p->i].iov_base + p->at;
		p->at += len;
		return r;
	}
	while (got < len && p->i < p->iovcnt) {
		size_t n = p->iov[p->i].iov_len - p->at;

		if (n > len - got)
			n = len - got;
		memcpy(g_gather + got, (const uint8_t *)p->iov[p->i].iov_base + p->at, n);
		got += n;
		p->at += n;
		if (p->at == p->iov[p->i].iov_len) {
			p->i++;
			p->at = 0;
		}
	}
	return got == len ? g_gather : NULL;
}

#define SHIM_WRITE_CHUNKS 16u   /* chunks per write event (shim.h's contract) */

/* Prefaulting.  The first touch of each page of the shared mapping costs
 * this process a page fault (0.6 to 1.3 us here): 4096 for a lap of the
 * 16 MiB ring - a tenth of the shim's cost on the 64 MiB stream benchmark
 * (the recorder allocates and zeroes the pages as the program starts,
 * record.c's consumer_prefault; mapping them is left).  MADV_POPULATE_WRITE (Linux 5.14) maps a range
 * in one call at ~0.25 us a page.  Only for processes that have put
 * SHIM_PREFAULT_AFTER bytes already: a small writer (a shell command) only
 * faults in the few pages it uses, where populating whole regions would
 * cost more.  Per process (a fork child's page tables do not carry shared
 * mappings over: the page is wiped), not in a vfork child (its parent's
 * memory). */
#define SHIM_PREFAULT_AFTER (1u << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int populate(void *at, uint64_t len)
{
	if (syscall(SYS_madvise, at, (size_t)len, MADV_POPULATE_WRITE) == 0)
		return 0;
	g_pid_page->no_populate = 1;    /* older kernel (EINVAL) or out of memory */
	return -1;
}

/* About to put @len bytes: map in the regions of the ring they go to and
 * the next one. */
static void prefault(size_t len)
{
	struct fork_page *fp = g_pid_page;
	uint64_t page = 4096, size = g_ctl->ring_size, region, pos;
	uint8_t *ring = shm_ring(g_ctl);

	if (!fp || fp->no_populate || shim_t_vfork > 0)
		return;
	fp->put_bytes += len;
	if (fp->put_bytes < SHIM_PREFAULT_AFTER || (uintptr_t)ring % page)
		return;
	region = (size / 64 + page - 1) / page * page;  /* at most 64 regions */
	pos = g_ctl->head % size;
	for (uint64_t k = 0; k < len / region + 2 && k < 64; k++, pos = (pos + region) % size) {
		uint64_t i = pos / region, start = i * region;

		if (fp->ring_mapped & (1ull << i))
			continue;
		if (populate(ring + start, start + region <= size ? region : size - start) < 0)
			return;
		fp->ring_mapped |= 1ull << i;
	}
}

/* The chunk hashes of an event the consumer names (SHM_F_UNHASHED): zero
 * placeholders, as many as one event can name. */
static const uint8_t g_nohash[16u * TORN_WRITE_MAX_CHUNKS];

/* Write events: one per SHIM_WRITE_CHUNKS chunks of the bytes written.  A
 * continuation has TORN_F_SPLIT and its offset moved on; each piece has
 * result = its bytes, len = its bytes except the last piece, whose len also
 * counts what was requested and not written (sum of len = requested). */
void shim_emit_write(struct torn_event *ev, const struct iovec *iov, int iovcnt, size_t nbytes)
{
	struct payload pl = { iov, iovcnt, 0, 0 };
	const size_t piece_max = (size_t)SHIM_WRITE_CHUNKS * TORN_CHUNK;
	int64_t requested = ev->len;
	size_t done = 0;
	uint32_t pid, tid;

	if (!can_emit() || drain() < 0)
		return;
	who(&pid, &tid);
	ev->pid = pid;
	ev->tid = tid;
	if (nbytes == 0) {
		ev->nchunks = 0;
		check(shm_put(g_ctl, ev));
		return;
	}
	prefault(nbytes);
	while (done < nbytes && !g_dead) {
		size_t piece = nbytes - done < piece_max ? nbytes - done : piece_max;
		struct torn_event e = *ev;
		uint32_t k = 0;

		for (size_t at = 0; at < piece; at += TORN_CHUNK, k++) {
			size_t n = piece - at < TORN_CHUNK ? piece - at : TORN_CHUNK;
			const uint8_t *data = payload_take(&pl, n);

			if (!data) {            /* iovecs shorter than nbytes: a caller bug */
				return;
			}
			check(shm_put_data(g_ctl, data, (uint32_t)n, pid, tid));
		}
		if (g_dead)
			return;
		if (done) {
			e.flags |= TORN_F_SPLIT;
			if (e.off >= 0)
				e.off += (int64_t)done;
		}
		e.flags |= SHM_F_UNHASHED;      /* the consumer names the k chunks */
		e.len = done + piece == nbytes && requested > (int64_t)done ?
			requested - (int64_t)done : (int64_t)piece;
		e.result = (int64_t)piece;
		e.chunks = g_nohash;
		e.nchunks = k;
		check(shm_put(g_ctl, &e));
		ev->seq = e.seq;
		done += piece;
	}
}

/* Added by the wrappers' side (shim.c's imports): a whole content in one
 * event, INIT_FILE-like, up to TORN_WRITE_MAX_CHUNKS chunks (no split). */
int shim_emit_content(struct torn_event *ev, const void *data, size_t len)
{
	uint32_t pid, tid, k = 0;

	if (trace_nchunks(len) > TORN_WRITE_MAX_CHUNKS)
		return -E2BIG;
	if (!can_emit() || drain() < 0)
		return -EPIPE;
	who(&pid, &tid);
	ev->pid = pid;
	ev->tid = tid;
	for (size_t at = 0; at < len; at += TORN_CHUNK, k++) {
		size_t n = len - at < TORN_CHUNK ? len - at : TORN_CHUNK;

		check(shm_put_data(g_ctl, (const uint8_t *)data + at, (uint32_t)n, pid, tid));
		if (g_dead)
			return -EPIPE;
	}
	ev->flags |= SHM_F_UNHASHED;
	ev->chunks = g_nohash;
	ev->nchunks = k;
	check(shm_put(g_ctl, ev));
	ev->flags &= (uint16_t)~SHM_F_UNHASHED;
	ev->chunks = NULL;
	return g_dead ? -EPIPE : 0;
}

/* ==========================================================================
 * 4. MARKS
 * ========================================================================== */

void shim_emit_mark(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	uint32_t pid, tid;

	if (!can_emit() || drain() < 0)
		return;
	/* As shim_emit: io_uring completions the program has seen before it
	 * made the mark come first (a completion reaped without a call the
	 * shim sees is only found here). */
	if (shim_uring_poll)
		shim_uring_poll();
	if (nl)
		len = (size_t)(nl - text);
	who(&pid, &tid);
	check(shm_put_mark(g_ctl, text, len, pid, tid));
}

SHIM_EXPORT void torn_mark(const char *fmt, ...)
{
	char buf[TORN_MARK_MAX];
	struct shim_lock lk;
	va_list ap;
	int n;

	if (!shim_active() || !fmt)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (shim_in_lock()) {       /* called from inside a wrapper: we hold it */
		shim_emit_mark(buf, (size_t)n);
		return;
	}
	shim_lock(&lk);
	shim_emit_mark(buf, (size_t)n);
	shim_unlock(&lk);
}

/* ==========================================================================
 * 5. EXEC AND FORK
 * ========================================================================== */

static int env_is(const char *e, const char *name_eq)
{
	return strncmp(e, name_eq, strlen(name_eq)) == 0;
}

int shim_exec_env(char *const envp[], char **out, size_t cap)
{
	const char *keep_preload = NULL;
	size_t n = 0;

	if (!out || cap == 0)
		return -E2BIG;
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *e = envp[i];

		if (env_is(e, SHIM_ENV_CTL "=") || env_is(e, SHIM_ENV_MARK_FD "=") ||
		    env_is(e, SHIM_ENV_FAULTS "=") || env_is(e, SHIM_ENV_FAULT_SEED "="))
			continue;
		if (env_is(e, SHIM_ENV_PRELOAD "=")) {
			/* The program's own LD_PRELOAD is kept if it still loads the
			 * shim as it did at start-up; otherwise ours replaces it. */
			if (g_env_preload[0] &&
			    strstr(e + sizeof(SHIM_ENV_PRELOAD), g_env_preload + sizeof(SHIM_ENV_PRELOAD)))
				keep_preload = e;
			if (!g_env_preload[0])
				keep_preload = e;
			continue;
		}
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = (char *)e;
	}
	/* The faults follow into the new image (shim_fault.c), with its seed. */
	const char *add[5] = { keep_preload ? keep_preload : g_env_preload, g_env_shm, g_env_markfd,
			       shim_fault_env_specs ? shim_fault_env_specs() : "",
			       shim_fault_env_seed ? shim_fault_env_seed() : "" };
	for (size_t i = 0; i < 5; i++) {
		if (!add[i][0])
			continue;
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = (char *)add[i];
	}
	out[n] = NULL;
	return (int)n;
}

uint64_t *shim_fault_counts(void)
{
	return g_ctl ? g_ctl->fault_count : NULL;
}

void shim_after_fork_child(void)
{
	/* The mutex, if this thread held it in the parent, is the parent's to
	 * release (it is shared): the child only forgets it held it. */
	t_in_lock = 0;
	t_pid = 0;
	t_unblocked = 0;        /* the page's count was wiped with it */
}

void shim_before_exec(void)
{
	/* Nothing to do: the ring is reached again by path ($TORN_SHM) in the new
	 * image, the pipes are inherited (not close-on-exec), and every record
	 * already put in the ring is complete (head moves per whole record). */
}

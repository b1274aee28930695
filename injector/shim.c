/*
 * injector/shim.c - the interposed calls: the plain wrappers generated from
 * the table (shim_calls.h) and the descriptor calls written by hand.
 *
 * Sections:
 *   1. real functions: dlsym(RTLD_NEXT), constructor, destructor
 *   2. the descriptor table: adoption, open records, close, dup
 *   3. the plain wrappers, generated
 *   4. pre_/post_ of the plain calls: data, durability, sizes, namespace
 *   5. the open family (variadic: by hand)
 *   6. close, close_range, closefrom, dup, dup2, dup3, fcntl, closedir
 *   7. sync, imports, unsupported notes
 *
 * Contract of every wrapper (style.md point 3): the program sees exactly
 * what libc gives it.  errno at entry is put back before the real call (the
 * shim's own lookups may have changed it), errno right after the real call
 * is put back before returning, return values and short counts are passed
 * on untouched.  Nothing allocates.  A wrapper re-entered from inside the
 * shim (shim_in_lock()) or running when nothing is recorded passes straight
 * through.
 *
 * What is recorded, in the order the calls took effect: the real call runs
 * under the global lock (shim.h), so two threads writing the same block are
 * recorded in the order the kernel applied them.  fsync, fdatasync, sync and
 * syncfs run without the lock (they may take long) and record aux_seq, the
 * seq the next event would have had when they started: writes with a
 * smaller seq are covered by them.
 *
 * Descriptors and handles: a handle names an open file description; dup,
 * dup2, dup3 and F_DUPFD share it.  TORN_EV_CLOSE is emitted when the last
 * descriptor of this process that refers to a handle is closed (a fork
 * child's copies are its own: its CLOSE does not end the parent's use).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. REAL FUNCTIONS
 * ========================================================================== */

#define SHIM_DEF_REAL_P(ret, name, params, args, errv, errnos, fiu) ret(*shim_real_##name) params;
#define SHIM_DEF_REAL_H(ret, name, params, errv, errnos, fiu)       ret(*shim_real_##name) params;
SHIM_CALLS(SHIM_DEF_REAL_P, SHIM_DEF_REAL_H)

#define SHIM_INFO_P(ret, name, params, args, errv, errnos, fiu) \
	{ #name, fiu, (const int[]){ SHIM_UNPAREN errnos, 0 } },
#define SHIM_INFO_H(ret, name, params, errv, errnos, fiu) \
	{ #name, fiu, (const int[]){ SHIM_UNPAREN errnos, 0 } },
const struct shim_call_info shim_call_info[] = {
	SHIM_CALLS(SHIM_INFO_P, SHIM_INFO_H)
	{ NULL, NULL, NULL }
};

/* A wrapper reached from inside dlsym (which may allocate and open files)
 * must not start another resolution. */
static __thread int t_resolving __attribute__((tls_model("initial-exec")));

void shim_resolve(void)
{
	if (t_resolving)
		return;
	t_resolving = 1;
#define SHIM_RESOLVE_P(ret, name, params, args, errv, errnos, fiu) \
	*(void **)&shim_real_##name = dlsym(RTLD_NEXT, #name);
#define SHIM_RESOLVE_H(ret, name, params, errv, errnos, fiu) \
	*(void **)&shim_real_##name = dlsym(RTLD_NEXT, #name);
	SHIM_CALLS(SHIM_RESOLVE_P, SHIM_RESOLVE_H)
	t_resolving = 0;
}

/* The process that owns the descriptor table (see shim_table_ours). */
static pid_t g_table_pid;

int shim_table_ours(void)
{
	return shim_pid() == __atomic_load_n(&g_table_pid, __ATOMIC_RELAXED);
}

/* The fork wrapper's child: a copy of the table, its own now. */
void shim_table_adopt(void)
{
	__atomic_store_n(&g_table_pid, shim_pid(), __ATOMIC_RELAXED);
}

/* Before the sink's constructor (which has no priority): everything the
 * sink or another library's constructor calls finds its real function. */
__attribute__((constructor(101))) static void shim_init(void)
{
	shim_resolve();
	shim_table_adopt();
	/* A child of a fork made inside libc (daemon(), ...) has its own copy
	 * of the table: it takes it over.  vfork runs no fork handlers, so its
	 * child, which shares the parent's memory, does not. */
	pthread_atfork(NULL, NULL, shim_table_adopt);
}

/* Streams still holding data at exit are flushed by glibc after every
 * destructor has run (_IO_cleanup), through internal calls: flush the
 * recorded ones here, so that their last bytes are in the trace. */
__attribute__((destructor(101))) static void shim_fini(void)
{
	shim_stdio_exit_flush();
}

/* ==========================================================================
 * 2. THE DESCRIPTOR TABLE
 * ========================================================================== */

struct shim_fd shim_fds[SHIM_FD_MAX];
static int g_fd_hi = -1;        /* highest descriptor whose entry was ever set */

int shim_fd_hi(void)
{
	return g_fd_hi;
}

static void fd_touch(int fd)
{
	if (fd > g_fd_hi)
		g_fd_hi = fd;
}

/* Logical block size of device @dev, from sysfs (the value BLKSSZGET
 * returns, readable without opening the device); 512 for devices without a
 * queue (tmpfs, overlay: major 0).  A few devices are cached; under the
 * lock. */
static uint32_t blksize_of(unsigned maj, unsigned min)
{
	static struct { unsigned maj, min; uint32_t size; } cache[8];
	static unsigned ncache;
	char path[96], buf[32];
	uint32_t size = 512;

	for (unsigned i = 0; i < ncache; i++)
		if (cache[i].maj == maj && cache[i].min == min)
			return cache[i].size;
	if (maj != 0) {
		/* A partition has no queue of its own: its disk's is one up. */
		static const char *const fmt[2] = { "queue/logical_block_size",
						    "../queue/logical_block_size" };
		for (int k = 0; k < 2; k++) {
			int fd, n = snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", maj, min,
					     fmt[k]);
			ssize_t got;

			if (n <= 0 || (size_t)n >= sizeof(path))
				break;
			fd = SHIM_REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			got = read(fd, buf, sizeof(buf) - 1);
			SHIM_REAL(close)(fd);
			if (got > 0) {
				unsigned long v;

				buf[got] = '\0';
				v = strtoul(buf, NULL, 10);
				if (v >= 512 && v <= 65536)
					size = (uint32_t)v;
				break;
			}
		}
	}
	if (ncache < 8) {
		cache[ncache].maj = maj;
		cache[ncache].min = min;
		cache[ncache++].size = size;
	}
	return size;
}

/* Fill @e from the descriptor; returns st_mode. */
static uint32_t fd_fill(struct shim_fd *e, int fd)
{
	struct statx sx;
	int fl = SHIM_REAL(fcntl)(fd, F_GETFL);
	uint32_t mode = 0;

	e->oflags = fl < 0 ? 0 : (uint32_t)fl;
	e->ino = 0;
	e->is_dir = 0;
	e->dio_mem = e->dio_off = 0;
	e->blksize = 512;
	e->stream = NULL;
	/* STATX_DIOALIGN is answered from Linux 6.1 on; elsewhere the mask bit
	 * stays clear and the alignment is unknown (0). */
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_INO | STATX_DIOALIGN,
		  &sx) == 0) {
		mode = sx.stx_mode;
		e->ino = sx.stx_ino;
		e->is_dir = S_ISDIR(sx.stx_mode);
		if (sx.stx_mask & STATX_DIOALIGN) {
			e->dio_mem = sx.stx_dio_mem_align;
			e->dio_off = sx.stx_dio_offset_align;
		}
		e->blksize = blksize_of(sx.stx_dev_major, sx.stx_dev_minor);
	}
	return mode;
}

void shim_fd_open(int fd, const struct shim_path *p, int given_flags, uint16_t evflags)
{
	struct shim_fd local = { 0 };
	struct shim_fd *e = shim_table_ours() ? &shim_fds[fd] : &local;
	struct torn_event ev = { .type = TORN_EV_OPEN };
	uint32_t mode = fd_fill(e, fd);

	e->handle = shim_new_handle();
	e->stream_end1 = 0;
	e->state = SHIM_FD_RECORDED;
	if (e != &local)
		fd_touch(fd);
	ev.flags = evflags | (e->is_dir ? TORN_F_DIR : 0);
	ev.handle = e->handle;
	ev.ino = e->ino;
	ev.oflags = (uint32_t)given_flags;
	ev.mode = mode;
	ev.dio_mem_align = e->dio_mem;
	ev.dio_offset_align = e->dio_off;
	ev.blksize = e->blksize;
	ev.result = fd;
	ev.path = shim_path_rel(p);
	ev.path_len = shim_path_rel_len(p);
	shim_emit(&ev);
}

void shim_fd_set_state(int fd, int state)
{
	if (fd < 0 || fd >= SHIM_FD_MAX || !shim_table_ours())
		return;
	memset(&shim_fds[fd], 0, sizeof(shim_fds[fd]));
	shim_fds[fd].state = (uint8_t)state;
	fd_touch(fd);
}

void shim_fd_set_stream(int fd, FILE *f)
{
	/* Already attached (the common case: no system call to ask whose
	 * table this is). */
	if (fd < 0 || fd >= SHIM_FD_MAX || shim_fds[fd].state != SHIM_FD_RECORDED ||
	    shim_fds[fd].stream == f || !shim_table_ours())
		return;
	shim_fds[fd].stream = f;
	shim_fds[fd].stream_end1 = 0;
}

void shim_fd_too_high(int fd)
{
	static int reported;
	struct shim_path p;
	struct shim_lock lk;

	if (__atomic_load_n(&reported, __ATOMIC_RELAXED) || shim_own_fd(fd))
		return;
	if (shim_path_fd(&p, fd) < 0 || !p.in)
		return;
	if (__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		return;
	shim_lock(&lk);
	shim_unsupported("descriptors at or above 65536 are beyond the shim's table: "
			 "their I/O is not recorded");
	shim_unlock(&lk);
}

struct shim_fd *shim_fd_rec(int fd)
{
	struct shim_fd *e;
	struct shim_path p;
	struct shim_lock lk;
	struct stat st;
	int fl;

	if (fd < 0)
		return NULL;
	if (fd >= SHIM_FD_MAX) {
		shim_fd_too_high(fd);
		return NULL;
	}
	e = &shim_fds[fd];
	switch (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE)) {
	case SHIM_FD_RECORDED: return e;
	case SHIM_FD_IGNORED:  return NULL;
	default:               break;
	}
	if (!shim_table_ours())
		return NULL;
	/* Not seen yet: inherited across exec, opened by opendir() or another
	 * path of libc the shim does not see.  A file already unlinked is of
	 * no consequence to the namespace after a crash: not recorded. */
	if (shim_own_fd(fd) || shim_path_fd(&p, fd) < 0 || !p.in ||
	    fstat(fd, &st) < 0 || (!S_ISDIR(st.st_mode) && st.st_nlink == 0)) {
		shim_fd_set_state(fd, SHIM_FD_IGNORED);
		return NULL;
	}
	fl = SHIM_REAL(fcntl)(fd, F_GETFL);
	if (fl >= 0 && (fl & O_PATH)) {
		shim_fd_set_state(fd, SHIM_FD_IGNORED);
		return NULL;
	}
	/* The kernel reports O_LARGEFILE (0100000 on x86-64), which 64-bit
	 * userspace spells 0: not a flag the program gave. */
	if (fl > 0)
		fl &= ~0100000;
	shim_lock(&lk);
	if (e->state == SHIM_FD_UNKNOWN)
		shim_fd_open(fd, &p, fl < 0 ? 0 : fl, 0);
	shim_unlock(&lk);
	return e->state == SHIM_FD_RECORDED ? e : NULL;
}

void shim_fd_drop(int fd, int64_t result)
{
	struct shim_fd *e;
	uint64_t h;

	if (fd < 0 || fd >= SHIM_FD_MAX || !shim_table_ours())
		return;
	e = &shim_fds[fd];
	if (e->state != SHIM_FD_RECORDED) {
		memset(e, 0, sizeof(*e));
		return;
	}
	h = e->handle;
	memset(e, 0, sizeof(*e));
	for (int i = 0; i <= g_fd_hi; i++)
		if (shim_fds[i].state == SHIM_FD_RECORDED && shim_fds[i].handle == h)
			return;         /* another descriptor still refers to it */
	struct torn_event ev = { .type = TORN_EV_CLOSE, .handle = h, .result = result };
	shim_emit(&ev);
}

void shim_fd_copy(int fd, int fd2)
{
	if (fd2 < 0 || fd2 >= SHIM_FD_MAX || !shim_table_ours())
		return;
	if (fd < 0 || fd >= SHIM_FD_MAX) {
		shim_fd_set_state(fd2, SHIM_FD_UNKNOWN);
		return;
	}
	shim_fds[fd2] = shim_fds[fd];
	shim_fds[fd2].stream = NULL;
	fd_touch(fd2);
}

/* ==========================================================================
 * 3. THE PLAIN WRAPPERS, GENERATED
 * ==========================================================================
 *
 * For each P line of the table:
 *
 *	ret NAME(params)
 *	{
 *		if (!shim_begin(&c))                  return real(args);
 *		if (!pre_NAME(&c, args))              return real(args);
 *		r = fault injected ? shim_fault_apply() : real(args);
 *		c.err = errno;
 *		post_NAME(&c, r, args);               // emit, under the lock
 *		unlock; errno = c.err; return r;
 *	}
 *
 * pre_NAME decides whether the call concerns the root, takes the lock (all
 * but the syncs) and notes what must be known before the call (the file
 * offset, the inode of a rename's source, ...).  The pre_/post_ functions
 * are in section 4, declared here.
 */
#define SHIM_PRE_ARGS(...)  (&c, __VA_ARGS__)
#define SHIM_POST_ARGS(...) (&c, (int64_t)r, __VA_ARGS__)

#define SHIM_DECL_HOOKS(ret, name, params, args, errv, errnos, fiu)                     \
	static int pre_##name(struct shim_call *c, SHIM_UNPAREN params);      \
	static void post_##name(struct shim_call *c, int64_t r, SHIM_UNPAREN params);
#define SHIM_NOTHING(...)
SHIM_CALLS(SHIM_DECL_HOOKS, SHIM_NOTHING)

#define SHIM_GEN_PLAIN(ret, name, params, args, errv, errnos, fiu)            \
	SHIM_EXPORT ret name params                                   \
	{                                                             \
		struct shim_call c;                                   \
		ret r;                                                \
                                                                      \
		if (!shim_begin(&c))                                  \
			return SHIM_REAL(name) args;                  \
		if (!pre_##name SHIM_PRE_ARGS args) {                 \
			shim_finish(&c);                              \
			errno = c.errno0;                             \
			return SHIM_REAL(name) args;                  \
		}                                                     \
		errno = c.errno0;                                     \
		if (__builtin_expect(shim_faults_on, 0) &&            \
		    shim_fault_check(&c, fiu, #name))                 \
			r = (ret)shim_fault_apply(&c, (int64_t)(errv)); \
		else                                                  \
			r = SHIM_REAL(name) args;                     \
		c.err = errno;                                        \
		post_##name SHIM_POST_ARGS args;                      \
		shim_finish(&c);                                      \
		errno = c.err;                                        \
		return r;                                             \
	}
SHIM_CALLS(SHIM_GEN_PLAIN, SHIM_NOTHING)

/* ==========================================================================
 * 4. PRE_ AND POST_ OF THE PLAIN CALLS
 * ========================================================================== */

/* --- data ---------------------------------------------------------------- */

/* A recorded descriptor: take the lock, note the offset the write will use
 * (@off, or the file position when @off < 0, unless the write appends:
 * rec_write then takes it from the size after the write, and the lseek
 * would be a system call for nothing; @rwf: the pwritev2 flags). */
static int pre_data_rwf(struct shim_call *c, int fd, int64_t off, int rwf)
{
	c->fd = fd;
	c->f = shim_fd_rec(fd);
	if (!c->f)
		return 0;
	shim_lock(&c->lk);
	/* Closed by another thread meanwhile: the call will fail (EBADF) or
	 * reach whatever took the number, which its own entry describes. */
	if (c->f->state != SHIM_FD_RECORDED) {
		shim_unlock(&c->lk);
		return 0;
	}
	if (off >= 0)
		c->off = off;
	else if (((c->f->oflags & O_APPEND) && !(rwf & RWF_NOAPPEND)) || (rwf & RWF_APPEND))
		c->off = -1;
	else
		c->off = (int64_t)lseek(fd, 0, SEEK_CUR);
	return 1;
}

static int pre_data(struct shim_call *c, int fd, int64_t off)
{
	return pre_data_rwf(c, fd, off, 0);
}

/* Record one write call: @r is its result, @iov/@cnt what was asked for,
 * @rwf the pwritev2 flags, @src where it came from. */
static void rec_write(struct shim_call *c, int fd, int64_t r, const struct iovec *iov, int cnt,
		      int rwf, uint32_t src)
{
	struct shim_fd *f = c->f;
	struct torn_event ev = { .type = TORN_EV_WRITE };
	uint64_t total = 0;
	uint32_t align, memalign;
	int misaligned = 0;

	/* A vector the kernel refused (EFAULT: a bad pointer; a count beyond
	 * IOV_MAX) is not read by the shim either.  (write and pwrite pass a
	 * vector of the shim's own making.) */
	if (cnt < 0 || cnt > IOV_MAX || (r < 0 && c->err == EFAULT && src != TORN_SRC_WRITE &&
					 src != TORN_SRC_PWRITE))
		cnt = 0;
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	ev.off = c->off;
	/* O_APPEND (and RWF_APPEND, and pwrite on an O_APPEND description, which
	 * Linux also appends, unless RWF_NOAPPEND) writes at the end of file as
	 * it was: the size now, under the lock, less what was written. */
	if (((f->oflags & O_APPEND) && !(rwf & RWF_NOAPPEND)) || (rwf & RWF_APPEND)) {
		struct stat st;

		if (fstat(fd, &st) == 0)
			ev.off = (int64_t)st.st_size - (r > 0 ? r : 0);
	}
	ev.handle = f->handle;
	ev.ino = f->ino;
	ev.len = (int64_t)total;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	ev.oflags = (uint32_t)rwf;
	ev.aux = src;
	ev.dio_mem_align = f->dio_mem;
	ev.dio_offset_align = f->dio_off;
	ev.blksize = f->blksize;
	if (f->oflags & O_DSYNC)        /* O_SYNC includes the O_DSYNC bit */
		ev.flags |= TORN_F_SYNC;
	if (rwf & (RWF_DSYNC | RWF_SYNC))
		ev.flags |= TORN_F_SYNC;
	if (f->oflags & O_DIRECT) {
		ev.flags |= TORN_F_DIRECT;
		align = f->dio_off ? f->dio_off : f->blksize;
		memalign = f->dio_mem ? f->dio_mem : align;
		if (ev.off < 0 || (uint64_t)ev.off % align || total % align)
			misaligned = 1;
		/* Linux checks each segment: its address against the DMA
		 * alignment, its length against the block size. */
		for (int i = 0; i < cnt && !misaligned; i++)
			if ((uintptr_t)iov[i].iov_base % memalign || iov[i].iov_len % align)
				misaligned = 1;
		if (misaligned)
			ev.flags |= TORN_F_MISALIGNED;
	}
	shim_emit_write(&ev, iov, cnt, r > 0 ? (size_t)r : 0);
}

/* While faults are on, a write call notes what it asks for (a short write
 * replays it with fewer bytes). */
#define SHIM_WREQ_ONE(src, off)                                               \
	if (__builtin_expect(shim_faults_on, 0)) {                            \
		c->w.one.iov_base = (void *)buf;                              \
		c->w.one.iov_len = n;                                         \
		shim_fault_wreq(c, src, fd, &c->w.one, 1, off, 0);            \
	}
#define SHIM_WREQ_VEC(src, off, flags)                                        \
	if (__builtin_expect(shim_faults_on, 0))                              \
		shim_fault_wreq(c, src, fd, iov, cnt, off, flags);

static int pre_write(struct shim_call *c, int fd, const void *buf, size_t n)
{
	SHIM_WREQ_ONE(TORN_SRC_WRITE, -1)
	return pre_data(c, fd, -1);
}

static void post_write(struct shim_call *c, int64_t r, int fd, const void *buf, size_t n)
{
	struct iovec iov = { (void *)buf, n };

	rec_write(c, fd, r, &iov, 1, 0, TORN_SRC_WRITE);
}

static int pre_pwrite(struct shim_call *c, int fd, const void *buf, size_t n, off_t off)
{
	SHIM_WREQ_ONE(TORN_SRC_PWRITE, off)
	return off >= 0 && pre_data(c, fd, off);
}

static void post_pwrite(struct shim_call *c, int64_t r, int fd, const void *buf, size_t n, off_t off)
{
	struct iovec iov = { (void *)buf, n };

	rec_write(c, fd, r, &iov, 1, 0, TORN_SRC_PWRITE);
}

static int pre_pwrite64(struct shim_call *c, int fd, const void *buf, size_t n, off64_t off)
{
	SHIM_WREQ_ONE(TORN_SRC_PWRITE, off)
	return off >= 0 && pre_data(c, fd, off);
}

static void post_pwrite64(struct shim_call *c, int64_t r, int fd, const void *buf, size_t n,
			  off64_t off)
{
	struct iovec iov = { (void *)buf, n };

	rec_write(c, fd, r, &iov, 1, 0, TORN_SRC_PWRITE);
}

static int pre_writev(struct shim_call *c, int fd, const struct iovec *iov, int cnt)
{
	SHIM_WREQ_VEC(TORN_SRC_WRITEV, -1, 0)
	return cnt >= 0 && pre_data(c, fd, -1);
}

static void post_writev(struct shim_call *c, int64_t r, int fd, const struct iovec *iov, int cnt)
{
	rec_write(c, fd, r, iov, cnt, 0, TORN_SRC_WRITEV);
}

static int pre_pwritev(struct shim_call *c, int fd, const struct iovec *iov, int cnt, off_t off)
{
	SHIM_WREQ_VEC(TORN_SRC_PWRITEV, off, 0)
	return cnt >= 0 && off >= 0 && pre_data(c, fd, off);
}

static void post_pwritev(struct shim_call *c, int64_t r, int fd, const struct iovec *iov, int cnt,
			 off_t off)
{
	rec_write(c, fd, r, iov, cnt, 0, TORN_SRC_PWRITEV);
}

static int pre_pwritev64(struct shim_call *c, int fd, const struct iovec *iov, int cnt,
			 off64_t off)
{
	SHIM_WREQ_VEC(TORN_SRC_PWRITEV, off, 0)
	return cnt >= 0 && off >= 0 && pre_data(c, fd, off);
}

static void post_pwritev64(struct shim_call *c, int64_t r, int fd, const struct iovec *iov,
			   int cnt, off64_t off)
{
	rec_write(c, fd, r, iov, cnt, 0, TORN_SRC_PWRITEV);
}

/* pwritev2 with offset -1 writes at (and moves) the file position. */
static int pre_pwritev2(struct shim_call *c, int fd, const struct iovec *iov, int cnt, off_t off,
			int flags)
{
	SHIM_WREQ_VEC(TORN_SRC_PWRITEV2, off, flags)
	return cnt >= 0 && off >= -1 && pre_data_rwf(c, fd, off, flags);
}

static void post_pwritev2(struct shim_call *c, int64_t r, int fd, const struct iovec *iov, int cnt,
			  off_t off, int flags)
{
	rec_write(c, fd, r, iov, cnt, flags, TORN_SRC_PWRITEV2);
}

static int pre_pwritev64v2(struct shim_call *c, int fd, const struct iovec *iov, int cnt,
			   off64_t off, int flags)
{
	SHIM_WREQ_VEC(TORN_SRC_PWRITEV2, off, flags)
	return cnt >= 0 && off >= -1 && pre_data_rwf(c, fd, off, flags);
}

static void post_pwritev64v2(struct shim_call *c, int64_t r, int fd, const struct iovec *iov,
			     int cnt, off64_t off, int flags)
{
	rec_write(c, fd, r, iov, cnt, flags, TORN_SRC_PWRITEV2);
}

/* --- durability ------------------------------------------------------------ */

/* Without the lock: note where the trace stands as the flush starts. */
static int pre_flush(struct shim_call *c, int fd)
{
	c->fd = fd;
	c->f = shim_fd_rec(fd);
	if (!c->f)
		return 0;
	if (c->f->stream)
		shim_stdio_before_sync(fd, c->f);
	c->aux_seq = shim_seq_now() + 1;
	return 1;
}

static void rec_fsync(struct shim_call *c, int64_t r, uint32_t kind)
{
	struct torn_event ev = { .type = TORN_EV_FSYNC };

	if (!c->lk.held)        /* held already when a fault was injected */
		shim_lock(&c->lk);
	if (c->f->state != SHIM_FD_RECORDED)
		return;         /* closed by another thread while it ran */
	ev.handle = c->f->handle;
	ev.ino = c->f->ino;
	ev.aux = kind;
	ev.aux_seq = c->aux_seq;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	shim_emit(&ev);
}

static int pre_fsync(struct shim_call *c, int fd)
{
	return pre_flush(c, fd);
}

static void post_fsync(struct shim_call *c, int64_t r, int fd)
{
	rec_fsync(c, r, TORN_SYNC_FSYNC);
}

static int pre_fdatasync(struct shim_call *c, int fd)
{
	return pre_flush(c, fd);
}

static void post_fdatasync(struct shim_call *c, int64_t r, int fd)
{
	rec_fsync(c, r, TORN_SYNC_FDATASYNC);
}

/* sync_file_range makes nothing durable (no metadata, no device flush): it
 * is recorded, under the lock, for the record's sake. */
static int pre_sync_file_range(struct shim_call *c, int fd, off64_t off, off64_t n,
			       unsigned int flags)
{
	return pre_data(c, fd, 0);
}

static void post_sync_file_range(struct shim_call *c, int64_t r, int fd, off64_t off, off64_t n,
				 unsigned int flags)
{
	struct torn_event ev = { .type = TORN_EV_SYNC_RANGE };

	ev.handle = c->f->handle;
	ev.ino = c->f->ino;
	ev.off = off;
	ev.len = n;
	ev.oflags = flags;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	shim_emit(&ev);
}

/* syncfs on any descriptor of the root's file system flushes the root's
 * files: recorded with the descriptor's handle, or handle 0 when the
 * descriptor itself is not under the root. */
static int pre_syncfs(struct shim_call *c, int fd)
{
	c->fd = fd;
	c->f = shim_fd_rec(fd);
	if (!c->f && !shim_same_fs_as_root(fd))
		return 0;
	c->aux_seq = shim_seq_now() + 1;
	return 1;
}

static void post_syncfs(struct shim_call *c, int64_t r, int fd)
{
	struct torn_event ev = { .type = TORN_EV_SYNCFS };

	if (!c->lk.held)        /* held already when a fault was injected */
		shim_lock(&c->lk);
	ev.handle = c->f && c->f->state == SHIM_FD_RECORDED ? c->f->handle : 0;
	ev.aux_seq = c->aux_seq;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	shim_emit(&ev);
}

/* --- sizes ----------------------------------------------------------------- */

static void rec_ftruncate(struct shim_call *c, int64_t r, int64_t len)
{
	struct torn_event ev = { .type = TORN_EV_TRUNCATE };

	ev.handle = c->f->handle;
	ev.ino = c->f->ino;
	ev.len = len;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	shim_emit(&ev);
}

static int pre_ftruncate(struct shim_call *c, int fd, off_t len)
{
	return pre_data(c, fd, 0);
}

static void post_ftruncate(struct shim_call *c, int64_t r, int fd, off_t len)
{
	rec_ftruncate(c, r, len);
}

static int pre_ftruncate64(struct shim_call *c, int fd, off64_t len)
{
	return pre_data(c, fd, 0);
}

static void post_ftruncate64(struct shim_call *c, int64_t r, int fd, off64_t len)
{
	rec_ftruncate(c, r, len);
}

/* @path (relative to @dirfd) into c->p1 and its inode into c->ino, the
 * symlink followed or not.  Takes the lock when it is under the root. */
static int pre_resolve(struct shim_call *c, int dirfd, const char *path, int follow)
{
	struct stat st;

	if (shim_path_resolve(&c->p1, dirfd, path, follow) < 0 || !c->p1.in)
		return 0;
	c->ino = (follow ? stat(c->p1.abs, &st) : lstat(c->p1.abs, &st)) == 0 ? st.st_ino : 0;
	shim_lock(&c->lk);
	return 1;
}

/* truncate() follows symlinks: the object, not the entry. */
static int pre_path_obj(struct shim_call *c, const char *path)
{
	return pre_resolve(c, AT_FDCWD, path, 1);
}

static void rec_truncate(struct shim_call *c, int64_t r, int64_t len)
{
	struct torn_event ev = { .type = TORN_EV_TRUNCATE };

	ev.ino = c->ino;
	ev.len = len;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	ev.path = shim_path_rel(&c->p1);
	ev.path_len = shim_path_rel_len(&c->p1);
	shim_emit(&ev);
}

static int pre_truncate(struct shim_call *c, const char *path, off_t len)
{
	return pre_path_obj(c, path);
}

static void post_truncate(struct shim_call *c, int64_t r, const char *path, off_t len)
{
	rec_truncate(c, r, len);
}

static int pre_truncate64(struct shim_call *c, const char *path, off64_t len)
{
	return pre_path_obj(c, path);
}

static void post_truncate64(struct shim_call *c, int64_t r, const char *path, off64_t len)
{
	rec_truncate(c, r, len);
}

/* @r is the call's result already as 0 / -errno. */
static void rec_fallocate(struct shim_call *c, int64_t r, int mode, int64_t off, int64_t len)
{
	struct torn_event ev = { .type = TORN_EV_FALLOCATE };

	ev.handle = c->f->handle;
	ev.ino = c->f->ino;
	ev.oflags = (uint32_t)mode;
	ev.off = off;
	ev.len = len;
	ev.result = r;
	shim_emit(&ev);
}

static int pre_fallocate(struct shim_call *c, int fd, int mode, off_t off, off_t len)
{
	return pre_data(c, fd, 0);
}

static void post_fallocate(struct shim_call *c, int64_t r, int fd, int mode, off_t off, off_t len)
{
	rec_fallocate(c, r < 0 ? -(int64_t)c->err : r, mode, off, len);
}

static int pre_fallocate64(struct shim_call *c, int fd, int mode, off64_t off, off64_t len)
{
	return pre_data(c, fd, 0);
}

static void post_fallocate64(struct shim_call *c, int64_t r, int fd, int mode, off64_t off,
			     off64_t len)
{
	rec_fallocate(c, r < 0 ? -(int64_t)c->err : r, mode, off, len);
}

/* posix_fallocate returns the error number and leaves errno alone. */
static int pre_posix_fallocate(struct shim_call *c, int fd, off_t off, off_t len)
{
	return pre_data(c, fd, 0);
}

static void post_posix_fallocate(struct shim_call *c, int64_t r, int fd, off_t off, off_t len)
{
	rec_fallocate(c, -r, 0, off, len);
}

static int pre_posix_fallocate64(struct shim_call *c, int fd, off64_t off, off64_t len)
{
	return pre_data(c, fd, 0);
}

static void post_posix_fallocate64(struct shim_call *c, int64_t r, int fd, off64_t off,
				   off64_t len)
{
	rec_fallocate(c, -r, 0, off, len);
}

/* --- namespace ------------------------------------------------------------- */

/* An entry @path (relative to @dirfd): its inode not followed. */
static int pre_entry(struct shim_call *c, int dirfd, const char *path)
{
	return pre_resolve(c, dirfd, path, 0);
}

static void rec_entry(struct shim_call *c, int64_t r, uint16_t type)
{
	struct torn_event ev = { .type = type };

	ev.ino = c->ino;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	ev.path = shim_path_rel(&c->p1);
	ev.path_len = shim_path_rel_len(&c->p1);
	if (type == TORN_EV_MKDIR) {
		struct stat st;

		if (r == 0 && lstat(c->p1.abs, &st) == 0) {
			ev.ino = st.st_ino;
			ev.mode = st.st_mode;
		}
	}
	shim_emit(&ev);
}

static int pre_unlink(struct shim_call *c, const char *path)
{
	return pre_entry(c, AT_FDCWD, path);
}

static void post_unlink(struct shim_call *c, int64_t r, const char *path)
{
	rec_entry(c, r, TORN_EV_UNLINK);
}

static int pre_unlinkat(struct shim_call *c, int dirfd, const char *path, int flags)
{
	return pre_entry(c, dirfd, path);
}

static void post_unlinkat(struct shim_call *c, int64_t r, int dirfd, const char *path, int flags)
{
	rec_entry(c, r, (flags & AT_REMOVEDIR) ? TORN_EV_RMDIR : TORN_EV_UNLINK);
}

static int pre_rmdir(struct shim_call *c, const char *path)
{
	return pre_entry(c, AT_FDCWD, path);
}

static void post_rmdir(struct shim_call *c, int64_t r, const char *path)
{
	rec_entry(c, r, TORN_EV_RMDIR);
}

static int pre_mkdir(struct shim_call *c, const char *path, mode_t mode)
{
	return pre_entry(c, AT_FDCWD, path);
}

static void post_mkdir(struct shim_call *c, int64_t r, const char *path, mode_t mode)
{
	rec_entry(c, r, TORN_EV_MKDIR);
}

static int pre_mkdirat(struct shim_call *c, int dirfd, const char *path, mode_t mode)
{
	return pre_entry(c, dirfd, path);
}

static void post_mkdirat(struct shim_call *c, int64_t r, int dirfd, const char *path, mode_t mode)
{
	rec_entry(c, r, TORN_EV_MKDIR);
}

static void rec_symlink(struct shim_call *c, int64_t r, const char *target)
{
	struct torn_event ev = { .type = TORN_EV_SYMLINK };
	size_t tl = strlen(target);

	ev.ino = c->ino;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	ev.path = shim_path_rel(&c->p1);
	ev.path_len = shim_path_rel_len(&c->p1);
	ev.path2 = target;
	ev.path2_len = (uint32_t)(tl < TORN_PATH_MAX ? tl : TORN_PATH_MAX);
	if (r == 0) {
		struct stat st;

		if (lstat(c->p1.abs, &st) == 0)
			ev.ino = st.st_ino;
	}
	shim_emit(&ev);
}

static int pre_symlink(struct shim_call *c, const char *target, const char *path)
{
	return pre_entry(c, AT_FDCWD, path);
}

static void post_symlink(struct shim_call *c, int64_t r, const char *target, const char *path)
{
	rec_symlink(c, r, target);
}

static int pre_symlinkat(struct shim_call *c, const char *target, int dirfd, const char *path)
{
	return pre_entry(c, dirfd, path);
}

static void post_symlinkat(struct shim_call *c, int64_t r, const char *target, int dirfd,
			   const char *path)
{
	rec_symlink(c, r, target);
}

/* Two names: the source (c->p1, followed when @follow1) and the target
 * (c->p2, an entry).  Of interest when either is under the root. */
static int pre_two(struct shim_call *c, int fd1, const char *from, int follow1, int empty1,
		   int fd2, const char *to)
{
	struct stat st;
	int rc1, rc2;

	if (empty1) {
		/* linkat(fd, "", ..., AT_EMPTY_PATH): the object open on fd; an
		 * O_TMPFILE file (no name yet) counts as coming from outside. */
		rc1 = shim_path_fd(&c->p1, fd1);
		c->what = 0;
		if (rc1 == 0 && fstat(fd1, &st) == 0 && st.st_nlink == 0)
			c->p1.in = 0;
		c->ino = rc1 == 0 && fstat(fd1, &st) == 0 ? st.st_ino : 0;
	} else {
		rc1 = shim_path_resolve(&c->p1, fd1, from, follow1);
		c->ino = 0;
		c->what = 0;
		if (rc1 == 0 && (follow1 ? stat(c->p1.abs, &st) : lstat(c->p1.abs, &st)) == 0) {
			c->ino = st.st_ino;
			c->what = S_ISDIR(st.st_mode);
		} else if (rc1 == 0) {
			/* No reachable name: an O_TMPFILE file or an unlinked one
			 * named through /proc/self/fd/N ("... (deleted)"), which
			 * a link brings in from outside. */
			c->p1.in = 0;
		}
	}
	rc2 = shim_path_resolve(&c->p2, fd2, to, 0);
	if (rc1 < 0)
		c->p1.in = 0;
	if (rc2 < 0)
		c->p2.in = 0;
	if (!c->p1.in && !c->p2.in)
		return 0;
	shim_lock(&c->lk);
	return 1;
}

/* A rename: within the root a rename; out of it an unlink (of a whole
 * tree for a directory); into it an import of what arrived.  With
 * RENAME_EXCHANGE and one side inside, the inside name lost its object
 * (now outside) and gained the outside one: both are recorded. */
static void rec_rename(struct shim_call *c, int64_t r, unsigned flags)
{
	struct torn_event ev = { .type = TORN_EV_RENAME };
	const struct shim_path *in = c->p1.in ? &c->p1 : &c->p2;
	const struct shim_path *out = c->p1.in ? &c->p2 : &c->p1;

	ev.ino = c->ino;
	ev.oflags = flags;
	ev.result = r < 0 ? -(int64_t)c->err : r;
	if (c->p1.in && c->p2.in) {
		ev.path = shim_path_rel(&c->p1);
		ev.path_len = shim_path_rel_len(&c->p1);
		ev.path2 = shim_path_rel(&c->p2);
		ev.path2_len = shim_path_rel_len(&c->p2);
		shim_emit(&ev);
	} else if (c->p1.in && !(flags & RENAME_EXCHANGE)) {
		if (r == 0) {
			shim_remove_tree(&c->p2, &c->p1);
			return;
		}
		ev.type = c->what ? TORN_EV_RMDIR : TORN_EV_UNLINK;
		ev.oflags = 0;
		ev.path = shim_path_rel(&c->p1);
		ev.path_len = shim_path_rel_len(&c->p1);
		shim_emit(&ev);
	} else if (r == 0) {
		if (flags & RENAME_EXCHANGE)
			shim_remove_tree(out, in);
		shim_import(in);
	}
}

static int pre_rename(struct shim_call *c, const char *from, const char *to)
{
	return pre_two(c, AT_FDCWD, from, 0, 0, AT_FDCWD, to);
}

static void post_rename(struct shim_call *c, int64_t r, const char *from, const char *to)
{
	rec_rename(c, r, 0);
}

static int pre_renameat(struct shim_call *c, int fd1, const char *from, int fd2, const char *to)
{
	return pre_two(c, fd1, from, 0, 0, fd2, to);
}

static void post_renameat(struct shim_call *c, int64_t r, int fd1, const char *from, int fd2,
			  const char *to)
{
	rec_rename(c, r, 0);
}

static int pre_renameat2(struct shim_call *c, int fd1, const char *from, int fd2, const char *to,
			 unsigned int flags)
{
	return pre_two(c, fd1, from, 0, 0, fd2, to);
}

static void post_renameat2(struct shim_call *c, int64_t r, int fd1, const char *from, int fd2,
			   const char *to, unsigned int flags)
{
	rec_rename(c, r, flags);
}

/* A hard link: within the root a link; from outside into it an import;
 * from inside to outside nothing changes in the root. */
static void rec_link(struct shim_call *c, int64_t r)
{
	struct torn_event ev = { .type = TORN_EV_LINK };

	if (c->p1.in && c->p2.in) {
		ev.ino = c->ino;
		ev.result = r < 0 ? -(int64_t)c->err : r;
		ev.path = shim_path_rel(&c->p1);
		ev.path_len = shim_path_rel_len(&c->p1);
		ev.path2 = shim_path_rel(&c->p2);
		ev.path2_len = shim_path_rel_len(&c->p2);
		shim_emit(&ev);
	} else if (c->p2.in && r == 0) {
		shim_import(&c->p2);
	}
}

static int pre_link(struct shim_call *c, const char *from, const char *to)
{
	return pre_two(c, AT_FDCWD, from, 0, 0, AT_FDCWD, to);
}

static void post_link(struct shim_call *c, int64_t r, const char *from, const char *to)
{
	rec_link(c, r);
}

static int pre_linkat(struct shim_call *c, int fd1, const char *from, int fd2, const char *to,
		      int flags)
{
	int empty = (flags & AT_EMPTY_PATH) && from && from[0] == '\0';

	return pre_two(c, fd1, from, !!(flags & AT_SYMLINK_FOLLOW), empty, fd2, to);
}

static void post_linkat(struct shim_call *c, int64_t r, int fd1, const char *from, int fd2,
			const char *to, int flags)
{
	rec_link(c, r);
}

/* ==========================================================================
 * 5. THE OPEN FAMILY
 * ==========================================================================
 *
 * Every variant goes to the real openat (one system call on Linux; open64's
 * O_LARGEFILE is implied on 64-bit).  Under the root the call runs under
 * the lock with, before it, the existence check that tells whether it
 * created the file (TORN_F_CREATED) or emptied it (TORN_F_TRUNCATED); after
 * it, the kernel's own name of what was opened (/proc/self/fd/N) decides
 * whether it is recorded.  Failed opens are not recorded (there is no
 * description to name).  O_PATH descriptors cannot read, write or sync:
 * not recorded.  An O_TMPFILE file has no name: not recorded, and its
 * contents are imported if linkat() later gives it one under the root.
 */
static int open_impl(int dirfd, const char *path, int flags, mode_t mode)
{
	struct shim_call c;
	struct stat st;
	int fd, rc, existed = 0, nonempty = 0;
	uint16_t evflags = 0;

	if (!shim_begin(&c))
		return SHIM_REAL(openat)(dirfd, path, flags, mode);
	if ((flags & O_PATH) || (flags & O_TMPFILE) == O_TMPFILE)
		rc = -ENOENT;
	else
		rc = shim_path_resolve(&c.p1, dirfd, path, !(flags & O_NOFOLLOW));
	if (rc < 0 || !c.p1.in) {
		errno = c.errno0;
		fd = SHIM_REAL(openat)(dirfd, path, flags, mode);
		c.err = errno;
		shim_fd_set_state(fd, rc < 0 && !(flags & O_PATH) && (flags & O_TMPFILE) != O_TMPFILE ?
				 SHIM_FD_UNKNOWN : SHIM_FD_IGNORED);
		errno = c.err;
		return fd;
	}
	shim_lock(&c.lk);
	if ((flags & (O_CREAT | O_TRUNC)) &&
	    fstatat(dirfd, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0) {
		existed = 1;
		nonempty = S_ISREG(st.st_mode) && st.st_size > 0;
	}
	if (__builtin_expect(shim_faults_on, 0)) {
		c.ino = 0;
		/* An injected failure: no descriptor, nothing to record but the
		 * FAULT event. */
		if (shim_fault_check(&c, "posix/io/oc/open", "open")) {
			fd = (int)shim_fault_apply(&c, -1);
			c.err = errno;
			shim_finish(&c);
			errno = c.err;
			return fd;
		}
	}
	errno = c.errno0;
	fd = SHIM_REAL(openat)(dirfd, path, flags, mode);
	c.err = errno;
	if (fd >= SHIM_FD_MAX) {
		shim_finish(&c);
		shim_fd_too_high(fd);
	} else if (fd >= 0) {
		if (shim_path_fd(&c.p2, fd) == 0 && c.p2.in) {
			if ((flags & O_CREAT) && !existed)
				evflags |= TORN_F_CREATED;
			if ((flags & O_TRUNC) && nonempty)
				evflags |= TORN_F_TRUNCATED;
			shim_fd_open(fd, &c.p2, flags, evflags);
		} else {
			shim_fd_set_state(fd, SHIM_FD_IGNORED);
		}
	}
	shim_finish(&c);
	errno = c.err;
	return fd;
}

/* The mode argument is there only with O_CREAT or O_TMPFILE (as in glibc). */
#define SHIM_OPEN_MODE(flags, last)                                       \
	mode_t mode = 0;                                                  \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {      \
		va_list ap;                                               \
		va_start(ap, last);                                       \
		mode = (mode_t)va_arg(ap, int);                           \
		va_end(ap);                                               \
	}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	SHIM_OPEN_MODE(flags, flags)
	return open_impl(AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	SHIM_OPEN_MODE(flags, flags)
	return open_impl(AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	SHIM_OPEN_MODE(flags, flags)
	return open_impl(dirfd, path, flags, mode);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	SHIM_OPEN_MODE(flags, flags)
	return open_impl(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE's checked opens: a missing mode with O_CREAT is a fatal
 * error there; the real function reports it. */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return SHIM_REAL(__open_2)(path, flags);
	return open_impl(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return SHIM_REAL(__open64_2)(path, flags);
	return open_impl(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return SHIM_REAL(__openat_2)(dirfd, path, flags);
	return open_impl(dirfd, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return SHIM_REAL(__openat64_2)(dirfd, path, flags);
	return open_impl(dirfd, path, flags, 0);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return open_impl(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	return open_impl(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* ==========================================================================
 * 6. CLOSE, DUP, FCNTL
 * ========================================================================== */

/* The shim's own descriptors (the mark pipes) survive the program's close,
 * close_range and closefrom: close says it closed them, the ranges skip
 * them.  dup2/dup3 onto one fails with EBADF, as for a number beyond the
 * descriptor limit: the shim's numbers are the same in every process of the
 * program and cannot move. */
static int protect(int fd)
{
	return fd >= 0 && !shim_in_lock() && shim_own_fd(fd);
}

SHIM_EXPORT int close(int fd)
{
	struct shim_call c;
	int r;

	if (protect(fd))
		return 0;
	if (!shim_begin(&c))
		return SHIM_REAL(close)(fd);
	if (fd < 0 || fd >= SHIM_FD_MAX || shim_fds[fd].state != SHIM_FD_RECORDED) {
		shim_fd_set_state(fd, SHIM_FD_UNKNOWN);
		errno = c.errno0;
		return SHIM_REAL(close)(fd);
	}
	shim_lock(&c.lk);
	if (__builtin_expect(shim_faults_on, 0)) {
		c.fd = fd;
		c.f = &shim_fds[fd];
		/* An injected failure does not reach the kernel (as libfiu's
		 * preload): the descriptor stays open, and only the FAULT event
		 * is recorded (a CLOSE would end the handle in the trace). */
		if (shim_fault_check(&c, "posix/io/oc/close", "close")) {
			r = (int)shim_fault_apply(&c, -1);
			c.err = errno;
			shim_finish(&c);
			errno = c.err;
			return r;
		}
	}
	errno = c.errno0;
	r = SHIM_REAL(close)(fd);
	c.err = errno;
	/* Linux releases the descriptor even when close fails (EINTR, EIO). */
	shim_fd_drop(fd, r < 0 ? -(int64_t)c.err : r);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* The table's side of closing [first, last]: CLOSE for each recorded
 * descriptor, every entry forgotten. */
static void forget_range(unsigned first, unsigned last)
{
	unsigned hi = g_fd_hi < 0 ? 0 : (unsigned)g_fd_hi;

	for (unsigned fd = first; fd <= last && fd <= hi; fd++)
		if (!shim_own_fd((int)fd))
			shim_fd_drop((int)fd, 0);
}

/* close_range around the shim's own descriptors (SHIM_FD_BASE and up). */
static int close_range_impl(unsigned first, unsigned last, int flags)
{
	struct shim_call c;
	unsigned lo = first;
	int r = 0;

	if (!shim_begin(&c) && shim_in_lock())
		return SHIM_REAL(close_range)(first, last, flags);
	if (first > last) {
		errno = c.errno0;
		return SHIM_REAL(close_range)(first, last, flags);
	}
	if (shim_active())
		shim_lock(&c.lk);
	for (unsigned fd = first < SHIM_FD_BASE ? SHIM_FD_BASE : first;
	     fd <= last && fd < SHIM_FD_BASE + 64 && r == 0; fd++) {
		if (!shim_own_fd((int)fd))
			continue;
		if (fd > lo) {
			errno = c.errno0;
			r = SHIM_REAL(close_range)(lo, fd - 1, flags);
		}
		lo = fd + 1;
	}
	if (r == 0 && lo <= last) {
		errno = c.errno0;
		r = SHIM_REAL(close_range)(lo, last, flags);
	}
	c.err = r < 0 ? errno : c.errno0;
	/* With CLOSE_RANGE_CLOEXEC nothing is closed now (at exec the new
	 * image starts with a fresh table anyway). */
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && shim_active())
		forget_range(first, last);
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (!SHIM_REAL(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	return close_range_impl(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	int saved = errno;

	if (lowfd < 0)
		lowfd = 0;
	/* glibc's closefrom is close_range(lowfd, ~0U, 0) (which cannot fail
	 * on Linux >= 5.9 for these arguments). */
	if (SHIM_REAL(close_range))
		close_range_impl((unsigned)lowfd, ~0U, 0);
	else if (SHIM_REAL(closefrom))
		SHIM_REAL(closefrom)(lowfd);
	errno = saved;
}

/* After a successful dup of @fd to @nfd (which, for dup2/dup3, may have
 * been open and so was closed by the call). */
static void after_dup(int fd, int nfd)
{
	if (nfd < 0 || nfd >= SHIM_FD_MAX)
		return;
	if (shim_fds[nfd].state == SHIM_FD_RECORDED)
		shim_fd_drop(nfd, 0);
	shim_fd_copy(fd, nfd);
}

/* Lock when @fd or @fd2 is recorded (their entries change). */
static void dup_lock(struct shim_call *c, int fd, int fd2)
{
	if ((fd >= 0 && fd < SHIM_FD_MAX && shim_fds[fd].state == SHIM_FD_RECORDED) ||
	    (fd2 >= 0 && fd2 < SHIM_FD_MAX && shim_fds[fd2].state == SHIM_FD_RECORDED))
		shim_lock(&c->lk);
}

SHIM_EXPORT int dup(int fd)
{
	struct shim_call c;
	int r;

	if (!shim_begin(&c))
		return SHIM_REAL(dup)(fd);
	dup_lock(&c, fd, -1);
	errno = c.errno0;
	r = SHIM_REAL(dup)(fd);
	c.err = errno;
	if (r >= 0)
		after_dup(fd, r);
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT int dup2(int fd, int fd2)
{
	struct shim_call c;
	int r;

	if (protect(fd2) && fd != fd2) {
		errno = EBADF;
		return -1;
	}
	if (!shim_begin(&c))
		return SHIM_REAL(dup2)(fd, fd2);
	if (fd == fd2)
		return SHIM_REAL(dup2)(fd, fd2);
	dup_lock(&c, fd, fd2);
	errno = c.errno0;
	r = SHIM_REAL(dup2)(fd, fd2);
	c.err = errno;
	if (r >= 0)
		after_dup(fd, r);
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT int dup3(int fd, int fd2, int flags)
{
	struct shim_call c;
	int r;

	if (protect(fd2) && fd != fd2) {
		errno = EBADF;
		return -1;
	}
	if (!shim_begin(&c) || fd == fd2)
		return SHIM_REAL(dup3)(fd, fd2, flags);
	dup_lock(&c, fd, fd2);
	errno = c.errno0;
	r = SHIM_REAL(dup3)(fd, fd2, flags);
	c.err = errno;
	if (r >= 0)
		after_dup(fd, r);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* F_SETFL changes the description's status flags, shared by every
 * descriptor of it: O_DIRECT and O_APPEND change how later writes land,
 * so a change of either is recorded (TORN_EV_SETFL). */
static int fcntl_impl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	struct shim_call c;
	struct shim_fd *f;
	int r, nfl;

	if (!shim_begin(&c))
		return real(fd, cmd, arg);
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		dup_lock(&c, fd, -1);
		errno = c.errno0;
		r = real(fd, cmd, arg);
		c.err = errno;
		if (r >= 0)
			after_dup(fd, r);
		break;
	case F_SETFL:
		f = shim_fd_rec(fd);
		errno = c.errno0;
		if (!f)
			return real(fd, cmd, arg);
		shim_lock(&c.lk);
		errno = c.errno0;
		r = real(fd, cmd, arg);
		c.err = errno;
		nfl = r == 0 ? SHIM_REAL(fcntl)(fd, F_GETFL) : -1;
		if (nfl >= 0) {
			uint32_t old = f->oflags;

			for (int i = 0; i <= g_fd_hi; i++)
				if (shim_fds[i].state == SHIM_FD_RECORDED &&
				    shim_fds[i].handle == f->handle)
					shim_fds[i].oflags = (uint32_t)nfl;
			if ((old ^ (uint32_t)nfl) & (O_DIRECT | O_APPEND)) {
				struct torn_event ev = { .type = TORN_EV_SETFL };

				ev.handle = f->handle;
				ev.ino = f->ino;
				ev.oflags = (uint32_t)nfl;
				ev.result = r;
				shim_emit(&ev);
			}
		}
		break;
	default:
		errno = c.errno0;
		return real(fd, cmd, arg);
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* The third argument is an int, a long or a pointer depending on @cmd;
 * taking it as a pointer passes every kind on unchanged (as glibc does). */
SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_impl(SHIM_REAL(fcntl), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!SHIM_REAL(fcntl64))
		return fcntl_impl(SHIM_REAL(fcntl), fd, cmd, arg);
	return fcntl_impl(SHIM_REAL(fcntl64), fd, cmd, arg);
}

/* closedir closes its descriptor inside libc: the table learns it here. */
SHIM_EXPORT int closedir(DIR *d)
{
	struct shim_call c;
	DIR *volatile dv = d;      /* declared nonnull, yet glibc checks for NULL */
	int fd, r;

	if (!shim_begin(&c) || !dv)
		return SHIM_REAL(closedir)(d);
	fd = dirfd(d);
	if (fd < 0 || fd >= SHIM_FD_MAX || shim_fds[fd].state != SHIM_FD_RECORDED) {
		shim_fd_set_state(fd, SHIM_FD_UNKNOWN);
		errno = c.errno0;
		return SHIM_REAL(closedir)(d);
	}
	shim_lock(&c.lk);
	if (__builtin_expect(shim_faults_on, 0)) {
		c.fd = fd;
		c.f = &shim_fds[fd];
		/* an injected failure leaves the stream open, as for close */
		if (shim_fault_check(&c, "posix/io/dir/closedir", "closedir")) {
			r = (int)shim_fault_apply(&c, -1);
			c.err = errno;
			shim_finish(&c);
			errno = c.err;
			return r;
		}
	}
	errno = c.errno0;
	r = SHIM_REAL(closedir)(d);
	c.err = errno;
	shim_fd_drop(fd, r < 0 ? -(int64_t)c.err : r);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* ==========================================================================
 * 7. SYNC, IMPORTS, UNSUPPORTED NOTES
 * ========================================================================== */

/* sync() flushes everything: recorded whenever recording, without the lock
 * while it runs (like fsync). */
SHIM_EXPORT void sync(void)
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_SYNC };

	if (!shim_begin(&c)) {
		SHIM_REAL(sync)();
		return;
	}
	ev.aux_seq = shim_seq_now() + 1;
	SHIM_REAL(sync)();
	shim_lock(&c.lk);
	shim_emit(&ev);
	shim_finish(&c);
	errno = c.errno0;
}

void shim_unsupported(const char *text)
{
	struct torn_event ev = { .type = TORN_EV_UNSUPPORTED };
	size_t n = strlen(text);

	ev.text = text;
	ev.text_len = (uint32_t)(n < TORN_TEXT_MAX ? n : TORN_TEXT_MAX);
	shim_emit(&ev);
}

int shim_same_fs_as_root(int fd)
{
	static dev_t root_dev;
	static int have;
	struct stat st;

	if (!__atomic_load_n(&have, __ATOMIC_ACQUIRE)) {
		const char *root = shim_root();

		if (stat(root && root[0] ? root : "/", &st) < 0)
			return 0;
		root_dev = st.st_dev;
		__atomic_store_n(&have, 1, __ATOMIC_RELEASE);
	}
	return fstat(fd, &st) == 0 && st.st_dev == root_dev;
}

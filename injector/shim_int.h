/*
 * injector/shim_int.h - what the wrapper files (shim.c, shim_path.c,
 * shim_proc.c, shim_mmap.c, shim_stdio.c) share: the pointers to the real
 * functions, the per-process descriptor table, path resolution, and the
 * per-call context of a wrapper.
 *
 * Sections: 1. real functions, 2. the descriptor table, 3. paths,
 * 4. the call context, 5. recording helpers, 6. faults.
 *
 * Nothing here allocates.  Symbols are hidden (the library is built with
 * -fvisibility=hidden and shim.map exports only the wrappers).
 */
#ifndef TORN_INJECTOR_SHIM_INT_H
#define TORN_INJECTOR_SHIM_INT_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shim.h"
#include "shim_calls.h"

/* ==========================================================================
 * 1. REAL FUNCTIONS
 * ========================================================================== */

#define SHIM_DECL_REAL_P(ret, name, params, args, errv, errnos, fiu) extern ret(*shim_real_##name) params;
#define SHIM_DECL_REAL_H(ret, name, params, errv, errnos, fiu)       extern ret(*shim_real_##name) params;
SHIM_CALLS(SHIM_DECL_REAL_P, SHIM_DECL_REAL_H)

/* The table as data, for fault injection (a later issue): each call's
 * name, its libfiu failure point and the errnos it may fail with
 * (0-terminated; empty for a call that cannot fail).  Ends with a NULL
 * name. */
struct shim_call_info {
	const char *name;
	const char *fiu;
	const int  *errnos;
};
extern const struct shim_call_info shim_call_info[];

#define SHIM_UNPAREN(...) __VA_ARGS__

/* Resolve every shim_real_* with dlsym(RTLD_NEXT).  Run by the constructor;
 * also by the first wrapper called before it (another library's
 * constructor): dlsym may allocate, which is acceptable only here. */
void shim_resolve(void);

#define SHIM_REAL(name)                                                      \
	(__builtin_expect(shim_real_##name != NULL, 1) ? shim_real_##name :  \
	 (shim_resolve(), shim_real_##name))

/* ==========================================================================
 * 2. THE DESCRIPTOR TABLE
 * ==========================================================================
 *
 * One entry per descriptor number below SHIM_FD_MAX.  An entry is
 * RECORDED (the descriptor refers to an object under the root; handle names
 * its open file description, shared by dup), IGNORED (it does not), or
 * UNKNOWN (not looked at yet: created by a path the shim does not see, such
 * as opendir() or inheritance across exec; looked up once, on first use).
 * Entries change under the lock when they are or become RECORDED.  Each
 * process has its own table (a fork child gets a copy, a new image after
 * exec starts with every entry UNKNOWN).
 */
#define SHIM_FD_MAX 65536

enum shim_fd_state { SHIM_FD_UNKNOWN = 0, SHIM_FD_IGNORED = 1, SHIM_FD_RECORDED = 2 };

struct shim_fd {
	uint64_t handle;        /* open-file-description id (shim_new_handle) */
	uint64_t ino;
	FILE    *stream;        /* the stdio stream on this descriptor, if any */
	int64_t  stream_end1;   /* 1 + the file offset where the stream's last
	                           recorded write ended (0: unknown) */
	uint32_t oflags;        /* status flags of the description (F_GETFL) */
	uint32_t dio_mem;       /* statx STATX_DIOALIGN, 0 if unknown */
	uint32_t dio_off;
	uint32_t blksize;       /* logical block size of the device (512 if unknown) */
	uint8_t  state;         /* enum shim_fd_state */
	uint8_t  is_dir;
};

extern struct shim_fd shim_fds[SHIM_FD_MAX];

/* Is the table this process's own?  Not in a vfork child, which runs in
 * its parent's memory until it execs (nor in a child of a raw clone):
 * there the table is read but never changed, opens are recorded without
 * an entry, and unknown descriptors are not adopted.  A fork child (the
 * wrapper's, or libc's own fork through the fork handlers) takes its copy
 * over. */
int shim_table_ours(void);
void shim_table_adopt(void);    /* the fork wrapper's child */

/* Set @fd's entry to an empty one of @state (UNKNOWN or IGNORED); attach
 * stream @f to a recorded entry.  No-ops when the table is not ours. */
void shim_fd_set_state(int fd, int state);
void shim_fd_set_stream(int fd, FILE *f);

/* The entry of @fd if it is recorded, else NULL.  An UNKNOWN descriptor is
 * looked up here (readlink of /proc/self/fd/N) and, when it is under the
 * root, adopted: given a handle and recorded as an open.  Not under the
 * lock. */
struct shim_fd *shim_fd_rec(int fd);

/* Forget @fd (it was closed); under the lock when it was recorded.  Emits
 * TORN_EV_CLOSE with @result when it held the last reference of this
 * process to its handle. */
void shim_fd_drop(int fd, int64_t result);

/* @fd2 now refers to the same description as @fd (dup): under the lock
 * when @fd is recorded. */
void shim_fd_copy(int fd, int fd2);

/* Record an open of @fd, a new description under the root with path @rel:
 * fills the entry and emits TORN_EV_OPEN.  Under the lock. */
struct shim_path;
void shim_fd_open(int fd, const struct shim_path *p, int given_flags, uint16_t evflags);

/* Highest descriptor whose entry was ever set (-1: none). */
int shim_fd_hi(void);

/* Report, once per process, that descriptors beyond the table are not
 * recorded. */
void shim_fd_too_high(int fd);

/* ==========================================================================
 * 3. PATHS
 * ========================================================================== */

struct shim_path {
	char   abs[PATH_MAX];   /* absolute, resolved */
	size_t len;             /* strlen(abs) */
	size_t rel;             /* abs + rel is the root-relative path ("" = root) */
	int    in;              /* at or below the root */
};

/* Resolve @path (relative to @dirfd, or the cwd for AT_FDCWD) with realpath
 * semantics: every directory component resolved by the kernel (symlinks,
 * ".."), and the last component followed when @follow and it exists, else
 * taken as is (unlink, rename, mkdir name an entry, not its target).
 * Returns 0 or -errno (the parent does not exist, ...). */
int shim_path_resolve(struct shim_path *p, int dirfd, const char *path, int follow);

/* The path the kernel gives for the object open on @fd. */
int shim_path_fd(struct shim_path *p, int fd);

static inline const char *shim_path_rel(const struct shim_path *p)
{
	return p->abs + p->rel;
}

static inline uint16_t shim_path_rel_len(const struct shim_path *p)
{
	return (uint16_t)(p->len - p->rel);
}

/* "/proc/self/fd/N" into @buf (at least 32 bytes). */
void shim_proc_fd_name(char *buf, int fd);

/* ==========================================================================
 * 4. THE CALL CONTEXT
 * ========================================================================== */

struct shim_call {
	struct shim_lock lk;
	int       errno0;       /* errno at entry: the real call starts with it */
	int       err;          /* errno right after the real call */
	struct shim_fd *f;      /* the recorded descriptor, if any */
	int64_t   off;          /* write: file offset before the call (-1: unknown) */
	uint64_t  aux_seq;      /* fsync: seq when the call started */
	uint64_t  ino;          /* namespace: ino of the source, before the call */
	int       what;         /* rename: the source is a directory */
	struct shim_path p1, p2;
	/* Faults (shim_fault.c): filled only while shim_faults_on. */
	int       fd;           /* fd calls: the descriptor */
	struct shim_write {     /* write calls: what was asked, for a short write */
		int      fd, cnt, flags;
		uint32_t src;           /* TORN_SRC_* */
		int64_t  off;           /* the offset argument (-1: the file position) */
		const struct iovec *iov;
		struct iovec one;       /* write, pwrite: their buffer as a vector */
	} w;
	int       fault_err;    /* the errno injected */
	uint64_t  fault_keep;   /* > 0: a short write of that many bytes */
	const char *fault_point;
	int       fault_where;  /* where the call's path comes from */
};

/* Start a wrapper: 0 means pass straight through (not recording, or
 * re-entered from inside the shim in this thread). */
static inline int shim_begin(struct shim_call *c)
{
	c->lk.held = 0;
	c->f = NULL;
	c->errno0 = errno;
	if (shim_in_lock() || !shim_active())
		return 0;
	return 1;
}

static inline void shim_finish(struct shim_call *c)
{
	if (c->lk.held)
		shim_unlock(&c->lk);
}

/* ==========================================================================
 * 5. RECORDING HELPERS
 * ========================================================================== */

/* Record an object that came into the root from outside (rename or link
 * from outside): a file's contents as TORN_EV_IMPORT, a symlink as
 * TORN_EV_SYMLINK, a directory as TORN_EV_MKDIR and its entries,
 * recursively (shim_tree.c).  Under the lock. */
void shim_import(const struct shim_path *p);

/* Record an object renamed out of the root: it is now at @at (outside),
 * its name in the root was @was.  A file or symlink is an unlink, a
 * directory the unlinks and rmdirs of its contents, then its rmdir.
 * Under the lock. */
void shim_remove_tree(const struct shim_path *at, const struct shim_path *was);

/* Emit TORN_EV_UNSUPPORTED with @text.  Under the lock. */
void shim_unsupported(const char *text);

/* Is the file system of @fd the one of the root (for syncfs)? */
int shim_same_fs_as_root(int fd);

/* Record the bytes [@from, @to) of the file on @fd (entry @e) as write
 * events of source @src, read back from the file: for writes made where
 * the shim cannot see the bytes (stdio, copy_file_range, sendfile, clone
 * ioctls).  Pieces of 256 KiB, continuations flagged TORN_F_SPLIT.  Under
 * the lock. */
void shim_readback(struct shim_fd *e, int fd, int64_t from, int64_t to, uint32_t src);

/* The stdio side (shim_stdio.c): write out and record every recorded
 * stream (the destructor, before glibc's own exit flush). */
void shim_stdio_exit_flush(void);

/* Before a durability call on @fd (entry @e) that carries a stream: record
 * what the stream wrote to the file without the shim seeing it (see
 * shim_stdio.c, "catch-up"), so that the flush is recorded after it. */
void shim_stdio_before_sync(int fd, struct shim_fd *e);

/* ==========================================================================
 * 6. FAULTS (shim_fault.c, docs/faults.md)
 * ==========================================================================
 *
 * In a wrapper, once it knows the call concerns the root and before the
 * real call:
 *
 *	if (__builtin_expect(shim_faults_on, 0) && shim_fault_check(&c, POINT, "call"))
 *		r = shim_fault_apply(&c, error_value);   // instead of the real call
 *	else
 *		r = real call;
 *
 * shim_fault_check decides under the global lock (taking it if the wrapper
 * does not hold it yet, and keeping it when the call is to fail) and
 * returns 1 when the call fails or is shortened.  shim_fault_apply emits
 * the TORN_EV_FAULT event and returns what the program sees: @errv with
 * errno set (@errv 0: the error number itself, errno untouched, as
 * posix_fallocate), or the result of writing the prefix for a short write.
 * Write calls fill c->w in their pre_ hook while shim_faults_on. */
extern int shim_faults_on;
int shim_fault_check(struct shim_call *c, const char *point, const char *call);
int64_t shim_fault_apply(struct shim_call *c, int64_t errv);

/* The failure point of the interposed call @name (shim_calls.h), or NULL. */
const char *shim_call_point(const char *name);

/* Fill c->w for a write call (while shim_faults_on). */
static inline void shim_fault_wreq(struct shim_call *c, uint32_t src, int fd,
				   const struct iovec *iov, int cnt, int64_t off, int flags)
{
	c->w.src = src;
	c->w.fd = fd;
	c->w.iov = iov;
	c->w.cnt = cnt;
	c->w.off = off;
	c->w.flags = flags;
}

/* io_uring (shim_uring.c, under the lock): decide at submission whether the
 * entry's completion fails; at the completion, emit the FAULT event and
 * replace its res. */
struct io_uring_cqe;
void shim_fault_uring_arm(const void *ring, uint64_t ud, unsigned op, int fd, struct shim_fd *f);
void shim_fault_uring_cqe(const void *ring, struct io_uring_cqe *cqe);

#endif /* TORN_INJECTOR_SHIM_INT_H */

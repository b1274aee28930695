/*
 * recovery/fsmodel.h - an in-memory file tree with Linux namespace semantics.
 *
 * The model behind trace_rebuild() ("every event persisted"), exposed for
 * the crash-state materialiser, which needs the same namespace semantics
 * with only some events applied.
 *
 * Calling sequence:
 *
 *	struct fsm *m;
 *	fsm_new(&m);
 *	for each event ev of the trace (seq < P):
 *		fsm_apply(m, t, &ev, why, sizeof why);   // or the primitives below
 *	fsm_write_out(m, dir, why, sizeof why);      // dir exists and is empty
 *	fsm_free(m);
 *
 * Error contract: every function returns >= 0 or -errno; functions taking
 * @why also write a one-line reason there ("rename 'a' -> 'b': 'a' does not
 * exist").  When fsm_apply fails the model is unchanged by that event.
 *
 * ---- The model ----
 *
 * Inodes are regular files (bytes in 4 KiB pages, allocated on first write:
 * a hole costs nothing, so sizes of terabytes are fine), directories (a
 * sorted entry list: byte order of names, which is also the order of
 * fsm_walk and of fsm_write_out) and symlinks (a target, never followed).
 * Paths are trace paths: relative to the root, "" is the root, no "." or
 * ".." or empty components (the reader has checked them).  A path's
 * intermediate components must be directories; symlinks are never followed
 * anywhere, because the recorder resolved paths with realpath semantics.
 *
 * Handles (open file descriptions) map to inodes, not to names: a write
 * through a handle reaches the inode even after a rename or an unlink.
 * A regular inode whose last name goes away is an orphan: its bytes can
 * never be seen again, so they are freed at once and later writes to it are
 * dropped (set keep_orphans with fsm_set_keep_orphans() to keep them, for a
 * model in which that unlink may be undone).
 *
 * fsm_apply is "everything persisted": results < 0 change nothing; writes
 * of io_uring take effect at their completion, with its result; an
 * O_TMPFILE open makes an unnamed file (never written out, unless an
 * import with its st_ino names it: linkat(fd, "", ..., AT_EMPTY_PATH)).  It is strict:
 * an event that succeeded in the recording but cannot happen here (a
 * rename of a missing name) fails with the errno Linux would have given.
 */
#ifndef TORN_RECOVERY_FSMODEL_H
#define TORN_RECOVERY_FSMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "torn/trace.h"

#define FSM_PAGE 4096u

enum fsm_type { FSM_REG = 1, FSM_DIR = 2, FSM_LNK = 3 };

struct fsm_page {
	uint64_t idx;                 /* page number: bytes idx*FSM_PAGE .. +FSM_PAGE */
	uint8_t *data;                /* FSM_PAGE bytes */
};

struct fsm_inode;

struct fsm_dirent {
	char             *name;       /* NUL-terminated; no '/' */
	uint32_t          nlen;
	struct fsm_inode *ino;
};

struct fsm_inode {
	uint64_t id;                  /* 1 = the root, then creation order */
	enum fsm_type type;
	uint32_t mode;                /* permission bits (& 07777) */
	uint64_t st_ino;              /* inode number at recording (0: unknown) */
	uint32_t nlink;               /* names pointing here */
	uint64_t size;                /* regular: file size; symlink: target length */
	/* regular files: pages sorted by idx; bytes past size are zero */
	struct fsm_page *pages;
	size_t npages, pcap;
	/* directories: entries sorted by name; parent (the root's is itself) */
	struct fsm_dirent *ents;
	size_t nents, ecap;
	struct fsm_inode *parent;
	/* symlinks */
	char *target;
};

struct fsm;

int  fsm_new(struct fsm **out);
void fsm_free(struct fsm *m);
/* A deep copy (inodes, names, bytes, handles, pending io_uring writes). */
int  fsm_clone(const struct fsm *m, struct fsm **out);
void fsm_set_keep_orphans(struct fsm *m, int keep);
struct fsm_inode *fsm_root(const struct fsm *m);

/* ---- events */

/* Apply one event as persisted.  @t gives the content of writes. */
int fsm_apply(struct fsm *m, const struct torn_trace *t, const struct torn_event *ev,
	      char *why, size_t whylen);

/* ---- namespace primitives (paths: trace paths with explicit lengths) */

/* The inode at @path, or NULL (-ENOENT / -ENOTDIR in *err when err). */
struct fsm_inode *fsm_lookup(const struct fsm *m, const char *path, size_t len, int *err);
/* Create a regular file, directory or symlink (@target for FSM_LNK) at
 * @path; -EEXIST if the name is taken, -ENOENT/-ENOTDIR for the parent. */
int fsm_create(struct fsm *m, const char *path, size_t len, enum fsm_type type,
	       uint32_t mode, const char *target, size_t tlen, struct fsm_inode **out);
int fsm_unlink(struct fsm *m, const char *path, size_t len);     /* not a directory */
int fsm_rmdir(struct fsm *m, const char *path, size_t len);      /* an empty directory */
int fsm_link(struct fsm *m, const char *old, size_t olen, const char *newp, size_t nlen);
/* rename(2) / renameat2(2): @flags RENAME_NOREPLACE, RENAME_EXCHANGE. */
int fsm_rename(struct fsm *m, const char *old, size_t olen, const char *newp, size_t nlen,
	       unsigned flags);

/* ---- data primitives (regular inodes) */

int fsm_pwrite(struct fsm *m, struct fsm_inode *ino, uint64_t off, const void *buf, size_t len);
/* Read @len bytes at @off; bytes past the size read as zero. */
void fsm_pread(const struct fsm_inode *ino, uint64_t off, void *buf, size_t len);
int fsm_truncate(struct fsm *m, struct fsm_inode *ino, uint64_t size);
/* fallocate(2) modes: 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, COLLAPSE_RANGE,
 * INSERT_RANGE, UNSHARE_RANGE, as Linux changes size and contents. */
int fsm_fallocate(struct fsm *m, struct fsm_inode *ino, unsigned mode, uint64_t off, uint64_t len);

/* ---- handles */

int fsm_handle_set(struct fsm *m, uint64_t handle, struct fsm_inode *ino);
struct fsm_inode *fsm_handle(const struct fsm *m, uint64_t handle);

/* ---- reading the tree */

/* Visit every inode reachable from the root, pre-order, names in byte
 * order; @path is NUL-terminated ("" for the root).  A nonzero return of
 * @fn stops the walk and is returned. */
typedef int (*fsm_walk_fn)(void *arg, const char *path, struct fsm_inode *ino);
int fsm_walk(const struct fsm *m, fsm_walk_fn fn, void *arg);

/* XXH3-128 of the tree: for each inode in walk order its path, type, mode
 * bits, size and bytes (symlinks: target).  Equal trees hash equal. */
torn_hash fsm_hash(const struct fsm *m);

/* Write the tree into the existing, empty directory @dir: directories,
 * regular files with their exact bytes and sizes (holes stay holes), hard
 * links as hard links, symlinks as symlinks.  Modes are kept with the
 * owner's rwx/rw bits forced on, so the copy can be checked and removed.
 * Everything is created with *at() calls relative to @dir with O_NOFOLLOW. */
int fsm_write_out(const struct fsm *m, const char *dir, char *why, size_t whylen);

#endif /* TORN_RECOVERY_FSMODEL_H */

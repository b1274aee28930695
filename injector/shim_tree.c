/*
 * injector/shim_tree.c - objects that cross the root's boundary: renamed
 * or linked into the root from outside (imported), or renamed out of it
 * (removed).
 *
 * Sections: 1. one object in, 2. a directory tree in, 3. a tree out.
 *
 * Into the root: a regular file becomes one TORN_EV_IMPORT (path, mode,
 * ino, len = size, every chunk hash: its contents, read through a private
 * read-only mapping), a symlink a TORN_EV_SYMLINK, a directory a
 * TORN_EV_MKDIR followed by its entries, recursively.  Out of the root: a
 * file or symlink is a TORN_EV_UNLINK, a directory the unlinks and rmdirs
 * of its contents (read at its new place, outside) and then its own rmdir,
 * so the model's directory is empty when it goes.  Everything runs under
 * the lock, with no allocation: directories are read with getdents64 into
 * a buffer on the stack, one per level, at most SHIM_TREE_DEPTH levels
 * (deeper levels are reported as unsupported).
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_int.h"

#define SHIM_TREE_DEPTH 32

static void note(const char *what, const struct shim_path *p)
{
	char buf[PATH_MAX + 160];

	snprintf(buf, sizeof(buf), "%s: %.*s", what, (int)shim_path_rel_len(p), shim_path_rel(p));
	shim_unsupported(buf);
}

/* Append "/name" to @p; 0, or -1 when it does not fit. */
static int push(struct shim_path *p, const char *name)
{
	size_t n = strlen(name), old = p->len, slash = p->len > 1;

	if (p->len + slash + n >= sizeof(p->abs))
		return -1;
	if (slash)
		p->abs[p->len++] = '/';
	memcpy(p->abs + p->len, name, n + 1);
	p->len += n;
	if (p->rel >= old)                  /* it was the root: the name starts here */
		p->rel = old + slash;
	return 0;
}

static void pop(struct shim_path *p, size_t len, size_t rel)
{
	p->len = len;
	p->rel = rel;
	p->abs[len] = '\0';
}

/* ==========================================================================
 * 1. ONE OBJECT IN
 * ========================================================================== */

static void import_tree(struct shim_path *p, int depth);

static void import_one(struct shim_path *p, int depth)
{
	struct torn_event ev = { .type = TORN_EV_IMPORT };
	const size_t max = (size_t)TORN_WRITE_MAX_CHUNKS * TORN_CHUNK;
	struct stat st;
	char target[PATH_MAX];
	void *map = MAP_FAILED;
	size_t take = 0;
	int fd = -1;

	if (lstat(p->abs, &st) < 0)
		return;
	ev.path = shim_path_rel(p);
	ev.path_len = shim_path_rel_len(p);
	ev.ino = st.st_ino;
	ev.mode = st.st_mode;
	if (S_ISDIR(st.st_mode)) {
		ev.type = TORN_EV_MKDIR;
		shim_emit(&ev);
		import_tree(p, depth + 1);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(p->abs, target, sizeof(target));

		if (n < 0 || (size_t)n >= sizeof(target)) {
			note("symlink moved into the root could not be read", p);
			return;
		}
		ev.type = TORN_EV_SYMLINK;
		ev.path2 = target;
		ev.path2_len = (uint32_t)n;
		shim_emit(&ev);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		note("special file moved into the root: not recorded", p);
		return;
	}
	ev.len = st.st_size;
	take = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	if (take == 0) {
		shim_emit_content(&ev, NULL, 0);
		return;
	}
	fd = SHIM_REAL(openat)(AT_FDCWD, p->abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		map = SHIM_REAL(mmap)(NULL, take, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		note("file moved into the root could not be read: not recorded", p);
	} else {
		shim_emit_content(&ev, map, take);
		if (take < (size_t)st.st_size)
			note("file moved into the root is larger than 16 MiB: only its first "
			     "16 MiB are recorded", p);
		SHIM_REAL(munmap)(map, take);
	}
	if (fd >= 0)
		SHIM_REAL(close)(fd);
}

void shim_import(const struct shim_path *p)
{
	struct shim_path q = *p;

	import_one(&q, 0);
}

/* ==========================================================================
 * 2. A DIRECTORY TREE IN
 * ========================================================================== */

/* Call @fn for each entry of directory @p (". " and ".." skipped), with
 * @p extended by the entry's name. */
static void each_entry(struct shim_path *p, struct shim_path *q, int depth,
		       void (*fn)(struct shim_path *, struct shim_path *, int))
{
	char buf[2048];
	size_t len = p->len, rel = p->rel, qlen = q ? q->len : 0, qrel = q ? q->rel : 0;
	int fd;

	if (depth > SHIM_TREE_DEPTH) {
		note("directory tree deeper than 32 levels crossed the root: not recorded", q ? q : p);
		return;
	}
	fd = SHIM_REAL(openat)(AT_FDCWD, p->abs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		note("directory that crossed the root could not be read", q ? q : p);
		return;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long at = 0; at < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + at);

			at += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if (push(p, d->d_name) == 0 && (!q || push(q, d->d_name) == 0))
				fn(p, q, depth);
			pop(p, len, rel);
			if (q)
				pop(q, qlen, qrel);
		}
	}
	SHIM_REAL(close)(fd);
}

static void import_entry(struct shim_path *p, struct shim_path *q, int depth)
{
	import_one(p, depth);
}

static void import_tree(struct shim_path *p, int depth)
{
	each_entry(p, NULL, depth, import_entry);
}

/* ==========================================================================
 * 3. A TREE OUT
 * ========================================================================== */

static void remove_one(struct shim_path *at, struct shim_path *was, int depth);

static void remove_entry(struct shim_path *at, struct shim_path *was, int depth)
{
	remove_one(at, was, depth + 1);
}

/* @at: where the object is now (outside); @was: its name in the root. */
static void remove_one(struct shim_path *at, struct shim_path *was, int depth)
{
	struct torn_event ev = { .type = TORN_EV_UNLINK };
	struct stat st;

	if (lstat(at->abs, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		each_entry(at, was, depth, remove_entry);
		ev.type = TORN_EV_RMDIR;
	}
	ev.ino = st.st_ino;
	ev.path = shim_path_rel(was);
	ev.path_len = shim_path_rel_len(was);
	shim_emit(&ev);
}

void shim_remove_tree(const struct shim_path *at, const struct shim_path *was)
{
	struct shim_path a = *at, w = *was;

	remove_one(&a, &w, 0);
}

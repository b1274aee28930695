/*
 * injector/shim_mmap.c - shared writable mappings of recorded files.
 *
 * Sections: 1. the mapping table, 2. mmap, 3. munmap, mprotect and msync.
 *
 * Stores through a MAP_SHARED mapping reach the file without any call the
 * shim can see, so they are not recorded.  They are never silently missed
 * either: the mapping is recorded as TORN_EV_MMAP (handle, off, len, and a
 * text saying its stores are not recorded) and each msync of it as
 * TORN_EV_MSYNC (off in the file, len, oflags = MS_* flags, result), which
 * `torn info` reports as unsupported.  A read-only shared mapping of a
 * file open for writing is remembered (no event): should mprotect make it
 * writable, it is recorded then.  Private mappings change no file: they
 * pass through without a look (malloc's own mappings never come here:
 * glibc calls its internal mmap).
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. THE MAPPING TABLE
 * ========================================================================== */

/* Recorded mappings of this process, to recognise msync on them; under the
 * lock.  Beyond SHIM_MAPS, the mapping is recorded but its msyncs are not
 * (said in the MMAP event's text). */
#define SHIM_MAPS 64

struct shim_map {
	uintptr_t addr;
	size_t    len;
	int64_t   off;          /* file offset of addr */
	uint64_t  handle, ino;
	int       ro;           /* read-only so far: not recorded yet */
};

static struct shim_map g_maps[SHIM_MAPS];
static int g_nmaps;             /* entries in use (read without the lock) */

static int map_add(uintptr_t addr, size_t len, int64_t off, const struct shim_fd *f, int ro)
{
	for (int i = 0; i < SHIM_MAPS; i++) {
		if (g_maps[i].len)
			continue;
		g_maps[i] = (struct shim_map){ addr, len, off, f->handle, f->ino, ro };
		__atomic_add_fetch(&g_nmaps, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return -ENOSPC;
}

/* The recorded mapping that overlaps [addr, addr + len), if any. */
static struct shim_map *map_find(uintptr_t addr, size_t len)
{
	for (int i = 0; i < SHIM_MAPS; i++) {
		struct shim_map *m = &g_maps[i];

		if (m->len && !m->ro && addr < m->addr + m->len && m->addr < addr + (len ? len : 1))
			return m;
	}
	return NULL;
}

/* ==========================================================================
 * 2. MMAP
 * ========================================================================== */

static void *mmap_impl(void *(*real)(void *, size_t, int, int, int, off64_t), void *addr,
		       size_t len, int prot, int flags, int fd, off64_t off)
{
	static const char full[] = "shared writable mapping: stores through it are not recorded "
				   "(and the shim's table of mappings is full: its msyncs are not "
				   "recorded either)";
	static const char note[] = "shared writable mapping: stores through it are not recorded";
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_MMAP };
	void *r;

	/* MAP_SHARED_VALIDATE includes the MAP_SHARED bit. */
	if (fd < 0 || !(flags & MAP_SHARED) || !shim_begin(&c))
		return real(addr, len, prot, flags, fd, off);
	c.f = shim_fd_rec(fd);
	if (!c.f || (!(prot & PROT_WRITE) && (c.f->oflags & O_ACCMODE) != O_RDWR)) {
		errno = c.errno0;
		return real(addr, len, prot, flags, fd, off);
	}
	shim_lock(&c.lk);
	errno = c.errno0;
	r = real(addr, len, prot, flags, fd, off);
	c.err = errno;
	if (!(prot & PROT_WRITE)) {
		/* Read-only for now: remembered for mprotect, not recorded. */
		if (r != MAP_FAILED)
			map_add((uintptr_t)r, len, off, c.f, 1);
		shim_finish(&c);
		errno = c.err;
		return r;
	}
	ev.handle = c.f->handle;
	ev.ino = c.f->ino;
	ev.off = off;
	ev.len = (int64_t)len;
	ev.oflags = (uint32_t)flags;
	ev.result = r == MAP_FAILED ? -(int64_t)c.err : 0;
	ev.text = note;
	ev.text_len = sizeof(note) - 1;
	if (r != MAP_FAILED && map_add((uintptr_t)r, len, off, c.f, 0) < 0) {
		ev.text = full;
		ev.text_len = sizeof(full) - 1;
	}
	shim_emit(&ev);
	shim_finish(&c);
	errno = c.err;
	return r;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap_impl((void *(*)(void *, size_t, int, int, int, off64_t))SHIM_REAL(mmap), addr,
			 len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap_impl(SHIM_REAL(mmap64), addr, len, prot, flags, fd, off);
}

/* ==========================================================================
 * 3. MUNMAP, MPROTECT AND MSYNC
 * ========================================================================== */

/* Forget the recorded mappings inside the unmapped range (a partial unmap
 * keeps the entry: its msyncs are still recorded). */
SHIM_EXPORT int munmap(void *addr, size_t len)
{
	struct shim_call c;
	int r;

	if (!__atomic_load_n(&g_nmaps, __ATOMIC_RELAXED) || !shim_begin(&c))
		return SHIM_REAL(munmap)(addr, len);
	shim_lock(&c.lk);
	errno = c.errno0;
	r = SHIM_REAL(munmap)(addr, len);
	c.err = errno;
	for (int i = 0; r == 0 && i < SHIM_MAPS; i++) {
		struct shim_map *m = &g_maps[i];

		if (m->len && m->addr >= (uintptr_t)addr && m->addr + m->len <= (uintptr_t)addr + len) {
			m->len = 0;
			__atomic_sub_fetch(&g_nmaps, 1, __ATOMIC_RELAXED);
		}
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* A remembered read-only shared mapping made writable: recorded now, as
 * mmap would have recorded it. */
SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	static const char note[] = "shared mapping made writable by mprotect: stores through "
				   "it are not recorded";
	struct shim_call c;
	int r;

	if (!(prot & PROT_WRITE) || !__atomic_load_n(&g_nmaps, __ATOMIC_RELAXED) ||
	    !shim_begin(&c))
		return SHIM_REAL(mprotect)(addr, len, prot);
	shim_lock(&c.lk);
	errno = c.errno0;
	r = SHIM_REAL(mprotect)(addr, len, prot);
	c.err = errno;
	for (int i = 0; r == 0 && i < SHIM_MAPS; i++) {
		struct shim_map *m = &g_maps[i];
		struct torn_event ev = { .type = TORN_EV_MMAP };

		if (!m->len || !m->ro || (uintptr_t)addr >= m->addr + m->len ||
		    m->addr >= (uintptr_t)addr + len)
			continue;
		m->ro = 0;
		ev.handle = m->handle;
		ev.ino = m->ino;
		ev.off = m->off;
		ev.len = (int64_t)m->len;
		ev.oflags = MAP_SHARED;
		ev.text = note;
		ev.text_len = sizeof(note) - 1;
		shim_emit(&ev);
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* Like fsync, msync runs without the lock and records aux_seq. */
SHIM_EXPORT int msync(void *addr, size_t len, int flags)
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_MSYNC };
	struct shim_map m;
	struct shim_map *found;
	int r;

	if (!__atomic_load_n(&g_nmaps, __ATOMIC_RELAXED) || !shim_begin(&c))
		return SHIM_REAL(msync)(addr, len, flags);
	shim_lock(&c.lk);
	found = map_find((uintptr_t)addr, len);
	if (found)
		m = *found;
	shim_finish(&c);
	if (!found) {
		errno = c.errno0;
		return SHIM_REAL(msync)(addr, len, flags);
	}
	ev.aux_seq = shim_seq_now() + 1;
	errno = c.errno0;
	r = SHIM_REAL(msync)(addr, len, flags);
	c.err = errno;
	ev.handle = m.handle;
	ev.ino = m.ino;
	ev.off = m.off + ((intptr_t)addr - (intptr_t)m.addr);
	ev.len = (int64_t)len;
	ev.oflags = (uint32_t)flags;
	ev.result = r < 0 ? -(int64_t)c.err : r;
	shim_lock(&c.lk);
	shim_emit(&ev);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/*
 * recovery/fsmodel.c - the in-memory file tree (see fsmodel.h).
 *
 * Sections:
 *   1. The model object, the inode table, a u64 -> pointer map
 *   2. Pages: read, write, zero, truncate, fallocate
 *   3. Directories and path resolution
 *   4. Namespace operations (create, unlink, rmdir, link, rename)
 *   5. Events (fsm_apply)
 *   6. Walking, hashing, cloning
 *   7. Writing the tree out
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fsmodel.h"
#include "trace_io.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1u << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE  (1u << 1)
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif

/* ==========================================================================
 * 1. The model object
 * ========================================================================== */

/* Open addressing map from a nonzero u64 key to a pointer. */
struct u64map {
	uint64_t *keys;               /* 0 = empty */
	void    **vals;
	size_t    cap, n;
};

/* An io_uring write between its submission and its completion. */
struct uring_pending {
	uint64_t       handle;
	uint64_t       off;
	const uint8_t *chunks;        /* into the trace's mapping */
	uint32_t       nchunks;
};

struct fsm {
	struct fsm_inode **inodes;    /* every inode ever made, by id - 1 */
	size_t ninodes, icap;
	struct u64map handles;        /* handle -> inode */
	struct u64map init_ino;       /* st_ino -> inode, for hard links in the snapshot */
	struct u64map tmp_ino;        /* st_ino -> unnamed O_TMPFILE inode, until linked in */
	struct u64map uring;          /* user_data -> struct uring_pending */
	int keep_orphans;
};

static size_t map_home(uint64_t k, size_t cap)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static void **map_slot(const struct u64map *mp, uint64_t k)
{
	size_t i;

	if (!mp->cap)
		return NULL;
	for (i = map_home(k, mp->cap); mp->keys[i]; i = (i + 1) & (mp->cap - 1))
		if (mp->keys[i] == k)
			return &mp->vals[i];
	return NULL;
}

static void *map_get(const struct u64map *mp, uint64_t k)
{
	void **s = map_slot(mp, k);
	return s ? *s : NULL;
}

static int map_put(struct u64map *mp, uint64_t k, void *v)
{
	void **s = map_slot(mp, k);
	size_t i, j;

	if (s) {
		*s = v;
		return 0;
	}
	if ((mp->n + 1) * 2 > mp->cap) {
		size_t cap = mp->cap ? mp->cap * 2 : 64;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		void **vals = calloc(cap, sizeof(*vals));

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		for (i = 0; i < mp->cap; i++) {
			if (!mp->keys[i])
				continue;
			for (j = map_home(mp->keys[i], cap); keys[j]; j = (j + 1) & (cap - 1))
				;
			keys[j] = mp->keys[i];
			vals[j] = mp->vals[i];
		}
		free(mp->keys);
		free(mp->vals);
		mp->keys = keys;
		mp->vals = vals;
		mp->cap = cap;
	}
	for (i = map_home(k, mp->cap); mp->keys[i]; i = (i + 1) & (mp->cap - 1))
		;
	mp->keys[i] = k;
	mp->vals[i] = v;
	mp->n++;
	return 0;
}

/* Remove @k (backward-shift deletion keeps probe chains whole). */
static void map_del(struct u64map *mp, uint64_t k)
{
	size_t i, j, h;

	if (!mp->cap)
		return;
	for (i = map_home(k, mp->cap); mp->keys[i] != k; i = (i + 1) & (mp->cap - 1))
		if (!mp->keys[i])
			return;
	mp->keys[i] = 0;
	mp->n--;
	for (j = (i + 1) & (mp->cap - 1); mp->keys[j]; j = (j + 1) & (mp->cap - 1)) {
		h = map_home(mp->keys[j], mp->cap);
		/* Move j back to i if its home is not in (i, j] cyclically. */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			mp->keys[i] = mp->keys[j];
			mp->vals[i] = mp->vals[j];
			mp->keys[j] = 0;
			i = j;
		}
	}
}

static void map_free(struct u64map *mp)
{
	free(mp->keys);
	free(mp->vals);
	memset(mp, 0, sizeof(*mp));
}

static void pages_free(struct fsm_inode *ino)
{
	for (size_t i = 0; i < ino->npages; i++)
		free(ino->pages[i].data);
	free(ino->pages);
	ino->pages = NULL;
	ino->npages = ino->pcap = 0;
}

static void inode_free(struct fsm_inode *ino)
{
	if (!ino)
		return;
	pages_free(ino);
	for (size_t i = 0; i < ino->nents; i++)
		free(ino->ents[i].name);
	free(ino->ents);
	free(ino->target);
	free(ino);
}

static struct fsm_inode *inode_new(struct fsm *m, enum fsm_type type, uint32_t mode)
{
	struct fsm_inode *ino;

	if (m->ninodes == m->icap) {
		size_t cap = m->icap ? m->icap * 2 : 64;
		struct fsm_inode **n = realloc(m->inodes, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->inodes = n;
		m->icap = cap;
	}
	ino = calloc(1, sizeof(*ino));
	if (!ino)
		return NULL;
	ino->id = m->ninodes + 1;
	ino->type = type;
	ino->mode = mode & 07777;
	m->inodes[m->ninodes++] = ino;
	return ino;
}

int fsm_new(struct fsm **out)
{
	struct fsm *m = calloc(1, sizeof(*m));
	struct fsm_inode *root;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	root = inode_new(m, FSM_DIR, 0755);
	if (!root) {
		fsm_free(m);
		return -ENOMEM;
	}
	root->parent = root;
	root->nlink = 1;
	*out = m;
	return 0;
}

void fsm_free(struct fsm *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ninodes; i++)
		inode_free(m->inodes[i]);
	free(m->inodes);
	for (size_t i = 0; i < m->uring.cap; i++)
		if (m->uring.keys[i])
			free(m->uring.vals[i]);
	map_free(&m->handles);
	map_free(&m->init_ino);
	map_free(&m->tmp_ino);
	map_free(&m->uring);
	free(m);
}

void fsm_set_keep_orphans(struct fsm *m, int keep) { m->keep_orphans = keep; }
struct fsm_inode *fsm_root(const struct fsm *m) { return m->inodes[0]; }

int fsm_handle_set(struct fsm *m, uint64_t handle, struct fsm_inode *ino)
{
	return map_put(&m->handles, handle, ino);
}

struct fsm_inode *fsm_handle(const struct fsm *m, uint64_t handle)
{
	return map_get(&m->handles, handle);
}

/* A name went away: an unreachable regular file's bytes can never be read
 * again (unless the caller asked to keep them). */
static void inode_unref(struct fsm *m, struct fsm_inode *ino)
{
	if (ino->nlink)
		ino->nlink--;
	if (!ino->nlink && ino->type == FSM_REG && !m->keep_orphans)
		pages_free(ino);
}

static int orphan(const struct fsm *m, const struct fsm_inode *ino)
{
	return !ino->nlink && !m->keep_orphans;
}

/* ==========================================================================
 * 2. Pages
 * ========================================================================== */

/* Index of the first page with idx >= @idx. */
static size_t page_find(const struct fsm_inode *ino, uint64_t idx)
{
	size_t lo = 0, hi = ino->npages;

	/* Appends and rewrites of the tail are the common case. */
	if (hi && ino->pages[hi - 1].idx < idx)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ino->pages[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint8_t *page_get(struct fsm_inode *ino, uint64_t idx, int create)
{
	size_t i = page_find(ino, idx);
	uint8_t *d;

	if (i < ino->npages && ino->pages[i].idx == idx)
		return ino->pages[i].data;
	if (!create)
		return NULL;
	if (ino->npages == ino->pcap) {
		size_t cap = ino->pcap ? ino->pcap * 2 : 8;
		struct fsm_page *n = realloc(ino->pages, cap * sizeof(*n));

		if (!n)
			return NULL;
		ino->pages = n;
		ino->pcap = cap;
	}
	d = calloc(1, FSM_PAGE);
	if (!d)
		return NULL;
	memmove(&ino->pages[i + 1], &ino->pages[i], (ino->npages - i) * sizeof(ino->pages[0]));
	ino->pages[i].idx = idx;
	ino->pages[i].data = d;
	ino->npages++;
	return d;
}

/* Write bytes without touching the size. */
static int pages_write(struct fsm_inode *ino, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *s = buf;

	while (len) {
		uint64_t idx = off / FSM_PAGE;
		size_t in = (size_t)(off % FSM_PAGE), n = FSM_PAGE - in < len ? FSM_PAGE - in : len;
		uint8_t *d = page_get(ino, idx, 1);

		if (!d)
			return -ENOMEM;
		memcpy(d + in, s, n);
		s += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Zero [off, off + len) of the pages, freeing whole pages. */
static void pages_zero(struct fsm_inode *ino, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	size_t i = page_find(ino, off / FSM_PAGE), o = i;

	for (; i < ino->npages && ino->pages[i].idx * FSM_PAGE < end; i++) {
		struct fsm_page *p = &ino->pages[i];
		uint64_t ps = p->idx * FSM_PAGE, pe = ps + FSM_PAGE;
		uint64_t zs = off > ps ? off : ps, ze = end < pe ? end : pe;

		if (zs == ps && ze == pe) {
			free(p->data);
			continue;                    /* dropped */
		}
		memset(p->data + (zs - ps), 0, (size_t)(ze - zs));
		ino->pages[o++] = *p;
	}
	if (i != o)
		memmove(&ino->pages[o], &ino->pages[i], (ino->npages - i) * sizeof(ino->pages[0]));
	ino->npages -= i - o;
}

void fsm_pread(const struct fsm_inode *ino, uint64_t off, void *buf, size_t len)
{
	uint8_t *d = buf;

	while (len) {
		size_t in = (size_t)(off % FSM_PAGE), n = FSM_PAGE - in < len ? FSM_PAGE - in : len;
		const uint8_t *p = off < ino->size ? page_get((struct fsm_inode *)ino, off / FSM_PAGE, 0) : NULL;

		if (p)
			memcpy(d, p + in, n);
		else
			memset(d, 0, n);
		if (off + n > ino->size && off < ino->size)   /* past the size: zeros */
			memset(d + (ino->size - off), 0, (size_t)(off + n - ino->size));
		d += n;
		off += n;
		len -= n;
	}
}

int fsm_pwrite(struct fsm *m, struct fsm_inode *ino, uint64_t off, const void *buf, size_t len)
{
	int r;

	if (ino->type != FSM_REG)
		return -EISDIR;
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EFBIG;                   /* past the largest file offset */
	if (orphan(m, ino) || !len)
		return 0;
	if ((r = pages_write(ino, off, buf, len)) < 0)
		return r;
	if (off + len > ino->size)
		ino->size = off + len;
	return 0;
}

int fsm_truncate(struct fsm *m, struct fsm_inode *ino, uint64_t size)
{
	if (ino->type != FSM_REG)
		return -EISDIR;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (orphan(m, ino))
		return 0;
	/* Bytes beyond the new size must read as zero if the file grows again. */
	if (size < ino->size)
		pages_zero(ino, size, ino->size - size);
	ino->size = size;
	return 0;
}

/* Shift every page at or after page @from by @delta pages (COLLAPSE and
 * INSERT_RANGE, whose offsets are block multiples): no byte is copied, so
 * holes stay holes whatever the size.  Order is kept: the caller has
 * emptied the range a collapse removes. */
static void pages_shift(struct fsm_inode *ino, uint64_t from, int64_t delta)
{
	for (size_t i = page_find(ino, from); i < ino->npages; i++)
		ino->pages[i].idx = (uint64_t)((int64_t)ino->pages[i].idx + delta);
}

int fsm_fallocate(struct fsm *m, struct fsm_inode *ino, unsigned mode, uint64_t off, uint64_t len)
{
	const unsigned known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
			       FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE |
			       FALLOC_FL_UNSHARE_RANGE;
	uint64_t end = off + len, size;

	if (ino->type != FSM_REG)
		return -EISDIR;
	if (mode & ~known)
		return -EOPNOTSUPP;
	if (!len || off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return off > (uint64_t)INT64_MAX ? -EINVAL : !len ? -EINVAL : -EFBIG;
	if (orphan(m, ino))
		return 0;
	size = ino->size;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		/* Always with KEEP_SIZE: zeros inside the file, size unchanged. */
		if (off < size)
			pages_zero(ino, off, (end < size ? end : size) - off);
	} else if (mode & FALLOC_FL_ZERO_RANGE) {
		if (off < size)
			pages_zero(ino, off, (end < size ? end : size) - off);
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size)
			ino->size = end;
	} else if (mode & FALLOC_FL_COLLAPSE_RANGE) {
		/* Linux wants block multiples here; the model's block is its page. */
		if (off % FSM_PAGE || len % FSM_PAGE || end >= size)
			return -EINVAL;
		pages_zero(ino, off, len);
		pages_shift(ino, end / FSM_PAGE, -(int64_t)(len / FSM_PAGE));
		ino->size = size - len;
	} else if (mode & FALLOC_FL_INSERT_RANGE) {
		if (off % FSM_PAGE || len % FSM_PAGE || off >= size)
			return -EINVAL;
		if (size + len < size || size + len > (uint64_t)INT64_MAX)
			return -EFBIG;
		pages_shift(ino, off / FSM_PAGE, (int64_t)(len / FSM_PAGE));
		ino->size = size + len;
	} else if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_UNSHARE_RANGE)) && end > size) {
		ino->size = end;             /* plain allocation: zeros up to end */
	}
	return 0;
}

/* ==========================================================================
 * 3. Directories and path resolution
 * ========================================================================== */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* Index of @name in @dir, or -(insertion point) - 1. */
static long dir_find(const struct fsm_inode *dir, const char *name, size_t nlen)
{
	size_t lo = 0, hi = dir->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(dir->ents[mid].name, dir->ents[mid].nlen, name, nlen);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static struct fsm_inode *dir_get(const struct fsm_inode *dir, const char *name, size_t nlen)
{
	long i = dir_find(dir, name, nlen);
	return i >= 0 ? dir->ents[i].ino : NULL;
}

static int dir_add(struct fsm_inode *dir, const char *name, size_t nlen, struct fsm_inode *ino)
{
	long i = dir_find(dir, name, nlen);
	size_t at;
	char *copy;

	if (i >= 0)
		return -EEXIST;
	at = (size_t)(-i - 1);
	if (dir->nents == dir->ecap) {
		size_t cap = dir->ecap ? dir->ecap * 2 : 8;
		struct fsm_dirent *n = realloc(dir->ents, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dir->ents = n;
		dir->ecap = cap;
	}
	copy = strndup(name, nlen);
	if (!copy)
		return -ENOMEM;
	memmove(&dir->ents[at + 1], &dir->ents[at], (dir->nents - at) * sizeof(dir->ents[0]));
	dir->ents[at].name = copy;
	dir->ents[at].nlen = (uint32_t)nlen;
	dir->ents[at].ino = ino;
	dir->nents++;
	ino->nlink++;
	if (ino->type == FSM_DIR)
		ino->parent = dir;
	return 0;
}

/* Remove the entry (without dropping the inode's link count). */
static void dir_remove_at(struct fsm_inode *dir, size_t i)
{
	free(dir->ents[i].name);
	memmove(&dir->ents[i], &dir->ents[i + 1], (dir->nents - i - 1) * sizeof(dir->ents[0]));
	dir->nents--;
}

/* Split @path into its parent directory and last name.  The root itself has
 * no parent: -EBUSY (it cannot be created, removed or renamed). */
static int resolve_parent(const struct fsm *m, const char *path, size_t len,
			  struct fsm_inode **dir, const char **name, size_t *nlen)
{
	struct fsm_inode *d = fsm_root(m);
	size_t i = 0;

	if (!len)
		return -EBUSY;
	for (;;) {
		size_t s = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == len) {
			*dir = d;
			*name = path + s;
			*nlen = i - s;
			return 0;
		}
		d = dir_get(d, path + s, i - s);
		if (!d)
			return -ENOENT;
		if (d->type != FSM_DIR)
			return -ENOTDIR;
		i++;
	}
}

struct fsm_inode *fsm_lookup(const struct fsm *m, const char *path, size_t len, int *err)
{
	struct fsm_inode *dir, *ino;
	const char *name;
	size_t nlen;
	int r;

	if (!len)
		return fsm_root(m);
	r = resolve_parent(m, path, len, &dir, &name, &nlen);
	ino = r < 0 ? NULL : dir_get(dir, name, nlen);
	if (err)
		*err = r < 0 ? r : ino ? 0 : -ENOENT;
	return ino;
}

/* ==========================================================================
 * 4. Namespace operations
 * ========================================================================== */

int fsm_create(struct fsm *m, const char *path, size_t len, enum fsm_type type,
	       uint32_t mode, const char *target, size_t tlen, struct fsm_inode **out)
{
	struct fsm_inode *dir, *ino;
	const char *name;
	size_t nlen;
	int r;

	if (out)
		*out = NULL;
	if ((r = resolve_parent(m, path, len, &dir, &name, &nlen)) < 0)
		return r == -EBUSY ? -EEXIST : r;
	if (dir_get(dir, name, nlen))
		return -EEXIST;
	if (!(ino = inode_new(m, type, mode)))
		return -ENOMEM;
	if (type == FSM_LNK) {
		if (!(ino->target = strndup(target ? target : "", tlen)))
			return -ENOMEM;
		ino->size = tlen;
	}
	if ((r = dir_add(dir, name, nlen, ino)) < 0)
		return r;
	if (out)
		*out = ino;
	return 0;
}

int fsm_unlink(struct fsm *m, const char *path, size_t len)
{
	struct fsm_inode *dir, *ino;
	const char *name;
	size_t nlen;
	long i;
	int r;

	if ((r = resolve_parent(m, path, len, &dir, &name, &nlen)) < 0)
		return r == -EBUSY ? -EISDIR : r;
	if ((i = dir_find(dir, name, nlen)) < 0)
		return -ENOENT;
	ino = dir->ents[i].ino;
	if (ino->type == FSM_DIR)
		return -EISDIR;
	dir_remove_at(dir, (size_t)i);
	inode_unref(m, ino);
	return 0;
}

int fsm_rmdir(struct fsm *m, const char *path, size_t len)
{
	struct fsm_inode *dir, *ino;
	const char *name;
	size_t nlen;
	long i;
	int r;

	if ((r = resolve_parent(m, path, len, &dir, &name, &nlen)) < 0)
		return r;
	if ((i = dir_find(dir, name, nlen)) < 0)
		return -ENOENT;
	ino = dir->ents[i].ino;
	if (ino->type != FSM_DIR)
		return -ENOTDIR;
	if (ino->nents)
		return -ENOTEMPTY;
	dir_remove_at(dir, (size_t)i);
	inode_unref(m, ino);
	return 0;
}

int fsm_link(struct fsm *m, const char *old, size_t olen, const char *newp, size_t nlen)
{
	struct fsm_inode *ino, *dir;
	const char *name;
	size_t l;
	int r;

	if (!(ino = fsm_lookup(m, old, olen, &r)))
		return r;
	if (ino->type == FSM_DIR)
		return -EPERM;               /* no hard links to directories */
	if ((r = resolve_parent(m, newp, nlen, &dir, &name, &l)) < 0)
		return r == -EBUSY ? -EEXIST : r;
	return dir_add(dir, name, l, ino);
}

/* Is @d equal to @anc or below it? */
static int is_within(const struct fsm_inode *d, const struct fsm_inode *anc)
{
	for (;;) {
		if (d == anc)
			return 1;
		if (d->parent == d)
			return 0;
		d = d->parent;
	}
}

int fsm_rename(struct fsm *m, const char *old, size_t olen, const char *newp, size_t nlen,
	       unsigned flags)
{
	struct fsm_inode *sdir, *ddir, *src, *dst;
	const char *sname, *dname;
	size_t sl, dl;
	long si, di;
	int r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((r = resolve_parent(m, old, olen, &sdir, &sname, &sl)) < 0 ||
	    (r = resolve_parent(m, newp, nlen, &ddir, &dname, &dl)) < 0)
		return r;
	if ((si = dir_find(sdir, sname, sl)) < 0)
		return -ENOENT;
	src = sdir->ents[si].ino;
	di = dir_find(ddir, dname, dl);
	dst = di >= 0 ? ddir->ents[di].ino : NULL;

	if (flags & RENAME_EXCHANGE) {
		if (!dst)
			return -ENOENT;
		if (src == dst)
			return 0;
		/* Neither may end up inside itself. */
		if ((src->type == FSM_DIR && is_within(ddir, src)) ||
		    (dst->type == FSM_DIR && is_within(sdir, dst)))
			return -EINVAL;
		sdir->ents[si].ino = dst;
		ddir->ents[di].ino = src;
		if (dst->type == FSM_DIR)
			dst->parent = sdir;
		if (src->type == FSM_DIR)
			src->parent = ddir;
		return 0;
	}
	if (dst && flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (src == dst)
		return 0;                    /* two names of one inode: nothing happens */
	if (src->type == FSM_DIR && is_within(ddir, src))
		return -EINVAL;              /* into its own subtree */
	if (dst) {
		if (src->type == FSM_DIR && dst->type != FSM_DIR)
			return -ENOTDIR;
		if (src->type != FSM_DIR && dst->type == FSM_DIR)
			return -EISDIR;
		if (dst->type == FSM_DIR && dst->nents)
			return -ENOTEMPTY;
		/* Replace in place: the name keeps its slot, the old inode loses it;
		 * the source's link count is unchanged (one name for another). */
		ddir->ents[di].ino = src;
		inode_unref(m, dst);
		if (src->type == FSM_DIR)
			src->parent = ddir;
		dir_remove_at(sdir, (size_t)si);
		return 0;
	}
	/* A new name: add it first (it may fail on memory), then drop the old. */
	if ((r = dir_add(ddir, dname, dl, src)) < 0)
		return r;
	si = dir_find(sdir, sname, sl);     /* the insertion may have shifted it */
	dir_remove_at(sdir, (size_t)si);
	src->nlink--;                        /* dir_add counted the new name */
	return 0;
}

/* ==========================================================================
 * 5. Events
 * ========================================================================== */

static int why_set(char *why, size_t whylen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_set(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!why || !whylen)
		return r;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	n = strlen(why);
	snprintf(why + n, whylen - n, ": %s", torn_strerror(r));
	return r;
}

/* Write @nbytes of the content named by (@chunks, @nchunks) at @off. */
static int write_content(struct fsm *m, const struct torn_trace *t, struct fsm_inode *ino,
			 uint64_t off, const uint8_t *chunks, uint32_t nchunks, uint64_t nbytes)
{
	struct torn_event tmp;
	uint64_t at = 0;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	tmp.chunks = chunks;
	tmp.nchunks = nchunks;
	for (uint32_t i = 0; i < nchunks && at < nbytes; i++) {
		uint32_t blen;
		const uint8_t *b = trace_blob(t, trace_chunk(&tmp, i), &blen);
		uint64_t n = blen < nbytes - at ? blen : nbytes - at;

		if (!b)
			return -TORN_E_NOBLOB;
		if ((r = fsm_pwrite(m, ino, off + at, b, (size_t)n)) < 0)
			return r;
		at += n;
	}
	/* Content shorter than @nbytes (an io_uring completion claiming more
	 * than was submitted): only the bytes the trace carries are written. */
	return 0;
}

/* INIT_FILE and IMPORT: a whole file at @path with the event's content. */
static int put_file(struct fsm *m, const struct torn_trace *t, const struct torn_event *ev,
		    int replace, char *why, size_t whylen)
{
	struct fsm_inode *ino, *old;
	int r;

	old = fsm_lookup(m, ev->path, ev->path_len, NULL);
	if (old && replace) {
		if (old->type == FSM_DIR)
			return why_set(why, whylen, -EISDIR, "%s '%.*s'", trace_type_name(ev->type),
				       (int)ev->path_len, ev->path);
		if ((r = fsm_unlink(m, ev->path, ev->path_len)) < 0)
			return why_set(why, whylen, r, "import over '%.*s'", (int)ev->path_len, ev->path);
	}
	/* An O_TMPFILE file given a name (linkat AT_EMPTY_PATH): the import
	 * names the unnamed inode, so its handles reach the named file. */
	if (replace && ev->ino && (ino = map_get(&m->tmp_ino, ev->ino)) && !ino->nlink) {
		struct fsm_inode *dir;
		const char *name;
		size_t nlen;

		map_del(&m->tmp_ino, ev->ino);
		if ((r = resolve_parent(m, ev->path, ev->path_len, &dir, &name, &nlen)) < 0 ||
		    (r = dir_add(dir, name, nlen, ino)) < 0 ||
		    (r = fsm_truncate(m, ino, 0)) < 0 ||
		    (r = write_content(m, t, ino, 0, ev->chunks, ev->nchunks, (uint64_t)ev->len)) < 0)
			return why_set(why, whylen, r, "import '%.*s'", (int)ev->path_len, ev->path);
		return 0;
	}
	/* Hard links in the snapshot: a second name with the same st_ino. */
	if (!replace && ev->ino && (ino = map_get(&m->init_ino, ev->ino)) &&
	    ino->type == FSM_REG) {
		struct fsm_inode *dir;
		const char *name;
		size_t nlen;

		if ((r = resolve_parent(m, ev->path, ev->path_len, &dir, &name, &nlen)) < 0 ||
		    (r = dir_add(dir, name, nlen, ino)) < 0)
			return why_set(why, whylen, r, "init-file '%.*s'", (int)ev->path_len, ev->path);
		return 0;
	}
	r = fsm_create(m, ev->path, ev->path_len, FSM_REG, ev->mode, NULL, 0, &ino);
	if (r < 0)
		return why_set(why, whylen, r, "%s '%.*s'", trace_type_name(ev->type),
			       (int)ev->path_len, ev->path);
	ino->st_ino = ev->ino;
	if (!replace && ev->ino && (r = map_put(&m->init_ino, ev->ino, ino)) < 0)
		return r;
	r = write_content(m, t, ino, 0, ev->chunks, ev->nchunks, (uint64_t)ev->len);
	if (r < 0)
		return why_set(why, whylen, r, "content of '%.*s'", (int)ev->path_len, ev->path);
	return 0;
}

static int apply_open(struct fsm *m, const struct torn_event *ev, char *why, size_t whylen)
{
	struct fsm_inode *ino;
	int r;

	if ((ev->oflags & O_TMPFILE) == O_TMPFILE) {
		/* An unnamed file in that directory: no name, nothing to write out
		 * unless it is linked in later (which a trace cannot name). */
		if (!(ino = inode_new(m, FSM_REG, ev->mode ? ev->mode : 0600)))
			return -ENOMEM;
		ino->st_ino = ev->ino;
		if (ev->ino && (r = map_put(&m->tmp_ino, ev->ino, ino)) < 0)
			return r;
	} else if (ev->flags & TORN_F_CREATED) {
		r = fsm_create(m, ev->path, ev->path_len, FSM_REG, ev->mode ? ev->mode : 0644,
			       NULL, 0, &ino);
		if (r < 0)
			return why_set(why, whylen, r, "open creating '%.*s'", (int)ev->path_len,
				       ev->path);
		ino->st_ino = ev->ino;
	} else if (!(ino = fsm_lookup(m, ev->path, ev->path_len, &r))) {
		return why_set(why, whylen, r, "open '%.*s'", (int)ev->path_len, ev->path);
	}
	if (ev->flags & TORN_F_TRUNCATED && ino->type == FSM_REG &&
	    (r = fsm_truncate(m, ino, 0)) < 0)
		return why_set(why, whylen, r, "open truncating '%.*s'", (int)ev->path_len, ev->path);
	if (ev->handle && (r = fsm_handle_set(m, ev->handle, ino)) < 0)
		return r;
	return 0;
}

/* The inode a data event acts on: its handle's, or for truncate(2) its path's. */
static struct fsm_inode *data_target(struct fsm *m, const struct torn_event *ev, char *why,
				     size_t whylen, int *err)
{
	struct fsm_inode *ino;
	const char *what = trace_type_name(ev->type);
	int r = 0;

	if (ev->handle) {
		ino = fsm_handle(m, ev->handle);
		if (!ino)
			r = why_set(why, whylen, -EBADF, "%s: handle %llu", what,
				    (unsigned long long)ev->handle);
	} else {
		ino = fsm_lookup(m, ev->path, ev->path_len, &r);
		if (!ino)
			why_set(why, whylen, r, "%s '%.*s'", what, (int)ev->path_len, ev->path);
	}
	if (ino && ino->type != FSM_REG) {
		r = why_set(why, whylen, ino->type == FSM_DIR ? -EISDIR : -EINVAL,
			    "%s of a %s", what, ino->type == FSM_DIR ? "directory" : "symlink");
		ino = NULL;
	}
	*err = r;
	return ino;
}

static int apply_uring(struct fsm *m, const struct torn_trace *t, const struct torn_event *ev,
		       char *why, size_t whylen)
{
	/* The map's key 0 means empty, and user_data 0 is common: keys are
	 * user_data + 1 (2^64-1 is liburing's own, never a write's). */
	uint64_t key = ev->aux_seq + 1;
	struct uring_pending *p;
	struct fsm_inode *ino;
	int r;

	if (ev->type == TORN_EV_URING_SUBMIT) {
		/* Only submissions carrying data (writes) change the files. */
		if (!ev->nchunks)
			return 0;
		if (!key)
			return why_set(why, whylen, -EINVAL,
				       "uring write with user_data 2^64-1 (liburing's own)");
		p = map_get(&m->uring, key);
		if (!p && !(p = malloc(sizeof(*p))))
			return -ENOMEM;
		p->handle = ev->handle;
		p->off = (uint64_t)ev->off;
		p->chunks = ev->chunks;
		p->nchunks = ev->nchunks;
		if ((r = map_put(&m->uring, key, p)) < 0) {
			free(p);
			return r;
		}
		return 0;
	}
	/* A completion: the write it completes lands with its result. */
	p = key ? map_get(&m->uring, key) : NULL;
	if (!p)
		return 0;
	map_del(&m->uring, key);
	r = 0;
	if (ev->result > 0) {
		ino = fsm_handle(m, p->handle);
		if (!ino || ino->type != FSM_REG)
			r = why_set(why, whylen, -EBADF, "uring write completion: handle %llu",
				    (unsigned long long)p->handle);
		else if ((r = write_content(m, t, ino, p->off, p->chunks, p->nchunks,
					    (uint64_t)ev->result)) < 0)
			why_set(why, whylen, r, "uring write");
	}
	free(p);
	return r;
}

int fsm_apply(struct fsm *m, const struct torn_trace *t, const struct torn_event *ev,
	      char *why, size_t whylen)
{
	struct fsm_inode *ino;
	int r = 0;

	if (why && whylen)
		why[0] = '\0';
	if (ev->result < 0)
		return 0;                            /* a failed call changes nothing */

	switch (ev->type) {
	case TORN_EV_INIT_DIR:
		if (!ev->path_len) {
			fsm_root(m)->mode = ev->mode & 07777;
			return 0;
		}
		ino = fsm_lookup(m, ev->path, ev->path_len, NULL);
		if (ino && ino->type == FSM_DIR)
			return 0;
		/* fall through */
	case TORN_EV_MKDIR:
		r = fsm_create(m, ev->path, ev->path_len, FSM_DIR, ev->mode ? ev->mode : 0755,
			       NULL, 0, &ino);
		if (r < 0)
			return why_set(why, whylen, r, "mkdir '%.*s'", (int)ev->path_len, ev->path);
		ino->st_ino = ev->ino;
		return 0;
	case TORN_EV_INIT_FILE:
		return put_file(m, t, ev, 0, why, whylen);
	case TORN_EV_IMPORT:
		return put_file(m, t, ev, 1, why, whylen);
	case TORN_EV_INIT_SYMLINK:
	case TORN_EV_SYMLINK:
		r = fsm_create(m, ev->path, ev->path_len, FSM_LNK, 0777, ev->path2, ev->path2_len, NULL);
		if (r < 0)
			return why_set(why, whylen, r, "symlink '%.*s'", (int)ev->path_len, ev->path);
		return 0;
	case TORN_EV_OPEN:
		return apply_open(m, ev, why, whylen);
	case TORN_EV_WRITE:
		if (!(ino = data_target(m, ev, why, whylen, &r)))
			return r;
		r = write_content(m, t, ino, (uint64_t)ev->off, ev->chunks, ev->nchunks,
				  (uint64_t)ev->result);
		return r < 0 ? why_set(why, whylen, r, "write") : 0;
	case TORN_EV_TRUNCATE:
		if (ev->len < 0)
			return why_set(why, whylen, -EINVAL, "truncate to %lld", (long long)ev->len);
		if (!(ino = data_target(m, ev, why, whylen, &r)))
			return r;
		r = fsm_truncate(m, ino, (uint64_t)ev->len);
		return r < 0 ? why_set(why, whylen, r, "truncate") : 0;
	case TORN_EV_FALLOCATE:
		if (ev->off < 0 || ev->len <= 0)
			return why_set(why, whylen, -EINVAL, "fallocate of %lld at %lld",
				       (long long)ev->len, (long long)ev->off);
		if (!(ino = data_target(m, ev, why, whylen, &r)))
			return r;
		r = fsm_fallocate(m, ino, ev->oflags, (uint64_t)ev->off, (uint64_t)ev->len);
		return r < 0 ? why_set(why, whylen, r, "fallocate mode %#x", ev->oflags) : 0;
	case TORN_EV_RENAME:
		r = fsm_rename(m, ev->path, ev->path_len, ev->path2, ev->path2_len, ev->oflags);
		return r < 0 ? why_set(why, whylen, r, "rename '%.*s' -> '%.*s'", (int)ev->path_len,
				       ev->path, (int)ev->path2_len, ev->path2) : 0;
	case TORN_EV_UNLINK:
		r = fsm_unlink(m, ev->path, ev->path_len);
		return r < 0 ? why_set(why, whylen, r, "unlink '%.*s'", (int)ev->path_len, ev->path) : 0;
	case TORN_EV_LINK:
		r = fsm_link(m, ev->path, ev->path_len, ev->path2, ev->path2_len);
		return r < 0 ? why_set(why, whylen, r, "link '%.*s' -> '%.*s'", (int)ev->path_len,
				       ev->path, (int)ev->path2_len, ev->path2) : 0;
	case TORN_EV_RMDIR:
		r = fsm_rmdir(m, ev->path, ev->path_len);
		return r < 0 ? why_set(why, whylen, r, "rmdir '%.*s'", (int)ev->path_len, ev->path) : 0;
	case TORN_EV_URING_SUBMIT:
	case TORN_EV_URING_CQE:
		return apply_uring(m, t, ev, why, whylen);
	default:
		/* Context, processes, syncs, closes, marks, faults and what is seen
		 * but not modelled (mmap, msync, unsupported): no change to the
		 * files' persisted contents. */
		return 0;
	}
}

/* ==========================================================================
 * 6. Walking, hashing, cloning
 * ========================================================================== */

struct walk {
	char  *path;
	size_t len, cap;
	fsm_walk_fn fn;
	void *arg;
};

static int walk_dir(struct walk *w, struct fsm_inode *dir)
{
	for (size_t i = 0; i < dir->nents; i++) {
		struct fsm_dirent *e = &dir->ents[i];
		size_t save = w->len, need = w->len + 1 + e->nlen + 1;
		int r;

		if (need > w->cap) {
			size_t cap = need * 2;
			char *n = realloc(w->path, cap);
			if (!n)
				return -ENOMEM;
			w->path = n;
			w->cap = cap;
		}
		if (w->len)
			w->path[w->len++] = '/';
		memcpy(w->path + w->len, e->name, e->nlen);
		w->len += e->nlen;
		w->path[w->len] = '\0';
		if ((r = w->fn(w->arg, w->path, e->ino)) != 0)
			return r;
		if (e->ino->type == FSM_DIR && (r = walk_dir(w, e->ino)) != 0)
			return r;
		w->len = save;
		w->path[w->len] = '\0';
	}
	return 0;
}

int fsm_walk(const struct fsm *m, fsm_walk_fn fn, void *arg)
{
	struct walk w = { .fn = fn, .arg = arg };
	int r;

	if (!(w.path = calloc(1, 256)))
		return -ENOMEM;
	w.cap = 256;
	r = fn(arg, "", fsm_root(m));
	if (!r)
		r = walk_dir(&w, fsm_root(m));
	free(w.path);
	return r;
}

static int hash_one(void *arg, const char *path, struct fsm_inode *ino)
{
	XXH3_state_t *st = arg;
	uint64_t hdr[3] = { ino->type, ino->mode, ino->size };

	XXH3_128bits_update(st, path, strlen(path) + 1);
	XXH3_128bits_update(st, hdr, sizeof(hdr));
	if (ino->type == FSM_LNK)
		XXH3_128bits_update(st, ino->target, ino->size);
	else if (ino->type == FSM_REG) {
		/* Only pages holding a nonzero byte, with their index: a hole and a
		 * page of zeros hash alike, and a sparse terabyte costs nothing. */
		static const uint8_t zero[FSM_PAGE];
		for (size_t i = 0; i < ino->npages; i++) {
			const struct fsm_page *pg = &ino->pages[i];
			uint64_t at = pg->idx * FSM_PAGE;
			size_t n = ino->size - at < FSM_PAGE ? (size_t)(ino->size - at) : FSM_PAGE;

			if (at >= ino->size)
				break;
			if (!memcmp(pg->data, zero, n))
				continue;
			XXH3_128bits_update(st, &pg->idx, sizeof(pg->idx));
			XXH3_128bits_update(st, pg->data, n);
		}
	}
	return 0;
}

torn_hash fsm_hash(const struct fsm *m)
{
	XXH3_state_t st;
	XXH128_hash_t h;
	torn_hash r;

	XXH3_128bits_reset(&st);
	fsm_walk(m, hash_one, &st);
	h = XXH3_128bits_digest(&st);
	r.lo = h.low64;
	r.hi = h.high64;
	return r;
}

int fsm_clone(const struct fsm *m, struct fsm **out)
{
	struct fsm *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->keep_orphans = m->keep_orphans;
	if (!(c->inodes = calloc(m->icap, sizeof(*c->inodes))))
		goto fail;
	c->icap = m->icap;
	/* Inodes first (same ids), then the pointers between them by id. */
	for (size_t i = 0; i < m->ninodes; i++) {
		const struct fsm_inode *s = m->inodes[i];
		struct fsm_inode *d = calloc(1, sizeof(*d));

		if (!d)
			goto fail;
		c->inodes[c->ninodes++] = d;
		*d = *s;
		d->pages = NULL;
		d->npages = d->pcap = 0;
		d->ents = NULL;
		d->nents = d->ecap = 0;
		d->target = NULL;
		if (s->target && !(d->target = strdup(s->target)))
			goto fail;
		if (s->npages) {
			if (!(d->pages = calloc(s->npages, sizeof(*d->pages))))
				goto fail;
			d->pcap = s->npages;
			for (size_t k = 0; k < s->npages; k++) {
				if (!(d->pages[k].data = malloc(FSM_PAGE)))
					goto fail;
				d->npages++;
				d->pages[k].idx = s->pages[k].idx;
				memcpy(d->pages[k].data, s->pages[k].data, FSM_PAGE);
			}
		}
		if (s->nents) {
			if (!(d->ents = calloc(s->nents, sizeof(*d->ents))))
				goto fail;
			d->ecap = s->nents;
			for (size_t k = 0; k < s->nents; k++) {
				if (!(d->ents[k].name = strdup(s->ents[k].name)))
					goto fail;
				d->nents++;
				d->ents[k].nlen = s->ents[k].nlen;
				d->ents[k].ino = (struct fsm_inode *)(uintptr_t)s->ents[k].ino->id;
			}
		}
	}
	for (size_t i = 0; i < c->ninodes; i++) {
		struct fsm_inode *d = c->inodes[i];

		d->parent = d->parent ? c->inodes[d->parent->id - 1] : NULL;
		for (size_t k = 0; k < d->nents; k++)
			d->ents[k].ino = c->inodes[(uintptr_t)d->ents[k].ino - 1];
	}
	for (size_t i = 0; i < m->handles.cap; i++)
		if (m->handles.keys[i] &&
		    (r = map_put(&c->handles, m->handles.keys[i],
				 c->inodes[((struct fsm_inode *)m->handles.vals[i])->id - 1])) < 0)
			goto fail;
	for (size_t i = 0; i < m->init_ino.cap; i++)
		if (m->init_ino.keys[i] &&
		    (r = map_put(&c->init_ino, m->init_ino.keys[i],
				 c->inodes[((struct fsm_inode *)m->init_ino.vals[i])->id - 1])) < 0)
			goto fail;
	for (size_t i = 0; i < m->tmp_ino.cap; i++)
		if (m->tmp_ino.keys[i] &&
		    (r = map_put(&c->tmp_ino, m->tmp_ino.keys[i],
				 c->inodes[((struct fsm_inode *)m->tmp_ino.vals[i])->id - 1])) < 0)
			goto fail;
	for (size_t i = 0; i < m->uring.cap; i++) {
		struct uring_pending *p;

		if (!m->uring.keys[i])
			continue;
		if (!(p = malloc(sizeof(*p))))
			goto fail;
		*p = *(struct uring_pending *)m->uring.vals[i];
		if ((r = map_put(&c->uring, m->uring.keys[i], p)) < 0) {
			free(p);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	/* Half-built: entry pointers may still hold ids; free without following them. */
	for (size_t i = 0; i < c->ninodes; i++)
		if (c->inodes[i])
			c->inodes[i]->parent = NULL;
	fsm_free(c);
	return r < 0 ? r : -ENOMEM;
}

/* ==========================================================================
 * 7. Writing the tree out
 * ========================================================================== */

struct out {
	int     rootfd;               /* the output directory */
	char  **first;                /* by inode id - 1: path of its first name, for links */
	char   *path;                 /* current path relative to the output */
	size_t  len, cap;
	char   *why;
	size_t  whylen;
};

static int out_file(struct out *o, int dirfd, const char *name, const struct fsm_inode *ino)
{
	int fd = -1, r = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < ino->npages && !r; i++) {
		uint64_t at = ino->pages[i].idx * FSM_PAGE;
		if (at >= ino->size)
			break;
		r = trace_pwrite_all(fd, ino->pages[i].data,
				  ino->size - at < FSM_PAGE ? (size_t)(ino->size - at) : FSM_PAGE,
				  (off_t)at);
	}
	/* The size sets any hole at the end; holes between pages stay holes. */
	if (!r && ftruncate(fd, (off_t)ino->size) < 0)
		r = -errno;
	if (!r && fchmod(fd, (ino->mode & 07777) | 0600) < 0)
		r = -errno;
	/* No fsync: the output is a scratch copy for a checker, not a durable
	 * artefact; a power loss while it is being built loses nothing. */
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

static int out_dir(struct out *o, int dirfd, const struct fsm_inode *dir)
{
	for (size_t i = 0; i < dir->nents; i++) {
		const struct fsm_dirent *e = &dir->ents[i];
		const struct fsm_inode *ino = e->ino;
		size_t save = o->len, need = o->len + 1 + e->nlen + 1;
		int r = 0, fd = -1;

		if (need > o->cap) {
			char *n = realloc(o->path, need * 2);
			if (!n)
				return -ENOMEM;
			o->path = n;
			o->cap = need * 2;
		}
		if (o->len)
			o->path[o->len++] = '/';
		memcpy(o->path + o->len, e->name, e->nlen);
		o->len += e->nlen;
		o->path[o->len] = '\0';

		switch (ino->type) {
		case FSM_DIR:
			if (mkdirat(dirfd, e->name, 0700) < 0) {
				r = -errno;
				break;
			}
			fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				r = -errno;
				break;
			}
			r = out_dir(o, fd, ino);
			if (r < 0) {
				close(fd);
				return r;            /* message already set deeper */
			}
			/* The mode last, so a read-only directory can still be filled. */
			if (fchmod(fd, (ino->mode & 07777) | 0700) < 0)
				r = -errno;
			close(fd);
			break;
		case FSM_REG:
			if (o->first[ino->id - 1]) {
				/* A second name of one inode: a hard link, as recorded. */
				if (linkat(o->rootfd, o->first[ino->id - 1], dirfd, e->name, 0) < 0)
					r = -errno;
				break;
			}
			if ((r = out_file(o, dirfd, e->name, ino)) == 0 &&
			    !(o->first[ino->id - 1] = strdup(o->path)))
				r = -ENOMEM;
			break;
		case FSM_LNK:
			if (symlinkat(ino->target, dirfd, e->name) < 0)
				r = -errno;
			break;
		}
		if (r < 0)
			return why_set(o->why, o->whylen, r, "writing '%s'", o->path);
		o->len = save;
		o->path[o->len] = '\0';
	}
	return 0;
}

int fsm_write_out(const struct fsm *m, const char *dir, char *why, size_t whylen)
{
	struct out o = { .rootfd = -1, .why = why, .whylen = whylen };
	int r;

	if (why && whylen)
		why[0] = '\0';
	o.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (o.rootfd < 0) {
		r = -errno;
		why_set(why, whylen, r, "%s", dir);
		goto out;
	}
	o.first = calloc(m->ninodes, sizeof(*o.first));
	o.path = calloc(1, 256);
	o.cap = 256;
	if (!o.first || !o.path) {
		r = -ENOMEM;
		goto out;
	}
	r = out_dir(&o, o.rootfd, fsm_root(m));
out:
	if (o.first)
		for (size_t i = 0; i < m->ninodes; i++)
			free(o.first[i]);
	free(o.first);
	free(o.path);
	if (o.rootfd >= 0)
		close(o.rootfd);
	return r;
}

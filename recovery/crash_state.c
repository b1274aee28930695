/*
 * recovery/crash_state.c - one crash state: its image, hash, files, marks
 * and explanation.
 *
 * Sections:
 *   1. Allocation and accessors
 *   2. Building the image: the units with seq < P, in trace order, each
 *      applied (durable, or pending and kept), skipped (lost, or dropped) or
 *      applied as zeros / garbage.  States from the enumeration start from
 *      a base image of the settled prefix of the trace and share its bytes
 *      until they change a file (copy on write)
 *   3. Walking the image: sorted entries, the hash
 *   4. Writing it into a directory (openat + O_NOFOLLOW, never a path from
 *      the trace resolved through the file system; hard links kept)
 *   5. Marks
 *   6. Explain: each deviation and each file that differs from the
 *      reference state at the same crash point
 *   7. Sector maps (torn report): per file a deviation touches, what each
 *      sector holds
 *
 * Sizes (design.md): an extending write's size unit sets size = max(size,
 * end of the write); a truncate sets the size and cuts the bytes beyond
 * min(old size, new size); data units beyond the final size are cut, and a
 * size reaching past the bytes that persisted reads as zeros.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "crash_int.h"
#include "trace_io.h"

/* ==========================================================================
 * 1. Allocation and accessors
 * ========================================================================== */

int crash_state_alloc(struct crash_space *s, struct crash_state **out)
{
	struct crash_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->s = s;
	st->nino = s->nino;
	st->files = calloc(s->nino ? s->nino : 1, sizeof(*st->files));
	st->dirs = calloc(s->nino ? s->nino : 1, sizeof(*st->dirs));
	st->seen = calloc(s->nino ? s->nino : 1, sizeof(*st->seen));
	if (!st->files || !st->dirs || !st->seen || crash_state_set(st, s->first_point, NULL, 0) < 0) {
		crash_state_free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

void crash_state_free(struct crash_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nino; i++) {
		if (st->files) {
			free(st->files[i].buf);
			free(st->files[i].psig);
			free(st->files[i].hc);
		}
		if (st->dirs)
			free(st->dirs[i].e);
	}
	free(st->files);
	free(st->dirs);
	free(st->seen);
	free(st->devs);
	free(st->id);
	free(st);
}

const char *crash_state_id(const struct crash_state *st) { return st->id; }
uint64_t crash_state_point(const struct crash_state *st) { return st->point; }

const struct crash_dev *crash_state_devs(const struct crash_state *st, size_t *n)
{
	*n = st->ndevs;
	return st->devs;
}

/* ==========================================================================
 * 2. Building
 * ========================================================================== */

static int file_reserve(struct st_file *f, uint64_t end)
{
	uint64_t cap;
	uint8_t *b;

	if (end <= f->cap)
		return 0;
	cap = f->cap ? f->cap : 4096;
	while (cap < end)
		cap *= 2;
	b = realloc(f->buf, cap);
	if (!b)
		return -ENOMEM;
	f->buf = b;
	f->cap = cap;
	return 0;
}

/* The bytes of a file, its own or shared with the base state. */
static const uint8_t *fdata(const struct st_file *f)
{
	return f->ro ? f->ro : f->buf;
}

/* Make the bytes of @f its own before changing them. */
static int file_own(struct st_file *f)
{
	const uint8_t *ro = f->ro;

	if (!ro)
		return 0;
	f->ro = NULL;
	if (!f->dlen)
		return 0;
	if (file_reserve(f, f->dlen) < 0)
		return -ENOMEM;
	memcpy(f->buf, ro, f->dlen);
	return 0;
}

/* Bytes that are neither old nor new: an XXH3 stream keyed by (seq, unit)
 * only, so the same id gives the same bytes on any machine. */
static void garbage(uint8_t *dst, uint64_t len, uint64_t seq, int64_t unit)
{
	uint64_t key[2] = { seq, (uint64_t)unit }, i, k;
	uint64_t sd = XXH3_64bits_withSeed(key, sizeof(key), 0x67617262616765ull);

	for (i = 0; i < len; i += 8) {
		uint64_t ctr = i / 8, v = XXH3_64bits_withSeed(&ctr, sizeof(ctr), sd);
		for (k = 0; k < 8 && i + k < len; k++)
			dst[i + k] = (uint8_t)(v >> (8 * k));
	}
}

static int apply_data(struct crash_state *st, const struct cu *u, char kind)
{
	const struct crash_space *s = st->s;
	struct st_file *f = &st->files[u->ino];
	const struct torn_event *ev = &s->evs[u->ev];
	uint64_t end = u->off + u->len;
	int r = file_own(f);

	if (!r)
		r = file_reserve(f, end);
	if (r < 0)
		return r;
	if (u->off > f->dlen)
		memset(f->buf + f->dlen, 0, u->off - f->dlen);
	if (kind == 'z')
		memset(f->buf + u->off, 0, u->len);
	else if (kind == 'g')
		garbage(f->buf + u->off, u->len, u->seq, u->unit);
	else if ((r = trace_content(s->t, ev, u->off - (uint64_t)ev->off, f->buf + u->off, u->len)) < 0)
		return r;
	if (end > f->dlen)
		f->dlen = end;
	return 0;
}

static void apply_ns(struct crash_state *st, const struct cu *u)
{
	switch (u->op) {
	case NS_CREATE:
	case NS_MKDIR:
	case NS_SYMLINK:
		ns_set(&st->dirs[u->dir], u->name, u->nlen, u->ino);
		break;
	case NS_LINK:
		ns_set(&st->dirs[u->dir], u->name2, u->nlen2, u->ino);
		break;
	case NS_UNLINK:
	case NS_RMDIR:
		ns_del(&st->dirs[u->dir], u->name, u->nlen, u->ino);
		break;
	case NS_RENAME:
		ns_del(&st->dirs[u->dir], u->name, u->nlen, u->ino);
		ns_set(&st->dirs[u->dir2], u->name2, u->nlen2, u->ino);
		break;
	case NS_EXCHANGE:
		ns_set(&st->dirs[u->dir], u->name, u->nlen, u->ino2);
		ns_set(&st->dirs[u->dir2], u->name2, u->nlen2, u->ino);
		break;
	}
}

/* splitmix64's finaliser (as crash_applied.c): the value of applying unit
 * @idx in way @how (0 as issued, 1 zeros, 2 garbage). */
static uint64_t unit_sig(size_t idx, unsigned how)
{
	uint64_t x = ((uint64_t)idx * 4 + how) ^ 0x452821e638d01377ull;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Add @v to the signatures of the pages [off, off + len) touches. */
static int psig_add(struct st_file *f, uint64_t off, uint64_t len, uint64_t v)
{
	size_t first = (size_t)(off >> CRASH_PAGE_SHIFT);
	size_t last = (size_t)((off + len - 1) >> CRASH_PAGE_SHIFT);

	if (!len)
		return 0;
	if (last >= f->pscap) {
		size_t cap = f->pscap ? f->pscap : 64;
		uint64_t *n;

		while (cap <= last)
			cap *= 2;
		n = realloc(f->psig, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		f->psig = n;
		f->pscap = cap;
	}
	if (last >= f->npsig) {
		memset(f->psig + f->npsig, 0, (last + 1 - f->npsig) * sizeof(*f->psig));
		f->npsig = last + 1;
	}
	for (size_t k = first; k <= last; k++)
		f->psig[k] += v;
	return 0;
}

static int apply(struct crash_state *st, const struct cu *u, char kind)
{
	struct st_file *f = &st->files[u->ino];
	size_t idx = (size_t)(u - st->s->units);
	int r;

	if (u->kind == CU_DATA)
		r = psig_add(f, u->off, u->len, unit_sig(idx, kind == 'z' ? 1 : kind == 'g' ? 2 : 0));
	else if (u->kind == CU_INIT || u->kind == CU_TRUNC || u->kind == CU_FALLOC)
		r = (f->fsig += unit_sig(idx, 0), 0);
	else
		r = 0;
	if (r < 0)
		return r;
	switch (u->kind) {
	case CU_INIT:
		f->ro = NULL;   /* replaced whole */
		r = file_reserve(f, u->len);
		if (r < 0)
			return r;
		if (u->len && (r = trace_content(st->s->t, &st->s->evs[u->ev], 0, f->buf, u->len)) < 0)
			return r;
		f->dlen = u->len;
		f->size = u->len;
		return 0;
	case CU_DATA:
		return apply_data(st, u, kind);
	case CU_SIZE:
		if (u->off > f->size)
			f->size = u->off;
		return 0;
	case CU_TRUNC: {
		uint64_t cut = u->len < f->size ? u->len : f->size;
		if (f->dlen > cut)
			f->dlen = cut;
		f->size = u->len;
		return 0;
	}
	case CU_FALLOC:
		if (u->len && u->off < f->dlen) {
			uint64_t e = u->off + u->len < f->dlen ? u->off + u->len : f->dlen;

			if (file_own(f) < 0)
				return -ENOMEM;
			memset(f->buf + u->off, 0, e - u->off);
		}
		if (u->newsize > f->size)
			f->size = u->newsize;
		return 0;
	case CU_NS:
		apply_ns(st, u);
		return 0;
	}
	return 0;
}

int crash_base_advance(struct crash_state *b, uint64_t cutoff)
{
	const struct crash_space *s = b->s;
	int r;

	for (; b->upto < s->nunits && s->units[b->upto].seq < cutoff; b->upto++) {
		const struct cu *u = &s->units[b->upto];

		if (u->fate == CU_LOST)
			continue;
		r = apply(b, u, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Start @st from the image of @b (units [0, b->upto) applied). */
static int copy_base(struct crash_state *st, const struct crash_state *b)
{
	size_t i;

	for (i = 0; i < st->nino; i++) {
		struct st_file *f = &st->files[i];
		const struct st_file *bf = &b->files[i];
		struct ns_dir *d = &st->dirs[i];
		const struct ns_dir *bd = &b->dirs[i];

		f->ro = bf->dlen ? bf->buf : NULL;
		f->dlen = bf->dlen;
		f->size = bf->size;
		f->fsig = bf->fsig;
		if (bf->npsig > f->pscap) {
			uint64_t *p = realloc(f->psig, bf->npsig * sizeof(*p));
			if (!p)
				return -ENOMEM;
			f->psig = p;
			f->pscap = bf->npsig;
		}
		if (bf->npsig)
			memcpy(f->psig, bf->psig, bf->npsig * sizeof(*f->psig));
		f->npsig = bf->npsig;
		if (bd->n > d->cap) {
			struct ns_ent *e = realloc(d->e, bd->n * sizeof(*e));
			if (!e)
				return -ENOMEM;
			d->e = e;
			d->cap = bd->n;
		}
		if (bd->n)
			memcpy(d->e, bd->e, bd->n * sizeof(*d->e));
		d->n = bd->n;
	}
	return 0;
}

int crash_state_build(struct crash_state *st)
{
	const struct crash_space *s = st->s;
	uint64_t p = st->point;
	size_t i = 0, d = 0;
	int r;

	if (st->built)
		return 0;
	if (st->base) {
		r = copy_base(st, st->base);
		if (r < 0)
			return r;
		i = st->base->upto;
	} else {
		for (i = 0; i < st->nino; i++) {
			st->files[i].dlen = st->files[i].size = 0;
			st->files[i].ro = NULL;
			st->files[i].npsig = 0;
			st->files[i].fsig = 0;
			st->dirs[i].n = 0;
		}
		i = 0;
	}
	for (; i < s->nunits && s->units[i].seq < p; i++) {
		const struct cu *u = &s->units[i];
		char kind = 0;

		if (u->fate != CU_OPEN && u->end < p) {
			if (u->fate == CU_LOST)
				continue;
		} else {
			/* Pending: devs and units share one order. */
			while (d < st->ndevs && (st->devs[d].seq < u->seq ||
			       (st->devs[d].seq == u->seq && st->devs[d].unit < u->unit)))
				d++;
			if (d < st->ndevs && st->devs[d].seq == u->seq && st->devs[d].unit == u->unit)
				kind = st->devs[d].kind;
		}
		if (kind == 'd')
			continue;
		r = apply(st, u, kind);
		if (r < 0)
			return r;
	}
	st->built = 1;
	return 0;
}

/* ==========================================================================
 * 3. Walking the image, hashing
 * ========================================================================== */

/* Entries of directory @ino in name order (a malloc'd copy). */
static struct ns_ent *sorted_entries(const struct crash_state *st, uint32_t ino, uint32_t *n);

static int ent_cmp(const void *pa, const void *pb)
{
	const struct ns_ent *a = pa, *b = pb;
	uint32_t m = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->name, b->name, m);

	return c ? c : (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

static struct ns_ent *sorted_entries(const struct crash_state *st, uint32_t ino, uint32_t *n)
{
	const struct ns_dir *d = &st->dirs[ino];
	struct ns_ent *e;

	*n = d->n;
	e = malloc((d->n ? d->n : 1) * sizeof(*e));
	if (!e)
		return NULL;
	if (d->n) {
		memcpy(e, d->e, d->n * sizeof(*e));
		qsort(e, d->n, sizeof(*e), ent_cmp);
	}
	return e;
}

/* The bytes of a file as it reads back: [0, min(dlen, size)) then zeros. */
static uint64_t file_known(const struct st_file *f)
{
	return f->dlen < f->size ? f->dlen : f->size;
}

/* Visitor of the tree: called per entry with its path (NUL-terminated). */
typedef int (*walk_fn)(void *arg, const char *path, uint32_t ino);

static int walk(struct crash_state *st, uint32_t dir, char *path, size_t plen, walk_fn fn, void *arg)
{
	struct ns_ent *e;
	uint32_t n, i;
	int r = 0;

	st->seen[dir] = st->stamp;
	e = sorted_entries(st, dir, &n);
	if (!e)
		return -ENOMEM;
	for (i = 0; i < n && !r; i++) {
		size_t l = plen + (plen ? 1 : 0) + e[i].nlen;
		uint32_t ino = e[i].ino;

		if (l >= TORN_PATH_MAX + 1)
			continue;
		if (plen)
			path[plen] = '/';
		memcpy(path + plen + (plen ? 1 : 0), e[i].name, e[i].nlen);
		path[l] = 0;
		r = fn(arg, path, ino);
		/* A subset of renames can hang a directory under itself: such a
		 * cycle is unreachable on a real disk too, so it is cut here. */
		if (!r && st->s->inos[ino].type == CI_DIR && st->seen[ino] != st->stamp)
			r = walk(st, ino, path, l, fn, arg);
		path[plen] = 0;
	}
	free(e);
	return r;
}

static int walk_all(struct crash_state *st, walk_fn fn, void *arg)
{
	char *path = malloc(TORN_PATH_MAX + 2);
	int r;

	if (!path)
		return -ENOMEM;
	path[0] = 0;
	r = crash_state_build(st);
	if (!r) {
		st->stamp++;
		r = walk(st, 0, path, 0, fn, arg);
	}
	free(path);
	return r;
}

static int hash_one(void *arg, const char *path, uint32_t ino)
{
	struct crash_state *st = ((void **)arg)[0];
	XXH3_state_t *h = ((void **)arg)[1];
	const struct cino *c = &st->s->inos[ino];
	uint8_t hdr[9];
	uint64_t size = 0;
	int k;

	if (c->type == CI_FILE)
		size = st->files[ino].size;
	else if (c->type == CI_SYMLINK)
		size = c->tlen;
	hdr[0] = c->type == CI_FILE ? 'f' : c->type == CI_DIR ? 'd' : 'l';
	for (k = 0; k < 8; k++)
		hdr[1 + k] = (uint8_t)(size >> (8 * k));
	XXH3_128bits_update(h, path, strlen(path) + 1);
	XXH3_128bits_update(h, hdr, sizeof(hdr));
	if (c->type == CI_FILE) {
		struct st_file *f = &st->files[ino];
		const uint8_t *d = fdata(f);
		uint64_t known = file_known(f);
		size_t np;

		/* The size is hashed above, so the bytes up to the last nonzero
		 * one say it all: a sparse tail (a truncate or write far out,
		 * up to 2^63) costs nothing, and equal contents hash equal
		 * whether their zeros are stored or implied. */
		while (known && !d[known - 1])
			known--;
		/* Those bytes go in as the XXH3-128 of each page: a page whose
		 * signature and length are those of the last state hashed
		 * holds the same bytes, and is not read again (a prefix state
		 * adds a write or two to the one before it). */
		np = (size_t)((known + CRASH_PAGE - 1) >> CRASH_PAGE_SHIFT);
		if (f->hc_fsig != f->fsig) {
			f->nhc = 0;
			f->hc_fsig = f->fsig;
		}
		if (np > f->hccap) {
			struct page_hash *n = realloc(f->hc, np * sizeof(*n));

			if (!n)
				return -ENOMEM;
			f->hc = n;
			f->hccap = np;
		}
		for (size_t p = 0; p < np; p++) {
			struct page_hash *e = &f->hc[p];
			uint64_t o = (uint64_t)p << CRASH_PAGE_SHIFT;
			uint64_t len = known - o < CRASH_PAGE ? known - o : CRASH_PAGE;
			uint64_t sig = p < f->npsig ? f->psig[p] : 0;

			if (p >= f->nhc || e->sig != sig || e->len != len) {
				XXH128_hash_t v = XXH3_128bits(d + o, (size_t)len);

				e->sig = sig;
				e->len = len;
				e->lo = v.low64;
				e->hi = v.high64;
			}
			XXH3_128bits_update(h, &e->lo, 2 * sizeof(uint64_t));
		}
		if (np > f->nhc)
			f->nhc = np;
	} else if (c->type == CI_SYMLINK) {
		XXH3_128bits_update(h, c->target, c->tlen);
	}
	return 0;
}

torn_hash crash_state_hash(struct crash_state *st)
{
	XXH3_state_t *h;
	XXH128_hash_t v;
	void *arg[2];
	torn_hash out = { 0, 0 };

	if (st->have_hash)
		return st->hash;
	h = XXH3_createState();
	if (!h)
		return out;
	XXH3_128bits_reset(h);
	arg[0] = st;
	arg[1] = h;
	if (walk_all(st, hash_one, arg) == 0) {
		v = XXH3_128bits_digest(h);
		out.lo = v.low64;
		out.hi = v.high64;
		st->hash = out;
		st->have_hash = 1;
	}
	XXH3_freeState(h);
	return out;
}

/* ==========================================================================
 * 4. Writing
 * ========================================================================== */

/* Hard links: a file with several names is written once and linked to
 * from its other names (through /proc/self/fd, which needs no privilege;
 * a copy when that fails).  lfd[ino] is the open file once written. */
struct wctx {
	struct crash_state *st;
	uint32_t *names;      /* entries naming each inode, over all directories */
	int *lfd;
};

static int write_file(struct wctx *w, uint32_t ino, int dfd, const char *name)
{
	const struct st_file *f = &w->st->files[ino];
	const struct cino *c = &w->st->s->inos[ino];
	int fd, r = 0;

	if (w->lfd && w->lfd[ino] >= 0) {
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", w->lfd[ino]);
		if (linkat(AT_FDCWD, p, dfd, name, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EEXIST)
			return -EEXIST;
	}
	/* O_EXCL + O_NOFOLLOW: never write through anything already there. */
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    (c->mode & 07777) | 0600);
	if (fd < 0)
		return -errno;
	r = trace_write_all(fd, fdata(f), (size_t)file_known(f));
	if (!r && f->size > file_known(f) && ftruncate(fd, (off_t)f->size) < 0)
		r = -errno;
	if (!r && w->lfd && w->names[ino] > 1 && w->lfd[ino] < 0) {
		w->lfd[ino] = fd;   /* kept for the other names */
		return 0;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

/* Write directory @dir of the state into the open directory @dfd. */
static int write_dir(struct wctx *w, uint32_t dir, int dfd)
{
	struct crash_state *st = w->st;
	char name[TORN_PATH_MAX + 1];
	struct ns_dir *d = &st->dirs[dir];
	uint32_t i;
	int r = 0;

	st->seen[dir] = st->stamp;
	for (i = 0; i < d->n && !r; i++) {
		uint32_t ino = d->e[i].ino;
		const struct cino *c = &st->s->inos[ino];
		int fd = -1;

		memcpy(name, d->e[i].name, d->e[i].nlen);
		name[d->e[i].nlen] = 0;
		if (c->type == CI_FILE) {
			r = write_file(w, ino, dfd, name);
		} else if (c->type == CI_SYMLINK) {
			char target[TORN_PATH_MAX + 1];
			uint32_t tl = c->tlen < TORN_PATH_MAX ? c->tlen : TORN_PATH_MAX;

			memcpy(target, c->target, tl);
			target[tl] = 0;
			if (symlinkat(target, dfd, name) < 0)
				r = -errno;
		} else if (st->seen[ino] != st->stamp) {
			if (mkdirat(dfd, name, (c->mode & 07777) | 0700) < 0)
				r = -errno;
			if (!r && (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				r = -errno;
			if (!r)
				r = write_dir(w, ino, fd);
		}
		if (fd >= 0 && close(fd) < 0 && !r)
			r = -errno;
	}
	return r;
}

int crash_state_write(struct crash_state *st, const char *dir)
{
	struct wctx w = { st, NULL, NULL };
	int dfd = -1, r, multi = 0;
	size_t i, j;

	r = crash_state_build(st);
	if (r < 0)
		return r;
	/* The state is scratch for a checker: nothing here needs to survive a
	 * crash of torn itself, so nothing is fsynced. */
	w.names = calloc(st->nino ? st->nino : 1, sizeof(*w.names));
	if (!w.names)
		return -ENOMEM;
	for (i = 0; i < st->nino; i++)
		for (j = 0; j < st->dirs[i].n; j++)
			if (++w.names[st->dirs[i].e[j].ino] > 1)
				multi = 1;
	if (multi) {
		w.lfd = malloc(st->nino * sizeof(*w.lfd));
		if (!w.lfd) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; i < st->nino; i++)
			w.lfd[i] = -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto out;
	}
	st->stamp++;
	r = write_dir(&w, 0, dfd);
	if (close(dfd) < 0 && !r)
		r = -errno;
out:
	for (i = 0; w.lfd && i < st->nino; i++)
		if (w.lfd[i] >= 0)
			close(w.lfd[i]);
	free(w.lfd);
	free(w.names);
	return r;
}

/* ---- Rewriting a directory a previous state was written into ----
 *
 * The explorer reuses a passed state's directory for the next state:
 * a file already there is overwritten in place (its pages are reused:
 * cheaper than freeing them and allocating new ones, and no unlink and
 * create), the rest is removed or created.  The directory was the
 * checker's to change, so nothing is assumed about it: every entry is
 * looked at (lstat), and one that is not a plain file or directory of
 * ours with a single link is removed and written anew.  The result is
 * what crash_state_write makes in an empty directory: names, types,
 * contents, sizes and permission bits (extended attributes and inode
 * flags a checker might set are not looked at). */

/* The permission bits a file created with @mode gets (the umask applied),
 * or -1 when the umask is unknown. */
static int created_mode(uint32_t mode)
{
	static int mask = -2;

	if (mask == -2) {
		/* umask() cannot be read without being set, and another thread
		 * may be starting a checker: read it from /proc. */
		FILE *f = fopen("/proc/self/status", "re");
		char line[128];
		unsigned m;

		mask = -1;
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Umask: %o", &m) == 1) {
				mask = (int)(m & 0777);
				break;
			}
		if (f)
			fclose(f);
	}
	return mask < 0 ? -1 : (int)(mode & ~(uint32_t)mask & 07777);
}

/* Remove @name under @dfd, a directory tree or not (no symlink followed). */
static int rm_at(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0700);  /* a checker may have taken write permission away */
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (!r && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = rm_at(dirfd(d), de->d_name);
	closedir(d);
	if (!r && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* Overwrite the regular file @name (lstat @sb) with the state's file @ino:
 * 1 done, 0 not possible in place (the caller removes and creates it). */
static int rewrite_file(struct wctx *w, uint32_t ino, int dfd, const char *name,
			const struct stat *sb)
{
	const struct st_file *f = &w->st->files[ino];
	int want = created_mode((w->st->s->inos[ino].mode & 07777) | 0600), fd, r = 0;
	uint64_t known = file_known(f);

	if (!S_ISREG(sb->st_mode) || sb->st_nlink != 1 || sb->st_uid != geteuid() ||
	    sb->st_gid != getegid() || want < 0)
		return 0;
	fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if ((sb->st_mode & 07777) != (unsigned)want && fchmod(fd, (mode_t)want) < 0)
		r = -errno;
	/* Cut first: beyond the known bytes the file reads as zeros. */
	if (!r && (uint64_t)sb->st_size > known && ftruncate(fd, (off_t)known) < 0)
		r = -errno;
	for (uint64_t off = 0; !r && off < known;) {
		uint64_t n = known - off > (1u << 30) ? (1u << 30) : known - off;
		ssize_t k = pwrite(fd, fdata(f) + off, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			r = k < 0 ? -errno : -EIO;
		else
			off += (uint64_t)k;
	}
	if (!r && f->size > known && ftruncate(fd, (off_t)f->size) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	return r < 0 ? r : 1;
}

static int rewrite_dir(struct wctx *w, uint32_t dir, int dfd);

/* The entry @e of the state over what lstat found there (@sb, or NULL:
 * nothing): in place when possible, else removed and created. */
static int rewrite_ent(struct wctx *w, const struct ns_ent *e, int dfd, const char *name,
		       const struct stat *sb)
{
	struct crash_state *st = w->st;
	const struct cino *c = &st->s->inos[e->ino];
	int r, fd;

	if (sb && c->type == CI_FILE) {
		r = rewrite_file(w, e->ino, dfd, name, sb);
		if (r)
			return r < 0 ? r : 0;
	} else if (sb && c->type == CI_DIR && st->seen[e->ino] != st->stamp && S_ISDIR(sb->st_mode) &&
		   sb->st_uid == geteuid() && sb->st_gid == getegid()) {
		int want = created_mode((c->mode & 07777) | 0700);

		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && want >= 0) {
			r = 0;
			if ((sb->st_mode & 07777) != (unsigned)want && fchmod(fd, (mode_t)want) < 0)
				r = -errno;
			if (!r)
				r = rewrite_dir(w, e->ino, fd);
			close(fd);
			return r;
		}
		if (fd >= 0)
			close(fd);
	}
	if (sb && (r = rm_at(dfd, name)) < 0)
		return r;
	/* Created as crash_state_write does. */
	if (c->type == CI_FILE)
		return write_file(w, e->ino, dfd, name);
	if (c->type == CI_SYMLINK) {
		char target[TORN_PATH_MAX + 1];
		uint32_t tl = c->tlen < TORN_PATH_MAX ? c->tlen : TORN_PATH_MAX;

		memcpy(target, c->target, tl);
		target[tl] = 0;
		return symlinkat(target, dfd, name) < 0 ? -errno : 0;
	}
	if (st->seen[e->ino] == st->stamp)
		return 0;   /* a cycle, cut as write_dir does */
	if (mkdirat(dfd, name, (c->mode & 07777) | 0700) < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_dir(w, e->ino, fd);
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

static int rewrite_dir(struct wctx *w, uint32_t dir, int dfd)
{
	struct crash_state *st = w->st;
	char name[TORN_PATH_MAX + 1];
	struct ns_ent *e = NULL;
	uint8_t *done = NULL;
	struct dirent *de;
	DIR *d = NULL;
	uint32_t n, i;
	int fd = -1, r = 0;

	st->seen[dir] = st->stamp;
	e = sorted_entries(st, dir, &n);
	done = calloc(n ? n : 1, 1);
	if (!e || !done) {
		r = -ENOMEM;
		goto out;
	}
	if ((fd = dup(dfd)) < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	/* What is there: rewritten, or removed when the state has no such name. */
	while (!r && (errno = 0, de = readdir(d))) {
		struct ns_ent key = { de->d_name, (uint32_t)strlen(de->d_name), 0 };
		struct ns_ent *hit;
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		hit = n ? bsearch(&key, e, n, sizeof(*e), ent_cmp) : NULL;
		if (!hit) {
			r = rm_at(dfd, de->d_name);
			continue;
		}
		/* An entry replaced during this loop may be listed again. */
		if (done[hit - e])
			continue;
		done[hit - e] = 1;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			r = errno == ENOENT ? rewrite_ent(w, hit, dfd, de->d_name, NULL) : -errno;
		else
			r = rewrite_ent(w, hit, dfd, de->d_name, &sb);
	}
	if (!r && errno)
		r = -errno;
	/* What is missing: created. */
	for (i = 0; i < n && !r; i++) {
		if (done[i])
			continue;
		memcpy(name, e[i].name, e[i].nlen);
		name[e[i].nlen] = 0;
		r = rewrite_ent(w, &e[i], dfd, name, NULL);
	}
out:
	if (d)
		closedir(d);
	free(done);
	free(e);
	return r;
}

int crash_state_rewrite(struct crash_state *st, const char *dir, unsigned mode)
{
	struct wctx w = { st, NULL, NULL };
	int dfd = -1, r, want = created_mode(mode);
	struct stat sb;
	size_t i, j;

	r = crash_state_build(st);
	if (r < 0)
		return r;
	/* Hard links: written fresh (crash_state_write), into an emptied dir. */
	w.names = calloc(st->nino ? st->nino : 1, sizeof(*w.names));
	if (!w.names)
		return -ENOMEM;
	for (i = 0; i < st->nino; i++)
		for (j = 0; j < st->dirs[i].n; j++)
			if (++w.names[st->dirs[i].e[j].ino] > 1) {
				free(w.names);
				return -EMLINK;
			}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	/* The directory itself as mkdir(dir, @mode) made it. */
	if (want < 0 || sb.st_uid != geteuid() || sb.st_gid != getegid()) {
		r = -EPERM;
		goto out;
	}
	if ((sb.st_mode & 07777) != (unsigned)want && fchmod(dfd, (mode_t)want) < 0) {
		r = -errno;
		goto out;
	}
	st->stamp++;
	r = rewrite_dir(&w, 0, dfd);
out:
	if (dfd >= 0 && close(dfd) < 0 && !r)
		r = -errno;
	free(w.names);
	return r;
}

/* ---- Writing over the previous state, page by page ----
 *
 * When nothing but torn has touched a directory since it wrote state A
 * there (the caller knows: explore.c watches it with inotify), state B is
 * written by changing only what can differ: the same tree (same paths,
 * same inodes, same types) is required, and per file the pages whose
 * signature (crash_int.h, st_file.psig) or held length differs, a cut when
 * B holds fewer bytes, the size.  A prefix run's states differ from the
 * previous one in a few sectors, so this writes kilobytes where a rewrite
 * wrote the whole file (a megabyte in bench/explore.sh), without a lookup
 * of every entry.  Anything else (-EXDEV) is for crash_state_rewrite. */

struct snap_ent {
	char    *path;         /* relative to the state directory */
	uint32_t ino;
	uint8_t  type;
	uint64_t known, size, fsig;
	uint64_t *psig;        /* pages [0, npsig) of the held bytes */
	size_t   npsig, pscap;
};

struct crash_snap {
	int valid;
	struct snap_ent *e;
	size_t n, cap;
	/* crash_snap_take's walk */
	struct crash_state *st;
	size_t at;
	int bad;
};

struct crash_snap *crash_snap_new(void)
{
	return calloc(1, sizeof(struct crash_snap));
}

static void snap_clear(struct crash_snap *sn)
{
	for (size_t i = 0; i < sn->n; i++) {
		free(sn->e[i].path);
		sn->e[i].path = NULL;
	}
	sn->n = 0;
	sn->valid = 0;
}

void crash_snap_free(struct crash_snap *sn)
{
	if (!sn)
		return;
	snap_clear(sn);
	for (size_t i = 0; i < sn->cap; i++)
		free(sn->e[i].psig);
	free(sn->e);
	free(sn);
}

void crash_snap_invalidate(struct crash_snap *sn)
{
	if (sn)
		sn->valid = 0;
}

size_t crash_snap_paths(const struct crash_snap *sn, const char **paths, size_t max)
{
	size_t i;

	if (!sn->valid)
		return 0;
	for (i = 0; i < sn->n && i < max; i++)
		paths[i] = sn->e[i].path;
	return sn->n;
}

/* Copy what the state holds of file @ino into @e. */
static int snap_file(struct snap_ent *e, const struct st_file *f)
{
	size_t np = (size_t)((file_known(f) + CRASH_PAGE - 1) >> CRASH_PAGE_SHIFT);

	e->known = file_known(f);
	e->size = f->size;
	e->fsig = f->fsig;
	if (np > e->pscap) {
		uint64_t *p = realloc(e->psig, np * sizeof(*p));

		if (!p)
			return -ENOMEM;
		e->psig = p;
		e->pscap = np;
	}
	for (size_t k = 0; k < np; k++)
		e->psig[k] = k < f->npsig ? f->psig[k] : 0;
	e->npsig = np;
	return 0;
}

static int snap_one(void *arg, const char *path, uint32_t ino)
{
	struct crash_snap *sn = arg;
	const struct crash_state *st = sn->st;
	const struct cino *c = &st->s->inos[ino];
	struct snap_ent *e;

	/* At most CRASH_SNAP_MAX entries; and none the walk would skip (a
	 * path too long for it under a deep directory) but write_dir writes. */
	if (sn->n == CRASH_SNAP_MAX ||
	    (c->type == CI_DIR && strlen(path) + 1 + 255 >= TORN_PATH_MAX + 1)) {
		sn->bad = 1;
		return 1;
	}
	/* A hard link (one inode named twice) is written by linking: not here. */
	for (size_t i = 0; i < sn->n; i++)
		if (sn->e[i].ino == ino) {
			sn->bad = 1;
			return 1;
		}
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 8;
		struct snap_ent *n = realloc(sn->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + sn->cap, 0, (cap - sn->cap) * sizeof(*n));
		sn->e = n;
		sn->cap = cap;
	}
	e = &sn->e[sn->n];
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	sn->n++;
	e->ino = ino;
	e->type = c->type;
	e->known = e->size = e->fsig = 0;
	e->npsig = 0;
	return c->type == CI_FILE ? snap_file(e, &st->files[ino]) : 0;
}

int crash_snap_take(struct crash_snap *sn, struct crash_state *st)
{
	int r;

	snap_clear(sn);
	sn->st = st;
	sn->bad = 0;
	r = walk_all(st, snap_one, sn);
	sn->st = NULL;
	if (r < 0) {
		snap_clear(sn);
		return r;
	}
	if (sn->bad) {
		snap_clear(sn);
		return 0;
	}
	sn->valid = 1;
	return 1;
}

/* The walk of the new state: the same entries, in the same order. */
static int snap_same(void *arg, const char *path, uint32_t ino)
{
	struct crash_snap *sn = arg;
	const struct snap_ent *e = sn->at < sn->n ? &sn->e[sn->at] : NULL;

	if (!e || e->ino != ino || strcmp(e->path, path)) {
		sn->bad = 1;
		return 1;
	}
	sn->at++;
	return 0;
}

/* Bytes [p << SHIFT, ...) of a file holding @known bytes: how many. */
static uint64_t page_held(uint64_t known, size_t p)
{
	uint64_t o = (uint64_t)p << CRASH_PAGE_SHIFT;

	return known <= o ? 0 : known - o < CRASH_PAGE ? known - o : CRASH_PAGE;
}

/* File @e (what the directory holds) becomes @f. */
static int delta_file(int dfd, struct snap_ent *e, const struct st_file *f)
{
	uint64_t known = file_known(f), disk = e->size;
	size_t np = (size_t)((known + CRASH_PAGE - 1) >> CRASH_PAGE_SHIFT), k = 0;
	int same = e->fsig == f->fsig, fd = -1, r = 0;

	/* Bytes the directory holds beyond the new known ones would show
	 * through the zeros of a longer size: cut them. */
	if (e->known > known) {
		fd = openat(dfd, e->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)known) < 0) {
			r = -errno;
			goto out;
		}
		disk = known;
	}
	while (k < np) {
		size_t run;

		/* Equal signatures and the old bytes covering the new ones:
		 * the same bytes. */
		if (same && k < e->npsig && e->psig[k] == (k < f->npsig ? f->psig[k] : 0) &&
		    page_held(e->known, k) >= page_held(known, k)) {
			k++;
			continue;
		}
		for (run = k + 1; run < np; run++)
			if (same && run < e->npsig &&
			    e->psig[run] == (run < f->npsig ? f->psig[run] : 0) &&
			    page_held(e->known, run) >= page_held(known, run))
				break;
		if (fd < 0 && (fd = openat(dfd, e->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -errno;
		uint64_t off = (uint64_t)k << CRASH_PAGE_SHIFT;
		uint64_t end = (uint64_t)run << CRASH_PAGE_SHIFT;

		if (end > known)
			end = known;
		r = trace_pwrite_all(fd, fdata(f) + off, (size_t)(end - off), (off_t)off);
		if (r < 0)
			goto out;
		if (end > disk)
			disk = end;
		k = run;
	}
	if (disk != f->size) {
		if (fd < 0 && (fd = openat(dfd, e->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -errno;
		if (ftruncate(fd, (off_t)f->size) < 0)
			r = -errno;
	}
out:
	if (fd >= 0 && close(fd) < 0 && !r)
		r = -errno;
	return r;
}

int crash_state_write_delta(struct crash_state *st, int dfd, struct crash_snap *sn)
{
	int r;

	if (!sn->valid)
		return -EXDEV;
	r = crash_state_build(st);
	if (r < 0)
		return r;
	sn->at = 0;
	sn->bad = 0;
	r = walk_all(st, snap_same, sn);
	if (r < 0)
		return r;
	if (sn->bad || sn->at != sn->n)
		return -EXDEV;
	/* From here the directory is between the two states until done. */
	sn->valid = 0;
	for (size_t i = 0; i < sn->n; i++) {
		struct snap_ent *e = &sn->e[i];
		const struct st_file *f = &st->files[e->ino];

		if (e->type != CI_FILE)
			continue;   /* directories and symlinks: the same inode, unchanged */
		r = delta_file(dfd, e, f);
		if (r < 0)
			return r;
		r = snap_file(e, f);
		if (r < 0)
			return r;
	}
	sn->valid = 1;
	return 0;
}

/* ==========================================================================
 * 5. Marks
 * ========================================================================== */

int crash_state_write_marks(const struct crash_state *st, const char *file)
{
	const struct crash_space *s = st->s;
	uint8_t *buf = NULL;
	size_t i, n = 0, cap = 0;
	int fd = -1, r = 0;

	/* One buffer, one write: a trace with a mark per operation has
	 * thousands of them, and a write each (twice, with the newline) was
	 * most of what materialising a state cost. */
	for (i = 0; i < s->nmarks && s->marks[i].seq < st->point; i++)
		cap += s->marks[i].len + 1;
	if (cap && !(buf = malloc(cap)))
		return -ENOMEM;
	for (i = 0; i < s->nmarks && s->marks[i].seq < st->point; i++) {
		memcpy(buf + n, s->marks[i].text, s->marks[i].len);
		n += s->marks[i].len;
		buf[n++] = '\n';
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		r = -errno;
	if (!r)
		r = trace_write_all(fd, buf, (size_t)n);
	if (fd >= 0 && close(fd) < 0 && !r)
		r = -errno;
	free(buf);
	return r;
}

/* ==========================================================================
 * 6. Explain
 * ========================================================================== */

struct pent {
	char *path;
	uint32_t ino;
};

struct plist {
	struct pent *e;
	size_t n, cap;
};

static int plist_add(void *arg, const char *path, uint32_t ino)
{
	struct plist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct pent *q = realloc(l->e, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		l->e = q;
		l->cap = cap;
	}
	l->e[l->n].path = strdup(path);
	if (!l->e[l->n].path)
		return -ENOMEM;
	l->e[l->n].ino = ino;
	l->n++;
	return 0;
}

static void plist_free(struct plist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->e[i].path);
	free(l->e);
}

static int pent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pent *)a)->path, ((const struct pent *)b)->path);
}

/* A name for inode @ino: its path in @l, else the first name it had. */
static void ino_name(const struct crash_space *s, const struct plist *l, uint32_t ino, char *buf,
		     size_t len)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].ino == ino) {
			snprintf(buf, len, "%s", l->e[i].path);
			return;
		}
	snprintf(buf, len, "%.*s", (int)s->inos[ino].plen, s->inos[ino].path);
}

static int ino_present(const struct plist *l, uint32_t ino)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].ino == ino)
			return 1;
	return 0;
}

static void hex16(const struct st_file *f, uint64_t off, uint64_t len, char *buf)
{
	uint64_t i, n = len < 16 ? len : 16;

	for (i = 0; i < n; i++) {
		uint8_t b = off + i < file_known(f) ? fdata(f)[off + i] : 0;
		sprintf(buf + 3 * i, "%02x ", b);
	}
	buf[n ? 3 * n - 1 : 0] = 0;
}

static const char *ns_verb(uint8_t op)
{
	switch (op) {
	case NS_CREATE: return "create";
	case NS_MKDIR: return "mkdir";
	case NS_SYMLINK: return "symlink";
	case NS_LINK: return "link";
	case NS_UNLINK: return "unlink";
	case NS_RMDIR: return "rmdir";
	case NS_RENAME: return "rename";
	case NS_EXCHANGE: return "rename (exchange)";
	}
	return "?";
}

static void explain_dev(struct crash_state *st, struct crash_state *ref, const struct plist *lst,
			const struct plist *lref, const struct crash_dev *d, FILE *out)
{
	const struct crash_space *s = st->s;
	int64_t ui = crash_unit_find(s, d->seq, d->unit);
	const struct cu *u;
	char name[TORN_PATH_MAX + 1], a[64], b[64];
	const char *how = d->kind == 'z' ? "zeroed" : d->kind == 'g' ? "garbage" : "dropped -> old content";

	if (ui < 0)
		return;
	u = &s->units[ui];
	if (u->kind != CU_NS)
		ino_name(s, lref, u->ino, name, sizeof(name));
	switch (u->kind) {
	case CU_DATA:
		hex16(&ref->files[u->ino], u->off, u->len, a);
		hex16(&st->files[u->ino], u->off, u->len, b);
		if (ino_present(lst, u->ino))
			fprintf(out, "  %s: unit %" PRId64 " (bytes %" PRIu64 "..%" PRIu64 ") of write %"
				PRIu64 ": %s\n      new: %s\n      now: %s\n", name, u->unit, u->off,
				u->off + u->len, u->seq, how, a, b);
		else
			fprintf(out, "  %s: unit %" PRId64 " (bytes %" PRIu64 "..%" PRIu64 ") of write %"
				PRIu64 ": %s (the file is absent in this state)\n      new: %s\n", name,
				u->unit, u->off, u->off + u->len, u->seq, how, a);
		break;
	case CU_SIZE:
		fprintf(out, "  %s: size update of write %" PRIu64 " (to %" PRIu64 ") dropped: size %"
			PRIu64 " (reference %" PRIu64 ")%s\n", name, u->seq, u->off, st->files[u->ino].size,
			ref->files[u->ino].size, ino_present(lst, u->ino) ? "" :
			" (the file is absent in this state)");
		break;
	case CU_TRUNC:
		fprintf(out, "  %s: truncate to %" PRIu64 " (event %" PRIu64 ") not persisted: size %"
			PRIu64 "\n", name, u->len, u->seq, st->files[u->ino].size);
		break;
	case CU_FALLOC:
		fprintf(out, "  %s: fallocate (event %" PRIu64 ") not persisted\n", name, u->seq);
		break;
	case CU_NS: {
		const struct torn_event *ev = &s->evs[u->ev];

		switch (u->op) {
		case NS_CREATE:
		case NS_MKDIR:
		case NS_SYMLINK:
			fprintf(out, "  %.*s: %s (event %" PRIu64 ") not persisted%s\n",
				(int)ev->path_len, ev->path, ns_verb(u->op), u->seq,
				ino_present(lst, u->ino) ? ", but a later operation that did names it"
				: ": missing");
			break;
		case NS_LINK:
			fprintf(out, "  %.*s: link from '%.*s' (event %" PRIu64 ") not persisted: missing\n",
				(int)ev->path2_len, ev->path2, (int)ev->path_len, ev->path, u->seq);
			break;
		case NS_UNLINK:
		case NS_RMDIR:
			fprintf(out, "  %.*s: %s (event %" PRIu64 ") not persisted: still there\n",
				(int)ev->path_len, ev->path, ns_verb(u->op), u->seq);
			break;
		default:
			fprintf(out, "  %.*s: %s to '%.*s' (event %" PRIu64 ") not done: the old name "
				"stays\n", (int)ev->path_len, ev->path, ns_verb(u->op),
				(int)ev->path2_len, ev->path2, u->seq);
		}
		break;
	}
	}
}

/* Files that differ between @st and @ref, by path. */
static void explain_files(struct crash_state *st, struct crash_state *ref, struct plist *lst,
			  struct plist *lref, FILE *out)
{
	const struct crash_space *s = st->s;
	size_t i = 0, j = 0;
	int any = 0;

	if (lst->n)
		qsort(lst->e, lst->n, sizeof(*lst->e), pent_cmp);
	if (lref->n)
		qsort(lref->e, lref->n, sizeof(*lref->e), pent_cmp);
	while (i < lst->n || j < lref->n) {
		int c = i == lst->n ? 1 : j == lref->n ? -1 : strcmp(lst->e[i].path, lref->e[j].path);

		if (c && !any++)
			fprintf(out, "files that differ from the reference state:\n");
		if (c < 0) {
			fprintf(out, "  %s: present here, absent in the reference\n", lst->e[i++].path);
			continue;
		}
		if (c > 0) {
			fprintf(out, "  %s: missing (present in the reference)\n", lref->e[j++].path);
			continue;
		}
		{
			uint32_t a = lst->e[i].ino, b = lref->e[j].ino;
			const struct cino *ca = &s->inos[a], *cb = &s->inos[b];

			int differ = ca->type != cb->type;

			if (ca->type == CI_FILE && !differ) {
				const struct st_file *fa = &st->files[a], *fb = &ref->files[b];
				uint64_t x;

				uint64_t kmax = file_known(fa) > file_known(fb) ? file_known(fa) : file_known(fb);

				/* Past both files' known bytes everything reads as zeros. */
				differ = fa->size != fb->size;
				for (x = 0; x < fa->size && x < kmax && !differ; x++)
					differ = (x < file_known(fa) ? fdata(fa)[x] : 0) !=
						 (x < file_known(fb) ? fdata(fb)[x] : 0);
			} else if (ca->type == CI_SYMLINK && !differ) {
				differ = ca->tlen != cb->tlen || memcmp(ca->target, cb->target, ca->tlen);
			}
			if (differ && !any++)
				fprintf(out, "files that differ from the reference state:\n");
			if (!differ) {
				/* same object, same bytes */
			} else if (ca->type != cb->type) {
				fprintf(out, "  %s: a different kind of object than in the reference\n",
					lst->e[i].path);
			} else if (ca->type == CI_FILE) {
				const struct st_file *fa = &st->files[a], *fb = &ref->files[b];
				uint64_t k, first = UINT64_MAX, nd = 0, m = fa->size < fb->size ? fa->size : fb->size;
				uint64_t kmax = file_known(fa) > file_known(fb) ? file_known(fa) : file_known(fb);
				unsigned us = s->o.sector;

				for (k = 0; k < m && k < kmax; k += us) {
					uint64_t e = k + us < m ? k + us : m, x;
					for (x = k; x < e; x++) {
						uint8_t va = x < file_known(fa) ? fdata(fa)[x] : 0;
						uint8_t vb = x < file_known(fb) ? fdata(fb)[x] : 0;
						if (va != vb)
							break;
					}
					if (x < e) {
						nd++;
						if (first == UINT64_MAX)
							first = x;
					}
				}
				if (fa->size != fb->size)
					fprintf(out, "  %s: size %" PRIu64 " (reference %" PRIu64 ")\n",
						lst->e[i].path, fa->size, fb->size);
				if (nd)
					fprintf(out, "  %s: %" PRIu64 " sector(s) of %u bytes differ, the first "
						"at byte %" PRIu64 "\n", lst->e[i].path, nd, us, first);
			} else if (ca->type == CI_SYMLINK) {
				fprintf(out, "  %s: symlink target differs\n", lst->e[i].path);
			}
			i++;
			j++;
		}
	}
	if (!any)
		fprintf(out, "no file differs from the reference state\n");
}

int crash_state_explain(struct crash_state *st, FILE *out)
{
	struct crash_state *ref = NULL;
	struct plist lst = { 0 }, lref = { 0 };
	const char *tn = NULL;
	uint64_t pos = 0;
	struct torn_event ev;
	size_t i;
	int r;

	r = crash_state_alloc(st->s, &ref);
	if (!r)
		r = crash_state_set(ref, st->point, NULL, 0);
	if (!r)
		r = walk_all(st, plist_add, &lst);
	if (!r)
		r = walk_all(ref, plist_add, &lref);
	if (r < 0)
		goto out;
	/* Name the event the crash came before. */
	while (trace_next(st->s->t, &pos, &ev) == 1)
		if (ev.type != TORN_REC_BLOB && ev.seq >= st->point) {
			tn = trace_type_name(ev.type);
			break;
		}
	fprintf(out, "state %s: crash before event %" PRIu64 " (%s), %zu deviation(s) from the "
		"reference state p%" PRIu64 "\n", st->id, st->point, tn ? tn : "the end", st->ndevs,
		st->point);
	for (i = 0; i < st->ndevs; i++)
		explain_dev(st, ref, &lst, &lref, &st->devs[i], out);
	explain_files(st, ref, &lst, &lref, out);
	r = ferror(out) ? -EIO : 0;
out:
	plist_free(&lst);
	plist_free(&lref);
	crash_state_free(ref);
	return r;
}

/* ==========================================================================
 * 7. Sector maps
 * ========================================================================== */

static void map_mark(struct crash_file_map *m, uint64_t off, uint64_t len, char c)
{
	uint64_t k, end = off + len;

	if (!len)
		return;
	for (k = off / m->sector; k < m->nsec && k * m->sector < end; k++)
		if (m->map[k] != CRASH_SEC_DROPPED)
			m->map[k] = c;
}

static int map_one(struct crash_state *st, struct crash_state *ref, const struct plist *lst,
		   const struct plist *lref, uint32_t ino, struct crash_file_map *m)
{
	const struct crash_space *s = st->s;
	char name[TORN_PATH_MAX + 1];
	uint64_t big, k;
	size_t i;

	ino_name(s, ino_present(lref, ino) ? lref : lst, ino, name, sizeof(name));
	m->path = strdup(name);
	m->sector = s->o.sector;
	m->size = ino_present(lst, ino) ? st->files[ino].size : 0;
	m->ref_size = ino_present(lref, ino) ? ref->files[ino].size : 0;
	big = m->size > m->ref_size ? m->size : m->ref_size;
	m->nsec = (big + m->sector - 1) / m->sector;
	m->map = malloc(m->nsec + 1);
	if (!m->path || !m->map)
		return -ENOMEM;
	for (k = 0; k < m->nsec; k++)
		m->map[k] = k * m->sector >= m->size ? CRASH_SEC_DROPPED : CRASH_SEC_SAME;
	m->map[m->nsec] = 0;
	/* Pending and kept first, then the deviations over them. */
	for (i = 0; i < s->nunits; i++) {
		const struct cu *u = &s->units[i];

		if (u->kind == CU_DATA && u->ino == ino && u->unit != CU_UNIT_INIT &&
		    cu_pending(u, st->point))
			map_mark(m, u->off, u->len, CRASH_SEC_NEW);
	}
	for (i = 0; i < st->ndevs; i++) {
		int64_t ui = crash_unit_find(s, st->devs[i].seq, st->devs[i].unit);
		const struct cu *u;

		if (ui < 0)
			continue;
		u = &s->units[ui];
		if (u->kind == CU_DATA && u->ino == ino)
			map_mark(m, u->off, u->len, st->devs[i].kind == CRASH_DEV_ZERO ? CRASH_SEC_ZEROS :
				 st->devs[i].kind == CRASH_DEV_GARBAGE ? CRASH_SEC_GARBAGE :
				 CRASH_SEC_OLD);
	}
	return 0;
}

int crash_state_file_maps(struct crash_state *st, struct crash_file_map **out, size_t *n)
{
	struct crash_state *ref = NULL;
	struct plist lst = { 0 }, lref = { 0 };
	struct crash_file_map *maps = NULL;
	size_t nmaps = 0, i, j;
	int r;

	*out = NULL;
	*n = 0;
	r = crash_state_alloc(st->s, &ref);
	if (!r)
		r = crash_state_set(ref, st->point, NULL, 0);
	if (!r)
		r = walk_all(st, plist_add, &lst);
	if (!r)
		r = walk_all(ref, plist_add, &lref);
	if (!r && st->ndevs) {
		maps = calloc(st->ndevs, sizeof(*maps));
		if (!maps)
			r = -ENOMEM;
	}
	/* One map per file a data, size, truncate or fallocate deviation touches,
	 * in the order of the deviations. */
	for (i = 0; !r && i < st->ndevs; i++) {
		int64_t ui = crash_unit_find(st->s, st->devs[i].seq, st->devs[i].unit);
		uint32_t ino;

		if (ui < 0 || st->s->units[ui].kind == CU_NS)
			continue;
		ino = st->s->units[ui].ino;
		for (j = 0; j < i; j++) {
			int64_t uj = crash_unit_find(st->s, st->devs[j].seq, st->devs[j].unit);
			if (uj >= 0 && st->s->units[uj].kind != CU_NS && st->s->units[uj].ino == ino)
				break;
		}
		if (j < i)
			continue;
		r = map_one(st, ref, &lst, &lref, ino, &maps[nmaps++]);
	}
	plist_free(&lst);
	plist_free(&lref);
	crash_state_free(ref);
	if (r < 0) {
		crash_file_maps_free(maps, nmaps);
		return r;
	}
	*out = maps;
	*n = nmaps;
	return 0;
}

void crash_file_maps_free(struct crash_file_map *m, size_t n)
{
	size_t i;

	for (i = 0; m && i < n; i++) {
		free(m[i].path);
		free(m[i].map);
	}
	free(m);
}

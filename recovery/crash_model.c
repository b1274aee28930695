/*
 * recovery/crash_model.c - the persistence models: one pass over a trace
 * that cuts every event into units and decides when each became durable.
 *
 * Sections:
 *   1. Small growable arrays, warnings, the namespace primitives
 *   2. The walk's own state: handles, the fully persisted namespace,
 *      the units still open per inode
 *   3. Durability: fsync of a file or a directory, sync, a failed fsync
 *   4. The walk: crash_space_new, event by event
 *   5. crash_space_free, crash_space_warnings, unit lookup
 *
 * The rules (design.md "Persistence models", crash.h):
 *   - buffered files: units are --sector pieces; direct ones --atomic
 *     pieces; auto picks per write from the handle's O_DIRECT (open flags,
 *     F_SETFL) or the write's TORN_F_DIRECT;
 *   - a successful fsync/fdatasync of a file (seq F, started at S) resolves
 *     the file's open units seen complete before S (comp < S: the write's
 *     own event, or its io_uring completion) as durable at F; a failed one
 *     (result < 0, or a fault injected on a sync call while it ran) drops
 *     its open data units for good (lost at F): Linux marks the pages clean
 *     after a writeback error, so a later fsync does not write them.  O_DIRECT
 *     writes have no page to drop: the failed flush leaves them pending.  Size,
 *     truncate and fallocate units are inode metadata, not pages: they stay
 *     pending and a later fsync persists them (zeros where data was lost);
 *   - fsync of a directory resolves the open namespace units whose parent
 *     it is (a rename across directories needs both; a link, the new
 *     name's directory); a failed directory fsync
 *     changes nothing (the journal still holds the operations);
 *   - sync() and syncfs() resolve everything issued before they started;
 *   - writes through O_SYNC/O_DSYNC handles or flagged TORN_F_SYNC are
 *     durable on return; sync_file_range makes nothing durable;
 *   - io_uring: see do_uring_submit (in flight until the completion is seen);
 *   - inodes: O_TMPFILE files get a name (one unit) when imported by st_ino;
 *     two snapshot files with one st_ino are one file with two names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/falloc.h>
#include <linux/io_uring.h>

#include "crash_int.h"

/* ==========================================================================
 * 1. Arrays, warnings, namespace primitives
 * ========================================================================== */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *q;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

void crash_warn(struct crash_space *s, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (s->nwarn >= 1000)   /* a pathological trace: the first thousand say enough */
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (!m || GROW(s->warn, s->wcap, s->nwarn + 1) < 0) {
		free(m);
		return;
	}
	s->warn[s->nwarn++] = m;
}

int ns_set(struct ns_dir *d, const char *name, uint32_t nlen, uint32_t ino)
{
	uint32_t i;

	for (i = 0; i < d->n; i++)
		if (d->e[i].nlen == nlen && !memcmp(d->e[i].name, name, nlen)) {
			d->e[i].ino = ino;
			return 0;
		}
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 8;
		struct ns_ent *e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	d->e[d->n].name = name;
	d->e[d->n].nlen = nlen;
	d->e[d->n].ino = ino;
	d->n++;
	return 0;
}

int64_t ns_get(const struct ns_dir *d, const char *name, uint32_t nlen)
{
	uint32_t i;

	for (i = 0; i < d->n; i++)
		if (d->e[i].nlen == nlen && !memcmp(d->e[i].name, name, nlen))
			return d->e[i].ino;
	return -1;
}

void ns_del(struct ns_dir *d, const char *name, uint32_t nlen, uint32_t ino)
{
	uint32_t i;

	for (i = 0; i < d->n; i++)
		if (d->e[i].nlen == nlen && !memcmp(d->e[i].name, name, nlen)) {
			if (ino != UINT32_MAX && d->e[i].ino != ino)
				return;
			d->e[i] = d->e[--d->n];
			return;
		}
}

/* ==========================================================================
 * 2. The walk's state
 * ========================================================================== */

struct handle {
	uint64_t id;          /* 0 = empty slot */
	uint32_t ino;
	uint8_t  direct, sync;
	uint8_t  unnamed;     /* st_inos: an O_TMPFILE inode not linked in yet */
};

/* Per inode during the walk: the full namespace (dirs) and the open units. */
struct wino {
	struct ns_dir dir;
	uint32_t *open;       /* indices of units not yet resolved, seq order */
	size_t nopen, ocap;
	uint64_t size;        /* size with everything persisted */
};

/* A u64-keyed table (open addressing, load <= 1/2): handles by handle id,
 * and starting-snapshot / O_TMPFILE inodes by st_ino. */
struct htab {
	struct handle *h;
	size_t cap, n;
};

struct walk {
	struct crash_space *s;
	struct htab handles;
	struct htab st_inos;  /* st_ino -> inode: snapshot hard links, O_TMPFILE */
	struct wino *w;
	size_t wcap;
	uint64_t fault_seq;   /* last TORN_EV_FAULT on a sync call (0: none) */
	uint64_t fault_handle;
	int fault_err;        /* its errno (0: unknown) */
	/* io_uring: every submission in order, and the open link chain */
	struct usqe *sq;
	size_t nsq, sqcap;
	int link_open;        /* the previous SQE had IOSQE_IO_LINK/HARDLINK */
	uint64_t chain_seq;   /* seq of the first SQE of the current chain */
	uint64_t warned_ops;  /* io_uring opcodes already warned about (bit mask) */
};

/* One io_uring submission, for its completion and the flushes after it. */
struct usqe {
	uint64_t user_data, seq;
	uint64_t chain_seq;   /* first SQE of its link chain (itself when unlinked) */
	size_t first, n;      /* its units (writes) */
	uint64_t handle;
	uint32_t op;          /* IORING_OP_* */
	uint32_t flags;       /* IOSQE_* */
	int done;
};

static struct handle *hslot(struct htab *t, uint64_t id, int add)
{
	size_t i;

	if (!id)
		return NULL;
	if (add && (t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64, j;
		struct handle *n = calloc(cap, sizeof(*n));

		if (!n)
			return NULL;
		for (i = 0; i < t->cap; i++) {
			if (!t->h[i].id)
				continue;
			for (j = (t->h[i].id * 0x9e3779b97f4a7c15ull) >> 7 & (cap - 1); n[j].id;
			     j = (j + 1) & (cap - 1))
				;
			n[j] = t->h[i];
		}
		free(t->h);
		t->h = n;
		t->cap = cap;
	}
	if (!t->cap)
		return NULL;
	for (i = (id * 0x9e3779b97f4a7c15ull) >> 7 & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->h[i].id == id)
			return &t->h[i];
		if (!t->h[i].id) {
			if (!add)
				return NULL;
			t->h[i].id = id;
			t->n++;
			return &t->h[i];
		}
	}
}

static struct handle *handle_slot(struct walk *k, uint64_t id, int add)
{
	return hslot(&k->handles, id, add);
}

static int64_t new_ino(struct walk *k, uint8_t type, uint32_t mode, const char *path, uint32_t plen)
{
	struct crash_space *s = k->s;
	struct cino *c;

	if (GROW(s->inos, s->inocap, s->nino + 1) < 0 || GROW(k->w, k->wcap, s->nino + 1) < 0)
		return -ENOMEM;
	c = &s->inos[s->nino];
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->mode = mode & 07777;
	c->path = path;
	c->plen = plen;
	memset(&k->w[s->nino], 0, sizeof(k->w[0]));
	return (int64_t)s->nino++;
}

static int64_t add_ev(struct crash_space *s, const struct torn_event *ev)
{
	if (s->nevs && s->evs[s->nevs - 1].seq == ev->seq)
		return (int64_t)s->nevs - 1;
	if (GROW(s->evs, s->evcap, s->nevs + 1) < 0)
		return -ENOMEM;
	s->evs[s->nevs] = *ev;
	return (int64_t)s->nevs++;
}

/* Append a unit (zeroed but for seq/unit/kind/ev). */
static struct cu *add_unit(struct crash_space *s, const struct torn_event *ev, int64_t unit,
			   uint8_t kind)
{
	int64_t e = add_ev(s, ev);
	struct cu *u;

	if (e < 0 || GROW(s->units, s->ucap, s->nunits + 1) < 0)
		return NULL;
	u = &s->units[s->nunits++];
	memset(u, 0, sizeof(*u));
	u->seq = ev->seq;
	u->comp = ev->seq;
	u->unit = unit;
	u->kind = kind;
	u->ev = (uint32_t)e;
	return u;
}

static int track(struct walk *k, uint32_t ino, size_t ui)
{
	struct wino *w = &k->w[ino];

	if (GROW(w->open, w->ocap, w->nopen + 1) < 0)
		return -ENOMEM;
	w->open[w->nopen++] = (uint32_t)ui;
	return 0;
}

/* Resolve path @p (len @n) in the full namespace: parent directory and last
 * component.  The root ("") has no parent: *dir = UINT32_MAX, ino 0.
 * Returns the inode the name has now, or -1 when absent, or -ENOENT when a
 * directory on the way is missing. */
static int64_t resolve(struct walk *k, const char *p, uint32_t n, uint32_t *dir,
		       const char **name, uint32_t *nlen)
{
	uint32_t cur = 0, i = 0;

	if (!n) {
		*dir = UINT32_MAX;
		*name = p;
		*nlen = 0;
		return 0;
	}
	for (;;) {
		uint32_t j = i;
		int64_t c;

		while (j < n && p[j] != '/')
			j++;
		if (j == n) {
			*dir = cur;
			*name = p + i;
			*nlen = n - i;
			return ns_get(&k->w[cur].dir, p + i, n - i);
		}
		c = ns_get(&k->w[cur].dir, p + i, j - i);
		if (c < 0 || k->s->inos[c].type != CI_DIR)
			return -ENOENT;
		cur = (uint32_t)c;
		i = j + 1;
	}
}

/* ==========================================================================
 * 3. Durability
 * ========================================================================== */

static void resolve_unit(struct cu *u, uint8_t fate, uint64_t at)
{
	u->fate = fate;
	u->end = at;
}

/* fsync/fdatasync of a regular file: units seen complete before the flush
 * started (comp < start), and those issued in [lo, hi) (an io_uring flush
 * linked or drained after them), become durable at @at, or, when the call
 * failed, data units are lost at @at. */
static int sync_file(struct walk *k, uint32_t ino, uint64_t start, uint64_t at, int failed,
		     uint64_t lo, uint64_t hi)
{
	struct crash_space *s = k->s;
	struct wino *w = &k->w[ino];
	size_t i, kept = 0;

	/* Every flush of a file, for the acknowledged-after-failed-fsync
	 * finding (crash_ackloss.c). */
	if (GROW(s->fsyncs, s->fscap, s->nfsyncs + 1) < 0)
		return -ENOMEM;
	s->fsyncs[s->nfsyncs].seq = at;
	s->fsyncs[s->nfsyncs].ino = ino;
	s->fsyncs[s->nfsyncs].err = failed;
	s->nfsyncs++;

	for (i = 0; i < w->nopen; i++) {
		struct cu *u = &k->s->units[w->open[i]];

		if (u->fate == CU_OPEN && (u->comp < start || (u->seq >= lo && u->seq < hi))) {
			if (!failed)
				resolve_unit(u, CU_DURABLE, at);
			else if (u->kind == CU_DATA && !u->direct)
				resolve_unit(u, CU_LOST, at);
		}
		if (u->fate == CU_OPEN)
			w->open[kept++] = w->open[i];
	}
	w->nopen = kept;
	return 0;
}

/* fsync of a directory: its namespace units with seq < start. */
static void sync_dir(struct walk *k, uint32_t ino, uint64_t start, uint64_t at)
{
	struct wino *w = &k->w[ino];
	size_t i, kept = 0;

	for (i = 0; i < w->nopen; i++) {
		struct cu *u = &k->s->units[w->open[i]];

		if (u->fate == CU_OPEN && u->seq < start) {
			uint8_t need = 1;

			if (u->dir2 != UINT32_MAX && u->dir2 != u->dir)
				need |= 2;
			if (u->dir == ino)
				u->covered |= 1;
			if (u->dir2 == ino)
				u->covered |= (u->dir2 == u->dir) ? 1 : 2;
			if ((u->covered & need) == need)
				resolve_unit(u, CU_DURABLE, at);
		}
		/* Covered here or not, a unit issued before the fsync is done
		 * with this directory (it may still wait for its other one). */
		if (u->fate == CU_OPEN && u->seq >= start)
			w->open[kept++] = w->open[i];
	}
	w->nopen = kept;
}

/* sync()/syncfs(): everything issued before @start. */
static void sync_all(struct walk *k, uint64_t start, uint64_t at)
{
	size_t i;

	for (i = 0; i < k->s->nino; i++) {
		struct wino *w = &k->w[i];
		size_t j, kept = 0;

		for (j = 0; j < w->nopen; j++) {
			struct cu *u = &k->s->units[w->open[j]];

			if (u->fate == CU_OPEN && u->comp < start)
				resolve_unit(u, CU_DURABLE, at);
			if (u->fate == CU_OPEN)
				w->open[kept++] = w->open[j];
		}
		w->nopen = kept;
	}
}

/* ==========================================================================
 * 4. The walk
 * ========================================================================== */

static int add_point(uint64_t **arr, size_t *n, size_t *cap, uint64_t p)
{
	if (*n && (*arr)[*n - 1] >= p)
		return 0;
	if (grow((void **)arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = p;
	return 0;
}

/* A namespace unit; @durable for the starting snapshot. */
static struct cu *ns_unit(struct walk *k, const struct torn_event *ev, uint8_t op, int durable)
{
	struct cu *u = add_unit(k->s, ev, CRASH_UNIT_WHOLE, CU_NS);

	if (!u)
		return NULL;
	u->op = op;
	u->dir = u->dir2 = UINT32_MAX;
	if (durable)
		resolve_unit(u, CU_DURABLE, 0);
	return u;
}

/* Register a namespace unit with the open lists of its parents. */
static int ns_track(struct walk *k, struct cu *u)
{
	size_t ui = (size_t)(u - k->s->units);
	int r = 0;

	if (u->fate != CU_OPEN)
		return 0;
	if (u->dir != UINT32_MAX)
		r = track(k, u->dir, ui);
	if (!r && u->dir2 != UINT32_MAX && u->dir2 != u->dir)
		r = track(k, u->dir2, ui);
	return r;
}

static int ev_path_msg(struct crash_space *s, const struct torn_event *ev, const char *what)
{
	crash_warn(s, "event %llu (%s): %s '%.*s'", (unsigned long long)ev->seq,
		   trace_type_name(ev->type) ? trace_type_name(ev->type) : "?", what,
		   (int)ev->path_len, ev->path);
	return 0;
}

/* A new object at ev->path: file, directory or symlink.  Returns the inode
 * or a negative code (0 warnings: -ENOENT means "skipped"). */
static int64_t ns_name(struct walk *k, const struct torn_event *ev, const char *path,
		       uint32_t plen, int64_t ino, uint8_t type, uint8_t op, int durable)
{
	uint32_t dir, nlen;
	const char *name;
	int64_t old = resolve(k, path, plen, &dir, &name, &nlen);
	struct cu *u;

	if (old == -ENOENT || dir == UINT32_MAX) {
		ev_path_msg(k->s, ev, "parent directory not in the model, ignored");
		return -ENOENT;
	}
	if (ino < 0)
		ino = new_ino(k, type, ev->mode, path, plen);
	if (ino < 0)
		return ino;
	if (ns_set(&k->w[dir].dir, name, nlen, (uint32_t)ino) < 0)
		return -ENOMEM;
	u = ns_unit(k, ev, op, durable);
	if (!u)
		return -ENOMEM;
	u->ino = (uint32_t)ino;
	u->dir = dir;
	u->name = name;
	u->nlen = (uint16_t)nlen;
	if (ns_track(k, u) < 0)
		return -ENOMEM;
	return ino;
}

/* A new inode of @type named @path. */
static int64_t ns_create(struct walk *k, const struct torn_event *ev, const char *path,
			 uint32_t plen, uint8_t type, uint8_t op, int durable)
{
	return ns_name(k, ev, path, plen, -1, type, op, durable);
}

/* The inode recorded with st_ino @st (snapshot, O_TMPFILE), or NULL. */
static struct handle *st_ino_get(struct walk *k, uint64_t st)
{
	return hslot(&k->st_inos, st, 0);
}

static int st_ino_put(struct walk *k, uint64_t st, int64_t ino, int unnamed)
{
	struct handle *h;

	if (!st || ino < 0)
		return 0;
	h = hslot(&k->st_inos, st, 1);
	if (!h)
		return -ENOMEM;
	h->ino = (uint32_t)ino;
	h->unnamed = (uint8_t)unnamed;
	return 0;
}

/* The starting content of a file (INIT_FILE, IMPORT): durable. */
static int init_content(struct walk *k, const struct torn_event *ev, uint32_t ino)
{
	uint64_t len = ev->len > 0 ? (uint64_t)ev->len : 0;
	struct cu *u;

	if (len > CRASH_DATA_MAX || ev->nchunks != trace_nchunks(len)) {
		ev_path_msg(k->s, ev, "starting content too large or inconsistent, taken as empty");
		return 0;
	}
	u = add_unit(k->s, ev, CU_UNIT_INIT, CU_INIT);
	if (!u)
		return -ENOMEM;
	u->ino = ino;
	u->len = ev->len > 0 ? (uint64_t)ev->len : 0;
	resolve_unit(u, CU_DURABLE, 0);
	k->w[ino].size = u->len;
	return 0;
}

/* Cut the @n bytes of write @ev (a write call, or an io_uring submission
 * when @inflight) into units: a size unit when it extends the file, then
 * one unit per sector / atomic piece. */
static int cut_write(struct walk *k, const struct torn_event *ev, const struct handle *h,
		     uint64_t n, int inflight)
{
	struct crash_space *s = k->s;
	uint32_t ino = h->ino;
	uint64_t off = (uint64_t)ev->off, usz, b;
	int direct, sync = !inflight && (h->sync || (ev->flags & TORN_F_SYNC));
	size_t first = s->nunits, i;

	if (s->inos[ino].type != CI_FILE) {
		ev_path_msg(s, ev, "write to a non-regular file, ignored");
		return 0;
	}
	if (s->o.model == CRASH_MODEL_DIRECT)
		direct = 1;
	else if (s->o.model == CRASH_MODEL_BUFFERED)
		direct = 0;
	else
		direct = h->direct || (ev->flags & TORN_F_DIRECT);
	usz = direct ? s->usize_direct : s->o.sector;
	if (ev->flags & TORN_F_MISALIGNED)
		crash_warn(s, "event %llu: O_DIRECT write of %llu bytes at %llu not aligned to the "
			   "device's direct-I/O alignment", (unsigned long long)ev->seq,
			   (unsigned long long)n, (unsigned long long)off);
	if (ev->off < 0 || (uint64_t)ev->off > CRASH_DATA_MAX || n > CRASH_DATA_MAX - off) {
		crash_warn(s, "event %llu: write of %llu bytes at offset %lld is beyond the %llu bytes "
			   "a crash state holds per file, ignored", (unsigned long long)ev->seq,
			   (unsigned long long)n, (long long)ev->off, (unsigned long long)CRASH_DATA_MAX);
		return 0;
	}
	if ((uint64_t)ev->nchunks != trace_nchunks(n)) {
		crash_warn(s, "event %llu: write of %llu bytes carries %u chunks, ignored",
			   (unsigned long long)ev->seq, (unsigned long long)n, ev->nchunks);
		return 0;
	}
	if (off + n > k->w[ino].size) {
		struct cu *u = add_unit(s, ev, CRASH_UNIT_SIZE, CU_SIZE);
		if (!u)
			return -ENOMEM;
		u->ino = ino;
		u->off = off + n;
		k->w[ino].size = off + n;
	}
	for (b = off / usz; b * usz < off + n; b++) {
		uint64_t lo = b * usz > off ? b * usz : off;
		uint64_t hi = (b + 1) * usz < off + n ? (b + 1) * usz : off + n;
		struct cu *u = add_unit(s, ev, (int64_t)b, CU_DATA);

		if (!u)
			return -ENOMEM;
		u->ino = ino;
		u->off = lo;
		u->len = hi - lo;
		u->direct = (uint8_t)direct;
	}
	for (i = first; i < s->nunits; i++) {
		if (inflight)   /* not complete until its completion is seen */
			s->units[i].comp = UINT64_MAX;
		if (sync)   /* O_SYNC/O_DSYNC/RWF_DSYNC: durable when the call returns */
			resolve_unit(&s->units[i], CU_DURABLE, ev->seq);
		else if (track(k, ino, i) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int do_write(struct walk *k, const struct torn_event *ev, const struct handle *h)
{
	return cut_write(k, ev, h, (uint64_t)ev->result, 0);
}

/* ---- io_uring (issue 6's rules)
 *
 * A write is in flight from its submission until its completion is seen:
 * its units are pending from the submission (any subset may persist) and a
 * flush covers them only when their completion was seen before the flush
 * started, or when the flush is an io_uring fsync linked after them
 * (IOSQE_IO_LINK / IO_HARDLINK chain) or drained (IOSQE_IO_DRAIN).  An
 * io_uring fsync takes effect at its completion.  A short completion cuts
 * the units past its length (never written), a failed one all of them. */

/* Operations whose effect is missing from the model.  Not fallocate,
 * openat, close, renameat, unlinkat: the shim records each at its
 * completion also as the plain event of the same call (TORN_EV_FALLOCATE,
 * OPEN, CLOSE, RENAME, UNLINK/RMDIR; injector/shim_uring.c), which the
 * walk models as usual. */
static const char *uring_op_name(uint32_t op)
{
	switch (op) {
	case IORING_OP_OPENAT2: return "openat2";
	case IORING_OP_MKDIRAT: return "mkdirat";
	case IORING_OP_SYMLINKAT: return "symlinkat";
	case IORING_OP_LINKAT: return "linkat";
	case IORING_OP_SPLICE: return "splice";
	case IORING_OP_TEE: return "tee";
	}
	return NULL;
}

static int uring_is_write(uint32_t op)
{
	return op == IORING_OP_WRITE || op == IORING_OP_WRITEV || op == IORING_OP_WRITE_FIXED;
}

static int do_uring_submit(struct walk *k, const struct torn_event *ev)
{
	struct crash_space *s = k->s;
	struct usqe *q;
	int r = 0;

	if (GROW(k->sq, k->sqcap, k->nsq + 1) < 0)
		return -ENOMEM;
	q = &k->sq[k->nsq++];
	memset(q, 0, sizeof(*q));
	q->user_data = ev->aux_seq;
	q->seq = ev->seq;
	q->op = ev->aux;
	q->flags = ev->oflags;
	q->handle = ev->handle;
	q->first = s->nunits;
	if (!k->link_open)
		k->chain_seq = ev->seq;
	q->chain_seq = k->chain_seq;
	k->link_open = !!(ev->oflags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK));
	if (uring_is_write(q->op)) {
		struct handle *h = handle_slot(k, ev->handle, 0);
		uint64_t n = ev->len > 0 ? (uint64_t)ev->len : 0;

		if (!h) {
			crash_warn(s, "event %llu: io_uring write to an unknown file, ignored",
				   (unsigned long long)ev->seq);
			return 0;
		}
		/* The payload of a submission is what was asked to be written. */
		if ((uint64_t)ev->nchunks != trace_nchunks(n)) {
			crash_warn(s, "event %llu: io_uring write of %llu bytes carries %u chunks, ignored",
				   (unsigned long long)ev->seq, (unsigned long long)n, ev->nchunks);
			return 0;
		}
		r = cut_write(k, ev, h, n, 1);
	} else if (q->op < 64 && uring_op_name(q->op) && !(k->warned_ops & (1ull << q->op))) {
		k->warned_ops |= 1ull << q->op;
		crash_warn(s, "event %llu: io_uring %s is not modelled: its effect is missing from "
			   "every crash state", (unsigned long long)ev->seq, uring_op_name(q->op));
	}
	q->n = s->nunits - q->first;
	return r;
}

/* The errno of a failed call's result (< 0): a result no errno can be (a
 * hostile trace's INT64_MIN, which -result would overflow) still fails, as
 * EIO. */
static int result_errno(int64_t result)
{
	return result >= 0 ? 0 : result > -4096 ? (int)-result : EIO;
}

/* The completion of a write: cut what was not written, note when the rest
 * was seen complete. */
static void uring_write_done(struct walk *k, const struct usqe *q, int64_t res, uint64_t at)
{
	const struct crash_space *s = k->s;
	size_t i;

	for (i = q->first; i < q->first + q->n; i++) {
		struct cu *u = &s->units[i];
		const struct torn_event *ev = &s->evs[u->ev];
		uint64_t end = res > 0 ? (uint64_t)ev->off + (uint64_t)res : (uint64_t)ev->off;

		if (u->fate != CU_OPEN)
			continue;
		if (res <= 0 || (u->kind == CU_DATA && u->off >= end)) {
			resolve_unit(u, CU_LOST, u->seq);   /* never written: never pending */
			continue;
		}
		if (u->kind == CU_DATA && u->off + u->len > end)
			u->len = end - u->off;
		else if (u->kind == CU_SIZE && u->off > end)
			u->off = end;
		u->comp = at;
	}
}

static int do_uring_cqe(struct walk *k, const struct torn_event *ev)
{
	struct crash_space *s = k->s;
	struct usqe *q = NULL;
	size_t i;

	/* The latest submission with this user_data still waiting. */
	for (i = k->nsq; i > 0; i--)
		if (!k->sq[i - 1].done && k->sq[i - 1].user_data == ev->aux_seq) {
			q = &k->sq[i - 1];
			break;
		}
	if (!q)
		return 0;
	q->done = 1;
	if (uring_is_write(q->op)) {
		uring_write_done(k, q, ev->result, ev->seq);
	} else if (q->op == IORING_OP_FSYNC) {
		struct handle *h = handle_slot(k, q->handle, 0);
		uint64_t lo = 0, hi = 0;

		if (add_point(&s->syncpts, &s->nsync, &s->scap, ev->seq) < 0)
			return -ENOMEM;
		if (!h)
			return 0;
		if (q->flags & IOSQE_IO_DRAIN)
			hi = q->seq;                       /* after everything submitted before */
		else if (q->chain_seq < q->seq) {
			lo = q->chain_seq;                 /* after the SQEs linked before it */
			hi = q->seq;
		}
		if (s->inos[h->ino].type == CI_DIR) {
			if (ev->result >= 0)
				sync_dir(k, h->ino, q->seq, ev->seq);
		} else {
			return sync_file(k, h->ino, q->seq, ev->seq,
					 result_errno(ev->result), lo, hi);
		}
	}
	return 0;
}

/* Inode of a handle or a path (truncate(2)), or -1 with a warning. */
static int64_t target_ino(struct walk *k, const struct torn_event *ev)
{
	if (ev->handle) {
		struct handle *h = handle_slot(k, ev->handle, 0);
		if (h)
			return h->ino;
	} else if (ev->path_len) {
		uint32_t dir, nlen;
		const char *name;
		int64_t ino = resolve(k, ev->path, ev->path_len, &dir, &name, &nlen);
		if (ino >= 0)
			return ino;
	}
	ev_path_msg(k->s, ev, "unknown file, ignored");
	return -1;
}

static int meta_unit(struct walk *k, const struct torn_event *ev, uint32_t ino, uint8_t kind,
		     uint64_t len, uint64_t zoff, uint64_t zlen, uint64_t newsize)
{
	struct cu *u = add_unit(k->s, ev, CRASH_UNIT_WHOLE, kind);

	if (!u)
		return -ENOMEM;
	u->ino = ino;
	u->len = kind == CU_TRUNC ? len : zlen;
	u->off = zoff;
	u->newsize = newsize;
	if (kind == CU_TRUNC)
		k->w[ino].size = len;
	else if (newsize > k->w[ino].size)
		k->w[ino].size = newsize;
	return track(k, ino, (size_t)(u - k->s->units));
}

static int do_open(struct walk *k, const struct torn_event *ev)
{
	struct crash_space *s = k->s;
	struct handle *h;
	int64_t ino;

	if (ev->result < 0)
		return 0;
	if ((ev->oflags & O_TMPFILE) == O_TMPFILE) {
		/* An unnamed file: no namespace unit until a linkat names it
		 * (recorded as an import with its st_ino). */
		ino = new_ino(k, CI_FILE, ev->mode ? ev->mode : 0600, ev->path, ev->path_len);
		if (ino < 0 || st_ino_put(k, ev->ino, ino, 1) < 0)
			return -ENOMEM;
	} else if (ev->flags & TORN_F_CREATED && !(ev->flags & TORN_F_DIR)) {
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_FILE, NS_CREATE, 0);
		if (ino == -ENOENT)
			return 0;
	} else {
		uint32_t dir, nlen;
		const char *name;

		ino = resolve(k, ev->path, ev->path_len, &dir, &name, &nlen);
		if (ino < 0) {
			/* Opened but not in the snapshot nor created while recording:
			 * treat it as a file that was always there, empty. */
			ev_path_msg(s, ev, "opened file not in the starting snapshot, assumed empty and durable");
			ino = ns_create(k, ev, ev->path, ev->path_len,
					(ev->flags & TORN_F_DIR) ? CI_DIR : CI_FILE, NS_CREATE, 1);
			if (ino == -ENOENT)
				return 0;
		} else if ((ev->flags & TORN_F_TRUNCATED) && s->inos[ino].type == CI_FILE &&
		    meta_unit(k, ev, (uint32_t)ino, CU_TRUNC, 0, 0, 0, 0) < 0)
			return -ENOMEM;
	}
	if (ino < 0)
		return (int)ino;
	if (!ev->handle)
		return 0;   /* no handle to remember (0 means none) */
	h = handle_slot(k, ev->handle, 1);
	if (!h)
		return -ENOMEM;
	h->ino = (uint32_t)ino;
	h->direct = !!(ev->oflags & O_DIRECT);
	h->sync = !!(ev->oflags & (O_SYNC | O_DSYNC));
	return 0;
}

static int do_fsync(struct walk *k, const struct torn_event *ev)
{
	struct handle *h = handle_slot(k, ev->handle, 0);
	uint64_t start = ev->aux_seq ? ev->aux_seq : ev->seq;
	int failed = result_errno(ev->result);   /* its errno */

	if (!h) {
		crash_warn(k->s, "event %llu: fsync of an unknown handle, ignored",
			   (unsigned long long)ev->seq);
		return 0;
	}
	/* A fault injected into this call while it ran (libfiu returns the
	 * error without calling the kernel, but the shim may record the fault
	 * and the call's own result separately). */
	if (k->fault_seq && k->fault_seq >= start &&
	    (!k->fault_handle || k->fault_handle == ev->handle) && !failed)
		failed = k->fault_err ? k->fault_err : EIO;
	k->fault_seq = 0;
	if (k->s->inos[h->ino].type == CI_DIR) {
		if (!failed)
			sync_dir(k, h->ino, start, ev->seq);
		return 0;
	}
	return sync_file(k, h->ino, start, ev->seq, failed, 0, 0);
}

static int do_ns(struct walk *k, const struct torn_event *ev)
{
	struct crash_space *s = k->s;
	uint32_t dir, dir2, nlen, nlen2;
	const char *name, *name2;
	int64_t ino, ino2;
	struct handle *st;
	struct cu *u;

	if (ev->result < 0)
		return 0;
	switch (ev->type) {
	case TORN_EV_MKDIR:
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_DIR, NS_MKDIR, 0);
		return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
	case TORN_EV_SYMLINK:
		if (!ev->path2_len || ev->path2_len > TORN_PATH_MAX || memchr(ev->path2, 0, ev->path2_len))
			return ev_path_msg(s, ev, "symlink with an empty or malformed target, ignored");
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_SYMLINK, NS_SYMLINK, 0);
		if (ino >= 0) {
			s->inos[ino].target = ev->path2;
			s->inos[ino].tlen = ev->path2_len;
		}
		return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
	case TORN_EV_UNLINK:
	case TORN_EV_RMDIR:
		ino = resolve(k, ev->path, ev->path_len, &dir, &name, &nlen);
		if (ino < 0 || dir == UINT32_MAX)
			return ev_path_msg(s, ev, "no such entry in the model, ignored");
		ns_del(&k->w[dir].dir, name, nlen, UINT32_MAX);
		u = ns_unit(k, ev, ev->type == TORN_EV_UNLINK ? NS_UNLINK : NS_RMDIR, 0);
		if (!u)
			return -ENOMEM;
		u->ino = (uint32_t)ino;
		u->dir = dir;
		u->name = name;
		u->nlen = (uint16_t)nlen;
		return ns_track(k, u);
	case TORN_EV_LINK:
	case TORN_EV_RENAME:
		ino = resolve(k, ev->path, ev->path_len, &dir, &name, &nlen);
		ino2 = resolve(k, ev->path2, ev->path2_len, &dir2, &name2, &nlen2);
		if (ino < 0 || dir == UINT32_MAX || ino2 == -ENOENT || dir2 == UINT32_MAX)
			return ev_path_msg(s, ev, "source or target not in the model, ignored");
		if (ev->type == TORN_EV_LINK) {
			if (ns_set(&k->w[dir2].dir, name2, nlen2, (uint32_t)ino) < 0)
				return -ENOMEM;
			u = ns_unit(k, ev, NS_LINK, 0);
		} else if (ev->oflags & 2 /* RENAME_EXCHANGE */) {
			if (ino2 < 0)
				return ev_path_msg(s, ev, "exchange with a missing entry, ignored");
			if (ns_set(&k->w[dir].dir, name, nlen, (uint32_t)ino2) < 0 ||
			    ns_set(&k->w[dir2].dir, name2, nlen2, (uint32_t)ino) < 0)
				return -ENOMEM;
			u = ns_unit(k, ev, NS_EXCHANGE, 0);
		} else {
			/* rename(2): "if oldpath and newpath are existing hard
			 * links referring to the same file, rename() does nothing". */
			if (ino2 == ino)
				return 0;
			ns_del(&k->w[dir].dir, name, nlen, UINT32_MAX);
			if (ns_set(&k->w[dir2].dir, name2, nlen2, (uint32_t)ino) < 0)
				return -ENOMEM;
			u = ns_unit(k, ev, NS_RENAME, 0);
		}
		if (!u)
			return -ENOMEM;
		u->ino = (uint32_t)ino;
		u->ino2 = ino2 >= 0 ? (uint32_t)ino2 : UINT32_MAX;
		u->dir = dir;
		u->name = name;
		u->nlen = (uint16_t)nlen;
		u->dir2 = dir2;
		u->name2 = name2;
		u->nlen2 = (uint16_t)nlen2;
		if (ev->type == TORN_EV_LINK) {
			/* Only the new name's directory changes. */
			u->dir = dir2;
			u->dir2 = UINT32_MAX;
		}
		return ns_track(k, u);
	case TORN_EV_IMPORT:
		st = st_ino_get(k, ev->ino);
		if (st && st->unnamed) {
			/* linkat of an O_TMPFILE file: its bytes are the writes
			 * already recorded through its handles, with their own
			 * durability; only the name is new. */
			st->unnamed = 0;
			ino = ns_name(k, ev, ev->path, ev->path_len, st->ino, CI_FILE, NS_CREATE, 0);
			return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
		}
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_FILE, NS_CREATE, 0);
		if (ino == -ENOENT)
			return 0;
		return ino < 0 ? (int)ino : init_content(k, ev, (uint32_t)ino);
	}
	return 0;
}

static int do_event(struct walk *k, const struct torn_event *ev, uint64_t *floor)
{
	struct crash_space *s = k->s;
	struct handle *h;
	int64_t ino;

	switch (ev->type) {
	case TORN_EV_ROOT:
	case TORN_EV_INIT_DONE:
		*floor = ev->seq;
		return 0;
	case TORN_EV_INIT_DIR:
		*floor = ev->seq;
		if (!ev->path_len) {
			s->inos[0].mode = ev->mode & 07777;
			return 0;
		}
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_DIR, NS_MKDIR, 1);
		return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
	case TORN_EV_INIT_FILE: {
		struct handle *st = st_ino_get(k, ev->ino);

		*floor = ev->seq;
		if (st && s->inos[st->ino].type == CI_FILE) {
			/* A second name of a file of the snapshot: a hard link. */
			ino = ns_name(k, ev, ev->path, ev->path_len, st->ino, CI_FILE, NS_CREATE, 1);
			return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
		}
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_FILE, NS_CREATE, 1);
		if (ino == -ENOENT)
			return 0;
		if (ino < 0 || st_ino_put(k, ev->ino, ino, 0) < 0)
			return ino < 0 ? (int)ino : -ENOMEM;
		return init_content(k, ev, (uint32_t)ino);
	}
	case TORN_EV_INIT_SYMLINK:
		*floor = ev->seq;
		if (!ev->path2_len || ev->path2_len > TORN_PATH_MAX || memchr(ev->path2, 0, ev->path2_len))
			return ev_path_msg(s, ev, "symlink with an empty or malformed target, ignored");
		ino = ns_create(k, ev, ev->path, ev->path_len, CI_SYMLINK, NS_SYMLINK, 1);
		if (ino >= 0) {
			s->inos[ino].target = ev->path2;
			s->inos[ino].tlen = ev->path2_len;
		}
		return ino == -ENOENT ? 0 : (int)(ino < 0 ? ino : 0);
	case TORN_EV_OPEN:
		return do_open(k, ev);
	case TORN_EV_SETFL:
		if ((h = handle_slot(k, ev->handle, 0)))
			h->direct = !!(ev->oflags & O_DIRECT);
		return 0;
	case TORN_EV_WRITE:
		if (ev->result <= 0)
			return 0;
		h = handle_slot(k, ev->handle, 0);
		if (!h) {
			crash_warn(s, "event %llu: write to an unknown handle, ignored",
				   (unsigned long long)ev->seq);
			return 0;
		}
		if (h->sync || (ev->flags & TORN_F_SYNC))
			if (add_point(&s->syncpts, &s->nsync, &s->scap, ev->seq) < 0)
				return -ENOMEM;
		return do_write(k, ev, h);
	case TORN_EV_FSYNC:
		if (add_point(&s->syncpts, &s->nsync, &s->scap, ev->seq) < 0)
			return -ENOMEM;
		return do_fsync(k, ev);
	case TORN_EV_SYNC:
	case TORN_EV_SYNCFS:
		if (add_point(&s->syncpts, &s->nsync, &s->scap, ev->seq) < 0)
			return -ENOMEM;
		if (ev->result >= 0)
			sync_all(k, ev->aux_seq ? ev->aux_seq : ev->seq, ev->seq);
		return 0;
	case TORN_EV_SYNC_RANGE:
		return 0;   /* sync_file_range writes back pages but flushes no cache and no metadata */
	case TORN_EV_TRUNCATE:
		if (ev->result < 0 || (ino = target_ino(k, ev)) < 0)
			return 0;
		if (ev->len > (int64_t)CRASH_SIZE_MAX) {
			crash_warn(s, "event %llu: truncate to %lld bytes is beyond %llu, ignored",
				   (unsigned long long)ev->seq, (long long)ev->len,
				   (unsigned long long)CRASH_SIZE_MAX);
			return 0;
		}
		return meta_unit(k, ev, (uint32_t)ino, CU_TRUNC, ev->len > 0 ? (uint64_t)ev->len : 0,
				 0, 0, 0);
	case TORN_EV_FALLOCATE: {
		uint32_t m = ev->oflags;
		uint64_t zoff = 0, zlen = 0, ns = 0, end = (uint64_t)ev->off + (uint64_t)ev->len;

		if (ev->result < 0 || (ino = target_ino(k, ev)) < 0)
			return 0;
		if (ev->off < 0 || ev->len <= 0 || (uint64_t)ev->len > CRASH_SIZE_MAX ||
		    (uint64_t)ev->off > CRASH_SIZE_MAX - (uint64_t)ev->len) {
			crash_warn(s, "event %llu: fallocate of a bad range, ignored",
				   (unsigned long long)ev->seq);
			return 0;
		}
		if (m & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
			crash_warn(s, "event %llu: fallocate collapse/insert range not modelled, ignored",
				   (unsigned long long)ev->seq);
			return 0;
		}
		if (m & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
			zoff = (uint64_t)ev->off;
			zlen = (uint64_t)ev->len;
		}
		if (!(m & FALLOC_FL_KEEP_SIZE) && end > k->w[ino].size)
			ns = end;
		if (!zlen && !ns)
			return 0;   /* allocation only: nothing a crash could show */
		return meta_unit(k, ev, (uint32_t)ino, CU_FALLOC, 0, zoff, zlen, ns);
	}
	case TORN_EV_RENAME:
	case TORN_EV_UNLINK:
	case TORN_EV_LINK:
	case TORN_EV_MKDIR:
	case TORN_EV_RMDIR:
	case TORN_EV_SYMLINK:
	case TORN_EV_IMPORT:
		return do_ns(k, ev);
	case TORN_EV_MARK:
		if (GROW(s->marks, s->mcap, s->nmarks + 1) < 0)
			return -ENOMEM;
		s->marks[s->nmarks].seq = ev->seq;
		s->marks[s->nmarks].text = ev->text;
		s->marks[s->nmarks].len = ev->text_len;
		s->nmarks++;
		return 0;
	case TORN_EV_FAULT:
		if (ev->text_len >= 4 && memmem(ev->text, ev->text_len, "sync", 4)) {
			k->fault_seq = ev->seq;
			k->fault_handle = ev->handle;
			k->fault_err = ev->result < 0 && ev->result > -4096 ? (int)-ev->result : 0;
		}
		return 0;
	case TORN_EV_URING_SUBMIT:
		return do_uring_submit(k, ev);
	case TORN_EV_URING_CQE:
		return do_uring_cqe(k, ev);
	case TORN_EV_MMAP:
		crash_warn(s, "event %llu: shared writable mapping of '%.*s': writes through it are "
			   "not seen", (unsigned long long)ev->seq, (int)ev->path_len, ev->path);
		return 0;
	case TORN_EV_MSYNC:
		return 0;
	case TORN_EV_UNSUPPORTED:
		crash_warn(s, "event %llu: not recorded: %.*s", (unsigned long long)ev->seq,
			   (int)ev->text_len, ev->text);
		return 0;
	}
	return 0;
}

static int check_opts(const struct crash_opts *o, struct trace_error *err)
{
	const char *what = NULL;

	if (o->sector != 512 && o->sector != 4096)
		what = "sector size must be 512 or 4096";
	else if (o->atomic && (o->atomic < 512 || o->atomic % 512 || (o->atomic & (o->atomic - 1))))
		what = "atomic write unit must be a power of two, at least 512";
	else if (o->nstrat < 0 || o->nstrat > CRASH_MAX_STRATEGIES)
		what = "too many strategies";
	else if (o->points == CRASH_POINTS_RANGE && o->point_lo > o->point_hi)
		what = "crash point range is empty";
	if (!what)
		return 0;
	if (err) {
		memset(err, 0, sizeof(*err));
		err->code = -EINVAL;
		snprintf(err->msg, sizeof(err->msg), "%s", what);
	}
	return -EINVAL;
}

int crash_space_new(const struct torn_trace *t, const struct crash_opts *o,
		    struct crash_space **out, struct trace_error *err)
{
	struct crash_space *s = NULL;
	struct walk k;
	struct torn_event ev;
	uint64_t pos = 0, floor = 0, last = 0, rec = 0;
	size_t i;
	int r;

	memset(&k, 0, sizeof(k));
	*out = NULL;
	r = check_opts(o, err);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	s->t = t;
	s->o = *o;
	if (!s->o.nstrat) {
		s->o.strat[0].kind = CRASH_STRAT_SYNC;
		s->o.nstrat = 1;
	}
	s->o.tear |= CRASH_TEAR_OLD | CRASH_TEAR_NEW;
	s->usize_direct = o->atomic ? o->atomic : o->sector;
	k.s = s;
	if (new_ino(&k, CI_DIR, 0755, "", 0) < 0) {
		r = -ENOMEM;
		goto out;
	}
	while (trace_next(t, &pos, &ev) == 1) {
		rec++;
		if (ev.type == TORN_REC_BLOB)
			continue;
		r = do_event(&k, &ev, &floor);
		if (r < 0)
			goto out;
		last = ev.seq;
	}
	/* Crash points: every event after the starting snapshot, and the end. */
	s->first_point = floor + 1;
	s->end_point = last + 1 > floor + 1 ? last + 1 : floor + 1;
	pos = 0;
	while (trace_next(t, &pos, &ev) == 1)
		if (ev.type != TORN_REC_BLOB && ev.seq > floor &&
		    add_point(&s->points, &s->npoints, &s->pcap, ev.seq) < 0) {
			r = -ENOMEM;
			goto out;
		}
	if (add_point(&s->points, &s->npoints, &s->pcap, s->end_point) < 0 ||
	    add_point(&s->syncpts, &s->nsync, &s->scap, s->end_point) < 0) {
		r = -ENOMEM;
		goto out;
	}
	/* Durability points inside the snapshot are no crash points. */
	for (i = 0; i < s->nsync && s->syncpts[i] <= floor; i++)
		;
	memmove(s->syncpts, s->syncpts + i, (s->nsync - i) * sizeof(*s->syncpts));
	s->nsync -= i;
	r = crash_ackloss_find(s);
out:
	for (i = 0; i < s->nino && k.w; i++) {
		free(k.w[i].dir.e);
		free(k.w[i].open);
	}
	free(k.w);
	free(k.sq);
	free(k.handles.h);
	free(k.st_inos.h);
	if (r < 0) {
		if (err && r != -EINVAL) {
			memset(err, 0, sizeof(*err));
			err->code = r;
			err->record = rec;
			snprintf(err->msg, sizeof(err->msg), "%s: crash model: %s",
				 trace_path(t) ? trace_path(t) : "trace", torn_strerror(r));
		}
		crash_space_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* ==========================================================================
 * 5. Free, warnings, lookup
 * ========================================================================== */

void crash_space_free(struct crash_space *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nwarn; i++)
		free(s->warn[i]);
	free(s->warn);
	free(s->evs);
	free(s->units);
	free(s->inos);
	free(s->points);
	free(s->syncpts);
	free(s->marks);
	free(s->fsyncs);
	free(s->acklosses);
	free(s);
}

int crash_space_warnings(const struct crash_space *s, FILE *out)
{
	size_t i;

	for (i = 0; i < s->nwarn && out; i++)
		fprintf(out, "%s: warning: %s\n", trace_path(s->t) ? trace_path(s->t) : "trace",
			s->warn[i]);
	return (int)s->nwarn;
}

int64_t crash_unit_find(const struct crash_space *s, uint64_t seq, int64_t unit)
{
	size_t lo = 0, hi = s->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cu *u = &s->units[mid];

		if (u->seq < seq || (u->seq == seq && u->unit < unit))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nunits && s->units[lo].seq == seq && s->units[lo].unit == unit)
		return (int64_t)lo;
	return -1;
}

const char *cu_kinds(const struct crash_space *s, const struct cu *u)
{
	static const char *k[4] = { "d", "dz", "dg", "dgz" };
	unsigned i = 0;

	if (u->kind == CU_DATA) {
		if (s->o.tear & CRASH_TEAR_ZEROS)
			i |= 1;
		if (s->o.tear & CRASH_TEAR_GARBAGE)
			i |= 2;
	}
	return k[i];
}

/*
 * engines/btree/btree.c - a copy-on-write B+tree with two meta pages
 * (LMDB style).
 *
 *   1. format, durability contract, and why copy-on-write
 *   2. seeded bugs
 *   3. page and meta codec (btree.h)
 *   4. the in-memory tree: search, insert with splits, delete with merges
 *   5. commit: write the dirty pages to free locations, then the meta
 *   6. open: pick the meta, load and check the tree, rebuild the free list
 *   7. verification and the engine interface
 *
 * ==== 1. On-disk format (DIR/btree.db, little-endian, 4 KiB pages) ========
 *
 * Pages 0 and 1 are meta pages; transaction N writes meta page N % 2:
 *    0  u64 sum = XXH3-64 of bytes 8..63
 *    8  u64 magic "TORNBT01"     24  u64 txn
 *   16  u32 version (1)          32  u32 root page (0: empty tree)
 *   20  u32 page size (4096)     36  u32 npages: pages [0, npages) in use
 *   40  u32 depth                (rest zero)
 * Tree page p >= 2:
 *    0  u64 sum = XXH3-64 of bytes 8..4095
 *    8  u32 pgno (= p: catches a page written to the wrong place)
 *   12  u16 type (1 leaf, 2 branch)    14  u16 count    16 u64 txn
 *   24  entries, in key order:
 *       leaf:   u8 klen, u8 0, u16 vlen, key, value
 *       branch: u8 klen, u8 0, u16 0, u32 child, key; the first entry has
 *               an empty key (minus infinity); entry i's key is the
 *               smallest key of child i
 * Validity: a meta page is valid when its sum, magic, version and page size
 * are right; the valid one with the highest txn is the database.  A tree
 * page must have its sum, its own pgno, a known type and entries filling
 * no more than the page.  Every reachable page of the chosen meta must be
 * valid, else the database is corrupt.  Pages not reachable from the root
 * are free: the free list is not stored, it is rebuilt at open by walking
 * the tree (as bbolt does with NoFreelistSync).
 *
 * Invariants (checked by verify): keys strictly increase in a node and lie
 * within their parent's separators; all leaves are at the same depth; a
 * non-root node holds at least BT_MIN_FILL bytes of entries (a quarter
 * page: deletes merge or redistribute below that); no page is reachable
 * twice.
 *
 * ==== Durability contract ==================================================
 * Commit point: the fdatasync after the meta page write.  sync() commits
 * every operation applied since the last commit as one transaction:
 *   1. every modified node is written to a page that the durable meta does
 *      not reach (copy-on-write: a free page or the end of the file);
 *   2. fdatasync: the new pages are durable before anything points at them;
 *   3. the meta page of the other slot is written with txn + 1;
 *   4. fdatasync: the commit point.
 * Pages freed by transaction N (the old copies of the nodes it rewrote) are
 * still reached by meta N - 1 until meta N is durable, so they are reused
 * by transactions started after meta N is durable (N + 1 on).
 *
 * Pipelined commits (sync_start, tornkv --inflight; they overlap in uring
 * mode) are group commits.  sync_start() asks for everything applied so
 * far to be committed; if no group's pages are in flight, a group (one
 * transaction) starts at once with steps 1-2 (its pages, an fdatasync
 * linked behind them), else the request waits to join the next group,
 * which starts when the one flushing moves on to its meta.  A group's
 * steps 3-4 (its meta and the fdatasync behind it) start once its pages
 * are durable and the group before it is: meta N + 1 overwrites the slot
 * of meta N - 1, the only valid meta left if meta N were lost.  So metas
 * are written one at a time, in order, each after the one before is
 * durable; the pages of group N + 1 flush while the meta of N does; a
 * commit is acknowledged when the meta of its group is durable, and with
 * it every earlier one.  Page reuse keeps the rule above: pages freed by
 * group N are reusable once meta N is durable, whatever started since, so
 * no group in flight writes a page that a meta recovery could pick (the
 * durable one or the one in flight) reaches.  A commit with nothing
 * changed since the newest group started joins that group.
 *
 * Why copy-on-write with two meta pages rather than a log of full page
 * images (PostgreSQL's full_page_writes): a page write can tear, and
 * copy-on-write never overwrites a page the durable meta reaches, so a torn
 * page is always an unreferenced one; the only in-place writes are the
 * meta pages, whose meaningful bytes (64) sit inside one sector, and a torn
 * or lost meta fails its checksum and the other slot is used.  Recovery is
 * then just "pick the newer valid meta": no redo pass, no second copy of
 * every page in a log, at the price of rewriting the path to the root on
 * each commit.
 *
 * ==== Faults (failed writes and syncs while running) ======================
 * An operation is acknowledged only by a sync() that returned 0; a sync()
 * that fails acknowledges nothing it covered.  Any failure inside a commit
 * (a page or meta write: ENOSPC, EDQUOT, EIO, a short write the layer could
 * not finish; either fdatasync; a completion in uring mode) is fatal for
 * the handle: every later apply() and sync() returns -EIO, get() still
 * serves the tree in memory, and reopening runs recovery (the newer valid
 * meta), which rebuilds the free list from what is durable.  Why fatal even
 * for ENOSPC: a failed commit has already taken pages off the free list
 * and marked written nodes clean, and undoing that in memory is exactly
 * what reopening does from the durable meta, which never reaches a page of
 * the failed transaction (copy-on-write), so its partial pages, torn or
 * short, are free space to recovery.  Why fatal for a failed fdatasync:
 * Linux may have dropped the dirty pages and will not report it again, so
 * no later commit could prove them durable.  EINTR is retried by eio
 * (eio.h).  Seeded bugs fsync-retry and short-write break these rules.
 */
#include "engines/btree/btree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "engines/engine.h"

/* ==== 2. seeded bugs ===================================================== */

enum {
	BUG_IN_PLACE,
	BUG_META_BEFORE_PAGES,
	BUG_REUSE_EARLY,
	BUG_NO_DIRSYNC_CREATE,
	BUG_FSYNC_RETRY,
	BUG_SHORT_WRITE,
};

static const struct eng_bug bt_bugs[] = {
	{ "in-place-update",
	  "a modified page is rewritten where it is instead of copied: a crash before the "
	  "meta leaves the durable tree with torn or newer pages" },
	{ "meta-before-pages",
	  "the meta page is written before the new pages are durable (one fdatasync for "
	  "both): a crash can keep the meta and lose the pages it points at" },
	{ "reuse-freed-early",
	  "pages freed by a transaction are reused by that same transaction, while the "
	  "durable meta still reaches them: a crash before the new meta breaks the old tree" },
	{ "no-dirsync-create",
	  "the database file is created without fsyncing the directory: after a crash the "
	  "whole file and every acknowledged commit are gone" },
	{ "fsync-retry",
	  "a commit whose fdatasync fails with EIO retries it and acknowledges when the "
	  "retry succeeds: the pages or the meta the failed one dropped are lost (fsyncgate)" },
	{ "short-write",
	  "a short page write is taken as complete: the durable meta reaches a page cut "
	  "short, and the database fails its checksums" },
	{ NULL, NULL },
};

struct bt_ent {
	char *key; /* malloc'd; NULL with klen 0 for a branch's first entry */
	size_t klen;
	void *val;
	size_t vlen;
	struct bt_node *kid;
};

struct bt_node {
	int leaf;
	int n, cap;
	struct bt_ent *e;
	size_t used;   /* bytes of entries on the page */
	uint32_t pgno; /* 0 while dirty and not yet placed */
	int dirty;
};

/*
 * A commit group in the pipeline (sync_start): one transaction committing
 * every change applied up to its start, for the engine tickets up to
 * `tick`.  Its pages, with an fdatasync linked behind them, are submitted
 * at its start (eio ticket a); its meta page, with an fdatasync behind it
 * (eio ticket b), once a completed and the group before it is durable.
 * The pages it freed (the old copies of the nodes it rewrote, which the
 * metas before it may reach) become reusable once its meta is durable.
 */
#define BT_PIPE 4 /* groups in the queue: at most one filling, one at its meta */
struct bt_txn {
	struct bt_meta m;
	uint64_t a, b; /* eio tickets: pages + fsync, meta + fsync (0: none) */
	uint64_t tick; /* the newest engine ticket it acknowledges */
	uint32_t *freed;
	size_t nfreed;
};

struct bt {
	int dirfd;
	enum eio_mode mode;
	int bug;
	struct eio_file *f;
	struct bt_meta meta; /* the newest one: durable, or in flight (below) */
	struct bt_node *root;
	uint8_t *fmap;    /* per page: 1 free (reusable now) */
	uint32_t *pfree;  /* freed by the open transaction */
	size_t npfree, cpfree;
	uint32_t npages;  /* high-water mark of the open transaction */
	size_t fcap;
	int failed;       /* a commit failed: writes refused until reopened */
	/* pipelined commits (sync_start): the groups whose meta is not durable
	 * yet, oldest first; engine tickets issued, in a group, acknowledged */
	struct bt_txn q[BT_PIPE];
	unsigned qh, qn;
	int filling;      /* the newest group's pages are in flight, its meta not */
	uint64_t tick, tick_grouped, tick_done;
};

/* ==== 3. codec =========================================================== */

void bt_meta_encode(uint8_t *page, const struct bt_meta *m)
{
	memset(page, 0, BT_PAGE);
	put_u64(page + 8, BT_MAGIC);
	put_u32(page + 16, BT_VERSION);
	put_u32(page + 20, BT_PAGE);
	put_u64(page + 24, m->txn);
	put_u32(page + 32, m->root);
	put_u32(page + 36, m->npages);
	put_u32(page + 40, m->depth);
	put_u64(page, eng_hash(page + 8, 56));
}

int bt_meta_decode(const uint8_t *page, struct bt_meta *m)
{
	if (get_u64(page) != eng_hash(page + 8, 56))
		return -ENG_E_CORRUPT;
	if (get_u64(page + 8) != BT_MAGIC || get_u32(page + 16) != BT_VERSION ||
	    get_u32(page + 20) != BT_PAGE)
		return -ENG_E_FORMAT;
	m->txn = get_u64(page + 24);
	m->root = get_u32(page + 32);
	m->npages = get_u32(page + 36);
	m->depth = get_u32(page + 40);
	if (m->npages < 2 || (m->root && (m->root < 2 || m->root >= m->npages)))
		return -ENG_E_CORRUPT;
	return 0;
}

void bt_page_seal(uint8_t *page, uint32_t pgno, int type, int count, uint64_t txn)
{
	put_u32(page + 8, pgno);
	put_u16(page + 12, (uint16_t)type);
	put_u16(page + 14, (uint16_t)count);
	put_u64(page + 16, txn);
	put_u64(page, eng_hash(page + 8, BT_PAGE - 8));
}

int bt_page_decode(const uint8_t *page, uint32_t pgno, int *type, struct bt_pent *ents,
		   int max, int *count)
{
	size_t pos = BT_PAGEHDR;
	int n;

	if (get_u64(page) != eng_hash(page + 8, BT_PAGE - 8))
		return -ENG_E_CORRUPT;
	if (get_u32(page + 8) != pgno)
		return -ENG_E_CORRUPT;
	*type = get_u16(page + 12);
	n = get_u16(page + 14);
	if ((*type != BT_LEAF && *type != BT_BRANCH) || n > max)
		return -ENG_E_CORRUPT;
	for (int i = 0; i < n; i++) {
		const uint8_t *p = page + pos;
		size_t hl = *type == BT_LEAF ? 4 : 8, kl, vl;

		if (BT_PAGE - pos < hl)
			return -ENG_E_CORRUPT;
		kl = p[0];
		vl = *type == BT_LEAF ? get_u16(p + 2) : 0;
		if (BT_PAGE - pos - hl < kl + vl)
			return -ENG_E_CORRUPT;
		ents[i].key = p + hl;
		ents[i].klen = kl;
		ents[i].val = p + hl + kl;
		ents[i].vlen = vl;
		ents[i].child = *type == BT_BRANCH ? get_u32(p + 4) : 0;
		pos += hl + kl + vl;
	}
	*count = n;
	return 0;
}

/* ==== 4. the in-memory tree ============================================== */

static size_t esize(const struct bt_node *nd, const struct bt_ent *e)
{
	return nd->leaf ? 4 + e->klen + e->vlen : 8 + e->klen;
}

static struct bt_node *node_new(int leaf)
{
	struct bt_node *nd = calloc(1, sizeof(*nd));

	if (!nd)
		return NULL;
	nd->leaf = leaf;
	nd->dirty = 1;
	return nd;
}

static void node_free(struct bt_node *nd)
{
	if (!nd)
		return;
	for (int i = 0; i < nd->n; i++) {
		free(nd->e[i].key);
		free(nd->e[i].val);
		node_free(nd->e[i].kid);
	}
	free(nd->e);
	free(nd);
}

/* free the node itself but not the entries it gave away */
static void node_shell_free(struct bt_node *nd)
{
	free(nd->e);
	free(nd);
}

static int node_reserve(struct bt_node *nd, int n)
{
	struct bt_ent *e;
	int cap;

	if (n <= nd->cap)
		return 0;
	cap = nd->cap ? nd->cap : 8;
	while (cap < n)
		cap *= 2;
	e = realloc(nd->e, (size_t)cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	nd->e = e;
	nd->cap = cap;
	return 0;
}

static int ins_ent(struct bt_node *nd, int at, struct bt_ent ent)
{
	int rc = node_reserve(nd, nd->n + 1);

	if (rc < 0)
		return rc;
	memmove(nd->e + at + 1, nd->e + at, (size_t)(nd->n - at) * sizeof(ent));
	nd->e[at] = ent;
	nd->n++;
	nd->used += esize(nd, &ent);
	return 0;
}

static struct bt_ent del_ent(struct bt_node *nd, int at)
{
	struct bt_ent ent = nd->e[at];

	nd->used -= esize(nd, &ent);
	memmove(nd->e + at, nd->e + at + 1, (size_t)(nd->n - at - 1) * sizeof(ent));
	nd->n--;
	return ent;
}

static int push_free(struct bt *t, uint32_t pg)
{
	if (t->npfree == t->cpfree) {
		size_t c = t->cpfree ? t->cpfree * 2 : 64;
		uint32_t *n = realloc(t->pfree, c * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->pfree = n;
		t->cpfree = c;
	}
	t->pfree[t->npfree++] = pg;
	return 0;
}

/*
 * Copy-on-write: a node about to change leaves its page to the previous
 * transaction (freed from the next commit on) and gets a new one at commit.
 */
static int touch(struct bt *t, struct bt_node *nd)
{
	int rc;

	if (nd->dirty)
		return 0;
	nd->dirty = 1;
	if (t->bug == BUG_IN_PLACE)
		return 0; /* the mistake: keep the page, overwrite it */
	rc = push_free(t, nd->pgno);
	if (rc == 0 && t->bug == BUG_REUSE_EARLY)
		t->fmap[nd->pgno] = 1; /* the mistake: reusable at once */
	nd->pgno = 0;
	return rc;
}

/* a page we drop entirely (merged away or collapsed) */
static int drop(struct bt *t, struct bt_node *nd)
{
	int rc = 0;

	if (nd->pgno) {
		rc = push_free(t, nd->pgno);
		if (rc == 0 && t->bug == BUG_REUSE_EARLY)
			t->fmap[nd->pgno] = 1;
	}
	node_shell_free(nd);
	return rc;
}

/* leaf: first entry >= key (*eq when equal); branch: the child to follow */
static int search(const struct bt_node *nd, const char *key, size_t klen, int *eq)
{
	int lo = nd->leaf ? 0 : 1, hi = nd->n;

	*eq = 0;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		int c = eng_keycmp(nd->e[mid].key, nd->e[mid].klen, key, klen);
		if (c == 0) {
			*eq = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return nd->leaf ? lo : lo - 1;
}

static char *dupkey(const char *k, size_t kl)
{
	char *d = malloc(kl ? kl : 1);

	if (d && kl)
		memcpy(d, k, kl);
	return d;
}

/* split an over-full node: the upper half moves to *right, *sep its key */
static int split(struct bt_node *nd, struct bt_node **right, char **sep, size_t *seplen)
{
	struct bt_node *r = node_new(nd->leaf);
	size_t acc = 0;
	int m = 0, rc;

	if (!r)
		return -ENOMEM;
	while (m < nd->n - 1 && acc + esize(nd, &nd->e[m]) <= nd->used / 2)
		acc += esize(nd, &nd->e[m++]);
	if (m == 0)
		m = 1;
	rc = node_reserve(r, nd->n - m);
	if (rc < 0) {
		free(r);
		return rc;
	}
	for (int i = m; i < nd->n; i++) {
		r->e[i - m] = nd->e[i];
		r->used += esize(nd, &nd->e[i]);
	}
	r->n = nd->n - m;
	nd->n = m;
	nd->used -= r->used;
	if (nd->leaf) {
		*sep = dupkey(r->e[0].key, r->e[0].klen);
		*seplen = r->e[0].klen;
		if (!*sep)
			return -ENOMEM;
	} else {
		/* the first key of a branch moves up; its slot becomes -inf */
		*sep = r->e[0].key;
		*seplen = r->e[0].klen;
		r->used -= r->e[0].klen;
		r->e[0].key = NULL;
		r->e[0].klen = 0;
	}
	*right = r;
	return 0;
}

static int fix_child(struct bt *t, struct bt_node *p, int i);

static int tree_put(struct bt *t, struct bt_node *nd, const char *key, size_t klen,
		    const void *val, size_t vlen)
{
	int eq, i, rc;

	rc = touch(t, nd);
	if (rc < 0)
		return rc;
	i = search(nd, key, klen, &eq);
	if (nd->leaf) {
		struct bt_ent ent = { 0 };
		void *v = malloc(vlen ? vlen : 1);

		if (!v)
			return -ENOMEM;
		memcpy(v, val, vlen);
		if (eq) {
			nd->used -= nd->e[i].vlen;
			free(nd->e[i].val);
			nd->e[i].val = v;
			nd->e[i].vlen = vlen;
			nd->used += vlen;
			return 0;
		}
		ent.key = dupkey(key, klen);
		ent.klen = klen;
		ent.val = v;
		ent.vlen = vlen;
		if (!ent.key) {
			free(v);
			return -ENOMEM;
		}
		return ins_ent(nd, i, ent);
	}
	rc = tree_put(t, nd->e[i].kid, key, klen, val, vlen);
	return rc < 0 ? rc : fix_child(t, nd, i);
}

/* 1 when removed, 0 when absent */
static int tree_del(struct bt *t, struct bt_node *nd, const char *key, size_t klen)
{
	int eq, i, rc;

	i = search(nd, key, klen, &eq);
	if (nd->leaf) {
		struct bt_ent ent;

		if (!eq)
			return 0;
		rc = touch(t, nd);
		if (rc < 0)
			return rc;
		ent = del_ent(nd, i);
		free(ent.key);
		free(ent.val);
		return 1;
	}
	rc = tree_del(t, nd->e[i].kid, key, klen);
	if (rc <= 0)
		return rc;
	rc = touch(t, nd);
	if (rc == 0)
		rc = fix_child(t, nd, i);
	return rc < 0 ? rc : 1;
}

/*
 * After child i of p changed: split it when over a page, or merge it with a
 * sibling (or even the two out) when under BT_MIN_FILL.
 */
static int fix_child(struct bt *t, struct bt_node *p, int i)
{
	struct bt_node *c = p->e[i].kid, *l, *r;
	struct bt_ent ent;
	int li, rc;

	if (c->used > BT_CAP) {
		struct bt_node *right;
		char *sep;
		size_t seplen;

		rc = split(c, &right, &sep, &seplen);
		if (rc < 0)
			return rc;
		ent = (struct bt_ent){ sep, seplen, NULL, 0, right };
		return ins_ent(p, i + 1, ent);
	}
	if (c->used >= BT_MIN_FILL || p->n < 2)
		return 0;
	li = i > 0 ? i - 1 : i;
	l = p->e[li].kid;
	r = p->e[li + 1].kid;
	rc = touch(t, l);
	if (rc == 0)
		rc = touch(t, r);
	if (rc < 0)
		return rc;
	/* r's first entry takes the parent's separator (for a branch, its
	 * -inf key becomes a real one again) */
	ent = del_ent(p, li + 1);
	if (!r->leaf) {
		r->e[0].key = ent.key;
		r->e[0].klen = ent.klen;
		r->used += ent.klen;
	} else {
		free(ent.key);
	}
	/* everything into l, then split again if it does not fit */
	rc = node_reserve(l, l->n + r->n);
	if (rc < 0)
		return rc;
	for (int k = 0; k < r->n; k++) {
		l->e[l->n++] = r->e[k];
		l->used += esize(l, &r->e[k]);
	}
	r->n = 0;
	rc = drop(t, r);
	if (rc < 0)
		return rc;
	if (l->used > BT_CAP)
		return fix_child(t, p, li); /* redistribute: split evenly */
	return 0;
}

static int root_fix(struct bt *t)
{
	struct bt_node *r = t->root, *nr;
	int rc;

	if (!r)
		return 0;
	if (r->used > BT_CAP) {
		struct bt_ent ent = { 0 };

		nr = node_new(0);
		if (!nr)
			return -ENOMEM;
		ent.kid = r;
		rc = ins_ent(nr, 0, ent);
		if (rc == 0)
			rc = fix_child(t, nr, 0);
		if (rc < 0)
			return rc;
		t->root = nr;
		return 0;
	}
	if (!r->leaf && r->n == 1) {
		t->root = r->e[0].kid;
		r->n = 0;
		return drop(t, r);
	}
	if (r->leaf && r->n == 0) {
		t->root = NULL;
		return drop(t, r);
	}
	return 0;
}

/* ==== 5. commit ========================================================== */

static int grow_map(struct bt *t, uint32_t n)
{
	if (n <= t->fcap)
		return 0;
	size_t c = t->fcap ? t->fcap : 64;
	while (c < n)
		c *= 2;
	uint8_t *m = realloc(t->fmap, c);
	if (!m)
		return -ENOMEM;
	memset(m + t->fcap, 0, c - t->fcap);
	t->fmap = m;
	t->fcap = c;
	return 0;
}

static int alloc_page(struct bt *t, uint32_t *out)
{
	for (uint32_t p = 2; p < t->npages; p++)
		if (t->fmap[p]) {
			t->fmap[p] = 0;
			*out = p;
			return 0;
		}
	if (grow_map(t, t->npages + 1) < 0)
		return -ENOMEM;
	*out = t->npages++;
	return 0;
}

static int write_node(struct bt *t, struct bt_node *nd, uint8_t *page, uint64_t txn)
{
	size_t pos = BT_PAGEHDR;
	int rc;

	if (!nd->dirty)
		return 0;
	if (!nd->leaf)
		for (int i = 0; i < nd->n; i++) {
			rc = write_node(t, nd->e[i].kid, page, txn);
			if (rc < 0)
				return rc;
		}
	if (!nd->pgno) {
		rc = alloc_page(t, &nd->pgno);
		if (rc < 0)
			return rc;
	}
	memset(page, 0, BT_PAGE);
	for (int i = 0; i < nd->n; i++) {
		struct bt_ent *e = &nd->e[i];
		uint8_t *p = page + pos;

		p[0] = (uint8_t)e->klen;
		p[1] = 0;
		if (nd->leaf) {
			put_u16(p + 2, (uint16_t)e->vlen);
			memcpy(p + 4, e->key, e->klen);
			memcpy(p + 4 + e->klen, e->val, e->vlen);
		} else {
			put_u16(p + 2, 0);
			put_u32(p + 4, e->kid->pgno);
			if (e->klen)
				memcpy(p + 8, e->key, e->klen);
		}
		pos += esize(nd, e);
	}
	bt_page_seal(page, nd->pgno, nd->leaf ? BT_LEAF : BT_BRANCH, nd->n, txn);
	rc = eio_pwrite(t->f, page, BT_PAGE, (off_t)nd->pgno * BT_PAGE);
	if (rc < 0)
		return rc;
	nd->dirty = 0;
	return 0;
}

static uint32_t depth_of(const struct bt_node *nd)
{
	uint32_t d = 0;

	for (; nd; nd = nd->leaf ? NULL : nd->e[0].kid)
		d++;
	return d;
}

/* fdatasync of the database (the fsync-retry bug retries a failed one) */
static int bt_datasync(struct bt *t)
{
	int rc = eio_sync(t->f);

	if (rc == -EIO && t->bug == BUG_FSYNC_RETRY)
		rc = eio_sync(t->f); /* the mistake: "succeeds", data gone */
	return rc;
}

static int pipe_drain(struct bt *t);

static int bt_commit(struct bt *t)
{
	struct bt_meta m;
	uint8_t *page;
	int rc = 0;

	if (t->failed)
		return -EIO;
	rc = pipe_drain(t); /* every pipelined transaction durable first */
	if (rc < 0)
		return rc;
	page = eio_alloc_any(BT_PAGE);
	if (!page)
		return -ENOMEM;
	if (!t->root ? t->meta.root == 0 : !t->root->dirty)
		goto out; /* nothing changed */
	if (t->root) {
		rc = write_node(t, t->root, page, t->meta.txn + 1);
		if (rc < 0)
			goto out;
	}
	/* the new pages are durable before the meta points at them */
	if (t->bug != BUG_META_BEFORE_PAGES) {
		rc = bt_datasync(t);
		if (rc < 0)
			goto out;
	}
	m.txn = t->meta.txn + 1;
	m.root = t->root ? t->root->pgno : 0;
	m.npages = t->npages;
	m.depth = depth_of(t->root);
	bt_meta_encode(page, &m);
	rc = eio_pwrite(t->f, page, BT_PAGE, (off_t)(m.txn % 2) * BT_PAGE);
	if (rc < 0)
		goto out;
	/* the commit point: the meta is durable */
	rc = bt_datasync(t);
	if (rc < 0)
		goto out;
	t->meta = m;
	/* the pages this transaction freed are reusable from the next one */
	for (size_t i = 0; i < t->npfree; i++)
		t->fmap[t->pfree[i]] = 1;
	t->npfree = 0;
out:
	free(page);
	if (rc < 0)
		t->failed = 1; /* see "Faults": reopen to go on */
	else
		t->tick_grouped = t->tick_done = t->tick;
	return rc;
}

/* ---- the commit pipeline (struct bt_txn) ---- */

/* a failure anywhere in the pipeline: fatal, as in bt_commit */
static int pipe_fail(struct bt *t, int rc)
{
	t->failed = 1;
	return rc;
}

/* the oldest group's meta is durable: its tickets done, its freed pages free */
static void pipe_pop(struct bt *t)
{
	struct bt_txn *x = &t->q[t->qh];

	for (size_t i = 0; i < x->nfreed; i++)
		t->fmap[x->freed[i]] = 1;
	free(x->freed);
	t->tick_done = x->tick;
	memset(x, 0, sizeof(*x));
	t->qh = (t->qh + 1) % BT_PIPE;
	t->qn--;
}

/*
 * A new group for every ticket not in one yet: its dirty nodes go to pages
 * no meta that recovery could pick reaches (copy-on-write from pages freed
 * by durable groups), with an fdatasync behind them.  Nothing changed
 * since the newest group started: the tickets join that group (or are done
 * at once, when none is in flight).
 */
static int group_start(struct bt *t)
{
	struct bt_txn *x;
	uint8_t *page;
	int rc = 0;

	if (!t->root ? t->meta.root == 0 : !t->root->dirty) {
		if (t->qn)
			t->q[(t->qh + t->qn - 1) % BT_PIPE].tick = t->tick;
		else
			t->tick_done = t->tick;
		t->tick_grouped = t->tick;
		return 0;
	}
	x = &t->q[(t->qh + t->qn) % BT_PIPE];
	memset(x, 0, sizeof(*x));
	if (t->root) {
		page = eio_alloc_any(BT_PAGE);
		if (!page)
			return -ENOMEM;
		rc = write_node(t, t->root, page, t->meta.txn + 1);
		free(page);
		/* the pages are durable before the meta points at them (the bug:
		 * they go with the meta, under its one fdatasync) */
		if (rc == 0 && t->bug != BUG_META_BEFORE_PAGES)
			rc = eio_sync_start(t->f, &x->a);
		if (rc < 0)
			return rc;
	}
	x->m.txn = t->meta.txn + 1;
	x->m.root = t->root ? t->root->pgno : 0;
	x->m.npages = t->npages;
	x->m.depth = depth_of(t->root);
	x->tick = t->tick;
	x->freed = t->pfree;
	x->nfreed = t->npfree;
	t->pfree = NULL;
	t->npfree = t->cpfree = 0;
	t->meta = x->m;
	t->tick_grouped = t->tick;
	t->filling = 1;
	t->qn++;
	return 0;
}

/* the oldest group's pages are durable and the group before it too: its
 * meta goes to slot txn % 2, which holds the meta two groups back */
static int meta_start(struct bt *t, struct bt_txn *x)
{
	uint8_t *page = eio_alloc_any(BT_PAGE);
	int rc;

	if (!page)
		return -ENOMEM;
	bt_meta_encode(page, &x->m);
	rc = eio_pwrite(t->f, page, BT_PAGE, (off_t)(x->m.txn % 2) * BT_PAGE);
	free(page);
	/* the commit point: the fdatasync behind the meta */
	if (rc == 0)
		rc = eio_sync_start(t->f, &x->b);
	if (rc == 0 && t->qn == 1)
		t->filling = 0;
	return rc;
}

/*
 * Move the pipeline on: start a group for new tickets when none is filling;
 * the oldest group completes when its meta is durable, and its meta is
 * written once its pages are (being the oldest, the one before is
 * durable).  With wait, blocks until engine ticket `until` is done; else
 * takes only what already completed.  0, or the error (fatal).
 */
static int pipe_step(struct bt *t, int wait, uint64_t until)
{
	int rc = 0;

	while (!t->failed) {
		int nowait = !wait || t->tick_done >= until;
		struct bt_txn *x = &t->q[t->qh];

		if (t->tick > t->tick_grouped && !t->filling && t->qn < BT_PIPE) {
			rc = group_start(t);
			if (rc < 0)
				break;
			continue;
		}
		if (!t->qn)
			break;
		if (x->b) {
			rc = eio_sync_wait(t->f, x->b, nowait);
			if (rc <= 0)
				break;
			pipe_pop(t);
			continue;
		}
		if (x->a) {
			rc = eio_sync_wait(t->f, x->a, nowait);
			if (rc <= 0)
				break;
		}
		rc = meta_start(t, x);
		if (rc < 0)
			break;
	}
	return rc < 0 ? pipe_fail(t, rc) : 0;
}

static int pipe_drain(struct bt *t)
{
	int rc = t->tick_done < t->tick ? pipe_step(t, 1, t->tick) : 0;

	if (rc == 0 && t->tick_done < t->tick)
		rc = pipe_fail(t, -EIO); /* cannot happen: the step waited */
	return rc;
}

/*
 * The asynchronous commit (eng_ops.sync_start), a group commit: while one
 * group's pages flush, the tickets started meanwhile wait to form the next
 * group, whose pages are written once the one before moved on to its
 * meta.  So the pages of group N + 1 flush while the meta of N does, and a
 * group takes every commit that arrived during one flush.  The seeded
 * bugs make the same mistakes here (touch, drop, group_start), except
 * fsync-retry, a mistake of bt_datasync's: that one commits synchronously.
 */
static int bt_sync_start(void *e, uint64_t *ticket)
{
	struct bt *t = e;
	int rc;

	*ticket = t->tick + 1;
	if (t->failed)
		return -EIO;
	if (t->bug == BUG_FSYNC_RETRY) {
		rc = bt_commit(t);
		if (rc == 0)
			t->tick_grouped = t->tick_done = ++t->tick;
		return rc;
	}
	t->tick++;
	return pipe_step(t, 0, 0);
}

static int bt_sync_wait(void *e, uint64_t ticket, int nowait)
{
	struct bt *t = e;
	int rc;

	rc = eng_ticket_state(ticket, t->tick_done, t->tick, t->failed);
	if (rc)
		return rc;
	rc = pipe_step(t, !nowait, ticket);
	if (rc < 0)
		return rc;
	return ticket <= t->tick_done;
}

/* ==== 6. open ============================================================ */

static int load(struct bt *t, uint32_t pg, int depth, struct bt_node **out)
{
	uint8_t *page = eio_alloc(t->f, BT_PAGE);
	struct bt_pent *pe = NULL;
	struct bt_node *nd = NULL;
	ssize_t n;
	int type, cnt, rc;

	*out = NULL;
	if (!page)
		return -ENOMEM;
	rc = -ENG_E_CORRUPT;
	if (pg < 2 || pg >= t->meta.npages || depth > 64 || !t->fmap[pg]) {
		eng_seterr("btree: page %u: out of range or reachable twice", pg);
		goto out;
	}
	t->fmap[pg] = 0; /* reachable: not free */
	n = eio_pread(t->f, page, BT_PAGE, (off_t)pg * BT_PAGE);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (n < BT_PAGE)
		memset(page + n, 0, BT_PAGE - (size_t)n);
	pe = calloc(BT_CAP / 4 + 1, sizeof(*pe));
	if (!pe) {
		rc = -ENOMEM;
		goto out;
	}
	rc = bt_page_decode(page, pg, &type, pe, BT_CAP / 4, &cnt);
	if (rc < 0) {
		eng_seterr("btree: page %u: bad checksum or layout", pg);
		goto out;
	}
	nd = node_new(type == BT_LEAF);
	if (!nd || node_reserve(nd, cnt) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	nd->dirty = 0;
	nd->pgno = pg;
	for (int i = 0; i < cnt; i++) {
		struct bt_ent *e = &nd->e[i];

		memset(e, 0, sizeof(*e));
		nd->n++;
		e->klen = pe[i].klen;
		e->key = e->klen ? dupkey((const char *)pe[i].key, e->klen) : NULL;
		if (nd->leaf) {
			e->vlen = pe[i].vlen;
			e->val = malloc(e->vlen ? e->vlen : 1);
			if (!e->val || (e->klen && !e->key)) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(e->val, pe[i].val, e->vlen);
		} else {
			rc = load(t, pe[i].child, depth + 1, &e->kid);
			if (rc < 0)
				goto out;
		}
		nd->used += esize(nd, e);
	}
	*out = nd;
	nd = NULL;
	rc = 0;
out:
	node_free(nd);
	free(pe);
	free(page);
	return rc;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int init_file(struct bt *t)
{
	uint8_t *page = eio_alloc_any(2 * BT_PAGE);
	struct bt_meta m = { 0, 0, 2, 0 };
	int rc;

	if (!page)
		return -ENOMEM;
	bt_meta_encode(page, &m);
	bt_meta_encode(page + BT_PAGE, &m);
	rc = eio_pwrite(t->f, page, 2 * BT_PAGE, 0);
	free(page);
	/* the empty database is durable before anything is committed in it */
	if (rc == 0)
		rc = eio_fsync(t->f);
	/* and so is its name */
	if (rc == 0 && t->bug != BUG_NO_DIRSYNC_CREATE)
		rc = eio_dir_sync(t->dirfd);
	if (rc == 0)
		t->meta = m;
	return rc;
}

static int recover(struct bt *t)
{
	uint8_t *pages = NULL;
	struct bt_meta m[2];
	int ok[2], rc;
	ssize_t n;

	rc = eio_open(&t->f, t->dirfd, "btree.db",
		      EIO_CREATE | (t->bug == BUG_SHORT_WRITE ? EIO_BUG_SHORT : 0), t->mode);
	if (rc < 0)
		return rc;
	pages = eio_alloc(t->f, 2 * BT_PAGE);
	if (!pages)
		return -ENOMEM;
	n = eio_pread(t->f, pages, 2 * BT_PAGE, 0);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (n < 2 * BT_PAGE)
		memset(pages + n, 0, 2 * BT_PAGE - (size_t)n);
	ok[0] = bt_meta_decode(pages, &m[0]) == 0;
	ok[1] = bt_meta_decode(pages + BT_PAGE, &m[1]) == 0;
	if (!ok[0] && !ok[1]) {
		off_t size;

		rc = eio_size(t->f, &size);
		if (rc < 0)
			goto out;
		/* no page is written before the initial metas are durable: a
		 * file of at most the two meta pages, neither valid, is one
		 * whose creation never completed */
		if (size <= 2 * BT_PAGE || all_zero(pages, 2 * BT_PAGE)) {
			rc = init_file(t);
			goto done;
		}
		eng_seterr("btree: no valid meta page");
		rc = -ENG_E_CORRUPT;
		goto out;
	}
	t->meta = ok[0] && (!ok[1] || m[0].txn >= m[1].txn) ? m[0] : m[1];
done:
	if (rc < 0)
		goto out;
	t->npages = t->meta.npages;
	rc = grow_map(t, t->npages + 1);
	if (rc < 0)
		goto out;
	/* every page is free until the walk finds it reachable */
	memset(t->fmap, 0, t->fcap);
	for (uint32_t p = 2; p < t->npages; p++)
		t->fmap[p] = 1;
	if (t->meta.root)
		rc = load(t, t->meta.root, 1, &t->root);
out:
	free(pages);
	return rc;
}

/* ==== 7. verification and interface ====================================== */

struct vctx {
	char *msg;
	size_t cap;
	int leaf_depth;
};

static int vnode(const struct bt_node *nd, int depth, int is_root, const char *lo, size_t lol,
		 const char *hi, size_t hil, struct vctx *v)
{
	size_t used = 0;

	if (nd->leaf) {
		if (v->leaf_depth < 0)
			v->leaf_depth = depth;
		if (v->leaf_depth != depth) {
			snprintf(v->msg, v->cap, "btree: leaves at depths %d and %d", v->leaf_depth, depth);
			return 1;
		}
	}
	if (!is_root && (nd->used < BT_MIN_FILL || (!nd->leaf && nd->n < 2) || nd->n < 1)) {
		snprintf(v->msg, v->cap, "btree: page %u under-full (%zu bytes, %d entries)",
			 nd->pgno, nd->used, nd->n);
		return 1;
	}
	for (int i = 0; i < nd->n; i++) {
		const struct bt_ent *e = &nd->e[i];
		int first = !nd->leaf && i == 0;

		used += esize(nd, e);
		if (first && e->klen) {
			snprintf(v->msg, v->cap, "btree: branch page %u: first key not empty", nd->pgno);
			return 1;
		}
		if (!first) {
			if ((lo && eng_keycmp(e->key, e->klen, lo, lol) < 0) ||
			    (hi && eng_keycmp(e->key, e->klen, hi, hil) >= 0) ||
			    (i > (nd->leaf ? 0 : 1) &&
			     eng_keycmp(nd->e[i - 1].key, nd->e[i - 1].klen, e->key, e->klen) >= 0)) {
				snprintf(v->msg, v->cap, "btree: page %u: key '%.*s' out of order",
					 nd->pgno, (int)e->klen, e->key);
				return 1;
			}
		}
		if (!nd->leaf) {
			const char *clo = first ? lo : e->key, *chi = i + 1 < nd->n ? nd->e[i + 1].key : hi;
			size_t clol = first ? lol : e->klen, chil = i + 1 < nd->n ? nd->e[i + 1].klen : hil;
			if (vnode(e->kid, depth + 1, 0, clo, clol, chi, chil, v))
				return 1;
		}
	}
	if (used != nd->used || used > BT_CAP) {
		snprintf(v->msg, v->cap, "btree: page %u: %zu bytes of entries", nd->pgno, used);
		return 1;
	}
	return 0;
}

static int bt_verify(void *e, char *msg, size_t cap)
{
	struct bt *t = e;
	struct vctx v = { msg, cap, -1 };

	if (!t->root)
		return 0;
	if (vnode(t->root, 1, 1, NULL, 0, NULL, 0, &v))
		return 1;
	if ((uint32_t)v.leaf_depth != t->meta.depth) {
		snprintf(msg, cap, "btree: meta says depth %u, the tree has %d", t->meta.depth,
			 v.leaf_depth);
		return 1;
	}
	return 0;
}

static void bt_close(void *e)
{
	struct bt *t = e;

	if (!t)
		return;
	node_free(t->root);
	if (t->f)
		eio_close(t->f);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->fmap);
	free(t->pfree);
	for (unsigned i = 0; i < BT_PIPE; i++)
		free(t->q[i].freed);
	free(t);
}

static int bt_open(void **out, const struct eng_opts *o)
{
	struct bt *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->dirfd = -1;
	t->mode = o->mode;
	t->bug = o->bug;
	rc = eio_dir_open(o->dir, 1);
	if (rc < 0)
		goto fail;
	t->dirfd = rc;
	rc = recover(t);
	if (rc < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	bt_close(t);
	return rc;
}

static int bt_apply(void *e, const struct eng_op *ops, int n)
{
	struct bt *t = e;
	int rc = eng_ops_check(ops, n);

	if (t->failed)
		return -EIO; /* a commit failed: nothing more goes in until reopened */
	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++)
		if (ops[i].type == ENG_PUT && ops[i].vlen > BT_MAX_VAL)
			return -E2BIG;
	/* in memory only: the batch reaches the disk in one commit */
	for (int i = 0; i < n && rc >= 0; i++) {
		if (ops[i].type == ENG_PUT) {
			if (!t->root && !(t->root = node_new(1)))
				return -ENOMEM;
			rc = tree_put(t, t->root, ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen);
		} else if (t->root) {
			rc = tree_del(t, t->root, ops[i].key, ops[i].klen);
		}
		if (rc >= 0)
			rc = root_fix(t);
	}
	return rc < 0 ? rc : 0;
}

static int bt_get(void *e, const char *key, size_t klen, void **val, size_t *vlen)
{
	struct bt *t = e;
	struct bt_node *nd = t->root;
	int eq, i;

	while (nd && !nd->leaf) {
		i = search(nd, key, klen, &eq);
		nd = nd->e[i].kid;
	}
	if (!nd)
		return -ENOENT;
	i = search(nd, key, klen, &eq);
	if (!eq)
		return -ENOENT;
	*val = malloc(nd->e[i].vlen + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, nd->e[i].val, nd->e[i].vlen);
	*vlen = nd->e[i].vlen;
	return 0;
}

static int bt_sync(void *e)
{
	return bt_commit(e);
}

static int walk(const struct bt_node *nd, eng_iter_fn fn, void *arg)
{
	for (int i = 0; i < nd->n; i++) {
		int rc = nd->leaf ? fn(arg, nd->e[i].key, nd->e[i].klen, nd->e[i].val, nd->e[i].vlen)
				  : walk(nd->e[i].kid, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

static int bt_iterate(void *e, eng_iter_fn fn, void *arg)
{
	struct bt *t = e;

	return t->root ? walk(t->root, fn, arg) : 0;
}

const struct eng_ops bt_engine = {
	.name = "btree",
	.bugs = bt_bugs,
	.open = bt_open,
	.apply = bt_apply,
	.get = bt_get,
	.sync = bt_sync,
	.sync_start = bt_sync_start,
	.sync_wait = bt_sync_wait,
	.iterate = bt_iterate,
	.verify = bt_verify,
	.close = bt_close,
};

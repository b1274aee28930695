/*
 * recovery/crash_strategy.c - which crash states to visit, in which order.
 *
 * Sections:
 *   1. Options: defaults and the parsers of the CLI values
 *   2. Pending sets: the units pending at a crash point, kept incrementally
 *   3. Generators, one per strategy, each yielding states in canonical order
 *   4. The merge (union, each state once) and crash_space_enumerate/count
 *
 * A state at crash point P is a "kind array" over the pending units at P
 * (in units[] order): 0 keeps the unit (its new content), 'd' drops it,
 * 'z' / 'g' leave a data unit zeroed / garbage.  Canonical order inside a
 * crash point is the lexicographic order of the devs lists ((seq, unit,
 * kind) triples, the same order as in the id), the reference state (no
 * devs) first.  Every generator yields in that order, so a k-way merge gives
 * the union in order with duplicates adjacent: memory is a few kind arrays
 * per strategy, whatever the number of states.
 *
 * The strategies, at each crash point of the --crash-points set, with n
 * pending units, m pending events (a write's units together) and T the
 * tear kinds other than "new" ({d} plus z, g from --tear):
 *   sync        only at durability points and the end: the reference and
 *               everything dropped (2 states, 1 when nothing is pending);
 *   prefix      the events persisted in trace order up to each one: events
 *               [0, j) kept, [j, m) dropped for j = 0..m (m + 1 states);
 *   torn        the last pending write with data units (torn:all: each one),
 *               n_w of them, every other unit kept: for n_w >= 2, for each
 *               boundary k = 1..n_w-1, units [k, n_w) torn (the head
 *               persisted) and units [0, k) torn (the tail persisted), each
 *               torn part in every kind of T: 2 (n_w - 1) |T| states; for
 *               n_w = 1 the unit zeroed / garbage only (|T| - 1 states);
 *   reorder:K   every set of at most K devs: sum over i <= K of the ways to
 *               pick i units and a kind of T for each (sum C(n, i) by default);
 *   random:N    N draws: a crash point uniform over the set, then each pending
 *               unit kept or given a kind of T, uniformly; from --seed only;
 *               draws that coincide are one state;
 *   exhaustive  every kind array: prod over units of (1 + |T_u|) (2^n by
 *               default), refused with -E2BIG when the total over all crash
 *               points exceeds --max-states.
 * z and g apply to data units only; size, truncate and namespace units can
 * only be kept or dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "crash_int.h"

/* ==========================================================================
 * 1. Options
 * ========================================================================== */

#define CRASH_RANDOM_MAX  (1ull << 26)   /* random:N draws, all strategies together */

void crash_opts_default(struct crash_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->model = CRASH_MODEL_AUTO;
	o->sector = 512;
	o->atomic = 0;
	o->tear = CRASH_TEAR_OLD | CRASH_TEAR_NEW;
	o->strat[0].kind = CRASH_STRAT_SYNC;
	o->nstrat = 1;
	o->seed = 0;
	o->max_states = 100000;
	o->points = CRASH_POINTS_ALL;
}

static int parse_u64(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!n || n > 19)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

static int perr(char *err, size_t errlen, const char *fmt, const char *a, size_t alen)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, (int)alen, a);
	return -EINVAL;
}

int crash_opts_parse_strategy(struct crash_opts *o, const char *spec, char *err, size_t errlen)
{
	struct crash_strategy st[CRASH_MAX_STRATEGIES];
	const char *p = spec;
	int n = 0;

	if (!spec || !*spec)
		return perr(err, errlen, "strategy: expected a comma list of sync, prefix, torn[:all], "
			    "reorder:K, random:N, exhaustive, got '%.*s'", "", 0);
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		size_t nlen = colon ? (size_t)(colon - p) : len;
		uint64_t v = 0;

		if (n == CRASH_MAX_STRATEGIES)
			return perr(err, errlen, "strategy: at most 8 strategies, got '%.*s'", spec,
				    strlen(spec));
		memset(&st[n], 0, sizeof(st[n]));
		if (nlen == 4 && !memcmp(p, "sync", 4) && !colon) {
			st[n].kind = CRASH_STRAT_SYNC;
		} else if (nlen == 6 && !memcmp(p, "prefix", 6) && !colon) {
			st[n].kind = CRASH_STRAT_PREFIX;
		} else if (nlen == 4 && !memcmp(p, "torn", 4)) {
			st[n].kind = CRASH_STRAT_TORN;
			if (colon && !(len - nlen - 1 == 3 && !memcmp(colon + 1, "all", 3)))
				return perr(err, errlen, "strategy: expected torn or torn:all, got '%.*s'",
					    p, len);
			st[n].n = colon ? 1 : 0;
		} else if ((nlen == 7 && !memcmp(p, "reorder", 7)) || (nlen == 6 && !memcmp(p, "random", 6))) {
			if (!colon || parse_u64(colon + 1, len - nlen - 1, &v) < 0)
				return perr(err, errlen, "strategy: expected a number after ':' in '%.*s' "
					    "(reorder:K, random:N)", p, len);
			st[n].kind = nlen == 7 ? CRASH_STRAT_REORDER : CRASH_STRAT_RANDOM;
			st[n].n = v;
			/* The draws are kept (sorted by crash point): 16 bytes each. */
			if (st[n].kind == CRASH_STRAT_RANDOM && v > CRASH_RANDOM_MAX)
				return perr(err, errlen, "strategy: at most 67108864 random draws, got '%.*s'",
					    p, len);
		} else if (nlen == 10 && !memcmp(p, "exhaustive", 10) && !colon) {
			st[n].kind = CRASH_STRAT_EXHAUSTIVE;
		} else {
			return perr(err, errlen, "strategy: unknown '%.*s' (expected sync, prefix, "
				    "torn[:all], reorder:K, random:N or exhaustive)", p, len);
		}
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	memcpy(o->strat, st, sizeof(st[0]) * (size_t)n);
	o->nstrat = n;
	return 0;
}

int crash_opts_parse_tear(struct crash_opts *o, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;
	unsigned m = CRASH_TEAR_OLD | CRASH_TEAR_NEW;

	if (!spec || !*spec)
		return perr(err, errlen, "tear: expected a comma list of old, new, zeros, garbage, got '%.*s'",
			    "", 0);
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 3 && !memcmp(p, "old", 3))
			m |= CRASH_TEAR_OLD;
		else if (len == 3 && !memcmp(p, "new", 3))
			m |= CRASH_TEAR_NEW;
		else if (len == 5 && !memcmp(p, "zeros", 5))
			m |= CRASH_TEAR_ZEROS;
		else if (len == 7 && !memcmp(p, "garbage", 7))
			m |= CRASH_TEAR_GARBAGE;
		else
			return perr(err, errlen, "tear: unknown pattern '%.*s' (expected old, new, "
				    "zeros or garbage)", p, len);
		if (!e)
			break;
		p = e + 1;
	}
	o->tear = m;
	return 0;
}

int crash_opts_parse_points(struct crash_opts *o, const char *spec, char *err, size_t errlen)
{
	const char *dash;
	uint64_t a, b;

	if (spec && !strcmp(spec, "all")) {
		o->points = CRASH_POINTS_ALL;
		return 0;
	}
	if (spec && !strcmp(spec, "sync")) {
		o->points = CRASH_POINTS_SYNC;
		return 0;
	}
	dash = spec ? strchr(spec, '-') : NULL;
	if (!dash || parse_u64(spec, (size_t)(dash - spec), &a) < 0 ||
	    parse_u64(dash + 1, strlen(dash + 1), &b) < 0)
		return perr(err, errlen, "crash points: expected all, sync or a range A-B, got '%.*s'",
			    spec ? spec : "", spec ? strlen(spec) : 0);
	if (a > b)
		return perr(err, errlen, "crash points: range '%.*s' is empty (A > B)", spec, strlen(spec));
	o->points = CRASH_POINTS_RANGE;
	o->point_lo = a;
	o->point_hi = b;
	return 0;
}

int crash_opts_parse_model(struct crash_opts *o, const char *spec, char *err, size_t errlen)
{
	if (spec && !strcmp(spec, "auto"))
		o->model = CRASH_MODEL_AUTO;
	else if (spec && !strcmp(spec, "buffered"))
		o->model = CRASH_MODEL_BUFFERED;
	else if (spec && !strcmp(spec, "direct"))
		o->model = CRASH_MODEL_DIRECT;
	else
		return perr(err, errlen, "model: expected auto, buffered or direct, got '%.*s'",
			    spec ? spec : "", spec ? strlen(spec) : 0);
	return 0;
}

/* ==========================================================================
 * 2. Pending sets
 * ========================================================================== */

struct pendset {
	const struct crash_space *s;
	uint32_t *u;          /* unit indices, units[] order */
	size_t n, cap;
	size_t next;          /* first unit not yet considered */
	uint64_t point;
};

static void pend_init(struct pendset *ps, const struct crash_space *s)
{
	memset(ps, 0, sizeof(*ps));
	ps->s = s;
}

/* Move to crash point @p (never backwards). */
static int pend_advance(struct pendset *ps, uint64_t p)
{
	const struct crash_space *s = ps->s;
	size_t i, kept = 0;

	for (i = 0; i < ps->n; i++)
		if (cu_pending(&s->units[ps->u[i]], p))
			ps->u[kept++] = ps->u[i];
	ps->n = kept;
	for (; ps->next < s->nunits && s->units[ps->next].seq < p; ps->next++) {
		if (!cu_pending(&s->units[ps->next], p))
			continue;
		if (ps->n == ps->cap) {
			size_t cap = ps->cap ? ps->cap * 2 : 64;
			uint32_t *q = realloc(ps->u, cap * sizeof(*q));
			if (!q)
				return -ENOMEM;
			ps->u = q;
			ps->cap = cap;
		}
		ps->u[ps->n++] = (uint32_t)ps->next;
	}
	ps->point = p;
	return 0;
}

/* ==========================================================================
 * 3. Generators
 * ========================================================================== */

/* Compare two kind arrays of @n entries in canonical (devs list) order. */
static int kinds_cmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i, j;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	if (i == n)
		return 0;
	if (a[i] && b[i])
		return a[i] < b[i] ? -1 : 1;
	/* One has a dev at i, the other none: the other is smaller only when
	 * it has no dev after i either (it is then a prefix). */
	if (a[i]) {
		for (j = i + 1; j < n && !b[j]; j++)
			;
		return j == n ? 1 : -1;
	}
	for (j = i + 1; j < n && !a[j]; j++)
		;
	return j == n ? -1 : 1;
}

/* A contiguous run of units [lo, hi) all of one kind; lo == hi: reference. */
struct run {
	uint32_t lo, hi;
	uint8_t k;
};

static int run_cmp(const void *pa, const void *pb)
{
	const struct run *a = pa, *b = pb;

	if (a->lo == a->hi || b->lo == b->hi)
		return (a->lo != a->hi) - (b->lo != b->hi);
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	return (a->hi > b->hi) - (a->hi < b->hi);
}

enum gen_type { GEN_RUNS = 1, GEN_DFS, GEN_RAND };

struct gen {
	enum gen_type type;
	int has;              /* head holds a state */
	uint8_t *head;        /* kind array, n entries */
	/* GEN_RUNS */
	struct run *runs;
	size_t nruns, rcap, ir;
	/* GEN_DFS */
	uint32_t *stk;
	size_t depth, maxdepth, scap;
	int started;
	/* GEN_RAND: draws at this point, kind arrays back to back */
	uint8_t *rk;
	size_t nrk, rkcap, irk;
	uint32_t *order;
	size_t ocap;
};

struct enumctx {
	struct crash_space *s;
	struct pendset ps;
	struct gen g[CRASH_MAX_STRATEGIES];
	uint8_t *cur;         /* the state being emitted */
	size_t kcap;          /* capacity of head/cur arrays */
	const char **ukinds;  /* cu_kinds per pending unit */
	size_t ukcap;
	/* random draws, sorted by (point index, draw) */
	uint64_t *draws;      /* point index << 32 | draw index, sorted */
	size_t ndraws, idraw;
	uint64_t *pointset;
	size_t npointset;
};

static int run_add(struct gen *g, uint32_t lo, uint32_t hi, uint8_t k)
{
	if (g->nruns == g->rcap) {
		size_t cap = g->rcap ? g->rcap * 2 : 16;
		struct run *r = realloc(g->runs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		g->runs = r;
		g->rcap = cap;
	}
	g->runs[g->nruns].lo = lo;
	g->runs[g->nruns].hi = hi;
	g->runs[g->nruns].k = k;
	g->nruns++;
	return 0;
}

/* The tear kinds of --tear other than "new", in id order. */
static const char *tear_kinds(const struct crash_space *s)
{
	static const char *k[4] = { "d", "dz", "dg", "dgz" };
	return k[((s->o.tear & CRASH_TEAR_ZEROS) ? 1 : 0) | ((s->o.tear & CRASH_TEAR_GARBAGE) ? 2 : 0)];
}

static int torn_write(struct enumctx *c, struct gen *g, uint32_t a, uint32_t b)
{
	const char *tk = tear_kinds(c->s);
	uint32_t n = b - a, k;
	const char *p;
	int r = 0;

	for (p = tk; *p && !r; p++) {
		if (n == 1) {
			if (*p != 'd')
				r = run_add(g, a, b, (uint8_t)*p);
			continue;
		}
		for (k = 1; k < n && !r; k++) {
			r = run_add(g, a + k, b, (uint8_t)*p);     /* head persisted */
			if (!r)
				r = run_add(g, a, a + k, (uint8_t)*p); /* tail persisted */
		}
	}
	return r;
}

/* Fill generator @g for strategy @st at the current crash point. */
static int gen_setup(struct enumctx *c, struct gen *g, const struct crash_strategy *st, int at_sync)
{
	const struct crash_space *s = c->s;
	const struct pendset *ps = &c->ps;
	uint32_t n = (uint32_t)ps->n, i, j;
	int r = 0;

	g->has = 0;
	g->nruns = g->ir = 0;
	g->depth = 0;
	g->started = 0;
	g->nrk = g->irk = 0;
	switch (st->kind) {
	case CRASH_STRAT_SYNC:
		g->type = GEN_RUNS;
		if (!at_sync)
			return 0;
		r = run_add(g, 0, 0, 0);
		if (!r && n)
			r = run_add(g, 0, n, 'd');
		break;
	case CRASH_STRAT_PREFIX:
		g->type = GEN_RUNS;
		r = run_add(g, 0, 0, 0);
		for (i = 0; i < n && !r; i++)
			if (!i || s->units[ps->u[i]].seq != s->units[ps->u[i - 1]].seq)
				r = run_add(g, i, n, 'd');
		break;
	case CRASH_STRAT_TORN:
		g->type = GEN_RUNS;
		/* Data units of one write are contiguous in the pending list. */
		for (i = n; i > 0 && !r;) {
			const struct cu *u = &s->units[ps->u[i - 1]];

			if (u->kind != CU_DATA) {
				i--;
				continue;
			}
			for (j = i - 1; j > 0 && s->units[ps->u[j - 1]].seq == u->seq &&
			     s->units[ps->u[j - 1]].kind == CU_DATA; j--)
				;
			r = torn_write(c, g, j, i);
			if (!st->n)
				break;   /* torn: the last pending write only */
			i = j;
		}
		break;
	case CRASH_STRAT_REORDER:
	case CRASH_STRAT_EXHAUSTIVE:
		g->type = GEN_DFS;
		g->maxdepth = st->kind == CRASH_STRAT_REORDER ? (size_t)st->n : (size_t)-1;
		if (g->scap < n + 1) {
			uint32_t *q = realloc(g->stk, (n + 1) * sizeof(*q));
			if (!q)
				return -ENOMEM;
			g->stk = q;
			g->scap = n + 1;
		}
		memset(g->head, 0, n);
		return 0;
	case CRASH_STRAT_RANDOM:
		g->type = GEN_RAND;
		return 0;   /* filled by the caller (draws at this point) */
	}
	if (r < 0)
		return r;
	if (g->nruns)
		qsort(g->runs, g->nruns, sizeof(*g->runs), run_cmp);
	return 0;
}

/* Advance @g to its next state (g->has = 0 at the end). */
static void gen_next(struct enumctx *c, struct gen *g)
{
	size_t n = c->ps.n;

	g->has = 0;
	switch (g->type) {
	case GEN_RUNS:
		while (g->ir < g->nruns) {
			const struct run *r = &g->runs[g->ir++];

			/* duplicates are adjacent after the sort */
			if (g->ir > 1 && !run_cmp(r, r - 1))
				continue;
			memset(g->head, 0, n);
			memset(g->head + r->lo, r->k, r->hi - r->lo);
			g->has = 1;
			return;
		}
		return;
	case GEN_DFS:
		/* Preorder over sorted dev lists: the reference, then extend
		 * with the next unit when allowed, else change the kind of the
		 * last dev, else move it right, else pop. */
		if (!g->started) {
			g->started = 1;
			g->has = 1;
			return;
		}
		if (g->depth < g->maxdepth) {
			size_t nx = g->depth ? g->stk[g->depth - 1] + 1 : 0;
			if (nx < n) {
				g->stk[g->depth++] = (uint32_t)nx;
				g->head[nx] = (uint8_t)c->ukinds[nx][0];
				g->has = 1;
				return;
			}
		}
		while (g->depth) {
			uint32_t i = g->stk[g->depth - 1];
			const char *k = strchr(c->ukinds[i], g->head[i]);

			if (k && k[1]) {
				g->head[i] = (uint8_t)k[1];
				g->has = 1;
				return;
			}
			g->head[i] = 0;
			if (i + 1 < n) {
				g->stk[g->depth - 1] = i + 1;
				g->head[i + 1] = (uint8_t)c->ukinds[i + 1][0];
				g->has = 1;
				return;
			}
			g->depth--;
		}
		return;
	case GEN_RAND:
		while (g->irk < g->nrk) {
			size_t k = g->order[g->irk++];
			if (g->irk > 1 && !kinds_cmp(g->rk + k * n, g->rk + g->order[g->irk - 2] * n, n))
				continue;
			memcpy(g->head, g->rk + k * n, n);
			g->has = 1;
			return;
		}
		return;
	}
}

/* ---- random draws */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The random stream of draw @i: a function of (seed, i) only. */
static uint64_t draw_seed(uint64_t seed, uint64_t i)
{
	uint64_t in[2] = { seed, i };
	return XXH3_64bits_withSeed(in, sizeof(in), 0x746f726e64726177ull);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

struct rk_sort {
	const uint8_t *rk;
	size_t n;
};

static int rk_cmp(const void *a, const void *b, void *arg)
{
	const struct rk_sort *k = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int r = kinds_cmp(k->rk + (size_t)x * k->n, k->rk + (size_t)y * k->n, k->n);
	return r ? r : (x > y) - (x < y);
}

/* Draws whose crash point is the current one: generate their kind arrays. */
static int rand_setup(struct enumctx *c, struct gen *g, size_t pidx, uint64_t seed)
{
	size_t n = c->ps.n, first = c->idraw, m, i, j;

	while (c->idraw < c->ndraws && (c->draws[c->idraw] >> 32) == pidx)
		c->idraw++;
	m = c->idraw - first;
	g->nrk = g->irk = 0;
	if (!m)
		return 0;
	if (m * (n ? n : 1) > g->rkcap) {
		uint8_t *q = realloc(g->rk, m * (n ? n : 1));
		if (!q)
			return -ENOMEM;
		g->rk = q;
		g->rkcap = m * (n ? n : 1);
	}
	if (m > g->ocap) {
		uint32_t *q = realloc(g->order, m * sizeof(*q));
		if (!q)
			return -ENOMEM;
		g->order = q;
		g->ocap = m;
	}
	for (i = 0; i < m; i++) {
		uint64_t x = draw_seed(seed, c->draws[first + i] & 0xffffffffu);

		splitmix(&x);   /* the first value chose the crash point */
		for (j = 0; j < n; j++) {
			const char *k = c->ukinds[j];
			uint64_t ch = splitmix(&x) % (strlen(k) + 1);
			g->rk[i * n + j] = ch ? (uint8_t)k[ch - 1] : 0;
		}
		g->order[i] = (uint32_t)i;
	}
	{
		struct rk_sort k = { g->rk, n };
		qsort_r(g->order, m, sizeof(*g->order), rk_cmp, &k);
	}
	g->nrk = m;
	return 0;
}

/* ==========================================================================
 * 4. Merge, enumerate, count
 * ========================================================================== */

static int point_set(const struct crash_space *s, uint64_t **out, size_t *n)
{
	const uint64_t *src = s->o.points == CRASH_POINTS_SYNC ? s->syncpts : s->points;
	size_t ns = s->o.points == CRASH_POINTS_SYNC ? s->nsync : s->npoints, i, k = 0;
	uint64_t *p = malloc((ns ? ns : 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	for (i = 0; i < ns; i++)
		if (s->o.points != CRASH_POINTS_RANGE ||
		    (src[i] >= s->o.point_lo && src[i] <= s->o.point_hi))
			p[k++] = src[i];
	*out = p;
	*n = k;
	return 0;
}

static int is_sync_point(const struct crash_space *s, uint64_t p)
{
	return bsearch(&p, s->syncpts, s->nsync, sizeof(*s->syncpts), u64_cmp) != NULL;
}

static void ctx_free(struct enumctx *c)
{
	int i;

	for (i = 0; i < CRASH_MAX_STRATEGIES; i++) {
		free(c->g[i].head);
		free(c->g[i].runs);
		free(c->g[i].stk);
		free(c->g[i].rk);
		free(c->g[i].order);
	}
	free(c->ps.u);
	free(c->cur);
	free(c->ukinds);
	free(c->draws);
	free(c->pointset);
}

/* Saturating arithmetic for counts. */
static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

/* States exhaustive would visit over the whole point set. */
static int exhaustive_total(struct enumctx *c, uint64_t *total)
{
	struct pendset ps;
	uint64_t t = 0;
	size_t i, j;
	int r = 0;

	pend_init(&ps, c->s);
	for (i = 0; i < c->npointset && !r; i++) {
		uint64_t per = 1;

		r = pend_advance(&ps, c->pointset[i]);
		for (j = 0; j < ps.n && !r; j++)
			per = sat_mul(per, 1 + strlen(cu_kinds(c->s, &c->s->units[ps.u[j]])));
		t = sat_add(t, per);
	}
	free(ps.u);
	*total = t;
	return r;
}

static int draws_setup(struct enumctx *c, uint64_t ndraw, uint64_t seed)
{
	uint64_t i;

	if (!ndraw || !c->npointset)
		return 0;
	if (ndraw > CRASH_RANDOM_MAX)
		return -E2BIG;
	c->draws = malloc(ndraw * sizeof(*c->draws));
	if (!c->draws)
		return -ENOMEM;
	for (i = 0; i < ndraw; i++) {
		uint64_t x = draw_seed(seed, i);
		uint64_t p = splitmix(&x) % c->npointset;
		c->draws[i] = p << 32 | i;
	}
	c->ndraws = (size_t)ndraw;
	qsort(c->draws, c->ndraws, sizeof(*c->draws), u64_cmp);
	return 0;
}

/* The engine of enumerate and count: @fn NULL counts into *count. */
static int run_enum(struct crash_space *s, crash_visit_fn fn, void *arg, uint64_t *count)
{
	struct enumctx c;
	struct crash_state *st = NULL, *base = NULL;
	struct crash_dev *devs = NULL;
	size_t devcap = 0, pi;
	uint64_t seen = 0, ndraw = 0;
	int i, r, nst = s->o.nstrat, has_exh = 0;

	memset(&c, 0, sizeof(c));
	c.s = s;
	pend_init(&c.ps, s);
	r = point_set(s, &c.pointset, &c.npointset);
	if (r < 0)
		goto out;
	for (i = 0; i < nst; i++) {
		if (s->o.strat[i].kind == CRASH_STRAT_EXHAUSTIVE)
			has_exh = 1;
		if (s->o.strat[i].kind == CRASH_STRAT_RANDOM)
			ndraw = sat_add(ndraw, s->o.strat[i].n);
	}
	if (has_exh) {
		uint64_t total;

		r = exhaustive_total(&c, &total);
		if (r < 0)
			goto out;
		if (total > s->o.max_states) {
			r = -E2BIG;
			goto out;
		}
	}
	/* All random:N strategies share one stream of draws (their union). */
	r = draws_setup(&c, ndraw, s->o.seed);
	if (r < 0)
		goto out;
	if (fn) {
		r = crash_state_alloc(s, &st);
		if (!r)
			r = crash_state_alloc(s, &base);
		if (r < 0)
			goto out;
		st->base = base;
	}
	for (pi = 0; pi < c.npointset; pi++) {
		uint64_t p = c.pointset[pi];
		size_t n, j;
		int at_sync = is_sync_point(s, p), seen_rand = 0;

		r = pend_advance(&c.ps, p);
		if (r < 0)
			goto out;
		n = c.ps.n;
		/* Everything before the first pending unit is settled for this
		 * and every later crash point: keep it built once. */
		if (base) {
			r = crash_base_advance(base, n ? s->units[c.ps.u[0]].seq : p);
			if (r < 0)
				goto out;
		}
		if (n + 1 > c.kcap) {
			size_t cap = n + 1;
			for (i = 0; i < nst; i++) {
				uint8_t *q = realloc(c.g[i].head, cap);
				if (!q) {
					r = -ENOMEM;
					goto out;
				}
				c.g[i].head = q;
			}
			if (!(c.cur = realloc(c.cur, cap))) {
				r = -ENOMEM;
				goto out;
			}
			c.kcap = cap;
		}
		if (n + 1 > c.ukcap) {
			const char **q = realloc(c.ukinds, (n + 1) * sizeof(*q));
			if (!q) {
				r = -ENOMEM;
				goto out;
			}
			c.ukinds = q;
			c.ukcap = n + 1;
		}
		for (j = 0; j < n; j++)
			c.ukinds[j] = cu_kinds(s, &s->units[c.ps.u[j]]);
		for (i = 0; i < nst; i++) {
			r = gen_setup(&c, &c.g[i], &s->o.strat[i], at_sync);
			if (!r && s->o.strat[i].kind == CRASH_STRAT_RANDOM) {
				/* One generator carries all draws; the others stay empty. */
				if (!seen_rand++)
					r = rand_setup(&c, &c.g[i], pi, s->o.seed);
			}
			if (r < 0)
				goto out;
			gen_next(&c, &c.g[i]);
		}
		for (;;) {
			struct gen *min = NULL;
			size_t nd = 0;

			for (i = 0; i < nst; i++)
				if (c.g[i].has && (!min || kinds_cmp(c.g[i].head, min->head, n) < 0))
					min = &c.g[i];
			if (!min)
				break;
			memcpy(c.cur, min->head, n);
			for (i = 0; i < nst; i++)
				if (c.g[i].has && !kinds_cmp(c.g[i].head, c.cur, n))
					gen_next(&c, &c.g[i]);
			seen++;
			if (!fn)
				continue;
			if (n > devcap) {
				struct crash_dev *q = realloc(devs, n * sizeof(*q));
				if (!q) {
					r = -ENOMEM;
					goto out;
				}
				devs = q;
				devcap = n;
			}
			for (j = 0; j < n; j++)
				if (c.cur[j]) {
					const struct cu *u = &s->units[c.ps.u[j]];
					devs[nd].seq = u->seq;
					devs[nd].unit = u->unit;
					devs[nd].kind = (char)c.cur[j];
					nd++;
				}
			r = crash_state_set(st, p, devs, nd);
			if (r < 0)
				goto out;
			r = fn(arg, st);
			if (r)
				goto out;
		}
	}
	r = 0;
out:
	if (count)
		*count = seen;
	crash_state_free(st);
	crash_state_free(base);
	free(devs);
	ctx_free(&c);
	return r;
}

int crash_space_enumerate(struct crash_space *s, crash_visit_fn fn, void *arg)
{
	return run_enum(s, fn, arg, NULL);
}

/* States strategy @st yields at a crash point with pending set @ps, from
 * the definitions at the top of this file (a single generator never yields
 * a state twice, so this is exact for one strategy alone). */
static uint64_t closed_count(const struct crash_space *s, const struct pendset *ps,
			     const struct crash_strategy *st, int at_sync, uint64_t *dp, size_t dpcap)
{
	uint64_t t = strlen(tear_kinds(s)), c = 0, k;
	size_t n = ps->n, i, j;

	switch (st->kind) {
	case CRASH_STRAT_SYNC:
		return at_sync ? (n ? 2 : 1) : 0;
	case CRASH_STRAT_PREFIX:
		for (i = 0; i < n; i++)
			c += !i || s->units[ps->u[i]].seq != s->units[ps->u[i - 1]].seq;
		return c + 1;
	case CRASH_STRAT_TORN:
		for (i = n; i > 0;) {
			const struct cu *u = &s->units[ps->u[i - 1]];
			uint64_t nw;

			if (u->kind != CU_DATA) {
				i--;
				continue;
			}
			for (j = i - 1; j > 0 && s->units[ps->u[j - 1]].seq == u->seq &&
			     s->units[ps->u[j - 1]].kind == CU_DATA; j--)
				;
			nw = i - j;
			c = sat_add(c, nw >= 2 ? sat_mul(2 * (nw - 1), t) : t - 1);
			if (!st->n)
				break;
			i = j;
		}
		return c;
	case CRASH_STRAT_REORDER:
	case CRASH_STRAT_EXHAUSTIVE:
		/* dp[i] = ways to choose i devs so far (elementary symmetric sums
		 * of the per-unit kind counts), up to K. */
		k = st->kind == CRASH_STRAT_REORDER ? st->n : UINT64_MAX;
		if (k >= n) {
			c = 1;
			for (i = 0; i < n; i++)
				c = sat_mul(c, 1 + strlen(cu_kinds(s, &s->units[ps->u[i]])));
			return c;
		}
		if ((size_t)k + 1 > dpcap)
			return UINT64_MAX;   /* the caller sized dp for K <= n */
		memset(dp, 0, ((size_t)k + 1) * sizeof(*dp));
		dp[0] = 1;
		for (i = 0; i < n; i++) {
			uint64_t w = strlen(cu_kinds(s, &s->units[ps->u[i]]));
			for (j = (size_t)k; j > 0; j--)
				dp[j] = sat_add(dp[j], sat_mul(dp[j - 1], w));
		}
		for (j = 0; j <= (size_t)k; j++)
			c = sat_add(c, dp[j]);
		return c;
	case CRASH_STRAT_RANDOM:
		break;
	}
	return 0;
}

/* The sum over strategies of their closed counts: exact for one strategy,
 * an upper bound of the union otherwise.  -1 when a random strategy is in. */
static int64_t closed_total(struct crash_space *s)
{
	struct pendset ps;
	uint64_t *pts = NULL, *dp = NULL, total = 0;
	size_t np = 0, i, dpcap = 0;
	int k;

	for (k = 0; k < s->o.nstrat; k++)
		if (s->o.strat[k].kind == CRASH_STRAT_RANDOM)
			return -1;
	if (point_set(s, &pts, &np) < 0)
		return -ENOMEM;
	pend_init(&ps, s);
	for (i = 0; i < np; i++) {
		int at_sync = is_sync_point(s, pts[i]);

		if (pend_advance(&ps, pts[i]) < 0) {
			total = UINT64_MAX;
			break;
		}
		if (ps.n + 1 > dpcap) {
			uint64_t *q = realloc(dp, (ps.n + 1) * sizeof(*q));
			if (!q) {
				total = UINT64_MAX;
				break;
			}
			dp = q;
			dpcap = ps.n + 1;
		}
		for (k = 0; k < s->o.nstrat; k++)
			total = sat_add(total, closed_count(s, &ps, &s->o.strat[k], at_sync, dp, dpcap));
	}
	free(ps.u);
	free(dp);
	free(pts);
	return total > INT64_MAX ? INT64_MAX : (int64_t)total;
}

/* Unions larger than this are not enumerated just to be counted. */
#define CRASH_COUNT_ENUM_MAX 20000000ull

int64_t crash_space_count(struct crash_space *s)
{
	uint64_t n = 0, total;
	int64_t c = closed_total(s);
	int r, k, has_exh = 0;

	for (k = 0; k < s->o.nstrat; k++)
		has_exh |= s->o.strat[k].kind == CRASH_STRAT_EXHAUSTIVE;
	if (c >= 0 && has_exh) {
		/* The refusal applies to exhaustive's own count. */
		struct crash_strategy only = { CRASH_STRAT_EXHAUSTIVE, 0 };
		struct crash_opts save = s->o;

		s->o.strat[0] = only;
		s->o.nstrat = 1;
		total = (uint64_t)closed_total(s);
		s->o = save;
		if (total > s->o.max_states)
			return -E2BIG;
	}
	/* One strategy: its closed form is exact.  A small union: count it by
	 * enumerating (duplicates between strategies counted once).  A huge
	 * union: the sum, an upper bound. */
	if (c >= 0 && (s->o.nstrat == 1 || (uint64_t)c > CRASH_COUNT_ENUM_MAX))
		return c;
	r = run_enum(s, NULL, NULL, &n);
	if (r < 0)
		return r;
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

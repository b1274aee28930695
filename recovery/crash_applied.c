/*
 * recovery/crash_applied.c - the applied-set key of a state: a cheap
 * stand-in for its content hash when two states are the same by
 * construction.
 *
 * Sections:
 *   1. Per-unit hashes
 *   2. The cursor: the key of the reference state at the current point
 *   3. crash_applied_key
 *
 * A state's image is a function of which units it applies and how
 * (crash_state_build: the units with seq < P in trace order, each applied,
 * skipped, zeroed or garbage).  Its key is the sum, in two independent
 * 64-bit lanes, of one pseudo-random value per (unit, how) it applies:
 * equal keys mean the same applied set (up to a 2^-128 chance, the same
 * order as the XXH3-128 content dedup), hence the same files.  The converse
 * does not hold (different sets can give the same files): the explorer
 * checks the key first, and builds and hashes only the states whose key it
 * has not seen.  With marks after every write, half the states of a prefix
 * run are the same set reached from two crash points.
 *
 * The key of (P, devs) = the sum over the units applied at P with nothing
 * dropped (kept up to date as P grows: units with seq < P, minus those
 * lost before P), then for each dev on a pending unit: minus the unit's
 * "applied" value, plus its "zeros" / "garbage" value.  The cost is one
 * pass over the devs, not over the bytes.
 */
#include <errno.h>
#include <stdlib.h>

#include "crash_int.h"

/* ==========================================================================
 * 1. Per-unit hashes
 * ========================================================================== */

/* splitmix64's finaliser: a bijection, every input bit reaching every
 * output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* How a unit is applied: 0 as issued, 1 zeros, 2 garbage. */
static void unit_add(uint64_t *a, uint64_t *b, size_t idx, unsigned how, int sign)
{
	uint64_t x = (uint64_t)idx * 4 + how;
	uint64_t h1 = mix(x ^ 0x243f6a8885a308d3ull), h2 = mix(x ^ 0x13198a2e03707344ull);

	if (sign > 0) {
		*a += h1;
		*b += h2;
	} else {
		*a -= h1;
		*b -= h2;
	}
}

/* ==========================================================================
 * 2. The cursor
 * ========================================================================== */

struct lost {
	uint64_t end;
	size_t idx;
};

struct crash_applied {
	const struct crash_space *s;
	struct lost *lost;   /* the lost units, by end seq */
	size_t nlost;
	uint64_t point;      /* the sums below are for this crash point */
	size_t ui, li;       /* units [0, ui) added, lost[0, li) taken off */
	uint64_t a, b;
};

static int lost_cmp(const void *pa, const void *pb)
{
	const struct lost *x = pa, *y = pb;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int crash_applied_new(const struct crash_space *s, struct crash_applied **out)
{
	struct crash_applied *c = calloc(1, sizeof(*c));
	size_t i;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->s = s;
	for (i = 0; i < s->nunits; i++)
		c->nlost += s->units[i].fate == CU_LOST;
	if (c->nlost) {
		c->lost = malloc(c->nlost * sizeof(*c->lost));
		if (!c->lost) {
			free(c);
			return -ENOMEM;
		}
		c->nlost = 0;
		for (i = 0; i < s->nunits; i++)
			if (s->units[i].fate == CU_LOST)
				c->lost[c->nlost++] = (struct lost){ s->units[i].end, i };
		qsort(c->lost, c->nlost, sizeof(*c->lost), lost_cmp);
	}
	*out = c;
	return 0;
}

void crash_applied_free(struct crash_applied *c)
{
	if (!c)
		return;
	free(c->lost);
	free(c);
}

/* Move the cursor to crash point @p (enumeration: p never decreases; any
 * other order starts over). */
static void seek(struct crash_applied *c, uint64_t p)
{
	const struct crash_space *s = c->s;

	if (p < c->point) {
		c->ui = c->li = 0;
		c->a = c->b = 0;
	}
	c->point = p;
	for (; c->ui < s->nunits && s->units[c->ui].seq < p; c->ui++)
		unit_add(&c->a, &c->b, c->ui, 0, 1);
	/* A lost unit is never applied once its failed fsync is before p (it
	 * was added above: its seq is before its end). */
	for (; c->li < c->nlost && c->lost[c->li].end < p; c->li++)
		unit_add(&c->a, &c->b, c->lost[c->li].idx, 0, -1);
}

/* ==========================================================================
 * 3. The key
 * ========================================================================== */

torn_hash crash_applied_key(struct crash_applied *c, const struct crash_state *st)
{
	const struct crash_space *s = c->s;
	torn_hash k;
	uint64_t a, b;
	size_t d, i = 0;

	seek(c, st->point);
	a = c->a;
	b = c->b;
	/* Devs and units share one order: walk both, a binary search only for
	 * a jump (devs far apart). */
	for (d = 0; d < st->ndevs; d++) {
		const struct crash_dev *v = &st->devs[d];
		const struct cu *u;
		int64_t f;
		size_t stop = i + 8 < s->nunits ? i + 8 : s->nunits;

		while (i < stop && (s->units[i].seq < v->seq ||
		       (s->units[i].seq == v->seq && s->units[i].unit < v->unit)))
			i++;
		if (i == stop && i < s->nunits) {
			f = crash_unit_find(s, v->seq, v->unit);
			if (f < 0)
				continue;
			i = (size_t)f;
		}
		if (i >= s->nunits)
			break;
		u = &s->units[i];
		/* A dev on a unit that is not pending changes nothing (as in
		 * crash_state_build). */
		if (u->seq != v->seq || u->unit != v->unit || !cu_pending(u, st->point))
			continue;
		unit_add(&a, &b, i, 0, -1);
		if (v->kind == CRASH_DEV_ZERO)
			unit_add(&a, &b, i, 1, 1);
		else if (v->kind == CRASH_DEV_GARBAGE)
			unit_add(&a, &b, i, 2, 1);
	}
	k.lo = a;
	k.hi = b;
	return k;
}

/*
 * recovery/crash_ackloss.c - data acknowledged after a failed fsync.
 *
 * PostgreSQL retried a failed fsync for years ("fsyncgate"): on Linux a
 * failed writeback marks the pages clean, so the retry succeeds without
 * writing them, and whatever the program promised afterwards rests on data
 * the disk never got.  The model already drops those pages (their units end
 * CU_LOST at the failed flush); this pass finds where the program went on to
 * acknowledge - a successful flush of the same file, then a mark - while the
 * dropped bytes were not written again and made durable first.  Explore
 * reports such a state as a failure of its own ("acknowledged after failed
 * fsync"), whatever the checker makes of it.
 *
 * Sections: 1. the lost ranges of one failed flush, 2. the pass, 3. text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_int.h"

/* ==========================================================================
 * 1. Lost ranges
 * ========================================================================== */

struct lost {
	uint64_t off, len;
	uint64_t seq;         /* the write it came from */
	int      rewritten;   /* a later durable write covers it */
};

/* The data units the failed flush @f dropped, into @l (grown). */
static int lost_collect(const struct crash_space *s, const struct crash_fsync *f,
			struct lost **l, size_t *n, size_t *cap)
{
	*n = 0;
	for (size_t i = 0; i < s->nunits && s->units[i].seq < f->seq; i++) {
		const struct cu *u = &s->units[i];

		if (u->kind != CU_DATA || u->fate != CU_LOST || u->end != f->seq ||
		    u->ino != f->ino || !u->len)
			continue;
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 16;
			struct lost *m = realloc(*l, c * sizeof(*m));

			if (!m)
				return -ENOMEM;
			*l = m;
			*cap = c;
		}
		(*l)[(*n)++] = (struct lost){ u->off, u->len, u->seq, 0 };
	}
	return 0;
}

/* Mark the lost ranges that a write issued after them and durable before
 * @before covers whole (the program wrote the data again: nothing lost),
 * or that a durable truncate below them removed.  Returns how many remain. */
static size_t lost_settle(const struct crash_space *s, uint32_t ino, uint64_t after,
			  uint64_t before, struct lost *l, size_t n)
{
	size_t left = n;

	for (size_t i = 0; i < s->nunits && s->units[i].seq < before && left; i++) {
		const struct cu *u = &s->units[i];

		if (u->seq <= after || u->ino != ino || u->fate != CU_DURABLE || u->end >= before)
			continue;
		if (u->kind != CU_DATA && u->kind != CU_TRUNC)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (l[j].rewritten || u->seq <= l[j].seq)
				continue;
			if ((u->kind == CU_DATA && u->off <= l[j].off &&
			     u->off + u->len >= l[j].off + l[j].len) ||
			    (u->kind == CU_TRUNC && u->len <= l[j].off)) {
				l[j].rewritten = 1;
				left--;
			}
		}
	}
	return left;
}

/* ==========================================================================
 * 2. The pass
 * ========================================================================== */

static int ackloss_add(struct crash_space *s, const struct crash_ackloss *a, size_t *cap)
{
	if (s->nacklosses == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		struct crash_ackloss *m = realloc(s->acklosses, c * sizeof(*m));

		if (!m)
			return -ENOMEM;
		s->acklosses = m;
		*cap = c;
	}
	s->acklosses[s->nacklosses++] = *a;
	return 0;
}

/* The first crash point after @seq (the end point when none). */
static uint64_t point_after(const struct crash_space *s, uint64_t seq)
{
	size_t lo = 0, hi = s->npoints;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->points[mid] <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->npoints ? s->points[lo] : s->end_point;
}

int crash_ackloss_find(struct crash_space *s)
{
	struct lost *l = NULL;
	size_t nl = 0, lcap = 0, acap = 0;
	int r = 0;

	for (size_t i = 0; i < s->nfsyncs; i++) {
		const struct crash_fsync *f = &s->fsyncs[i];
		const struct crash_fsync *g = NULL;
		const struct crash_mark *m = NULL;
		struct crash_ackloss a;
		size_t j, left;

		if (!f->err)
			continue;
		/* The next successful flush of the file, then the next mark. */
		for (j = i + 1; j < s->nfsyncs && !g; j++)
			if (s->fsyncs[j].ino == f->ino && !s->fsyncs[j].err)
				g = &s->fsyncs[j];
		if (!g)
			continue;
		for (j = 0; j < s->nmarks && !m; j++)
			if (s->marks[j].seq > g->seq)
				m = &s->marks[j];
		if (!m)
			continue;
		r = lost_collect(s, f, &l, &nl, &lcap);
		if (r < 0)
			break;
		if (!nl)
			continue;
		left = lost_settle(s, f->ino, 0, m->seq, l, nl);
		if (!left)
			continue;
		memset(&a, 0, sizeof(a));
		a.fail_seq = f->seq;
		a.retry_seq = g->seq;
		a.mark_seq = m->seq;
		a.point = point_after(s, m->seq);
		a.err = f->err;
		a.path = s->inos[f->ino].path;
		a.path_len = s->inos[f->ino].plen;
		a.mark = m->text;
		a.mark_len = m->len;
		a.lost_off = UINT64_MAX;
		a.first_write = UINT64_MAX;
		for (j = 0; j < nl; j++) {
			if (l[j].rewritten)
				continue;
			a.lost_bytes += l[j].len;
			if (l[j].off < a.lost_off)
				a.lost_off = l[j].off;
			if (l[j].seq != a.first_write &&
			    (j == 0 || l[j].seq != l[j - 1].seq || l[j - 1].rewritten))
				a.nwrites++;
			if (l[j].seq < a.first_write)
				a.first_write = l[j].seq;
		}
		r = ackloss_add(s, &a, &acap);
		if (r < 0)
			break;
	}
	free(l);
	return r;
}

const struct crash_ackloss *crash_space_acklosses(const struct crash_space *s, size_t *n)
{
	*n = s->nacklosses;
	return s->acklosses;
}

/* ==========================================================================
 * 3. Text
 * ========================================================================== */

static const char *errno_name(int e)
{
	switch (e) {
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EDQUOT: return "EDQUOT";
	case EINTR: return "EINTR";
	case EROFS: return "EROFS";
	case EINVAL: return "EINVAL";
	default: return NULL;
	}
}

int crash_ackloss_describe(const struct crash_ackloss *a, char *buf, size_t len)
{
	const char *en = errno_name(a->err);
	char e[24];
	uint32_t ml = a->mark_len > 80 ? 80 : a->mark_len;

	if (en)
		snprintf(e, sizeof(e), "%s", en);
	else
		snprintf(e, sizeof(e), "errno %d", a->err);
	return snprintf(buf, len,
			CRASH_ACKLOSS_REASON ": %s%.*s lost %" PRIu64 " byte%s at offset %" PRIu64
			" (%" PRIu32 " write%s from seq %" PRIu64 ") when the flush at seq %" PRIu64
			" failed (%s); the flush at seq %" PRIu64 " succeeded without them, then "
			"mark '%.*s%s' at seq %" PRIu64,
			a->path_len ? "" : "(root)", (int)a->path_len, a->path ? a->path : "",
			a->lost_bytes, a->lost_bytes == 1 ? "" : "s", a->lost_off, a->nwrites,
			a->nwrites == 1 ? "" : "s", a->first_write, a->fail_seq, e, a->retry_seq,
			(int)ml, a->mark ? a->mark : "", a->mark_len > ml ? "..." : "", a->mark_seq);
}

/* ==========================================================================
 * 4. For explore: which finding covers a state, and the states to check
 * ========================================================================== */

const struct crash_ackloss *crash_state_ackloss(const struct crash_state *st, int *reference)
{
	const struct crash_space *s = st->s;
	const struct crash_ackloss *best = NULL;

	*reference = 0;
	for (size_t i = 0; i < s->nacklosses; i++)
		if (s->acklosses[i].point <= st->point)
			best = &s->acklosses[i];
	if (best && best->point == st->point && st->ndevs == 0)
		*reference = 1;
	return best;
}

int crash_ackloss_visit(struct crash_space *s, crash_visit_fn fn, void *arg)
{
	uint64_t last = 0;
	int r = 0;

	for (size_t i = 0; i < s->nacklosses && r == 0; i++) {
		const struct crash_ackloss *a = &s->acklosses[i];
		struct crash_state *st = NULL;

		if (a->point == last)
			continue;
		last = a->point;
		if (s->o.points == CRASH_POINTS_RANGE &&
		    (a->point < s->o.point_lo || a->point > s->o.point_hi))
			continue;
		r = crash_state_alloc(s, &st);
		if (r == 0)
			r = crash_state_set(st, a->point, NULL, 0);
		if (r == 0)
			r = fn(arg, st);
		crash_state_free(st);
	}
	return r;
}

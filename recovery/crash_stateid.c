/*
 * recovery/crash_stateid.c - state ids (grammar in crash.h): format, parse,
 * and crash_state_from_id.
 *
 * Sections:
 *   1. Canonical order and (compact) formatting
 *   2. Parsing the option prefix ("s4096a4096md/")
 *   3. crash_state_from_id: parse (ranges and whole writes expanded to
 *      units), check every unit against the pending set
 *
 * Examples: "p57" (the reference state at crash point 57), "p57:d12.3"
 * (unit 3 of event 12 dropped), "p57:d12.sz:d14" (the size update of
 * write 12 and the whole event 14 dropped), "p57:d12.0-15:z12.16" (units 0
 * to 15 of write 12 dropped, unit 16 zeroed), "p57:d12" (every unit of
 * write 12 dropped), "s4096/p9:z5.0" (4096-byte sectors; unit 0 of write 5
 * zeroed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_int.h"

/* ==========================================================================
 * 1. Order and formatting
 * ========================================================================== */

int crash_dev_cmp(const void *pa, const void *pb)
{
	const struct crash_dev *a = pa, *b = pb;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->unit != b->unit)
		return a->unit < b->unit ? -1 : 1;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

/* The option prefix, "" when every option is the default. */
static void params_fmt(const struct crash_opts *o, unsigned atomic, char *buf, size_t len)
{
	int n;

	buf[0] = 0;
	if (o->sector == 512 && atomic == o->sector && o->model == CRASH_MODEL_AUTO)
		return;
	n = snprintf(buf, len, "s%u", o->sector);
	if (atomic != o->sector)
		n += snprintf(buf + n, len - (size_t)n, "a%u", atomic);
	if (o->model != CRASH_MODEL_AUTO)
		n += snprintf(buf + n, len - (size_t)n, "m%c", o->model == CRASH_MODEL_BUFFERED ? 'b' : 'd');
	snprintf(buf + n, len - (size_t)n, "/");
}

/* Append @fmt's output to @buf at *at (capacity len).  -ENOSPC when full. */
static int put(char *buf, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *at)
		return -ENOSPC;
	*at += (size_t)n;
	return 0;
}

/* Index of the first unit of event @seq in s->units (s->nunits if none). */
static size_t event_first(const struct crash_space *s, uint64_t seq)
{
	size_t lo = 0, hi = s->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->units[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Number of units of event @seq that may appear in an id (all but the
 * starting-content ones, which sort last). */
static size_t event_nunits(const struct crash_space *s, uint64_t seq)
{
	size_t i = event_first(s, seq), n = 0;

	for (; i < s->nunits && s->units[i].seq == seq; i++)
		n += s->units[i].kind != CU_INIT;
	return n;
}

/* Append the devs of one event (devs[0..n), sorted, one seq) in compact
 * form: "dSEQ" when every unit of the event is dropped, else one item per
 * maximal run of consecutive data units of one kind ("d12.0-15"). */
static int event_fmt(const struct crash_space *s, const struct crash_dev *devs, size_t n,
		     char *buf, size_t len, size_t *at)
{
	uint64_t seq = devs[0].seq;
	size_t i, e;
	int r;

	for (i = 0; i < n && devs[i].kind == CRASH_DEV_DROP; i++)
		;
	if (i == n && n == event_nunits(s, seq))
		return put(buf, len, at, ":d%" PRIu64, seq);
	for (i = 0; i < n; i = e + 1) {
		const struct crash_dev *d = &devs[i];

		e = i;
		if (d->unit == CRASH_UNIT_WHOLE) {
			r = put(buf, len, at, ":%c%" PRIu64, d->kind, seq);
		} else if (d->unit == CRASH_UNIT_SIZE) {
			r = put(buf, len, at, ":%c%" PRIu64 ".sz", d->kind, seq);
		} else {
			while (e + 1 < n && devs[e + 1].kind == d->kind &&
			       devs[e + 1].unit == devs[e].unit + 1)
				e++;
			if (e > i)
				r = put(buf, len, at, ":%c%" PRIu64 ".%" PRId64 "-%" PRId64, d->kind,
					seq, d->unit, devs[e].unit);
			else
				r = put(buf, len, at, ":%c%" PRIu64 ".%" PRId64, d->kind, seq, d->unit);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Format (point, sorted devs) into @buf.  Returns the length or -ENOSPC. */
static int id_fmt_sorted(const struct crash_space *s, uint64_t point, const struct crash_dev *devs,
			 size_t ndevs, char *buf, size_t len)
{
	char params[64];
	size_t at, i, j;
	int n;

	params_fmt(&s->o, s->usize_direct, params, sizeof(params));
	n = snprintf(buf, len, "%sp%" PRIu64, params, point);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	at = (size_t)n;
	for (i = 0; i < ndevs; i = j) {
		for (j = i + 1; j < ndevs && devs[j].seq == devs[i].seq; j++)
			;
		if (event_fmt(s, devs + i, j - i, buf, len, &at) < 0)
			return -ENOSPC;
	}
	return (int)at;
}

int crash_id_format(const struct crash_space *s, uint64_t point, const struct crash_dev *devs,
		    size_t ndevs, char *buf, size_t len)
{
	struct crash_dev *d = NULL;
	size_t i, k = 0;
	int r;

	if (ndevs) {
		d = malloc(ndevs * sizeof(*d));
		if (!d)
			return -ENOMEM;
		memcpy(d, devs, ndevs * sizeof(*d));
		qsort(d, ndevs, sizeof(*d), crash_dev_cmp);
		/* One unit, one kind: drop exact repeats, refuse conflicts. */
		for (i = 0; i < ndevs; i++) {
			if (k && d[k - 1].seq == d[i].seq && d[k - 1].unit == d[i].unit) {
				if (d[k - 1].kind != d[i].kind) {
					free(d);
					return -EINVAL;
				}
				continue;
			}
			d[k++] = d[i];
		}
	}
	r = id_fmt_sorted(s, point, d, k, buf, len);
	free(d);
	return r;
}

/* Set @st to (point, devs) with devs sorted and unique; formats the id. */
int crash_state_set(struct crash_state *st, uint64_t point, const struct crash_dev *devs,
		    size_t ndevs)
{
	int n;

	if (ndevs > st->devcap) {
		size_t cap = ndevs * 2;
		struct crash_dev *d = realloc(st->devs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		st->devs = d;
		st->devcap = cap;
	}
	if (ndevs)
		memcpy(st->devs, devs, ndevs * sizeof(*devs));
	st->ndevs = ndevs;
	st->point = point;
	st->built = 0;
	st->have_hash = 0;
	for (;;) {
		n = st->idcap ? id_fmt_sorted(st->s, point, st->devs, ndevs, st->id, st->idcap) : -ENOSPC;
		if (n >= 0)
			return 0;
		{
			size_t cap = st->idcap ? st->idcap * 2 : 64 + ndevs * 32;
			char *q = realloc(st->id, cap);
			if (!q)
				return -ENOMEM;
			st->id = q;
			st->idcap = cap;
		}
	}
}

/* ==========================================================================
 * 2. The option prefix
 * ========================================================================== */

static int num(const char **p, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;

	while (**p >= '0' && **p <= '9') {
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(**p - '0');
		(*p)++;
		n++;
	}
	*v = x;
	return n ? 0 : -EINVAL;
}

/* Parse "sN[aN][m(b|d)]/" at the start of @id into sector/atomic/model.
 * Returns the prefix length (0 when there is none) or -EINVAL. */
static int params_parse(const char *id, unsigned *sector, unsigned *atomic, enum crash_model *model)
{
	const char *slash = strchr(id, '/'), *p = id;
	uint64_t v;

	*sector = 512;
	*atomic = 0;
	*model = CRASH_MODEL_AUTO;
	if (!slash)
		return 0;
	if (*p++ != 's' || num(&p, &v) < 0 || (v != 512 && v != 4096))
		return -EINVAL;
	*sector = (unsigned)v;
	if (*p == 'a') {
		p++;
		if (num(&p, &v) < 0 || v < 512 || v % 512 || (v & (v - 1)) || v > (1u << 30))
			return -EINVAL;
		*atomic = (unsigned)v;
	}
	if (*p == 'm') {
		p++;
		if (*p == 'b')
			*model = CRASH_MODEL_BUFFERED;
		else if (*p == 'd')
			*model = CRASH_MODEL_DIRECT;
		else
			return -EINVAL;
		p++;
	}
	if (p != slash)
		return -EINVAL;
	return (int)(slash - id) + 1;
}

int crash_id_parse_opts(const char *id, struct crash_opts *o, char *err, size_t errlen)
{
	unsigned sector, atomic;
	enum crash_model model;
	int r = params_parse(id, &sector, &atomic, &model);

	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "state id '%s': bad option prefix (expected "
				 "s512|s4096, then aN, mb|md, then '/')", id);
		return -EINVAL;
	}
	o->sector = sector;
	o->atomic = atomic;
	o->model = model;
	return 0;
}

/* ==========================================================================
 * 3. crash_state_from_id
 * ========================================================================== */

/* The message names the bad part of the id; the caller names the id itself
 * ("state id 'ID': MESSAGE", as cli/crashcli.c does). */
static int id_err(char *err, size_t errlen, const char *id, const char *fmt, const char *part,
		  size_t plen)
{
	(void)id;
	if (err && errlen)
		snprintf(err, errlen, fmt, (int)plen, part);
	return -EINVAL;
}

static const char *unit_what(const struct cu *u)
{
	switch (u->kind) {
	case CU_DATA: return "a data unit";
	case CU_SIZE: return "a size update";
	case CU_TRUNC: return "a truncate";
	case CU_FALLOC: return "a fallocate";
	case CU_NS: return "a namespace operation";
	}
	return "the starting snapshot";
}

/* A parsed dev and the part of the id it came from (for messages). */
struct pdev {
	struct crash_dev d;
	const char *part;
	size_t plen;
};

static int pdev_cmp(const void *pa, const void *pb)
{
	return crash_dev_cmp(&((const struct pdev *)pa)->d, &((const struct pdev *)pb)->d);
}

static int pdev_push(struct pdev **v, size_t *n, size_t *cap, const struct pdev *d)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct pdev *q = realloc(*v, nc * sizeof(*q));

		if (!q)
			return -ENOMEM;
		*v = q;
		*cap = nc;
	}
	(*v)[(*n)++] = *d;
	return 0;
}

/* Check that unit @u may take dev @d at @point; the message names the part. */
static int unit_check(const struct cu *u, const struct pdev *d, uint64_t point, char *err,
		      size_t errlen)
{
	char m[192], uname[48];

	if (!cu_pending(u, point)) {
		if (d->d.unit >= 0)
			snprintf(uname, sizeof(uname), " (unit %" PRIu64 ".%" PRId64 ")", u->seq, u->unit);
		else if (d->d.unit == CRASH_UNIT_SIZE)
			snprintf(uname, sizeof(uname), " (unit %" PRIu64 ".sz)", u->seq);
		else
			uname[0] = 0;
		snprintf(m, sizeof(m), "deviation '%%.*s': %s%s not pending at crash point %" PRIu64
			 " (%s)", unit_what(u), uname, point,
			 u->seq >= point ? "not issued yet" :
			 u->fate == CU_DURABLE ? "already durable" : "lost by a failed fsync");
		return id_err(err, errlen, NULL, m, d->part, d->plen);
	}
	if (d->d.kind != CRASH_DEV_DROP && u->kind != CU_DATA)
		return id_err(err, errlen, NULL, "deviation '%.*s': only data units can be zeroed or "
			      "garbage", d->part, d->plen);
	return 0;
}

/* Parse one deviation part[0..plen) (without its ':') at @point and append
 * the devs it names:  kSEQ  kSEQ.sz  kSEQ.U  kSEQ.U-V. */
static int part_parse(struct crash_space *s, uint64_t point, const char *part, size_t plen,
		      struct pdev **v, size_t *n, size_t *cap, char *err, size_t errlen)
{
	const char *p = part;
	struct pdev d = { .part = part, .plen = plen };
	uint64_t x, hi = 0;
	int64_t ui;
	size_t i;
	int r, range = 0;

	if (*p != 'd' && *p != 'z' && *p != 'g')
		return id_err(err, errlen, NULL, "bad deviation '%.*s' (expected d, z or g, then "
			      "SEQ[.UNIT|.UNIT-UNIT|.sz])", part, plen);
	d.d.kind = *p++;
	if (num(&p, &x) < 0)
		return id_err(err, errlen, NULL, "bad deviation '%.*s': expected an event seq", part, plen);
	d.d.seq = x;
	d.d.unit = CRASH_UNIT_WHOLE;
	if (*p == '.') {
		p++;
		if (p[0] == 's' && p[1] == 'z') {
			p += 2;
			d.d.unit = CRASH_UNIT_SIZE;
		} else if (num(&p, &x) < 0 || x > INT64_MAX) {
			return id_err(err, errlen, NULL, "bad deviation '%.*s': expected a unit number "
				      "or 'sz' after '.'", part, plen);
		} else {
			d.d.unit = (int64_t)x;
			if (*p == '-') {
				p++;
				if (num(&p, &hi) < 0 || hi > INT64_MAX)
					return id_err(err, errlen, NULL, "bad deviation '%.*s': expected "
						      "a unit number after '-'", part, plen);
				if (hi < x)
					return id_err(err, errlen, NULL, "bad deviation '%.*s': reversed "
						      "range (the first unit must be the lower)", part, plen);
				range = 1;
			}
		}
	}
	if (*p && *p != ':')
		return id_err(err, errlen, NULL, "bad deviation '%.*s': trailing characters", part, plen);

	if (d.d.unit == CRASH_UNIT_WHOLE) {
		/* The whole event: its one whole-event unit, or every unit of a write. */
		ui = crash_unit_find(s, d.d.seq, CRASH_UNIT_WHOLE);
		if (ui >= 0) {
			r = unit_check(&s->units[ui], &d, point, err, errlen);
			return r < 0 ? r : pdev_push(v, n, cap, &d);
		}
		i = event_first(s, d.d.seq);
		if (i >= s->nunits || s->units[i].seq != d.d.seq || s->units[i].kind == CU_INIT)
			return id_err(err, errlen, NULL, "deviation '%.*s' names no unit of the trace",
				      part, plen);
		if (d.d.kind != CRASH_DEV_DROP)
			return id_err(err, errlen, NULL, "deviation '%.*s': a whole write can only be "
				      "dropped (name its units to zero or garble them: SEQ.U-V)", part, plen);
		for (; i < s->nunits && s->units[i].seq == d.d.seq && s->units[i].kind != CU_INIT; i++) {
			d.d.unit = s->units[i].unit;
			r = unit_check(&s->units[i], &d, point, err, errlen);
			if (r < 0 || (r = pdev_push(v, n, cap, &d)) < 0)
				return r;
		}
		return 0;
	}
	ui = crash_unit_find(s, d.d.seq, d.d.unit);
	if (ui < 0)
		return id_err(err, errlen, NULL, "deviation '%.*s' names no unit of the trace", part, plen);
	if (!range)
		hi = (uint64_t)d.d.unit;
	/* Data units of one write are consecutive in s->units: walk them, so a
	 * huge range costs no more than the units that exist. */
	for (i = (size_t)ui;; i++) {
		if (i >= s->nunits || s->units[i].seq != d.d.seq || s->units[i].unit != d.d.unit)
			return id_err(err, errlen, NULL, "deviation '%.*s': the range goes beyond the "
				      "units of the write", part, plen);
		r = unit_check(&s->units[i], &d, point, err, errlen);
		if (r < 0 || (r = pdev_push(v, n, cap, &d)) < 0)
			return r;
		if ((uint64_t)d.d.unit == hi)
			return 0;
		d.d.unit++;
	}
}

int crash_state_from_id(struct crash_space *s, const char *id, struct crash_state **out,
			char *err, size_t errlen)
{
	struct crash_state *st = NULL;
	struct pdev *pv = NULL;
	struct crash_dev *devs = NULL;
	size_t ndevs = 0, cap = 0, i;
	unsigned sector, atomic;
	enum crash_model model;
	const char *p;
	uint64_t point;
	char want[64];
	int r;

	*out = NULL;
	if (!id || !*id)
		return id_err(err, errlen, id ? id : "", "empty%.*s", "", 0);
	r = params_parse(id, &sector, &atomic, &model);
	if (r < 0)
		return id_err(err, errlen, id, "bad option prefix '%.*s' (expected s512|s4096, then "
			      "aN, mb|md, then '/')", id, (size_t)(strchr(id, '/') - id + 1));
	if (sector != s->o.sector || (atomic ? atomic : sector) != s->usize_direct ||
	    model != s->o.model) {
		char m[160];

		params_fmt(&s->o, s->usize_direct, want, sizeof(want));
		snprintf(m, sizeof(m), "made with options '%%.*s', this run has '%s' (set --sector, "
			 "--atomic and --model to match)", *want ? want : "defaults");
		return id_err(err, errlen, id, m, id, (size_t)r);
	}
	p = id + r;
	if (*p != 'p') {
		const char *e = strchr(p, ':');
		return id_err(err, errlen, id, "expected 'p' and a crash point, got '%.*s'", p,
			      e ? (size_t)(e - p) : strlen(p));
	}
	p++;
	if (num(&p, &point) < 0 || (*p && *p != ':'))
		return id_err(err, errlen, id, "bad crash point '%.*s' (expected p and a number)",
			      id + r, strcspn(id + r, ":"));
	if (point < s->first_point || point > s->end_point) {
		char m[96];
		snprintf(m, sizeof(m), "crash point %%.*s is outside the trace (valid: %" PRIu64
			 "..%" PRIu64 ")", s->first_point, s->end_point);
		return id_err(err, errlen, id, m, id + r + 1, strcspn(id + r + 1, ":"));
	}
	while (*p == ':') {
		const char *part = ++p;
		size_t plen = strcspn(part, ":");

		r = part_parse(s, point, part, plen, &pv, &ndevs, &cap, err, errlen);
		if (r < 0)
			goto out;
		p = part + plen;
	}
	if (*p) {
		r = id_err(err, errlen, id, "trailing characters '%.*s'", p, strlen(p));
		goto out;
	}
	if (ndevs)
		qsort(pv, ndevs, sizeof(*pv), pdev_cmp);
	for (i = 1; i < ndevs; i++)
		if (pv[i].d.seq == pv[i - 1].d.seq && pv[i].d.unit == pv[i - 1].d.unit) {
			const struct pdev *a = &pv[i - 1], *b = &pv[i];
			char u[48], m[256];

			if (b->d.unit == CRASH_UNIT_WHOLE)
				snprintf(u, sizeof(u), "event %" PRIu64, b->d.seq);
			else if (b->d.unit == CRASH_UNIT_SIZE)
				snprintf(u, sizeof(u), "unit %" PRIu64 ".sz", b->d.seq);
			else
				snprintf(u, sizeof(u), "unit %" PRIu64 ".%" PRId64, b->d.seq, b->d.unit);
			/* Name both parts, in id order (parts that got here are
			 * digits, letters, '.' and '-': no '%' to escape). */
			if (a->part > b->part)
				a = b, b = &pv[i - 1];
			snprintf(m, sizeof(m), "%s named twice, by '%.*s' and '%%.*s'%s", u,
				 (int)a->plen, a->part, a->plen == b->plen &&
				 !memcmp(a->part, b->part, a->plen) ? "" : " (overlapping)");
			r = id_err(err, errlen, id, m, b->part, b->plen);
			goto out;
		}
	devs = ndevs ? malloc(ndevs * sizeof(*devs)) : NULL;
	if (ndevs && !devs) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ndevs; i++)
		devs[i] = pv[i].d;
	r = crash_state_alloc(s, &st);
	if (r < 0)
		goto out;
	r = crash_state_set(st, point, devs, ndevs);
	if (r < 0)
		goto out;
	*out = st;
	st = NULL;
out:
	crash_state_free(st);
	free(devs);
	free(pv);
	return r;
}

/*
 * recovery/crash_stateid.c - state ids (grammar in crash.h): format, parse,
 * and crash_state_from_id.
 *
 * Sections:
 *   1. Canonical order and formatting
 *   2. Parsing the option prefix ("s4096a4096md/")
 *   3. crash_state_from_id: parse, check every dev against the pending set
 *
 * Examples: "p57" (the reference state at crash point 57), "p57:d12.3"
 * (unit 3 of event 12 dropped), "p57:d12.sz:d14" (the size update of
 * write 12 and the whole event 14 dropped), "s4096/p9:z5.0" (4096-byte
 * sectors; unit 0 of write 5 zeroed).
 */
#include <errno.h>
#include <inttypes.h>
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

/* Append one dev to @buf at *at (capacity len).  -ENOSPC when full. */
static int dev_fmt(const struct crash_dev *d, char *buf, size_t len, size_t *at)
{
	int n;

	if (d->unit == CRASH_UNIT_WHOLE)
		n = snprintf(buf + *at, len - *at, ":%c%" PRIu64, d->kind, d->seq);
	else if (d->unit == CRASH_UNIT_SIZE)
		n = snprintf(buf + *at, len - *at, ":%c%" PRIu64 ".sz", d->kind, d->seq);
	else
		n = snprintf(buf + *at, len - *at, ":%c%" PRIu64 ".%" PRId64, d->kind, d->seq, d->unit);
	if (n < 0 || (size_t)n >= len - *at)
		return -ENOSPC;
	*at += (size_t)n;
	return 0;
}

/* Format (point, sorted devs) into @buf.  Returns the length or -ENOSPC. */
static int id_fmt_sorted(const struct crash_space *s, uint64_t point, const struct crash_dev *devs,
			 size_t ndevs, char *buf, size_t len)
{
	char params[64];
	size_t at, i;
	int n;

	params_fmt(&s->o, s->usize_direct, params, sizeof(params));
	n = snprintf(buf, len, "%sp%" PRIu64, params, point);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	at = (size_t)n;
	for (i = 0; i < ndevs; i++)
		if (dev_fmt(&devs[i], buf, len, &at) < 0)
			return -ENOSPC;
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

int crash_state_from_id(struct crash_space *s, const char *id, struct crash_state **out,
			char *err, size_t errlen)
{
	struct crash_state *st = NULL;
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
		struct crash_dev d;
		uint64_t v;
		int64_t ui;
		const struct cu *u;

		if (*p != 'd' && *p != 'z' && *p != 'g') {
			r = id_err(err, errlen, id, "bad deviation '%.*s' (expected d, z or g, then "
				   "SEQ[.UNIT|.sz])", part, plen);
			goto out;
		}
		d.kind = *p++;
		if (num(&p, &v) < 0) {
			r = id_err(err, errlen, id, "bad deviation '%.*s': expected an event seq", part, plen);
			goto out;
		}
		d.seq = v;
		d.unit = CRASH_UNIT_WHOLE;
		if (*p == '.') {
			p++;
			if (p[0] == 's' && p[1] == 'z') {
				p += 2;
				d.unit = CRASH_UNIT_SIZE;
			} else if (num(&p, &v) < 0 || v > INT64_MAX) {
				r = id_err(err, errlen, id, "bad deviation '%.*s': expected a unit number "
					   "or 'sz' after '.'", part, plen);
				goto out;
			} else {
				d.unit = (int64_t)v;
			}
		}
		if (*p && *p != ':') {
			r = id_err(err, errlen, id, "bad deviation '%.*s': trailing characters", part, plen);
			goto out;
		}
		ui = crash_unit_find(s, d.seq, d.unit);
		u = ui >= 0 ? &s->units[ui] : NULL;
		if (!u) {
			r = id_err(err, errlen, id, "deviation '%.*s' names no unit of the trace", part, plen);
			goto out;
		}
		if (!cu_pending(u, point)) {
			char m[160];
			snprintf(m, sizeof(m), "deviation '%%.*s': %s not pending at crash point %" PRIu64
				 " (%s)", unit_what(u), point,
				 u->seq >= point ? "not issued yet" :
				 u->fate == CU_DURABLE ? "already durable" : "lost by a failed fsync");
			r = id_err(err, errlen, id, m, part, plen);
			goto out;
		}
		if (d.kind != 'd' && u->kind != CU_DATA) {
			r = id_err(err, errlen, id, "deviation '%.*s': only data units can be zeroed or "
				   "garbage", part, plen);
			goto out;
		}
		if (ndevs == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct crash_dev *q = realloc(devs, nc * sizeof(*q));
			if (!q) {
				r = -ENOMEM;
				goto out;
			}
			devs = q;
			cap = nc;
		}
		devs[ndevs++] = d;
	}
	if (*p) {
		r = id_err(err, errlen, id, "trailing characters '%.*s'", p, strlen(p));
		goto out;
	}
	if (ndevs)
		qsort(devs, ndevs, sizeof(*devs), crash_dev_cmp);
	for (i = 1; i < ndevs; i++)
		if (devs[i].seq == devs[i - 1].seq && devs[i].unit == devs[i - 1].unit) {
			char m[128];
			if (devs[i].unit == CRASH_UNIT_WHOLE)
				snprintf(m, sizeof(m), "event %" PRIu64 " named twice%%.*s", devs[i].seq);
			else if (devs[i].unit == CRASH_UNIT_SIZE)
				snprintf(m, sizeof(m), "unit %" PRIu64 ".sz named twice%%.*s", devs[i].seq);
			else
				snprintf(m, sizeof(m), "unit %" PRIu64 ".%" PRId64 " named twice%%.*s",
					 devs[i].seq, devs[i].unit);
			r = id_err(err, errlen, id, m, "", 0);
			goto out;
		}
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
	return r;
}

/*
 * engines/tornkv/kvwork.c - the deterministic workload and the oracle.
 *
 *   1. options
 *   2. generation: operations and values from the seed
 *   3. the workload run: apply, sync by policy, mark what is durable (at
 *      --sync every, up to --inflight commits in flight: eng_window)
 *   4. the oracle: marks, recovered state, the promises
 *   5. the command line, and the in-process checker (torn explore --engine)
 *
 * The promises checked (kvw_check), in order; the first broken one is
 * reported:
 *   P1  recovery succeeds and the engine's structural invariants hold
 *   P2  no value appears that was never written (every value is compared
 *       byte for byte with the one the workload issued), no unknown key
 *   P3  an acknowledged write is visible with its value or with a later
 *       issued one; an acknowledged delete stays deleted unless a later
 *       operation wrote the key again
 *   P4  a batch is all or nothing
 *   P5  no hole: the state is exactly that after operations 1..P for some
 *       P at or after the last acknowledged or visible operation (all four
 *       engines apply operations in one ordered stream, so this is their
 *       common contract, and for the logs it is the one that matters)
 */
#include "engines/tornkv/kvwork.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "torn/mark.h"

#define KVW_MAX_BATCH 4
/* default --inflight: enough to hide a flush behind 15 more (measured on
 * ext4 over virtio, overwrites: 277 us per commit alone, 25 at 16) */
#define KVW_INFLIGHT 16

/* ==== 1. options ========================================================= */

void kvw_defaults(struct kvw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->eng.dir = NULL;
	o->eng.mode = EIO_BUFFERED;
	o->eng.bug = -1;
	o->seed = 1;
	o->ops = 100;
	o->keys = 16;
	o->value_size = 100;
	o->mix_put = 70;
	o->mix_del = 10;
	o->mix_batch = 20;
	o->sync = KVW_SYNC_EVERY;
	o->sync_n = 1;
	o->inflight = KVW_INFLIGHT;
}

int kvw_parse_mix(struct kvw_opts *o, const char *s, char *msg, size_t cap)
{
	unsigned put = 0, del = 0, batch = 0;
	char *copy = strdup(s), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), *end;
		unsigned long v;

		if (!colon) {
			rc = -EINVAL;
			break;
		}
		*colon = 0;
		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (*end || end == colon + 1 || v > 100) {
			rc = -EINVAL;
			break;
		}
		if (!strcmp(tok, "put"))
			put = (unsigned)v;
		else if (!strcmp(tok, "delete") || !strcmp(tok, "del"))
			del = (unsigned)v;
		else if (!strcmp(tok, "batch"))
			batch = (unsigned)v;
		else {
			rc = -EINVAL;
			break;
		}
	}
	free(copy);
	if (rc == 0 && put + del + batch != 100)
		rc = -EINVAL;
	if (rc < 0) {
		snprintf(msg, cap, "--mix: expected put:P,delete:D,batch:B summing to 100, got '%s'", s);
		return rc;
	}
	o->mix_put = put;
	o->mix_del = del;
	o->mix_batch = batch;
	return 0;
}

int kvw_parse_sync(struct kvw_opts *o, const char *s)
{
	char *end;
	unsigned long n;

	if (!strcmp(s, "every")) {
		o->sync = KVW_SYNC_EVERY;
		o->sync_n = 1;
	} else if (!strcmp(s, "none")) {
		o->sync = KVW_SYNC_NONE;
		o->sync_n = 0;
	} else if (!strncmp(s, "batch:", 6)) {
		n = strtoul(s + 6, &end, 10);
		if (*end || end == s + 6 || n == 0 || n > 1000000)
			return -EINVAL;
		o->sync = KVW_SYNC_BATCH;
		o->sync_n = (unsigned)n;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* ==== 2. generation ====================================================== */

struct wop {
	int n;                      /* 0: single put or delete; else batch size */
	int type[KVW_MAX_BATCH];    /* ENG_PUT / ENG_DEL */
	unsigned key[KVW_MAX_BATCH];
	int count;                  /* sub-operations (1 for a single one) */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct wop *generate(const struct kvw_opts *o)
{
	struct wop *w = calloc(o->ops + 1, sizeof(*w));
	uint64_t st = o->seed;

	if (!w)
		return NULL;
	for (unsigned i = 1; i <= o->ops; i++) {
		unsigned r = (unsigned)(splitmix(&st) % 100);
		struct wop *op = &w[i];

		if (r < o->mix_batch && o->keys >= 2) {
			unsigned n = 2 + (unsigned)(splitmix(&st) % (KVW_MAX_BATCH - 1));
			if (n > o->keys)
				n = o->keys;
			op->n = (int)n;
			op->count = (int)n;
			for (unsigned j = 0; j < n; j++) {
				unsigned k;
				int dup;
				do { /* distinct keys inside a batch */
					k = (unsigned)(splitmix(&st) % o->keys);
					dup = 0;
					for (unsigned x = 0; x < j; x++)
						dup |= op->key[x] == k;
				} while (dup);
				op->key[j] = k;
				op->type[j] = splitmix(&st) % 4 == 0 ? ENG_DEL : ENG_PUT;
			}
		} else {
			op->count = 1;
			op->type[0] = r < o->mix_batch + o->mix_del ? ENG_DEL : ENG_PUT;
			op->key[0] = (unsigned)(splitmix(&st) % o->keys);
		}
	}
	return w;
}

size_t kvw_value(const struct kvw_opts *o, uint64_t seq, unsigned j, unsigned key,
		 char *buf, size_t cap)
{
	uint64_t st = o->seed ^ (seq * 0x2545f4914f6cdd1dull) ^ ((uint64_t)(j + 1) << 56);
	int n = snprintf(buf, cap, "v s=%" PRIu64 " j=%u k%u ", seq, j, key);
	size_t len = o->value_size > (size_t)n ? o->value_size : (size_t)n;

	if (len > cap)
		len = cap;
	/* eight letters from each draw */
	for (size_t i = (size_t)n; i < len; i += 8) {
		uint64_t r = splitmix(&st);
		for (size_t b = 0; b < 8 && i + b < len; b++, r >>= 8)
			buf[i + b] = (char)('a' + (r & 0xff) % 26);
	}
	return len;
}

static unsigned vhash(const char *v, size_t n)
{
	return (unsigned)(XXH3_64bits(v, n) & 0xffffffffu);
}

static void mark_text(const struct kvw_opts *o, const struct wop *op, uint64_t seq,
		      char *buf, size_t cap)
{
	char val[ENG_MAX_VAL];
	size_t pos = 0;

	if (op->n)
		pos += (size_t)snprintf(buf, cap, "batch s=%" PRIu64 " n=%d", seq, op->n);
	for (int j = 0; j < op->count && pos < cap; j++) {
		const char *sep = op->n ? " " : "";
		if (op->type[j] == ENG_PUT) {
			size_t vl = kvw_value(o, seq, (unsigned)j, op->key[j], val, sizeof(val));
			pos += (size_t)snprintf(buf + pos, cap - pos, "%sput k%u %08x", sep,
						op->key[j], vhash(val, vl));
		} else {
			pos += (size_t)snprintf(buf + pos, cap - pos, "%sdel k%u", sep, op->key[j]);
		}
	}
	if (!op->n && pos < cap)
		snprintf(buf + pos, cap - pos, " s=%" PRIu64, seq);
}

/* one operation on a key: put (seq, j) or delete */
struct kop {
	uint64_t seq;
	unsigned j;
	int type;
};

/*
 * What the checker derives from the workload flags alone: the operations,
 * each key's last delete, each key's operations in order and its name,
 * and (for the in-process checker, built once in torn before it forks, so
 * that every child only reads them) the text of every operation's mark
 * and every value issued.
 */
struct kvw_plan {
	size_t nops;
	struct wop *w;
	uint64_t *lastdel;
	char **mark; /* [seq], or NULL: computed when a mark is read */
	/* Every key's name ("k17"), NUL-terminated, KVW_KNAME bytes each. */
	char *kname;
	/* Every key's operations in order, those of key k at kops[kfirst[k]]
	 * up to kops[kfirst[k + 1]]: the state of k after operations 1..P
	 * (P3, P5) is a binary search, not a replay of the whole workload. */
	struct kop *kops;
	size_t *kfirst;
	/* The in-process plan only (NULL otherwise, or when they would take
	 * more than KVW_VALS_MAX): every value the workload issued, the one
	 * of (seq, j) at vbuf + voff[seq * KVW_MAX_BATCH + j], vlen[] bytes
	 * long; a recovered value is compared with it byte for byte instead
	 * of being regenerated (kvw_value's snprintf) in every child. */
	char *vbuf;
	size_t *voff;
	uint16_t *vlen;
};

#define KVW_KNAME 12               /* "k" + up to 1,000,000 + NUL */
#define KVW_VALS_MAX (64u << 20)   /* bytes of precomputed values at most */

static void plan_free(struct kvw_plan *p)
{
	if (!p)
		return;
	if (p->mark)
		for (size_t s = 0; s <= p->nops; s++)
			free(p->mark[s]);
	free(p->mark);
	free(p->kname);
	free(p->kops);
	free(p->kfirst);
	free(p->vbuf);
	free(p->voff);
	free(p->vlen);
	free(p->lastdel);
	free(p->w);
	free(p);
}

/* Every key's operations, into p->kops and p->kfirst: 0 or -ENOMEM */
static int plan_kops(const struct kvw_opts *o, struct kvw_plan *p)
{
	size_t n = 0, *at;

	p->kfirst = calloc((size_t)o->keys + 1, sizeof(*p->kfirst));
	if (!p->kfirst)
		return -ENOMEM;
	for (uint64_t s = 1; s <= o->ops; s++)
		for (int j = 0; j < p->w[s].count; j++)
			p->kfirst[p->w[s].key[j] + 1]++;
	for (unsigned k = 0; k < o->keys; k++)
		p->kfirst[k + 1] += p->kfirst[k];
	n = p->kfirst[o->keys];
	p->kops = malloc((n ? n : 1) * sizeof(*p->kops));
	at = malloc(((size_t)o->keys + 1) * sizeof(*at));
	if (!p->kops || !at) {
		free(at);
		return -ENOMEM;
	}
	memcpy(at, p->kfirst, ((size_t)o->keys + 1) * sizeof(*at));
	for (uint64_t s = 1; s <= o->ops; s++)
		for (int j = 0; j < p->w[s].count; j++)
			p->kops[at[p->w[s].key[j]]++] =
				(struct kop){ s, (unsigned)j, p->w[s].type[j] };
	free(at);
	return 0;
}

/* the last operation on key k among 1..s, or NULL */
static const struct kop *last_op(const struct kvw_plan *p, unsigned k, uint64_t s)
{
	size_t lo = p->kfirst[k], hi = p->kfirst[k + 1];

	while (lo < hi) { /* the first op after s */
		size_t mid = lo + (hi - lo) / 2;

		if (p->kops[mid].seq <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > p->kfirst[k] ? &p->kops[lo - 1] : NULL;
}

/* The values of every put, into p->vbuf (none when too many): 0 or -ENOMEM */
static int plan_values(const struct kvw_opts *o, struct kvw_plan *p)
{
	size_t total = 0, slots = ((size_t)o->ops + 1) * KVW_MAX_BATCH;
	/* the longest header, "v s=<10M> j=3 k<1M> ", is under 32 bytes */
	size_t each = (o->value_size > 32 ? o->value_size : 32);

	for (uint64_t s = 1; s <= o->ops; s++)
		total += (size_t)p->w[s].count * each;
	if (total > KVW_VALS_MAX)
		return 0;
	p->vbuf = malloc(total ? total : 1);
	p->voff = calloc(slots, sizeof(*p->voff));
	p->vlen = calloc(slots, sizeof(*p->vlen));
	if (!p->vbuf || !p->voff || !p->vlen)
		return -ENOMEM;
	total = 0;
	for (uint64_t s = 1; s <= o->ops; s++)
		for (int j = 0; j < p->w[s].count; j++) {
			size_t i = s * KVW_MAX_BATCH + (size_t)j;

			if (p->w[s].type[j] != ENG_PUT)
				continue;
			p->voff[i] = total;
			p->vlen[i] = (uint16_t)kvw_value(o, s, (unsigned)j, p->w[s].key[j],
							 p->vbuf + total, each);
			total += p->vlen[i];
		}
	return 0;
}

static struct kvw_plan *plan_new(const struct kvw_opts *o, int with_marks)
{
	struct kvw_plan *p = calloc(1, sizeof(*p));
	char text[TORN_MARK_MAX];

	if (!p)
		return NULL;
	p->nops = o->ops;
	p->w = generate(o);
	p->lastdel = calloc(o->keys, sizeof(*p->lastdel));
	p->kname = malloc((size_t)o->keys * KVW_KNAME);
	if (!p->w || !p->lastdel || !p->kname)
		goto fail;
	for (unsigned k = 0; k < o->keys; k++)
		snprintf(p->kname + (size_t)k * KVW_KNAME, KVW_KNAME, "k%u", k);
	if (plan_kops(o, p) < 0)
		goto fail;
	for (uint64_t s = 1; s <= o->ops; s++)
		for (int j = 0; j < p->w[s].count; j++)
			if (p->w[s].type[j] == ENG_DEL)
				p->lastdel[p->w[s].key[j]] = s;
	if (with_marks) {
		p->mark = calloc(o->ops + 1, sizeof(*p->mark));
		if (!p->mark)
			goto fail;
		for (uint64_t s = 1; s <= o->ops; s++) {
			mark_text(o, &p->w[s], s, text, sizeof(text));
			if (!(p->mark[s] = strdup(text)))
				goto fail;
		}
		if (plan_values(o, p) < 0)
			goto fail;
	}
	return p;
fail:
	plan_free(p);
	return NULL;
}

/* ==== 3. the workload run ================================================ */

static int emit_marks(const struct kvw_opts *o, const struct wop *w, uint64_t from, uint64_t to)
{
	char text[TORN_MARK_MAX];

	for (uint64_t s = from; s <= to; s++) {
		mark_text(o, &w[s], s, text, sizeof(text));
		torn_mark("%s", text);
	}
	return 0;
}

/*
 * An operation failed with an I/O error (issue 7: EIO, ENOSPC, EDQUOT, a
 * failed fsync, ...): the engine handled it (nothing acknowledged, see each
 * engine's "Faults"), so the workload stops there, unmarked, with one line,
 * and the run is not a failure.  Errors that say the program or its usage
 * is wrong (and engine codes: corruption) are not faults: still failures.
 */
static int stopped(uint64_t s, const char *op, int rc)
{
	if (rc <= -ENG_E_CORRUPT || rc == -ENOMEM || rc == -EINVAL || rc == -E2BIG ||
	    rc == -EBADF || rc == -EFAULT)
		return 0;
	fprintf(stderr, "stopped: %s s=%" PRIu64 " failed: %s\n", op, s, eng_strerror(rc));
	return 1;
}

/* a sync failed at operation s: 0 when it is a handled fault (stopped),
 * else the error, reported */
static int sync_failed(const struct kvw_opts *o, uint64_t s, int rc)
{
	if (stopped(s, "sync", rc))
		return 0;
	fprintf(stderr, "tornkv: %s: sync: %s\n", o->eng.dir, eng_strerror(rc));
	return rc;
}

static const char *op_name(const struct wop *op)
{
	return op->n ? "batch" : op->type[0] == ENG_PUT ? "put" : "delete";
}

int kvw_run(const struct kvw_opts *o)
{
	struct wop *w = generate(o);
	char (*vals)[ENG_MAX_VAL] = NULL;
	char keys[KVW_MAX_BATCH][16];
	struct eng_window win;
	void *e = NULL;
	uint64_t acked = 0;
	int rc;

	if (!w)
		return -ENOMEM;
	vals = malloc(KVW_MAX_BATCH * sizeof(*vals));
	if (!vals) {
		rc = -ENOMEM;
		goto out;
	}
	rc = o->engine->open(&e, &o->eng);
	if (rc < 0) {
		fprintf(stderr, "tornkv: %s: open: %s%s%s\n", o->eng.dir, eng_strerror(rc),
			*eng_errmsg() ? ": " : "", eng_errmsg());
		goto out;
	}
	eng_window_init(&win, o->engine, e, o->inflight);
	for (uint64_t s = 1; s <= o->ops; s++) {
		struct eng_op ops[KVW_MAX_BATCH];
		const struct wop *op = &w[s];

		for (int j = 0; j < op->count; j++) {
			ops[j].type = op->type[j];
			ops[j].klen = (size_t)snprintf(keys[j], sizeof(keys[j]), "k%u", op->key[j]);
			ops[j].key = keys[j];
			ops[j].val = vals[j];
			ops[j].vlen = op->type[j] == ENG_PUT ?
				kvw_value(o, s, (unsigned)j, op->key[j], vals[j], ENG_MAX_VAL) : 0;
		}
		rc = o->engine->apply(e, ops, op->count);
		if (rc < 0 && stopped(s, op_name(op), rc)) {
			rc = 0;
			goto out;
		}
		if (rc < 0) {
			fprintf(stderr, "tornkv: %s: operation s=%" PRIu64 ": %s\n", o->eng.dir, s,
				eng_strerror(rc));
			goto out;
		}
		if (o->sync == KVW_SYNC_EVERY) {
			/* start this operation's commit; acknowledge, in order,
			 * every operation whose commit completed (waiting for the
			 * oldest when the window is full) */
			uint64_t done;

			rc = eng_window_push(&win, s);
			while (rc == 0 && (rc = eng_window_pop(&win, 0, &done)) == 1) {
				emit_marks(o, w, acked + 1, done);
				acked = done;
			}
			if (rc < 0) {
				rc = sync_failed(o, acked + 1, rc);
				goto out;
			}
			continue;
		}
		if (o->sync == KVW_SYNC_NONE || (o->sync == KVW_SYNC_BATCH && (s - acked) < o->sync_n))
			continue;
		rc = o->engine->sync(e);
		if (rc < 0) {
			rc = sync_failed(o, s, rc);
			goto out;
		}
		/* durable now: acknowledge */
		emit_marks(o, w, acked + 1, s);
		acked = s;
	}
	for (uint64_t done; (rc = eng_window_pop(&win, 1, &done)) == 1; acked = done)
		emit_marks(o, w, acked + 1, done);
	if (rc < 0) {
		rc = sync_failed(o, acked + 1, rc);
		goto out;
	}
	if (acked < o->ops) {
		rc = o->engine->sync(e);
		if (rc < 0) {
			rc = sync_failed(o, o->ops, rc);
			goto out;
		}
		emit_marks(o, w, acked + 1, o->ops);
	}
	rc = 0;
out:
	if (e)
		o->engine->close(e);
	free(vals);
	free(w);
	return rc;
}

/* ==== 4. the oracle ====================================================== */

/* the state of one key: absent, or the value of (seq, j) */
struct kst {
	uint64_t seq; /* 0: absent */
	unsigned j;
};

struct chk {
	const struct kvw_opts *o;
	const struct kvw_plan *p;
	const struct wop *w;
	struct kst *rec; /* recovered, per key */
	struct kst *st;  /* per key: check_prefix's scratch */
	uint64_t *seqs;  /* per key: check_batches' scratch */
	uint64_t *lastdel; /* per key: seq of its last delete in the workload */
	unsigned live;   /* keys seen by iterate */
	char *msg;
	size_t cap;
	int bad;
};

static int read_marks(const struct kvw_opts *o, const struct kvw_plan *p, const char *path,
		      uint64_t *acked, char *msg, size_t cap)
{
	char line[TORN_MARK_MAX + 2], want[TORN_MARK_MAX];
	unsigned lineno = 0;
	FILE *f;

	*acked = 0;
	if (!path)
		return 0;
	f = fopen(path, "r");
	if (!f) {
		snprintf(msg, cap, "%s: %s", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s;
		unsigned long long seq;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		s = strstr(line, "s=");
		seq = s ? strtoull(s + 2, NULL, 10) : 0;
		if (!s || seq == 0 || seq > o->ops) {
			snprintf(msg, cap, "%s: line %u: expected a tornkv mark with s=SEQ, got '%s'",
				 path, lineno, line);
			fclose(f);
			return 2;
		}
		if (p->mark)
			snprintf(want, sizeof(want), "%s", p->mark[seq]);
		else
			mark_text(o, &p->w[seq], seq, want, sizeof(want));
		if (strcmp(want, line) || seq <= *acked) {
			snprintf(msg, cap, "%s: line %u: mark '%s' does not match the workload "
				 "(expected '%s': are the workload flags the same?)",
				 path, lineno, line, want);
			fclose(f);
			return 2;
		}
		*acked = seq;
	}
	fclose(f);
	return 0;
}

static int fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	if (c->bad)
		return 1;
	va_start(ap, fmt);
	vsnprintf(c->msg, c->cap, fmt, ap);
	va_end(ap);
	c->bad = 1;
	return 1;
}

/* Decimal digits at *p (at most @max of them, at least one) up to @end,
 * into *out: 0, or -1 (none, too many: the caller takes the slow path). */
static int take_num(const char **p, const char *end, int max, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (*p < end && **p >= '0' && **p <= '9' && n < max) {
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || (*p < end && **p >= '0' && **p <= '9'))
		return -1;
	*out = v;
	return 0;
}

/* The value (seq, j) issued, at *out: the plan's copy, or regenerated into
 * buf (ENG_MAX_VAL bytes); its length. */
static size_t value_of(const struct chk *c, uint64_t seq, unsigned j, char *buf,
		       const char **out)
{
	size_t i = seq * KVW_MAX_BATCH + j;

	if (c->p->vbuf) {
		*out = c->p->vbuf + c->p->voff[i];
		return c->p->vlen[i];
	}
	*out = buf;
	return kvw_value(c->o, seq, j, c->w[seq].key[j], buf, ENG_MAX_VAL);
}

/*
 * The fast path of value_known: 1 with *out when v is byte for byte the
 * value some put of the workload wrote to key, found by its header "v
 * s=SEQ j=J kKEY " read by hand.  0 otherwise, and value_known's own
 * sscanf path decides (and words the failure): a value accepted here is
 * one sscanf reads as the same (seq, j, key), as kvw_value wrote it so.
 */
static int value_fast(const struct chk *c, unsigned key, const char *v, size_t vlen,
		      struct kst *out)
{
	const char *p = v, *end = v + vlen, *want;
	char buf[ENG_MAX_VAL];
	uint64_t seq, j, k;

	if (vlen < 4 || memcmp(p, "v s=", 4))
		return 0;
	p += 4;
	if (take_num(&p, end, 18, &seq) || end - p < 3 || memcmp(p, " j=", 3))
		return 0;
	p += 3;
	if (take_num(&p, end, 9, &j) || end - p < 2 || memcmp(p, " k", 2))
		return 0;
	p += 2;
	if (take_num(&p, end, 9, &k) || seq == 0 || seq > c->o->ops || k != key ||
	    j >= (uint64_t)c->w[seq].count || c->w[seq].key[j] != key ||
	    c->w[seq].type[j] != ENG_PUT)
		return 0;
	if (value_of(c, seq, (unsigned)j, buf, &want) != vlen || memcmp(want, v, vlen))
		return 0;
	out->seq = seq;
	out->j = (unsigned)j;
	return 1;
}

/* P2 for one value: it is exactly one the workload wrote to this key */
static int value_known(struct chk *c, unsigned key, const char *v, size_t vlen, struct kst *out)
{
	char buf[ENG_MAX_VAL + 1], want[ENG_MAX_VAL];
	unsigned long long seq;
	unsigned j, k;
	size_t wl;

	if (value_fast(c, key, v, vlen, out))
		return 0;
	/* not plainly an issued value: the header through sscanf, the value
	 * regenerated, for the verdict and its wording */
	memcpy(buf, v, vlen < ENG_MAX_VAL ? vlen : ENG_MAX_VAL);
	buf[vlen < ENG_MAX_VAL ? vlen : ENG_MAX_VAL] = 0;
	if (sscanf(buf, "v s=%llu j=%u k%u ", &seq, &j, &k) != 3 || seq == 0 ||
	    seq > c->o->ops || k != key || j >= (unsigned)c->w[seq].count ||
	    c->w[seq].key[j] != key || c->w[seq].type[j] != ENG_PUT)
		return fail(c, "k%u: value never written (%.24s...)", key, buf);
	wl = kvw_value(c->o, seq, j, key, want, sizeof(want));
	if (wl != vlen || memcmp(want, v, vlen))
		return fail(c, "k%u: value of s=%llu is damaged (%zu bytes, expected %zu)", key,
			    seq, vlen, wl);
	out->seq = seq;
	out->j = j;
	return 0;
}

static int iter_fn(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct chk *c = arg;
	char kb[32];
	unsigned k;
	char extra;
	struct kst st;
	const char *kend = key + klen;
	const char *kp = key + 1;
	uint64_t fk;

	/* The fast path: "kN" (N plain digits, as sscanf reads them) holding
	 * byte for byte the value the lookup found; anything else below. */
	if (klen >= 2 && klen <= 10 && key[0] == 'k' && take_num(&kp, kend, 9, &fk) == 0 &&
	    kp == kend && fk < c->o->keys && c->rec[fk].seq) {
		const struct kst *r = &c->rec[fk];
		const char *want;
		char buf[ENG_MAX_VAL];

		if (value_of(c, r->seq, r->j, buf, &want) == vlen && !memcmp(want, val, vlen)) {
			c->live++;
			return 0;
		}
	}
	if (klen >= sizeof(kb) || (memcpy(kb, key, klen), kb[klen] = 0,
				   sscanf(kb, "k%u%c", &k, &extra) != 1) || k >= c->o->keys)
		return fail(c, "unknown key '%.*s' in the store", (int)(klen > 40 ? 40 : klen), key);
	if (value_known(c, k, val, vlen, &st))
		return 1;
	if (st.seq != c->rec[k].seq || st.j != c->rec[k].j)
		return fail(c, "k%u: a scan finds s=%" PRIu64 " but a lookup s=%" PRIu64, k,
			    st.seq, c->rec[k].seq);
	c->live++;
	return 0;
}

/* is there a delete of key after seq s (so that "absent" is a later state)? */
static int deleted_after(const struct chk *c, unsigned key, uint64_t s)
{
	return c->lastdel[key] > s;
}

/* does the recovered state of key reflect operation s (or a later one)? */
static int at_or_after(const struct chk *c, unsigned key, uint64_t s, int type)
{
	const struct kst *r = &c->rec[key];

	if (r->seq)
		return r->seq >= s;
	return type == ENG_DEL || deleted_after(c, key, s);
}

static void check_acked(struct chk *c, uint64_t acked)
{
	for (unsigned k = 0; k < c->o->keys && !c->bad; k++) {
		/* the last acknowledged operation on the key */
		const struct kop *l = last_op(c->p, k, acked);

		if (!l || at_or_after(c, k, l->seq, l->type))
			continue;
		if (c->rec[k].seq)
			fail(c, "k%u: acknowledged %s s=%" PRIu64 " lost: the key holds the older s=%" PRIu64,
			     k, l->type == ENG_PUT ? "put" : "delete", l->seq, c->rec[k].seq);
		else
			fail(c, "k%u: acknowledged put s=%" PRIu64 " lost: the key is missing", k, l->seq);
	}
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the batches with a visible put, in the order of their operations: the
 * only ones that can be partially applied */
static void check_batches(struct chk *c)
{
	uint64_t *vis = c->seqs;
	size_t n = 0;

	for (unsigned k = 0; k < c->o->keys; k++)
		if (c->rec[k].seq && c->w[c->rec[k].seq].n)
			vis[n++] = c->rec[k].seq;
	if (n > 1)
		qsort(vis, n, sizeof(*vis), cmp_seq);
	for (size_t i = 0; i < n && !c->bad; i++) {
		uint64_t s = vis[i];
		const struct wop *op = &c->w[s];
		int shown = -1;

		if (i > 0 && vis[i - 1] == s)
			continue;
		for (int j = 0; j < op->count; j++)
			if (op->type[j] == ENG_PUT && c->rec[op->key[j]].seq == s)
				shown = j;
		for (int j = 0; j < op->count; j++)
			if (!at_or_after(c, op->key[j], s, op->type[j]))
				fail(c, "batch s=%" PRIu64 " partially applied: k%u has it, k%u does not",
				     s, op->key[shown], op->key[j]);
	}
}

static void apply_op(struct kst *st, const struct wop *op, uint64_t s)
{
	for (int j = 0; j < op->count; j++) {
		st[op->key[j]].seq = op->type[j] == ENG_PUT ? s : 0;
		st[op->key[j]].j = op->type[j] == ENG_PUT ? (unsigned)j : 0;
	}
}

static void check_prefix(struct chk *c, uint64_t acked)
{
	struct kst *st = c->st;
	uint64_t from = acked;
	unsigned diff = 0;

	for (unsigned k = 0; k < c->o->keys; k++)
		if (c->rec[k].seq > from)
			from = c->rec[k].seq;
	/* the state after operations 1..from */
	for (unsigned k = 0; k < c->o->keys; k++) {
		const struct kop *l = last_op(c->p, k, from);
		int put = l && l->type == ENG_PUT;

		st[k].seq = put ? l->seq : 0;
		st[k].j = put ? l->j : 0;
	}
	for (uint64_t p = from;; p++) {
		unsigned k;
		for (k = 0; k < c->o->keys; k++)
			if (st[k].seq != c->rec[k].seq || st[k].j != c->rec[k].j)
				break;
		if (k == c->o->keys)
			return;
		if (p == from)
			diff = k;
		if (p == c->o->ops)
			break;
		apply_op(st, &c->w[p + 1], p + 1);
	}
	fail(c, "hole: the state is no prefix of the operations (s=%" PRIu64 " is visible or "
	     "acknowledged, but k%u does not hold what the operations before it left)", from, diff);
}

static int check_plan(const struct kvw_opts *o, const struct kvw_plan *p,
		      const char *marks_path, const uint64_t *known_acked, char *msg, size_t cap)
{
	struct chk c = { .o = o, .p = p, .w = p->w, .lastdel = p->lastdel, .msg = msg, .cap = cap };
	char vmsg[256] = "";
	uint64_t acked;
	void *e = NULL;
	int rc;

	msg[0] = 0;
	/* one allocation for the three per-key arrays */
	c.rec = calloc(o->keys, 2 * sizeof(*c.rec) + sizeof(*c.seqs));
	if (!c.rec)
		return -ENOMEM;
	c.st = c.rec + o->keys;
	c.seqs = (uint64_t *)(c.st + o->keys);
	/* known_acked: the in-process checker matched the marks file already */
	if (known_acked)
		acked = *known_acked;
	else if ((rc = read_marks(o, p, marks_path, &acked, msg, cap)))
		goto out;
	eng_seterr("%s", "");
	rc = o->engine->open(&e, &o->eng);
	if (rc < 0) {
		snprintf(msg, cap, "recovery failed: %s%s%s", eng_strerror(rc),
			 *eng_errmsg() ? ": " : "", eng_errmsg());
		rc = 1;
		goto out;
	}
	/* P1 */
	if (o->engine->verify(e, vmsg, sizeof(vmsg))) {
		snprintf(msg, cap, "structure: %s", vmsg);
		rc = 1;
		goto out;
	}
	/* P2: every key by lookup, then every key by scan */
	for (unsigned k = 0; k < o->keys && !c.bad; k++) {
		const char *key = p->kname + (size_t)k * KVW_KNAME;
		void *v;
		size_t vlen;

		rc = o->engine->get(e, key, strlen(key), &v, &vlen);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			fail(&c, "k%u: lookup failed: %s", k, eng_strerror(rc));
			break;
		}
		value_known(&c, k, v, vlen, &c.rec[k]);
		free(v);
	}
	if (!c.bad) {
		unsigned present = 0;
		rc = o->engine->iterate(e, iter_fn, &c);
		if (rc < 0)
			fail(&c, "scan failed: %s", eng_strerror(rc));
		for (unsigned k = 0; k < o->keys; k++)
			present += c.rec[k].seq != 0;
		if (!c.bad && present != c.live)
			fail(&c, "a scan finds %u keys, lookups find %u", c.live, present);
	}
	if (!c.bad)
		check_acked(&c, acked);  /* P3 */
	if (!c.bad)
		check_batches(&c);       /* P4 */
	if (!c.bad)
		check_prefix(&c, acked); /* P5 */
	rc = c.bad ? 1 : 0;
out:
	if (e)
		o->engine->close(e);
	free(c.rec);
	return rc;
}

int kvw_check(const struct kvw_opts *o, const char *marks_path, char *msg, size_t cap)
{
	struct kvw_plan *p = plan_new(o, 0);
	int rc;

	if (!p)
		return -ENOMEM;
	rc = check_plan(o, p, marks_path, NULL, msg, cap);
	plan_free(p);
	return rc;
}

/* ==== 5. the command line and the in-process checker ===================== */

static int parse_num(const char *opt, const char *arg, unsigned long long lo,
		     unsigned long long hi, unsigned long long *out, char *msg, size_t cap)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *end || errno || v < lo || v > hi) {
		snprintf(msg, cap, "%s: expected a number in %llu..%llu, got '%s'", opt, lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

int kvw_parse_args(int argc, char **argv, struct kvw_opts *o, const char **cmd,
		   const char **marks, char *msg, size_t cap)
{
	static const struct option lopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "mode", required_argument, NULL, 'm' },
		{ "dir", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "keys", required_argument, NULL, 'k' },
		{ "value-size", required_argument, NULL, 'v' },
		{ "mix", required_argument, NULL, 'x' },
		{ "sync", required_argument, NULL, 'y' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "bug", required_argument, NULL, 'b' },
		{ "marks", required_argument, NULL, 'M' },
		{ "list-bugs", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *engine = NULL, *mode = NULL, *bug = NULL;
	unsigned long long v;
	int c;

	kvw_defaults(o);
	*cmd = NULL;
	*marks = NULL;
	msg[0] = 0;
	optind = 0; /* GNU getopt: start afresh (the caller may have used it) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'e': engine = optarg; break;
		case 'm': mode = optarg; break;
		case 'd': o->eng.dir = optarg; break;
		case 'n':
			if (parse_num("--ops", optarg, 1, 10000000, &v, msg, cap) < 0)
				return 2;
			o->ops = (unsigned)v;
			break;
		case 's':
			if (parse_num("--seed", optarg, 0, ~0ull, &v, msg, cap) < 0)
				return 2;
			o->seed = v;
			break;
		case 'k':
			if (parse_num("--keys", optarg, 1, 1000000, &v, msg, cap) < 0)
				return 2;
			o->keys = (unsigned)v;
			break;
		case 'v':
			if (parse_num("--value-size", optarg, 24, ENG_MAX_VAL, &v, msg, cap) < 0)
				return 2;
			o->value_size = (unsigned)v;
			break;
		case 'x':
			if (kvw_parse_mix(o, optarg, msg, cap) < 0)
				return 2;
			break;
		case 'y':
			if (kvw_parse_sync(o, optarg) < 0) {
				snprintf(msg, cap, "--sync: expected every, batch:N or none, got '%s'", optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_num("--inflight", optarg, 1, ENG_WINDOW_MAX, &v, msg, cap) < 0)
				return 2;
			o->inflight = (unsigned)v;
			break;
		case 'b': bug = optarg; break;
		case 'M': *marks = optarg; break;
		case 'L': *cmd = "list-bugs"; return 0;
		case 'h': *cmd = "help"; return 0;
		default:
			snprintf(msg, cap, "unknown option or missing value: '%s'",
				 optind > 0 && optind <= argc ? argv[optind - 1] : "?");
			return 2;
		}
	}
	if (optind != argc - 1) {
		snprintf(msg, cap, "expected one command, workload or check");
		return 2;
	}
	*cmd = argv[optind];
	if (strcmp(*cmd, "workload") && strcmp(*cmd, "check")) {
		snprintf(msg, cap, "unknown command '%s' (expected workload or check)", *cmd);
		return 2;
	}
	if (!engine || !(o->engine = eng_find(engine))) {
		snprintf(msg, cap, "--engine: expected wal, bitcask, btree or lsm, got '%s'",
			 engine ? engine : "nothing");
		return 2;
	}
	if (!mode || eio_mode_parse(mode, &o->eng.mode) < 0) {
		snprintf(msg, cap, "--mode: expected buffered, direct or uring, got '%s'",
			 mode ? mode : "nothing");
		return 2;
	}
	if (bug && (o->eng.bug = eng_bug_find(o->engine, bug)) < 0) {
		snprintf(msg, cap, "--bug: engine %s has no bug '%s' (see --list-bugs)", engine, bug);
		return 2;
	}
	return 0;
}

static int report_plan(const struct kvw_opts *o, const struct kvw_plan *p, const char *marks,
		       const uint64_t *known_acked)
{
	char msg[1024];
	int rc = p ? check_plan(o, p, marks, known_acked, msg, sizeof(msg)) :
		 kvw_check(o, marks, msg, sizeof(msg));

	if (rc < 0) {
		dprintf(2, "tornkv: check: %s\n", eng_strerror(rc));
		return 3;
	}
	if (rc == 2) {
		dprintf(2, "tornkv: %s\n", msg);
		return 2;
	}
	if (rc == 1) {
		/* keys and values from a damaged store may hold any byte */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		dprintf(1, "%s\n", msg);
	}
	return rc;
}

int kvw_check_report(const struct kvw_opts *o, const char *marks)
{
	return report_plan(o, NULL, marks, NULL);
}

struct inproc {
	struct kvw_opts o;
	struct kvw_plan *plan; /* built here, shared with every forked child */
	char *words;  /* the split command line */
	char **argv;
	/* Every mark's line, "mark 1\nmark 2\n...", and the end of the first
	 * s lines (end[0] = 0): torn's marks file for a state holding the
	 * marks of operations 1..s is exactly all[0, end[s]), which one read
	 * and a memcmp recognise; anything else goes through read_marks. */
	char *all;
	size_t *end;
};

/* The identity of a file: another one, or the same rewritten, has another
 * (the change time moves with every write, truncate, chmod or rename). */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec ctim, mtim;
};

static void file_id_of(const struct stat *sb, struct file_id *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = sb->st_dev;
	id->ino = sb->st_ino;
	id->size = sb->st_size;
	id->ctim = sb->st_ctim;
	id->mtim = sb->st_mtim;
}

static int file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec;
}

/* The number s of leading marks the file at @path holds, when it is
 * exactly their lines: 1, else 0 (not open, another content, an error:
 * read_marks decides), and the file's identity in *@id.  Compared a chunk
 * at a time through the stack: a buffer of the inproc would be copied on
 * write in every forked child. */
static int marks_prefix(const struct inproc *ip, const char *path, uint64_t *acked,
			struct file_id *id)
{
	size_t n = 0, lo = 0, hi = ip->plan->nops, total = ip->end[ip->plan->nops];
	int fd = open(path, O_RDONLY | O_CLOEXEC), same = 1;
	char chunk[8192];
	struct stat sb;

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return 0;
	}
	file_id_of(&sb, id);
	while (same) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			same = 0;
		if (r <= 0)
			break;
		if ((size_t)r > total - n || memcmp(chunk, ip->all + n, (size_t)r))
			same = 0;
		n += (size_t)r;
	}
	close(fd);
	if (!same)
		return 0;
	/* the s with end[s] == n, if any (end is increasing) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (ip->end[mid] <= n)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (ip->end[lo] != n)
		return 0;
	*acked = lo;
	return 1;
}

void kvw_inproc_free(void *arg)
{
	struct inproc *ip = arg;

	if (!ip)
		return;
	plan_free(ip->plan);
	free(ip->all);
	free(ip->end);
	free(ip->words);
	free(ip->argv);
	free(ip);
}

int kvw_inproc_new(const char *check_cmd, const char *engine, void **out, char *msg,
		   size_t cap)
{
	struct inproc *ip = calloc(1, sizeof(*ip));
	const char *cmd, *marks, *base;
	size_t n = strlen(check_cmd);
	int argc = 0, rc = 2, prs;
	/* the caller's getopt state survives this second parse */
	int save_optind = optind, save_opterr = opterr;
	char *save_optarg = optarg, *p;

	*out = NULL;
	if (!ip || !(ip->words = malloc(n + 1)) || !(ip->argv = calloc(n / 2 + 2, sizeof(char *)))) {
		snprintf(msg, cap, "out of memory");
		goto fail;
	}
	/* words split at blanks; single and double quotes group, as sh does */
	p = ip->words;
	for (const char *s = check_cmd; *s;) {
		char q = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		ip->argv[argc++] = p;
		for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
			if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (q && *s == q)
				q = 0;
			else if (!q && strchr("\\$`;&|<>()*?[", *s)) {
				snprintf(msg, cap, "--engine: the checker must be a plain tornkv command, "
					 "got shell syntax in '%s'", check_cmd);
				goto fail;
			} else
				*p++ = *s;
		}
		*p++ = 0;
	}
	base = argc ? strrchr(ip->argv[0], '/') : NULL;
	base = base ? base + 1 : argc ? ip->argv[0] : "";
	if (strcmp(base, "tornkv")) {
		snprintf(msg, cap, "--engine: the checker must be a tornkv check command, got '%s'",
			 check_cmd);
		goto fail;
	}
	prs = kvw_parse_args(argc, ip->argv, &ip->o, &cmd, &marks, msg, cap);
	optind = save_optind;
	opterr = save_opterr;
	optarg = save_optarg;
	if (prs != 0)
		goto fail;
	if (!cmd || strcmp(cmd, "check")) {
		snprintf(msg, cap, "--engine: the checker must run 'tornkv ... check', got '%s'",
			 check_cmd);
		goto fail;
	}
	if (engine && strcmp(engine, ip->o.engine->name)) {
		snprintf(msg, cap, "--engine %s: the checker checks engine %s", engine,
			 ip->o.engine->name);
		goto fail;
	}
	if (marks) {
		snprintf(msg, cap, "--engine: the checker reads $TORN_MARKS, not --marks");
		goto fail;
	}
	ip->plan = plan_new(&ip->o, 1);
	if (!ip->plan || !(ip->end = calloc(ip->plan->nops + 1, sizeof(*ip->end)))) {
		snprintf(msg, cap, "out of memory");
		goto fail;
	}
	for (size_t s = 1; s <= ip->plan->nops; s++)
		ip->end[s] = ip->end[s - 1] + strlen(ip->plan->mark[s]) + 1;
	ip->all = malloc(ip->end[ip->plan->nops] + 1);
	if (!ip->all) {
		snprintf(msg, cap, "out of memory");
		goto fail;
	}
	for (size_t s = 1; s <= ip->plan->nops; s++) {
		memcpy(ip->all + ip->end[s - 1], ip->plan->mark[s], ip->end[s] - ip->end[s - 1] - 1);
		ip->all[ip->end[s] - 1] = '\n';
	}
	*out = ip;
	return 0;
fail:
	kvw_inproc_free(ip);
	return rc;
}

/* The last marks file a process matched (kvw_inproc_check): a worker of
 * torn's fork server checks state after state, and the states with the
 * same number of marks share one read-only marks file (explore.c), so one
 * stat tells it is the file matched before, unchanged, instead of reading
 * and comparing it again (7 system calls and up to the whole mark list).
 * What it caches is what the file says, nothing of the checks. */
static struct {
	char path[4096];
	struct file_id id;
	uint64_t acked;
	int valid;
} marks_seen;

int kvw_inproc_check(void *arg, const char *dir, const char *marks)
{
	struct inproc *ip = arg;
	struct kvw_opts o = ip->o;
	struct file_id id;
	struct stat sb;
	uint64_t acked;

	if (!o.eng.dir)
		o.eng.dir = dir;
	if (!marks)
		return report_plan(&o, ip->plan, marks, NULL);
	if (marks_seen.valid && !strcmp(marks, marks_seen.path) && stat(marks, &sb) == 0) {
		file_id_of(&sb, &id);
		if (file_id_eq(&id, &marks_seen.id)) {
			acked = marks_seen.acked;
			return report_plan(&o, ip->plan, marks, &acked);
		}
	}
	marks_seen.valid = 0;
	if (marks_prefix(ip, marks, &acked, &id)) {
		if (strlen(marks) < sizeof(marks_seen.path)) {
			strcpy(marks_seen.path, marks);
			marks_seen.id = id;
			marks_seen.acked = acked;
			marks_seen.valid = 1;
		}
		return report_plan(&o, ip->plan, marks, &acked);
	}
	return report_plan(&o, ip->plan, marks, NULL);
}

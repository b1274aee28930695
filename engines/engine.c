/*
 * engines/engine.c - the registry and the pieces the engines share.
 *
 *   1. registry and bug lookup, the window of commits in flight
 *   2. operation lists on disk
 *   3. hash map
 *   4. checksum, error text, file names
 */
#include "engines/engine.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- 1. registry -------------------------------------------------------- */

static const struct eng_ops *const eng_table[] = {
	&wal_engine, &bc_engine, &bt_engine, &lsm_engine, NULL,
};

const struct eng_ops *const *eng_all(void) { return eng_table; }

void eng_window_init(struct eng_window *w, const struct eng_ops *ops, void *e, unsigned cap)
{
	memset(w, 0, sizeof(*w));
	w->ops = ops;
	w->e = e;
	w->cap = cap < 1 ? 1 : cap > ENG_WINDOW_MAX ? ENG_WINDOW_MAX : cap;
	if (!ops->sync_start)
		w->cap = 1;
}

int eng_window_push(struct eng_window *w, uint64_t tag)
{
	unsigned slot = (w->head + w->n) % ENG_WINDOW_MAX;
	uint64_t t = 0;
	int rc;

	if (w->n >= w->cap)
		return -EBUSY; /* pop first */
	if (w->cap == 1)
		rc = w->ops->sync(w->e); /* complete on return */
	else
		rc = w->ops->sync_start(w->e, &t);
	if (rc < 0)
		return rc;
	w->ticket[slot] = t;
	w->tag[slot] = tag;
	w->n++;
	return 0;
}

int eng_window_pop(struct eng_window *w, int wait, uint64_t *tag)
{
	int rc = 1;

	if (!w->n)
		return 0;
	if (w->cap > 1) {
		rc = w->ops->sync_wait(w->e, w->ticket[w->head], !wait && w->n < w->cap);
		if (rc <= 0)
			return rc;
	}
	*tag = w->tag[w->head];
	w->head = (w->head + 1) % ENG_WINDOW_MAX;
	w->n--;
	return 1;
}

const struct eng_ops *eng_find(const char *name)
{
	for (int i = 0; eng_table[i]; i++)
		if (!strcmp(eng_table[i]->name, name))
			return eng_table[i];
	return NULL;
}

int eng_bug_find(const struct eng_ops *ops, const char *name)
{
	for (int i = 0; ops->bugs[i].name; i++)
		if (!strcmp(ops->bugs[i].name, name))
			return i;
	return -1;
}

int eng_put(const struct eng_ops *ops, void *e, const char *key, size_t klen,
	    const void *val, size_t vlen)
{
	struct eng_op op = { ENG_PUT, key, klen, val, vlen };

	return ops->apply(e, &op, 1);
}

int eng_delete(const struct eng_ops *ops, void *e, const char *key, size_t klen)
{
	struct eng_op op = { ENG_DEL, key, klen, NULL, 0 };

	return ops->apply(e, &op, 1);
}

int eng_batch(const struct eng_ops *ops, void *e, const struct eng_op *batch, int n)
{
	return ops->apply(e, batch, n);
}

/* ---- 2. operation lists ------------------------------------------------- */

#define OP_HDR 8

size_t eng_ops_size(const struct eng_op *ops, int n)
{
	size_t s = 4;

	for (int i = 0; i < n; i++)
		s += OP_HDR + ops[i].klen + (ops[i].type == ENG_PUT ? ops[i].vlen : 0);
	return s;
}

void eng_ops_encode(uint8_t *dst, const struct eng_op *ops, int n)
{
	uint8_t *p = dst + 4;

	put_u32(dst, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		size_t vlen = ops[i].type == ENG_PUT ? ops[i].vlen : 0;

		p[0] = (uint8_t)ops[i].type;
		p[1] = (uint8_t)ops[i].klen;
		put_u16(p + 2, 0);
		put_u32(p + 4, (uint32_t)vlen);
		memcpy(p + OP_HDR, ops[i].key, ops[i].klen);
		if (vlen)
			memcpy(p + OP_HDR + ops[i].klen, ops[i].val, vlen);
		p += OP_HDR + ops[i].klen + vlen;
	}
}

int eng_ops_decode(const uint8_t *src, size_t len, struct eng_op **out, int *outn)
{
	struct eng_op *ops;
	size_t pos = 4;
	uint32_t n;

	*out = NULL;
	*outn = 0;
	if (len < 4)
		return -ENG_E_CORRUPT;
	n = get_u32(src);
	if (n == 0 || n > len / OP_HDR)
		return -ENG_E_CORRUPT;
	ops = calloc(n, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = src + pos;
		size_t klen, vlen;

		if (len - pos < OP_HDR)
			goto bad;
		klen = p[1];
		vlen = get_u32(p + 4);
		if ((p[0] != ENG_PUT && p[0] != ENG_DEL) || klen == 0 ||
		    vlen > ENG_MAX_VAL || (p[0] == ENG_DEL && vlen) ||
		    len - pos - OP_HDR < klen + vlen)
			goto bad;
		ops[i].type = p[0];
		ops[i].key = (const char *)p + OP_HDR;
		ops[i].klen = klen;
		ops[i].val = p + OP_HDR + klen;
		ops[i].vlen = vlen;
		pos += OP_HDR + klen + vlen;
	}
	if (pos != len)
		goto bad;
	*out = ops;
	*outn = (int)n;
	return 0;
bad:
	free(ops);
	return -ENG_E_CORRUPT;
}

int eng_ops_check(const struct eng_op *ops, int n)
{
	if (n <= 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if ((ops[i].type != ENG_PUT && ops[i].type != ENG_DEL) ||
		    ops[i].klen == 0 || ops[i].klen > ENG_MAX_KEY ||
		    (ops[i].type == ENG_PUT && ops[i].vlen > ENG_MAX_VAL))
			return -EINVAL;
	}
	return 0;
}

/* ---- 3. hash map (open addressing, linear probing, no removal) ---------- */

int kvm_init(struct kvmap *m)
{
	memset(m, 0, sizeof(*m));
	m->cap = 64;
	m->t = calloc(m->cap, sizeof(*m->t));
	return m->t ? 0 : -ENOMEM;
}

static void ent_free(struct kvm_ent *e)
{
	free(e->key);
	free(e->val);
}

void kvm_free(struct kvmap *m)
{
	if (!m->t)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].used)
			ent_free(&m->t[i]);
	free(m->t);
	memset(m, 0, sizeof(*m));
}

void kvm_clear(struct kvmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].used)
			ent_free(&m->t[i]);
	memset(m->t, 0, m->cap * sizeof(*m->t));
	m->n = 0;
	m->bytes = 0;
}

static size_t slot_of(const struct kvmap *m, const char *key, size_t klen)
{
	size_t i = (size_t)eng_hash(key, klen) & (m->cap - 1);

	while (m->t[i].used &&
	       (m->t[i].klen != klen || memcmp(m->t[i].key, key, klen)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

struct kvm_ent *kvm_get(const struct kvmap *m, const char *key, size_t klen)
{
	size_t i = slot_of(m, key, klen);

	return m->t[i].used ? &m->t[i] : NULL;
}

static int grow(struct kvmap *m)
{
	struct kvm_ent *old = m->t;
	size_t oldcap = m->cap;

	m->t = calloc(oldcap * 2, sizeof(*m->t));
	if (!m->t) {
		m->t = old;
		return -ENOMEM;
	}
	m->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			m->t[slot_of(m, old[i].key, old[i].klen)] = old[i];
	free(old);
	return 0;
}

int kvm_set(struct kvmap *m, const char *key, size_t klen, const void *val,
	    size_t vlen, int tomb, struct kvm_ent **out)
{
	struct kvm_ent *e;
	void *copy = NULL;
	size_t i;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	if (!tomb && val) {
		copy = malloc(vlen ? vlen : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, val, vlen);
	}
	i = slot_of(m, key, klen);
	e = &m->t[i];
	if (!e->used) {
		e->key = malloc(klen);
		if (!e->key) {
			free(copy);
			return -ENOMEM;
		}
		memcpy(e->key, key, klen);
		e->klen = klen;
		e->used = 1;
		m->n++;
		m->bytes += klen;
	} else {
		m->bytes -= e->vlen;
		free(e->val);
	}
	e->val = copy;
	e->vlen = tomb ? 0 : vlen;
	e->tomb = tomb;
	m->bytes += e->vlen;
	if (out)
		*out = e;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct kvm_ent *x = *(struct kvm_ent *const *)a;
	const struct kvm_ent *y = *(struct kvm_ent *const *)b;

	return eng_keycmp(x->key, x->klen, y->key, y->klen);
}

int kvm_sorted(const struct kvmap *m, struct kvm_ent ***out, size_t *n)
{
	struct kvm_ent **v = malloc((m->n + 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->t[i].used)
			v[k++] = &m->t[i];
	qsort(v, k, sizeof(*v), ent_cmp);
	*out = v;
	*n = k;
	return 0;
}

/* ---- 4. helpers --------------------------------------------------------- */

int eng_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

uint64_t eng_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

int eng_keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static char eng_err[512];

void eng_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(eng_err, sizeof(eng_err), fmt, ap);
	va_end(ap);
}

const char *eng_errmsg(void) { return eng_err; }

const char *eng_strerror(int rc)
{
	if (rc == -ENG_E_CORRUPT)
		return "corrupt durable structure";
	if (rc == -ENG_E_FORMAT)
		return "not this engine's format";
	return strerror(-rc);
}

void eng_name(char *buf, size_t cap, const char *prefix, uint64_t n, const char *ext)
{
	snprintf(buf, cap, "%s%016llx%s", prefix, (unsigned long long)n, ext);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int eng_list(int dirfd, const char *prefix, const char *ext, uint64_t **nums, size_t *n)
{
	size_t pl = strlen(prefix), el = strlen(ext), k = 0, cap = 16;
	uint64_t *v = malloc(cap * sizeof(*v));
	struct dirent *de;
	DIR *d;
	int fd;

	*nums = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	fd = dup(dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		free(v);
		return rc;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		size_t l = strlen(s);
		char *end;
		unsigned long long x;

		if (l != pl + 16 + el || strncmp(s, prefix, pl) || strcmp(s + pl + 16, ext))
			continue;
		x = strtoull(s + pl, &end, 16);
		if (end != s + pl + 16)
			continue;
		if (k == cap) {
			uint64_t *nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[k++] = x;
	}
	closedir(d);
	qsort(v, k, sizeof(*v), u64_cmp);
	*nums = v;
	*n = k;
	return 0;
}

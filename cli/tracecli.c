/*
 * cli/tracecli.c - helpers of torn info and torn dump (see tracecli.h).
 *
 * Sections: opening; the u64 map; escaping; flag names; sizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>

#include "cli.h"
#include "tracecli.h"

#ifndef RWF_DSYNC
#define RWF_HIPRI  0x1
#define RWF_DSYNC  0x2
#define RWF_SYNC   0x4
#define RWF_NOWAIT 0x8
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

/* ---- opening */

int tcli_open(const char *path, struct torn_trace **out)
{
	struct trace_error err;
	int r = trace_open(path, out, &err);

	if (r == 0)
		return TORN_EXIT_OK;
	cli_err("%s", err.msg);
	return r == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
}

/* ---- the u64 map */

void tcli_map_init(struct tcli_map *m, size_t vsize)
{
	memset(m, 0, sizeof(*m));
	m->vsize = vsize;
}

void tcli_map_free(struct tcli_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t home(uint64_t k, size_t cap)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 21) & (cap - 1);
}

static char *val_at(const struct tcli_map *m, size_t i)
{
	return (char *)m->vals + i * m->vsize;
}

void *tcli_map_find(const struct tcli_map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = home(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key + 1)
			return m->vsize ? val_at(m, i) : (void *)m->keys;
	return NULL;
}

void *tcli_map_get(struct tcli_map *m, uint64_t key, int *fresh)
{
	void *v = tcli_map_find(m, key);
	size_t i, j;

	if (fresh)
		*fresh = !v;
	if (v)
		return v;
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		char *vals = calloc(cap, m->vsize ? m->vsize : 1);

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return NULL;
		}
		for (i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			for (j = home(m->keys[i] - 1, cap); keys[j]; j = (j + 1) & (cap - 1))
				;
			keys[j] = m->keys[i];
			if (m->vsize)
				memcpy(vals + j * m->vsize, val_at(m, i), m->vsize);
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = cap;
	}
	for (i = home(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key + 1;
	m->n++;
	return m->vsize ? val_at(m, i) : (void *)m->keys;
}

uint64_t tcli_path_hash(const char *p, size_t len)
{
	/* FNV-1a, then a final mix: good enough for a set of names. */
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}

/* ---- escaping */

void tcli_put_text(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c == '"')
			fputs("\\\"", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Length of the valid UTF-8 sequence at @s (at most @left bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { n = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { n = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { n = 4; cp = s[0] & 0x07; }
	else return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void tcli_put_json(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c == '\r') {
			fputs("\\r", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((n = utf8_len(u + i, len - i)) > 0) {
			fwrite(u + i, 1, n, f);
			i += n;
		} else {
			fprintf(f, "\\u%04x", c);    /* a byte that is not UTF-8 */
			i++;
		}
	}
	fputc('"', f);
}

/* ---- flag names */

struct flag_name {
	unsigned    bit;
	const char *name;
};

static const char *join(const struct flag_name *t, size_t n, unsigned v, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((v & t[i].bit) != t[i].bit || !t[i].bit)
			continue;
		v &= ~t[i].bit;
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? "|" : "", t[i].name);
	}
	if (v)
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%#x", at ? "|" : "", v);
	(void)at;
	return buf;
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

const char *tcli_rec_flags(unsigned flags, char *buf, size_t len)
{
	static const struct flag_name t[] = {
		{ TORN_F_CREATED, "created" }, { TORN_F_TRUNCATED, "truncated" },
		{ TORN_F_DIR, "dir" }, { TORN_F_DIRECT, "direct" }, { TORN_F_SYNC, "sync" },
		{ TORN_F_MISALIGNED, "misaligned" }, { TORN_F_SPLIT, "split" },
		{ TORN_F_SHORT, "short" },
	};
	return join(t, N(t), flags, buf, len);
}

const char *tcli_open_flags(unsigned oflags, char *buf, size_t len)
{
	/* O_SYNC contains O_DSYNC's bit: list it first so it wins. */
	static const struct flag_name t[] = {
		{ O_WRONLY, "O_WRONLY" }, { O_RDWR, "O_RDWR" }, { O_CREAT, "O_CREAT" },
		{ O_EXCL, "O_EXCL" }, { O_TRUNC, "O_TRUNC" }, { O_APPEND, "O_APPEND" },
		{ O_DIRECT, "O_DIRECT" }, { O_SYNC, "O_SYNC" }, { O_DSYNC, "O_DSYNC" },
		{ O_TMPFILE, "O_TMPFILE" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_NOATIME, "O_NOATIME" }, { O_PATH, "O_PATH" }, { O_LARGEFILE, "O_LARGEFILE" },
	};
	join(t, N(t), oflags, buf, len);
	if (!(oflags & (O_WRONLY | O_RDWR | O_PATH))) {
		/* O_RDONLY is 0: say it, ahead of the rest. */
		char rest[200];
		snprintf(rest, sizeof(rest), "%s", buf);
		snprintf(buf, len, "O_RDONLY%s%s", rest[0] ? "|" : "", rest);
	}
	return buf;
}

const char *tcli_event_oflags(const struct torn_event *ev, char *buf, size_t len)
{
	static const struct flag_name rwf[] = {
		{ RWF_HIPRI, "RWF_HIPRI" }, { RWF_DSYNC, "RWF_DSYNC" }, { RWF_SYNC, "RWF_SYNC" },
		{ RWF_NOWAIT, "RWF_NOWAIT" }, { RWF_APPEND, "RWF_APPEND" },
	};
	static const struct flag_name ren[] = {
		{ 1, "RENAME_NOREPLACE" }, { 2, "RENAME_EXCHANGE" }, { 4, "RENAME_WHITEOUT" },
	};
	static const struct flag_name fal[] = {
		{ FALLOC_FL_KEEP_SIZE, "KEEP_SIZE" }, { FALLOC_FL_PUNCH_HOLE, "PUNCH_HOLE" },
		{ FALLOC_FL_COLLAPSE_RANGE, "COLLAPSE_RANGE" }, { FALLOC_FL_ZERO_RANGE, "ZERO_RANGE" },
		{ FALLOC_FL_INSERT_RANGE, "INSERT_RANGE" }, { 0x40, "UNSHARE_RANGE" },
	};
	static const struct flag_name sfr[] = {
		{ 1, "WAIT_BEFORE" }, { 2, "WRITE" }, { 4, "WAIT_AFTER" },
	};

	switch (ev->type) {
	case TORN_EV_OPEN:
	case TORN_EV_SETFL:
		return tcli_open_flags(ev->oflags, buf, len);
	case TORN_EV_WRITE:
		return join(rwf, N(rwf), ev->oflags, buf, len);
	case TORN_EV_RENAME:
		return join(ren, N(ren), ev->oflags, buf, len);
	case TORN_EV_FALLOCATE:
		return join(fal, N(fal), ev->oflags, buf, len);
	case TORN_EV_SYNC_RANGE:
		return join(sfr, N(sfr), ev->oflags, buf, len);
	}
	if (!ev->oflags)
		return NULL;
	snprintf(buf, len, "%#x", ev->oflags);
	return buf;
}

/* ---- sizes */

const char *tcli_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

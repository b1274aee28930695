/*
 * tests/unit/crash_util.h - helpers shared by test_model.c, test_strategy.c
 * and test_stateid.c: open a hand-built trace, build a crash space, visit
 * every state and describe it by what crash_state_write() put on disk.
 *
 * A state is described as its files in sorted path order, separated by
 * spaces: "NAME=SIZE:BLOCKS" for a file, where BLOCKS has one character per
 * 512-byte block (the byte when the block is that byte repeated, '.' for
 * zeros, '?' for anything else), "NAME/" for a directory and
 * "NAME->TARGET" for a symlink.  An empty state is "".
 */
#ifndef TORN_TESTS_UNIT_CRASH_UTIL_H
#define TORN_TESTS_UNIT_CRASH_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "recovery/crash.h"
#include "tests/unit/trace_builder.h"

static char cu_trace_path[256];
static uint64_t ct_end;          /* the crash point after the whole trace */
static char ct_endpts[64];       /* "E-E": --crash-points of the end only */

/* Start a trace in a fresh temporary file: header, ROOT. */
static inline void ct_begin(void)
{
	int fd;

	snprintf(cu_trace_path, sizeof(cu_trace_path), "/tmp/torn-crash-test-XXXXXX");
	fd = mkstemp(cu_trace_path);
	assert_true(fd >= 0);
	close(fd);
	tb_open(cu_trace_path);
	tb_root();
}

/* End the trace (an END record) and open it. */
static inline struct torn_trace *ct_finish(void)
{
	struct torn_trace *t = NULL;
	struct trace_error err;

	ct_end = tb_end() + 1;
	snprintf(ct_endpts, sizeof(ct_endpts), "%llu-%llu", (unsigned long long)ct_end,
		 (unsigned long long)ct_end);
	tb_close();
	if (trace_open(cu_trace_path, &t, &err) < 0)
		fail_msg("trace_open: %s", err.msg);
	if (!getenv("TORN_TEST_KEEP_TRACE"))   /* debugging: torn dump the trace */
		unlink(cu_trace_path);
	else
		fprintf(stderr, "trace kept: %s\n", cu_trace_path);
	return t;
}

/* Options from strings (NULL: default). */
static inline void ct_opts(struct crash_opts *o, const char *strategy, const char *points, const char *tear)
{
	char err[256];

	crash_opts_default(o);
	if (strategy && crash_opts_parse_strategy(o, strategy, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (points && crash_opts_parse_points(o, points, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (tear && crash_opts_parse_tear(o, tear, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static inline struct crash_space *ct_space(struct torn_trace *t, const struct crash_opts *o)
{
	struct crash_space *s = NULL;
	struct trace_error err;

	if (crash_space_new(t, o, &s, &err) < 0)
		fail_msg("crash_space_new: %s", err.msg);
	return s;
}

/* ---- describing a state by its files on disk */

static inline void ct_rm_rf(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				ct_rm_rf(fd, e->d_name);
		closedir(d);
		assert_int_equal(unlinkat(dfd, name, AT_REMOVEDIR), 0);
	} else {
		assert_int_equal(unlinkat(dfd, name, 0), 0);
	}
}

static inline int ct_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void ct_append(char **out, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	*out = realloc(*out, *len + (size_t)n + 1);
	assert_non_null(*out);
	memcpy(*out + *len, m, (size_t)n + 1);
	*len += (size_t)n;
	free(m);
}

/* Describe the tree at @dfd into *@out: names, types, sizes, symlink
 * targets, and file bytes in brief (a letter per 512-byte block).  @exact
 * adds the permission bits and link counts, and names every file's bytes
 * by an FNV-1a hash of all of them (byte-for-byte comparisons). */
static inline void ct_describe_tree(int dfd, const char *prefix, char **out, size_t *len, int exact)
{
	char *names[256];
	size_t n = 0, i;
	DIR *d = fdopendir(dup(dfd));
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			assert_true(n < 256);
			names[n++] = strdup(e->d_name);
		}
	closedir(d);
	qsort(names, n, sizeof(*names), ct_name_cmp);
	for (i = 0; i < n; i++) {
		struct stat sb;
		char path[1024];

		snprintf(path, sizeof(path), "%s%s", prefix, names[i]);
		assert_int_equal(fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW), 0);
		if (*len)
			ct_append(out, len, " ");
		if (exact)
			ct_append(out, len, "[%o:%lu]", (unsigned)sb.st_mode, (unsigned long)sb.st_nlink);
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			char sub[1100];

			assert_true(fd >= 0);
			ct_append(out, len, "%s/", path);
			snprintf(sub, sizeof(sub), "%s/", path);
			ct_describe_tree(fd, sub, out, len, exact);
			close(fd);
		} else if (S_ISLNK(sb.st_mode)) {
			char tgt[512];
			ssize_t l = readlinkat(dfd, names[i], tgt, sizeof(tgt) - 1);

			assert_true(l >= 0);
			tgt[l] = 0;
			ct_append(out, len, "%s->%s", path, tgt);
		} else {
			int fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW);
			uint8_t blk[512];
			off_t at = 0;

			assert_true(fd >= 0);
			ct_append(out, len, "%s=%lld:", path, (long long)sb.st_size);
			if (exact) {
				uint64_t h = 0xcbf29ce484222325ull;
				ssize_t r;

				while ((r = pread(fd, blk, sizeof(blk), at)) > 0) {
					for (ssize_t k = 0; k < r; k++)
						h = (h ^ blk[k]) * 0x100000001b3ull;
					at += r;
				}
				assert_int_equal(at, sb.st_size);
				ct_append(out, len, "%016llx", (unsigned long long)h);
			}
			while (!exact && at < sb.st_size) {
				ssize_t r = pread(fd, blk, sizeof(blk), at), k;
				char c;

				assert_true(r > 0);
				for (k = 1; k < r && blk[k] == blk[0]; k++)
					;
				c = k < r ? '?' : blk[0] == 0 ? '.' : (blk[0] >= 'A' && blk[0] <= 'z') ? (char)blk[0] : '?';
				ct_append(out, len, "%c", c);
				at += r;
			}
			close(fd);
		}
		free(names[i]);
	}
}

static inline void ct_describe_dir(int dfd, const char *prefix, char **out, size_t *len)
{
	ct_describe_tree(dfd, prefix, out, len, 0);
}

/* A fresh temporary directory (on /dev/shm when there is one: faster). */
static inline void ct_mkdtemp(char *dir, size_t len)
{
	snprintf(dir, len, "%s/torn-crash-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	assert_non_null(mkdtemp(dir));
}

/* Materialise @st with crash_state_write and describe what is on disk. */
static inline char *ct_describe(struct crash_state *st)
{
	char dir[64], *out = NULL;
	size_t len = 0;
	int fd;

	ct_mkdtemp(dir, sizeof(dir));
	assert_int_equal(crash_state_write(st, dir), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	out = strdup("");
	ct_describe_dir(fd, "", &out, &len);
	close(fd);
	ct_rm_rf(AT_FDCWD, dir);
	return out;
}

/* ---- collecting every state of an enumeration */

struct ct_coll {
	size_t n, cap;
	char **id;
	char **desc;
	uint64_t *point;
	torn_hash *hash;
	int no_desc;          /* ids and hashes only (large enumerations) */
};

static inline int ct_visit(void *arg, struct crash_state *st)
{
	struct ct_coll *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->id = realloc(c->id, c->cap * sizeof(*c->id));
		c->desc = realloc(c->desc, c->cap * sizeof(*c->desc));
		c->point = realloc(c->point, c->cap * sizeof(*c->point));
		c->hash = realloc(c->hash, c->cap * sizeof(*c->hash));
		assert_true(c->id && c->desc && c->point && c->hash);
	}
	c->id[c->n] = strdup(crash_state_id(st));
	c->desc[c->n] = c->no_desc ? NULL : ct_describe(st);
	c->point[c->n] = crash_state_point(st);
	c->hash[c->n] = crash_state_hash(st);
	c->n++;
	return 0;
}

static inline void ct_coll_free(struct ct_coll *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->id[i]);
		free(c->desc[i]);
	}
	free(c->id);
	free(c->desc);
	free(c->point);
	free(c->hash);
	memset(c, 0, sizeof(*c));
}

/* Enumerate @s into @c; returns enumerate's value. */
static inline int ct_collect(struct crash_space *s, struct ct_coll *c)
{
	memset(c, 0, sizeof(*c));
	return crash_space_enumerate(s, ct_visit, c);
}

/* The distinct descriptions of @c equal exactly the @n strings given. */
static inline void ct_expect_set(const struct ct_coll *c, size_t n, const char *const *want)
{
	char **got = malloc((c->n ? c->n : 1) * sizeof(*got));
	char **w = malloc((n ? n : 1) * sizeof(*w));
	size_t i, k = 0, ok;

	for (i = 0; i < c->n; i++)
		got[i] = c->desc[i];
	qsort(got, c->n, sizeof(*got), ct_name_cmp);
	for (i = 0; i < c->n; i++)
		if (!k || strcmp(got[k - 1], got[i]))
			got[k++] = got[i];
	memcpy(w, want, n * sizeof(*w));
	qsort(w, n, sizeof(*w), ct_name_cmp);
	ok = k == n;
	for (i = 0; ok && i < n; i++)
		ok = !strcmp(got[i], w[i]);
	if (!ok) {
		fprintf(stderr, "distinct states: got %zu, want %zu\n", k, n);
		for (i = 0; i < k; i++)
			fprintf(stderr, "  got  '%s'\n", got[i]);
		for (i = 0; i < n; i++)
			fprintf(stderr, "  want '%s'\n", w[i]);
		for (i = 0; i < c->n; i++)
			fprintf(stderr, "  state %s -> '%s'\n", c->id[i], c->desc[i]);
	}
	free(got);
	free(w);
	assert_true(ok);
}

#define CT_SET(c, ...) do { \
	static const char *const ct_w_[] = { __VA_ARGS__ }; \
	ct_expect_set((c), sizeof(ct_w_) / sizeof(ct_w_[0]), ct_w_); \
} while (0)

/* A buffer of @n bytes, each block of 512 filled with the next letter of @pat. */
static inline uint8_t *ct_blocks(const char *pat)
{
	size_t n = strlen(pat), i;
	uint8_t *b = malloc(n * 512);

	assert_non_null(b);
	for (i = 0; i < n; i++)
		memset(b + i * 512, pat[i] == '.' ? 0 : pat[i], 512);
	return b;
}

/* Write the blocks of @pat at byte @off through @handle. */
static inline uint64_t ct_write(uint64_t handle, int64_t off, const char *pat, uint16_t flags)
{
	uint8_t *b = ct_blocks(pat);
	uint64_t seq = tb_write(handle, off, b, strlen(pat) * 512, flags);

	free(b);
	return seq;
}

/* A starting file of blocks @pat. */
static inline uint64_t ct_init_file(const char *path, const char *pat)
{
	uint8_t *b = ct_blocks(pat);
	uint64_t seq = tb_init_file(path, 0644, b, strlen(pat) * 512);

	free(b);
	return seq;
}

#endif /* TORN_TESTS_UNIT_CRASH_UTIL_H */

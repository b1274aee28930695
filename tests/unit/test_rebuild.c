/*
 * tests/unit/test_rebuild.c - trace_rebuild() and the file model under it.
 *
 * Each test writes a trace by hand (trace_builder.h), rebuilds it into a
 * fresh directory and checks that directory entry by entry: every expected
 * name with its type and exact bytes (or target), and nothing else.
 *
 * Sections: helpers (expected trees); namespace; data; cuts and errors;
 * the model's own API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "torn/trace.h"
#include "recovery/fsmodel.h"
#include "trace_builder.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1u
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2u
#endif

/* ---- helpers */

static char tdir[64], tpath[128], outdir[128];
static int nout;

static int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/torn-test-rebuild-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(tpath, sizeof(tpath), "%s/t.trace", tdir);
	return 0;
}

static int rm_rf(const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int teardown(void **state)
{
	(void)state;
	return rm_rf(tdir) == 0 ? 0 : -1;
}

/* An expected entry: 'f' file with bytes, 'd' directory, 'l' symlink. */
struct want {
	const char *path;
	char type;
	const char *data;      /* file bytes or symlink target */
	size_t len;            /* file size (data may be shorter: rest are zeros) */
};

#define F(p, s) { p, 'f', s, sizeof(s) - 1 }
#define D(p)    { p, 'd', NULL, 0 }
#define L(p, t) { p, 'l', t, 0 }

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char sub[1024];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n++;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(sub, &st), 0);
		if (S_ISDIR(st.st_mode))
			n += count_entries(sub);
	}
	closedir(d);
	return n;
}

static void check_entries(const char *dir, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char p[1024];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", dir, w[i].path);
		if (lstat(p, &st) != 0)
			fail_msg("expected '%s' in the rebuilt tree: %s", w[i].path, strerror(errno));
		if (w[i].type == 'd') {
			assert_true(S_ISDIR(st.st_mode));
		} else if (w[i].type == 'l') {
			char t[1024];
			ssize_t k;

			assert_true(S_ISLNK(st.st_mode));
			k = readlink(p, t, sizeof(t));
			assert_int_equal(k, (ssize_t)strlen(w[i].data));
			assert_memory_equal(t, w[i].data, (size_t)k);
		} else {
			uint8_t *got = malloc(w[i].len + 1);
			int fd;

			assert_true(S_ISREG(st.st_mode));
			if ((size_t)st.st_size != w[i].len)
				fail_msg("'%s': size %lld, expected %zu", w[i].path,
					 (long long)st.st_size, w[i].len);
			fd = open(p, O_RDONLY);
			assert_true(fd >= 0);
			assert_int_equal(read(fd, got, w[i].len + 1), (ssize_t)w[i].len);
			close(fd);
			if (w[i].data && memcmp(got, w[i].data, w[i].len) != 0)
				fail_msg("'%s': bytes differ", w[i].path);
			free(got);
		}
	}
}

/* The tree holds exactly @w: those entries and nothing else. */
static void check_tree(const char *dir, const struct want *w, size_t n)
{
	check_entries(dir, w, n);
	if (count_entries(dir) != (int)n)
		fail_msg("rebuilt tree has %d entries, expected %zu", count_entries(dir), n);
}

/* Rebuild the trace at tpath up to @upto into a new directory; returns its path. */
static const char *rebuild(uint64_t upto)
{
	struct torn_trace *t;
	struct trace_error err;
	int r;

	snprintf(outdir, sizeof(outdir), "%s/out%d", tdir, nout++);
	if ((r = trace_open(tpath, &t, &err)) != 0)
		fail_msg("trace_open: %s", err.msg);
	r = trace_rebuild(t, upto, outdir, &err);
	if (r != 0)
		fail_msg("trace_rebuild: %s", err.msg);
	trace_close(t);
	return outdir;
}

#define CHECK(upto, ...) do { \
	static const struct want w_[] = { __VA_ARGS__ }; \
	check_tree(rebuild(upto), w_, sizeof(w_) / sizeof(w_[0])); \
} while (0)

static void start(void)
{
	tb_open(tpath);
	tb_root();
}

static void finish(void)
{
	tb_end();
	tb_close();
}

/* ---- namespace */

static void test_snapshot_and_create(void **state)
{
	(void)state;
	start();
	tb_init_dir("", 0755);
	tb_init_dir("etc", 0755);
	tb_init_file("etc/conf", 0644, "k=v\n", 4);
	tb_init_file("empty", 0600, "", 0);
	tb_init_symlink("link", "etc/conf");
	tb_init_symlink("abs", "/etc/passwd");     /* kept as a link, never followed */
	tb_init_done();
	tb_open_file(1, "new", TORN_F_CREATED);
	tb_write(1, 0, "fresh", 5, 0);
	tb_symlink("dangling", "../../outside");
	finish();
	CHECK(UINT64_MAX, D("etc"), F("etc/conf", "k=v\n"), F("empty", ""), L("link", "etc/conf"),
	      L("abs", "/etc/passwd"), F("new", "fresh"), L("dangling", "../../outside"));
	/* Modes come through (with the owner's bits kept). */
	{
		struct stat st;
		char p[256];
		snprintf(p, sizeof(p), "%s/empty", outdir);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

static void test_rename_over_existing(void **state)
{
	(void)state;
	start();
	tb_init_file("a", 0644, "AAAA", 4);
	tb_init_file("b", 0644, "BB", 2);
	tb_init_done();
	tb_open_file(1, "b", 0);              /* a handle on the file about to be replaced */
	tb_rename("a", "b", 0);
	tb_write(1, 0, "xx", 2, 0);           /* reaches the unlinked old b: invisible */
	tb_open_file(2, "tmp", TORN_F_CREATED);
	tb_write(2, 0, "new", 3, 0);
	tb_next_result(-EEXIST);
	tb_rename("tmp", "b", RENAME_NOREPLACE);   /* failed: nothing happens */
	tb_rename("tmp", "c", RENAME_NOREPLACE);
	finish();
	CHECK(UINT64_MAX, F("b", "AAAA"), F("c", "new"));
}

static void test_rename_exchange(void **state)
{
	(void)state;
	start();
	tb_init_dir("d", 0755);
	tb_init_file("d/inner", 0644, "in", 2);
	tb_init_file("f", 0644, "file", 4);
	tb_init_done();
	tb_rename("d", "f", RENAME_EXCHANGE);
	tb_open_file(1, "d", 0);              /* "d" is now the file */
	tb_write(1, 4, "!", 1, 0);
	finish();
	CHECK(UINT64_MAX, F("d", "file!"), D("f"), F("f/inner", "in"));
}

static void test_hard_links(void **state)
{
	(void)state;
	start();
	tb_init_done();
	tb_open_file(1, "x", TORN_F_CREATED);
	tb_write(1, 0, "one", 3, 0);
	tb_link("x", "y");
	tb_write(1, 3, "two", 3, 0);          /* seen through both names */
	tb_mkdir("sub", 0755);
	tb_link("y", "sub/z");
	tb_unlink("x");
	tb_write(1, 6, "!", 1, 0);            /* still linked as y and sub/z */
	tb_rename("y", "sub/z", 0);           /* two names of one inode: no-op */
	finish();
	CHECK(UINT64_MAX, F("y", "onetwo!"), D("sub"), F("sub/z", "onetwo!"));
	{
		struct stat a, b;
		char p[256];
		snprintf(p, sizeof(p), "%s/y", outdir);
		assert_int_equal(stat(p, &a), 0);
		snprintf(p, sizeof(p), "%s/sub/z", outdir);
		assert_int_equal(stat(p, &b), 0);
		assert_true(a.st_ino == b.st_ino);   /* written out as a hard link */
		assert_int_equal(a.st_nlink, 2);
	}
}

static void test_write_after_rename_and_unlink(void **state)
{
	(void)state;
	start();
	tb_init_done();
	tb_open_file(1, "log.tmp", TORN_F_CREATED);
	tb_write(1, 0, "head", 4, 0);
	tb_rename("log.tmp", "log", 0);
	tb_write(1, 4, "+tail", 5, 0);        /* through the handle: lands in "log" */
	tb_open_file(2, "scratch", TORN_F_CREATED);
	tb_write(2, 0, "gone", 4, 0);
	tb_unlink("scratch");
	tb_write(2, 4, "still gone", 10, 0);  /* an orphan: never visible */
	tb_truncate(2, 100);
	tb_open_file(3, "scratch", TORN_F_CREATED);  /* a new file with the old name */
	tb_write(3, 0, "new", 3, 0);
	tb_open_file_ex(4, "", 0, O_RDWR | O_TMPFILE, 0100600);   /* unnamed: never seen */
	tb_write(4, 0, "tmp", 3, 0);
	finish();
	CHECK(UINT64_MAX, F("log", "head+tail"), F("scratch", "new"));
}

static void test_nested_dirs_and_rmdir(void **state)
{
	(void)state;
	start();
	tb_init_done();
	tb_mkdir("a", 0755);
	tb_mkdir("a/b", 0755);
	tb_mkdir("a/b/c", 0700);
	tb_open_file(1, "a/b/c/deep", TORN_F_CREATED);
	tb_write(1, 0, "deep", 4, 0);
	tb_mkdir("gone", 0755);
	tb_mkdir("gone/sub", 0755);
	tb_rmdir("gone/sub");
	tb_rmdir("gone");
	tb_rename("a/b", "moved", 0);          /* the whole subtree moves */
	tb_write(1, 4, "er", 2, 0);            /* the handle follows it */
	tb_open_dir(2, "moved/c");
	tb_fsync(2);
	tb_rename("moved", "a/b2", 0);
	tb_next_result(-ENOTEMPTY);
	tb_rmdir("a");                         /* failed: a is not empty */
	finish();
	CHECK(UINT64_MAX, D("a"), D("a/b2"), D("a/b2/c"), F("a/b2/c/deep", "deeper"));
}

static void test_import(void **state)
{
	struct torn_event ev;

	(void)state;
	start();
	tb_init_file("f", 0644, "old", 3);
	tb_init_done();
	tb_import("f", 0644, "imported", 8);
	tb_import("g", 0644, "other", 5);
	/* An O_TMPFILE file named by linkat(AT_EMPTY_PATH): recorded as an
	 * import with the same st_ino; its handle then writes to "t". */
	ev = tb_ev(TORN_EV_OPEN);
	ev.handle = 5;
	ev.ino = 777;
	ev.oflags = O_RDWR | O_TMPFILE;
	ev.mode = 0100600;
	ev.result = 3;
	tb_event(&ev);
	tb_write(5, 0, "abc", 3, 0);
	ev = tb_ev(TORN_EV_IMPORT);
	TB_STR(ev, path, "t");
	ev.ino = 777;
	ev.mode = 0100600;
	ev.len = 3;
	tb_event_content(&ev, "abc", 3);
	tb_write(5, 3, "def", 3, 0);
	finish();
	CHECK(UINT64_MAX, F("f", "imported"), F("g", "other"), F("t", "abcdef"));
}

/* ---- data */

static void test_truncate_shrink_grow(void **state)
{
	(void)state;
	start();
	tb_init_file("p", 0644, "0123456789", 10);
	tb_init_done();
	tb_open_file(1, "h", TORN_F_CREATED);
	tb_write(1, 0, "abcdefghij", 10, 0);
	tb_truncate(1, 4);
	tb_truncate(1, 8);                    /* grows with zeros, not the old bytes */
	tb_write(1, 10, "Z", 1, 0);           /* past the end: a gap of zeros */
	tb_truncate_path("p", 3);
	tb_open_file(2, "p", TORN_F_TRUNCATED);
	tb_write(2, 2, "x", 1, 0);
	finish();
	CHECK(UINT64_MAX, F("h", "abcd\0\0\0\0\0\0Z"), F("p", "\0\0x"));
}

static void test_fallocate_modes(void **state)
{
	(void)state;
	start();
	tb_init_done();
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, 0, "abcdefgh", 8, 0);
	tb_fallocate(1, 0, 4, 8);                               /* size 12 */
	tb_fallocate(1, FALLOC_FL_KEEP_SIZE, 0, 100);           /* no change */
	tb_fallocate(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 2);
	tb_open_file(2, "z", TORN_F_CREATED);
	tb_write(2, 0, "0123456789", 10, 0);
	tb_fallocate(2, FALLOC_FL_ZERO_RANGE, 8, 4);            /* zeros 8..9, size 12 */
	tb_fallocate(2, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 1);
	tb_fallocate(2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 11, 50);
	tb_open_file(3, "c", TORN_F_CREATED);
	{
		/* Collapse and insert work on whole blocks in Linux; the model is
		 * byte exact, tested here on 4096-byte blocks. */
		static uint8_t blk[3 * 4096];
		for (int i = 0; i < 3; i++)
			memset(blk + i * 4096, 'A' + i, 4096);
		tb_write(3, 0, blk, sizeof(blk), 0);
		tb_fallocate(3, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096);   /* A C */
		tb_fallocate(3, FALLOC_FL_INSERT_RANGE, 4096, 4096);     /* A 0 C */
	}
	finish();
	{
		static uint8_t want_c[3 * 4096];
		struct want w[3] = {
			{ "a", 'f', "ab\0\0efgh\0\0\0\0", 12 },
			{ "z", 'f', "\0" "1234567\0\0\0\0", 12 },
			{ "c", 'f', (const char *)want_c, sizeof(want_c) },
		};
		memset(want_c, 'A', 4096);
		memset(want_c + 8192, 'C', 4096);
		check_tree(rebuild(UINT64_MAX), w, 3);
	}
}

static void test_big_and_sparse(void **state)
{
	size_t len = 3 * TORN_CHUNK + 777;
	uint8_t *data = malloc(len);
	struct want w[1];
	char p[256];
	struct stat st;
	int fd;
	uint8_t tail[4];

	(void)state;
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 13 + (i >> 12));
	start();
	tb_init_done();
	tb_open_file(1, "big", TORN_F_CREATED);
	tb_write(1, 0, data, len, 0);
	tb_write(1, 70000, "MID", 3, 0);       /* over a chunk boundary's neighbourhood */
	memcpy(data + 70000, "MID", 3);
	tb_open_file(2, "sparse", TORN_F_CREATED);
	tb_write(2, (int64_t)1 << 32, "end", 3, 0);
	finish();
	w[0] = (struct want){ "big", 'f', (const char *)data, len };
	rebuild(UINT64_MAX);
	assert_int_equal(count_entries(outdir), 2);
	check_entries(outdir, w, 1);          /* "sparse" is checked below */
	snprintf(p, sizeof(p), "%s/sparse", outdir);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size == ((off_t)1 << 32) + 3);
	assert_true(st.st_blocks < 64);        /* the hole stayed a hole */
	fd = open(p, O_RDONLY);
	assert_int_equal(pread(fd, tail, 4, ((off_t)1 << 32) - 1), 4);
	assert_memory_equal(tail, "\0end", 4);
	close(fd);
	free(data);
}

static void test_failed_calls_change_nothing(void **state)
{
	(void)state;
	start();
	tb_init_file("f", 0644, "keep", 4);
	tb_init_done();
	tb_open_file(1, "f", 0);
	tb_next_result(-ENOSPC);
	tb_write(1, 0, "XXXX", 4, 0);
	tb_next_result(2);                     /* a short write: two bytes landed */
	tb_write(1, 0, "YYYY", 4, 0);
	tb_next_result(-EIO);
	tb_truncate(1, 0);
	tb_next_result(-ENOENT);
	tb_unlink("nothere");
	tb_next_result(-EEXIST);
	tb_mkdir("f", 0755);
	tb_next_result(-ENOENT);
	tb_open_file(9, "missing", 0);
	finish();
	CHECK(UINT64_MAX, F("f", "YYep"));
}

static void test_uring_write(void **state)
{
	(void)state;
	start();
	tb_init_done();
	tb_open_file(1, "u", TORN_F_CREATED);
	tb_uring_write(1, 2, "uring!", 6, 77);
	tb_uring_write(1, 100, "never completed", 15, 78);   /* in flight at the end */
	tb_uring_write(1, 50, "failed", 6, 79);
	tb_uring_cqe(79, -EIO);
	tb_uring_cqe(77, 5);                                 /* a short completion */
	finish();
	CHECK(UINT64_MAX, F("u", "\0\0uring"));
}

/* ---- cuts and errors */

static void test_upto_cut(void **state)
{
	uint64_t s_create, s_write1, s_rename, s_write2, s_unlink;

	(void)state;
	start();
	tb_init_file("keep", 0644, "k", 1);
	tb_init_done();
	s_create = tb_open_file(1, "f", TORN_F_CREATED);
	s_write1 = tb_write(1, 0, "first", 5, 0);
	s_rename = tb_rename("f", "g", 0);
	s_write2 = tb_write(1, 5, "second", 6, 0);
	s_unlink = tb_unlink("keep");
	finish();
	CHECK(s_create, F("keep", "k"));
	CHECK(s_write1, F("keep", "k"), F("f", ""));
	CHECK(s_rename, F("keep", "k"), F("f", "first"));
	CHECK(s_write2, F("keep", "k"), F("g", "first"));
	CHECK(s_unlink, F("keep", "k"), F("g", "firstsecond"));
	CHECK(s_unlink + 1, F("g", "firstsecond"));
	CHECK(UINT64_MAX, F("g", "firstsecond"));
	/* Before everything: an empty directory. */
	assert_int_equal(count_entries(rebuild(0)), 0);
}

static void test_out_not_empty(void **state)
{
	struct torn_trace *t;
	struct trace_error err;
	char p[256];
	int fd;

	(void)state;
	start();
	tb_init_done();
	finish();
	snprintf(outdir, sizeof(outdir), "%s/full", tdir);
	assert_int_equal(mkdir(outdir, 0755), 0);
	snprintf(p, sizeof(p), "%s/x", outdir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(trace_open(tpath, &t, &err), 0);
	assert_int_equal(trace_rebuild(t, UINT64_MAX, outdir, &err), -ENOTEMPTY);
	assert_non_null(strstr(err.msg, outdir));
	assert_non_null(strstr(err.msg, "not empty"));
	/* An existing empty directory is fine. */
	snprintf(p, sizeof(p), "%s/empty", tdir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(trace_rebuild(t, UINT64_MAX, p, &err), 0);
	trace_close(t);
}

static void test_inconsistent_trace(void **state)
{
	struct torn_trace *t;
	struct trace_error err;

	(void)state;
	start();
	tb_init_done();
	tb_mark("m");
	tb_rename("never-created", "x", 0);
	finish();
	assert_int_equal(trace_open(tpath, &t, &err), 0);
	snprintf(outdir, sizeof(outdir), "%s/bad", tdir);
	assert_int_equal(trace_rebuild(t, UINT64_MAX, outdir, &err), -ENOENT);
	assert_int_equal(err.record, 3);
	assert_non_null(strstr(err.msg, "record 3 at offset"));
	assert_non_null(strstr(err.msg, "never-created"));
	/* Before that event the rebuild works. */
	snprintf(outdir, sizeof(outdir), "%s/good", tdir);
	assert_int_equal(trace_rebuild(t, 4, outdir, &err), 0);
	trace_close(t);
}

/* ---- differential: random operations on a real directory, recorded by
 * hand with the results the kernel gave, must rebuild to the same tree. */

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rnd_state >> 33) % n;
}

/* Compare two trees on disk: same names, types, sizes, bytes, targets. */
static void compare_trees(const char *a, const char *b, const char *rel)
{
	struct dirent **na, **nb;
	int n = scandir(a, &na, NULL, alphasort), m = scandir(b, &nb, NULL, alphasort);

	assert_true(n >= 0 && m >= 0);
	if (n != m)
		fail_msg("'%s': %d entries in the real tree, %d rebuilt", rel, n, m);
	for (int i = 0; i < n; i++) {
		char pa[1024], pb[1024], r[512];
		struct stat sa, sb;

		if (strcmp(na[i]->d_name, nb[i]->d_name))
			fail_msg("'%s': entry '%s' real, '%s' rebuilt", rel, na[i]->d_name, nb[i]->d_name);
		if (!strcmp(na[i]->d_name, ".") || !strcmp(na[i]->d_name, ".."))
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, na[i]->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, nb[i]->d_name);
		snprintf(r, sizeof(r), "%s/%s", rel, na[i]->d_name);
		assert_int_equal(lstat(pa, &sa), 0);
		assert_int_equal(lstat(pb, &sb), 0);
		if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
			fail_msg("'%s': type differs", r);
		if (S_ISDIR(sa.st_mode)) {
			compare_trees(pa, pb, r);
		} else if (S_ISLNK(sa.st_mode)) {
			char ta[256] = { 0 }, tb[256] = { 0 };
			assert_true(readlink(pa, ta, sizeof(ta) - 1) >= 0);
			assert_true(readlink(pb, tb, sizeof(tb) - 1) >= 0);
			assert_string_equal(ta, tb);
		} else {
			char *ba, *bb;
			int fa, fb;

			if (sa.st_size != sb.st_size)
				fail_msg("'%s': size %lld real, %lld rebuilt", r, (long long)sa.st_size,
					 (long long)sb.st_size);
			ba = malloc((size_t)sa.st_size + 1);
			bb = malloc((size_t)sa.st_size + 1);
			fa = open(pa, O_RDONLY);
			fb = open(pb, O_RDONLY);
			assert_int_equal(read(fa, ba, (size_t)sa.st_size + 1), sa.st_size);
			assert_int_equal(read(fb, bb, (size_t)sa.st_size + 1), sa.st_size);
			if (memcmp(ba, bb, (size_t)sa.st_size))
				fail_msg("'%s': bytes differ", r);
			close(fa);
			close(fb);
			free(ba);
			free(bb);
		}
	}
	for (int i = 0; i < n; i++)
		free(na[i]);
	for (int i = 0; i < m; i++)
		free(nb[i]);
	free(na);
	free(nb);
}

static void test_differential_random(void **state)
{
	static const char *const names[] = { "a", "b", "d", "d/a", "d/b", "d/e", "d/e/f", "e", "e/a" };
	enum { NNAMES = sizeof(names) / sizeof(names[0]), NOPS = 250, NSEEDS = 40, MAXFD = 8 };
	static uint8_t buf[9000];
	char real[160], p2[256];
	int ok[12] = { 0 }, exchanged = 0;

	(void)state;
	snprintf(real, sizeof(real), "%s/real", tdir);
	for (int seed = 1; seed <= NSEEDS; seed++) {
		int fds[MAXFD], dirfd;
		uint64_t handles[MAXFD], next_handle = 1;

		rnd_state = (uint64_t)seed;
		rm_rf(real);
		assert_int_equal(mkdir(real, 0755), 0);
		dirfd = open(real, O_RDONLY | O_DIRECTORY);
		for (int i = 0; i < MAXFD; i++)
			fds[i] = -1;
		start();
		tb_init_dir("", 0755);
		tb_init_done();
		for (int op = 0; op < NOPS; op++) {
			const char *n1 = names[rnd(NNAMES)], *n2 = names[rnd(NNAMES)];
			int k = (int)rnd(MAXFD), r;
			struct stat st;

			int kind = (int)rnd(12);

			r = -1;
			switch (kind) {
			case 0: case 1: {          /* open, maybe creating, maybe truncating */
				int trunc = rnd(4) == 0, existed = fstatat(dirfd, n1, &st, AT_SYMLINK_NOFOLLOW) == 0;
				if (fds[k] >= 0)
					break;
				fds[k] = openat(dirfd, n1, O_RDWR | O_CREAT | O_NOFOLLOW | (trunc ? O_TRUNC : 0), 0644);
				if (fds[k] < 0)
					break;                     /* failed opens are not recorded */
				handles[k] = next_handle++;
				r = 0;
				tb_open_file_ex(handles[k], n1, (uint16_t)((existed ? 0 : TORN_F_CREATED) |
					(existed && trunc ? TORN_F_TRUNCATED : 0)), O_RDWR | O_CREAT, 0100644);
				break;
			}
			case 2: case 3: {           /* pwrite */
				int64_t off = rnd(12000);
				size_t len = 1 + rnd(sizeof(buf) - 1);
				ssize_t w;
				if (fds[k] < 0)
					break;
				for (size_t i = 0; i < len; i++)
					buf[i] = (uint8_t)rnd(256);
				w = pwrite(fds[k], buf, len, off);
				r = w > 0 ? 0 : -1;
				tb_next_result(w < 0 ? -errno : w);
				tb_write(handles[k], off, buf, len, 0);
				break;
			}
			case 4: {                   /* rename, renameat2 flags */
				unsigned fl = rnd(3) == 0 ? RENAME_NOREPLACE : rnd(3) == 0 ? RENAME_EXCHANGE : 0;
				r = renameat2(dirfd, n1, dirfd, n2, fl);
				exchanged += r == 0 && fl == RENAME_EXCHANGE && strcmp(n1, n2);
				tb_next_result(r < 0 ? -errno : 0);
				tb_rename(n1, n2, fl);
				break;
			}
			case 5:
				r = linkat(dirfd, n1, dirfd, n2, 0);
				tb_next_result(r < 0 ? -errno : 0);
				tb_link(n1, n2);
				break;
			case 6:
				r = unlinkat(dirfd, n1, 0);
				tb_next_result(r < 0 ? -errno : 0);
				tb_unlink(n1);
				break;
			case 7:
				r = mkdirat(dirfd, n1, 0755);
				tb_next_result(r < 0 ? -errno : 0);
				tb_mkdir(n1, 0755);
				break;
			case 8:
				r = unlinkat(dirfd, n1, AT_REMOVEDIR);
				tb_next_result(r < 0 ? -errno : 0);
				tb_rmdir(n1);
				break;
			case 9: {                   /* ftruncate */
				int64_t len = rnd(14000);
				if (fds[k] < 0)
					break;
				r = ftruncate(fds[k], len);
				tb_next_result(r < 0 ? -errno : 0);
				tb_truncate(handles[k], len);
				break;
			}
			case 10: {                  /* fallocate, the modes ext4 and tmpfs know */
				static const int modes[] = { 0, FALLOC_FL_KEEP_SIZE,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
					FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE };
				int mode = modes[rnd(5)];
				int64_t off = rnd(12000), len = 1 + rnd(9000);
				if (fds[k] < 0)
					break;
				r = fallocate(fds[k], mode, off, len);
				tb_next_result(r < 0 ? -errno : 0);
				tb_fallocate(handles[k], (uint32_t)mode, off, len);
				break;
			}
			case 11:
				if (rnd(2)) {
					/* Dangling targets only: the recorder resolves paths,
					 * so a recorded path never goes through a symlink, and
					 * with no target a real call through one fails too. */
					const char *target = rnd(2) ? "../x" : "zz";
					r = symlinkat(target, dirfd, n1);
					tb_next_result(r < 0 ? -errno : 0);
					tb_symlink(n1, target);
				} else if (fds[k] >= 0) {
					close(fds[k]);
					fds[k] = -1;
					tb_close_handle(handles[k]);
				}
				break;
			}
			ok[kind] += r == 0;
		}
		finish();
		for (int i = 0; i < MAXFD; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		close(dirfd);
		snprintf(p2, sizeof(p2), "seed %d", seed);
		compare_trees(real, rebuild(UINT64_MAX), p2);
	}
	/* The sequence really exercised every operation, successfully. */
	for (int k = 0; k < 12; k++)
		if (ok[k] < 10)
			fail_msg("operation %d succeeded only %d times", k, ok[k]);
	assert_true(exchanged >= 5);
}

/* ---- hostile traces: whatever a trace says, the rebuild fails cleanly or
 * writes only inside its output directory. */

static void test_hostile_traces(void **state)
{
	static const char *const paths[] = { "a", "b", "d", "d/a", "d/d", "" };
	char evil_abs[96], evil_rel[128], out[160], cmd[400];
	uint8_t data[5000];
	int built = 0, refused = 0;
	struct stat st;

	(void)state;
	snprintf(evil_abs, sizeof(evil_abs), "/tmp/torn-evil-%d", (int)getpid());
	snprintf(evil_rel, sizeof(evil_rel), "../../../../../..%s", evil_abs);
	rnd_state = 99;
	for (int i = 0; i < 300; i++) {
		struct torn_trace *t;
		struct trace_error err;

		start();
		tb_init_done();
		tb_open_file(1, "h1", TORN_F_CREATED);
		tb_open_file(2, "h2", TORN_F_CREATED);
		for (int k = 0, n = 1 + (int)rnd(10); k < n; k++) {
			struct torn_event ev;
			const char *p = paths[rnd(6)], *p2 = paths[rnd(6)];
			static const int64_t offs[] = { 0, 1, 4095, 4096, 1ll << 40, INT64_MAX - 2, -1 };
			static const uint16_t types[] = { TORN_EV_OPEN, TORN_EV_WRITE, TORN_EV_TRUNCATE,
				TORN_EV_FALLOCATE, TORN_EV_RENAME, TORN_EV_UNLINK, TORN_EV_LINK,
				TORN_EV_MKDIR, TORN_EV_RMDIR, TORN_EV_SYMLINK, TORN_EV_IMPORT,
				TORN_EV_INIT_FILE, TORN_EV_INIT_DIR, TORN_EV_CLOSE };
			uint32_t len = rnd(sizeof(data));

			for (uint32_t j = 0; j < len; j++)
				data[j] = (uint8_t)rnd(256);
			ev = tb_ev(types[rnd(14)]);
			ev.path = p;
			ev.path_len = (uint32_t)strlen(p);
			ev.path2 = p2;
			ev.path2_len = (uint32_t)strlen(p2);
			ev.handle = 1 + rnd(2);
			ev.flags = (uint16_t)rnd(8);
			ev.off = offs[rnd(7)];
			ev.len = rnd(2) ? (int64_t)len : offs[rnd(7)];
			ev.oflags = rnd(3) ? rnd(4) : rnd(0x80);
			ev.mode = rnd(2) ? 0100644 : rnd(077777);
			ev.result = rnd(5) ? 0 : -EIO;
			if (ev.type == TORN_EV_SYMLINK) {
				ev.path2 = rnd(2) ? evil_abs : evil_rel;
				ev.path2_len = (uint32_t)strlen(ev.path2);
			}
			if (ev.type == TORN_EV_WRITE) {
				ev.result = len;
				tb_event_content(&ev, data, len);
			} else if (ev.type == TORN_EV_IMPORT || ev.type == TORN_EV_INIT_FILE) {
				ev.len = len;
				tb_event_content(&ev, data, len);
			} else {
				tb_event(&ev);
			}
		}
		finish();
		snprintf(out, sizeof(out), "%s/hostile", tdir);
		if (trace_open(tpath, &t, &err) != 0) {
			refused++;
			continue;
		}
		if (trace_rebuild(t, UINT64_MAX, out, &err) == 0) {
			built++;
		} else {
			refused++;
			assert_true(err.code < 0);
			assert_true(err.msg[0] != '\0');
		}
		trace_close(t);
		/* Nothing outside the output directory. */
		assert_int_equal(count_entries(tdir) - count_entries(out), 2);   /* t.trace, hostile */
		assert_int_equal(lstat(evil_abs, &st), -1);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
		assert_int_equal(system(cmd), 0);
	}
	print_message("hostile traces: %d rebuilt, %d refused\n", built, refused);
	assert_true(built >= 10 && refused >= 10);
}

/* ---- the model's API */

static void test_model_api(void **state)
{
	struct fsm *m, *c;
	struct fsm_inode *f, *g;
	torn_hash h1, h2;
	char buf[8];
	int err;

	(void)state;
	assert_int_equal(fsm_new(&m), 0);
	assert_int_equal(fsm_create(m, "d", 1, FSM_DIR, 0755, NULL, 0, NULL), 0);
	assert_int_equal(fsm_create(m, "d/f", 3, FSM_REG, 0644, NULL, 0, &f), 0);
	assert_int_equal(fsm_create(m, "d/f", 3, FSM_REG, 0644, NULL, 0, NULL), -EEXIST);
	assert_int_equal(fsm_create(m, "x/f", 3, FSM_REG, 0644, NULL, 0, NULL), -ENOENT);
	assert_int_equal(fsm_create(m, "d/f/g", 5, FSM_REG, 0644, NULL, 0, NULL), -ENOTDIR);
	assert_int_equal(fsm_pwrite(m, f, 0, "hello", 5), 0);
	assert_int_equal(fsm_rename(m, "d", 1, "d/sub", 5, 0), -EINVAL);
	assert_int_equal(fsm_rmdir(m, "d", 1), -ENOTEMPTY);
	assert_int_equal(fsm_unlink(m, "d", 1), -EISDIR);
	assert_int_equal(fsm_link(m, "d", 1, "e", 1), -EPERM);
	assert_int_equal(fsm_clone(m, &c), 0);
	h1 = fsm_hash(m);
	h2 = fsm_hash(c);
	assert_true(h1.lo == h2.lo && h1.hi == h2.hi);
	g = fsm_lookup(c, "d/f", 3, &err);
	assert_non_null(g);
	assert_true(g != f);
	fsm_pread(g, 0, buf, 6);
	assert_memory_equal(buf, "hello\0", 6);
	assert_int_equal(fsm_pwrite(c, g, 1, "E", 1), 0);    /* the copy is independent */
	h2 = fsm_hash(c);
	assert_false(h1.lo == h2.lo && h1.hi == h2.hi);
	fsm_pread(f, 0, buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_null(fsm_lookup(m, "nope", 4, &err));
	assert_int_equal(err, -ENOENT);
	assert_ptr_equal(fsm_lookup(m, "", 0, &err), fsm_root(m));
	fsm_free(c);

	/* A terabyte-sized sparse file: collapse and insert move pages, not
	 * bytes; a page of zeros hashes like a hole. */
	assert_int_equal(fsm_create(m, "s", 1, FSM_REG, 0644, NULL, 0, &f), 0);
	assert_int_equal(fsm_truncate(m, f, 1ull << 40), 0);
	assert_int_equal(fsm_pwrite(m, f, (1ull << 40) - 4096, "tail", 4), 0);
	assert_int_equal(fsm_fallocate(m, f, FALLOC_FL_INSERT_RANGE, 0, 8192), 0);
	assert_true(f->size == (1ull << 40) + 8192);
	fsm_pread(f, (1ull << 40) + 4096, buf, 4);
	assert_memory_equal(buf, "tail", 4);
	assert_int_equal(fsm_fallocate(m, f, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096), 0);
	fsm_pread(f, 1ull << 40, buf, 4);
	assert_memory_equal(buf, "tail", 4);
	assert_int_equal(fsm_fallocate(m, f, FALLOC_FL_COLLAPSE_RANGE, 1, 4096), -EINVAL);
	assert_int_equal(fsm_pwrite(m, f, UINT64_MAX - 2, "x", 1), -EFBIG);
	h1 = fsm_hash(m);
	assert_int_equal(fsm_pwrite(m, f, 8192, "\0\0\0\0", 4), 0);   /* zeros: same bytes */
	h2 = fsm_hash(m);
	assert_true(h1.lo == h2.lo && h1.hi == h2.hi);
	assert_int_equal(fsm_pwrite(m, f, 8192, "z", 1), 0);
	h2 = fsm_hash(m);
	assert_false(h1.lo == h2.lo && h1.hi == h2.hi);
	fsm_free(m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_snapshot_and_create),
		T(test_rename_over_existing),
		T(test_rename_exchange),
		T(test_hard_links),
		T(test_write_after_rename_and_unlink),
		T(test_nested_dirs_and_rmdir),
		T(test_import),
		T(test_truncate_shrink_grow),
		T(test_fallocate_modes),
		T(test_big_and_sparse),
		T(test_failed_calls_change_nothing),
		T(test_uring_write),
		T(test_upto_cut),
		T(test_out_not_empty),
		T(test_inconsistent_trace),
		T(test_differential_random),
		T(test_hostile_traces),
		cmocka_unit_test(test_model_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

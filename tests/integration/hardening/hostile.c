/*
 * tests/integration/hardening/hostile.c - write hostile traces, by hand
 * (tests/unit/trace_builder.h), for hardening.sh.
 *
 *	hostile DIR OUTSIDE
 *
 * writes DIR/esc-NAME.trace (paths that escape the root: refused with exit
 * 2 by info, replay and explore, nothing written anywhere) and
 * DIR/big-NAME.trace (sizes, counts and results far beyond anything real:
 * refused or handled, without allocating what they claim).  OUTSIDE is an absolute
 * directory the escaping traces aim at (it holds a file named "victim").
 * Prints the names written, one a line.
 */
#include <limits.h>

#include "../../unit/trace_builder.h"

static char g_dir[PATH_MAX], g_out[PATH_MAX], g_tmp[PATH_MAX + 64];

static const char *outside(const char *rest)
{
	snprintf(g_tmp, sizeof(g_tmp), "%s%s", g_out, rest);
	return g_tmp;
}

static void begin(const char *kind, const char *name)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s-%s.trace", g_dir, kind, name);
	tb_open(p);
	tb_root();
	tb_init_dir("d", 0755);
	tb_init_file("keep", 0644, "K", 1);
	tb_init_done();
	printf("%s-%s\n", kind, name);
}

static void finish(void)
{
	tb_mark("done");
	tb_end();
	tb_close();
}

/* An event with a path given with its length (NUL inside, no strlen). */
static void open_raw_path(uint64_t handle, const char *path, uint32_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_OPEN);

	ev.path = path;
	ev.path_len = len;
	ev.handle = handle;
	ev.flags = TORN_F_CREATED;
	ev.oflags = O_RDWR | O_CREAT;
	ev.mode = 0100644u;
	ev.result = 3;
	ev.blksize = 512;
	tb_event(&ev);
}

static void create_write(uint64_t h, const char *path)
{
	tb_open_file(h, path, TORN_F_CREATED);
	tb_write(h, 0, "PWNED", 5, 0);
	tb_fsync(h);
}

static void escaping(void)
{
	/* names that are not trace paths (rule 5) */
	begin("esc", "dotdot");
	create_write(1, "../escape");
	finish();
	begin("esc", "dotdot-inner");
	create_write(1, "d/../../escape");
	finish();
	begin("esc", "absolute");
	create_write(1, outside("/abs"));
	finish();
	begin("esc", "nul");
	open_raw_path(1, "a\0/../../x", 10);
	tb_write(1, 0, "PWNED", 5, 0);
	finish();
	begin("esc", "double-slash");
	create_write(1, "d//b");
	finish();
	begin("esc", "dot");
	create_write(1, "./a");
	finish();
	begin("esc", "rename-dotdot");
	create_write(1, "a");
	tb_rename("a", "../a", 0);
	finish();
	begin("esc", "symlink-target-dotdot-in-path2");
	create_write(1, "a");
	tb_link("a", "../hard");
	finish();

	/* symlinks made in the trace, then used as a directory or a file */
	begin("esc", "symlink-abs-dir-write");
	tb_symlink("l", g_out);
	create_write(1, "l/x");
	finish();
	begin("esc", "symlink-rel-dir-write");
	tb_symlink("l", "../../../../../../../..");
	create_write(1, "l/tmp/x");
	finish();
	begin("esc", "symlink-file-write");
	tb_symlink("f", outside("/victim"));
	tb_open_file(1, "f", 0);
	tb_write(1, 0, "PWNED", 5, 0);
	tb_truncate(1, 2);
	tb_fsync(1);
	finish();
	begin("esc", "symlink-file-truncate-path");
	tb_symlink("f", outside("/victim"));
	tb_truncate_path("f", 1);
	finish();
	begin("esc", "init-symlink-dir-write");
	tb_close();
	{
		char p[PATH_MAX + 64];

		/* the symlink is in the starting snapshot this time */
		snprintf(p, sizeof(p), "%s/esc-init-symlink-dir-write.trace", g_dir);
		tb_open(p);
		tb_root();
		tb_init_symlink("l", g_out);
		tb_init_done();
		create_write(1, "l/x");
		finish();
	}
	begin("esc", "symlink-mkdir");
	tb_symlink("l", g_out);
	tb_mkdir("l/newdir", 0755);
	finish();
	begin("esc", "symlink-rename-out");
	tb_symlink("l", g_out);
	tb_rename("keep", "l/stolen", 0);
	finish();
	begin("esc", "symlink-rename-in");
	tb_symlink("l", g_out);
	tb_rename("l/victim", "taken", 0);
	finish();
	begin("esc", "symlink-unlink");
	tb_symlink("l", g_out);
	tb_unlink("l/victim");
	finish();
	begin("esc", "symlink-link");
	tb_symlink("l", g_out);
	tb_link("keep", "l/hard");
	finish();
	begin("esc", "symlink-chain");
	tb_symlink("d/up", "..");
	tb_symlink("d/up2", "../..");
	create_write(1, "d/up2/x");
	finish();
	begin("esc", "symlinked-dir-renamed");
	/* a directory renamed away and a symlink to outside put in its
	 * place: the next write under the old name goes through the link */
	tb_rename("d", "e", 0);
	tb_symlink("d", g_out);
	create_write(1, "d/x");
	finish();
	begin("esc", "symlink-dir-renamed");
	/* the link itself renamed, then used under its new name */
	tb_symlink("l", g_out);
	tb_rename("l", "m", 0);
	create_write(1, "m/x");
	finish();
}

/* A write event whose fields say @len / @res bytes but whose chunks
 * describe @data. */
static void write_claiming(uint64_t h, int64_t off, int64_t len, int64_t res)
{
	struct torn_event ev = tb_ev(TORN_EV_WRITE);

	ev.handle = h;
	ev.off = off;
	ev.len = len;
	ev.result = res;
	ev.aux = TORN_SRC_PWRITE;
	tb_event_content(&ev, "BIG", 3);
}

static void huge(void)
{
	const int64_t e60 = (int64_t)1 << 60, e62 = (int64_t)1 << 62;
	uint64_t i;

	begin("big", "write-len-2e60");
	tb_open_file(1, "a", TORN_F_CREATED);
	write_claiming(1, 0, e60, e60);
	tb_fsync(1);
	finish();
	begin("big", "write-off-2e62");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, e62, "BIG", 3, 0);
	tb_fsync(1);
	finish();
	begin("big", "write-off-max");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, INT64_MAX - 1, "BIG", 3, 0);
	tb_fsync(1);
	finish();
	begin("big", "write-off-negative");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, -4096, "BIG", 3, 0);
	tb_fsync(1);
	finish();
	begin("big", "truncate-2e62");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, 0, "BIG", 3, 0);
	tb_truncate(1, e62);
	tb_fsync(1);
	finish();
	begin("big", "truncate-negative");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_truncate(1, -1);
	finish();
	begin("big", "fallocate-2e61");
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_fallocate(1, 0, 0, e60 * 2);
	tb_fsync(1);
	finish();
	begin("big", "init-file-2e60");
	tb_close();
	{
		char p[PATH_MAX + 64];
		struct torn_event ev = tb_ev(TORN_EV_INIT_FILE);

		snprintf(p, sizeof(p), "%s/big-init-file-2e60.trace", g_dir);
		tb_open(p);
		tb_root();
		ev.path = "a";
		ev.path_len = 1;
		ev.mode = 0100644u;
		ev.len = e60;
		tb_event_content(&ev, "BIG", 3);
		tb_init_done();
		finish();
	}
	begin("big", "handle-ids");
	/* handle ids are opaque 64-bit values: a table indexed by them
	 * would be 2^63 entries */
	tb_open_file(UINT64_MAX, "a", TORN_F_CREATED);
	tb_open_file((uint64_t)1 << 62, "b", TORN_F_CREATED);
	tb_write(UINT64_MAX, 0, "BIG", 3, 0);
	tb_write((uint64_t)1 << 62, 0, "BIG", 3, 0);
	tb_fsync(UINT64_MAX);
	finish();
	begin("big", "results-min");
	/* results no call returns: INT64_MIN as a write's, an fsync's and an
	 * injected fault's result (-result would overflow), and a short-write
	 * fault claiming INT64_MAX bytes */
	tb_open_file(1, "a", TORN_F_CREATED);
	tb_write(1, 0, "BIG", 3, 0);
	{
		struct torn_event ev = tb_ev(TORN_EV_FAULT);

		TB_STR(ev, text, "posix/io/sync/fsync");
		ev.handle = 1;
		ev.result = INT64_MIN;
		tb_event(&ev);
		ev = tb_ev(TORN_EV_FSYNC);
		ev.handle = 1;
		ev.aux = TORN_SYNC_FSYNC;
		ev.result = INT64_MIN;
		tb_event(&ev);
		ev = tb_ev(TORN_EV_FAULT);
		TB_STR(ev, text, "posix/io/rw/pwrite/reduce");
		ev.handle = 1;
		ev.flags = TORN_F_SHORT;
		ev.result = INT64_MAX;
		tb_event(&ev);
	}
	write_claiming(1, 0, 3, INT64_MIN);
	tb_fsync(1);
	finish();
	begin("big", "many-handles");
	/* 200000 open descriptions never closed, and one fsync at the end */
	tb_open_file(1, "a", TORN_F_CREATED);
	for (i = 2; i <= 200000; i++)
		tb_open_file(i * 7919, "a", 0);
	tb_write(1, 0, "BIG", 3, 0);
	tb_fsync(1);
	finish();
}

int main(int argc, char **argv)
{
	if (argc != 3 || argv[2][0] != '/') {
		fprintf(stderr, "usage: hostile DIR OUTSIDE (absolute)\n");
		return 2;
	}
	snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
	snprintf(g_out, sizeof(g_out), "%s", argv[2]);
	escaping();
	huge();
	return 0;
}

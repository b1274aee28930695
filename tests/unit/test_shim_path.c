/*
 * tests/unit/test_shim_path.c - the shim's path resolution
 * (injector/shim_path.c): is this path under the recording root, and what
 * is its root-relative name?
 *
 * The unit is compiled in with stand-ins for what it takes from the rest
 * of the shim (the root, the real openat and close).  A scratch tree:
 *
 *   T/root/            the recording root
 *   T/root/sub/
 *   T/root/file
 *   T/root/lnk      -> ../out          (a symlink leading out)
 *   T/rootx/file                        (shares the root's prefix)
 *   T/out/in        -> T/root/sub       (a symlink leading in)
 *
 * Covered: absolute and relative paths, a directory descriptor, "..", ".",
 * trailing slashes, the root itself, a sibling sharing the root's prefix,
 * symlinks into and out of the root in the middle and at the end (followed
 * or not), a missing parent, descriptors without a path, the root "/".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "injector/shim_path.c"

/* ---- stand-ins for the rest of the shim */

static char g_rootbuf[PATH_MAX];
static size_t g_rootlen;

const char *shim_root(void) { return g_rootbuf; }
size_t shim_root_len(void) { return g_rootlen; }

int (*shim_real_openat)(int, const char *, int, ...) = openat;
int (*shim_real_close)(int) = close;
void shim_resolve(void) {}

/* ---- the scratch tree */

static char g_t[PATH_MAX];

static void path_of(char *out, const char *rel)
{
	size_t n = strlen(g_t), r = strlen(rel);

	assert_true(n + 1 + r < PATH_MAX);
	memcpy(out, g_t, n);
	out[n] = '/';
	memcpy(out + n + 1, rel, r + 1);
}

static int setup(void **state)
{
	char p[PATH_MAX], q[PATH_MAX];

	(void)state;
	snprintf(g_t, sizeof(g_t), "/tmp/torn-shim-path.XXXXXX");
	assert_non_null(mkdtemp(g_t));
	/* /tmp may itself be a symlink: the root is always resolved. */
	assert_non_null(realpath(g_t, p));
	strcpy(g_t, p);
	path_of(p, "root");
	assert_int_equal(mkdir(p, 0755), 0);
	strcpy(g_rootbuf, p);
	g_rootlen = strlen(p);
	path_of(p, "root/sub");
	assert_int_equal(mkdir(p, 0755), 0);
	path_of(p, "root/file");
	close(open(p, O_CREAT | O_WRONLY, 0644));
	path_of(p, "rootx");
	assert_int_equal(mkdir(p, 0755), 0);
	path_of(p, "rootx/file");
	close(open(p, O_CREAT | O_WRONLY, 0644));
	path_of(p, "out");
	assert_int_equal(mkdir(p, 0755), 0);
	path_of(p, "root/lnk");
	assert_int_equal(symlink("../out", p), 0);
	path_of(p, "out/in");
	path_of(q, "root/sub");
	assert_int_equal(symlink(q, p), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_t);
	return system(cmd) == 0 ? 0 : -1;
}

/* Resolve and check: @want_rel NULL means "not under the root". */
static void check(int dirfd, const char *path, int follow, const char *want_rel)
{
	struct shim_path p;
	int rc = shim_path_resolve(&p, dirfd, path, follow);

	assert_int_equal(rc, 0);
	if (!want_rel) {
		assert_false(p.in);
		return;
	}
	assert_true(p.in);
	assert_int_equal(shim_path_rel_len(&p), strlen(want_rel));
	assert_memory_equal(shim_path_rel(&p), want_rel, strlen(want_rel));
	assert_true(trace_path_ok(shim_path_rel(&p), shim_path_rel_len(&p)));
}

static void check_abs(const char *rel, int follow, const char *want_rel)
{
	char p[PATH_MAX];

	path_of(p, rel);
	check(AT_FDCWD, p, follow, want_rel);
}

/* ---- tests */

static void test_absolute(void **state)
{
	(void)state;
	check_abs("root/file", 1, "file");
	check_abs("root/file", 0, "file");
	check_abs("root/sub", 1, "sub");
	check_abs("root/new", 1, "new");                /* not there yet: O_CREAT */
	check_abs("root/sub/new", 0, "sub/new");
	check_abs("out/x", 1, NULL);
}

static void test_root_itself(void **state)
{
	(void)state;
	check_abs("root", 1, "");
	check_abs("root/", 0, "");
	check_abs("root//", 1, "");
	check_abs("root/sub/..", 1, "");
	check_abs("root/.", 0, "");
}

static void test_prefix_sibling(void **state)
{
	(void)state;
	/* "T/rootx" starts with "T/root" but is not below it. */
	check_abs("rootx/file", 1, NULL);
	check_abs("rootx", 0, NULL);
}

static void test_dotdot(void **state)
{
	(void)state;
	check_abs("root/sub/../file", 1, "file");
	check_abs("root/sub/../new", 0, "new");
	check_abs("root/../out/x", 1, NULL);
	check_abs("out/../root/sub/y", 0, "sub/y");
}

static void test_relative_and_dirfd(void **state)
{
	char p[PATH_MAX], cwd[PATH_MAX];
	int dfd;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	path_of(p, "root/sub");
	assert_int_equal(chdir(p), 0);
	check(AT_FDCWD, "x.dat", 1, "sub/x.dat");
	check(AT_FDCWD, "../file", 1, "file");
	check(AT_FDCWD, ".", 1, "sub");
	check(AT_FDCWD, "..", 0, "");
	check(AT_FDCWD, "../..", 1, NULL);
	assert_int_equal(chdir(cwd), 0);

	path_of(p, "root");
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	check(dfd, "sub/new", 0, "sub/new");
	check(dfd, "file", 1, "file");
	check(dfd, "lnk/x", 1, NULL);
	close(dfd);
}

static void test_symlinks(void **state)
{
	(void)state;
	/* In the middle: always resolved. */
	check_abs("out/in/new", 1, "sub/new");
	check_abs("out/in/new", 0, "sub/new");
	check_abs("root/lnk/x", 0, NULL);
	/* At the end: the link itself (unlink, rename) or its target (open). */
	check_abs("root/lnk", 0, "lnk");
	check_abs("root/lnk", 1, NULL);
	check_abs("out/in", 1, "sub");
	check_abs("out/in", 0, NULL);
}

static void test_errors(void **state)
{
	struct shim_path p;
	char path[PATH_MAX];
	int fds[2];

	(void)state;
	path_of(path, "root/nodir/x");
	assert_int_equal(shim_path_resolve(&p, AT_FDCWD, path, 1), -ENOENT);
	assert_int_equal(shim_path_resolve(&p, AT_FDCWD, "", 1), -ENOENT);
	assert_int_equal(shim_path_resolve(&p, AT_FDCWD, NULL, 1), -EFAULT);
	assert_true(shim_path_resolve(&p, 12345, "x", 0) < 0);     /* no such descriptor */
	/* A pipe has no path: not a file under the root. */
	assert_int_equal(pipe(fds), 0);
	assert_true(shim_path_fd(&p, fds[0]) < 0);
	assert_false(p.in);
	close(fds[0]);
	close(fds[1]);
}

static void test_fd_names(void **state)
{
	struct shim_path p;
	char path[PATH_MAX], name[32];
	int fd;

	(void)state;
	shim_proc_fd_name(name, 0);
	assert_string_equal(name, "/proc/self/fd/0");
	shim_proc_fd_name(name, 65535);
	assert_string_equal(name, "/proc/self/fd/65535");
	path_of(path, "root/file");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(shim_path_fd(&p, fd), 0);
	assert_true(p.in);
	assert_string_equal(shim_path_rel(&p), "file");
	close(fd);
}

static void test_root_slash(void **state)
{
	char save[PATH_MAX], want[PATH_MAX];
	size_t savelen = g_rootlen;

	(void)state;
	/* The root "/" is spelled "": everything is under it. */
	strcpy(save, g_rootbuf);
	g_rootbuf[0] = '\0';
	g_rootlen = 0;
	check(AT_FDCWD, "/", 1, "");
	path_of(want, "root/file");
	check_abs("root/file", 1, want + 1);
	path_of(want, "out/new");
	check_abs("root/lnk/new", 0, want + 1);
	strcpy(g_rootbuf, save);
	g_rootlen = savelen;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_root_itself),
		cmocka_unit_test(test_prefix_sibling),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_relative_and_dirfd),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fd_names),
		cmocka_unit_test(test_root_slash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

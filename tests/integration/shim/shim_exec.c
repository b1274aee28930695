/*
 * tests/integration/shim/shim_exec.c - a program that execs itself: the
 * new images' writes must be recorded.
 *
 *   shim_exec DIR EXPFILE [STAGE]
 *
 * Without STAGE: writes e-main.dat, then in forked children execs itself
 * with execve and an empty environment (envp = NULL), with execl, and with
 * execvp after clearenv(); and spawns itself with posix_spawn and an
 * environment without LD_PRELOAD (its file goes under free/, its order
 * against the parent is not fixed).  Each stage writes e-STAGE.dat.
 * Expectation lines as in shim_exp.h go to EXPFILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_exp.h"

static int g_exp = -1;

static void X(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void X(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(g_exp, line, (size_t)n) != n)
		exit(3);
}

/* Write DIR/[free/]e-STAGE.dat and say so. */
static void stage_file(const char *dir, const char *stage, int free_dir)
{
	char path[PATH_MAX], shown[256], data[128], h[33], fl[4];
	unsigned mem = 0, off = 0;
	struct statx sx;
	int fd, n;

	snprintf(shown, sizeof(shown), "%se-%s.dat", free_dir ? "free/" : "", stage);
	snprintf(path, sizeof(path), "%s/%s", dir, shown);
	n = snprintf(data, sizeof(data), "written by stage %s\n", stage);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		exit(4);
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
		mem = sx.stx_dio_mem_align;
		off = sx.stx_dio_offset_align;
	}
	if (!free_dir)
		X("open %s oflags=0x%x created=1 truncated=0 dir=0 dio=%u/%u", shown,
	  (unsigned)((O_CREAT | O_WRONLY | O_TRUNC) & EXP_OFLAGS), mem, off);
	if (write(fd, data, (size_t)n) != n)
		exit(5);
	if (!free_dir)
		X("write %s off=0 len=%d result=%d src=write flags=%s hash=%s", shown, n, n,
		  exp_wflags(fl, 0, 0, 0), exp_hash(h, data, (size_t)n));
	if (close(fd) != 0)
		exit(6);
	if (!free_dir)
		X("close %s result=0", shown);
}

static int wait_ok(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	const char *dir, *expf;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: shim_exec DIR EXPFILE [STAGE]\n");
		return 2;
	}
	dir = argv[1];
	expf = argv[2];
	if (argc == 4) {
		g_exp = open(expf, O_WRONLY | O_APPEND);
		if (g_exp < 0)
			return 7;
		stage_file(dir, argv[3], strcmp(argv[3], "spawn") == 0);
		return 0;
	}
	g_exp = open(expf, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (g_exp < 0 || !realpath("/proc/self/exe", self)) {
		perror(expf);
		return 2;
	}
	stage_file(dir, "main", 0);
	{
		char free_path[PATH_MAX];

		snprintf(free_path, sizeof(free_path), "%s/free", dir);
		if (mkdir(free_path, 0755) != 0)
			return 1;
		X("mkdir free result=0");
	}

	/* execve with a NULL environment. */
	X("fork");
	pid = fork();
	if (pid == 0) {
		char *av[] = { "shim_exec", (char *)dir, (char *)expf, "execve", NULL };

		X("exec shim_exec %s %s execve result=0", dir, expf);
		execve(self, av, NULL);
		_exit(10);
	}
	if (!wait_ok(pid))
		return 1;

	/* execl. */
	X("fork");
	pid = fork();
	if (pid == 0) {
		X("exec shim_exec %s %s execl result=0", dir, expf);
		execl(self, "shim_exec", dir, expf, "execl", (char *)NULL);
		_exit(11);
	}
	if (!wait_ok(pid))
		return 1;

	/* execvp after the program cleared its whole environment. */
	X("fork");
	pid = fork();
	if (pid == 0) {
		char *av[] = { "shim_exec", (char *)dir, (char *)expf, "execvp", NULL };

		clearenv();
		X("exec shim_exec %s %s execvp result=0", dir, expf);
		execvp(self, av);
		_exit(12);
	}
	if (!wait_ok(pid))
		return 1;

	/* posix_spawn with an environment that lacks LD_PRELOAD. */
	{
		char *av[] = { "shim_exec", (char *)dir, (char *)expf, "spawn", NULL };
		char *env[] = { "SHIM_TEST=1", NULL };

		if (posix_spawn(&pid, self, NULL, NULL, av, env) != 0)
			return 1;
		X("fork");
		if (!wait_ok(pid))
			return 1;
	}
	stage_file(dir, "end", 0);
	return 0;
}

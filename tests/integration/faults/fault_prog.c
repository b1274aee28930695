/*
 * tests/integration/faults/fault_prog.c - a small program for the fault
 * tests: writes and fsyncs of DIR/wal.log, in one process, across fork,
 * or across exec.
 *
 *   fault_prog DIR seq N     N rounds of write(12 bytes) + fsync
 *   fault_prog DIR fork      2 rounds, then a fork child makes 2 rounds
 *                            (waited for), then the parent 1 more
 *   fault_prog DIR exec      1 round, then exec "fault_prog DIR seq 2"
 *   fault_prog DIR fork2 N   N rounds, then two fork children one after the
 *                            other (roles C1, C2), N rounds each
 *
 * Every call's result is printed, one line each, prefixed with the role
 * (P: the first process, C: a fork child, X: an exec'd image):
 *   P write 12 | P write -1 ENOSPC | P fsync 0 | P fsync -1 EIO
 * Exit 0; 2 on bad usage or a failed open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_fd = -1;
static const char *g_role = "P";

static void said(const char *what, long r, int e)
{
	if (r < 0)
		printf("%s %s %ld %s\n", g_role, what, r, strerrorname_np(e));
	else
		printf("%s %s %ld\n", g_role, what, r);
	fflush(stdout);
}

static void rounds(int n)
{
	for (int i = 0; i < n; i++) {
		long r = write(g_fd, "hello world\n", 12);

		said("write", r, errno);
		r = fsync(g_fd);
		said("fsync", r, errno);
	}
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc < 3 || ((!strcmp(argv[2], "seq") || !strcmp(argv[2], "fork2")) && argc != 4)) {
		fprintf(stderr, "usage: fault_prog DIR seq N | fork | exec | fork2 N\n");
		return 2;
	}
	if (getenv("FAULT_PROG_ROLE"))
		g_role = getenv("FAULT_PROG_ROLE");
	snprintf(path, sizeof(path), "%s/wal.log", argv[1]);
	g_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (g_fd < 0) {
		fprintf(stderr, "fault_prog: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (!strcmp(argv[2], "seq")) {
		rounds(atoi(argv[3]));
	} else if (!strcmp(argv[2], "fork")) {
		pid_t pid;
		int st;

		rounds(2);
		pid = fork();
		if (pid == 0) {
			g_role = "C";
			rounds(2);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 2;
		rounds(1);
	} else if (!strcmp(argv[2], "fork2")) {
		int n = atoi(argv[3]);

		rounds(n);
		for (int k = 1; k <= 2; k++) {
			pid_t pid = fork();
			int st;

			if (pid == 0) {
				g_role = k == 1 ? "C1" : "C2";
				rounds(n);
				_exit(0);
			}
			if (pid < 0 || waitpid(pid, &st, 0) != pid)
				return 2;
		}
	} else if (!strcmp(argv[2], "exec")) {
		char *args[] = { argv[0], argv[1], "seq", "2", NULL };

		rounds(1);
		close(g_fd);
		setenv("FAULT_PROG_ROLE", "X", 1);
		execv("/proc/self/exe", args);
		return 2;
	} else {
		fprintf(stderr, "fault_prog: unknown mode %s\n", argv[2]);
		return 2;
	}
	close(g_fd);
	return 0;
}

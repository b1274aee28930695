/*
 * tests/integration/record/rec_marks.c - a program to record: makes marks
 * through every channel (torn_mark, $TORN_MARK_FD, stdout) in the ways the
 * record tests check.  Run under `torn record`; without the shim torn_mark
 * does nothing and the program still runs (that is checked too).
 *
 *   rec_marks mix N             for i < N: torn_mark "api i", a line "fd i"
 *                               written to $TORN_MARK_FD, printf "out i"
 *   rec_marks threads P T N     P processes x T threads, each N marks
 *                               "p.t i" (with a 300-byte tail when
 *                               $REC_MARKS_LONG is set, to fill the ring)
 *   rec_marks kill N            N marks "k i", then SIGKILL to itself
 *   rec_marks slow N MS         N marks "s i", one every MS milliseconds
 *   rec_marks files DIR N       for i < N: write "w i" to DIR/log (pwrite),
 *                               "fd i" to $TORN_MARK_FD, printf "out i",
 *                               torn_mark "api i", then fdatasync
 * With $REC_PIDFILE set, the program first writes its pid there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "torn/mark.h"

static int mark_fd(void)
{
	const char *s = getenv("TORN_MARK_FD");

	return s ? atoi(s) : -1;
}

static void fd_line(int fd, const char *fmt, int i)
{
	char b[128];
	int n = snprintf(b, sizeof(b), fmt, i);

	if (fd >= 0 && write(fd, b, (size_t)n) != n)
		perror("write mark fd");
}

struct th {
	int p, t, n;
	const char *tail;
};

static void *thread_main(void *arg)
{
	struct th *th = arg;

	for (int i = 0; i < th->n; i++)
		torn_mark("%d.%d %d%s", th->p, th->t, i, th->tail);
	return NULL;
}

static int threads(int p, int t, int n)
{
	static char tail[301];
	pthread_t tid[64];
	struct th th[64];

	if (t > 64)
		return 2;
	if (getenv("REC_MARKS_LONG")) {
		tail[0] = ' ';
		memset(tail + 1, 'x', sizeof(tail) - 2);
	}
	for (int i = 0; i < t; i++) {
		th[i] = (struct th){ p, i, n, tail };
		if (pthread_create(&tid[i], NULL, thread_main, &th[i]) != 0)
			return 3;
	}
	for (int i = 0; i < t; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int fd = mark_fd();
	const char *pidfile = getenv("REC_PIDFILE");

	/* Tell a test that kills torn which process to watch. */
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			return 2;
	}

	if (argc >= 3 && !strcmp(argv[1], "mix")) {
		for (int i = 0, n = atoi(argv[2]); i < n; i++) {
			torn_mark("api %d\nthis part is cut", i);
			fd_line(fd, "fd %d\n", i);
			printf("out %d\n", i);
		}
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "threads")) {
		int np = atoi(argv[2]), nt = atoi(argv[3]), n = atoi(argv[4]), rc = 0;

		for (int p = 1; p < np; p++) {
			pid_t c = fork();
			if (c == 0)
				_exit(threads(p, nt, n));
			if (c < 0)
				return 3;
		}
		rc = threads(0, nt, n);
		for (int p = 1; p < np; p++) {
			int st;
			if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				rc = 4;
		}
		return rc;
	}
	if (argc >= 3 && !strcmp(argv[1], "kill")) {
		for (int i = 0, n = atoi(argv[2]); i < n; i++)
			torn_mark("k %d", i);
		raise(SIGKILL);
		return 5;
	}
	if (argc >= 4 && !strcmp(argv[1], "slow")) {
		struct timespec ts = { 0, atoi(argv[3]) * 1000000L };
		for (int i = 0, n = atoi(argv[2]); i < n; i++) {
			torn_mark("s %d", i);
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "files")) {
		char path[4096], b[64];
		int out;

		snprintf(path, sizeof(path), "%s/log", argv[2]);
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0) {
			perror(path);
			return 2;
		}
		for (int i = 0, n = atoi(argv[3]); i < n; i++) {
			int len = snprintf(b, sizeof(b), "w %d\n", i);
			if (pwrite(out, b, (size_t)len, (off_t)i * 16) != len)
				return 3;
			fd_line(fd, "fd %d\n", i);
			printf("out %d\n", i);
			torn_mark("api %d", i);
			if (fdatasync(out) != 0)
				return 4;
		}
		close(out);
		return 0;
	}
	fprintf(stderr, "usage: rec_marks mix|threads|kill|slow|files ...\n");
	return 2;
}

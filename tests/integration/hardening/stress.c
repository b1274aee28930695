/*
 * tests/integration/hardening/stress.c - the shim under load: THREADS
 * threads in this process and PROCS forked processes (one worker each)
 * create, write, fsync, rename and unlink files in DIR concurrently until
 * SECONDS have passed or each worker made MAXOPS operations.
 *
 *	stress DIR SECONDS THREADS PROCS MAXOPS [PIDFILE]
 *
 * Worker W's operation N: create DIR/W/N.tmp, pwrite "W:N:" plus a filler
 * (every write's content is unique), fsync, rename to DIR/W/N, append the
 * line "W:N:log\n" to DIR/W/log with O_APPEND, and every 4th operation
 * unlink DIR/W/N-2.  On exit each worker prints "W N" (operations made) to
 * stdout, for stress_check.  PIDFILE gets the main pid once all workers
 * run (for the kill tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *g_dir;
static double g_deadline;
static long g_maxops;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "stress: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static int full_write(int fd, const char *p, size_t n, off_t off, int append)
{
	while (n) {
		ssize_t w = append ? write(fd, p, n) : pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static void *worker(void *arg)
{
	const char *w = arg;
	char dir[512], tmp[600], fin[600], old[600], logp[600], buf[700];
	long n;
	int logfd;

	snprintf(dir, sizeof(dir), "%s/%s", g_dir, w);
	if (mkdir(dir, 0755) < 0)
		die("mkdir", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		die("open", logp);
	for (n = 0; n < g_maxops && now() < g_deadline; n++) {
		int fd, len;

		snprintf(tmp, sizeof(tmp), "%s/%ld.tmp", dir, n);
		snprintf(fin, sizeof(fin), "%s/%ld", dir, n);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("open", tmp);
		len = snprintf(buf, sizeof(buf), "%s:%ld:%.*s", w, n, (int)(n % 97) + 3,
			       "...................................................."
			       "..................................................");
		if (full_write(fd, buf, (size_t)len, 0, 0) < 0)
			die("write", tmp);
		if (fsync(fd) < 0)
			die("fsync", tmp);
		if (close(fd) < 0)
			die("close", tmp);
		if (rename(tmp, fin) < 0)
			die("rename", tmp);
		len = snprintf(buf, sizeof(buf), "%s:%ld:log\n", w, n);
		if (full_write(logfd, buf, (size_t)len, 0, 1) < 0)
			die("append", logp);
		if (n % 4 == 3) {
			snprintf(old, sizeof(old), "%s/%ld", dir, n - 2);
			if (unlink(old) < 0)
				die("unlink", old);
		}
	}
	if (fsync(logfd) < 0 || close(logfd) < 0)
		die("fsync/close", logp);
	printf("%s %ld\n", w, n);
	fflush(stdout);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads, nprocs, i, st, rc = 0;
	pthread_t th[64];
	char names[64][16];
	pid_t kids[16];

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: stress DIR SECONDS THREADS PROCS MAXOPS [PIDFILE]\n");
		return 2;
	}
	g_dir = argv[1];
	g_deadline = now() + atof(argv[2]);
	nthreads = atoi(argv[3]);
	nprocs = atoi(argv[4]);
	g_maxops = atol(argv[5]);
	if (nthreads < 0 || nthreads > 64 || nprocs < 0 || nprocs > 16)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < nprocs; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork", "");
		if (kids[i] == 0) {
			char w[16];

			snprintf(w, sizeof(w), "p%d", i);
			worker(w);
			_exit(0);
		}
	}
	for (i = 0; i < nthreads; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		if (pthread_create(&th[i], NULL, worker, names[i]) != 0)
			die("pthread_create", "");
	}
	if (argc == 7) {
		FILE *f = fopen(argv[6], "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			die("pidfile", argv[6]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < nprocs; i++)
		if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	return rc;
}

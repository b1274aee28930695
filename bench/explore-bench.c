/*
 * bench/explore-bench.c - the helper of bench/explore.sh.
 *
 *   explore-bench write DIR N SIZE     the recorded workload: N pwrites of
 *                                      SIZE bytes (each different) to
 *                                      DIR/data, a torn mark after each, and
 *                                      only then fsync of the file and DIR
 *   explore-bench bare CHECKER N JOBS DIR
 *                                      the limit for an exec checker: fork +
 *                                      exec CHECKER N times in DIR, JOBS at
 *                                      once; prints "bare N SECONDS"
 *   explore-bench run CMD ARGS...      run CMD, print "run WALL_S MAXRSS_KB
 *                                      CPU_S" (wait4's rusage: its peak RSS,
 *                                      CPU time with its waited-for children)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "torn/mark.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_write(const char *dir, int n, size_t size)
{
	char path[4096];
	char *buf = malloc(size);
	int fd, dfd;

	if (!buf)
		return 1;
	snprintf(path, sizeof(path), "%s/data", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, size);
		snprintf(buf, size, "write %d", i);
		if (pwrite(fd, buf, size, (off_t)i * (off_t)size) != (ssize_t)size) {
			perror(path);
			return 1;
		}
		torn_mark("w %d", i);
	}
	/* fsync the data, then the directory: the file's entry is durable too */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fsync(fd) < 0 || dfd < 0 || fsync(dfd) < 0) {
		perror(dir);
		return 1;
	}
	close(dfd);
	close(fd);
	free(buf);
	return 0;
}

static int do_bare(const char *checker, long n, int jobs, const char *dir)
{
	long started = 0, done = 0;
	int running = 0;
	double t0;

	if (chdir(dir) < 0) {
		perror(dir);
		return 1;
	}
	t0 = now();
	while (done < n) {
		while (running < jobs && started < n) {
			pid_t pid = fork();

			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execl(checker, checker, (char *)NULL);
				_exit(127);
			}
			running++;
			started++;
		}
		int st;
		if (wait(&st) < 0) {
			perror("wait");
			return 1;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "bare: the checker failed\n");
			return 1;
		}
		running--;
		done++;
	}
	printf("bare %ld %.3f\n", n, now() - t0);
	return 0;
}

static int do_run(char **argv)
{
	struct rusage ru;
	double t0 = now();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return 1;
	/* CPU of the child and of the descendants it waited for (the checkers). */
	printf("run %.3f %ld %.3f\n", now() - t0, ru.ru_maxrss,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], atoi(argv[3]), (size_t)atol(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "bare"))
		return do_bare(argv[2], atol(argv[3]), atoi(argv[4]), argv[5]);
	if (argc >= 3 && !strcmp(argv[1], "run"))
		return do_run(argv + 2);
	fprintf(stderr, "usage: explore-bench write DIR N SIZE | bare CHECKER N JOBS DIR | "
			"run CMD ARGS...\n");
	return 2;
}

/*
 * tests/integration/shim/shim_threads.c - N threads x M writes to one file.
 *
 *   shim_threads DIR N M [stdio]
 *
 * Thread T writes its record I (64 bytes: "T=tt I=iiii" and padding, so a
 * payload names its writer) with pwrite at offset (T * M + I) * 64, all
 * threads at once.  shim_check threads verifies that every write is in the
 * trace exactly once and each thread's writes in its own order.
 *
 * With "stdio", the threads fprintf their records to one shared stream on
 * DIR/stdio.dat instead (glibc's stream lock orders them): the test then
 * compares the trace's rebuild with the file.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_fd, g_n, g_m;
static FILE *g_f;

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	char rec[64];

	for (int i = 0; i < g_m; i++) {
		if (g_f) {
			if (fprintf(g_f, "T=%02d I=%04d stdio record\n", t, i) < 0)
				exit(1);
			continue;
		}
		memset(rec, '.', sizeof(rec));
		snprintf(rec, sizeof(rec), "T=%02d I=%04d", t, i);
		rec[sizeof(rec) - 1] = '\n';
		if (pwrite(g_fd, rec, sizeof(rec), ((off_t)t * g_m + i) * 64) != (ssize_t)sizeof(rec)) {
			perror("pwrite");
			exit(1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	char path[4096];

	if (argc < 4 || argc > 5 || (g_n = atoi(argv[2])) <= 0 || g_n > 64 ||
	    (g_m = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: shim_threads DIR N(<=64) M [stdio]\n");
		return 2;
	}
	if (argc == 5) {
		snprintf(path, sizeof(path), "%s/stdio.dat", argv[1]);
		if (!(g_f = fopen(path, "w"))) {
			perror(path);
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/threads.dat", argv[1]);
	g_fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (g_fd < 0) {
		perror(path);
		return 1;
	}
	for (int t = 0; t < g_n; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0)
			return 1;
	for (int t = 0; t < g_n; t++)
		pthread_join(th[t], NULL);
	if (g_f && fclose(g_f) != 0)
		return 1;
	return close(g_fd) == 0 ? 0 : 1;
}

/*
 * tests/integration/shim/shim_signal.c - writes from a signal handler
 * while the program writes from its main loop: the handler's wrapper must
 * neither deadlock on the shim's lock nor be lost.
 *
 *   shim_signal DIR N
 *
 * The main loop makes N pwrites to DIR/main.dat; a 200 us interval timer's
 * SIGALRM handler pwrites a record to DIR/sig.dat each time it runs.  On
 * exit, "main N" and "signal K" (the handler's count) go to stderr, for
 * shim_check count.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int g_sig_fd;
static volatile sig_atomic_t g_count;

static void on_alarm(int sig)
{
	char rec[32];
	int n = g_count;

	(void)sig;
	memset(rec, 's', sizeof(rec));
	rec[0] = (char)('0' + n % 10);
	if (pwrite(g_sig_fd, rec, sizeof(rec), (off_t)n * (off_t)sizeof(rec)) == (ssize_t)sizeof(rec))
		g_count = n + 1;
}

int main(int argc, char **argv)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct sigaction sa;
	char path[4096], rec[64];
	int fd, n;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: shim_signal DIR N\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/main.dat", argv[1]);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	snprintf(path, sizeof(path), "%s/sig.dat", argv[1]);
	g_sig_fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || g_sig_fd < 0) {
		perror("open");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < n; i++) {
		memset(rec, 'm', sizeof(rec));
		snprintf(rec, sizeof(rec), "%d", i);
		if (pwrite(fd, rec, sizeof(rec), (off_t)i * (off_t)sizeof(rec)) != (ssize_t)sizeof(rec)) {
			perror("pwrite");
			return 1;
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	fprintf(stderr, "main %d\nsignal %d\n", n, (int)g_count);
	return close(fd) == 0 && close(g_sig_fd) == 0 ? 0 : 1;
}

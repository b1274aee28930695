/*
 * tests/integration/shim/shim_sigrace.c - signal handlers installed and
 * removed while other threads are inside the shim: the shim's lock leaves
 * signals unblocked while the program has no handler (injector/shim_ring.c,
 * section 2), so a handler must never be installed while a thread is inside
 * such a lock, or its write would deadlock on the lock or go unrecorded.
 *
 *   shim_sigrace DIR
 *
 * Four threads make 20,000 pwrites each to DIR/wN.dat; a fifth installs a
 * SIGUSR1 handler and takes it away again (sigaction and signal, SIG_IGN in
 * between) every 100 us; a sixth sends SIGUSR1 to the writers every 50 us.
 * The handler pwrites a record to DIR/sig.dat.  On exit "signal K" (the
 * handler's count) goes to stderr, for shim_check count.
 *
 * Sections: the threads, main.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITERS 4
#define WRITES  20000

/* ---- the threads */

static const char *g_dir;
static int g_sig_fd;
static int g_count;
static volatile int g_stop;
static pthread_t g_writer[WRITERS];

static void on_usr1(int sig)
{
	char rec[16];
	int n = __atomic_fetch_add(&g_count, 1, __ATOMIC_SEQ_CST);

	(void)sig;
	memset(rec, 's', sizeof(rec));
	if (pwrite(g_sig_fd, rec, sizeof(rec), (off_t)n * (off_t)sizeof(rec)) != (ssize_t)sizeof(rec))
		abort();
}

static void *writer(void *arg)
{
	char path[4096], rec[64];
	int fd;

	snprintf(path, sizeof(path), "%s/w%ld.dat", g_dir, (long)arg);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	memset(rec, 'w', sizeof(rec));
	for (int i = 0; i < WRITES; i++)
		if (pwrite(fd, rec, sizeof(rec), (off_t)i * (off_t)sizeof(rec)) != (ssize_t)sizeof(rec)) {
			perror("pwrite");
			exit(1);
		}
	if (close(fd) != 0)
		exit(1);
	return NULL;
}

static void *toggler(void *arg)
{
	struct sigaction on = { .sa_handler = on_usr1 }, off = { .sa_handler = SIG_IGN };

	(void)arg;
	while (!g_stop) {
		sigaction(SIGUSR1, &on, NULL);
		usleep(100);
		sigaction(SIGUSR1, &off, NULL);
		signal(SIGUSR1, on_usr1);
		usleep(100);
		signal(SIGUSR1, SIG_IGN);
	}
	return NULL;
}

static void *kicker(void *arg)
{
	(void)arg;
	while (!g_stop) {
		for (int i = 0; i < WRITERS; i++)
			pthread_kill(g_writer[i], SIGUSR1);
		usleep(50);
	}
	return NULL;
}

/* ---- main */

int main(int argc, char **argv)
{
	char path[4096];
	pthread_t t, k;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_sigrace DIR\n");
		return 2;
	}
	g_dir = argv[1];
	snprintf(path, sizeof(path), "%s/sig.dat", g_dir);
	g_sig_fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (g_sig_fd < 0) {
		perror(path);
		return 1;
	}
	signal(SIGUSR1, SIG_IGN);       /* a kick before the first install is ignored */
	for (long i = 0; i < WRITERS; i++)
		if (pthread_create(&g_writer[i], NULL, writer, (void *)i) != 0)
			return 1;
	if (pthread_create(&t, NULL, toggler, NULL) != 0 || pthread_create(&k, NULL, kicker, NULL) != 0)
		return 1;
	for (int i = 0; i < WRITERS; i++)
		pthread_join(g_writer[i], NULL);
	g_stop = 1;
	pthread_join(t, NULL);
	pthread_join(k, NULL);
	fprintf(stderr, "signal %d\n", __atomic_load_n(&g_count, __ATOMIC_SEQ_CST));
	return close(g_sig_fd) == 0 ? 0 : 1;
}

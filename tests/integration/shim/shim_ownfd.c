/*
 * tests/integration/shim/shim_ownfd.c - a program that closes descriptors
 * it does not know (closefrom, close_range, close, dup2 onto them), as
 * daemons do.  Under the shim its own descriptors (SHIM_FD_BASE and up:
 * the mark pipe) must survive, and recording must go on.
 *
 *   shim_ownfd DIR
 *
 * Writes DIR/a.dat, marks "before" on $TORN_MARK_FD, closes every
 * descriptor from 3, checks the shim's descriptors are still open (close
 * of one "succeeds" and leaves it open, dup2 onto one fails with EBADF),
 * then marks "after 1" with torn_mark() and writes DIR/b.dat.  Exit 0 when
 * every check held (under the shim; natively only the writes are made).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torn/mark.h"

#define OWN_FD 1000     /* SHM_FD_MARK_RD: the mark pipe's read end */

static int g_bad;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "shim_ownfd: %s (errno %d)\n", what, errno);
		g_bad = 1;
	}
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0,
	      "write a file");
}

int main(int argc, char **argv)
{
	const char *mfd = getenv("TORN_MARK_FD");
	int shim = mfd != NULL && fcntl(OWN_FD, F_GETFD) >= 0;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_ownfd DIR\n");
		return 2;
	}
	put(argv[1], "a.dat", "before closefrom\n");
	if (mfd)
		check(write(atoi(mfd), "before\n", 7) == 7, "mark on TORN_MARK_FD");
	closefrom(3);
	if (shim) {
		check(fcntl(OWN_FD, F_GETFD) >= 0, "closefrom closed the shim's descriptor");
		check(close(OWN_FD) == 0, "close of the shim's descriptor did not say 0");
		check(fcntl(OWN_FD, F_GETFD) >= 0, "close closed the shim's descriptor");
		errno = 0;
		check(dup2(1, OWN_FD) == -1 && errno == EBADF, "dup2 onto the shim's descriptor");
		check(close_range(3, ~0U, 0) == 0, "close_range");
		check(fcntl(OWN_FD, F_GETFD) >= 0, "close_range closed the shim's descriptor");
	}
	torn_mark("after %d", 1);
	put(argv[1], "b.dat", "after closefrom\n");
	if (!shim)
		printf("not under the shim: only the files were written\n");
	return g_bad;
}

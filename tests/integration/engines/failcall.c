/*
 * tests/integration/engines/failcall.c - an LD_PRELOAD object that fails
 * one call, for the engine tests that run without torn (faults.sh):
 *
 *   TORNKV_FAIL=CALL:N[+]:WHAT
 *
 * fails the Nth (1-based) call of CALL (fdatasync, fsync or pwrite) made
 * by the process (with '+': the Nth and every later one): WHAT is EIO, ENOSPC, EDQUOT or EINTR (the call is not
 * made, -1 and that errno), `short` (pwrite only: the first half of the
 * bytes is written and its length returned) or `short=BYTES` (that many).  Only that one call: the
 * next one goes through (without '+'), so a program that retries gets its
 * retry.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fail_call[32];
static unsigned long fail_nth;
static int fail_errno, fail_plus, parsed;
static size_t fail_short; /* 1: half; else the bytes to keep */
static unsigned long seen;

static void parse(void)
{
	const char *s = getenv("TORNKV_FAIL");
	char what[32], plus[2];

	parsed = 1;
	if (!s)
		return;
	if (sscanf(s, "%31[^:]:%lu+%1[:]%31s", fail_call, &fail_nth, plus, what) == 4)
		fail_plus = 1;
	else if (sscanf(s, "%31[^:]:%lu:%31s", fail_call, &fail_nth, what) != 3)
		return;
	if (!strcmp(what, "short"))
		fail_short = 1;
	else if (!strncmp(what, "short=", 6) && atol(what + 6) > 1)
		fail_short = (size_t)atol(what + 6);
	else if (!strcmp(what, "EIO"))
		fail_errno = EIO;
	else if (!strcmp(what, "ENOSPC"))
		fail_errno = ENOSPC;
	else if (!strcmp(what, "EDQUOT"))
		fail_errno = EDQUOT;
	else if (!strcmp(what, "EINTR"))
		fail_errno = EINTR;
	else
		fail_call[0] = 0;
}

/* 1 when this call of @call is the one to fail */
static int due(const char *call)
{
	if (!parsed)
		parse();
	if (!fail_call[0] || strcmp(call, fail_call))
		return 0;
	++seen;
	return seen == fail_nth || (fail_plus && seen > fail_nth);
}

__attribute__((visibility("default"))) int fdatasync(int fd)
{
	static int (*real)(int);

	if (due("fdatasync")) {
		errno = fail_errno ? fail_errno : EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}

__attribute__((visibility("default"))) int fsync(int fd)
{
	static int (*real)(int);

	if (due("fsync")) {
		errno = fail_errno ? fail_errno : EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

__attribute__((visibility("default"))) ssize_t pwrite(int fd, const void *buf, size_t n,
						       off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	if (due("pwrite")) {
		if (fail_short && n > 1)
			return real(fd, buf, fail_short > 1 && fail_short < n ? fail_short : n / 2, off);
		errno = fail_errno ? fail_errno : EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

/* glibc's pwrite is pwrite64 under _FILE_OFFSET_BITS=64 */
__attribute__((visibility("default"))) ssize_t pwrite64(int fd, const void *buf, size_t n,
							 off_t off)
{
	return pwrite(fd, buf, n, off);
}

/*
 * examples/tinylog.c - the smallest program worth crash-testing, for the demo.
 *
 *   tinylog write DIR N [--dirsync]   append N checksummed records to DIR/log,
 *                                     fdatasync after each, then acknowledge it
 *                                     with a torn mark ("ack I")
 *   tinylog check DIR                 recovery + checker: read DIR/log up to the
 *                                     first bad record and verify that every
 *                                     record acknowledged in $TORN_MARKS is there
 *
 * The log is created with O_CREAT, so its directory entry is durable only after
 * the directory itself is fsynced.  Without --dirsync the program never does
 * that: after a power loss the whole log may be gone although every record was
 * fdatasync'ed and acknowledged.  torn finds exactly that; with --dirsync it
 * finds nothing.
 *
 * Record format (little-endian): u32 len, u32 checksum (FNV-1a of the payload),
 * payload[len] = "record I".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torn/mark.h"

static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int do_write(const char *dir, int n, int dirsync)
{
	char path[4096];
	int fd, dfd = -1;

	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	if (dirsync) {
		/* fsync the directory, or the log's entry may not exist after a power failure */
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dfd < 0 || fsync(dfd) < 0) {
			perror(dir);
			return 1;
		}
		close(dfd);
	}
	for (int i = 1; i <= n; i++) {
		char rec[64];
		int len = snprintf(rec + 8, sizeof(rec) - 8, "record %d", i);
		uint32_t l = (uint32_t)len, c = fnv1a(rec + 8, (size_t)len);

		memcpy(rec, &l, 4);
		memcpy(rec + 4, &c, 4);
		if (write_all(fd, rec, 8 + (size_t)len) < 0 || fdatasync(fd) < 0) {
			perror(path);
			return 1;
		}
		torn_mark("ack %d", i);     /* durable now: promise it */
	}
	close(fd);
	return 0;
}

static int do_check(const char *dir)
{
	char path[4096], line[256];
	int have = 0, missing = 0;
	FILE *f, *marks;
	const char *mp = getenv("TORN_MARKS");

	snprintf(path, sizeof(path), "%s/log", dir);
	f = fopen(path, "rb");
	if (f) {
		for (;;) {
			unsigned char hdr[8], buf[256];
			uint32_t len, sum;
			char want[32];

			if (fread(hdr, 1, 8, f) != 8)
				break;
			memcpy(&len, hdr, 4);
			memcpy(&sum, hdr + 4, 4);
			if (len == 0 || len > sizeof(buf) || fread(buf, 1, len, f) != len ||
			    fnv1a(buf, len) != sum)
				break;              /* torn tail: recovery stops here */
			snprintf(want, sizeof(want), "record %d", have + 1);
			if (len != strlen(want) || memcmp(buf, want, len))
				break;
			have++;
		}
		fclose(f);
	}
	marks = mp ? fopen(mp, "r") : NULL;
	while (marks && fgets(line, sizeof(line), marks)) {
		int i;
		if (sscanf(line, "ack %d", &i) == 1 && i > have) {
			printf("acknowledged record %d is missing (log has %d records%s)\n", i, have,
			       f ? "" : ", log file absent");
			missing++;
		}
	}
	if (marks)
		fclose(marks);
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], atoi(argv[3]), argc > 4 && !strcmp(argv[4], "--dirsync"));
	if (argc == 3 && !strcmp(argv[1], "check"))
		return do_check(argv[2]);
	fprintf(stderr, "usage: tinylog write DIR N [--dirsync] | tinylog check DIR\n");
	return 2;
}

/*
 * tests/tools/fsync-retry.c - the "fsyncgate" program: appends records to a
 * log, fsyncs after each and acknowledges it with a mark; what it does when
 * fsync fails is the point.
 *
 *   fsync-retry DIR retry|fatal [N]
 *
 * Writes N records (default 5) "rec I\n" to DIR/data.log, each followed by
 * fsync.  When fsync succeeds: torn_mark("ack I") and "ack I" on stdout.
 * When it fails:
 *   retry  calls fsync again until it succeeds, then acknowledges: wrong on
 *          Linux, where the failed fsync dropped the dirty pages and the
 *          retry succeeds without writing them (PostgreSQL's fsyncgate);
 *   fatal  acknowledges nothing more, says "fsync failed: ..." on stderr
 *          and exits 1: the safe reaction.
 * Its checker, fsync-retry-check.sh, verifies that every acknowledged record
 * is in the file.  Exit 0 (or 1 in fatal mode after a failed fsync; 2 on
 * bad usage or an I/O error other than a failed fsync).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <torn/mark.h>

/* Write all of @len bytes (EINTR and short counts retried). */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], rec[64];
	int fd, retry, n = 5;

	if (argc < 3 || argc > 4 || (strcmp(argv[2], "retry") && strcmp(argv[2], "fatal"))) {
		fprintf(stderr, "usage: fsync-retry DIR retry|fatal [N]\n");
		return 2;
	}
	retry = !strcmp(argv[2], "retry");
	if (argc == 4 && (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "fsync-retry: N: expected a number of records from 1, got '%s'\n",
			argv[3]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/data.log", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		fprintf(stderr, "fsync-retry: %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* the file's name must survive a crash before any record can */
	{
		int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);

		if (dfd < 0 || fsync(dfd) < 0) {
			fprintf(stderr, "fsync-retry: %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		close(dfd);
	}
	for (int i = 1; i <= n; i++) {
		int len = snprintf(rec, sizeof(rec), "rec %d\n", i);

		if (write_all(fd, rec, (size_t)len) < 0) {
			fprintf(stderr, "fsync-retry: write of record %d: %s\n", i, strerror(errno));
			return 2;
		}
		/* the record is durable, or it must not be acknowledged */
		while (fsync(fd) < 0) {
			if (!retry) {
				fprintf(stderr, "fsync failed: %s: record %d not acknowledged\n",
					strerror(errno), i);
				return 1;
			}
			/* retry: the mistake this program exists to show */
		}
		torn_mark("ack %d", i);
		printf("ack %d\n", i);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

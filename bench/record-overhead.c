/*
 * bench/record-overhead.c - the workloads of the record-overhead benchmark
 * (bench/record-overhead.sh runs them natively and under `torn record`).
 *
 *   record-overhead append DIR   2,000 appends of 4 KiB to DIR/append.dat,
 *                                each followed by fdatasync (a log's commit)
 *   record-overhead stream DIR   64 MiB in 4 KiB buffered write()s to
 *                                DIR/stream.dat, no fsync; every block has
 *                                distinct pseudo-random bytes (dedup cannot help)
 *
 * With $BENCH_CPU_OUT set, the CPU time the process used (user + system,
 * milliseconds) is appended to that file at the end: the shim's own cost,
 * apart from how busy the machine is.
 *
 * Exit 0, or 1 with a message if an I/O call fails.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BLOCK 4096

/* xorshift64*: cheap, distinct blocks */
static void fill(uint8_t *b, uint64_t *s)
{
	for (size_t i = 0; i < BLOCK; i += 8) {
		uint64_t x = *s;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*s = x;
		x *= 0x2545F4914F6CDD1Dull;
		memcpy(b + i, &x, 8);
	}
}

static int put(int fd, const uint8_t *b)
{
	size_t done = 0;

	while (done < BLOCK) {
		ssize_t n = write(fd, b + done, BLOCK - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	uint8_t b[BLOCK];
	uint64_t s = 0x9E3779B97F4A7C15ull;
	int fd, append;

	if (argc != 3 || (strcmp(argv[1], "append") && strcmp(argv[1], "stream"))) {
		fprintf(stderr, "usage: record-overhead append|stream DIR\n");
		return 2;
	}
	append = !strcmp(argv[1], "append");
	snprintf(path, sizeof(path), "%s/%s.dat", argv[2], argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (append ? O_APPEND : 0), 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (int i = 0; i < (append ? 2000 : (64 << 20) / BLOCK); i++) {
		fill(b, &s);
		if (put(fd, b) != 0 || (append && fdatasync(fd) != 0)) {
			perror(path);
			return 1;
		}
	}
	if (close(fd) != 0) {
		perror(path);
		return 1;
	}
	if (getenv("BENCH_CPU_OUT")) {
		struct rusage ru;
		FILE *f = fopen(getenv("BENCH_CPU_OUT"), "a");

		if (!f || getrusage(RUSAGE_SELF, &ru) != 0)
			return 1;
		fprintf(f, "%.3f\n", (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
		fclose(f);
	}
	return 0;
}

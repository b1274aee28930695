/*
 * tests/integration/record/trace_walk.c - print a trace one record per line
 * with nothing but the codec (trace_decode), for the record tests to grep.
 *
 *   trace_walk TRACE          one line per event (blobs counted, not shown)
 *   trace_walk TRACE PATH     the bytes of PATH in the starting snapshot
 *
 * Line format (fields separated by one space, text last):
 *   SEQ TYPE pid=P tid=T path=PATH [path2=P2] [len=N] [result=R] [mode=M]
 *        [nchunks=K] [flags=F] [off=O] [text=TEXT]
 * Last line: "blobs=N bytes=B complete=0|1 tail=BYTES" where complete says
 * whether the last record is END and tail counts the bytes after the last
 * whole record.  Exit 0, or 2 with a message naming the record and offset
 * for a trace the codec rejects.  Also checked here: seqs strictly increase,
 * every chunk named was carried by an earlier blob.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torn/trace.h"

struct blob {
	torn_hash h;
	const uint8_t *data;
	uint32_t len;
};

static const struct blob *seen(const struct blob *set, size_t n, torn_hash h)
{
	for (size_t i = n; i-- > 0;)
		if (set[i].h.lo == h.lo && set[i].h.hi == h.hi)
			return &set[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct stat st;
	uint8_t *buf;
	struct blob *blobs = NULL;
	const char *cat = argc == 3 ? argv[2] : NULL;
	size_t nblobs = 0, cap = 0, off = TORN_TRACE_HDR_LEN;
	uint64_t last_seq = 0, nrec = 0;
	int fd, complete = 0, rc;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: trace_walk TRACE [PATH]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 2;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		perror(argv[1]);
		return 2;
	}
	close(fd);
	if ((rc = trace_check_header(buf, (size_t)st.st_size)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], torn_strerror(rc));
		return 2;
	}
	while (off < (size_t)st.st_size) {
		struct torn_event ev;
		long n = trace_decode(buf + off, (size_t)st.st_size - off, &ev);

		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "%s: record %" PRIu64 " at offset %zu: %s\n", argv[1], nrec, off,
				torn_strerror((int)n));
			return 2;
		}
		nrec++;
		off += (size_t)n;
		complete = ev.type == TORN_EV_END;
		if (ev.type == TORN_REC_BLOB) {
			if (nblobs == cap && !(blobs = realloc(blobs, (cap = cap ? 2 * cap : 256) * sizeof(*blobs))))
				return 3;
			blobs[nblobs].h = trace_chunk(&ev, 0);
			blobs[nblobs].data = ev.data;
			blobs[nblobs++].len = ev.data_len;
			continue;
		}
		if (ev.seq <= last_seq) {
			fprintf(stderr, "%s: record %" PRIu64 ": seq %" PRIu64 " after %" PRIu64 "\n",
				argv[1], nrec - 1, ev.seq, last_seq);
			return 2;
		}
		last_seq = ev.seq;
		for (uint32_t i = 0; i < ev.nchunks; i++)
			if (!seen(blobs, nblobs, trace_chunk(&ev, i))) {
				fprintf(stderr, "%s: record %" PRIu64 ": chunk %u has no earlier blob\n",
					argv[1], nrec - 1, i);
				return 2;
			}
		if (cat) {
			if (ev.type == TORN_EV_INIT_FILE && ev.path_len == strlen(cat) &&
			    !memcmp(ev.path, cat, ev.path_len)) {
				for (uint32_t i = 0; i < ev.nchunks; i++) {
					const struct blob *b = seen(blobs, nblobs, trace_chunk(&ev, i));
					fwrite(b->data, 1, b->len, stdout);
				}
				free(blobs);
				free(buf);
				return 0;
			}
			continue;
		}
		printf("%" PRIu64 " %s pid=%u tid=%u path=%.*s", ev.seq, trace_type_name(ev.type),
		       ev.pid, ev.tid, (int)ev.path_len, ev.path);
		if (ev.path2_len)
			printf(" path2=%.*s", (int)ev.path2_len, ev.path2);
		printf(" len=%" PRId64 " result=%" PRId64 " mode=%o nchunks=%u flags=%u off=%" PRId64,
		       ev.len, ev.result, ev.mode, ev.nchunks, ev.flags, ev.off);
		if (ev.text_len)
			printf(" text=%.*s", (int)ev.text_len, ev.text);
		putchar('\n');
	}
	if (cat) {
		fprintf(stderr, "%s: no %s in the starting snapshot\n", argv[1], cat);
		return 1;
	}
	printf("blobs=%zu bytes=%lld complete=%d tail=%zu\n", nblobs, (long long)st.st_size, complete,
	       (size_t)st.st_size - off);
	free(blobs);
	free(buf);
	return 0;
}

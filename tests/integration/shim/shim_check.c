/*
 * tests/integration/shim/shim_check.c - checks a trace recorded by the shim
 * tests, through the reader (recovery/trace_read.c).
 *
 *   shim_check events  TRACE EXPFILE    the trace's events, rendered as in
 *                                       shim_exp.h, equal EXPFILE line by line
 *   shim_check threads TRACE N M        N threads x M writes of shim_threads:
 *                                       each recorded once, in each thread's order
 *   shim_check rebuild TRACE OUTDIR     trace_rebuild() of the whole trace
 *   shim_check count   TRACE PATH N     PATH has exactly N successful writes
 *   shim_check covered TRACE PATH N     bytes [0, N) of PATH were written by
 *                                       events before its first fsync
 *   shim_check dump    TRACE            the rendered events (for a failing test)
 *
 * Exit 0 pass, 1 fail (what differs on stderr), 2 bad trace or usage.
 * Sections: 1. rendering, 2. events, 3. threads, 4. main.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_exp.h"

/* ==========================================================================
 * 1. RENDERING
 * ========================================================================== */

/* handle -> path at open, for the events that name a handle. */
struct hpath {
	uint64_t handle;
	char     path[TORN_PATH_MAX + 2];
};

static struct hpath *g_h;
static size_t g_nh;
static uint8_t *g_content;      /* a write's payload, for hashing */
static size_t g_content_cap;

static const char *handle_path(uint64_t h)
{
	for (size_t i = g_nh; i-- > 0;)
		if (g_h[i].handle == h)
			return g_h[i].path;
	return "?";
}

static void set_path(char *dst, const char *p, uint32_t len)
{
	if (len == 0) {
		strcpy(dst, ".");
		return;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
}

/* The hash of the whole content of @ev (its first @n bytes). */
static int content_hash(const struct torn_trace *t, const struct torn_event *ev, uint64_t n,
			char *out)
{
	if (n > g_content_cap) {
		free(g_content);
		g_content = malloc(n);
		g_content_cap = g_content ? n : 0;
		if (!g_content)
			return -ENOMEM;
	}
	if (n && trace_content(t, ev, 0, g_content, n) < 0)
		return -TORN_E_NOBLOB;
	exp_hash(out, g_content, n);
	return 0;
}

/* Render @ev into @line; returns 0 when the event is not compared
 * (context records, marks), 1 when rendered, -1 on a bad event.  @path
 * receives the path the event is about (for the "free/" rule). */
static int render(const struct torn_trace *t, const struct torn_event *ev, char *line, size_t cap,
		  char *path)
{
	char p2[TORN_PATH_MAX + 2], h[33], fl[4];

	path[0] = '\0';
	switch (ev->type) {
	case TORN_EV_OPEN: case TORN_EV_TRUNCATE: case TORN_EV_MKDIR: case TORN_EV_RMDIR:
	case TORN_EV_UNLINK: case TORN_EV_SYMLINK: case TORN_EV_RENAME: case TORN_EV_LINK:
	case TORN_EV_IMPORT:
		if (ev->type != TORN_EV_TRUNCATE || ev->path_len || !ev->handle)
			set_path(path, ev->path, ev->path_len);
		else
			strcpy(path, handle_path(ev->handle));
		break;
	default:
		strcpy(path, ev->handle ? handle_path(ev->handle) : "-");
		break;
	}
	set_path(p2, ev->path2, ev->path2_len);

	switch (ev->type) {
	case TORN_EV_OPEN:
		g_h = realloc(g_h, (g_nh + 1) * sizeof(*g_h));
		if (!g_h)
			return -1;
		g_h[g_nh].handle = ev->handle;
		strcpy(g_h[g_nh++].path, path);
		snprintf(line, cap, "open %s oflags=0x%x created=%d truncated=%d dir=%d dio=%u/%u",
			 path, ev->oflags & EXP_OFLAGS, !!(ev->flags & TORN_F_CREATED),
			 !!(ev->flags & TORN_F_TRUNCATED), !!(ev->flags & TORN_F_DIR),
			 ev->dio_mem_align, ev->dio_offset_align);
		if (ev->blksize != 512 && ev->blksize != 4096)
			fprintf(stderr, "warning: open %s: blksize %u\n", path, ev->blksize);
		return 1;
	case TORN_EV_WRITE:
		if (ev->result > 0 && content_hash(t, ev, (uint64_t)ev->result, h) < 0)
			return -1;
		snprintf(line, cap, "write %s off=%" PRId64 " len=%" PRId64 " result=%" PRId64
			 " src=%s flags=%s hash=%s%s", path, ev->off, ev->len, ev->result,
			 exp_src(ev->aux), exp_wflags(fl, !!(ev->flags & TORN_F_DIRECT),
						      !!(ev->flags & TORN_F_SYNC),
						      !!(ev->flags & TORN_F_MISALIGNED)),
			 ev->result > 0 ? h : "none", (ev->flags & TORN_F_SPLIT) ? " split" : "");
		return 1;
	case TORN_EV_CLOSE:
		snprintf(line, cap, "close %s result=%" PRId64, path, ev->result);
		return 1;
	case TORN_EV_FSYNC:
		snprintf(line, cap, "fsync %s kind=%s result=%" PRId64, path,
			 ev->aux == TORN_SYNC_FDATASYNC ? "fdatasync" : "fsync", ev->result);
		return 1;
	case TORN_EV_SYNC_RANGE:
		snprintf(line, cap, "sync_range %s off=%" PRId64 " len=%" PRId64 " flags=%u result=%"
			 PRId64, path, ev->off, ev->len, ev->oflags, ev->result);
		return 1;
	case TORN_EV_SYNC:
		snprintf(line, cap, "sync");
		return 1;
	case TORN_EV_SYNCFS:
		snprintf(line, cap, "syncfs %s result=%" PRId64, path, ev->result);
		return 1;
	case TORN_EV_TRUNCATE:
		snprintf(line, cap, "truncate %s len=%" PRId64 " result=%" PRId64, path, ev->len,
			 ev->result);
		return 1;
	case TORN_EV_FALLOCATE:
		snprintf(line, cap, "fallocate %s mode=%u off=%" PRId64 " len=%" PRId64 " result=%"
			 PRId64, path, ev->oflags, ev->off, ev->len, ev->result);
		return 1;
	case TORN_EV_SETFL:
		snprintf(line, cap, "setfl %s append=%d direct=%d", path, !!(ev->oflags & O_APPEND),
			 !!(ev->oflags & O_DIRECT));
		return 1;
	case TORN_EV_RENAME:
		snprintf(line, cap, "rename %s %s flags=%u result=%" PRId64, path, p2, ev->oflags,
			 ev->result);
		return 1;
	case TORN_EV_LINK:
		snprintf(line, cap, "link %s %s result=%" PRId64, path, p2, ev->result);
		return 1;
	case TORN_EV_UNLINK:
	case TORN_EV_RMDIR:
	case TORN_EV_MKDIR:
		snprintf(line, cap, "%s %s result=%" PRId64, trace_type_name(ev->type), path,
			 ev->result);
		return 1;
	case TORN_EV_SYMLINK:
		snprintf(line, cap, "symlink %s target=%.*s result=%" PRId64, path,
			 (int)ev->path2_len, ev->path2, ev->result);
		return 1;
	case TORN_EV_IMPORT:
		if (content_hash(t, ev, ev->len > 0 ? (uint64_t)ev->len : 0, h) < 0)
			return -1;
		snprintf(line, cap, "import %s len=%" PRId64 " hash=%s", path, ev->len, h);
		return 1;
	case TORN_EV_MMAP:
	case TORN_EV_MSYNC:
		snprintf(line, cap, "%s %s off=%" PRId64 " len=%" PRId64 " result=%" PRId64,
			 ev->type == TORN_EV_MMAP ? "mmap" : "msync", path, ev->off, ev->len,
			 ev->result);
		return 1;
	case TORN_EV_PROC_FORK:
		snprintf(line, cap, "fork");
		return 1;
	case TORN_EV_PROC_EXEC:
		snprintf(line, cap, "exec %.*s result=%" PRId64, (int)ev->text_len, ev->text,
			 ev->result);
		return 1;
	case TORN_EV_UNSUPPORTED:
		snprintf(line, cap, "unsupported %.*s", (int)ev->text_len, ev->text);
		return 1;
	default:
		return 0;       /* root, snapshot, end, marks, blobs, faults, uring */
	}
}

/* ==========================================================================
 * 2. EVENTS
 * ========================================================================== */

static int check_events(const struct torn_trace *t, const char *expfile, int dump_only)
{
	char line[2 * TORN_PATH_MAX + 512], path[TORN_PATH_MAX + 2], want[sizeof(line)];
	struct torn_event ev;
	uint64_t pos = 0;
	FILE *exp = NULL;
	long n = 0;
	int rc = 0, r;

	if (!dump_only && !(exp = fopen(expfile, "r"))) {
		perror(expfile);
		return 2;
	}
	while (trace_next(t, &pos, &ev) == 1) {
		r = render(t, &ev, line, sizeof(line), path);
		if (r < 0) {
			fprintf(stderr, "bad event at seq %" PRIu64 "\n", ev.seq);
			rc = 1;
			break;
		}
		if (r == 0 || strncmp(path, "free/", 5) == 0)
			continue;
		if (dump_only) {
			printf("%s\n", line);
			continue;
		}
		n++;
		if (!fgets(want, sizeof(want), exp)) {
			fprintf(stderr, "event %ld (seq %" PRIu64 ") not expected:\n  got  %s\n", n,
				ev.seq, line);
			rc = 1;
			break;
		}
		want[strcspn(want, "\n")] = '\0';
		if (strcmp(want, line) != 0) {
			fprintf(stderr, "event %ld (seq %" PRIu64 ") differs:\n  want %s\n  got  %s\n",
				n, ev.seq, want, line);
			rc = 1;
			break;
		}
	}
	if (rc == 0 && exp && fgets(want, sizeof(want), exp)) {
		fprintf(stderr, "expected event %ld missing from the trace:\n  want %s", n + 1, want);
		rc = 1;
	}
	if (exp)
		fclose(exp);
	if (rc == 0 && !dump_only)
		printf("%ld events as expected\n", n);
	return rc;
}

/* ==========================================================================
 * 3. THREADS
 * ========================================================================== */

/* shim_threads: thread T writes record I (64 bytes, "T=tt I=iiii ...") at
 * offset (T * M + I) * 64. */
static int check_threads(const struct torn_trace *t, int nthreads, int nwrites)
{
	int *count = calloc((size_t)nthreads * (size_t)nwrites, sizeof(int));
	int *last = malloc((size_t)nthreads * sizeof(int));
	struct torn_event ev;
	uint64_t pos = 0, writes = 0;
	char rec[65];
	int rc = 0;

	if (!count || !last)
		return 2;
	for (int i = 0; i < nthreads; i++)
		last[i] = -1;
	while (rc == 0 && trace_next(t, &pos, &ev) == 1) {
		int th, idx;

		if (ev.type != TORN_EV_WRITE)
			continue;
		writes++;
		if (ev.result != 64 || trace_content(t, &ev, 0, rec, 64) < 0) {
			fprintf(stderr, "write seq %" PRIu64 ": result %" PRId64 "\n", ev.seq, ev.result);
			rc = 1;
			break;
		}
		rec[64] = '\0';
		if (sscanf(rec, "T=%d I=%d", &th, &idx) != 2 || th < 0 || th >= nthreads || idx < 0 ||
		    idx >= nwrites || ev.off != ((int64_t)th * nwrites + idx) * 64) {
			fprintf(stderr, "write seq %" PRIu64 ": off %" PRId64 " content '%.20s'\n",
				ev.seq, ev.off, rec);
			rc = 1;
			break;
		}
		if (idx <= last[th]) {
			fprintf(stderr, "thread %d: write %d recorded after write %d\n", th, idx,
				last[th]);
			rc = 1;
		}
		last[th] = idx;
		count[th * nwrites + idx]++;
	}
	for (int i = 0; rc == 0 && i < nthreads * nwrites; i++) {
		if (count[i] != 1) {
			fprintf(stderr, "thread %d write %d recorded %d times\n", i / nwrites,
				i % nwrites, count[i]);
			rc = 1;
		}
	}
	if (rc == 0)
		printf("%" PRIu64 " writes, each once, each thread in order\n", writes);
	free(count);
	free(last);
	return rc;
}

/* @path has exactly @n successful write events. */
static int check_count(const struct torn_trace *t, const char *path, long long n)
{
	char line[2 * TORN_PATH_MAX + 512], p[TORN_PATH_MAX + 2];
	struct torn_event ev;
	uint64_t pos = 0;
	long long got = 0;

	while (trace_next(t, &pos, &ev) == 1)
		if (render(t, &ev, line, sizeof(line), p) > 0 && ev.type == TORN_EV_WRITE &&
		    ev.result > 0 && strcmp(p, path) == 0)
			got++;
	if (got != n) {
		fprintf(stderr, "%s: %lld writes in the trace, the program made %lld\n", path, got, n);
		return 1;
	}
	printf("%s: %lld writes, as made\n", path, n);
	return 0;
}

/* Every byte of [0, @n) of @path is written by a write event recorded
 * before the first fsync of @path. */
static int check_covered(const struct torn_trace *t, const char *path, long long n)
{
	char line[2 * TORN_PATH_MAX + 512], p[TORN_PATH_MAX + 2];
	unsigned char *done = calloc((size_t)n + 1, 1);
	struct torn_event ev;
	uint64_t pos = 0, fsync_seq = 0;
	long long missing = 0;

	if (!done)
		return 2;
	while (trace_next(t, &pos, &ev) == 1) {
		if (render(t, &ev, line, sizeof(line), p) <= 0 || strcmp(p, path) != 0)
			continue;
		if (ev.type == TORN_EV_FSYNC) {
			fsync_seq = ev.seq;
			break;
		}
		if (ev.type == TORN_EV_WRITE && ev.result > 0)
			for (int64_t b = ev.off; b < ev.off + ev.result && b < n; b++)
				done[b] = 1;
	}
	for (long long b = 0; b < n; b++)
		missing += !done[b];
	free(done);
	if (!fsync_seq) {
		fprintf(stderr, "no fsync of %s in the trace\n", path);
		return 1;
	}
	if (missing) {
		fprintf(stderr, "%lld of the %lld bytes synced were not recorded before the fsync "
			"(seq %" PRIu64 ")\n", missing, n, fsync_seq);
		return 1;
	}
	printf("all %lld bytes of %s recorded before its fsync (seq %" PRIu64 ")\n", n, path,
	       fsync_seq);
	return 0;
}

/* ==========================================================================
 * 4. MAIN
 * ========================================================================== */

int main(int argc, char **argv)
{
	struct torn_trace *t = NULL;
	struct trace_error err;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: shim_check events|threads|covered|rebuild|dump TRACE [ARGS]\n");
		return 2;
	}
	if (trace_open(argv[2], &t, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	if (trace_truncated(t)) {
		fprintf(stderr, "%s: trace is truncated (no end record)\n", argv[2]);
		trace_close(t);
		return 1;
	}
	if (strcmp(argv[1], "events") == 0 && argc == 4) {
		rc = check_events(t, argv[3], 0);
	} else if (strcmp(argv[1], "dump") == 0) {
		rc = check_events(t, NULL, 1);
	} else if (strcmp(argv[1], "threads") == 0 && argc == 5) {
		rc = check_threads(t, atoi(argv[3]), atoi(argv[4]));
	} else if (strcmp(argv[1], "count") == 0 && argc == 5) {
		rc = check_count(t, argv[3], atoll(argv[4]));
	} else if (strcmp(argv[1], "covered") == 0 && argc == 5) {
		rc = check_covered(t, argv[3], atoll(argv[4]));
	} else if (strcmp(argv[1], "rebuild") == 0 && argc == 4) {
		rc = trace_rebuild(t, UINT64_MAX, argv[3], &err) < 0 ? 1 : 0;
		if (rc)
			fprintf(stderr, "rebuild: %s\n", err.msg);
	} else {
		fprintf(stderr, "shim_check: bad arguments\n");
		rc = 2;
	}
	trace_close(t);
	return rc;
}

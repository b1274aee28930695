/*
 * tests/integration/hardening/stress_check.c - check a trace of stress.c.
 *
 *	stress_check TRACE COUNTS     the whole run: COUNTS is stress's stdout
 *	stress_check TRACE -          a run cut short (killed): no counts
 *
 * Every write's content names its worker and operation ("W:N:"), so:
 *   - each data write and each log append appears once;
 *   - each worker's operations appear in the trace in its own order, from
 *     one pid/tid, and each rename W/N.tmp -> W/N once, after its write;
 *   - with COUNTS: worker W's operations are exactly 0 .. count-1.
 * Prints the totals ("events E, writes W, renames R, workers K") and exits
 * 0, or 1 naming the first thing wrong, 2 for bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torn/trace.h"

#define NW 80                   /* t0..t63 and p0..p15 */

struct wk {
	long next_data, next_log, next_ren;    /* next operation expected */
	uint32_t pid, tid;
	int seen;
};

static struct wk g_w[NW];

static int widx(const char *s, size_t len, long *n, size_t *used)
{
	char tmp[32];
	int i;
	char *e;

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if ((tmp[0] != 't' && tmp[0] != 'p') || (i = (int)strtol(tmp + 1, &e, 10)) < 0 ||
	    (tmp[0] == 't' ? i >= 64 : i >= 16) || (*e != ':' && *e != '/'))
		return -1;
	*n = strtol(e + 1, &e, 10);
	*used = (size_t)(e - tmp);
	return tmp[0] == 't' ? i : 64 + i;
}

static int fail(const char *what, uint64_t seq)
{
	fprintf(stderr, "stress_check: seq %llu: %s\n", (unsigned long long)seq, what);
	return 1;
}

static int owner(struct wk *w, const struct torn_event *ev)
{
	if (!w->seen) {
		w->seen = 1;
		w->pid = ev->pid;
		w->tid = ev->tid;
	}
	return w->pid == ev->pid && w->tid == ev->tid;
}

int main(int argc, char **argv)
{
	struct torn_trace *t = NULL;
	struct trace_error err;
	struct torn_event ev;
	uint64_t pos = 0, events = 0, writes = 0, renames = 0;
	char buf[1024];
	int i, k = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: stress_check TRACE COUNTS|-\n");
		return 2;
	}
	if (trace_open(argv[1], &t, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	while (trace_next(t, &pos, &ev)) {
		struct wk *w;
		long n;
		size_t used;
		int x;

		if (ev.type == TORN_REC_BLOB)
			continue;
		events++;
		if (ev.type == TORN_EV_WRITE && ev.result > 0 && ev.result < (int64_t)sizeof(buf)) {
			if (trace_content(t, &ev, 0, buf, (size_t)ev.result) < 0)
				return fail("write content missing", ev.seq);
			buf[ev.result] = '\0';
			if ((x = widx(buf, (size_t)ev.result, &n, &used)) < 0)
				continue;
			w = &g_w[x];
			writes++;
			if (!owner(w, &ev))
				return fail("a worker's write from another thread", ev.seq);
			if (strstr(buf, ":log\n")) {
				if (n != w->next_log)
					return fail(buf, ev.seq);
				w->next_log++;
			} else {
				if (n != w->next_data)
					return fail(buf, ev.seq);
				w->next_data++;
			}
		} else if (ev.type == TORN_EV_RENAME && ev.result == 0) {
			if ((x = widx(ev.path, ev.path_len, &n, &used)) < 0)
				continue;
			w = &g_w[x];
			renames++;
			if (!owner(w, &ev) || n != w->next_ren || n + 1 != w->next_data)
				return fail("rename out of order or from another thread", ev.seq);
			w->next_ren++;
		}
	}
	for (i = 0; i < NW; i++)
		k += g_w[i].seen;
	if (strcmp(argv[2], "-") != 0) {
		FILE *f = fopen(argv[2], "r");
		char name[32];
		long cnt;
		int nw = 0;

		if (!f) {
			perror(argv[2]);
			return 2;
		}
		while (fscanf(f, "%31s %ld", name, &cnt) == 2) {
			size_t used;
			long dummy;
			char tmp[40];
			int x;

			snprintf(tmp, sizeof(tmp), "%s:0", name);
			if ((x = widx(tmp, strlen(tmp), &dummy, &used)) < 0) {
				fprintf(stderr, "stress_check: %s: bad worker '%s'\n", argv[2], name);
				return 2;
			}
			nw++;
			if (g_w[x].next_data != cnt || g_w[x].next_log != cnt ||
			    g_w[x].next_ren != cnt) {
				fprintf(stderr, "stress_check: worker %s made %ld operations, the "
					"trace has %ld writes, %ld appends, %ld renames\n", name, cnt,
					g_w[x].next_data, g_w[x].next_log, g_w[x].next_ren);
				return 1;
			}
		}
		fclose(f);
		if (nw != k) {
			fprintf(stderr, "stress_check: %d workers reported, %d in the trace\n", nw, k);
			return 1;
		}
	}
	printf("events %llu, writes %llu, renames %llu, workers %d%s\n",
	       (unsigned long long)events, (unsigned long long)writes,
	       (unsigned long long)renames, k, trace_truncated(t) ? " (cut short)" : "");
	trace_close(t);
	return 0;
}

/*
 * recovery/rebuild.c - trace_rebuild(): the files after a prefix of the
 * trace, with everything persisted.
 *
 * Sections: the output directory (create it or check it is empty); the
 * replay of the prefix through the model (fsmodel.h); writing it out.
 *
 * The model is strict: an event that succeeded in the recording but cannot
 * happen in the model (a rename of a name that does not exist, a write to
 * a handle of a directory) means the trace missed something, and the
 * rebuild fails naming that record rather than produce a wrong directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsmodel.h"
#include "torn/trace.h"

static int rb_fail(struct trace_error *err, int code, uint64_t rec, uint64_t off,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int rb_fail(struct trace_error *err, int code, uint64_t rec, uint64_t off,
		   const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->record = rec;
	err->offset = off;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Create @out, or accept it if it is an empty directory. */
static int rb_prepare(const char *out)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (mkdir(out, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	d = opendir(out);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	}
	closedir(d);
	return r;
}

int trace_rebuild(const struct torn_trace *t, uint64_t upto, const char *out,
		  struct trace_error *err)
{
	struct fsm *m = NULL;
	struct torn_event ev;
	uint64_t pos = 0, at = 0, n = 0;
	char why[192];
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	if (out && (r = rb_prepare(out)) < 0) {
		rb_fail(err, r, UINT64_MAX, 0, "%s: %s", out,
			r == -ENOTEMPTY ? "output directory is not empty" : strerror(-r));
		goto done;
	}
	if ((r = fsm_new(&m)) < 0) {
		rb_fail(err, r, UINT64_MAX, 0, "%s: out of memory", trace_path(t));
		goto done;
	}
	for (; (at = pos), trace_next(t, &pos, &ev); n++) {
		if (ev.type == TORN_REC_BLOB)
			continue;
		if (ev.seq >= upto)
			break;
		if ((r = fsm_apply(m, t, &ev, why, sizeof(why))) < 0) {
			rb_fail(err, r, n, at < TORN_TRACE_HDR_LEN ? TORN_TRACE_HDR_LEN : at,
				"%s: record %llu at offset %llu: seq %llu: the trace does not add up: %s",
				trace_path(t), (unsigned long long)n,
				(unsigned long long)(at < TORN_TRACE_HDR_LEN ? TORN_TRACE_HDR_LEN : at),
				(unsigned long long)ev.seq, why[0] ? why : torn_strerror(r));
			goto done;
		}
	}
	if (out && (r = fsm_write_out(m, out, why, sizeof(why))) < 0)
		rb_fail(err, r, UINT64_MAX, 0, "%s: %s", out, why[0] ? why : strerror(-r));
done:
	fsm_free(m);
	return r;
}

/*
 * injector/fault_spec.c - the failure points and the fault-spec parser
 * (interface and grammar: fault_spec.h).
 *
 * Sections: 1. the point table, built from shim_calls.h, 2. errno names,
 * 3. small parsing helpers, 4. the libfiu form, 5. the torn form,
 * 6. parse, format, equal.
 *
 * Linked into torn (record, faults, scenario validation) and into the shim,
 * whose constructor parses $TORN_FAULTS: nothing here allocates or calls a
 * function the shim interposes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_spec.h"
#include "shim_calls.h"
#include "torn/trace.h"

/* ==========================================================================
 * 1. THE POINT TABLE
 * ==========================================================================
 *
 * The raw table has one row per interposed call (shim_calls.h); the points
 * are its distinct failure point names, each with the calls it covers and
 * the union of their errnos, plus POINT/reduce twins of the write points
 * and the io_uring points.  Built once, into static storage. */

#define FS_UNPAREN(...) __VA_ARGS__

struct fs_row {
	const char *call, *point;
	const int  *errnos;
	int         plain;      /* a P line: its generated wrapper injects */
};

#define FS_ROW_P(ret, name, params, args, errv, errnos, fiu) \
	{ #name, fiu, (const int[]){ FS_UNPAREN errnos, 0 }, 1 },
#define FS_ROW_H(ret, name, params, errv, errnos, fiu) \
	{ #name, fiu, (const int[]){ FS_UNPAREN errnos, 0 }, 0 },
static const struct fs_row fs_rows[] = { SHIM_CALLS(FS_ROW_P, FS_ROW_H) };

#define FS_URING_ROW(point, ops, errnos) { ops, point, (const int[]){ FS_UNPAREN errnos, 0 } },
static const struct { const char *ops, *point; const int *errnos; } fs_uring[] = {
	SHIM_URING_POINTS(FS_URING_ROW)
};

#define FS_MAXPTS    96
#define FS_MAXERR    24
#define FS_CALLS_LEN 160

static struct fault_point fs_pts[FS_MAXPTS];
static char fs_names[FS_MAXPTS][FAULT_POINT_MAX];
static char fs_calls[FS_MAXPTS][FS_CALLS_LEN];
static int  fs_errs[FS_MAXPTS][FS_MAXERR + 1];
static size_t fs_npts;
static pthread_once_t fs_once = PTHREAD_ONCE_INIT;

/* Is @word one of the space-separated words of @list (" a b ")? */
static int fs_in_words(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if (p[-1] == ' ' && p[n] == ' ')
			return 1;
	return 0;
}

static void fs_add_words(char *dst, const char *words)
{
	size_t used = strlen(dst), n = strlen(words);

	if (used + n + 2 > FS_CALLS_LEN)
		return;         /* cannot happen with the table as it is */
	if (used)
		dst[used++] = ' ';
	memcpy(dst + used, words, n + 1);
}

static void fs_add_errnos(int *dst, const int *src)
{
	for (; *src; src++) {
		int i = 0;

		while (dst[i] && dst[i] != *src)
			i++;
		if (!dst[i] && i < FS_MAXERR)
			dst[i] = *src;
	}
}

/* The point named @name, created (with @flags) when new. */
static struct fault_point *fs_point(const char *name, const char *suffix, unsigned flags)
{
	char full[FAULT_POINT_MAX];
	size_t i;

	snprintf(full, sizeof(full), "%s%s", name, suffix);
	for (i = 0; i < fs_npts; i++)
		if (!strcmp(fs_names[i], full))
			return &fs_pts[i];
	if (fs_npts == FS_MAXPTS)
		return NULL;
	memcpy(fs_names[i], full, sizeof(full));
	fs_pts[i].name = fs_names[i];
	fs_pts[i].calls = fs_calls[i];
	fs_pts[i].errnos = fs_errs[i];
	fs_pts[i].flags = flags;
	fs_npts++;
	return &fs_pts[i];
}

static int fs_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fault_point *)a)->name, ((const struct fault_point *)b)->name);
}

static void fs_build(void)
{
	for (size_t r = 0; r < sizeof(fs_rows) / sizeof(fs_rows[0]); r++) {
		const struct fs_row *row = &fs_rows[r];
		struct fault_point *p;
		int shortable = fs_in_words(SHIM_FAULT_SHORT, row->call);

		if (!row->plain && !fs_in_words(SHIM_FAULT_HAND, row->call))
			continue;
		p = fs_point(row->point, "", shortable ? FAULT_PT_SHORT : 0);
		if (!p)
			continue;
		fs_add_words((char *)p->calls, row->call);
		fs_add_errnos((int *)p->errnos, row->errnos);
		if (shortable && (p = fs_point(row->point, "/reduce", FAULT_PT_REDUCE)))
			fs_add_words((char *)p->calls, row->call);
	}
	for (size_t u = 0; u < sizeof(fs_uring) / sizeof(fs_uring[0]); u++) {
		struct fault_point *p = fs_point(fs_uring[u].point, "", FAULT_PT_URING);

		if (!p)
			continue;
		fs_add_words((char *)p->calls, fs_uring[u].ops);
		fs_add_errnos((int *)p->errnos, fs_uring[u].errnos);
	}
	/* Sorting moves the structs, whose pointers name the buffers: fine. */
	qsort(fs_pts, fs_npts, sizeof(fs_pts[0]), fs_cmp);
}

size_t fault_points(const struct fault_point **out)
{
	pthread_once(&fs_once, fs_build);
	*out = fs_pts;
	return fs_npts;
}

const struct fault_point *fault_point_find(const char *name)
{
	const struct fault_point *pts;
	size_t n = fault_points(&pts);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(pts[i].name, name))
			return &pts[i];
	return NULL;
}

/* ==========================================================================
 * 2. ERRNO NAMES (glibc's strerrorname_np: no allocation)
 * ========================================================================== */

#define FS_ERRNO_MAX 4095

int fault_errno_parse(const char *name)
{
	if (name[0] != 'E')
		return 0;
	for (int e = 1; e <= 133; e++) {        /* Linux's errnos end at EHWPOISON */
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

const char *fault_errno_name(int e)
{
	return e > 0 ? strerrorname_np(e) : NULL;
}

/* ==========================================================================
 * 3. HELPERS
 * ========================================================================== */

static void fs_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fs_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A decimal integer in [lo, hi] spanning all of @s. */
static int fs_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* An errno given by name or number: 0 or -EINVAL. */
static int fs_errno(const char *s, int32_t *out)
{
	uint64_t v;
	int e;

	if ((e = fault_errno_parse(s)) > 0) {
		*out = e;
		return 0;
	}
	if (fs_u64(s, 1, FS_ERRNO_MAX, &v) == 0) {
		*out = (int32_t)v;
		return 0;
	}
	return -EINVAL;
}

/* Copy @n bytes of @s into @dst (capacity @cap) as a string. */
static int fs_copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* ==========================================================================
 * 4. THE LIBFIU FORM
 * ========================================================================== */

/* Does libfiu's wildcard @pat ("prefix*") match at least one point? */
static int fs_wild_matches(const char *pat)
{
	const struct fault_point *pts;
	size_t n = fault_points(&pts), plen = strlen(pat) - 1;

	for (size_t i = 0; i < n; i++)
		if (!strncmp(pts[i].name, pat, plen))
			return 1;
	return 0;
}

static int parse_fiu(const char *text, const char *params, struct fault_spec *f, char *err,
		     size_t errlen)
{
	char buf[FAULT_TEXT_MAX];
	char *tok, *save = NULL;
	int have_name = 0, have_prob = 0;

	if (fs_copy(buf, sizeof(buf), params, strlen(params)) < 0) {
		fs_err(err, errlen, "fault spec too long (at most %d characters)", FAULT_TEXT_MAX - 1);
		return -EINVAL;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *val = eq ? eq + 1 : NULL;

		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "onetime") && !eq) {
			f->onetime = 1;
			continue;
		}
		if (!eq || !*val) {
			fs_err(err, errlen, "expected key=value (name, failnum, failinfo, probability) "
			       "or onetime, got '%s%s' in '%s'", tok, eq ? "=" : "", text);
			return -EINVAL;
		}
		if (!strcmp(tok, "name")) {
			size_t n = strlen(val);

			if (fs_copy(f->point, sizeof(f->point), val, n) < 0 ||
			    (val[n - 1] == '*' ? !fs_wild_matches(val) : !fault_point_find(val))) {
				fs_err(err, errlen, "unknown failure point '%s' in '%s' (torn faults "
				       "--list shows them)", val, text);
				return -EINVAL;
			}
			have_name = 1;
		} else if (!strcmp(tok, "failnum")) {
			char *end;
			long n;

			errno = 0;
			n = strtol(val, &end, 10);
			if (errno || *end || n == 0 || n < INT32_MIN || n > INT32_MAX) {
				fs_err(err, errlen, "failnum: expected a non-zero integer, got '%s' in "
				       "'%s'", val, text);
				return -EINVAL;
			}
			f->failnum = (int32_t)n;
		} else if (!strcmp(tok, "failinfo")) {
			if (fs_errno(val, &f->err) < 0) {
				fs_err(err, errlen, "unknown errno '%s' in '%s' (expected a name such as "
				       "EIO or ENOSPC, or a number from 1 to %d)", val, text,
				       FS_ERRNO_MAX);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "probability")) {
			char *end;
			double p;

			errno = 0;
			p = strtod(val, &end);
			if (errno || *end || !(p >= 0 && p <= 1)) {
				fs_err(err, errlen, "probability: expected a number from 0 to 1, got '%s' "
				       "in '%s'", val, text);
				return -EINVAL;
			}
			f->probability = p;
			have_prob = 1;
		} else {
			fs_err(err, errlen, "unknown libfiu parameter '%s' in '%s' (expected name, failnum, "
			       "failinfo, probability or onetime)", tok, text);
			return -EINVAL;
		}
	}
	if (!have_name) {
		fs_err(err, errlen, "expected name=FAILURE_POINT (e.g. posix/io/sync/fsync) in '%s'", text);
		return -EINVAL;
	}
	if (f->cmd == FAULT_ENABLE_RANDOM && !have_prob) {
		fs_err(err, errlen, "enable_random: expected probability=P (0 to 1) in '%s'", text);
		return -EINVAL;
	}
	if (f->cmd != FAULT_ENABLE_RANDOM && have_prob) {
		fs_err(err, errlen, "probability is for enable_random, not in '%s'", text);
		return -EINVAL;
	}
	if (f->cmd == FAULT_DISABLE && (f->err || f->onetime || f->failnum != 1)) {
		fs_err(err, errlen, "disable takes only name=FAILURE_POINT, in '%s'", text);
		return -EINVAL;
	}
	if (f->err && f->point[strlen(f->point) - 1] != '*') {
		const struct fault_point *p = fault_point_find(f->point);

		if (p && (p->flags & FAULT_PT_REDUCE)) {
			fs_err(err, errlen, "failinfo has no meaning for the short-write point '%s' "
			       "in '%s' (the call succeeds with fewer bytes)", f->point, text);
			return -EINVAL;
		}
	}
	return 0;
}

/* ==========================================================================
 * 5. THE TORN FORM: CALL@PATH[#N[+]]=WHAT
 * ========================================================================== */

/* The point @call names: itself, or the one point (libfiu's first, posix/
 * before torn's own) whose name ends in "/CALL".  0, -ENOENT or -EEXIST
 * (ambiguous). */
static int fs_resolve_call(const char *call, const struct fault_point **out)
{
	const struct fault_point *pts, *any = NULL, *posix = NULL;
	size_t n = fault_points(&pts), cl = strlen(call);
	int nany = 0, nposix = 0;

	if ((*out = fault_point_find(call)))
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(pts[i].name);

		if (nl <= cl || pts[i].name[nl - cl - 1] != '/' ||
		    strcmp(pts[i].name + nl - cl, call))
			continue;
		any = &pts[i];
		nany++;
		if (!strncmp(pts[i].name, "posix/", 6) || !strncmp(pts[i].name, "linux/", 6)) {
			posix = &pts[i];
			nposix++;
		}
	}
	if (nany == 1 || nposix == 1) {
		*out = nany == 1 ? any : posix;
		return 0;
	}
	return nany ? -EEXIST : -ENOENT;
}

static int parse_torn(const char *text, struct fault_spec *f, char *err, size_t errlen)
{
	const char *at = strchr(text, '@'), *eq = strrchr(text, '='), *hash, *path_end;
	const struct fault_point *pt;
	char call[FAULT_POINT_MAX], num[24];
	const char *what;
	int rc;

	if (!at || !eq || eq < at) {
		fs_err(err, errlen, "expected CALL@PATH[#N[+]]=WHAT or a libfiu command (enable, "
		       "enable_random, disable), got '%s'", text);
		return -EINVAL;
	}
	if (at == text || fs_copy(call, sizeof(call), text, (size_t)(at - text)) < 0) {
		fs_err(err, errlen, "missing or too long CALL before '@' in '%s'", text);
		return -EINVAL;
	}
	rc = fs_resolve_call(call, &pt);
	if (rc == -EEXIST) {
		fs_err(err, errlen, "ambiguous call '%s' in '%s' (several points end in /%s: "
		       "give more of the name, such as uring/%s)", call, text, call, call);
		return -EINVAL;
	}
	if (rc < 0) {
		fs_err(err, errlen, "unknown call '%s' in '%s' (expected a failure point or its "
		       "last part: fsync, fdatasync, write, pwrite, open, rename, ...; torn "
		       "faults --list shows them)", call, text);
		return -EINVAL;
	}
	if (pt->flags & FAULT_PT_REDUCE) {
		fs_err(err, errlen, "'%s' in '%s' is a libfiu short-write point: say "
		       "%.*s@PATH=short instead", call, text,
		       (int)(strlen(pt->name) - strlen("/reduce")), pt->name);
		return -EINVAL;
	}
	memcpy(f->point, pt->name, strlen(pt->name) + 1);

	/* #N[+]: the last '#' of the path part, when digits (and an optional
	 * '+') follow it up to the '='; any other '#' belongs to the name. */
	path_end = eq;
	f->nth = 1;
	hash = NULL;
	for (const char *p = eq - 1; p > at; p--) {
		if (*p == '#') {
			hash = p;
			break;
		}
	}
	if (hash) {
		size_t nl = (size_t)(eq - hash - 1), digits = strspn(hash + 1, "0123456789");
		int plus = nl > 0 && hash[nl] == '+';
		uint64_t v;

		if (nl == 0 || (size_t)plus == nl || digits + (size_t)plus == nl) {
			if (plus)
				nl--;
			if (nl == 0 || nl >= sizeof(num)) {
				fs_err(err, errlen, "expected #N (a call count from 1) before '=' in "
				       "'%s', got '%.*s'", text, (int)(eq - hash), hash);
				return -EINVAL;
			}
			memcpy(num, hash + 1, nl);
			num[nl] = '\0';
			if (fs_u64(num, 1, UINT64_MAX, &v) < 0) {
				fs_err(err, errlen, "expected #N (a call count from 1) before '=' in "
				       "'%s', got '%.*s'", text, (int)(eq - hash), hash);
				return -EINVAL;
			}
			f->nth = v;
			f->and_later = (uint8_t)plus;
			path_end = hash;
		}
	}
	if (path_end == at + 1) {
		fs_err(err, errlen, "missing PATH after '@' in '%s' (relative to the recording "
		       "root; '.' is the root itself)", text);
		return -EINVAL;
	}
	if (path_end - at - 1 == 1 && at[1] == '.') {
		f->path[0] = '\0';
	} else if (fs_copy(f->path, sizeof(f->path), at + 1, (size_t)(path_end - at - 1)) < 0 ||
		   !trace_path_ok(f->path, strlen(f->path))) {
		fs_err(err, errlen, "bad PATH '%.*s' in '%s' (expected a path relative to the "
		       "recording root, without '.', '..' or empty parts)", (int)(path_end - at - 1),
		       at + 1, text);
		return -EINVAL;
	}

	what = eq + 1;
	if (!strncmp(what, "short", 5) && (what[5] == '\0' || what[5] == ':')) {
		if (!(pt->flags & FAULT_PT_SHORT)) {
			fs_err(err, errlen, "'short' applies to the write calls (write, pwrite, writev, "
			       "pwritev, pwritev2), not to '%s' in '%s'", call, text);
			return -EINVAL;
		}
		f->is_short = 1;
		if (what[5] == ':' && fs_u64(what + 6, 0, UINT64_MAX, &f->short_bytes) < 0) {
			fs_err(err, errlen, "expected short:BYTES (the bytes the write keeps), got '%s' "
			       "in '%s'", what, text);
			return -EINVAL;
		}
		if (what[5] == ':' && f->short_bytes == 0) {
			/* 0 bytes would be a write of nothing that "succeeded": say EIO
			 * or ENOSPC for a write that fails. */
			fs_err(err, errlen, "short:0 keeps nothing: give a byte count from 1, or an "
			       "errno, in '%s'", text);
			return -EINVAL;
		}
		return 0;
	}
	if (!*what || fs_errno(what, &f->err) < 0) {
		fs_err(err, errlen, "unknown errno '%s' in '%s' (expected a name such as EIO or "
		       "ENOSPC, a number from 1 to %d, short or short:BYTES)", what, text,
		       FS_ERRNO_MAX);
		return -EINVAL;
	}
	return 0;
}

/* ==========================================================================
 * 6. PARSE, FORMAT, EQUAL
 * ========================================================================== */

int fault_spec_parse(const char *text, struct fault_spec *out, char *err, size_t errlen)
{
	static const struct { const char *word; uint8_t cmd; } cmds[] = {
		{ "enable", FAULT_ENABLE },
		{ "enable_random", FAULT_ENABLE_RANDOM },
		{ "disable", FAULT_DISABLE },
	};
	size_t wl, n = strlen(text);
	int rc;

	memset(out, 0, sizeof(*out));
	out->failnum = 1;
	if (n == 0) {
		fs_err(err, errlen, "empty fault spec (expected CALL@PATH=WHAT or a libfiu "
		       "command)");
		return -EINVAL;
	}
	if (n >= FAULT_TEXT_MAX) {
		fs_err(err, errlen, "fault spec too long (at most %d characters)", FAULT_TEXT_MAX - 1);
		return -EINVAL;
	}
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			fs_err(err, errlen, "control character in fault spec '%.*s...'",
			       (int)(p - text), text);
			return -EINVAL;
		}
	}
	wl = strcspn(text, " \t");
	if (wl == strlen("enable_stack_by_name") && !strncmp(text, "enable_stack_by_name", wl)) {
		fs_err(err, errlen, "enable_stack_by_name is not supported in '%s': the failure "
		       "points are in torn's shim, not on the program's stack (use enable, "
		       "enable_random or CALL@PATH#N=WHAT)", text);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strlen(cmds[i].word) != wl || strncmp(text, cmds[i].word, wl))
			continue;
		const char *params = text + wl;

		params += strspn(params, " \t");
		if (!*params || params[strcspn(params, " \t")]) {
			fs_err(err, errlen, "expected '%s name=FAILURE_POINT[,key=value...]' (one "
			       "word of parameters), got '%s'", cmds[i].word, text);
			memset(out, 0, sizeof(*out));
			return -EINVAL;
		}
		out->form = FAULT_FORM_FIU;
		out->cmd = cmds[i].cmd;
		rc = parse_fiu(text, params, out, err, errlen);
		goto out;
	}
	/* Not a command: torn's form, whose path may hold spaces ("a b@..."
	 * is a bad CALL, said by parse_torn). */
	if (text[wl] && !strchr(text, '@')) {
		fs_err(err, errlen, "expected a libfiu command (enable, enable_random or "
		       "disable) or CALL@PATH=WHAT, got '%.*s' in '%s'", (int)wl, text, text);
		return -EINVAL;
	}
	out->form = FAULT_FORM_TORN;
	rc = parse_torn(text, out, err, errlen);
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* The shortest decimal form of @p that reads back as @p. */
static void fs_prob(double p, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, p);
		if (strtod(buf, NULL) == p)
			return;
	}
}

static int fs_fmt(const struct fault_spec *f, char *buf, size_t len, int numeric)
{
	static const char *const words[] = { NULL, "enable", "enable_random", "disable" };
	char prob[40], ebuf[16];
	const char *ename;
	int n;

	if (f->err) {
		ename = numeric ? NULL : fault_errno_name(f->err);
		if (!ename) {
			snprintf(ebuf, sizeof(ebuf), "%d", (int)f->err);
			ename = ebuf;
		}
	} else {
		ename = NULL;
	}
	if (f->form == FAULT_FORM_FIU) {
		if (f->cmd < FAULT_ENABLE || f->cmd > FAULT_DISABLE || !f->point[0])
			return -EINVAL;
		prob[0] = '\0';
		if (f->cmd == FAULT_ENABLE_RANDOM)
			fs_prob(f->probability, prob, sizeof(prob));
		n = snprintf(buf, len, "%s name=%s%s%s", words[f->cmd], f->point,
			     f->cmd == FAULT_ENABLE_RANDOM ? ",probability=" : "", prob);
		if (n >= 0 && f->failnum != 1 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, ",failnum=%d", (int)f->failnum);
		if (n >= 0 && ename && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, ",failinfo=%s", ename);
		if (n >= 0 && f->onetime && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, ",onetime");
	} else if (f->form == FAULT_FORM_TORN && !numeric) {
		if (!f->point[0] || f->nth == 0 || (!f->is_short && !f->err))
			return -EINVAL;
		n = snprintf(buf, len, "%s@%s#%llu%s=", f->point, f->path[0] ? f->path : ".",
			     (unsigned long long)f->nth, f->and_later ? "+" : "");
		if (n >= 0 && (size_t)n < len) {
			if (f->is_short && f->short_bytes)
				n += snprintf(buf + n, len - (size_t)n, "short:%llu",
					      (unsigned long long)f->short_bytes);
			else if (f->is_short)
				n += snprintf(buf + n, len - (size_t)n, "short");
			else
				n += snprintf(buf + n, len - (size_t)n, "%s", ename);
		}
	} else {
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int fault_spec_format(const struct fault_spec *f, char *buf, size_t len)
{
	return fs_fmt(f, buf, len, 0);
}

int fault_spec_fiu_cmd(const struct fault_spec *f, char *buf, size_t len)
{
	if (f->form != FAULT_FORM_FIU)
		return -EINVAL;
	return fs_fmt(f, buf, len, 1);
}

int fault_spec_equal(const struct fault_spec *a, const struct fault_spec *b)
{
	if (a->form != b->form || strcmp(a->point, b->point) || a->err != b->err)
		return 0;
	if (a->form == FAULT_FORM_FIU)
		return a->cmd == b->cmd && a->onetime == b->onetime && a->failnum == b->failnum &&
		       (a->cmd != FAULT_ENABLE_RANDOM || a->probability == b->probability);
	return a->nth == b->nth && a->and_later == b->and_later && a->is_short == b->is_short &&
	       a->short_bytes == b->short_bytes && !strcmp(a->path, b->path);
}

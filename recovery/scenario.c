/*
 * recovery/scenario.c - scenario files: parsing (libinih), validation,
 * command resolution, finding *.scn under directories (see scenario.h).
 *
 * Sections: the key table; reading lines (libinih's reader, with line
 * numbers); the handler; values; libfiu fault commands; commands and paths;
 * the whole file; finding files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "../injector/fault_spec.h"
#include "crash.h"
#include "explore.h"
#include "scenario.h"

/* ---- The key table ---- */

enum scn_key {
	K_NAME, K_DESCRIPTION, K_ENGINE, K_MODE, K_WORKLOAD, K_BUG, K_SETUP, K_RUN,
	K_CHECK, K_MODEL, K_STRATEGY, K_TEAR, K_CRASH_POINTS, K_SECTOR, K_ATOMIC, K_SEED,
	K_MAX_STATES, K_TIMEOUT, K_FAULT, K_MARKS_FROM_STDOUT, K_EXPECT, K_EXPECT_OUTCOME,
	K_EXPECT_REASON, K_FAULT_SEED, K_NKEYS
};

static const char *const scn_keys[K_NKEYS] = {
	"name", "description", "engine", "mode", "workload", "bug", "setup", "run",
	"check", "model", "strategy", "tear", "crash-points", "sector", "atomic", "seed",
	"max-states", "timeout", "fault", "marks-from-stdout", "expect", "expect-outcome",
	"expect-reason", "fault-seed",
};

static const char *const scn_engines[] = { "wal", "bitcask", "btree", "lsm", NULL };
static const char *const scn_modes[] = { "buffered", "direct", "uring", NULL };

/* What the parser collects before validation: the raw value and its line. */
struct scn_raw {
	char    *val[K_NKEYS];
	unsigned line[K_NKEYS];
};

struct scn_ctx {
	const char *path;
	FILE       *f;
	unsigned    line;          /* of the line last read */
	bool        cont;          /* the current line starts with whitespace */
	int         last_key;      /* key of the previous pair (for continuations) */
	bool        in_other;      /* inside a section other than [scenario] */
	struct scn_raw raw;
	/* the repeatable keys: fault, expect-reason */
	struct scn_multi {
		char    *v[64];
		unsigned line[64];
		size_t   n;
	} multi[2];
	char        err[512];
	unsigned    err_line;
	int         rc;            /* first error (< 0) */
};

static void ctx_err(struct scn_ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ctx_err(struct scn_ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->rc)
		return;             /* the first error is the one reported */
	c->rc = -EINVAL;
	c->err_line = line;
	n = snprintf(c->err, sizeof(c->err), "%s:%u: ", c->path, line);
	if (n < 0 || (size_t)n >= sizeof(c->err))
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- Reading lines: libinih calls this fgets-like reader; counting here
 * gives the handler its line number (the packaged libinih is built without
 * INI_HANDLER_LINENO).  Its line buffer is fixed at build time (200 bytes):
 * a longer comment is cut here, a longer value is an error that says how to
 * continue it on indented lines. ---- */

static char *scn_reader(char *buf, int num, void *arg)
{
	struct scn_ctx *c = arg;
	size_t len;
	int ch;

	if (!fgets(buf, num, c->f))
		return NULL;
	len = strlen(buf);
	c->line++;
	c->cont = buf[0] == ' ' || buf[0] == '\t';
	if (len > 0 && buf[len - 1] != '\n' && !feof(c->f)) {
		const char *p = buf + strspn(buf, " \t");

		if (*p != '#' && *p != ';')
			ctx_err(c, c->line, "line longer than %d characters (expected a long value "
				"continued on indented lines; a command can end a line with '\\')",
				num - 2);
		/* drop the rest of the line: it is not parsed as lines of its own */
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
		buf[len - 1] = '\n';
	}
	return buf;
}

/* Index of a repeatable key in scn_ctx.multi, or -1. */
static int multi_index(int k)
{
	return k == K_FAULT ? 0 : k == K_EXPECT_REASON ? 1 : -1;
}

static int key_index(const char *name)
{
	for (int i = 0; i < K_NKEYS; i++)
		if (!strcmp(scn_keys[i], name))
			return i;
	return -1;
}

/* ---- The handler: one name = value pair (or a continuation line) ---- */

static int scn_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct scn_ctx *c = arg;
	int k;

	if (c->rc)
		return 1;
	if (section[0] && strcmp(section, "scenario")) {
		ctx_err(c, c->line, "unknown section [%s] (expected keys at the top of the file, "
			"or in one [scenario] section)", section);
		return 1;
	}
	k = key_index(name);
	if (k < 0) {
		char list[400] = "";

		for (int i = 0; i < K_NKEYS; i++) {
			strcat(list, i ? ", " : "");
			strcat(list, scn_keys[i]);
		}
		ctx_err(c, c->line, "unknown key '%s' (expected one of: %s)", name, list);
		return 1;
	}
	/* A line indented under a key continues its value: joined with a
	 * newline, so several shell commands can follow each other. */
	if (c->cont && k == c->last_key) {
		char **slot = &c->raw.val[k];
		size_t a, b = strlen(value);
		char *v;

		if (multi_index(k) >= 0) {
			ctx_err(c, c->line, "%s: expected one value per line (repeat '%s =' for more)",
				name, name);
			return 1;
		}
		a = strlen(*slot);
		v = realloc(*slot, a + b + 2);
		if (!v) {
			c->rc = -ENOMEM;
			return 1;
		}
		v[a] = '\n';
		memcpy(v + a + 1, value, b + 1);
		*slot = v;
		return 1;
	}
	c->last_key = k;
	if (multi_index(k) >= 0) {
		struct scn_multi *m = &c->multi[multi_index(k)];

		if (m->n == sizeof(m->v) / sizeof(m->v[0])) {
			ctx_err(c, c->line, "%s: at most 64 per scenario", name);
			return 1;
		}
		if (!(m->v[m->n] = strdup(value))) {
			c->rc = -ENOMEM;
			return 1;
		}
		m->line[m->n++] = c->line;
		if (!c->raw.val[k]) {       /* the first one, for HAVE() and LINE() */
			c->raw.val[k] = strdup(value);
			c->raw.line[k] = c->line;
		}
		return 1;
	}
	if (c->raw.val[k]) {
		ctx_err(c, c->line, "'%s' given twice (first on line %u); only 'fault' and "
			"'expect-reason' may repeat", name, c->raw.line[k]);
		return 1;
	}
	if (!(c->raw.val[k] = strdup(value))) {
		c->rc = -ENOMEM;
		return 1;
	}
	c->raw.line[k] = c->line;
	return 1;
}

/* ---- Values ---- */

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int in_list(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };

	if (in_list(s, yes))
		*out = 1;
	else if (in_list(s, no))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* ---- Fault specs ----
 * Either form of `torn record --fault` (injector/fault_spec.h): a libfiu
 * remote-control command or torn's CALL@PATH#N=WHAT. */

int scn_fault_check(const char *spec, char *err, size_t errlen)
{
	struct fault_spec f;

	return fault_spec_parse(spec, &f, err, errlen);
}

/* ---- Commands and paths ---- */

/* A growing string. */
struct sbuf {
	char  *s;
	size_t len, cap;
	int    oom;
};

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		if (!(p = realloc(b->s, cap))) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

/* @s quoted for a POSIX shell when it needs to be. */
static void sb_add_quoted(struct sbuf *b, const char *s)
{
	if (s[0] && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-./+,:=@%")]) {
		sb_add(b, s);
		return;
	}
	sb_add(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			sb_add(b, "'\\''");
		else
			sb_addn(b, s, 1);
	}
	sb_add(b, "'");
}

static int is_exec(const char *dir, const char *name, size_t n)
{
	char path[PATH_MAX];

	if (!dir || snprintf(path, sizeof(path), "%s/%.*s", dir, (int)n, name) >= (int)sizeof(path))
		return 0;
	return access(path, X_OK) == 0;
}

/* Resolve the paths of a shell command (see scenario.h).  Words inside
 * quotes are left alone; a word is what follows the start, whitespace or a
 * shell operator. */
static char *resolve_cmd(const char *cmd, const char *dir, const char *bindir)
{
	struct sbuf b = { 0 };
	const char *p = cmd;
	char quote = 0;
	int word_start = 1, cmd_pos = 1;

	sb_add(&b, "");
	while (*p) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else if (*p == '\\' && quote == '"' && p[1])
				sb_addn(&b, p++, 1);
			sb_addn(&b, p++, 1);
			continue;
		}
		if (word_start && !strchr(" \t\n;&|()<>", *p)) {
			size_t n = strcspn(p, " \t\n;&|()<>'\"");
			/* NAME=value before a command is an assignment, not the command */
			size_t id = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789_");
			int assign = id > 0 && id < n && p[id] == '=';

			if (!strncmp(p, "./", 2) || !strncmp(p, "../", 3) ||
			    (cmd_pos && !assign && memchr(p, '/', n) && p[0] != '/' && p[0] != '$' &&
			     p[0] != '~')) {
				char joined[PATH_MAX], real[PATH_MAX];

				/* an existing path is shown as its real path; one the
				 * command creates, or with shell syntax, as joined */
				if (!memchr(p, '$', n) && !memchr(p, '\\', n) &&
				    snprintf(joined, sizeof(joined), "%s/%.*s", dir, (int)n, p) <
				    (int)sizeof(joined) && realpath(joined, real)) {
					sb_add_quoted(&b, real);
					p += n;
					word_start = 0;
					cmd_pos = assign ? cmd_pos : 0;
					continue;
				}
				sb_add_quoted(&b, dir);
				sb_add(&b, "/");
				if (!strncmp(p, "./", 2))
					p += 2, n -= 2;
			} else if (cmd_pos && !assign && !memchr(p, '/', n) && is_exec(bindir, p, n)) {
				sb_add_quoted(&b, bindir);
				sb_add(&b, "/");
			}
			if (!assign)
				cmd_pos = 0;
			word_start = 0;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			word_start = 0;
		} else if (*p == '\\' && p[1]) {
			sb_addn(&b, p++, 1);
			word_start = 0;
		} else if (strchr(" \t", *p)) {
			word_start = 1;
		} else if (strchr("\n;&|()", *p)) {
			word_start = 1;
			cmd_pos = 1;
		} else if (strchr("<>", *p)) {
			word_start = 1;
		}
		sb_addn(&b, p++, 1);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The tornkv commands of the engine form. */
static char *engine_cmd(const struct scn *s, const char *bindir, int check)
{
	struct sbuf b = { 0 };

	if (bindir && is_exec(bindir, "tornkv", 6)) {
		sb_add_quoted(&b, bindir);
		sb_add(&b, "/tornkv");
	} else {
		sb_add(&b, "tornkv");
	}
	sb_add(&b, " --engine ");
	sb_add(&b, s->engine);
	sb_add(&b, " --mode ");
	sb_add(&b, s->mode);
	if (s->bug) {
		sb_add(&b, " --bug ");
		sb_add_quoted(&b, s->bug);
	}
	/* The checker regenerates every value from the workload's options:
	 * both commands get them. */
	if (s->workload) {
		sb_add(&b, " ");
		sb_add(&b, s->workload);
	}
	sb_add(&b, check ? " check" : " --dir . workload");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- The whole file ---- */

void scn_free(struct scn *s)
{
	if (!s)
		return;
	free(s->file);
	free(s->dir);
	free(s->name);
	free(s->description);
	free(s->engine);
	free(s->mode);
	free(s->workload);
	free(s->bug);
	free(s->setup);
	free(s->run);
	free(s->check);
	free(s->model);
	free(s->strategy);
	free(s->tear);
	free(s->crash_points);
	for (size_t i = 0; i < s->nfaults; i++)
		free(s->faults[i]);
	free(s->faults);
	for (size_t i = 0; i < s->nreasons; i++)
		free(s->expect_reasons[i]);
	free(s->expect_reasons);
	free(s);
}

/* Take the raw value of key @k (NULL when absent). */
static char *take(struct scn_ctx *c, int k)
{
	char *v = c->raw.val[k];

	c->raw.val[k] = NULL;
	return v;
}

static int validate(struct scn_ctx *c, struct scn *s, const char *bindir, unsigned eof_line)
{
	struct scn_raw *r = &c->raw;
	struct crash_opts co;
	char err[300];
	uint64_t v;

#define HAVE(k) (r->val[k] != NULL)
#define LINE(k) (r->line[k])
	/* Required keys and the two forms. */
	if (!HAVE(K_NAME)) {
		ctx_err(c, eof_line, "end of file: missing required key 'name' (expected "
			"'name = NAME', letters, digits, '.', '_' and '-')");
		return c->rc;
	}
	if (!HAVE(K_EXPECT)) {
		ctx_err(c, eof_line, "end of file: missing required key 'expect' (expected "
			"'expect = pass' or 'expect = fail')");
		return c->rc;
	}
	if (HAVE(K_ENGINE) || HAVE(K_MODE) || HAVE(K_WORKLOAD) || HAVE(K_BUG)) {
		static const int excl[] = { K_SETUP, K_RUN, K_CHECK };

		for (size_t i = 0; i < 3; i++)
			if (HAVE(excl[i])) {
				ctx_err(c, LINE(excl[i]), "'%s' cannot be combined with the engine form "
					"(engine, mode, workload, bug): expected one or the other",
					scn_keys[excl[i]]);
				return c->rc;
			}
		if (!HAVE(K_ENGINE) || !HAVE(K_MODE)) {
			int k = HAVE(K_ENGINE) ? K_ENGINE : HAVE(K_MODE) ? K_MODE :
				HAVE(K_WORKLOAD) ? K_WORKLOAD : K_BUG;

			ctx_err(c, LINE(k), "the engine form needs both 'engine' (wal, bitcask, btree, "
				"lsm) and 'mode' (buffered, direct, uring)");
			return c->rc;
		}
	} else if (!HAVE(K_RUN) || !HAVE(K_CHECK)) {
		ctx_err(c, eof_line, "end of file: missing required key '%s' (expected either "
			"'run' and 'check' commands, or 'engine' and 'mode')",
			HAVE(K_RUN) ? "check" : "run");
		return c->rc;
	}

	/* Each value. */
	if (!r->val[K_NAME][0] || r->val[K_NAME][strspn(r->val[K_NAME],
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] ||
	    r->val[K_NAME][0] == '.') {
		ctx_err(c, LINE(K_NAME), "name: expected letters, digits, '.', '_' and '-' "
			"(not starting with '.'), got '%s'", r->val[K_NAME]);
		return c->rc;
	}
	if (HAVE(K_ENGINE) && !in_list(r->val[K_ENGINE], scn_engines)) {
		ctx_err(c, LINE(K_ENGINE), "engine: expected wal, bitcask, btree or lsm, got '%s'",
			r->val[K_ENGINE]);
		return c->rc;
	}
	if (HAVE(K_MODE) && !in_list(r->val[K_MODE], scn_modes)) {
		ctx_err(c, LINE(K_MODE), "mode: expected buffered, direct or uring, got '%s'",
			r->val[K_MODE]);
		return c->rc;
	}
	if (HAVE(K_BUG) && (!r->val[K_BUG][0] || r->val[K_BUG][strspn(r->val[K_BUG],
	    "abcdefghijklmnopqrstuvwxyz0123456789-_")])) {
		ctx_err(c, LINE(K_BUG), "bug: expected a seeded bug's name (tornkv --list-bugs), "
			"got '%s'", r->val[K_BUG]);
		return c->rc;
	}
	{
		static const int cmds[] = { K_SETUP, K_RUN, K_CHECK };

		for (size_t i = 0; i < 3; i++)
			if (HAVE(cmds[i]) && !r->val[cmds[i]][strspn(r->val[cmds[i]], " \t\n")]) {
				ctx_err(c, LINE(cmds[i]), "%s: expected a shell command, got nothing",
					scn_keys[cmds[i]]);
				return c->rc;
			}
	}
	crash_opts_default(&co);
	if (HAVE(K_MODEL) && crash_opts_parse_model(&co, r->val[K_MODEL], err, sizeof(err)) < 0) {
		ctx_err(c, LINE(K_MODEL), "model: %s", err);
		return c->rc;
	}
	if (HAVE(K_STRATEGY) &&
	    crash_opts_parse_strategy(&co, r->val[K_STRATEGY], err, sizeof(err)) < 0) {
		ctx_err(c, LINE(K_STRATEGY), "strategy: %s", err);
		return c->rc;
	}
	if (HAVE(K_TEAR) && crash_opts_parse_tear(&co, r->val[K_TEAR], err, sizeof(err)) < 0) {
		ctx_err(c, LINE(K_TEAR), "tear: %s", err);
		return c->rc;
	}
	if (HAVE(K_CRASH_POINTS) &&
	    crash_opts_parse_points(&co, r->val[K_CRASH_POINTS], err, sizeof(err)) < 0) {
		ctx_err(c, LINE(K_CRASH_POINTS), "crash-points: %s", err);
		return c->rc;
	}
	if (HAVE(K_SECTOR)) {
		if (parse_u64(r->val[K_SECTOR], &v) < 0 || (v != 512 && v != 4096)) {
			ctx_err(c, LINE(K_SECTOR), "sector: expected 512 or 4096, got '%s'",
				r->val[K_SECTOR]);
			return c->rc;
		}
		s->sector = (unsigned)v;
	}
	if (HAVE(K_ATOMIC)) {
		if (parse_u64(r->val[K_ATOMIC], &v) < 0 || !v || v % 512 || v > (1u << 24)) {
			ctx_err(c, LINE(K_ATOMIC), "atomic: expected a multiple of 512 bytes up to "
				"16 MiB, got '%s'", r->val[K_ATOMIC]);
			return c->rc;
		}
		s->atomic = (unsigned)v;
	}
	if (HAVE(K_SEED) && parse_u64(r->val[K_SEED], &s->seed) < 0) {
		ctx_err(c, LINE(K_SEED), "seed: expected a non-negative integer, got '%s'",
			r->val[K_SEED]);
		return c->rc;
	}
	if (HAVE(K_MAX_STATES) && (parse_u64(r->val[K_MAX_STATES], &s->max_states) < 0 ||
				   !s->max_states)) {
		ctx_err(c, LINE(K_MAX_STATES), "max-states: expected a number of states >= 1, "
			"got '%s'", r->val[K_MAX_STATES]);
		return c->rc;
	}
	if (HAVE(K_TIMEOUT)) {
		char *end;

		errno = 0;
		s->timeout_s = strtod(r->val[K_TIMEOUT], &end);
		if (errno || end == r->val[K_TIMEOUT] || *end || !(s->timeout_s > 0) ||
		    s->timeout_s > 86400) {
			ctx_err(c, LINE(K_TIMEOUT), "timeout: expected seconds per checker (> 0, "
				"at most 86400), got '%s'", r->val[K_TIMEOUT]);
			return c->rc;
		}
	}
	if (HAVE(K_FAULT_SEED) && parse_u64(r->val[K_FAULT_SEED], &s->fault_seed) < 0) {
		ctx_err(c, LINE(K_FAULT_SEED), "fault-seed: expected a non-negative integer, got "
			"'%s'", r->val[K_FAULT_SEED]);
		return c->rc;
	}
	if (HAVE(K_FAULT_SEED) && c->multi[0].n == 0) {
		ctx_err(c, LINE(K_FAULT_SEED), "fault-seed: only meaningful with a 'fault'");
		return c->rc;
	}
	if (HAVE(K_MARKS_FROM_STDOUT) &&
	    parse_bool(r->val[K_MARKS_FROM_STDOUT], &s->marks_from_stdout) < 0) {
		ctx_err(c, LINE(K_MARKS_FROM_STDOUT), "marks-from-stdout: expected true or false, "
			"got '%s'", r->val[K_MARKS_FROM_STDOUT]);
		return c->rc;
	}
	if (!strcmp(r->val[K_EXPECT], "fail")) {
		s->expect_fail = 1;
	} else if (strcmp(r->val[K_EXPECT], "pass")) {
		ctx_err(c, LINE(K_EXPECT), "expect: expected pass or fail, got '%s'",
			r->val[K_EXPECT]);
		return c->rc;
	}
	s->expect_outcome = SCN_OUTCOME_ANY;
	if (HAVE(K_EXPECT_OUTCOME)) {
		int o = explore_outcome_parse(r->val[K_EXPECT_OUTCOME]);

		if (o < 0 || o == EXPLORE_PASS) {
			ctx_err(c, LINE(K_EXPECT_OUTCOME), "expect-outcome: expected fail, crash or "
				"hang, got '%s'", r->val[K_EXPECT_OUTCOME]);
			return c->rc;
		}
		s->expect_outcome = o;
	}
	for (size_t i = 0; i < c->multi[1].n; i++)
		if (!c->multi[1].v[i][0]) {
			ctx_err(c, c->multi[1].line[i], "expect-reason: expected the text a failure "
				"must show, got nothing");
			return c->rc;
		}
	if (!s->expect_fail && (HAVE(K_EXPECT_OUTCOME) || HAVE(K_EXPECT_REASON))) {
		int k = HAVE(K_EXPECT_OUTCOME) ? K_EXPECT_OUTCOME : K_EXPECT_REASON;

		ctx_err(c, LINE(k), "%s: only meaningful with 'expect = fail' (this scenario "
			"expects pass)", scn_keys[k]);
		return c->rc;
	}
	for (size_t i = 0; i < c->multi[0].n; i++)
		if (scn_fault_check(c->multi[0].v[i], err, sizeof(err)) < 0) {
			ctx_err(c, c->multi[0].line[i], "fault: %s", err);
			return c->rc;
		}
#undef HAVE
#undef LINE

	/* Keep the values. */
	s->name = take(c, K_NAME);
	s->name_line = r->line[K_NAME];
	s->description = take(c, K_DESCRIPTION);
	s->engine = take(c, K_ENGINE);
	s->mode = take(c, K_MODE);
	s->workload = take(c, K_WORKLOAD);
	s->bug = take(c, K_BUG);
	s->bug_line = r->line[K_BUG];
	s->model = take(c, K_MODEL);
	s->strategy = take(c, K_STRATEGY);
	s->tear = take(c, K_TEAR);
	s->crash_points = take(c, K_CRASH_POINTS);
	if (c->multi[0].n) {
		if (!(s->faults = calloc(c->multi[0].n, sizeof(*s->faults))))
			return -ENOMEM;
		memcpy(s->faults, c->multi[0].v, c->multi[0].n * sizeof(*s->faults));
		s->nfaults = c->multi[0].n;
		c->multi[0].n = 0;
	}
	if (c->multi[1].n) {
		if (!(s->expect_reasons = calloc(c->multi[1].n, sizeof(*s->expect_reasons))))
			return -ENOMEM;
		memcpy(s->expect_reasons, c->multi[1].v, c->multi[1].n * sizeof(char *));
		s->nreasons = c->multi[1].n;
		c->multi[1].n = 0;
	}
	if (s->engine) {
		s->run = engine_cmd(s, bindir, 0);
		s->check = engine_cmd(s, bindir, 1);
		if (!s->run || !s->check)
			return -ENOMEM;
	} else {
		s->run = resolve_cmd(r->val[K_RUN], s->dir, bindir);
		s->check = resolve_cmd(r->val[K_CHECK], s->dir, bindir);
		if (!s->run || !s->check)
			return -ENOMEM;
		if (r->val[K_SETUP] && !(s->setup = resolve_cmd(r->val[K_SETUP], s->dir, bindir)))
			return -ENOMEM;
	}
	return 0;
}

int scn_parse(const char *path, const char *bindir, struct scn **out, char *err, size_t errlen)
{
	struct scn_ctx c;
	struct scn *s = NULL;
	char abs[PATH_MAX], *slash;
	int rc, ini;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.last_key = -1;
	c.f = fopen(path, "r");
	if (!c.f) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		goto out;
	}
	rc = -ENOMEM;
	if (!(s = calloc(1, sizeof(*s))) || !(s->file = strdup(path)))
		goto out;
	if (!realpath(path, abs)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	slash = strrchr(abs, '/');
	*slash = '\0';
	if (!(s->dir = strdup(abs[0] ? abs : "/")))
		goto out;

	/* libinih's knobs are process-wide: commands keep their ';' (no
	 * inline comments). */
	ini_allow_inline_comments = false;
	ini_allow_multiline = true;
	ini = ini_parse_stream(scn_reader, &c, scn_handler, &c);
	if (c.rc == -ENOMEM || ini == -2) {
		rc = -ENOMEM;
		goto out;
	}
	if (ini > 0 && (!c.rc || (unsigned)ini < c.err_line)) {
		c.rc = 0;       /* libinih's syntax error came first */
		ctx_err(&c, (unsigned)ini, "expected 'key = value', a [scenario] section header "
			"or a comment starting with '#' or ';'");
	}
	if (!c.rc)
		c.rc = validate(&c, s, bindir, c.line ? c.line : 1);
	rc = c.rc;
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s", c.err);
	else if (rc == 0)
		*out = s, s = NULL;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	if (c.f)
		fclose(c.f);
	for (int k = 0; k < K_NKEYS; k++)
		free(c.raw.val[k]);
	for (size_t m = 0; m < 2; m++)
		for (size_t i = 0; i < c.multi[m].n; i++)
			free(c.multi[m].v[i]);
	scn_free(s);
	return rc;
}

/* ---- Finding files ---- */

struct scn_list {
	char **v;
	size_t n, cap;
};

static int list_add(struct scn_list *l, const char *path)
{
	char **v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if (!(v = realloc(l->v, cap * sizeof(*v))))
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(path)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int walk(struct scn_list *l, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read the directory: %s", dir, strerror(-rc));
		return rc;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;       /* ., .., and hidden files */
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
			snprintf(err, errlen, "%s/%s: path too long", dir, e->d_name);
			rc = -ENAMETOOLONG;
			break;
		}
		if (lstat(path, &st) < 0)
			continue;
		/* a symlinked directory is not followed (it could loop back);
		 * a symlinked file is taken, a dangling one skipped */
		if (S_ISLNK(st.st_mode) && (stat(path, &st) < 0 || S_ISDIR(st.st_mode)))
			continue;
		if (S_ISDIR(st.st_mode))
			rc = walk(l, path, err, errlen);
		else if (S_ISREG(st.st_mode) && len > 4 && !strcmp(e->d_name + len - 4, ".scn"))
			rc = list_add(l, path);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int scn_find(const char *const *paths, size_t npaths, char ***files, size_t *nfiles,
	     char *err, size_t errlen)
{
	struct scn_list l = { 0 };
	int rc = 0;

	for (size_t i = 0; i < npaths && rc == 0; i++) {
		struct stat st;
		char p[PATH_MAX];
		size_t len;

		if (snprintf(p, sizeof(p), "%s", paths[i]) >= (int)sizeof(p)) {
			snprintf(err, errlen, "%s: path too long", paths[i]);
			rc = -ENAMETOOLONG;
			break;
		}
		len = strlen(p);
		while (len > 1 && p[len - 1] == '/')
			p[--len] = '\0';
		if (stat(p, &st) < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s (expected a scenario file or a directory)",
				 paths[i], strerror(-rc));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(&l, p, err, errlen);
		} else if (S_ISREG(st.st_mode)) {
			rc = list_add(&l, p);
		} else {
			snprintf(err, errlen, "%s: expected a scenario file or a directory", paths[i]);
			rc = -EINVAL;
		}
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0) {
		scn_files_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	/* Drop repeats (a file named twice, or inside a directory also named). */
	{
		size_t j = 0;

		for (size_t i = 0; i < l.n; i++) {
			if (j && !strcmp(l.v[j - 1], l.v[i]))
				free(l.v[i]);
			else
				l.v[j++] = l.v[i];
		}
		l.n = j;
	}
	*files = l.v;
	*nfiles = l.n;
	return 0;
}

void scn_files_free(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/*
 * recovery/report.c - text, JSON and JUnit reports; reading JSON back and
 * merging shards (see report.h for the formats).
 *
 * Sections:
 *   1. Helpers: shell quoting, XML escaping, signal names
 *   2. Text summary
 *   3. JSON: write (jansson), read back
 *   4. JUnit XML
 *   5. Merge
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

/* ==========================================================================
 * 1. HELPERS
 * ========================================================================== */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void report_shell_quote(FILE *f, const char *s)
{
	int plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_./:,@%+-=", *p)))
			plain = 0;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

/* XML 1.0 text or attribute value: the five entities, and characters XML
 * cannot carry at all (controls other than tab/newline/CR) as '?'. */
static void xml_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': fputs("&#10;", f); break;
		case '\r': fputs("&#13;", f); break;
		case '\t': fputs("&#9;", f); break;
		default:
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
		}
	}
}

static const char *sig_name(int sig)
{
	const char *n = sigabbrev_np(sig);

	return n ? n : "?";
}

/* "exit 1", "signal 11 (SEGV)", "timeout" */
static void describe(char *buf, size_t len, const struct explore_failure *f)
{
	switch (f->res.outcome) {
	case EXPLORE_CRASH:
		snprintf(buf, len, "killed by signal %d (SIG%s)", f->res.sig, sig_name(f->res.sig));
		break;
	case EXPLORE_HANG:
		snprintf(buf, len, "over the timeout after %.1f s", f->res.secs);
		break;
	default:
		if (f->res.reason && f->res.exit_code == 0)
			snprintf(buf, len, "found by torn; the checker passed");
		else
			snprintf(buf, len, "exit %d", f->res.exit_code);
	}
}

/* ==========================================================================
 * 2. TEXT SUMMARY
 * ========================================================================== */

void report_text(FILE *f, const struct explore_report *r, const struct report_text_opts *o)
{
	uint64_t bad = r->outcomes[EXPLORE_FAIL] + r->outcomes[EXPLORE_CRASH] +
		       r->outcomes[EXPLORE_HANG];

	fprintf(f, "torn explore: %s", o->trace ? o->trace : r->trace);
	if (r->shard_n)
		fprintf(f, " (shard %u/%u)", r->shard_i, r->shard_n);
	fputc('\n', f);
	fprintf(f, "  states enumerated  %" PRIu64 "\n", r->states_enumerated);
	fprintf(f, "  unique states      %" PRIu64 "\n", r->unique_states);
	fprintf(f, "  states checked     %" PRIu64 "\n", r->states_checked);
	fprintf(f, "  outcomes           pass %" PRIu64 ", fail %" PRIu64 ", crash %" PRIu64
		   ", hang %" PRIu64 "\n", r->outcomes[EXPLORE_PASS], r->outcomes[EXPLORE_FAIL],
		r->outcomes[EXPLORE_CRASH], r->outcomes[EXPLORE_HANG]);
	fprintf(f, "  time               %.2f s", r->elapsed_s);
	if (r->elapsed_s > 0)
		fprintf(f, " (%.1f states/s)", (double)r->states_checked / r->elapsed_s);
	fputc('\n', f);
	if (!bad) {
		fprintf(f, "no failure: every state checked passed\n");
		return;
	}
	for (int oc = EXPLORE_FAIL; oc < EXPLORE_NOUTCOMES; oc++) {
		unsigned shown = 0;
		uint64_t total = 0;

		for (size_t i = 0; i < r->nfailures; i++)
			total += r->failures[i].res.outcome == (enum explore_outcome)oc;
		if (!total)
			continue;
		fprintf(f, "\n%s: %" PRIu64 " state%s\n", explore_outcome_name(oc), total,
			total == 1 ? "" : "s");
		for (size_t i = 0; i < r->nfailures && shown < o->max_shown; i++) {
			const struct explore_failure *x = &r->failures[i];
			char how[96];

			if (x->res.outcome != (enum explore_outcome)oc)
				continue;
			shown++;
			describe(how, sizeof(how), x);
			fprintf(f, "  state %s  (crash point %" PRIu64 ", %s)\n", x->state,
				x->crash_point, how);
			if (x->res.reason)
				fprintf(f, "    reason: %s\n", x->res.reason);
			for (size_t k = 0; k < x->res.noutput; k++)
				fprintf(f, "    | %s\n", x->res.output[k]);
			if (x->kept)
				fprintf(f, "    kept in %s (marks: %s.marks, output: %s.out)\n",
					x->kept, x->kept, x->kept);
			fputs("    replay:   torn replay ", f);
			report_shell_quote(f, o->trace ? o->trace : r->trace);
			fputs(" --state ", f);
			report_shell_quote(f, x->state);
			fputs(" --out DIR\n    minimize: torn minimize ", f);
			report_shell_quote(f, o->trace ? o->trace : r->trace);
			fputs(" --state ", f);
			report_shell_quote(f, x->state);
			fputs(" --check ", f);
			report_shell_quote(f, o->check ? o->check : "CMD");
			if (o->extra_args && *o->extra_args)
				fprintf(f, " %s", o->extra_args);
			fputc('\n', f);
		}
		if (total > shown)
			fprintf(f, "  ... and %" PRIu64 " more %s state%s (all in --json)\n",
				total - shown, explore_outcome_name(oc), total - shown == 1 ? "" : "s");
	}
	if (r->scratch_kept)
		fprintf(f, "\nfailing states kept under %s\n", r->scratch_kept);
}

/* ==========================================================================
 * 3. JSON
 * ========================================================================== */

static json_t *jstr(const char *s)
{
	/* Output lines are sanitised already; anything else that is not UTF-8
	 * (a trace path) is kept readable rather than dropped. */
	json_t *v = json_string(s);

	if (!v) {
		char *c = strdup(s);

		if (!c)
			return NULL;
		for (char *p = c; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		v = json_string(c);
		free(c);
	}
	return v;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

static json_t *failure_json(const struct explore_failure *x)
{
	json_t *o = json_object(), *out = json_array();
	int bad = !o || !out;

	bad |= set_new(o, "state", jstr(x->state));
	bad |= set_new(o, "outcome", json_string(explore_outcome_name(x->res.outcome)));
	bad |= set_new(o, "crash_point", json_integer((json_int_t)x->crash_point));
	bad |= set_new(o, "index", json_integer((json_int_t)x->ordinal));
	if (x->res.outcome == EXPLORE_CRASH)
		bad |= set_new(o, "signal", json_integer(x->res.sig));
	if (x->res.outcome == EXPLORE_FAIL || (x->res.outcome == EXPLORE_CRASH &&
					       x->res.exit_code > 0))
		bad |= set_new(o, "exit", json_integer(x->res.exit_code));
	bad |= set_new(o, "secs", json_real(x->res.secs));
	if (x->res.reason)
		bad |= set_new(o, "reason", jstr(x->res.reason));
	for (size_t k = 0; out && k < x->res.noutput; k++)
		bad |= json_array_append_new(out, jstr(x->res.output[k]));
	bad |= set_new(o, "output", out);
	out = NULL;
	if (x->kept)
		bad |= set_new(o, "kept", jstr(x->kept));
	if (bad) {
		json_decref(o);
		json_decref(out);
		return NULL;
	}
	return o;
}

static json_t *report_to_json(const struct explore_report *r, const char *check)
{
	json_t *o = json_object(), *opts = json_object(), *oc = json_object(), *fl = json_array();
	int bad = !o || !opts || !oc || !fl;
	char shard[32];

	bad |= set_new(o, "version", json_integer(1));
	bad |= set_new(o, "trace", jstr(r->trace ? r->trace : ""));
	bad |= set_new(o, "trace_hash", jstr(r->trace_hash ? r->trace_hash : ""));
	bad |= set_new(o, "check", jstr(check ? check : ""));
	for (size_t i = 0; opts && i < r->noptions; i++) {
		const struct explore_kv *kv = &r->options[i];

		if (kv->is_num)
			bad |= set_new(opts, kv->key, json_integer(strtoll(kv->val, NULL, 10)));
		else
			bad |= set_new(opts, kv->key, jstr(kv->val));
	}
	bad |= set_new(o, "options", opts);
	bad |= set_new(o, "states_enumerated", json_integer((json_int_t)r->states_enumerated));
	bad |= set_new(o, "unique_states", json_integer((json_int_t)r->unique_states));
	bad |= set_new(o, "states_checked", json_integer((json_int_t)r->states_checked));
	for (int i = 0; oc && i < EXPLORE_NOUTCOMES; i++)
		bad |= set_new(oc, explore_outcome_name(i), json_integer((json_int_t)r->outcomes[i]));
	bad |= set_new(o, "outcomes", oc);
	for (size_t i = 0; fl && i < r->nfailures; i++)
		bad |= json_array_append_new(fl, failure_json(&r->failures[i]));
	bad |= set_new(o, "failures", fl);
	if (r->shard_n) {
		snprintf(shard, sizeof(shard), "%u/%u", r->shard_i, r->shard_n);
		bad |= set_new(o, "shard", json_string(shard));
	} else {
		bad |= set_new(o, "shard", json_null());
	}
	if (!r->shard_n && r->shard_i)
		bad |= set_new(o, "merged_shards", json_integer(r->shard_i));
	bad |= set_new(o, "elapsed_s", json_real(r->elapsed_s));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int report_json_write(const struct explore_report *r, const char *check, const char *path,
		      char *err, size_t errlen)
{
	json_t *o = report_to_json(r, check);
	int rc = 0;

	if (!o) {
		seterr(err, errlen, "out of memory building the JSON report");
		return -ENOMEM;
	}
	if (!strcmp(path, "-")) {
		if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
		    fputc('\n', stdout) == EOF)
			rc = -EIO;
	} else {
		FILE *f = fopen(path, "we");

		if (!f) {
			rc = -errno;
		} else {
			if (json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
			    fputc('\n', f) == EOF)
				rc = -EIO;
			if (fclose(f) == EOF && !rc)
				rc = -errno;
		}
	}
	if (rc)
		seterr(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	json_decref(o);
	return rc;
}

/* Typed getters: 0, or -EINVAL with @err naming the file and the key. */
static int get_u64(json_t *o, const char *k, uint64_t *v, const char *path, char *err, size_t errlen)
{
	json_t *x = json_object_get(o, k);

	if (!json_is_integer(x) || json_integer_value(x) < 0) {
		seterr(err, errlen, "%s: \"%s\": expected a non-negative integer", path, k);
		return -EINVAL;
	}
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

static int get_str(json_t *o, const char *k, char **v, const char *path, char *err, size_t errlen)
{
	json_t *x = json_object_get(o, k);

	if (!json_is_string(x)) {
		seterr(err, errlen, "%s: \"%s\": expected a string", path, k);
		return -EINVAL;
	}
	*v = strdup(json_string_value(x));
	return *v ? 0 : -ENOMEM;
}

static int failure_from_json(json_t *o, struct explore_failure *x, const char *path, size_t i,
			     char *err, size_t errlen)
{
	char where[64];
	json_t *v;
	int oc;

	snprintf(where, sizeof(where), "%s: failures[%zu]", path, i);
	memset(x, 0, sizeof(*x));
	x->res.exit_code = -1;
	if (!json_is_object(o)) {
		seterr(err, errlen, "%s: expected an object", where);
		return -EINVAL;
	}
	if (get_str(o, "state", &x->state, where, err, errlen) ||
	    get_u64(o, "crash_point", &x->crash_point, where, err, errlen) ||
	    get_u64(o, "index", &x->ordinal, where, err, errlen))
		return -EINVAL;
	v = json_object_get(o, "outcome");
	oc = json_is_string(v) ? explore_outcome_parse(json_string_value(v)) : -EINVAL;
	if (oc <= EXPLORE_PASS) {
		seterr(err, errlen, "%s: \"outcome\": expected fail, crash or hang", where);
		return -EINVAL;
	}
	x->res.outcome = oc;
	v = json_object_get(o, "exit");
	if (json_is_integer(v))
		x->res.exit_code = (int)json_integer_value(v);
	v = json_object_get(o, "signal");
	if (json_is_integer(v))
		x->res.sig = (int)json_integer_value(v);
	v = json_object_get(o, "secs");
	if (json_is_number(v))
		x->res.secs = json_number_value(v);
	v = json_object_get(o, "kept");
	if (json_is_string(v) && !(x->kept = strdup(json_string_value(v))))
		return -ENOMEM;
	v = json_object_get(o, "reason");
	if (v && !json_is_string(v)) {
		seterr(err, errlen, "%s: \"reason\": expected a string", where);
		return -EINVAL;
	}
	if (v && !(x->res.reason = strdup(json_string_value(v))))
		return -ENOMEM;
	v = json_object_get(o, "output");
	if (!json_is_array(v)) {
		seterr(err, errlen, "%s: \"output\": expected an array of strings", where);
		return -EINVAL;
	}
	x->res.output = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!x->res.output)
		return -ENOMEM;
	for (size_t k = 0; k < json_array_size(v); k++) {
		json_t *l = json_array_get(v, k);

		if (!json_is_string(l)) {
			seterr(err, errlen, "%s: \"output\"[%zu]: expected a string", where, k);
			return -EINVAL;
		}
		x->res.output[k] = strdup(json_string_value(l));
		if (!x->res.output[k])
			return -ENOMEM;
		x->res.noutput++;
	}
	return 0;
}

int report_json_read(const char *path, struct explore_report *r, char **check,
		     char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = NULL, *v;
	int rc = -EINVAL;

	explore_report_init(r);
	if (check)
		*check = NULL;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		seterr(err, errlen, "%s: line %d, column %d: not a valid JSON report: %s", path,
		       je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(o)) {
		seterr(err, errlen, "%s: expected a JSON object (a torn explore --json report)", path);
		goto out;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		seterr(err, errlen, "%s: \"version\": expected 1 (a torn explore --json report)", path);
		goto out;
	}
	if (get_str(o, "trace", &r->trace, path, err, errlen) ||
	    get_str(o, "trace_hash", &r->trace_hash, path, err, errlen) ||
	    get_u64(o, "states_enumerated", &r->states_enumerated, path, err, errlen) ||
	    get_u64(o, "unique_states", &r->unique_states, path, err, errlen) ||
	    get_u64(o, "states_checked", &r->states_checked, path, err, errlen))
		goto out;
	if (check && get_str(o, "check", check, path, err, errlen))
		goto out;
	v = json_object_get(o, "options");
	if (!json_is_object(v)) {
		seterr(err, errlen, "%s: \"options\": expected an object", path);
		goto out;
	}
	{
		const char *k;
		json_t *x;
		char num[32];

		json_object_foreach(v, k, x) {
			if (json_is_integer(x)) {
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(x));
				rc = explore_report_option(r, k, num, 1);
			} else if (json_is_string(x)) {
				rc = explore_report_option(r, k, json_string_value(x), 0);
			} else {
				seterr(err, errlen, "%s: options \"%s\": expected a string or integer",
				       path, k);
				rc = -EINVAL;
			}
			if (rc)
				goto out;
		}
		rc = -EINVAL;
	}
	v = json_object_get(o, "outcomes");
	if (!json_is_object(v)) {
		seterr(err, errlen, "%s: \"outcomes\": expected an object", path);
		goto out;
	}
	for (int i = 0; i < EXPLORE_NOUTCOMES; i++)
		if (get_u64(v, explore_outcome_name(i), &r->outcomes[i], path, err, errlen))
			goto out;
	v = json_object_get(o, "shard");
	if (json_is_string(v)) {
		unsigned a, b;
		char end;

		if (sscanf(json_string_value(v), "%u/%u%c", &a, &b, &end) != 2 || !b || !a || a > b) {
			seterr(err, errlen, "%s: \"shard\": expected \"I/N\" with 1 <= I <= N", path);
			goto out;
		}
		r->shard_i = a;
		r->shard_n = b;
	} else if (!json_is_null(v)) {
		seterr(err, errlen, "%s: \"shard\": expected \"I/N\" or null", path);
		goto out;
	}
	v = json_object_get(o, "elapsed_s");
	if (json_is_number(v))
		r->elapsed_s = json_number_value(v);
	v = json_object_get(o, "failures");
	if (!json_is_array(v)) {
		seterr(err, errlen, "%s: \"failures\": expected an array", path);
		goto out;
	}
	r->failures = calloc(json_array_size(v) + 1, sizeof(*r->failures));
	if (!r->failures) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		rc = failure_from_json(json_array_get(v, i), &r->failures[i], path, i, err, errlen);
		r->nfailures++;
		if (rc)
			goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		seterr(err, errlen, "%s: out of memory", path);
	if (rc) {
		explore_report_free(r);
		if (check) {
			free(*check);
			*check = NULL;
		}
	}
	json_decref(o);
	return rc;
}

/* ==========================================================================
 * 4. JUNIT XML
 * ========================================================================== */

int report_junit_write(const struct explore_report *r, const char *path, char *err,
		       size_t errlen)
{
	uint64_t pass = r->outcomes[EXPLORE_PASS];
	FILE *f = fopen(path, "we");
	int rc = 0;

	if (!f) {
		rc = -errno;
		seterr(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
	fputs("  <testsuite name=\"torn explore ", f);
	xml_escape(f, r->trace ? r->trace : "");
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n",
		r->nfailures + 1, r->nfailures, r->elapsed_s);
	fputs("    <properties>\n", f);
	for (size_t i = 0; i < r->noptions; i++) {
		fputs("      <property name=\"", f);
		xml_escape(f, r->options[i].key);
		fputs("\" value=\"", f);
		xml_escape(f, r->options[i].val);
		fputs("\"/>\n", f);
	}
	fprintf(f, "      <property name=\"unique_states\" value=\"%" PRIu64 "\"/>\n",
		r->unique_states);
	if (r->shard_n)
		fprintf(f, "      <property name=\"shard\" value=\"%u/%u\"/>\n", r->shard_i,
			r->shard_n);
	fputs("    </properties>\n", f);
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct explore_failure *x = &r->failures[i];
		char how[96];

		describe(how, sizeof(how), x);
		fprintf(f, "    <testcase classname=\"torn.crash_point.%" PRIu64 "\" name=\"",
			x->crash_point);
		xml_escape(f, x->state);
		fprintf(f, "\" time=\"%.3f\">\n      <failure type=\"%s\" message=\"",
			x->res.secs, explore_outcome_name(x->res.outcome));
		xml_escape(f, how);
		fputs("\">", f);
		if (x->res.reason) {
			fputs("reason: ", f);
			xml_escape(f, x->res.reason);
			fputc('\n', f);
		}
		for (size_t k = 0; k < x->res.noutput; k++) {
			xml_escape(f, x->res.output[k]);
			fputc('\n', f);
		}
		fputs("replay: torn replay ", f);
		xml_escape(f, r->trace ? r->trace : "TRACE");
		fputs(" --state ", f);
		xml_escape(f, x->state);
		fputs(" --out DIR</failure>\n    </testcase>\n", f);
	}
	fprintf(f, "    <testcase classname=\"torn.explore\" name=\"%" PRIu64 " states passed\" "
		   "time=\"%.3f\"/>\n", pass, r->elapsed_s);
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (ferror(f))
		rc = -EIO;
	if (fclose(f) == EOF && !rc)
		rc = -errno;
	if (rc)
		seterr(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

/* ==========================================================================
 * 5. MERGE
 * ========================================================================== */

static int same_options(const struct explore_report *a, const struct explore_report *b)
{
	if (a->noptions != b->noptions)
		return 0;
	for (size_t i = 0; i < a->noptions; i++) {
		size_t j;

		for (j = 0; j < b->noptions; j++)
			if (!strcmp(a->options[i].key, b->options[j].key))
				break;
		if (j == b->noptions || strcmp(a->options[i].val, b->options[j].val))
			return 0;
	}
	return 1;
}

static int cmp_failure(const void *a, const void *b)
{
	const struct explore_failure *x = a, *y = b;

	return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

static int copy_failure(struct explore_failure *d, const struct explore_failure *s)
{
	memset(d, 0, sizeof(*d));
	*d = *s;
	d->state = strdup(s->state);
	d->kept = s->kept ? strdup(s->kept) : NULL;
	d->res.reason = s->res.reason ? strdup(s->res.reason) : NULL;
	d->res.output = calloc(s->res.noutput + 1, sizeof(char *));
	d->res.noutput = 0;
	if (!d->state || (s->kept && !d->kept) || (s->res.reason && !d->res.reason) ||
	    !d->res.output)
		return -ENOMEM;
	for (size_t k = 0; k < s->res.noutput; k++) {
		d->res.output[k] = strdup(s->res.output[k]);
		if (!d->res.output[k])
			return -ENOMEM;
		d->res.noutput++;
	}
	return 0;
}

int report_merge(const struct explore_report *in, const char *const *names, size_t n,
		 struct explore_report *out, char *err, size_t errlen)
{
	const struct explore_report *a = &in[0];
	size_t nf = 0, *seen = NULL;
	uint64_t checked = 0;
	int rc = -EINVAL;

	explore_report_init(out);
	if (!n) {
		seterr(err, errlen, "no reports to merge");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct explore_report *b = &in[i];

		if (!b->shard_n) {
			seterr(err, errlen, "%s: not the report of a shard (explore --shard I/N)",
			       names[i]);
			goto out;
		}
		if (b->shard_n != a->shard_n) {
			seterr(err, errlen, "%s: shard %u/%u is not one of the %u shards of %s",
			       names[i], b->shard_i, b->shard_n, a->shard_n, names[0]);
			goto out;
		}
		if (strcmp(b->trace_hash, a->trace_hash)) {
			seterr(err, errlen, "%s: explores another trace than %s (%s is not %s: "
			       "the trace files' hashes differ)", names[i], names[0], b->trace,
			       a->trace);
			goto out;
		}
		if (!same_options(a, b)) {
			seterr(err, errlen, "%s: explored with other options than %s", names[i],
			       names[0]);
			goto out;
		}
		if (b->states_enumerated != a->states_enumerated ||
		    b->unique_states != a->unique_states) {
			seterr(err, errlen, "%s: enumerated %" PRIu64 " states (%" PRIu64 " unique) "
			       "where %s enumerated %" PRIu64 " (%" PRIu64 " unique): not shards "
			       "of one exploration", names[i], b->states_enumerated,
			       b->unique_states, names[0], a->states_enumerated, a->unique_states);
			goto out;
		}
		nf += b->nfailures;
		checked += b->states_checked;
	}
	seen = calloc(a->shard_n + 1, sizeof(*seen));
	if (!seen) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (seen[in[i].shard_i]) {
			seterr(err, errlen, "%s: shard %u/%u given twice (also %s)", names[i],
			       in[i].shard_i, in[i].shard_n, names[seen[in[i].shard_i] - 1]);
			goto out;
		}
		seen[in[i].shard_i] = i + 1;
	}
	for (uint32_t s = 1; s <= a->shard_n; s++)
		if (!seen[s]) {
			seterr(err, errlen, "shard %u/%u is missing: the union would not be the "
			       "whole exploration", s, a->shard_n);
			goto out;
		}
	if (checked != a->unique_states) {
		seterr(err, errlen, "the shards checked %" PRIu64 " states in all, but the "
		       "exploration has %" PRIu64 " unique states (an interrupted shard?)",
		       checked, a->unique_states);
		goto out;
	}
	rc = -ENOMEM;
	out->trace = strdup(a->trace);
	out->trace_hash = strdup(a->trace_hash);
	if (!out->trace || !out->trace_hash)
		goto out;
	for (size_t i = 0; i < a->noptions; i++)
		if (explore_report_option(out, a->options[i].key, a->options[i].val,
					  a->options[i].is_num))
			goto out;
	out->states_enumerated = a->states_enumerated;
	out->unique_states = a->unique_states;
	out->states_checked = checked;
	out->shard_i = a->shard_n;    /* with shard_n = 0: "merged from N shards" */
	out->shard_n = 0;
	out->failures = calloc(nf + 1, sizeof(*out->failures));
	if (!out->failures)
		goto out;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < EXPLORE_NOUTCOMES; k++)
			out->outcomes[k] += in[i].outcomes[k];
		if (in[i].elapsed_s > out->elapsed_s)
			out->elapsed_s = in[i].elapsed_s;
		for (size_t k = 0; k < in[i].nfailures; k++) {
			int crc = copy_failure(&out->failures[out->nfailures], &in[i].failures[k]);

			out->nfailures++;
			if (crc)
				goto out;
		}
	}
	qsort(out->failures, out->nfailures, sizeof(*out->failures), cmp_failure);
	rc = 0;
out:
	if (rc == -ENOMEM)
		seterr(err, errlen, "out of memory");
	if (rc)
		explore_report_free(out);
	free(seen);
	return rc;
}

/*
 * fuzz/fuzz_fault_spec.c - libFuzzer target for the fault-spec parser
 * (injector/fault_spec.h): the input is one spec's text (`torn record
 * --fault TEXT`, a scenario's `fault =` value, one entry of $TORN_FAULTS).
 *
 * Properties checked (abort() on a violation, so libFuzzer keeps the input):
 *   1. fault_spec_parse never crashes, and a refusal says why (non-empty
 *      message) and answers -EINVAL;
 *   2. the answer does not depend on the error buffer (a 1-byte one and
 *      none at all give the same result and the same spec);
 *   3. an accepted spec formats (fault_spec_format) to text that parses
 *      back to an equal spec (fault_spec_equal), and formatting that again
 *      gives the same text (the canonical form is a fixed point);
 *   4. the libfiu form's command for libfiu (fault_spec_fiu_cmd: failinfo
 *      as a number) parses back to an equal spec too; the torn form has none.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "injector/fault_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for any input the parser takes (FAULT_TEXT_MAX) and well beyond, so
 * that over-long specs reach its length check. */
#define FZ_IN_MAX  (4 * FAULT_TEXT_MAX)
/* The canonical text of an accepted spec: the point's full name may be
 * longer than the call it was given as, so more than FAULT_TEXT_MAX. */
#define FZ_OUT_MAX (2 * FAULT_TEXT_MAX)

static void reparse(const char *text, const struct fault_spec *want)
{
	struct fault_spec again;
	char err[512];

	err[0] = '\0';
	if (fault_spec_parse(text, &again, err, sizeof(err)) != 0)
		abort();        /* the canonical text must parse: err says why */
	if (!fault_spec_equal(want, &again) || !fault_spec_equal(&again, want))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[FZ_IN_MAX + 1];
	char err[512], tiny[1], out[FZ_OUT_MAX], out2[FZ_OUT_MAX], cmd[FZ_OUT_MAX];
	struct fault_spec f, g, h;
	int rc, rc2, rc3, n, n2;

	if (size > FZ_IN_MAX)
		size = FZ_IN_MAX;
	memcpy(text, data, size);
	text[size] = '\0';      /* a NUL inside the input ends the spec early */

	err[0] = '\0';
	rc = fault_spec_parse(text, &f, err, sizeof(err));
	tiny[0] = 'x';
	rc2 = fault_spec_parse(text, &g, tiny, sizeof(tiny));
	rc3 = fault_spec_parse(text, &h, NULL, 0);
	if (rc != rc2 || rc != rc3)
		abort();
	if (rc != 0) {
		if (rc != -EINVAL || !err[0] || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		if (tiny[0] != '\0')
			abort();        /* a 1-byte buffer still gets its terminator */
		return 0;
	}
	if (!fault_spec_equal(&f, &g) || !fault_spec_equal(&f, &h) || !fault_spec_equal(&f, &f))
		abort();
	if (f.form != FAULT_FORM_FIU && f.form != FAULT_FORM_TORN)
		abort();

	n = fault_spec_format(&f, out, sizeof(out));
	if (n < 0 || (size_t)n >= sizeof(out) || strlen(out) != (size_t)n)
		abort();
	reparse(out, &f);
	/* the canonical text is a fixed point */
	if (fault_spec_parse(out, &g, NULL, 0) != 0)
		abort();
	n2 = fault_spec_format(&g, out2, sizeof(out2));
	if (n2 != n || strcmp(out, out2))
		abort();
	/* too small a buffer is said, never overrun */
	if (fault_spec_format(&f, out2, (size_t)n) != -ENOSPC)
		abort();

	n = fault_spec_fiu_cmd(&f, cmd, sizeof(cmd));
	if (f.form == FAULT_FORM_FIU) {
		if (n < 0 || (size_t)n >= sizeof(cmd) || strlen(cmd) != (size_t)n)
			abort();
		reparse(cmd, &f);
	} else if (n != -EINVAL) {
		abort();
	}
	return 0;
}

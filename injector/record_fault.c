/*
 * injector/record_fault.c - the recorder's side of faults: check the specs
 * of `torn record --fault` and hand them to the shim through the
 * environment ($TORN_FAULTS, one spec per line, in canonical form, and
 * $TORN_FAULT_SEED), which every process of the program inherits and the
 * shim's exec wrappers carry on (injector/shim_fault.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_spec.h"
#include "record.h"
#include "shim.h"

int record_fault_setup(const struct record_opts *o, struct record_error *err)
{
	char *all = NULL, seed[32];
	size_t used = 0, cap;
	int rc = 0;

	err->bad_input = 1;
	if (o->nfaults == 0) {
		/* A $TORN_FAULTS left in torn's own environment injects nothing. */
		unsetenv(SHIM_ENV_FAULTS);
		unsetenv(SHIM_ENV_FAULT_SEED);
		err->bad_input = 0;
		return 0;
	}
	if (o->nfaults > FAULT_SPECS_MAX) {
		snprintf(err->msg, sizeof(err->msg), "--fault: at most %d fault specs, got %zu",
			 FAULT_SPECS_MAX, o->nfaults);
		return -EINVAL;
	}
	cap = o->nfaults * FAULT_TEXT_MAX + 1;
	all = malloc(cap);
	if (!all) {
		err->bad_input = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->nfaults; i++) {
		struct fault_spec f;
		char why[512];
		int n;

		if (fault_spec_parse(o->faults[i], &f, why, sizeof(why)) < 0) {
			snprintf(err->msg, sizeof(err->msg), "--fault: %s", why);
			rc = -EINVAL;
			goto out;
		}
		/* The canonical form: what the shim parses again. */
		n = fault_spec_format(&f, all + used, cap - used);
		if (n < 0 || used + (size_t)n + 1 >= cap) {
			snprintf(err->msg, sizeof(err->msg), "--fault: '%s' is too long", o->faults[i]);
			rc = -EINVAL;
			goto out;
		}
		used += (size_t)n;
		all[used++] = '\n';
	}
	all[used - 1] = '\0';
	snprintf(seed, sizeof(seed), "%" PRIu64, o->fault_seed);
	err->bad_input = 0;
	if (setenv(SHIM_ENV_FAULTS, all, 1) < 0 || setenv(SHIM_ENV_FAULT_SEED, seed, 1) < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot set $%s: %s", SHIM_ENV_FAULTS,
			 strerror(errno));
		rc = -errno;
	}
out:
	free(all);
	return rc;
}

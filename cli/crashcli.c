/*
 * cli/crashcli.c - model options, trace + crash space, state from id (see
 * crashcli.h).
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "crashcli.h"
#include "../recovery/explore.h"

void crashcli_init(struct crashcli *c)
{
	memset(c, 0, sizeof(*c));
	crash_opts_default(&c->co);
}

int crashcli_option(struct crashcli *c, int opt, const char *arg, int *rc)
{
	char err[256];
	long long v;

	*rc = 0;
	switch (opt) {
	case CRASHCLI_OPT_MODEL:
		if (crash_opts_parse_model(&c->co, arg, err, sizeof(err)) < 0) {
			cli_err("--model: %s", err);
			*rc = TORN_EXIT_USAGE;
		}
		c->model_set = 1;
		return 1;
	case CRASHCLI_OPT_SECTOR:
		v = cli_parse_num("--sector", arg, "512 or 4096");
		if (v != 512 && v != 4096) {
			if (v >= 0)
				cli_err("--sector: expected 512 or 4096, got '%s'", arg);
			*rc = TORN_EXIT_USAGE;
			return 1;
		}
		c->co.sector = (unsigned)v;
		c->sector_set = 1;
		return 1;
	case CRASHCLI_OPT_ATOMIC:
		v = cli_parse_num("--atomic", arg, "a multiple of 512 bytes");
		if (v <= 0 || v % 512 || v > (1 << 24)) {
			if (v >= 0)
				cli_err("--atomic: expected a multiple of 512 bytes up to 16 MiB, got '%s'",
					arg);
			*rc = TORN_EXIT_USAGE;
			return 1;
		}
		c->co.atomic = (unsigned)v;
		c->atomic_set = 1;
		return 1;
	case CRASHCLI_OPT_TEAR:
		if (crash_opts_parse_tear(&c->co, arg, err, sizeof(err)) < 0) {
			cli_err("--tear: %s", err);
			*rc = TORN_EXIT_USAGE;
		}
		return 1;
	}
	return 0;
}

int crashcli_open(struct crashcli *c, const char *path, const char *id)
{
	struct trace_error terr;
	char err[512];
	int rc;

	if (id && explore_opts_from_id(&c->co, id, c->sector_set, c->atomic_set, c->model_set,
				       err, sizeof(err)) < 0) {
		cli_err("%s", err);
		return TORN_EXIT_USAGE;
	}
	memset(&terr, 0, sizeof(terr));
	rc = trace_open(path, &c->trace, &terr);
	if (rc < 0) {
		if (terr.msg[0])
			cli_err("%s", terr.msg);
		else
			cli_err("%s: %s", path, torn_strerror(rc));
		return rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
	}
	/* The strict model first (nothing written): events that cannot have
	 * happened, such as writes through a symlink the trace made to reach
	 * outside its root, refuse the trace here rather than become warnings. */
	memset(&terr, 0, sizeof(terr));
	rc = trace_rebuild(c->trace, UINT64_MAX, NULL, &terr);
	if (rc < 0) {
		cli_err("%s", terr.msg[0] ? terr.msg : torn_strerror(rc));
		return rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
	}
	memset(&terr, 0, sizeof(terr));
	rc = crash_space_new(c->trace, &c->co, &c->space, &terr);
	if (rc < 0) {
		if (terr.msg[0])
			cli_err("%s", terr.msg);
		else
			cli_err("%s: cannot build its crash states: %s", path, torn_strerror(rc));
		return rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
	}
	return 0;
}

int crashcli_state(struct crashcli *c, const char *id, struct crash_state **st)
{
	char err[512] = "";
	int rc = crash_state_from_id(c->space, id, st, err, sizeof(err));

	if (rc < 0) {
		cli_err("state id '%s': %s", id, err[0] ? err : torn_strerror(rc));
		return rc == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
	}
	return 0;
}

void crashcli_close(struct crashcli *c)
{
	if (c->space)
		crash_space_free(c->space);
	if (c->trace)
		trace_close(c->trace);
	c->space = NULL;
	c->trace = NULL;
}

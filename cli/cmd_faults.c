/*
 * cli/cmd_faults.c - torn faults: the failure points the shim injects at
 * (--list), and the canonical form of a fault spec (--check).
 *
 * The list is injector/fault_spec.c's point table, which is built from the
 * shim's own call table (injector/shim_calls.h) and compiled into the shim
 * too: what is listed is what the shim's wrappers are given, and
 * tests/integration/faults/ makes every listed point fail a real call.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../injector/fault_spec.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: torn faults --list [--names | --json]\n"
		"       torn faults --check SPEC...\n\n"
		"The failure points of torn record --fault (docs/faults.md).\n\n"
		"options:\n"
		"  -l, --list      every failure point, the calls it covers and the errnos\n"
		"                  drawn for it when the spec gives no failinfo\n"
		"      --names     with --list: the point names only, one per line\n"
		"      --json      with --list: one JSON object per point (point, calls,\n"
		"                  errnos, short, uring)\n"
		"  -c, --check     parse each SPEC and print its canonical form (exit 2 and\n"
		"                  a message naming the bad part for a bad one)\n"
		"  -h, --help      this help\n\n"
		"SPEC is a libfiu command (enable name=POINT[,failnum=N][,failinfo=ERRNO]\n"
		"[,onetime], enable_random name=POINT,probability=P[,...], disable name=POINT)\n"
		"or CALL@PATH[#N[+]]=WHAT (WHAT: an errno, short or short:BYTES).\n");
}

/* Point names, calls and errno names are plain identifiers: no escaping. */
static void list_json(const struct fault_point *pts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fault_point *p = &pts[i];
		const char *c = p->calls;

		printf("{\"point\":\"%s\",\"calls\":[", p->name);
		while (*c) {
			size_t l = strcspn(c, " ");

			printf("%s\"%.*s\"", c == p->calls ? "" : ",", (int)l, c);
			c += l;
			c += strspn(c, " ");
		}
		printf("],\"errnos\":[");
		for (const int *e = p->errnos; *e; e++)
			printf("%s\"%s\"", e == p->errnos ? "" : ",", fault_errno_name(*e));
		printf("],\"short\":%s,\"uring\":%s}\n",
		       (p->flags & FAULT_PT_REDUCE) ? "true" : "false",
		       (p->flags & FAULT_PT_URING) ? "true" : "false");
	}
}

static void list(int names_only, int json)
{
	const struct fault_point *pts;
	size_t n = fault_points(&pts);

	if (json) {
		list_json(pts, n);
		return;
	}

	if (!names_only)
		printf("%-32s %-40s %s\n", "POINT", "CALLS", "ERRNOS");
	for (size_t i = 0; i < n; i++) {
		const struct fault_point *p = &pts[i];

		if (names_only) {
			printf("%s\n", p->name);
			continue;
		}
		printf("%-32s %-40s ", p->name, p->calls);
		if (p->flags & FAULT_PT_REDUCE)
			fputs("(short write: a prefix of 1 to n-1 bytes)", stdout);
		for (const int *e = p->errnos; *e; e++) {
			const char *name = fault_errno_name(*e);

			printf("%s%s", e == p->errnos ? "" : " ", name ? name : "?");
		}
		putchar('\n');
	}
}

int cmd_faults(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list",  no_argument, NULL, 'l' },
		{ "names", no_argument, NULL, 'n' },
		{ "json",  no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ "help",  no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int do_list = 0, names = 0, json = 0, check = 0, c, rc = TORN_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "lch", opts, NULL)) != -1) {
		switch (c) {
		case 'l': do_list = 1; break;
		case 'n': names = 1; break;
		case 'j': json = 1; break;
		case 'c': check = 1; break;
		case 'h': usage(stdout); return TORN_EXIT_OK;
		default: usage(stderr); return TORN_EXIT_USAGE;
		}
	}
	if (do_list == check || (do_list && optind < argc) || (check && optind >= argc) ||
	    ((names || json) && !do_list) || (names && json)) {
		cli_err("faults: expected --list, or --check with one or more specs");
		usage(stderr);
		return TORN_EXIT_USAGE;
	}
	if (do_list) {
		list(names, json);
		return TORN_EXIT_OK;
	}
	for (int i = optind; i < argc; i++) {
		struct fault_spec f;
		char why[512], buf[FAULT_TEXT_MAX];

		if (fault_spec_parse(argv[i], &f, why, sizeof(why)) < 0) {
			cli_err("--check: %s", why);
			rc = TORN_EXIT_USAGE;
			continue;
		}
		if (fault_spec_format(&f, buf, sizeof(buf)) < 0) {
			cli_err("--check: '%s': cannot format", argv[i]);
			rc = TORN_EXIT_INTERNAL;
			continue;
		}
		printf("%s\n", buf);
	}
	return rc;
}

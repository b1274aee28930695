/*
 * fuzz/fuzz_scenario.c - libFuzzer target for the scenario parser
 * (recovery/scenario.h, scn_parse): the input is a .scn file, written to a
 * private directory (the parser resolves commands against the file's
 * directory) and parsed; a refusal must say why, an accepted scenario has
 * its run command (or engine) and check, and its fault specs pass
 * scn_fault_check again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recovery/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64], g_file[96];

static int put(const uint8_t *p, size_t n)
{
	FILE *f = fopen(g_file, "w");
	int rc = 0;

	if (!f)
		return -1;
	if (n && fwrite(p, 1, n, f) != n)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void cleanup(void)
{
	unlink(g_file);
	rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn *s = NULL;
	char err[512];

	if (!g_dir[0]) {
		snprintf(g_dir, sizeof(g_dir), "/tmp/torn-fuzz-scn-XXXXXX");
		if (!mkdtemp(g_dir))
			abort();
		snprintf(g_file, sizeof(g_file), "%s/s.scn", g_dir);
		atexit(cleanup);
	}
	if (put(data, size) < 0)
		abort();
	err[0] = '\0';
	if (scn_parse(g_file, "/nonexistent-torn-bin", &s, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();        /* every refusal says why */
		return 0;
	}
	if (!s->name || !s->run || !s->check)
		abort();
	for (size_t i = 0; i < s->nfaults; i++)
		if (scn_fault_check(s->faults[i], err, sizeof(err)) < 0)
			abort();
	scn_free(s);
	return 0;
}

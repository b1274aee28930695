/*
 * cli/tracecli.h - what torn info and torn dump share: opening a trace with
 * the right message and exit code, a table of handles (what each one
 * opened), sets of ids and of paths, escaping, and flag names.
 */
#ifndef TORN_CLI_TRACECLI_H
#define TORN_CLI_TRACECLI_H

#include <stdint.h>
#include <stdio.h>

#include "torn/trace.h"

/* Open @path; on failure print the reader's message and return the exit
 * code (2: bad or missing input, 3: out of memory). */
int tcli_open(const char *path, struct torn_trace **out);

/* What an OPEN made a handle refer to.  Pointers are into the trace. */
struct tcli_handle {
	const char *path;
	uint32_t    path_len;
	uint16_t    flags;            /* TORN_F_* of the OPEN */
	uint32_t    oflags;
};

/* A set of u64 keys, each with a value of type @vsize (or none). */
struct tcli_map {
	uint64_t *keys;               /* key + 1 stored, so 0 is a valid key */
	void     *vals;
	size_t    vsize, cap, n;
};

void  tcli_map_init(struct tcli_map *m, size_t vsize);
void  tcli_map_free(struct tcli_map *m);
/* The value of @key, inserted zeroed if absent (NULL on out of memory);
 * *fresh says whether it was inserted. */
void *tcli_map_get(struct tcli_map *m, uint64_t key, int *fresh);
void *tcli_map_find(const struct tcli_map *m, uint64_t key);

/* 64-bit hash of a path, for sets of paths. */
uint64_t tcli_path_hash(const char *p, size_t len);

/* Write @s (len bytes) for a terminal line: printable ASCII as is, the rest
 * as \n \t \\ \" \xNN. */
void tcli_put_text(FILE *f, const char *s, size_t len);
/* Write @s as a JSON string, quotes included: valid UTF-8 kept, control
 * characters and bytes that are not UTF-8 escaped as \u00XX. */
void tcli_put_json(FILE *f, const char *s, size_t len);

/* Names of flags, joined with '|' into @buf ("" when none). */
const char *tcli_rec_flags(unsigned flags, char *buf, size_t len);
const char *tcli_open_flags(unsigned oflags, char *buf, size_t len);
/* The meaning of oflags for an event type (RWF_*, RENAME_*, fallocate
 * mode, sync_file_range flags), or NULL when that type has none. */
const char *tcli_event_oflags(const struct torn_event *ev, char *buf, size_t len);

/* "1234 bytes", "1.2 KiB", ... */
const char *tcli_size(uint64_t n, char *buf, size_t len);

#endif /* TORN_CLI_TRACECLI_H */

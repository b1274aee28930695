/*
 * engines/lsm/lsm.h - the LSM engine's table and manifest formats, exposed
 * for its unit tests (specified at the top of lsm.c).
 */
#ifndef TORN_ENGINES_LSM_LSM_H
#define TORN_ENGINES_LSM_LSM_H

#include <stddef.h>
#include <stdint.h>

#define LSM_SST_MAGIC 0x31545353534d534cull /* "LSMSSST1" */
#define LSM_MAN_MAGIC 0x314e414d4d534c54ull /* "TLSMMAN1" */
#define LSM_VERSION 1
#define LSM_FOOTER 64
#define LSM_BLOCK 4096

struct lsm_kv {
	const char *key;
	size_t klen;
	int tomb;
	const void *val;
	size_t vlen;
};

struct lsm_table; /* an open, immutable sorted table */

/* kv sorted by key, distinct; the file image padded for `align` */
int lsm_table_build(const struct lsm_kv *kv, size_t n, uint64_t num, size_t align,
		    uint8_t **out, size_t *len);
/* takes ownership of buf on success; checks footer and index */
int lsm_table_open(uint8_t *buf, size_t len, uint64_t num, struct lsm_table **out);
void lsm_table_free(struct lsm_table *t);
/* 1 found (out points into the table), 0 absent, < 0 damaged block */
int lsm_table_get(const struct lsm_table *t, const char *key, size_t klen, struct lsm_kv *out);
/* every entry in order; fn returning non-zero stops */
int lsm_table_scan(const struct lsm_table *t, int (*fn)(void *, const struct lsm_kv *), void *arg);
/* the whole table: block sums, order, index, range: 0 or 1 with msg */
int lsm_table_check(const struct lsm_table *t, char *msg, size_t cap);
void lsm_table_range(const struct lsm_table *t, const char **min, size_t *minl,
		     const char **max, size_t *maxl);
uint64_t lsm_table_count(const struct lsm_table *t);

struct lsm_man_ent {
	uint64_t num;
	uint32_t level;
};

struct lsm_manifest {
	uint64_t log_number; /* replay logs numbered >= this */
	uint64_t next_file;
	uint64_t last_seq;   /* operations <= last_seq are in the tables */
	size_t n;
	struct lsm_man_ent *t;
};

int lsm_manifest_encode(const struct lsm_manifest *m, size_t align, uint8_t **out, size_t *len);
int lsm_manifest_decode(const uint8_t *buf, size_t len, struct lsm_manifest *m);

#endif /* TORN_ENGINES_LSM_LSM_H */

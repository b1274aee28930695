/*
 * engines/bitcask/bitcask.h - the Bitcask engine's file formats, exposed
 * for its unit tests (specified at the top of bitcask.c).
 */
#ifndef TORN_ENGINES_BITCASK_BITCASK_H
#define TORN_ENGINES_BITCASK_BITCASK_H

#include <stddef.h>
#include <stdint.h>

#define BC_MAGIC 0x3144434e524f54ull      /* "TORNCD1" */
#define BC_HINT_MAGIC 0x3148434e524f54ull /* "TORNCH1" */
#define BC_VERSION 1
#define BC_FILEHDR 48
#define BC_RECHDR 24

struct bc_filehdr {
	uint32_t block;
	uint32_t merged; /* 1: written by merge, records in increasing seq */
	uint64_t id;
	uint64_t base; /* every record's seq is > base */
	uint64_t nonce; /* tells one incarnation of the file from another */
};

struct bc_hint_ent {
	const char *key;
	size_t klen;
	int tomb;
	uint32_t vlen;
	uint64_t off; /* offset of the value in the data file */
	uint64_t seq;
};

size_t bc_first_record(size_t block);
size_t bc_record_size(size_t payload);
void bc_filehdr_encode(uint8_t *dst, const struct bc_filehdr *h);
int bc_filehdr_decode(const uint8_t *src, size_t len, struct bc_filehdr *h);
/* header_only: the seeded bug's checksum */
void bc_record_encode(uint8_t *dst, uint64_t seq, const void *payload, size_t len,
		      int header_only);

/* called for each valid record: seq, offset of the record, payload */
typedef int (*bc_rec_fn)(void *arg, uint64_t seq, size_t off, const uint8_t *payload,
			 size_t len);
/* scan from the first record; *end = just past the last valid one */
int bc_scan(const uint8_t *buf, size_t len, const struct bc_filehdr *h, int header_only,
	    bc_rec_fn fn, void *arg, size_t *end);

/* hint file: encode n entries for the data file whose header nonce is
 * `nonce`; returns the malloc'd bytes and their length */
int bc_hint_encode(const struct bc_hint_ent *e, size_t n, uint64_t nonce, uint8_t **out,
		   size_t *len);
/* decode (checksum verified unless trust); entries point into buf */
int bc_hint_decode(const uint8_t *buf, size_t len, uint64_t nonce, int trust,
		   struct bc_hint_ent **out, size_t *n);

#endif /* TORN_ENGINES_BITCASK_BITCASK_H */

/*
 * engines/wal/wal.h - the WAL engine's record format, exposed for its unit
 * tests (the format and the durability contract are specified at the top
 * of wal.c).
 */
#ifndef TORN_ENGINES_WAL_WAL_H
#define TORN_ENGINES_WAL_WAL_H

#include <stddef.h>
#include <stdint.h>

#define WAL_MAGIC 0x314c41574e524f54ull /* "TORNWAL1" */
#define WAL_CKPT_MAGIC 0x31504b434e524f54ull /* "TORNCKP1" */
#define WAL_VERSION 1
#define WAL_SEGHDR 40
#define WAL_RECHDR 24
#define WAL_MAX_PAYLOAD (1u << 20)

/* checksum scope (the seeded bugs change it) */
enum { WAL_SUM_FULL, WAL_SUM_HEADER, WAL_SUM_NONE };

/* offset of the first record in a segment with this padding block */
size_t wal_first_record(size_t block);
size_t wal_record_size(size_t payload);
void wal_record_encode(uint8_t *dst, uint64_t seq, const void *payload,
		       size_t len, int scope);
void wal_seghdr_encode(uint8_t *dst, uint32_t block, uint64_t segno, uint64_t first_seq);
int wal_seghdr_decode(const uint8_t *src, size_t len, uint32_t *block,
		      uint64_t *segno, uint64_t *first_seq);

typedef int (*wal_rec_fn)(void *arg, uint64_t seq, const uint8_t *payload, size_t len);

/*
 * Scan a segment's records from `start`: fn is called for each valid one
 * in order (fn returning < 0 stops the scan with that code).  *end is the
 * offset just past the last valid record: where the log ends.  *next_seq
 * is the sequence number the next record must carry.
 */
int wal_scan(const uint8_t *buf, size_t len, size_t block, uint64_t first_seq,
	     int scope, wal_rec_fn fn, void *arg, size_t *end, uint64_t *next_seq);

#endif /* TORN_ENGINES_WAL_WAL_H */

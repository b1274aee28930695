/*
 * fuzz/fuzz_fixup.h - make a fuzzer's bytes look like records whose
 * checksums match, so that mutations get past rule 3 (the record checksum)
 * and reach the layout, path, seq, blob and handle checks behind it.
 *
 *	fuzz_fix_records(buf, n);   // every record that fits gets its checksum
 *	fuzz_fix_header(buf, n);    // the 64-byte file header's checksum
 *
 * The checksum rules are those of include/torn/trace.h, section 1.  The
 * first input byte decides whether to fix anything, so that the mismatch
 * paths are fuzzed too (the harness passes it on to the target).
 */
#ifndef TORN_FUZZ_FUZZ_FIXUP_H
#define TORN_FUZZ_FUZZ_FIXUP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "torn/trace.h"

static inline uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void fuzz_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Records back to back from @buf: each whole one gets a matching checksum. */
static inline void fuzz_fix_records(uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (n - off >= TORN_REC_FIXED_LEN) {
		uint32_t len = fuzz_le32(buf + off);

		if (len < TORN_REC_FIXED_LEN || len > TORN_REC_MAX || len > n - off)
			break;
		uint32_t dlen = fuzz_le32(buf + off + 116);

		if (dlen > len - TORN_REC_FIXED_LEN)   /* the checksum cannot match */
			dlen = 0;
		memset(buf + off + 24, 0, 8);
		/* the checksum leaves the data out (include/torn/trace.h) */
		fuzz_put_le64(buf + off + 24, XXH3_64bits(buf + off, len - dlen));
		off += len;
	}
}

static inline void fuzz_fix_header(uint8_t *buf, size_t n)
{
	if (n >= TORN_TRACE_HDR_LEN)
		fuzz_put_le64(buf + 56, XXH3_64bits(buf, 56));
}

#endif /* TORN_FUZZ_FUZZ_FIXUP_H */

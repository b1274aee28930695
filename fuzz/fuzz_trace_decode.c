/*
 * fuzz/fuzz_trace_decode.c - libFuzzer target for the codec: trace_decode()
 * over a byte string of records, back to back (no file header).
 *
 * Input: byte 0 = 0 leaves the checksums as they are, anything else fixes
 * them first (fuzz_fixup.h); the rest are the records.  Each decoded event
 * is read field by field (pointers stay inside the buffer: ASan checks it),
 * re-encoded, and must decode again to the same length.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_fixup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const struct torn_event *ev)
{
	volatile uint8_t sink = 0;

	for (uint32_t i = 0; i < ev->path_len; i++)
		sink ^= (uint8_t)ev->path[i];
	for (uint32_t i = 0; i < ev->path2_len; i++)
		sink ^= (uint8_t)ev->path2[i];
	for (uint32_t i = 0; i < ev->text_len; i++)
		sink ^= (uint8_t)ev->text[i];
	for (uint32_t i = 0; i < ev->nchunks; i++)
		sink ^= (uint8_t)trace_chunk(ev, i).lo;
	for (uint32_t i = 0; i < ev->data_len; i++)
		sink ^= ev->data[i];
	(void)trace_type_name(ev->type);
	(void)trace_path_ok(ev->path, ev->path_len);
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t re[TORN_REC_MAX];
	uint8_t *buf;
	size_t off = 0, n;

	if (size < 1)
		return 0;
	n = size - 1;
	/* A copy of exactly n bytes: reads past the end are ASan errors. */
	buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	if (data[0])
		fuzz_fix_records(buf, n);
	while (off < n) {
		struct torn_event ev, ev2;
		long len = trace_decode(buf + off, n - off, &ev), len2;

		if (len <= 0)
			break;
		if ((size_t)len > n - off)
			abort();        /* decoded past what was available */
		touch(&ev);
		len2 = trace_encode(&ev, re, sizeof(re));
		if (len2 != len)
			abort();        /* a valid record re-encodes to its own size */
		if (trace_decode(re, (size_t)len2, &ev2) != len2)
			abort();
		off += (size_t)len;
	}
	(void)torn_strerror(-TORN_E_PATH);
	free(buf);
	return 0;
}

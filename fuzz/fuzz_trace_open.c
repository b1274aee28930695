/*
 * fuzz/fuzz_trace_open.c - libFuzzer target for the reader: the input is a
 * whole trace file, opened with trace_open() (rules 1-6), then walked the
 * way info, dump and explore walk it: trace_next over every record,
 * trace_content of every event's content, the strict model over it
 * (trace_rebuild with no output), and the crash space of the default
 * options built and counted (the crash model's view of the trace).
 *
 * Input: byte 0 = 0 leaves the checksums as they are, anything else fixes
 * the header's and every record's first (fuzz_fixup.h); the rest is the
 * file, written to a memfd and opened through /proc/self/fd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz_fixup.h"
#include "recovery/crash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void walk(struct torn_trace *t)
{
	static uint8_t buf[TORN_CHUNK];
	struct torn_event ev;
	uint64_t pos = 0;

	(void)trace_root(t);
	(void)trace_truncated(t);
	(void)trace_nevents(t);
	(void)trace_last_seq(t);
	while (trace_next(t, &pos, &ev) == 1) {
		uint64_t clen = (uint64_t)ev.nchunks * TORN_CHUNK;

		if (ev.type == TORN_REC_BLOB || !ev.nchunks)
			continue;
		/* the first and last bytes the chunks can describe: ERANGE
		 * or NOBLOB are answers, a read out of bounds is not */
		(void)trace_content(t, &ev, 0, buf, 1);
		(void)trace_content(t, &ev, clen - 1, buf, 1);
		(void)trace_content(t, &ev, 0, buf, sizeof(buf));
		if (ev.len > 0)
			(void)trace_content(t, &ev, 0, buf,
					    (size_t)(ev.len < (int64_t)sizeof(buf) ? ev.len
									   : (int64_t)sizeof(buf)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct torn_trace *t = NULL;
	struct crash_space *s = NULL;
	struct trace_error err;
	struct crash_opts o;
	char path[64];
	uint8_t *buf = NULL;
	int fd = -1;

	if (size < 1)
		return 0;
	buf = malloc(size);
	if (!buf)
		goto out;
	memcpy(buf, data + 1, size - 1);
	if (data[0]) {
		fuzz_fix_header(buf, size - 1);
		if (size - 1 > TORN_TRACE_HDR_LEN)
			fuzz_fix_records(buf + TORN_TRACE_HDR_LEN, size - 1 - TORN_TRACE_HDR_LEN);
	}
	fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, buf, size - 1) < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (trace_open(path, &t, &err) < 0) {
		if (!err.msg[0])
			abort();        /* every refusal says why */
		goto out;
	}
	walk(t);
	/* the strict model, nothing written: what info, replay and explore
	 * run before anything else */
	if (trace_rebuild(t, UINT64_MAX, NULL, &err) < 0 && !err.msg[0])
		abort();
	crash_opts_default(&o);
	if (crash_space_new(t, &o, &s, &err) == 0) {
		(void)crash_space_count(s);
		crash_space_free(s);
	}
out:
	if (t)
		trace_close(t);
	if (fd >= 0)
		close(fd);
	free(buf);
	return 0;
}

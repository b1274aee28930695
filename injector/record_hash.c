/*
 * injector/record_hash.c - the content hash of the bytes a program writes
 * (XXH3-128, the trace's content address: include/torn/trace.h), with AVX2
 * when the CPU and the kernel have it; computed by the recorder's consumer
 * thread (record.c), off the program's path (injector/shm.h).
 *
 * Sections: 1. the AVX2 copy of XXH3, 2. the dispatch.
 *
 * Why: hashing every written byte is most of the cost of recording a write
 * (issue 2, the record-overhead benchmark); xxHash's AVX2 loop is two to
 * four times its SSE2 one (x86-64's baseline, what trace_codec.c gets).
 * The result is the same function either way (xxHash guarantees it; every
 * trace the tests record is read back through trace_hash(), which checks
 * each blob against its hash, so a difference would fail them).
 */
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* ==========================================================================
 * 1. THE AVX2 COPY OF XXH3 (only this section is compiled for AVX2)
 * ========================================================================== */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SHIM_HASH_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
#define XXH_INLINE_ALL
#include <xxhash.h>

static torn_hash hash_avx2(const void *data, size_t len)
{
	XXH128_hash_t h = XXH3_128bits(data, len);
	torn_hash r = { h.low64, h.high64 };

	return r;
}
#pragma GCC pop_options
#endif

/* ==========================================================================
 * 2. THE DISPATCH
 * ========================================================================== */

/* 0: not looked yet, 1: baseline (trace_hash), 2: AVX2.  Detected on first
 * use (cpuid and xgetbv only: no allocation, no lock, safe anywhere). */
static int g_mode;

torn_hash record_hash(const void *data, size_t len)
{
	int m = __atomic_load_n(&g_mode, __ATOMIC_RELAXED);

	if (__builtin_expect(m == 0, 0)) {
		m = 1;
#ifdef SHIM_HASH_AVX2
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2"))
			m = 2;
#endif
		__atomic_store_n(&g_mode, m, __ATOMIC_RELAXED);
	}
#ifdef SHIM_HASH_AVX2
	if (m == 2)
		return hash_avx2(data, len);
#endif
	return trace_hash(data, len);
}

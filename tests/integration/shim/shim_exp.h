/*
 * tests/integration/shim/shim_exp.h - the expectation lines shared by the
 * programs recorded in the shim tests and by shim_check, which renders the
 * trace's events in the same format and compares line by line.
 *
 * One line per event, fields separated by single spaces:
 *
 *   open PATH oflags=0xX created=B truncated=B dir=B dio=MEM/OFF
 *   write PATH off=N len=N result=N src=SRC flags=DSM hash=HEX|none
 *   close PATH result=N
 *   fsync PATH kind=fsync|fdatasync result=N
 *   sync_range PATH off=N len=N flags=N result=N
 *   sync | syncfs PATH result=N
 *   truncate PATH len=N result=N
 *   fallocate PATH mode=N off=N len=N result=N
 *   setfl PATH append=B direct=B
 *   rename PATH PATH2 flags=N result=N | link PATH PATH2 result=N
 *   unlink|rmdir|mkdir PATH result=N | symlink PATH target=T result=N
 *   import PATH len=N hash=HEX
 *   mmap PATH off=N len=N result=N | msync PATH off=N len=N result=N
 *   fork | exec ARGV result=N
 *
 * PATH is root-relative ("." for the root itself); a descriptor's PATH is
 * the one it was opened with.  flags=DSM: D direct, S sync, M misaligned,
 * '-' for each absent.  The hash is XXH3-128 (trace_hash) of the bytes the
 * call wrote, high half first.  Events on paths under "free/" are not
 * compared (their split is glibc's business); the final directory is.
 */
#ifndef TORN_TESTS_SHIM_EXP_H
#define TORN_TESTS_SHIM_EXP_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

#include "torn/trace.h"

/* The open flags compared: what the model reads, plus the access mode. */
#define EXP_OFLAGS (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_DIRECT | O_DSYNC | O_SYNC | \
		    O_EXCL | O_DIRECTORY)

static inline const char *exp_src(uint32_t src)
{
	switch (src) {
	case TORN_SRC_WRITE:    return "write";
	case TORN_SRC_PWRITE:   return "pwrite";
	case TORN_SRC_WRITEV:   return "writev";
	case TORN_SRC_PWRITEV:  return "pwritev";
	case TORN_SRC_PWRITEV2: return "pwritev2";
	case TORN_SRC_STDIO:    return "stdio";
	case TORN_SRC_URING:    return "uring";
	default:                return "?";
	}
}

/* "DSM" with '-' for absent flags, into @buf (4 bytes). */
static inline const char *exp_wflags(char *buf, int direct, int sync, int misaligned)
{
	buf[0] = direct ? 'D' : '-';
	buf[1] = sync ? 'S' : '-';
	buf[2] = misaligned ? 'M' : '-';
	buf[3] = '\0';
	return buf;
}

/* The hash of @len bytes as 32 hex digits into @buf (33 bytes). */
static inline const char *exp_hash(char *buf, const void *data, size_t len)
{
	torn_hash h = trace_hash(data, len);

	snprintf(buf, 33, "%016llx%016llx", (unsigned long long)h.hi, (unsigned long long)h.lo);
	return buf;
}

#endif /* TORN_TESTS_SHIM_EXP_H */
